//! Executing one decoded instruction: its effect on registers, pc and
//! memory, with every memory access translated by the MMU.
//!
//! Faults are precise: a load or store translates (and checks alignment)
//! before anything changes, and a jump to a misaligned target traps at the
//! jump, so a trapped instruction has no effect at all.
//!
//! Choices where RISC-V leaves room: a misaligned load or store (address not
//! a multiple of its size) faults with `misaligned` rather than being split;
//! a load or store is checked by the MMU at every byte it touches
//! ([`crate::mmu::Mmu::translate_span`]), so an 8-byte load straddling the
//! bounds faults; `fence` does nothing (one
//! in-order hart, coherent decode cache).

use super::decode::{Inst, Op};
use super::registers::ABI_NAMES;
use super::soft_tlb::SoftTlb;
use super::{Cpu, Observer, Trap};
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::{Fault, FaultKind};
use crate::memory::{FRAME_SIZE, PhysicalMemory};
use crate::mmu::{Access, Mmu};

/// Translates a data access of `size` bytes at `va`: alignment, then the
/// MMU's one span check ([`Mmu::translate_span`]) over every byte.
#[inline(always)]
fn translate_data<M: Mmu>(
    mmu: &M,
    mem: &PhysicalMemory,
    va: u64,
    size: u64,
    access: Access,
) -> Result<PhysAddr, Fault> {
    if va & (size - 1) != 0 {
        return Err(Fault::new(VirtAddr::new(va), access, FaultKind::Misaligned));
    }
    mmu.translate_span(mem, VirtAddr::new(va), size, access)
}

/// Translates an access through the software TLB when `FAST` (the MMU
/// promised [`Mmu::translation_is_stable`]): a hit is the walk's answer
/// remembered; a miss walks — a fetch translates its first byte
/// ([`Mmu::translate`]), a load or store every byte ([`translate_data`]) —
/// and, on success, fills the TLB. Faults always come from the walk.
#[inline(always)]
fn translate_via<const FAST: bool, M: Mmu>(
    tlb: &mut SoftTlb,
    mmu: &M,
    mem: &PhysicalMemory,
    va: u64,
    size: u64,
    access: Access,
) -> Result<PhysAddr, Fault> {
    if access != Access::Fetch && va & (size - 1) != 0 {
        return Err(Fault::new(VirtAddr::new(va), access, FaultKind::Misaligned));
    }
    if FAST {
        if let Some(pa) = tlb.lookup(va, size, access) {
            return Ok(PhysAddr::new(pa));
        }
    }
    let pa = if access == Access::Fetch {
        mmu.translate(mem, VirtAddr::new(va), access)?
    } else {
        translate_data(mmu, mem, va, size, access)?
    };
    if FAST {
        tlb.fill(mmu, mem, va, pa.as_u64(), access);
    }
    Ok(pa)
}

/// The trap of a load, store or jump of the instruction at `pc` (fetched
/// from `fetch_pa`): it names the instruction's word, read again here, out
/// of the way of the run loop.
#[cold]
#[inline(never)]
fn data_trap(mem: &PhysicalMemory, pc: u64, fetch_pa: PhysAddr, fault: Fault) -> Trap {
    Trap::Fault {
        pc,
        word: mem.read_le(fetch_pa, 4).ok().map(|w| w as u32),
        fault,
    }
}

fn outside(va: u64, access: Access) -> Fault {
    Fault::new(VirtAddr::new(va), access, FaultKind::OutsidePhysicalMemory)
}

#[inline(always)]
fn sext32(v: u64) -> u64 {
    v as i32 as i64 as u64
}

impl Cpu {
    /// The trap of a fetch from a pc that is not a multiple of 4 (set so by
    /// whoever started the run: no instruction of the CPU jumps there).
    pub(super) fn misaligned_pc(&self) -> Option<Trap> {
        let pc = self.pc;
        (pc & 3 != 0).then(|| Trap::Fault {
            pc,
            word: None,
            fault: Fault::new(VirtAddr::new(pc), Access::Fetch, FaultKind::Misaligned),
        })
    }

