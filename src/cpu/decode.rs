//! Decoding 32-bit RISC-V instruction words into [`Inst`] values, and the
//! inverse, [`encode`], that the assembler uses: one table of opcodes serves
//! both, so what the assembler writes is what the CPU reads.
//!
//! The six base formats (RISC-V unprivileged spec, chapter 2):
//!
//! ```text
//!  31        25 24   20 19   15 14  12 11         7 6      0
//! | funct7     | rs2   | rs1   |funct3| rd          | opcode |  R
//! | imm[11:0]          | rs1   |funct3| rd          | opcode |  I
//! | imm[11:5]  | rs2   | rs1   |funct3| imm[4:0]    | opcode |  S
//! |imm[12|10:5]| rs2   | rs1   |funct3| imm[4:1|11] | opcode |  B
//! | imm[31:12]                        | rd          | opcode |  U
//! | imm[20|10:1|11|19:12]             | rd          | opcode |  J
//! ```
//!
//! Only RV64IM is implemented: a compressed (16-bit), floating-point or
//! atomic instruction decodes to [`Op::Illegal`].

/// Every operation of RV64IM, plus `Illegal`.
#[allow(missing_docs)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum Op {
    Lui,
    Auipc,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Ld,
    Lbu,
    Lhu,
    Lwu,
    Sb,
    Sh,
    Sw,
    Sd,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Addiw,
    Slliw,
    Srliw,
    Sraiw,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Addw,
    Subw,
    Sllw,
    Srlw,
    Sraw,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Mulw,
    Divw,
    Divuw,
    Remw,
    Remuw,
    Fence,
    Ecall,
    Ebreak,
    /// Not an RV64IM instruction; `imm` holds the word.
    Illegal,
}

/// The encoding format of an operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// Register-register.
    R,
    /// Register-immediate, loads, `jalr`.
    I,
    /// Shift by a 6-bit amount (RV64 `slli srli srai`).
    Shift64,
    /// Shift by a 5-bit amount (`slliw srliw sraiw`).
    Shift32,
    /// Stores.
    S,
    /// Branches.
    B,
    /// `lui`, `auipc`.
    U,
    /// `jal`.
    J,
    /// `fence`, `ecall`, `ebreak`: fixed words.
    Fixed,
}

/// One row of the opcode table.
#[derive(Clone, Copy, Debug)]
pub struct OpInfo {
    /// The operation.
    pub op: Op,
    /// Its assembler mnemonic.
    pub name: &'static str,
    /// Its format.
    pub format: Format,
    /// Bits 6..0.
    pub opcode: u32,
    /// Bits 14..12.
    pub funct3: u32,
    /// Bits 31..25 (for shifts: the high bits above the shift amount).
    pub funct7: u32,
}

const fn row(
    op: Op,
    name: &'static str,
    format: Format,
    opcode: u32,
    funct3: u32,
    funct7: u32,
) -> OpInfo {
    OpInfo {
        op,
        name,
        format,
        opcode,
        funct3,
        funct7,
    }
}

use Format as F;

const LUI: u32 = 0b011_0111;
const AUIPC: u32 = 0b001_0111;
const JAL: u32 = 0b110_1111;
const JALR: u32 = 0b110_0111;
const BRANCH: u32 = 0b110_0011;
const LOAD: u32 = 0b000_0011;
const STORE: u32 = 0b010_0011;
const OP_IMM: u32 = 0b001_0011;
const OP_IMM_32: u32 = 0b001_1011;
const OP: u32 = 0b011_0011;
const OP_32: u32 = 0b011_1011;
const MISC_MEM: u32 = 0b000_1111;
const SYSTEM: u32 = 0b111_0011;

