//! Fuzz the assembler: any text either assembles or gives a file:line
//! error, never a panic; what assembles survives an ELF round trip and runs
//! a bounded number of instructions without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmlab::asm::{Options, assemble};
use vmlab::machine::{Config, Machine, MmuKind};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(program) = assemble(text, "fuzz.s", &Options { text_base: 0 }) else {
        return;
    };
    let elf = vmlab::elf::write(&program);
    let back = vmlab::elf::load(&elf).expect("our own ELF reads back");
    assert_eq!(back.entry, program.entry);
    // Under base+bounds and under Sv39 page tables (with a TLB).
    for mmu in [MmuKind::BaseBounds, MmuKind::Sv39] {
        let config = Config {
            mmu,
            base: if mmu == MmuKind::Sv39 { 0x1000 } else { 0x1000 },
            phys_mem: 1 << 24,
            space: None,
            tlb: Some(vmlab::mmu::TlbConfig::default()),
        };
        if let Ok(mut m) = Machine::new(&program, &config) {
            let _ = m.run(
                10_000,
                &mut std::io::sink(),
                &mut std::io::sink(),
                &mut vmlab::cpu::NoObserver,
            );
        }
    }
});