    /// The fetch at `pc` the long way: translate (through `tlb` with
    /// `FAST`), tell the observer, decode or find the decoded instruction;
    /// with `STABLE`, open the decode cache's fetch window on the bytes
    /// around `pc` that the MMU maps as one piece ([`Cpu::open_window`]).
    #[inline(always)]
    fn fetch<const FAST: bool, const STABLE: bool, const TICKETS: bool, M: Mmu, O: Observer>(
        &mut self,
        pc: u64,
        mmu: &M,
        mem: &PhysicalMemory,
        obs: &mut O,
        tlb: &mut SoftTlb,
    ) -> Result<(PhysAddr, u64), Trap> {
        let fetch_pa =
            translate_via::<FAST, M>(tlb, mmu, mem, pc, 1, Access::Fetch).map_err(|fault| {
                Trap::Fault {
                    pc,
                    word: None,
                    fault,
                }
            })?;
        obs.fetch(VirtAddr::new(pc), fetch_pa);
        let inst = self.cache.fetch(mem, fetch_pa).map_err(|_| Trap::Fault {
            pc,
            word: None,
            fault: outside(pc, Access::Fetch),
        })?;
        if STABLE {
            self.open_window(mmu, mem, pc, fetch_pa.as_u64());
        } else if TICKETS {
            self.open_ticket_window(mmu, pc, fetch_pa.as_u64());
        }
        Ok((fetch_pa, inst))
    }

    /// [`Cpu::fetch`] with a fetch window, out of line: what a run with a
    /// stable MMU, or one with fetch tickets, does when the window misses.
    #[inline(never)]
    fn fetch_apart<
        const FAST: bool,
        const STABLE: bool,
        const TICKETS: bool,
        M: Mmu,
        O: Observer,
    >(
        &mut self,
        pc: u64,
        mmu: &M,
        mem: &PhysicalMemory,
        obs: &mut O,
        tlb: &mut SoftTlb,
    ) -> Result<(PhysAddr, u64), Trap> {
        self.fetch::<FAST, STABLE, TICKETS, M, O>(pc, mmu, mem, obs, tlb)
    }

    /// Opens the fetch window of a simulated TLB's memo of fetches: the
    /// frame `pc` fetches from (at `pa`), when the MMU's ticket
    /// ([`Mmu::ticket`]) covers all of it and allows fetches. Each later
    /// fetch in it asks whether the ticket holds and counts its hit
    /// ([`Mmu::ticket_hit`]), so the TLB's counts and replacement
    /// state are what its own lookups would have made them.
    fn open_ticket_window<M: Mmu>(&mut self, mmu: &M, pc: u64, pa: u64) {
        let Some(t) = mmu.ticket(VirtAddr::new(pc), Access::Fetch) else {
            return;
        };
        if !mmu.ticket_allows(&t, Access::Fetch) {
            return;
        }
        let in_frame = pa % FRAME_SIZE;
        let Some(va) = pc.checked_sub(in_frame) else {
            return;
        };
        let frame = pa - in_frame;
        let inside = va >= t.va
            && (va - t.va)
                .checked_add(FRAME_SIZE)
                .is_some_and(|end| end <= t.len)
            && t.pa.checked_add(va - t.va) == Some(frame);
        if inside {
            self.cache.open_ticket_window(va, frame, FRAME_SIZE, t);
        }
    }

    /// Opens the fetch window around `pc` (which fetches from `pa`): the
    /// widest run of whole instructions in `pa`'s frame, `pc`'s among them,
    /// that the MMU maps as one piece ([`Mmu::one_piece`]) and translates,
    /// byte for byte, to the matching physical bytes for a fetch (checked
    /// with [`Mmu::translate_span`]). Found by bisection on each side of
    /// `pc`: inside one piece the valid offsets form an interval, so each
    /// side's test is monotone. No window when `pc`'s own instruction does
    /// not qualify: then every fetch walks.
    fn open_window<M: Mmu>(&mut self, mmu: &M, mem: &PhysicalMemory, pc: u64, pa: u64) {
        let in_frame = pa % FRAME_SIZE;
        // Whether the `len` bytes at `va` (at or below `pc`, within the
        // frame) all fetch from their place next to `pa`.
        let fits = |va: u64, len: u64| {
            let (Some(last), Some(start)) = (va.checked_add(len - 1), pa.checked_sub(pc - va))
            else {
                return false;
            };
            mmu.one_piece(VirtAddr::new(va), VirtAddr::new(last))
                && mmu.translate_span(mem, VirtAddr::new(va), len, Access::Fetch)
                    == Ok(PhysAddr::new(start))
        };
        // The largest multiple of 4 in [4, max] (in [0, max] for `from`
        // 0) for which `test` holds, `test(from)` known to hold.
        let widest = |from: u64, max: u64, test: &dyn Fn(u64) -> bool| {
            let (mut lo, mut hi) = (from / 4, max / 4);
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if test(4 * mid) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            4 * lo
        };
        if in_frame % 4 != 0 || !fits(pc, 4) {
            return;
        }
        let ahead = widest(4, FRAME_SIZE - in_frame, &|f| fits(pc, f));
        let behind = widest(0, in_frame, &|b| {
            pc.checked_sub(b).is_some_and(|va| fits(va, b + 4))
        });
        let (va, len) = if behind > 0 && fits(pc - behind, behind + ahead) {
            (pc - behind, behind + ahead)
        } else {
            (pc, ahead)
        };
        self.cache.open_window(va, pa - (pc - va), len);
    }