/// The opcode table of RV64IM, in the spec's order.
#[rustfmt::skip]
pub const OPS: &[OpInfo] = &[
    row(Op::Lui, "lui", F::U, LUI, 0, 0),
    row(Op::Auipc, "auipc", F::U, AUIPC, 0, 0),
    row(Op::Jal, "jal", F::J, JAL, 0, 0),
    row(Op::Jalr, "jalr", F::I, JALR, 0, 0),
    row(Op::Beq, "beq", F::B, BRANCH, 0, 0),
    row(Op::Bne, "bne", F::B, BRANCH, 1, 0),
    row(Op::Blt, "blt", F::B, BRANCH, 4, 0),
    row(Op::Bge, "bge", F::B, BRANCH, 5, 0),
    row(Op::Bltu, "bltu", F::B, BRANCH, 6, 0),
    row(Op::Bgeu, "bgeu", F::B, BRANCH, 7, 0),
    row(Op::Lb, "lb", F::I, LOAD, 0, 0),
    row(Op::Lh, "lh", F::I, LOAD, 1, 0),
    row(Op::Lw, "lw", F::I, LOAD, 2, 0),
    row(Op::Ld, "ld", F::I, LOAD, 3, 0),
    row(Op::Lbu, "lbu", F::I, LOAD, 4, 0),
    row(Op::Lhu, "lhu", F::I, LOAD, 5, 0),
    row(Op::Lwu, "lwu", F::I, LOAD, 6, 0),
    row(Op::Sb, "sb", F::S, STORE, 0, 0),
    row(Op::Sh, "sh", F::S, STORE, 1, 0),
    row(Op::Sw, "sw", F::S, STORE, 2, 0),
    row(Op::Sd, "sd", F::S, STORE, 3, 0),
    row(Op::Addi, "addi", F::I, OP_IMM, 0, 0),
    row(Op::Slti, "slti", F::I, OP_IMM, 2, 0),
    row(Op::Sltiu, "sltiu", F::I, OP_IMM, 3, 0),
    row(Op::Xori, "xori", F::I, OP_IMM, 4, 0),
    row(Op::Ori, "ori", F::I, OP_IMM, 6, 0),
    row(Op::Andi, "andi", F::I, OP_IMM, 7, 0),
    row(Op::Slli, "slli", F::Shift64, OP_IMM, 1, 0),
    row(Op::Srli, "srli", F::Shift64, OP_IMM, 5, 0),
    row(Op::Srai, "srai", F::Shift64, OP_IMM, 5, 0b010_0000),
    row(Op::Addiw, "addiw", F::I, OP_IMM_32, 0, 0),
    row(Op::Slliw, "slliw", F::Shift32, OP_IMM_32, 1, 0),
    row(Op::Srliw, "srliw", F::Shift32, OP_IMM_32, 5, 0),
    row(Op::Sraiw, "sraiw", F::Shift32, OP_IMM_32, 5, 0b010_0000),
    row(Op::Add, "add", F::R, OP, 0, 0),
    row(Op::Sub, "sub", F::R, OP, 0, 0b010_0000),
    row(Op::Sll, "sll", F::R, OP, 1, 0),
    row(Op::Slt, "slt", F::R, OP, 2, 0),
    row(Op::Sltu, "sltu", F::R, OP, 3, 0),
    row(Op::Xor, "xor", F::R, OP, 4, 0),
    row(Op::Srl, "srl", F::R, OP, 5, 0),
    row(Op::Sra, "sra", F::R, OP, 5, 0b010_0000),
    row(Op::Or, "or", F::R, OP, 6, 0),
    row(Op::And, "and", F::R, OP, 7, 0),
    row(Op::Addw, "addw", F::R, OP_32, 0, 0),
    row(Op::Subw, "subw", F::R, OP_32, 0, 0b010_0000),
    row(Op::Sllw, "sllw", F::R, OP_32, 1, 0),
    row(Op::Srlw, "srlw", F::R, OP_32, 5, 0),
    row(Op::Sraw, "sraw", F::R, OP_32, 5, 0b010_0000),
    row(Op::Mul, "mul", F::R, OP, 0, 1),
    row(Op::Mulh, "mulh", F::R, OP, 1, 1),
    row(Op::Mulhsu, "mulhsu", F::R, OP, 2, 1),
    row(Op::Mulhu, "mulhu", F::R, OP, 3, 1),
    row(Op::Div, "div", F::R, OP, 4, 1),
    row(Op::Divu, "divu", F::R, OP, 5, 1),
    row(Op::Rem, "rem", F::R, OP, 6, 1),
    row(Op::Remu, "remu", F::R, OP, 7, 1),
    row(Op::Mulw, "mulw", F::R, OP_32, 0, 1),
    row(Op::Divw, "divw", F::R, OP_32, 4, 1),
    row(Op::Divuw, "divuw", F::R, OP_32, 5, 1),
    row(Op::Remw, "remw", F::R, OP_32, 6, 1),
    row(Op::Remuw, "remuw", F::R, OP_32, 7, 1),
    row(Op::Fence, "fence", F::Fixed, MISC_MEM, 0, 0),
    row(Op::Ecall, "ecall", F::Fixed, SYSTEM, 0, 0),
    row(Op::Ebreak, "ebreak", F::Fixed, SYSTEM, 0, 0),
];

