//! CPU tests: programs from the assembler run through a real MMU and
//! physical memory.

use super::*;
use crate::asm::{Options, assemble};
use crate::fault::FaultKind;
use crate::mmu::{Access, BaseBounds, Identity};

const MEM: u64 = 1 << 20;

/// Loads `src` (text at 0) into memory at physical `base`.
fn load(src: &str, base: u64) -> (Cpu, PhysicalMemory) {
    let p = assemble(src, "t.s", &Options { text_base: 0 }).unwrap();
    let mut mem = PhysicalMemory::new(MEM);
    for s in &p.sections {
        mem.write(PhysAddr::new(base + s.addr), &s.data).unwrap();
    }
    (Cpu::new(p.entry), mem)
}

#[derive(Default)]
struct Log(Vec<String>);

impl Observer for Log {
    fn fetch(&mut self, va: VirtAddr, pa: PhysAddr) {
        self.0.push(format!("fetch {va} -> {pa}"));
    }
    fn load(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        self.0.push(format!("load {va} -> {pa} {size} {value}"));
    }
    fn store(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        self.0.push(format!("store {va} -> {pa} {size} {value}"));
    }
}

#[test]
fn e4_makes_exactly_five_translated_accesses() {
    let src = ".space 16\nlw a0, 8(s0)\naddi a0, a0, 3\nsw a0, 8(s0)\n";
    let (mut cpu, mut mem) = load(src, 0x1000);
    mem.write_le(PhysAddr::new(0x1208), 4, 39).unwrap();
    cpu.pc = 0x10;
    cpu.regs.set(registers::reg::S0, 0x200);
    let mmu = BaseBounds::new(0x1000, 0x400, MEM).unwrap();
    let mut log = Log::default();
    assert_eq!(cpu.run(&mmu, &mut mem, 3, &mut log), Exit::Budget);
    assert_eq!(
        log.0,
        vec![
            "fetch 0x10 -> 0x1010",
            "load 0x208 -> 0x1208 4 39",
            "fetch 0x14 -> 0x1014",
            "fetch 0x18 -> 0x1018",
            "store 0x208 -> 0x1208 4 42",
        ]
    );
    assert_eq!(cpu.instret, 3);
}

#[test]
fn arithmetic_and_m_extension_follow_the_spec() {
    let src = "
        li a0, -7
        li a1, 2
        div a2, a0, a1      # -3
        rem a3, a0, a1      # -1
        li t0, 0
        div a4, a0, t0      # -1 (all ones)
        remu a5, a0, t0     # dividend
        li t1, 0x8000000000000000
        li t2, -1
        div a6, t1, t2      # MIN
        mulh a7, t1, t1     # 2^62
        addw s1, a0, a0     # -14
        srai s2, a0, 1      # -4
        srliw s3, a0, 28    # 0xf
        ecall";
    let (mut cpu, mut mem) = load(src, 0);
    let exit = cpu.run(&Identity::new(MEM), &mut mem, 100, &mut NoObserver);
    assert!(matches!(exit, Exit::Trap(Trap::Ecall { .. })));
    let r = |n: &str| cpu.regs.get(parse_register(n).unwrap()) as i64;
    assert_eq!((r("a2"), r("a3"), r("a4"), r("a5")), (-3, -1, -1, -7));
    assert_eq!(r("a6"), i64::MIN);
    assert_eq!(r("a7"), 1 << 62);
    assert_eq!((r("s1"), r("s2"), r("s3")), (-14, -4, 0xf));
}

#[test]
fn store_beyond_bounds_faults_precisely() {
    let src = "li a0, 0x3f0\nli a1, 7\nsd a1, 12(a0)\nli a1, 9\n";
    let (mut cpu, mut mem) = load(src, 0x1000);
    let mmu = BaseBounds::new(0x1000, 0x400, MEM).unwrap();
    let exit = cpu.run(&mmu, &mut mem, 10, &mut NoObserver);
    let Exit::Trap(Trap::Fault { pc, word, fault }) = exit else {
        panic!("expected a fault, got {exit:?}");
    };
    // The 8-byte store at 0x3fc is misaligned; aligned at 0x3f8 it would
    // straddle the bounds: both refused before memory changes.
    assert_eq!(
        (pc, fault.access, fault.kind),
        (8, Access::Write, FaultKind::Misaligned)
    );
    assert!(word.is_some());
    assert_eq!(cpu.pc, 8, "pc stays at the faulting instruction");
    assert_eq!(mem.frames_allocated(), 1, "nothing was written");
}