    /// Executes the instruction at `pc` and returns the pc of the next one.
    /// On a trap, returns it, with nothing of the instruction done but an
    /// `ecall`'s or `ebreak`'s: the caller sets `self.pc` and `instret` as
    /// the trap's contract in [`Trap`] says ([`Cpu::run_with`] keeps both
    /// in registers while it runs). With `FAST`, every
    /// translation goes through `tlb` first ([`translate_via`]); without,
    /// `tlb` is not touched and every access walks. With `STABLE` (the
    /// MMU's translations stay right for the run), a fetch inside the
    /// decode cache's fetch window takes the window's answer
    /// ([`super::cache::DecodeCache::fetch_in_window`]), and a fetch outside
    /// it opens a window where the MMU allows one.
    #[inline(always)]
    pub(super) fn step<
        const FAST: bool,
        const STABLE: bool,
        const TICKETS: bool,
        M: Mmu,
        O: Observer,
    >(
        &mut self,
        pc: u64,
        mmu: &M,
        mem: &mut PhysicalMemory,
        obs: &mut O,
        tlb: &mut SoftTlb,
    ) -> Result<u64, Trap> {
        // 1. Fetch: translate the pc like any other address. The pc is a
        // multiple of 4 here: the run checked it before its first step
        // (`Cpu::misaligned_pc`), and every jump and branch checks its target.
        debug_assert_eq!(pc & 3, 0);
        let (fetch_pa, packed) = 'fetch: {
            if STABLE && let Some((pa, packed)) = self.cache.fetch_in_window(pc) {
                obs.fetch(VirtAddr::new(pc), pa);
                break 'fetch (pa, packed);
            }
            if TICKETS
                && let Some((pa, packed)) = self.cache.fetch_in_window(pc)
                && mmu.ticket_holds(self.cache.ticket(), Access::Fetch)
            {
                mmu.ticket_hit(self.cache.ticket(), Access::Fetch);
                obs.fetch(VirtAddr::new(pc), pa);
                break 'fetch (pa, packed);
            }
            if STABLE || TICKETS {
                // A miss of the window: rare, kept out of the loop.
                self.fetch_apart::<FAST, STABLE, TICKETS, M, O>(pc, mmu, mem, obs, tlb)?
            } else {
                // Every fetch: inline.
                self.fetch::<FAST, false, false, M, O>(pc, mmu, mem, obs, tlb)?
            }
        };
        let data_fault =
            move |mem: &PhysicalMemory, fault: Fault| data_trap(mem, pc, fetch_pa, fault);
        // 2. Execute.
        // The fields straight from the packed word (`Inst::pack`): the
        // register file masks the register numbers.
        let op = Op::from_number(packed as u8);
        let rd = (packed >> 8) as usize;
        let rs1 = self.regs.get((packed >> 16) as usize);
        let rs2 = self.regs.get((packed >> 24) as usize);
        let imm = ((packed as i64) >> 32) as u64;
        let mut next = pc.wrapping_add(4);
        // A taken branch to a misaligned target faults at the branch.
        macro_rules! branch {
            ($taken:expr) => {{
                if $taken {
                    let target = pc.wrapping_add(imm);
                    if target & 3 != 0 {
                        let fault =
                            Fault::new(VirtAddr::new(target), Access::Fetch, FaultKind::Misaligned);
                        return Err(data_fault(mem, fault));
                    }
                    next = target;
                }
                return Ok(next);
            }};
        }
        // A load of $size bytes: translate (read), then read memory.
        macro_rules! load {
            ($size:expr) => {{
                let va = rs1.wrapping_add(imm);
                let pa = translate_via::<FAST, M>(tlb, mmu, mem, va, $size, Access::Read)
                    .map_err(|f| data_fault(mem, f))?;
                let raw = mem
                    .read_le(pa, $size)
                    .map_err(|_| data_fault(mem, outside(va, Access::Read)))?;
                obs.load(VirtAddr::new(va), pa, $size, raw);
                raw
            }};
        }
        // A store of the low $size bytes of rs2: translate (write), write.
        macro_rules! store {
            ($size:expr) => {{
                let va = rs1.wrapping_add(imm);
                let pa = translate_via::<FAST, M>(tlb, mmu, mem, va, $size, Access::Write)
                    .map_err(|f| data_fault(mem, f))?;
                let v = if $size == 8 {
                    rs2
                } else {
                    rs2 & ((1u64 << ($size * 8)) - 1)
                };
                mem.write_le(pa, $size, v)
                    .map_err(|_| data_fault(mem, outside(va, Access::Write)))?;
                obs.store(VirtAddr::new(va), pa, $size, v);
                // Code and data may share the running frame.
                self.cache.stored(mem, pa, $size);
                return Ok(next);
            }};
        }
        let value: u64 = match op {
            Op::Lui => imm,
            Op::Auipc => pc.wrapping_add(imm),
            Op::Jal | Op::Jalr => {
                let target = if op == Op::Jal {
                    pc.wrapping_add(imm)
                } else {
                    rs1.wrapping_add(imm) & !1
                };
                if target & 3 != 0 {
                    let fault =
                        Fault::new(VirtAddr::new(target), Access::Fetch, FaultKind::Misaligned);
                    return Err(data_fault(mem, fault));
                }
                let link = next;
                next = target;
                link
            }
            Op::Beq => branch!(rs1 == rs2),
            Op::Bne => branch!(rs1 != rs2),
            Op::Blt => branch!((rs1 as i64) < (rs2 as i64)),
            Op::Bge => branch!((rs1 as i64) >= (rs2 as i64)),
            Op::Bltu => branch!(rs1 < rs2),
            Op::Bgeu => branch!(rs1 >= rs2),
            Op::Lb => load!(1) as i8 as i64 as u64,
            Op::Lh => load!(2) as i16 as i64 as u64,
            Op::Lw => sext32(load!(4)),
            Op::Ld => load!(8),
            Op::Lbu => load!(1),
            Op::Lhu => load!(2),
            Op::Lwu => load!(4),
            Op::Sb => store!(1),
            Op::Sh => store!(2),
            Op::Sw => store!(4),
            Op::Sd => store!(8),
            Op::Addi => rs1.wrapping_add(imm),
            Op::Slti => ((rs1 as i64) < (imm as i64)) as u64,
            Op::Sltiu => (rs1 < imm) as u64,
            Op::Xori => rs1 ^ imm,
            Op::Ori => rs1 | imm,
            Op::Andi => rs1 & imm,
            Op::Slli => rs1 << (imm & 63),
            Op::Srli => rs1 >> (imm & 63),
            Op::Srai => ((rs1 as i64) >> (imm & 63)) as u64,
            Op::Addiw => sext32(rs1.wrapping_add(imm)),
            Op::Slliw => sext32(((rs1 as u32) << (imm & 31)) as u64),
            Op::Srliw => sext32(((rs1 as u32) >> (imm & 31)) as u64),
            Op::Sraiw => ((rs1 as i32) >> (imm & 31)) as i64 as u64,
            Op::Add => rs1.wrapping_add(rs2),
            Op::Sub => rs1.wrapping_sub(rs2),
            Op::Sll => rs1 << (rs2 & 63),
            Op::Slt => ((rs1 as i64) < (rs2 as i64)) as u64,
            Op::Sltu => (rs1 < rs2) as u64,
            Op::Xor => rs1 ^ rs2,
            Op::Srl => rs1 >> (rs2 & 63),
            Op::Sra => ((rs1 as i64) >> (rs2 & 63)) as u64,
            Op::Or => rs1 | rs2,
            Op::And => rs1 & rs2,
            Op::Addw => sext32(rs1.wrapping_add(rs2)),
            Op::Subw => sext32(rs1.wrapping_sub(rs2)),
            Op::Sllw => sext32(((rs1 as u32) << (rs2 & 31)) as u64),
            Op::Srlw => sext32(((rs1 as u32) >> (rs2 & 31)) as u64),
            Op::Sraw => ((rs1 as i32) >> (rs2 & 31)) as i64 as u64,
            Op::Mul => rs1.wrapping_mul(rs2),
            Op::Mulh => ((rs1 as i64 as i128 * rs2 as i64 as i128) >> 64) as u64,
            Op::Mulhsu => ((rs1 as i64 as i128 * rs2 as i128) >> 64) as u64,
            Op::Mulhu => ((rs1 as u128 * rs2 as u128) >> 64) as u64,
            // Division by zero and overflow do not trap on RISC-V: the
            // results are fixed by the spec (quotient all ones, remainder
            // the dividend; MIN / -1 = MIN, remainder 0).
            Op::Div => match rs2 {
                0 => u64::MAX,
                _ => (rs1 as i64).wrapping_div(rs2 as i64) as u64,
            },
            Op::Divu => rs1.checked_div(rs2).unwrap_or(u64::MAX),
            Op::Rem => match rs2 {
                0 => rs1,
                _ => (rs1 as i64).wrapping_rem(rs2 as i64) as u64,
            },
            Op::Remu => rs1.checked_rem(rs2).unwrap_or(rs1),
            Op::Mulw => sext32(rs1.wrapping_mul(rs2)),
            Op::Divw => match rs2 as i32 {
                0 => u64::MAX,
                d => (rs1 as i32).wrapping_div(d) as i64 as u64,
            },
            Op::Divuw => match rs2 as u32 {
                0 => u64::MAX,
                d => sext32(((rs1 as u32) / d) as u64),
            },
            Op::Remw => match rs2 as i32 {
                0 => sext32(rs1),
                d => (rs1 as i32).wrapping_rem(d) as i64 as u64,
            },
            Op::Remuw => match rs2 as u32 {
                0 => sext32(rs1),
                d => sext32(((rs1 as u32) % d) as u64),
            },
            Op::Fence => {
                return Ok(next);
            }
            Op::Ecall | Op::Ebreak => {
                return Err(if op == Op::Ecall {
                    Trap::Ecall { pc }
                } else {
                    Trap::Ebreak { pc }
                });
            }
            Op::Illegal => {
                return Err(Trap::Illegal {
                    pc,
                    word: (packed >> 32) as u32,
                });
            }
        };
        // 3. Write back and advance.
        self.regs.set(rd, value);
        Ok(next)
    }
}