impl Op {
    /// The table row of this operation (`None` for `Illegal`).
    pub fn info(self) -> Option<&'static OpInfo> {
        OPS.iter().find(|r| r.op == self)
    }

    /// The row whose mnemonic is `name`.
    pub fn by_name(name: &str) -> Option<&'static OpInfo> {
        OPS.iter().find(|r| r.name == name)
    }

    /// The assembler mnemonic (`"illegal"` for `Illegal`).
    pub fn name(self) -> &'static str {
        self.info().map_or("illegal", |r| r.name)
    }

    /// For loads and stores: the access size in bytes.
    pub fn access_size(self) -> Option<u64> {
        Some(match self {
            Op::Lb | Op::Lbu | Op::Sb => 1,
            Op::Lh | Op::Lhu | Op::Sh => 2,
            Op::Lw | Op::Lwu | Op::Sw => 4,
            Op::Ld | Op::Sd => 8,
            _ => return None,
        })
    }
}

/// A decoded instruction: the operation, its register numbers and its
/// sign-extended immediate (for `Illegal`, the raw word). 8 bytes, so a
/// 4 KiB frame of code decodes into 8 KiB of these ([`Inst::pack`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Inst {
    /// The operation.
    pub op: Op,
    /// Destination register.
    pub rd: u8,
    /// First source register.
    pub rs1: u8,
    /// Second source register.
    pub rs2: u8,
    /// The immediate: offset, constant, shift amount or (U format) the value
    /// already shifted left by 12.
    pub imm: i32,
}

/// The operation whose `repr(u8)` number is the index, `Illegal` where
/// none is (built from [`OPS`], so it cannot drift from the enum).
const BY_NUMBER: [Op; 256] = {
    let mut table = [Op::Illegal; 256];
    let mut i = 0;
    while i < OPS.len() {
        table[OPS[i].op as usize] = OPS[i].op;
        i += 1;
    }
    table
};

impl Op {
    /// The operation numbered `number` (`op as u8`); `Illegal` for a number
    /// no operation has.
    #[inline(always)]
    pub const fn from_number(number: u8) -> Op {
        BY_NUMBER[number as usize]
    }
}

impl Inst {
    /// The instruction in one `u64`, as the decode cache keeps it and the
    /// CPU reads it: the operation's number in bits 0-7, then `rd`, `rs1`,
    /// `rs2` a byte each, the immediate in bits 32-63 (so that an
    /// arithmetic shift right by 32 gives it sign-extended).
    /// [`Inst::unpack`] inverts it; no packed instruction is `u64::MAX`
    /// (no operation is numbered 255).
    #[inline(always)]
    pub const fn pack(self) -> u64 {
        (self.op as u64)
            | (self.rd as u64) << 8
            | (self.rs1 as u64) << 16
            | (self.rs2 as u64) << 24
            | (self.imm as u32 as u64) << 32
    }

