//! The assembler: GNU-as-compatible RISC-V RV64IM assembly in, a
//! [`Program`] image out (sections with addresses, symbols, entry point and
//! the table of places holding absolute addresses).
//!
//! Two passes over the statements:
//!
//! ```text
//!   pass 1  lay out: every statement's size, so every label gets an offset
//!           in its section (only `li` needs its value now: its expansion's
//!           length depends on it)
//!   place   sections get addresses: .text at the text base, .rodata and
//!           .data each on the next 4 KiB page, .bss right after .data
//!   pass 2  encode with every address known; record a relocation for each
//!           absolute address written (`.dword label`, `%hi`/`%lo`)
//! ```
//!
//! The encodings are GNU as's for `-march=rv64im -mno-relax` (the
//! differential test in `tests/it/asm_gnu.rs` checks a corpus byte for
//! byte). Errors name `file:line` and what is wrong.

mod expr;
mod instr;
mod syntax;

use crate::mmu::Perms;
use crate::program::{Program, RelocKind, Relocation, Section, Symbol};
use expr::{Env, Value};
use std::collections::{HashMap, HashSet};

/// Where `.text` starts unless told otherwise: page 16 (64 KiB), where GNU
/// ld puts RISC-V programs too, so `qemu-riscv64` runs what we write.
pub const DEFAULT_TEXT_BASE: u64 = 0x10000;

/// The largest section the assembler builds (64 MiB).
pub const MAX_SECTION: usize = 64 << 20;

/// How to lay out the program.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Options {
    /// The address of the first byte of `.text`.
    pub text_base: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            text_base: DEFAULT_TEXT_BASE,
        }
    }
}

/// An assembly error: where and what.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct AsmError {
    /// The source file name as given.
    pub file: String,
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The four kinds of section, in layout order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Text = 0,
    Rodata = 1,
    Data = 2,
    Bss = 3,
}

const KINDS: [Kind; 4] = [Kind::Text, Kind::Rodata, Kind::Data, Kind::Bss];