/// The instruction in assembler syntax, e.g. `lw a0, 8(s0)`, with branch
/// and jump offsets relative to the instruction (`beq a0, zero, -8`).
pub fn disassemble(inst: Inst) -> String {
    use super::decode::Format;
    let r = |n: u8| ABI_NAMES[n as usize];
    let Some(info) = inst.op.info() else {
        return format!(".word {:#010x}", inst.imm as u32);
    };
    let name = info.name;
    let (rd, rs1, rs2, imm) = (r(inst.rd), r(inst.rs1), r(inst.rs2), inst.imm);
    match info.format {
        Format::R => format!("{name} {rd}, {rs1}, {rs2}"),
        Format::I if inst.op.access_size().is_some() || inst.op == Op::Jalr => {
            format!("{name} {rd}, {imm}({rs1})")
        }
        Format::I | Format::Shift64 | Format::Shift32 => format!("{name} {rd}, {rs1}, {imm}"),
        Format::S => format!("{name} {rs2}, {imm}({rs1})"),
        Format::B => format!("{name} {rs1}, {rs2}, {imm}"),
        Format::U => format!("{name} {rd}, {:#x}", (imm as u32) >> 12),
        Format::J => format!("{name} {rd}, {imm}"),
        Format::Fixed => name.to_string(),
    }
}