    /// The instruction [`Inst::pack`] made `packed` from (any other value
    /// unpacks to some instruction, `Illegal` where its operation byte
    /// names none).
    #[inline(always)]
    pub const fn unpack(packed: u64) -> Inst {
        Inst {
            op: Op::from_number(packed as u8),
            rd: (packed >> 8) as u8,
            rs1: (packed >> 16) as u8,
            rs2: (packed >> 24) as u8,
            imm: (packed >> 32) as u32 as i32,
        }
    }

    /// The instruction that is not one: `word` could not be decoded.
    pub const fn illegal(word: u32) -> Self {
        Inst {
            op: Op::Illegal,
            rd: 0,
            rs1: 0,
            rs2: 0,
            imm: word as i32,
        }
    }
}

#[inline]
fn bits(word: u32, hi: u32, lo: u32) -> u32 {
    (word >> lo) & ((1 << (hi - lo + 1)) - 1)
}

/// Sign-extends the low `width` bits of `value`.
#[inline]
fn sext(value: u32, width: u32) -> i32 {
    let shift = 32 - width;
    ((value << shift) as i32) >> shift
}

/// Decodes one instruction word. Anything outside RV64IM (including every
/// 16-bit compressed encoding, whose low two bits are not `11`) decodes to
/// [`Op::Illegal`] carrying the word.
pub fn decode(word: u32) -> Inst {
    let opcode = word & 0x7f;
    let rd = bits(word, 11, 7) as u8;
    let rs1 = bits(word, 19, 15) as u8;
    let rs2 = bits(word, 24, 20) as u8;
    let funct3 = bits(word, 14, 12);
    let funct7 = bits(word, 31, 25);
    let i_imm = sext(bits(word, 31, 20), 12);
    let s_imm = sext((bits(word, 31, 25) << 5) | bits(word, 11, 7), 12);
    let b_imm = sext(
        (bits(word, 31, 31) << 12)
            | (bits(word, 7, 7) << 11)
            | (bits(word, 30, 25) << 5)
            | (bits(word, 11, 8) << 1),
        13,
    );
    let u_imm = (word & 0xffff_f000) as i32;
    let j_imm = sext(
        (bits(word, 31, 31) << 20)
            | (bits(word, 19, 12) << 12)
            | (bits(word, 20, 20) << 11)
            | (bits(word, 30, 21) << 1),
        21,
    );
    let make = |op, rd, rs1, rs2, imm| Inst {
        op,
        rd,
        rs1,
        rs2,
        imm,
    };
    let illegal = Inst::illegal(word);
    match opcode {
        LUI => make(Op::Lui, rd, 0, 0, u_imm),
        AUIPC => make(Op::Auipc, rd, 0, 0, u_imm),
        JAL => make(Op::Jal, rd, 0, 0, j_imm),
        JALR if funct3 == 0 => make(Op::Jalr, rd, rs1, 0, i_imm),
        BRANCH => {
            let op = match funct3 {
                0 => Op::Beq,
                1 => Op::Bne,
                4 => Op::Blt,
                5 => Op::Bge,
                6 => Op::Bltu,
                7 => Op::Bgeu,
                _ => return illegal,
            };
            make(op, 0, rs1, rs2, b_imm)
        }
        LOAD => {
            let op = match funct3 {
                0 => Op::Lb,
                1 => Op::Lh,
                2 => Op::Lw,
                3 => Op::Ld,
                4 => Op::Lbu,
                5 => Op::Lhu,
                6 => Op::Lwu,
                _ => return illegal,
            };
            make(op, rd, rs1, 0, i_imm)
        }
        STORE => {
            let op = match funct3 {
                0 => Op::Sb,
                1 => Op::Sh,
                2 => Op::Sw,
                3 => Op::Sd,
                _ => return illegal,
            };
            make(op, 0, rs1, rs2, s_imm)
        }
        OP_IMM => {
            let shamt = bits(word, 25, 20) as i32;
            let high6 = bits(word, 31, 26);
            let op = match funct3 {
                0 => Op::Addi,
                2 => Op::Slti,
                3 => Op::Sltiu,
                4 => Op::Xori,
                6 => Op::Ori,
                7 => Op::Andi,
                1 if high6 == 0 => return make(Op::Slli, rd, rs1, 0, shamt),
                5 if high6 == 0 => return make(Op::Srli, rd, rs1, 0, shamt),
                5 if high6 == 0b01_0000 => return make(Op::Srai, rd, rs1, 0, shamt),
                _ => return illegal,
            };
            make(op, rd, rs1, 0, i_imm)
        }
        OP_IMM_32 => {
            let shamt = bits(word, 24, 20) as i32;
            match (funct3, funct7) {
                (0, _) => make(Op::Addiw, rd, rs1, 0, i_imm),
                (1, 0) => make(Op::Slliw, rd, rs1, 0, shamt),
                (5, 0) => make(Op::Srliw, rd, rs1, 0, shamt),
                (5, 0b010_0000) => make(Op::Sraiw, rd, rs1, 0, shamt),
                _ => illegal,
            }
        }
        OP | OP_32 => {
            let wide = opcode == OP;
            let found = OPS.iter().find(|r| {
                r.format == Format::R
                    && r.opcode == opcode
                    && r.funct3 == funct3
                    && r.funct7 == funct7
            });
            match found {
                Some(r) if wide || r.opcode == OP_32 => make(r.op, rd, rs1, rs2, 0),
                _ => illegal,
            }
        }
        // FENCE (any predecessor/successor sets) and FENCE.I: ordering only,
        // nothing to do on this single, in-order hart whose decoded-code
        // cache is always coherent.
        MISC_MEM if funct3 == 0 || funct3 == 1 => make(Op::Fence, 0, 0, 0, i_imm),
        SYSTEM if word == 0x0000_0073 => make(Op::Ecall, 0, 0, 0, 0),
        SYSTEM if word == 0x0010_0073 => make(Op::Ebreak, 0, 0, 0, 0),
        _ => illegal,
    }
}

