//! Fuzz the ELF loader: any bytes either load as a program or give an
//! error, never a panic; what loads runs a bounded number of instructions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmlab::machine::{Config, Machine, MmuKind};

fuzz_target!(|data: &[u8]| {
    let Ok(program) = vmlab::elf::load(data) else {
        return;
    };
    // Under base+bounds and under Sv39 page tables (with a TLB).
    for mmu in [MmuKind::BaseBounds, MmuKind::Sv39] {
        let config = Config {
            mmu,
            base: if mmu == MmuKind::Sv39 { 0x1000 } else { 0 },
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
