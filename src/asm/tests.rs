//! Unit tests of the assembler: encodings, pseudo-instructions, layout,
//! relocations and error messages.

use super::*;

fn asm(src: &str) -> Program {
    assemble(src, "t.s", &Options { text_base: 0 }).unwrap()
}

fn words(p: &Program) -> Vec<u32> {
    p.sections[0]
        .data
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn err(src: &str) -> String {
    assemble(src, "t.s", &Options { text_base: 0 })
        .unwrap_err()
        .to_string()
}

#[test]
fn e4_instructions_encode_like_gnu_as() {
    let p = asm("lw a0, 8(s0)\naddi a0, a0, 3\nsw a0, 8(s0)\n");
    assert_eq!(words(&p), vec![0x0084_2503, 0x0035_0513, 0x00a4_2423]);
}

#[test]
fn li_expands_by_size() {
    assert_eq!(words(&asm("li a0, 5")), vec![0x0050_0513]);
    assert_eq!(words(&asm("li a0, 0x12345000")).len(), 1);
    assert_eq!(words(&asm("li a0, 0x12345678")).len(), 2);
    assert!(words(&asm("li a0, 0x123456789abcdef0")).len() > 2);
}

#[test]
fn labels_numeric_labels_and_branches() {
    let p = asm("_start: li t0, 3\n1: addi t0, t0, -1\n bnez t0, 1b\n j 2f\n nop\n2: ret\n");
    let w = words(&p);
    // bnez t0, -4
    assert_eq!(crate::cpu::decode(w[2]).imm, -4);
    assert_eq!(crate::cpu::decode(w[3]).imm, 8);
    assert_eq!(p.entry, 0);
}

#[test]
fn data_sections_and_relocations() {
    let p = asm(
        ".text\n lui a0, %hi(x)\n addi a0, a0, %lo(x)\n.data\nx: .dword x, 7\n.bss\nbuf: .space 16\n",
    );
    let data = &p.sections[1];
    assert_eq!((data.name.as_str(), data.addr), (".data", 0x1000));
    let kinds: Vec<_> = p.relocations.iter().map(|r| (r.kind, r.at)).collect();
    assert_eq!(
        kinds,
        vec![
            (RelocKind::Hi20, 0),
            (RelocKind::Lo12I, 4),
            (RelocKind::Abs64, 0x1000)
        ]
    );
    assert_eq!(p.relocations[2].target, 0x1000);
    assert_eq!(p.sections[2].name, ".bss");
    assert_eq!(p.sections[2].size, 16);
}

#[test]
fn errors_name_the_line() {
    assert_eq!(
        err("nop\n addi a0, a0\n"),
        "t.s:2: addi takes 3 operand(s), found 2"
    );
    assert!(err("addi a0, a0, 5000").contains("t.s:1: immediate 5000 out of range"));
    assert!(err("j nowhere").contains("undefined symbol 'nowhere'"));
    assert!(err("frob a0").contains("unknown instruction 'frob'"));
    assert!(err("add a0, a1, q7").contains("'q7' is not a register"));
    assert!(err("x: nop\nx: nop").contains("t.s:2: symbol 'x' is already defined"));
    assert!(err(".bss\n.word 1").contains(".bss holds only zeros"));
    assert!(err(".frob").contains("unknown directive"));
    assert!(err("li a0, x\nx: nop").contains("li needs a constant"));
}

#[test]
fn strings_and_equ() {
    let p = asm(".equ N, 3\n li a0, N*2\n.data\ns: .asciz \"hi\\n\"\n");
    assert_eq!(words(&p), vec![0x0060_0513]);
    assert_eq!(p.sections[1].data, b"hi\n\0");
}

#[test]
fn huge_sections_are_refused() {
    assert!(err(".bss\n.space 0x4000000\n.space 1\n").contains(".bss grows beyond 64 MiB"));
    assert!(err(".space 0x40000000").contains("out of range"));
}