#[test]
fn a_doubleword_straddling_the_bounds_faults_at_its_last_byte() {
    let src = "li a0, 0x3f8\nld a1, 4(a0)\n";
    let (mut cpu, mut mem) = load(src, 0x1000);
    let mmu = BaseBounds::new(0x1000, 0x3fc, MEM).unwrap();
    let exit = cpu.run(&mmu, &mut mem, 10, &mut NoObserver);
    let Exit::Trap(Trap::Fault { fault, .. }) = exit else {
        panic!("{exit:?}")
    };
    assert_eq!(
        (fault.va.as_u64(), fault.kind),
        (0x3fc, FaultKind::Misaligned)
    );
    let src = "li a0, 0x3f8\nld a1, 0(a0)\n";
    let (mut cpu, mut mem) = load(src, 0x1000);
    let exit = cpu.run(&mmu, &mut mem, 10, &mut NoObserver);
    let Exit::Trap(Trap::Fault { fault, .. }) = exit else {
        panic!("{exit:?}")
    };
    assert_eq!((fault.va.as_u64(), fault.kind), (0x3ff, FaultKind::Bounds));
    assert_eq!(cpu.regs.get(11), 0, "a1 untouched");
}

#[test]
fn illegal_and_compressed_words_trap_with_the_word() {
    let (mut cpu, mut mem) = load(".word 0x4501\n", 0);
    let exit = cpu.run(&Identity::new(MEM), &mut mem, 10, &mut NoObserver);
    assert_eq!(
        exit,
        Exit::Trap(Trap::Illegal {
            pc: 0,
            word: 0x4501
        })
    );
}

#[test]
fn self_modifying_code_is_decoded_again() {
    // The loop runs `addi a0, a0, 1` once, then overwrites it with
    // `addi a0, a0, 100` (0x06450513) and runs it again.
    let src = "
        li t2, 2
    again:
    patch:
        addi a0, a0, 1
        addi t2, t2, -1
        beqz t2, done
        la t0, patch
        li t1, 0x06450513
        sw t1, 0(t0)
        j again
    done:
        ecall";
    let (mut cpu, mut mem) = load(src, 0);
    let exit = cpu.run(&Identity::new(MEM), &mut mem, 1000, &mut NoObserver);
    assert!(matches!(exit, Exit::Trap(Trap::Ecall { .. })), "{exit:?}");
    assert_eq!(cpu.regs.get(10), 101);
}

#[test]
fn code_rewritten_by_the_kernel_is_decoded_again() {
    let (mut cpu, mut mem) = load("li a0, 1\necall\n", 0);
    let mmu = Identity::new(MEM);
    cpu.run(&mmu, &mut mem, 10, &mut NoObserver);
    assert_eq!(cpu.regs.get(10), 1);
    // The kernel writes new code at the same physical address.
    let p = assemble("li a0, 2\necall\n", "t.s", &Options { text_base: 0 }).unwrap();
    mem.write(PhysAddr::new(0), &p.sections[0].data).unwrap();
    cpu.pc = 0;
    cpu.run(&mmu, &mut mem, 10, &mut NoObserver);
    assert_eq!(cpu.regs.get(10), 2);
}

#[test]
fn fetch_outside_bounds_faults_with_access_fetch() {
    let (mut cpu, mut mem) = load("j 0x800\n", 0x1000);
    let mmu = BaseBounds::new(0x1000, 0x400, MEM).unwrap();
    let exit = cpu.run(&mmu, &mut mem, 10, &mut NoObserver);
    let Exit::Trap(Trap::Fault { pc, word, fault }) = exit else {
        panic!("{exit:?}")
    };
    assert_eq!(
        (pc, word, fault.access, fault.kind),
        (0x800, None, Access::Fetch, FaultKind::Bounds)
    );
}

#[test]
fn code_stored_into_another_frame_is_decoded_when_reached() {
    // Run the code at 0x1000 once (decoded and cached), overwrite its first
    // instruction from code in frame 0, call it again.
    let src = "
        li   s1, 2
    again:
        call far
        addi s1, s1, -1
        beqz s1, done
        li   t0, 0x1000
        li   t1, 0x06450513     # addi a0, a0, 100
        sw   t1, 0(t0)
        j    again
    done:
        ecall
        .balign 0x1000
    far:
        addi a0, a0, 1
        ret";
    let p = assemble(src, "t.s", &Options { text_base: 0 }).unwrap();
    assert_eq!(p.symbol("far").unwrap().value, 0x1000);
    let (mut cpu, mut mem) = load(src, 0);
    let exit = cpu.run(&Identity::new(MEM), &mut mem, 1000, &mut NoObserver);
    assert!(matches!(exit, Exit::Trap(Trap::Ecall { .. })), "{exit:?}");
    assert_eq!(cpu.regs.get(10), 101);
}
