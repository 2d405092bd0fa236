//! ELF64 for RISC-V: reading static executables into a [`Program`] (with the
//! `object` crate) and writing a [`Program`] out as one.
//!
//! Reading accepts exactly what vmlab can run: a little-endian ELF64 file for
//! `EM_RISCV`, of type `ET_EXEC`, without a dynamic section or interpreter.
//! Every `PT_LOAD` segment becomes a section with its R/W/X flags; `.bss`
//! is the segment's memory size beyond its file size. Relocations kept by
//! `ld --emit-relocs` (`.rela.*` sections) that hold absolute addresses
//! (`R_RISCV_64/32/HI20/LO12_I/LO12_S`) become the program's relocation
//! table, for the kernel's static-relocation loader.
//!
//! Writing produces what `riscv64-unknown-elf-objdump` reads and
//! `qemu-riscv64` runs: one `PT_LOAD` per section (4 KiB aligned in the
//! file), section headers, a symbol table, and the relocation table as
//! `.rela.<section>` sections.

use crate::mmu::Perms;
use crate::program::{Program, RelocKind, Relocation, Section, Symbol};
use object::LittleEndian as LE;
use object::read::elf::{FileHeader, ProgramHeader, Rela, SectionHeader, Sym};

/// The ELF numbers used here (System V ABI and the RISC-V psABI).
#[allow(clippy::module_inception)]
mod elf {
    pub use object::elf::{FileHeader64, SHT_RELA, SHT_SYMTAB};
    pub const EI_CLASS: usize = 4;
    pub const EI_DATA: usize = 5;
    pub const ELFCLASS64: u8 = 2;
    pub const ELFDATA2LSB: u8 = 1;
    pub const EV_CURRENT: u8 = 1;
    pub const ELFOSABI_NONE: u8 = 0;
    pub const ET_EXEC: u16 = 2;
    pub const ET_DYN: u16 = 3;
    pub const EM_386: u16 = 3;
    pub const EM_MIPS: u16 = 8;
    pub const EM_PPC64: u16 = 21;
    pub const EM_ARM: u16 = 40;
    pub const EM_X86_64: u16 = 62;
    pub const EM_AARCH64: u16 = 183;
    pub const EM_RISCV: u16 = 243;
    pub const PT_LOAD: u32 = 1;
    pub const PT_DYNAMIC: u32 = 2;
    pub const PT_INTERP: u32 = 3;
    pub const PF_X: u32 = 1;
    pub const PF_W: u32 = 2;
    pub const PF_R: u32 = 4;
    pub const SHT_PROGBITS: u32 = 1;
    pub const SHT_STRTAB: u32 = 3;
    pub const SHT_NOBITS: u32 = 8;
    pub const SHF_WRITE: u32 = 1;
    pub const SHF_ALLOC: u32 = 2;
    pub const SHF_EXECINSTR: u32 = 4;
    pub const SHF_INFO_LINK: u32 = 0x40;
    pub const SHN_ABS: u16 = 0xfff1;
    pub const STB_LOCAL: u8 = 0;
    pub const STB_GLOBAL: u8 = 1;
    pub const STT_NOTYPE: u8 = 0;
    pub const STT_SECTION: u8 = 3;
    pub const STT_FILE: u8 = 4;
}

/// Why an ELF file cannot be run.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ElfError {
    /// Not an ELF file at all.
    #[error("not an ELF file (no \\x7fELF magic)")]
    NotElf,
    /// ELF32.
    #[error("32-bit ELF: vmlab runs RV64 (ELF64) programs")]
    Not64,
    /// Big-endian.
    #[error("big-endian ELF: RISC-V is little-endian")]
    BigEndian,
    /// Another machine.
    #[error("ELF for machine {0} ({1}), not RISC-V (243)")]
    Machine(u16, &'static str),
    /// Dynamically linked or a shared object / PIE.
    #[error("dynamically linked ELF ({0}): vmlab runs static executables (link with -static)")]
    Dynamic(&'static str),
    /// Not an executable.
    #[error("ELF type {0} is not an executable (ET_EXEC)")]
    NotExecutable(u16),
    /// Headers or data are cut short or inconsistent.
    #[error("malformed ELF: {0}")]
    Malformed(String),
}

fn malformed(e: impl std::fmt::Display) -> ElfError {
    ElfError::Malformed(e.to_string())
}

fn machine_name(m: u16) -> &'static str {
    match m {
        elf::EM_386 => "x86",
        elf::EM_X86_64 => "x86-64",
        elf::EM_ARM => "ARM",
        elf::EM_AARCH64 => "AArch64",
        elf::EM_MIPS => "MIPS",
        elf::EM_PPC64 => "PowerPC64",
        _ => "unknown",
    }
}