impl Kind {
    fn name(self) -> &'static str {
        [".text", ".rodata", ".data", ".bss"][self as usize]
    }

    fn perms(self) -> Perms {
        match self {
            Kind::Text => Perms::R | Perms::X,
            Kind::Rodata => Perms::R,
            Kind::Data | Kind::Bss => Perms::R | Perms::W,
        }
    }

    fn from_section_name(name: &str) -> Option<Kind> {
        let is = |prefix: &str| name == prefix || name.starts_with(&format!("{prefix}."));
        if is(".text") {
            Some(Kind::Text)
        } else if is(".rodata") || is(".srodata") {
            Some(Kind::Rodata)
        } else if is(".data") || is(".sdata") {
            Some(Kind::Data)
        } else if is(".bss") || is(".sbss") {
            Some(Kind::Bss)
        } else {
            None
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sym {
    Const(i64),
    Label(Kind, u64),
}

struct Stmt {
    line: usize,
    st: syntax::Statement,
}

/// The assembler's state across both passes.
struct Asm {
    stmts: Vec<Stmt>,
    symbols: HashMap<String, Sym>,
    globals: HashSet<String>,
    /// Numeric labels: number -> (statement index, section, offset).
    numeric: HashMap<u64, Vec<(usize, Kind, u64)>>,
    bases: [u64; 4],
    max_align: [u64; 4],
    /// Is this the encoding pass (every symbol must be known)?
    final_pass: bool,
    cur_stmt: usize,
    kind: Kind,
    out: [Vec<u8>; 4],
    relocs: Vec<Relocation>,
    /// `auipc` address -> the pc-relative offset its `%pcrel_hi` encoded.
    pcrel_hi: HashMap<u64, i64>,
}

/// Assembles `source` (named `file` in errors).
///
/// Returns the program image, or the first error with its file:line.
pub fn assemble(source: &str, file: &str, options: &Options) -> Result<Program, AsmError> {
    assemble_with_data_at(source, file, options, None)
}

/// Like [`assemble`], but `.data` (or, without data, `.bss`) starts at
/// `data_base` when given: a segmented layout, code in one segment and data
/// in the next.
///
/// Returns an error if the code and read-only data reach past `data_base`.
pub fn assemble_with_data_at(
    source: &str,
    file: &str,
    options: &Options,
    data_base: Option<u64>,
) -> Result<Program, AsmError> {
    let mut stmts = Vec::new();
    for (i, line) in source.lines().enumerate() {
        for part in syntax::split_line(line) {
            let st = syntax::parse_statement(part).map_err(|message| AsmError {
                file: file.into(),
                line: i + 1,
                message,
            })?;
            if !st.labels.is_empty() || !st.mnemonic.is_empty() {
                stmts.push(Stmt { line: i + 1, st });
            }
        }
    }
    let mut a = Asm {
        stmts,
        symbols: HashMap::new(),
        globals: HashSet::new(),
        numeric: HashMap::new(),
        bases: [0; 4],
        max_align: [4, 1, 1, 1],
        final_pass: false,
        cur_stmt: 0,
        kind: Kind::Text,
        out: Default::default(),
        relocs: Vec::new(),
        pcrel_hi: HashMap::new(),
    };
    let err = |a: &Asm, message: String| AsmError {
        file: file.into(),
        line: a.stmts.get(a.cur_stmt).map_or(0, |s| s.line),
        message,
    };
    // Pass 1: lay out.
    a.pass().map_err(|m| err(&a, m))?;
    a.place(options.text_base, data_base)
        .map_err(|m| err(&a, m))?;
    // Pass 2: encode.
    a.final_pass = true;
    a.pass().map_err(|m| err(&a, m))?;
    Ok(a.program())
}

impl Asm {
    fn pc(&self) -> u64 {
        self.bases[self.kind as usize].wrapping_add(self.out[self.kind as usize].len() as u64)
    }

    fn offset(&self) -> u64 {
        self.out[self.kind as usize].len() as u64
    }

    fn pass(&mut self) -> Result<(), String> {
        self.out = Default::default();
        self.kind = Kind::Text;
        self.relocs.clear();
        self.pcrel_hi.clear();
        for i in 0..self.stmts.len() {
            self.cur_stmt = i;
            let labels = self.stmts[i].st.labels.clone();
            for label in labels {
                self.define_label(&label)?;
            }
            let mnemonic = self.stmts[i].st.mnemonic.clone();
            if mnemonic.is_empty() {
                continue;
            }
            let ops = self.stmts[i].st.operands.clone();
            if mnemonic.starts_with('.') {
                self.directive(&mnemonic, &ops)?;
            } else {
                if self.kind == Kind::Bss {
                    return Err(format!(
                        "instruction '{mnemonic}' in .bss (which holds only zeros)"
                    ));
                }
                if self.offset() % 4 != 0 {
                    return Err(format!(
                        "instruction '{mnemonic}' at a misaligned address (use .align 2)"
                    ));
                }
                self.instruction(&mnemonic, &ops)?;
            }
        }
        // Like GNU as, each section's size is a multiple of its alignment
        // (code padded with nops).
        for kind in KINDS {
            self.kind = kind;
            let align = self.max_align[kind as usize];
            if !self.out[kind as usize].is_empty() {
                self.align_to(align, None)?;
            }
        }
        Ok(())
    }

    fn define_label(&mut self, label: &str) -> Result<(), String> {
        let (kind, off) = (self.kind, self.offset());
        if label.bytes().all(|b| b.is_ascii_digit()) {
            let n: u64 = label
                .parse()
                .map_err(|_| format!("bad numeric label '{label}'"))?;
            if !self.final_pass {
                self.numeric
                    .entry(n)
                    .or_default()
                    .push((self.cur_stmt, kind, off));
            }
            return Ok(());
        }
        if self.final_pass {
            return Ok(());
        }
        if self
            .symbols
            .insert(label.to_string(), Sym::Label(kind, off))
            .is_some()
        {
            return Err(format!("symbol '{label}' is already defined"));
        }
        Ok(())
    }

    /// Gives sections their addresses (between the passes).
    fn place(&mut self, text_base: u64, data_base: Option<u64>) -> Result<(), String> {
        const PAGE: u64 = 4096;
        if text_base % 4 != 0 {
            return Err(format!(
                "the text base {text_base:#x} is not a multiple of 4 (instructions are 4-byte aligned)"
            ));
        }
        let align = |v: u64, a: u64| v.checked_next_multiple_of(a);
        let mut end = text_base;
        let data_empty = self.out[Kind::Data as usize].is_empty();
        for kind in KINDS {
            let size = self.out[kind as usize].len() as u64;
            let fixed = match (kind, data_base) {
                (Kind::Data, Some(d)) => Some(d),
                (Kind::Bss, Some(d)) if data_empty => Some(d),
                _ => None,
            };
            if let Some(d) = fixed {
                if d < end || d % self.max_align[kind as usize] != 0 {
                    return Err(format!(
                        "the data cannot start at {d:#x}: code and read-only data end at {end:#x}"
                    ));
                }
            }
            let base = match kind {
                _ if fixed.is_some() => fixed,
                Kind::Text => Some(text_base),
                Kind::Bss if !self.out[Kind::Data as usize].is_empty() => {
                    align(end, self.max_align[3].max(16))
                }
                _ => align(end, PAGE.max(self.max_align[kind as usize])),
            }
            .ok_or("program does not fit below 2^64")?;
            self.bases[kind as usize] = base;
            if size > 0 || kind == Kind::Text {
                end = base
                    .checked_add(size)
                    .ok_or("program does not fit below 2^64")?;
            }
        }
        Ok(())
    }

    fn program(&self) -> Program {
        let mut sections = Vec::new();
        let mut index = [None; 4];
        for kind in KINDS {
            let bytes = &self.out[kind as usize];
            if bytes.is_empty() && kind != Kind::Text {
                continue;
            }
            index[kind as usize] = Some(sections.len());
            sections.push(Section {
                name: kind.name().to_string(),
                addr: self.bases[kind as usize],
                data: if kind == Kind::Bss {
                    Vec::new()
                } else {
                    bytes.clone()
                },
                size: bytes.len() as u64,
                perms: kind.perms(),
            });
        }
        let mut symbols: Vec<Symbol> = self
            .symbols
            .iter()
            .map(|(name, s)| match *s {
                Sym::Const(v) => Symbol {
                    name: name.clone(),
                    value: v as u64,
                    global: self.globals.contains(name),
                    section: None,
                },
                Sym::Label(k, off) => Symbol {
                    name: name.clone(),
                    value: self.bases[k as usize] + off,
                    global: self.globals.contains(name),
                    section: index[k as usize],
                },
            })
            .collect();
        symbols.sort_by(|a, b| (a.value, &a.name).cmp(&(b.value, &b.name)));
        let entry = match self.symbols.get("_start") {
            Some(Sym::Label(k, off)) => self.bases[*k as usize] + off,
            _ => self.bases[0],
        };
        Program {
            sections,
            entry,
            symbols,
            relocations: self.relocs.clone(),
        }
    }

    fn eval(&self, text: &str) -> Result<Value, String> {
        expr::eval(text, self)
    }

    /// Evaluates a constant (no addresses), e.g. a `.space` size.
    fn constant(&self, text: &str) -> Result<i64, String> {
        let v = self.eval(text)?;
        if v.labels != 0 {
            return Err(format!("'{text}' must be a constant, not an address"));
        }
        Ok(v.value)
    }

    fn emit(&mut self, bytes: &[u8]) -> Result<(), String> {
        if self.kind == Kind::Bss && bytes.iter().any(|&b| b != 0) {
            return Err(".bss holds only zeros (use .data for initialized data)".into());
        }
        if self.out[self.kind as usize].len() + bytes.len() > MAX_SECTION {
            return Err(format!(
                "{} grows beyond {} MiB, the most vmlab assembles",
                self.kind.name(),
                MAX_SECTION >> 20
            ));
        }
        self.out[self.kind as usize].extend_from_slice(bytes);
        Ok(())
    }

    /// Records that the place at the current pc holds the address `v`.
    fn reloc(&mut self, kind: RelocKind, v: &Value) {
        if self.final_pass && v.is_address() {
            self.relocs.push(Relocation {
                at: self.pc(),
                kind,
                target: v.value as u64,
                symbol: v.symbol.clone(),
            });
        }
    }

    fn align_to(&mut self, align: u64, fill: Option<u8>) -> Result<(), String> {
        if align == 0 || !align.is_power_of_two() || align > 1 << 16 {
            return Err(format!(
                "alignment {align} is not a power of two up to 65536"
            ));
        }
        let k = self.kind as usize;
        self.max_align[k] = self.max_align[k].max(align);
        let pad = self.offset().next_multiple_of(align) - self.offset();
        if self.kind == Kind::Text && fill.is_none() && align >= 4 && self.offset() % 4 == 0 {
            // Code is padded with nops, as GNU as does.
            for _ in 0..pad / 4 {
                self.emit(&0x0000_0013u32.to_le_bytes())?;
            }
        } else {
            self.emit(&vec![fill.unwrap_or(0); pad as usize])?;
        }
        Ok(())
    }

    fn data(&mut self, ops: &[String], width: usize) -> Result<(), String> {
        if ops.is_empty() {
            return Err("expected at least one value".into());
        }
        for op in ops {
            let v = self.eval(op)?;
            if v.labels != 0 {
                let kind = match width {
                    8 => RelocKind::Abs64,
                    4 => RelocKind::Abs32,
                    _ => {
                        return Err(format!(
                            "an address does not fit in {width} byte(s): '{op}'"
                        ));
                    }
                };
                if !v.is_address() {
                    return Err(format!("'{op}' is not a single address"));
                }
                self.reloc(kind, &v);
                if width == 4 && self.final_pass && u32::try_from(v.value).is_err() {
                    return Err(format!("address {:#x} does not fit in 4 bytes", v.value));
                }
            } else if width < 8 {
                let bits = width * 8;
                let (min, max) = (-(1i64 << (bits - 1)), (1i64 << bits) - 1);
                if v.value < min || v.value > max {
                    return Err(format!("value {} does not fit in {width} byte(s)", v.value));
                }
            }
            self.emit(&v.value.to_le_bytes()[..width])?;
        }
        Ok(())
    }

    fn directive(&mut self, name: &str, ops: &[String]) -> Result<(), String> {
        let want = |n: usize| -> Result<(), String> {
            if ops.len() != n {
                return Err(format!("{name} takes {n} operand(s), found {}", ops.len()));
            }
            Ok(())
        };
        match name {
            ".text" | ".data" | ".bss" | ".rodata" => {
                self.kind = Kind::from_section_name(name).expect("known section");
            }
            ".section" => {
                let sect = ops.first().ok_or(".section needs a name")?;
                self.kind = Kind::from_section_name(sect).ok_or_else(|| {
                    format!("unknown section '{sect}' (use .text, .rodata, .data or .bss and their .name suffixes)")
                })?;
            }
            ".globl" | ".global" => {
                for op in ops {
                    self.globals.insert(op.clone());
                }
            }
            ".align" | ".p2align" => {
                let n = self.constant(ops.first().ok_or("alignment missing")?)?;
                if !(0..=16).contains(&n) {
                    return Err(format!("alignment 2^{n} out of range (0..=16)"));
                }
                let fill = match ops.get(1) {
                    Some(f) => Some(self.constant(f)? as u8),
                    None => None,
                };
                self.align_to(1 << n, fill)?;
            }
            ".balign" => {
                let n = self.constant(ops.first().ok_or("alignment missing")?)?;
                let fill = match ops.get(1) {
                    Some(f) => Some(self.constant(f)? as u8),
                    None => None,
                };
                self.align_to(n as u64, fill)?;
            }
            ".byte" => self.data(ops, 1)?,
            ".half" | ".short" | ".2byte" => self.data(ops, 2)?,
            ".word" | ".long" | ".4byte" | ".int" => self.data(ops, 4)?,
            ".dword" | ".quad" | ".8byte" => self.data(ops, 8)?,
            ".ascii" | ".asciz" | ".string" => {
                if ops.is_empty() {
                    return Err(format!("{name} needs a string"));
                }
                for op in ops {
                    let mut bytes = syntax::parse_string(op)?;
                    if name != ".ascii" {
                        bytes.push(0);
                    }
                    self.emit(&bytes)?;
                }
            }
            ".space" | ".zero" | ".skip" => {
                let n = self.constant(ops.first().ok_or(format!("{name} needs a size"))?)?;
                if !(0..=MAX_SECTION as i64).contains(&n) {
                    return Err(format!("{name} size {n} out of range (0..={MAX_SECTION})"));
                }
                let fill = match ops.get(1) {
                    Some(f) => self.constant(f)? as u8,
                    None => 0,
                };
                self.emit(&vec![fill; n as usize])?;
            }
            ".equ" | ".set" => {
                want(2)?;
                let sym = ops[0].clone();
                if !sym.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '.') {
                    return Err(format!("bad symbol name '{sym}'"));
                }
                let v = self.eval(&ops[1]);
                let v = match v {
                    Ok(v) => v,
                    Err(e) if self.final_pass => return Err(e),
                    Err(_) => Value::constant(0),
                };
                let value = if v.labels != 0 {
                    return Err(format!(
                        ".equ {sym}: addresses are not supported, only constants"
                    ));
                } else {
                    Sym::Const(v.value)
                };
                if let Some(Sym::Label(..)) = self.symbols.get(&sym) {
                    return Err(format!("symbol '{sym}' is already a label"));
                }
                self.symbols.insert(sym, value);
            }
            // Bookkeeping that compilers emit; nothing to lay out.
            ".option" | ".attribute" | ".file" | ".ident" | ".type" | ".size" | ".local"
            | ".weak" | ".hidden" | ".cfi_startproc" | ".cfi_endproc" => {}
            _ => return Err(format!("unknown directive '{name}'")),
        }
        Ok(())
    }
}

impl Env for Asm {
    fn symbol(&self, name: &str) -> Result<Value, String> {
        match self.symbols.get(name) {
            Some(Sym::Const(v)) => Ok(Value::constant(*v)),
            Some(Sym::Label(k, off)) => Ok(Value::address(
                (self.bases[*k as usize] + off) as i64,
                Some(name.to_string()),
            )),
            None if self.final_pass => Err(format!("undefined symbol '{name}'")),
            // Pass 1: a label defined further down; its value comes later.
            None => Ok(Value::address(0, Some(name.to_string()))),
        }
    }

    fn numeric(&self, n: u64, forward: bool) -> Result<Value, String> {
        let defs = self.numeric.get(&n).map(Vec::as_slice).unwrap_or(&[]);
        let found = if forward {
            defs.iter().find(|d| d.0 > self.cur_stmt)
        } else {
            defs.iter().rev().find(|d| d.0 <= self.cur_stmt)
        };
        match found {
            Some(&(_, k, off)) => Ok(Value::address((self.bases[k as usize] + off) as i64, None)),
            None if !self.final_pass && forward => Ok(Value::address(0, None)),
            None => Err(format!(
                "no numeric label {n} {}",
                if forward {
                    "after this line"
                } else {
                    "before this line"
                }
            )),
        }
    }

    fn dot(&self) -> Value {
        Value::address(self.pc() as i64, None)
    }
}

#[cfg(test)]
mod tests;