/// For a SYSTEM-opcode word that user mode may not run, what it is and why
/// (`sfence.vma: flushes the TLB; privileged`), or `None`. RISC-V raises an
/// illegal-instruction exception for these in user mode, as vmlab's CPU
/// does: loading `satp` and flushing the TLB belong to the kernel.
pub fn privileged(word: u32) -> Option<String> {
    if word & 0x7f != SYSTEM {
        return None;
    }
    let funct3 = bits(word, 14, 12);
    if funct3 == 0 {
        let what = match word {
            0x1020_0073 => "sret: return from a supervisor trap",
            0x3020_0073 => "mret: return from a machine trap",
            0x1050_0073 => "wfi: wait for an interrupt",
            w if bits(w, 31, 25) == 0b000_1001 && bits(w, 11, 7) == 0 => {
                "sfence.vma: flushes the TLB"
            }
            _ => return None,
        };
        return Some(format!("{what}; privileged, user mode may not run it"));
    }
    if funct3 == 4 {
        return None;
    }
    let csr = bits(word, 31, 20);
    let name = match csr {
        0x180 => " (satp: the page-table root and ASID)",
        0x100 => " (sstatus)",
        0x105 => " (stvec)",
        0x141 => " (sepc)",
        0x142 => " (scause)",
        0x300 => " (mstatus)",
        0x305 => " (mtvec)",
        0x341 => " (mepc)",
        _ => "",
    };
    // CSR bits 9..8 name the least privilege that may access it.
    let level = match (csr >> 8) & 3 {
        0 => return Some(format!("CSR {csr:#x}{name}: vmlab implements no CSRs")),
        1 => "supervisor",
        2 => "hypervisor",
        _ => "machine",
    };
    Some(format!(
        "CSR {csr:#x}{name} is a {level} register; privileged, user mode may not access it"
    ))
}