/// Reads a static RISC-V ELF64 executable.
///
/// Returns an [`ElfError`] saying what is wrong for anything else: not ELF,
/// 32-bit, big-endian, another machine, dynamic, not an executable,
/// truncated or inconsistent headers.
pub fn load(data: &[u8]) -> Result<Program, ElfError> {
    // 1. Identify the file before trusting any of it.
    if data.len() < 16 || &data[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    if data[elf::EI_CLASS] != elf::ELFCLASS64 {
        return Err(ElfError::Not64);
    }
    if data[elf::EI_DATA] != elf::ELFDATA2LSB {
        return Err(ElfError::BigEndian);
    }
    let header = elf::FileHeader64::<LE>::parse(data).map_err(malformed)?;
    let endian = LE;
    let machine = header.e_machine(endian).0;
    if machine != elf::EM_RISCV {
        return Err(ElfError::Machine(machine, machine_name(machine)));
    }
    let kind = header.e_type(endian).0;
    if kind == elf::ET_DYN {
        return Err(ElfError::Dynamic("ET_DYN: a shared object or PIE"));
    }
    if kind != elf::ET_EXEC {
        return Err(ElfError::NotExecutable(kind));
    }
    // 2. Segments: what gets loaded, where, with which permissions.
    let segments = header.program_headers(endian, data).map_err(malformed)?;
    let section_headers = header.sections(endian, data).map_err(malformed)?;
    let mut program = Program {
        entry: header.e_entry(endian),
        ..Program::default()
    };
    for (i, ph) in segments.iter().enumerate() {
        match ph.p_type(endian).0 {
            elf::PT_INTERP => {
                return Err(ElfError::Dynamic("PT_INTERP: asks for a dynamic loader"));
            }
            elf::PT_DYNAMIC => return Err(ElfError::Dynamic("PT_DYNAMIC")),
            elf::PT_LOAD => {}
            _ => continue,
        }
        let addr = ph.p_vaddr(endian);
        let size = ph.p_memsz(endian);
        let bytes = ph
            .data(endian, data)
            .map_err(|_| malformed(format!("segment {i} lies beyond the end of the file")))?;
        if bytes.len() as u64 > size {
            return Err(malformed(format!(
                "segment {i} has a file size above its memory size"
            )));
        }
        if addr.checked_add(size).is_none() {
            return Err(malformed(format!("segment {i} ends beyond 2^64")));
        }
        let flags = ph.p_flags(endian).0;
        let mut perms = Perms::empty();
        perms.set(Perms::R, flags & elf::PF_R != 0);
        perms.set(Perms::W, flags & elf::PF_W != 0);
        perms.set(Perms::X, flags & elf::PF_X != 0);
        let name = section_headers
            .iter()
            .find(|s| {
                s.sh_flags(endian).0 & u64::from(elf::SHF_ALLOC) != 0 && s.sh_addr(endian) == addr
            })
            .and_then(|s| section_headers.section_name(endian, s).ok())
            .map_or_else(
                || format!("segment{i}"),
                |n| String::from_utf8_lossy(n).into_owned(),
            );
        program.sections.push(Section {
            name,
            addr,
            data: bytes.to_vec(),
            size,
            perms,
        });
    }
    if program.sections.is_empty() {
        return Err(malformed("no PT_LOAD segment: nothing to run"));
    }
    program.sections.sort_by_key(|s| s.addr);
    // 3. Symbols, and the relocations kept by --emit-relocs.
    if let Ok(symbols) = section_headers.symbols(endian, data, elf::SHT_SYMTAB) {
        for sym in symbols.iter() {
            let Ok(name) = symbols.symbol_name(endian, sym) else {
                continue;
            };
            let kind = sym.st_type().0;
            if name.is_empty() || kind == elf::STT_SECTION || kind == elf::STT_FILE {
                continue;
            }
            let value = sym.st_value(endian);
            program.symbols.push(Symbol {
                name: String::from_utf8_lossy(name).into_owned(),
                value,
                global: sym.st_bind().0 == elf::STB_GLOBAL,
                section: program.sections.iter().position(|s| s.contains(value)),
            });
        }
        for section in section_headers.iter() {
            let Some((relas, link)) = section.rela(endian, data).map_err(malformed)? else {
                continue;
            };
            if link != symbols.section() {
                continue;
            }
            for rela in relas {
                let Some(kind) = RelocKind::from_elf_type(rela.r_type(endian, false).0) else {
                    continue;
                };
                let (value, name) = match rela.symbol(endian, false) {
                    Some(index) => {
                        let sym = symbols.symbol(index).map_err(malformed)?;
                        let name = symbols
                            .symbol_name(endian, sym)
                            .ok()
                            .filter(|n| !n.is_empty());
                        (
                            sym.st_value(endian),
                            name.map(|n| String::from_utf8_lossy(n).into_owned()),
                        )
                    }
                    None => (0, None),
                };
                program.relocations.push(Relocation {
                    at: rela.r_offset(endian),
                    kind,
                    target: value.wrapping_add(rela.r_addend(endian) as u64),
                    symbol: name,
                });
            }
        }
    }
    program.relocations.sort_by_key(|r| r.at);
    Ok(program)
}

/// A little-endian byte buffer.
#[derive(Default)]
struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn pad_to(&mut self, offset: usize) {
        self.0.resize(offset.max(self.0.len()), 0);
    }
    fn align(&mut self, a: usize) {
        let n = self.0.len().next_multiple_of(a);
        self.pad_to(n);
    }
}

