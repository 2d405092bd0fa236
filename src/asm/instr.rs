//! Instructions and pseudo-instructions: operands parsed, expanded the way
//! GNU as expands them, and encoded with the CPU's own opcode table
//! ([`crate::cpu::decode::encode`]).
//!
//! | pseudo | expansion |
//! | --- | --- |
//! | `li rd, N` | 12-bit N: `addi`; 32-bit: `lui` + `addiw`; 64-bit: recursively, then `slli` + `addi` |
//! | `la`/`lla rd, sym` | `auipc rd, %pcrel_hi(sym)`; `addi rd, rd, %pcrel_lo` |
//! | `call sym` / `tail sym` | `auipc ra/t1, ..`; `jalr ra/zero, ..(ra/t1)` |
//! | `mv not neg negw sext.w` | `addi xori sub subw addiw` |
//! | `seqz snez sltz sgtz` | `sltiu sltu slt slt` |
//! | `beqz bnez blez bgez bltz bgtz` | branch against `zero` |
//! | `bgt ble bgtu bleu` | `blt bge bltu bgeu`, operands swapped |
//! | `lw rd, sym` / `sw rs, sym, rt` | `auipc` + the load/store, pc-relative |
//! | `j jr ret nop`, `jal sym`, `jalr rs` | `jal zero`, `jalr zero`, `jalr zero, 0(ra)`, `addi zero`, `jal ra`, `jalr ra` |

use super::Asm;
use super::expr::Value;
use crate::cpu::decode::{EncodeError, Format, Op, encode};
use crate::cpu::parse_register;
use crate::program::RelocKind;

/// `%hi(..)` and friends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Modifier {
    None,
    Hi,
    Lo,
    PcrelHi,
    PcrelLo,
}

fn split_modifier(text: &str) -> Result<(Modifier, &str), String> {
    let t = text.trim();
    for (prefix, m) in [
        ("%hi(", Modifier::Hi),
        ("%lo(", Modifier::Lo),
        ("%pcrel_hi(", Modifier::PcrelHi),
        ("%pcrel_lo(", Modifier::PcrelLo),
    ] {
        if let Some(rest) = t.strip_prefix(prefix) {
            let inner = rest
                .strip_suffix(')')
                .ok_or_else(|| format!("missing ')' in '{t}'"))?;
            return Ok((m, inner));
        }
    }
    if t.starts_with('%') {
        return Err(format!(
            "unknown operator in '{t}' (use %hi, %lo, %pcrel_hi, %pcrel_lo)"
        ));
    }
    Ok((Modifier::None, t))
}

fn reg(text: &str) -> Result<u32, String> {
    parse_register(text.trim())
        .map(|r| r as u32)
        .ok_or_else(|| format!("'{}' is not a register", text.trim()))
}

/// `offset(reg)` -> (offset text, possibly empty; register).
fn mem_operand(text: &str) -> Result<(&str, u32), String> {
    let t = text.trim();
    let bad = || format!("expected offset(register), found '{t}'");
    let body = t.strip_suffix(')').ok_or_else(bad)?;
    let open = body.rfind('(').ok_or_else(bad)?;
    Ok((body[..open].trim(), reg(&body[open + 1..])?))
}

fn sext12(v: i64) -> i64 {
    ((v & 0xfff) ^ 0x800) - 0x800
}

/// The `hi` and `lo` parts of a pc-relative offset, as `auipc` + I-type use
/// them: `(hi << 12) + lo == off`.
fn pcrel_parts(off: i64) -> Result<(i64, i64), String> {
    if off != off as i32 as i64 {
        return Err(format!("pc-relative offset {off:#x} is beyond ±2 GiB"));
    }
    let lo = sext12(off);
    let hi = ((off - lo) >> 12) & 0xfffff;
    Ok((hi, lo))
}

