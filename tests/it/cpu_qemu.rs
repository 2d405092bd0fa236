//! Differential test of the CPU against qemu-riscv64: random sequences of
//! RV64IM arithmetic, loads and stores (one ELF, written by `vmlab asm`) run
//! on both; afterwards every register is written out, and the bytes must be
//! identical. Skips (saying so) without qemu-riscv64.

use super::support::vmlab;
use std::process::Command;

/// Registers the random code uses; a7 holds the scratch buffer's address.
const REGS: [&str; 26] = [
    "t0", "t1", "t2", "t3", "t4", "t5", "t6", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8",
    "s9", "s10", "s11", "a0", "a1", "a2", "a3", "a4", "a5", "a6",
];

const R_OPS: [&str; 31] = [
    "add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "addw", "subw", "sllw",
    "srlw", "sraw", "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu", "mulw", "divw",
    "divuw", "remw", "remuw", "add", "sub", "xor",
];
const I_OPS: [&str; 7] = ["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw"];
const SHIFTS: [(&str, u64); 6] = [
    ("slli", 64),
    ("srli", 64),
    ("srai", 64),
    ("slliw", 32),
    ("srliw", 32),
    ("sraiw", 32),
];
const LOADS: [(&str, u64); 7] = [
    ("lb", 1),
    ("lh", 2),
    ("lw", 4),
    ("ld", 8),
    ("lbu", 1),
    ("lhu", 2),
    ("lwu", 4),
];
const STORES: [(&str, u64); 4] = [("sb", 1), ("sh", 2), ("sw", 4), ("sd", 8)];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn reg(&mut self) -> &'static str {
        REGS[self.below(REGS.len() as u64) as usize]
    }
}

fn random_program(seed: u64, length: usize) -> String {
    let mut rng = Rng(seed);
    let mut s = String::from("    .text\n    .globl _start\n_start:\n    la a7, scratch\n");
    // Interesting starting values: small, negative, extremes, random.
    let specials = [
        0u64,
        1,
        u64::MAX,
        0x8000_0000_0000_0000,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
    ];
    for r in REGS {
        let v = if rng.below(3) == 0 {
            specials[rng.below(specials.len() as u64) as usize]
        } else {
            rng.next()
        };
        s += &format!("    li {r}, {}\n", v as i64);
    }
    for _ in 0..length {
        if rng.below(8) == 0 {
            // A forward branch over the next instruction.
            let op = ["beq", "bne", "blt", "bge", "bltu", "bgeu"][rng.below(6) as usize];
            let (a, b) = (rng.reg(), rng.reg());
            let skipped = format!("addi {}, {}, {}", rng.reg(), rng.reg(), rng.below(100));
            s += &format!("    {op} {a}, {b}, 1f\n    {skipped}\n1:\n");
            continue;
        }
        let line = match rng.below(10) {
            0..=3 => {
                let op = R_OPS[rng.below(R_OPS.len() as u64) as usize];
                format!("{op} {}, {}, {}", rng.reg(), rng.reg(), rng.reg())
            }
            4 | 5 => {
                let op = I_OPS[rng.below(I_OPS.len() as u64) as usize];
                format!(
                    "{op} {}, {}, {}",
                    rng.reg(),
                    rng.reg(),
                    rng.below(4096) as i64 - 2048
                )
            }
            6 => {
                let (op, width) = SHIFTS[rng.below(SHIFTS.len() as u64) as usize];
                format!("{op} {}, {}, {}", rng.reg(), rng.reg(), rng.below(width))
            }
            7 => format!("lui {}, {:#x}", rng.reg(), rng.below(1 << 20)),
            8 => {
                let (op, size) = LOADS[rng.below(LOADS.len() as u64) as usize];
                format!("{op} {}, {}(a7)", rng.reg(), rng.below(256 / size) * size)
            }
            _ => {
                let (op, size) = STORES[rng.below(STORES.len() as u64) as usize];
                format!("{op} {}, {}(a7)", rng.reg(), rng.below(256 / size) * size)
            }
        };
        s += &format!("    {line}\n");
    }
    // Every register and the scratch buffer out, then exit(0).
    s += "    la a7, dump\n";
    for (i, r) in REGS.iter().enumerate() {
        s += &format!("    sd {r}, {}(a7)\n", i * 8);
    }
    s += &format!(
        "    li a0, 1\n    la a1, dump\n    li a2, {}\n    li a7, 64\n    ecall\n    li a0, 0\n    li a7, 93\n    ecall\n",
        REGS.len() * 8 + 256
    );
    s += &format!(
        "    .data\ndump: .space {}\nscratch: .space 256\n",
        REGS.len() * 8
    );
    s
}

#[test]
fn random_instruction_sequences_match_qemu() {
    if !Command::new("qemu-riscv64")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!(
            "SKIPPED random_instruction_sequences_match_qemu: qemu-riscv64 not installed (Debian: qemu-user)"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("vmlab-cpu-qemu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for seed in 1..=20u64 {
        let src = dir.join(format!("random{seed}.s"));
        let elf = dir.join(format!("random{seed}.elf"));
        std::fs::write(
            &src,
            random_program(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 400),
        )
        .unwrap();
        vmlab(&["asm", src.to_str().unwrap(), "-o", elf.to_str().unwrap()]).ok();
        let qemu = Command::new("qemu-riscv64").arg(&elf).output().unwrap();
        assert_eq!(qemu.status.code(), Some(0), "qemu failed on seed {seed}");
        for mmu in ["identity", "base-bounds"] {
            let ours = Command::new(env!("CARGO_BIN_EXE_vmlab"))
                .args(["run", elf.to_str().unwrap(), "--mmu", mmu])
                .output()
                .unwrap();
            assert_eq!(
                ours.status.code(),
                Some(0),
                "seed {seed} under {mmu}: {}",
                String::from_utf8_lossy(&ours.stderr)
            );
            if ours.stdout != qemu.stdout {
                let words = |b: &[u8]| {
                    b.chunks(8)
                        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                        .collect::<Vec<_>>()
                };
                let (a, b) = (words(&ours.stdout), words(&qemu.stdout));
                let i = a.iter().zip(&b).position(|(x, y)| x != y).unwrap();
                let what = REGS.get(i).copied().unwrap_or("scratch memory");
                panic!(
                    "seed {seed} under {mmu}: {what} is {:#x}, qemu says {:#x}; program in {}",
                    a[i],
                    b[i],
                    src.display()
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