/// Why an instruction cannot be encoded.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum EncodeError {
    /// The immediate does not fit the field.
    #[error("immediate {value} out of range for {op} (allowed {min}..={max})")]
    ImmediateRange {
        /// The mnemonic.
        op: &'static str,
        /// The value given.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// A branch or jump offset is odd.
    #[error("offset {value} of {op} is not a multiple of 2")]
    OddOffset {
        /// The mnemonic.
        op: &'static str,
        /// The offset.
        value: i64,
    },
}

fn check_range(op: &'static str, value: i64, min: i64, max: i64) -> Result<u32, EncodeError> {
    if value < min || value > max {
        return Err(EncodeError::ImmediateRange {
            op,
            value,
            min,
            max,
        });
    }
    Ok(value as u32)
}

/// Encodes `info` with registers `rd`, `rs1`, `rs2` and immediate `imm`.
///
/// `imm` is the offset for loads, stores, branches and jumps (branch and jump
/// offsets relative to the instruction), the shift amount for shifts, and for
/// `lui`/`auipc` the 20-bit field itself (0..=0xfffff, or its signed form
/// -0x80000..0). Returns an [`EncodeError`] when the immediate does not fit.
pub fn encode(info: &OpInfo, rd: u32, rs1: u32, rs2: u32, imm: i64) -> Result<u32, EncodeError> {
    let base = info.opcode | (info.funct3 << 12);
    let name = info.name;
    let word = match info.format {
        Format::R => base | (rd << 7) | (rs1 << 15) | (rs2 << 20) | (info.funct7 << 25),
        Format::I => {
            let v = check_range(name, imm, -2048, 2047)?;
            base | (rd << 7) | (rs1 << 15) | ((v & 0xfff) << 20)
        }
        Format::Shift64 => {
            let v = check_range(name, imm, 0, 63)?;
            base | (rd << 7) | (rs1 << 15) | (v << 20) | (info.funct7 << 25)
        }
        Format::Shift32 => {
            let v = check_range(name, imm, 0, 31)?;
            base | (rd << 7) | (rs1 << 15) | (v << 20) | (info.funct7 << 25)
        }
        Format::S => {
            let v = check_range(name, imm, -2048, 2047)?;
            base | ((v & 0x1f) << 7) | (rs1 << 15) | (rs2 << 20) | (((v >> 5) & 0x7f) << 25)
        }
        Format::B => {
            let v = check_range(name, imm, -4096, 4094)?;
            if imm % 2 != 0 {
                return Err(EncodeError::OddOffset {
                    op: name,
                    value: imm,
                });
            }
            base | (((v >> 11) & 1) << 7)
                | (((v >> 1) & 0xf) << 8)
                | (rs1 << 15)
                | (rs2 << 20)
                | (((v >> 5) & 0x3f) << 25)
                | (((v >> 12) & 1) << 31)
        }
        Format::U => {
            let v = check_range(name, imm, -0x80000, 0xfffff)?;
            base | (rd << 7) | ((v & 0xfffff) << 12)
        }
        Format::J => {
            let v = check_range(name, imm, -(1 << 20), (1 << 20) - 2)?;
            if imm % 2 != 0 {
                return Err(EncodeError::OddOffset {
                    op: name,
                    value: imm,
                });
            }
            base | (rd << 7)
                | (((v >> 12) & 0xff) << 12)
                | (((v >> 11) & 1) << 20)
                | (((v >> 1) & 0x3ff) << 21)
                | (((v >> 20) & 1) << 31)
        }
        Format::Fixed => match info.op {
            // `fence` with pred/succ in imm bits (default iorw,iorw = 0xff).
            Op::Fence => base | (((imm as u32) & 0xff) << 20),
            Op::Ebreak => 0x0010_0073,
            _ => 0x0000_0073,
        },
    };
    Ok(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(name: &str, rd: u32, rs1: u32, rs2: u32, imm: i64) -> u32 {
        encode(Op::by_name(name).unwrap(), rd, rs1, rs2, imm).unwrap()
    }

    #[test]
    fn known_words_decode() {
        // lw a0, 8(s0)
        let i = decode(0x0084_2503);
        assert_eq!((i.op, i.rd, i.rs1, i.imm), (Op::Lw, 10, 8, 8));
        assert_eq!(decode(0x0000_0073).op, Op::Ecall);
        assert_eq!(decode(0x1200_0073).op, Op::Illegal);
        assert!(privileged(0x1200_0073).unwrap().starts_with("sfence.vma"));
        // csrw satp, a0 = csrrw x0, satp, a0.
        assert!(privileged(0x1805_1073).unwrap().contains("satp"));
        assert!(privileged(0x1805_1073).unwrap().contains("supervisor"));
        assert_eq!(privileged(0x0000_0073), None);
        assert_eq!(privileged(0x0000_0013), None);
        assert_eq!(decode(0x0010_0073).op, Op::Ebreak);
    }

    #[test]
    fn every_operation_packs_and_unpacks_with_extreme_fields() {
        let ops = OPS.iter().map(|r| r.op).chain([Op::Illegal]);
        for op in ops {
            for (rd, rs1, rs2, imm) in [
                (0, 0, 0, 0),
                (31, 17, 1, -1),
                (5, 31, 31, i32::MIN),
                (1, 2, 3, i32::MAX),
            ] {
                let inst = Inst {
                    op,
                    rd,
                    rs1,
                    rs2,
                    imm,
                };
                assert_ne!(inst.pack(), u64::MAX);
                assert_eq!(Inst::unpack(inst.pack()), inst);
            }
        }
        // Every row of OPS has its own number, and Illegal none of theirs.
        let mut numbers: Vec<u8> = OPS.iter().map(|r| r.op as u8).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), OPS.len());
        assert!(!numbers.contains(&(Op::Illegal as u8)));
        assert_eq!(Inst::unpack(u64::MAX).op, Op::Illegal);
    }

    #[test]
    fn compressed_float_and_atomic_words_are_illegal() {
        assert_eq!(decode(0x4501).op, Op::Illegal); // c.li a0, 0
        assert_eq!(decode(0x0005_2507).op, Op::Illegal); // flw
        assert_eq!(decode(0x1005_252f).op, Op::Illegal); // lr.w
        assert_eq!(decode(0).op, Op::Illegal);
        assert_eq!(decode(0xffff_ffff).op, Op::Illegal);
    }

    #[test]
    fn encode_then_decode_gives_back_the_fields() {
        for info in OPS {
            let imm = match info.format {
                Format::I | Format::S => -5,
                Format::Shift64 => 45,
                Format::Shift32 => 17,
                Format::B => -6,
                Format::U => 0x12345,
                Format::J => 2050,
                _ => 0,
            };
            let w = encode(info, 5, 6, 7, imm).unwrap();
            let d = decode(w);
            assert_eq!(d.op, info.op, "{}", info.name);
            let back = match info.format {
                Format::U => (d.imm as i64) >> 12,
                Format::Fixed => 0,
                _ => d.imm as i64,
            };
            if info.format != Format::Fixed {
                assert_eq!(back, imm, "{}", info.name);
            }
        }
    }

    #[test]
    fn every_word_decodes_without_panic_and_reencodes_identically() {
        let mut x: u32 = 12345;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let d = decode(x);
            if let Some(info) = d.op.info() {
                let imm = match info.format {
                    Format::U => (d.imm >> 12) as i64,
                    Format::Fixed => ((x >> 20) & 0xff) as i64,
                    _ => d.imm as i64,
                };
                let w = encode(info, d.rd as u32, d.rs1 as u32, d.rs2 as u32, imm).unwrap();
                if info.format != Format::Fixed {
                    assert_eq!(w, x, "{} {:#x}", info.name, x);
                }
            }
        }
    }

    #[test]
    fn out_of_range_immediates_are_errors() {
        assert!(encode(Op::by_name("addi").unwrap(), 1, 1, 0, 2048).is_err());
        assert!(encode(Op::by_name("beq").unwrap(), 0, 1, 2, 3).is_err());
        assert_eq!(enc("addi", 10, 10, 0, 3), 0x0035_0513);
    }
}