/// GNU as's `li`: the instructions that build `v` in `rd`.
fn load_const(out: &mut Vec<(&'static str, u32, u32, i64)>, rd: u32, v: i64) {
    let lower = sext12(v);
    let upper = v.wrapping_sub(lower);
    if v != v as i32 as i64 {
        // Reduce to a signed 32-bit constant with slli and addi.
        let mut shift = 12;
        while (upper >> shift) & 1 == 0 {
            shift += 1;
        }
        load_const(out, rd, upper >> shift);
        out.push(("slli", rd, rd, shift as i64));
        if lower != 0 {
            out.push(("addi", rd, rd, lower));
        }
    } else {
        let mut hi_reg = 0;
        if upper != 0 {
            out.push(("lui", rd, 0, ((upper as u32) >> 12) as i64));
            hi_reg = rd;
        }
        if lower != 0 || hi_reg == 0 {
            out.push(("addiw", rd, hi_reg, lower));
        }
    }
}

impl Asm {
    /// Encodes and emits one machine instruction. In pass 1 an immediate out
    /// of range is not yet an error (addresses are not final).
    fn put(&mut self, name: &str, rd: u32, rs1: u32, rs2: u32, imm: i64) -> Result<(), String> {
        let info = Op::by_name(name)
            .ok_or_else(|| format!("unknown instruction '{}'", name.escape_debug()))?;
        let word = match encode(info, rd, rs1, rs2, imm) {
            Ok(w) => w,
            Err(_) if !self.final_pass => 0,
            Err(EncodeError::ImmediateRange {
                value, min, max, ..
            }) if matches!(info.format, Format::B | Format::J) => {
                return Err(format!(
                    "{name}: target is {value} bytes away, beyond the {min}..={max} a {name} reaches"
                ));
            }
            Err(e) => return Err(e.to_string()),
        };
        self.emit(&word.to_le_bytes())
    }

    /// An I- or S-type immediate: a constant, `%lo(x)` or `%pcrel_lo(label)`.
    fn imm12(&mut self, text: &str, lo_kind: RelocKind) -> Result<i64, String> {
        if text.is_empty() {
            return Ok(0);
        }
        let (m, inner) = split_modifier(text)?;
        match m {
            Modifier::None => {
                let v = self.eval(inner)?;
                if v.labels != 0 {
                    return Err(format!(
                        "'{inner}' is an address: it does not fit a 12-bit immediate (use %lo)"
                    ));
                }
                Ok(v.value)
            }
            Modifier::Lo => {
                let v = self.eval(inner)?;
                self.reloc(lo_kind, &v);
                Ok(sext12(v.value))
            }
            Modifier::PcrelLo => {
                let v = self.eval(inner)?;
                match self.pcrel_hi.get(&(v.value as u64)) {
                    Some(&off) => Ok(sext12(off)),
                    None if !self.final_pass => Ok(0),
                    None => Err(format!(
                        "%pcrel_lo({inner}): no auipc with %pcrel_hi at {inner} before this line"
                    )),
                }
            }
            Modifier::Hi | Modifier::PcrelHi => Err(format!("'{text}' belongs in lui/auipc")),
        }
    }

    /// A `lui`/`auipc` 20-bit field.
    fn imm20(&mut self, text: &str, auipc: bool) -> Result<i64, String> {
        let (m, inner) = split_modifier(text)?;
        match m {
            Modifier::None => {
                let v = self.eval(inner)?;
                if v.labels != 0 {
                    return Err(format!("'{inner}' is an address: use %hi({inner}) or la"));
                }
                if !(0..=0xfffff).contains(&v.value) {
                    return Err(format!(
                        "lui/auipc immediate {:#x} is beyond 0..=0xfffff",
                        v.value
                    ));
                }
                Ok(v.value)
            }
            Modifier::Hi if !auipc => {
                let v = self.eval(inner)?;
                self.reloc(RelocKind::Hi20, &v);
                Ok((v.value.wrapping_add(0x800) >> 12) & 0xfffff)
            }
            Modifier::PcrelHi if auipc => {
                let v = self.eval(inner)?;
                let off = v.value.wrapping_sub(self.pc() as i64);
                self.pcrel_hi.insert(self.pc(), off);
                Ok(pcrel_parts(off)
                    .map(|p| p.0)
                    .or_else(|e| if self.final_pass { Err(e) } else { Ok(0) })?)
            }
            _ => Err(format!(
                "'{text}' does not belong in {}",
                if auipc { "auipc" } else { "lui" }
            )),
        }
    }

    /// A branch or jump target: the offset from the current pc.
    fn target(&self, text: &str) -> Result<i64, String> {
        let v: Value = self.eval(text)?;
        Ok(v.value.wrapping_sub(self.pc() as i64))
    }

    /// `auipc rd, hi; <second> rd2, rd, lo` for a pc-relative reference.
    fn pcrel_pair(&mut self, text: &str, rd: u32, second: &str, rd2: u32) -> Result<(), String> {
        let off = self.target(text)?;
        let (hi, lo) = match pcrel_parts(off) {
            Ok(p) => p,
            Err(_) if !self.final_pass => (0, 0),
            Err(e) => return Err(e),
        };
        self.put("auipc", rd, 0, 0, hi)?;
        self.put(second, rd2, rd, 0, lo)
    }

    pub(super) fn instruction(&mut self, m: &str, ops: &[String]) -> Result<(), String> {
        let n = ops.len();
        let want = |k: usize| -> Result<(), String> {
            if n != k {
                return Err(format!("{m} takes {k} operand(s), found {n}"));
            }
            Ok(())
        };
        const ZERO: u32 = 0;
        const RA: u32 = 1;
        const T1: u32 = 6;
        match m {
            // --- pseudo-instructions ---
            "nop" => {
                want(0)?;
                self.put("addi", 0, 0, 0, 0)
            }
            "li" => {
                want(2)?;
                let rd = reg(&ops[0])?;
                let v = self.eval(&ops[1])?;
                if v.labels != 0 {
                    return Err(format!(
                        "li needs a constant; '{}' is an address (use la)",
                        ops[1]
                    ));
                }
                let mut seq = Vec::new();
                if v.value == sext12(v.value) {
                    // A 12-bit constant: GNU's `li rd, imm12` is one addi.
                    seq.push(("addi", rd, 0, v.value));
                } else {
                    load_const(&mut seq, rd, v.value);
                }
                for (name, rd, rs1, imm) in seq {
                    self.put(name, rd, rs1, 0, imm)?;
                }
                Ok(())
            }
            "la" | "lla" => {
                want(2)?;
                let rd = reg(&ops[0])?;
                self.pcrel_pair(&ops[1], rd, "addi", rd)
            }
            "call" => match n {
                1 => self.pcrel_pair(&ops[0], RA, "jalr", RA),
                2 => {
                    let rd = reg(&ops[0])?;
                    self.pcrel_pair(&ops[1], rd, "jalr", rd)
                }
                _ => want(1),
            },
            "tail" => {
                want(1)?;
                self.pcrel_pair(&ops[0], T1, "jalr", ZERO)
            }
            "mv" | "not" | "neg" | "negw" | "sext.w" | "seqz" | "snez" | "sltz" | "sgtz" => {
                want(2)?;
                let (rd, rs) = (reg(&ops[0])?, reg(&ops[1])?);
                match m {
                    "mv" => self.put("addi", rd, rs, 0, 0),
                    "not" => self.put("xori", rd, rs, 0, -1),
                    "neg" => self.put("sub", rd, ZERO, rs, 0),
                    "negw" => self.put("subw", rd, ZERO, rs, 0),
                    "sext.w" => self.put("addiw", rd, rs, 0, 0),
                    "seqz" => self.put("sltiu", rd, rs, 0, 1),
                    "snez" => self.put("sltu", rd, ZERO, rs, 0),
                    "sltz" => self.put("slt", rd, rs, ZERO, 0),
                    _ => self.put("slt", rd, ZERO, rs, 0),
                }
            }
            "beqz" | "bnez" | "blez" | "bgez" | "bltz" | "bgtz" => {
                want(2)?;
                let rs = reg(&ops[0])?;
                let off = self.target(&ops[1])?;
                match m {
                    "beqz" => self.put("beq", 0, rs, ZERO, off),
                    "bnez" => self.put("bne", 0, rs, ZERO, off),
                    "blez" => self.put("bge", 0, ZERO, rs, off),
                    "bgez" => self.put("bge", 0, rs, ZERO, off),
                    "bltz" => self.put("blt", 0, rs, ZERO, off),
                    _ => self.put("blt", 0, ZERO, rs, off),
                }
            }
            "bgt" | "ble" | "bgtu" | "bleu" => {
                want(3)?;
                let (a, b) = (reg(&ops[0])?, reg(&ops[1])?);
                let off = self.target(&ops[2])?;
                let real = match m {
                    "bgt" => "blt",
                    "ble" => "bge",
                    "bgtu" => "bltu",
                    _ => "bgeu",
                };
                self.put(real, 0, b, a, off)
            }
            "j" => {
                want(1)?;
                let off = self.target(&ops[0])?;
                self.put("jal", ZERO, 0, 0, off)
            }
            "jr" => {
                want(1)?;
                self.put("jalr", ZERO, reg(&ops[0])?, 0, 0)
            }
            "ret" => {
                want(0)?;
                self.put("jalr", ZERO, RA, 0, 0)
            }
            "jal" if n == 1 => {
                let off = self.target(&ops[0])?;
                self.put("jal", RA, 0, 0, off)
            }
            "jalr" if n == 1 => {
                if ops[0].contains('(') {
                    let (off, rs) = mem_operand(&ops[0])?;
                    let imm = self.imm12(off, RelocKind::Lo12I)?;
                    self.put("jalr", RA, rs, 0, imm)
                } else {
                    self.put("jalr", RA, reg(&ops[0])?, 0, 0)
                }
            }
            "fence" if n == 0 => self.put("fence", 0, 0, 0, 0xff),
            // --- real instructions ---
            _ => self.real(m, ops),
        }
    }

    fn real(&mut self, m: &str, ops: &[String]) -> Result<(), String> {
        let info =
            Op::by_name(m).ok_or_else(|| format!("unknown instruction '{}'", m.escape_debug()))?;
        let n = ops.len();
        let want = |k: usize| -> Result<(), String> {
            if n != k {
                return Err(format!("{m} takes {k} operand(s), found {n}"));
            }
            Ok(())
        };
        let is_load = info.op.access_size().is_some() && info.format == Format::I;
        match info.format {
            Format::R => {
                want(3)?;
                self.put(m, reg(&ops[0])?, reg(&ops[1])?, reg(&ops[2])?, 0)
            }
            Format::I if is_load && n == 2 && !ops[1].trim_end().ends_with(')') => {
                // `lw rd, symbol`: auipc rd, %pcrel_hi(symbol); lw rd, lo(rd).
                let rd = reg(&ops[0])?;
                self.pcrel_pair(&ops[1], rd, m, rd)
            }
            Format::I if is_load || (info.op == Op::Jalr && n == 2) => {
                want(2)?;
                let rd = reg(&ops[0])?;
                let (off, rs1) = mem_operand(&ops[1])?;
                let imm = self.imm12(off, RelocKind::Lo12I)?;
                self.put(m, rd, rs1, 0, imm)
            }
            Format::I | Format::Shift64 | Format::Shift32 => {
                want(3)?;
                let (rd, rs1) = (reg(&ops[0])?, reg(&ops[1])?);
                let imm = if info.format == Format::I {
                    self.imm12(&ops[2], RelocKind::Lo12I)?
                } else {
                    self.constant(&ops[2])?
                };
                self.put(m, rd, rs1, 0, imm)
            }
            Format::S if n == 3 => {
                // `sw rs2, symbol, rt`: auipc rt, %pcrel_hi(symbol); sw rs2, lo(rt).
                let (rs2, rt) = (reg(&ops[0])?, reg(&ops[2])?);
                let off = self.target(&ops[1])?;
                let (hi, lo) = match pcrel_parts(off) {
                    Ok(p) => p,
                    Err(_) if !self.final_pass => (0, 0),
                    Err(e) => return Err(e),
                };
                self.put("auipc", rt, 0, 0, hi)?;
                self.put(m, 0, rt, rs2, lo)
            }
            Format::S => {
                want(2)?;
                let rs2 = reg(&ops[0])?;
                let (off, rs1) = mem_operand(&ops[1])?;
                let imm = self.imm12(off, RelocKind::Lo12S)?;
                self.put(m, 0, rs1, rs2, imm)
            }
            Format::B => {
                want(3)?;
                let (a, b) = (reg(&ops[0])?, reg(&ops[1])?);
                let off = self.target(&ops[2])?;
                self.put(m, 0, a, b, off)
            }
            Format::U => {
                want(2)?;
                let rd = reg(&ops[0])?;
                let imm = self.imm20(&ops[1], info.op == Op::Auipc)?;
                self.put(m, rd, 0, 0, imm)
            }
            Format::J => {
                want(2)?;
                let rd = reg(&ops[0])?;
                let off = self.target(&ops[1])?;
                self.put(m, rd, 0, 0, off)
            }
            Format::Fixed => match info.op {
                Op::Fence => {
                    want(2)?;
                    let set = |t: &str| -> Result<i64, String> {
                        let mut v = 0;
                        for c in t.trim().chars() {
                            v |= match c {
                                'i' => 8,
                                'o' => 4,
                                'r' => 2,
                                'w' => 1,
                                _ => {
                                    return Err(format!(
                                        "bad fence set '{t}' (letters i, o, r, w)"
                                    ));
                                }
                            };
                        }
                        Ok(v)
                    };
                    let imm = (set(&ops[0])? << 4) | set(&ops[1])?;
                    self.put(m, 0, 0, 0, imm)
                }
                _ => {
                    want(0)?;
                    self.put(m, 0, 0, 0, 0)
                }
            },
        }
    }
}