/// A string table under construction.
struct Strtab(Vec<u8>);

impl Strtab {
    fn new() -> Self {
        Strtab(vec![0])
    }
    fn add(&mut self, s: &str) -> u32 {
        let at = self.0.len() as u32;
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        at
    }
}

struct Shdr {
    name: u32,
    kind: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

/// Writes `p` as a static RISC-V ELF64 executable.
pub fn write(p: &Program) -> Vec<u8> {
    const PAGE: u64 = 4096;
    let mut shstr = Strtab::new();
    let mut strtab = Strtab::new();
    let nsec = p.sections.len();
    // Section header indices: 0 null, 1..=nsec program sections, then one
    // .rela per section with relocations, then .symtab .strtab .shstrtab.
    let section_of = |va: u64| {
        p.sections
            .iter()
            .position(|s| s.contains(va) || s.end() == Some(va))
    };
    let mut relocs_by_section: Vec<Vec<&Relocation>> = vec![Vec::new(); nsec];
    for r in &p.relocations {
        if let Some(i) = p.sections.iter().position(|s| s.contains(r.at)) {
            relocs_by_section[i].push(r);
        }
    }
    let rela_sections: Vec<usize> = (0..nsec)
        .filter(|&i| !relocs_by_section[i].is_empty())
        .collect();
    let symtab_index = 1 + nsec + rela_sections.len();

    // Symbols: null, one per section (local), locals, then globals.
    let mut syms = Out::default();
    let put_sym = |out: &mut Out, name: u32, info: u8, shndx: u16, value: u64| {
        out.u32(name);
        out.u8(info);
        out.u8(0);
        out.u16(shndx);
        out.u64(value);
        out.u64(0);
    };
    put_sym(&mut syms, 0, 0, 0, 0);
    for (i, s) in p.sections.iter().enumerate() {
        put_sym(&mut syms, 0, elf::STT_SECTION, (i + 1) as u16, s.addr);
    }
    let mut sym_index = std::collections::HashMap::new();
    let mut next = 1 + nsec;
    let shndx = |s: &Symbol| match s.section {
        Some(i) => (i + 1) as u16,
        None => elf::SHN_ABS,
    };
    let ordered: Vec<&Symbol> = p
        .symbols
        .iter()
        .filter(|s| !s.global)
        .chain(p.symbols.iter().filter(|s| s.global))
        .collect();
    let first_global = 1 + nsec + p.symbols.iter().filter(|s| !s.global).count();
    #[allow(clippy::explicit_counter_loop)]
    for s in ordered {
        let bind = if s.global {
            elf::STB_GLOBAL
        } else {
            elf::STB_LOCAL
        };
        let kind = elf::STT_NOTYPE;
        let name = strtab.add(&s.name);
        put_sym(&mut syms, name, (bind << 4) | kind, shndx(s), s.value);
        sym_index.insert(s.name.as_str(), next);
        next += 1;
    }

    // Relocation entries: against the named symbol when there is one,
    // else against the section holding the target.
    let rela_bytes: Vec<Vec<u8>> = rela_sections
        .iter()
        .map(|&i| {
            let mut out = Out::default();
            for r in &relocs_by_section[i] {
                let by_name = r.symbol.as_deref().and_then(|n| sym_index.get(n).copied());
                let (index, base) = match (by_name, section_of(r.target)) {
                    (Some(k), _) => {
                        let value = p
                            .symbols
                            .iter()
                            .find(|s| Some(&s.name) == r.symbol.as_ref())
                            .map_or(0, |s| s.value);
                        (k, value)
                    }
                    (None, Some(sec)) => (sec + 1, p.sections[sec].addr),
                    (None, None) => (0, 0),
                };
                out.u64(r.at);
                out.u64(((index as u64) << 32) | u64::from(r.kind.elf_type()));
                out.u64(r.target.wrapping_sub(base));
            }
            out.0
        })
        .collect();

    // Segments: each section its own PT_LOAD; .bss right after .data joins it.
    struct Seg {
        first: usize,
        addr: u64,
        filesz: u64,
        memsz: u64,
        perms: Perms,
    }
    let mut segs: Vec<Seg> = Vec::new();
    for (i, s) in p.sections.iter().enumerate() {
        if let Some(last) = segs.last_mut() {
            let prev = &p.sections[i - 1];
            if s.data.is_empty()
                && prev.perms == s.perms
                && last.filesz == last.memsz
                && s.addr >= last.addr + last.memsz
            {
                last.memsz = s.end().unwrap_or(u64::MAX) - last.addr;
                continue;
            }
        }
        segs.push(Seg {
            first: i,
            addr: s.addr,
            filesz: s.data.len() as u64,
            memsz: s.size,
            perms: s.perms,
        });
    }

    // Layout of the file.
    let ehsize = 64;
    let phoff = ehsize;
    let mut out = Out::default();
    out.pad_to(phoff + 56 * segs.len());
    let mut data_offsets = vec![0u64; nsec];
    for (i, s) in p.sections.iter().enumerate() {
        let cur = out.0.len() as u64;
        let mut off = cur.next_multiple_of(PAGE) - PAGE + s.addr % PAGE;
        if off < cur {
            off += PAGE;
        }
        out.pad_to(off as usize);
        data_offsets[i] = off;
        out.0.extend_from_slice(&s.data);
    }
    let mut shdrs = vec![Shdr {
        name: 0,
        kind: 0,
        flags: 0,
        addr: 0,
        offset: 0,
        size: 0,
        link: 0,
        info: 0,
        align: 0,
        entsize: 0,
    }];
    for (i, s) in p.sections.iter().enumerate() {
        let mut flags = u64::from(elf::SHF_ALLOC);
        if s.perms.contains(Perms::W) {
            flags |= u64::from(elf::SHF_WRITE);
        }
        if s.perms.contains(Perms::X) {
            flags |= u64::from(elf::SHF_EXECINSTR);
        }
        let nobits = s.data.is_empty() && s.size > 0;
        shdrs.push(Shdr {
            name: shstr.add(&s.name),
            kind: if nobits {
                elf::SHT_NOBITS
            } else {
                elf::SHT_PROGBITS
            },
            flags,
            addr: s.addr,
            offset: data_offsets[i],
            size: s.size,
            link: 0,
            info: 0,
            align: if s.perms.contains(Perms::X) { 4 } else { 16 },
            entsize: 0,
        });
    }
    for (k, &i) in rela_sections.iter().enumerate() {
        out.align(8);
        let offset = out.0.len() as u64;
        out.0.extend_from_slice(&rela_bytes[k]);
        shdrs.push(Shdr {
            name: shstr.add(&format!(".rela{}", p.sections[i].name)),
            kind: elf::SHT_RELA.0,
            flags: u64::from(elf::SHF_INFO_LINK),
            addr: 0,
            offset,
            size: rela_bytes[k].len() as u64,
            link: symtab_index as u32,
            info: (i + 1) as u32,
            align: 8,
            entsize: 24,
        });
    }
    out.align(8);
    let sym_off = out.0.len() as u64;
    out.0.extend_from_slice(&syms.0);
    shdrs.push(Shdr {
        name: shstr.add(".symtab"),
        kind: elf::SHT_SYMTAB.0,
        flags: 0,
        addr: 0,
        offset: sym_off,
        size: syms.0.len() as u64,
        link: (symtab_index + 1) as u32,
        info: first_global as u32,
        align: 8,
        entsize: 24,
    });
    let str_off = out.0.len() as u64;
    out.0.extend_from_slice(&strtab.0);
    shdrs.push(Shdr {
        name: shstr.add(".strtab"),
        kind: elf::SHT_STRTAB,
        flags: 0,
        addr: 0,
        offset: str_off,
        size: strtab.0.len() as u64,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    });
    let shstr_name = shstr.add(".shstrtab");
    let shstr_off = out.0.len() as u64;
    out.0.extend_from_slice(&shstr.0);
    shdrs.push(Shdr {
        name: shstr_name,
        kind: elf::SHT_STRTAB,
        flags: 0,
        addr: 0,
        offset: shstr_off,
        size: shstr.0.len() as u64,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    });
    out.align(8);
    let shoff = out.0.len() as u64;
    for s in &shdrs {
        out.u32(s.name);
        out.u32(s.kind);
        out.u64(s.flags);
        out.u64(s.addr);
        out.u64(s.offset);
        out.u64(s.size);
        out.u32(s.link);
        out.u32(s.info);
        out.u64(s.align);
        out.u64(s.entsize);
    }

    // Headers, now that every offset is known.
    let mut h = Out::default();
    h.0.extend_from_slice(&[
        0x7f,
        b'E',
        b'L',
        b'F',
        elf::ELFCLASS64,
        elf::ELFDATA2LSB,
        elf::EV_CURRENT,
        elf::ELFOSABI_NONE,
    ]);
    h.pad_to(16);
    h.u16(elf::ET_EXEC);
    h.u16(elf::EM_RISCV);
    h.u32(u32::from(elf::EV_CURRENT));
    h.u64(p.entry);
    h.u64(phoff as u64);
    h.u64(shoff);
    h.u32(0); // e_flags: soft-float ABI, no compressed instructions
    h.u16(ehsize as u16);
    h.u16(56);
    h.u16(segs.len() as u16);
    h.u16(64);
    h.u16(shdrs.len() as u16);
    h.u16((shdrs.len() - 1) as u16);
    for seg in &segs {
        let mut flags = 0;
        if seg.perms.contains(Perms::R) {
            flags |= elf::PF_R;
        }
        if seg.perms.contains(Perms::W) {
            flags |= elf::PF_W;
        }
        if seg.perms.contains(Perms::X) {
            flags |= elf::PF_X;
        }
        h.u32(elf::PT_LOAD);
        h.u32(flags);
        h.u64(data_offsets[seg.first]);
        h.u64(seg.addr);
        h.u64(seg.addr);
        h.u64(seg.filesz);
        h.u64(seg.memsz);
        h.u64(PAGE);
    }
    out.0[..h.0.len()].copy_from_slice(&h.0);
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::{Options, assemble};

    fn sample() -> Program {
        let src = ".globl _start\n_start: lui a0, %hi(msg)\n addi a0, a0, %lo(msg)\n j _start\n.data\nmsg: .asciz \"hi\"\nptr: .dword msg\n.bss\nbuf: .space 32\n";
        assemble(src, "t.s", &Options::default()).unwrap()
    }

    #[test]
    fn written_elf_reads_back_the_same_program() {
        let p = sample();
        let back = load(&write(&p)).unwrap();
        assert_eq!(back.entry, p.entry);
        assert_eq!(back.relocations, p.relocations);
        let text = &back.sections[0];
        assert_eq!(
            (text.name.as_str(), text.addr, &text.data),
            (".text", p.sections[0].addr, &p.sections[0].data)
        );
        assert_eq!(back.sections[1].data, p.sections[1].data);
        let bss_end = p.sections[2].end().unwrap();
        assert_eq!(
            back.sections[1].end(),
            Some(bss_end),
            ".bss joins .data's segment"
        );
        assert!(back.symbol("_start").unwrap().global);
    }

    #[test]
    fn bad_files_are_named() {
        let good = write(&sample());
        assert_eq!(load(b"hello"), Err(ElfError::NotElf));
        let mut e32 = good.clone();
        e32[4] = 1;
        assert_eq!(load(&e32), Err(ElfError::Not64));
        let mut x86 = good.clone();
        x86[18] = 62;
        x86[19] = 0;
        assert_eq!(load(&x86), Err(ElfError::Machine(62, "x86-64")));
        let mut dynamic = good.clone();
        dynamic[16] = 3;
        assert!(matches!(load(&dynamic), Err(ElfError::Dynamic(_))));
        for cut in [20, 64, 100, 0x1000, 0x1004] {
            assert!(load(&good[..cut]).is_err(), "cut at {cut}");
        }
    }
}
