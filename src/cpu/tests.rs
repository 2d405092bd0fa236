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
fn a_run_from_a_misaligned_pc_faults_before_fetching() {
    let (mut cpu, mut mem) = load("nop\nnop\n", 0);
    cpu.pc = 2;
    let mmu = Identity::new(MEM);
    assert_eq!(cpu.run(&mmu, &mut mem, 0, &mut NoObserver), Exit::Budget);
    let mut log = Log::default();
    let exit = cpu.run(&mmu, &mut mem, 5, &mut log);
    let Exit::Trap(Trap::Fault { pc, word, fault }) = exit else {
        panic!("{exit:?}")
    };
    assert_eq!(
        (pc, word, fault.va.as_u64(), fault.access, fault.kind),
        (2, None, 2, Access::Fetch, FaultKind::Misaligned)
    );
    assert!(log.0.is_empty(), "nothing fetched: {:?}", log.0);
    assert_eq!((cpu.pc, cpu.instret), (2, 0));
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
fn data_beside_code_keeps_the_code_decoded_and_new_code_runs_new() {
    // A counter in the code's own frame, stored to on every round, and an
    // instruction patched before it first runs: the stores over data keep
    // the decoded loop; the patched word runs as written.
    let src = "
        li   t2, 50
    loop:
        ld   t0, counter
        addi t0, t0, 1
        la   t1, counter
        sd   t0, 0(t1)
        addi t2, t2, -1
        bnez t2, loop
        la   t0, patch
        li   t1, 0x06450513     # addi a0, a0, 100
        sw   t1, 0(t0)
    patch:
        addi a0, a0, 1
        ecall
        .balign 8
    counter:
        .dword 7";
    let (mut cpu, mut mem) = load(src, 0);
    let exit = cpu.run(&Identity::new(MEM), &mut mem, 10_000, &mut NoObserver);
    assert!(matches!(exit, Exit::Trap(Trap::Ecall { .. })), "{exit:?}");
    assert_eq!(cpu.regs.get(10), 100);
    let p = assemble(src, "t.s", &Options { text_base: 0 }).unwrap();
    let at = p.symbol("counter").unwrap().value;
    assert_eq!(mem.read_le(PhysAddr::new(at), 8).unwrap(), 57);
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
fn running_into_the_bound_faults_at_the_first_instruction_past_it() {
    // Straight-line code that runs off its bound: the fetch window of the
    // run covers the whole instructions inside and no more, also when the
    // code runs again (every fetch after the first hits the window), and
    // when the decode cache holds the instructions past the bound. A
    // fetch translates the instruction's first byte: with a bound of 13,
    // the instruction at 12 still runs.
    let src = "addi a0, a0, 1\n".repeat(5);
    for (bound, end) in [(12u64, 12u64), (13, 16), (15, 16), (16, 16)] {
        let (mut cpu, mut mem) = load(&src, 0x1000);
        // Decode all five first, under a bound that lets them run: the
        // decode cache keeps them for the next runs.
        let wide = BaseBounds::new(0x1000, 0x1000, MEM).unwrap();
        cpu.run(&wide, &mut mem, 5, &mut NoObserver);
        cpu.regs.set(10, 0);
        let mmu = BaseBounds::new(0x1000, bound, MEM).unwrap();
        for round in 1..=2 {
            cpu.pc = 0;
            let exit = cpu.run(&mmu, &mut mem, 10, &mut NoObserver);
            let Exit::Trap(Trap::Fault { pc, fault, .. }) = exit else {
                panic!("{exit:?}")
            };
            assert_eq!(
                (pc, fault.access, cpu.regs.get(10)),
                (end, Access::Fetch, round * end / 4),
                "bound {bound}, round {round}"
            );
        }
    }
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

/// The software TLB against the walk: the same random program, from the same
/// state, under the same random MMU, run by [`Cpu::run`] (software TLB on
/// every mechanism that allows it) and by [`Cpu::run_walking`] (every access
/// walks) must end identically — registers, pc, instructions retired, the
/// exit (trap kind, fault address and kind), every observer event and every
/// byte of memory — also when the MMU's registers are loaded between runs.
/// Every access and trap of the runs it observes, as text, in order: what
/// two ways of running the CPU must agree on.
#[derive(Default)]
struct Events(Vec<String>);

impl Observer for Events {
    fn fetch(&mut self, va: VirtAddr, pa: PhysAddr) {
        self.0.push(format!("fetch {va} {pa}"));
    }
    fn load(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        self.0.push(format!("load {va} {pa} {size} {value:#x}"));
    }
    fn store(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        self.0.push(format!("store {va} {pa} {size} {value:#x}"));
    }
    fn trap(&mut self, trap: &Trap) {
        self.0.push(format!("trap {trap:?}"));
    }
}

mod fast_path_equals_walk {
    use super::*;
    use crate::mmu::{
        AnyMmu, Base, LinearPageTable, Mmu, Mode, PageTableEntry, Perms, Segment, Segmentation,
    };
    use proptest::prelude::*;

    /// Physical memory of the tests: small, so that every byte is compared.
    const PHYS: u64 = 64 << 10;

    fn i_type(opcode: u32, funct3: u32, rd: u32, rs1: u32, imm: i32) -> u32 {
        ((imm as u32 & 0xfff) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode
    }

    fn s_type(funct3: u32, rs1: u32, rs2: u32, imm: i32) -> u32 {
        let imm = imm as u32 & 0xfff;
        ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | ((imm & 31) << 7) | 0x23
    }

    fn b_type(funct3: u32, rs1: u32, rs2: u32, imm: i32) -> u32 {
        let imm = imm as u32 & 0x1fff;
        let b12 = (imm >> 12) & 1;
        let b11 = (imm >> 11) & 1;
        let b10_5 = (imm >> 5) & 0x3f;
        let b4_1 = (imm >> 1) & 0xf;
        (b12 << 31)
            | (b10_5 << 25)
            | (rs2 << 20)
            | (rs1 << 15)
            | (funct3 << 12)
            | (b4_1 << 8)
            | (b11 << 7)
            | 0x63
    }

    /// `jal x0, offset`.
    fn jump(offset: i32) -> u32 {
        let imm = offset as u32 & 0x1f_ffff;
        let b20 = (imm >> 20) & 1;
        let b10_1 = (imm >> 1) & 0x3ff;
        let b11 = (imm >> 11) & 1;
        let b19_12 = (imm >> 12) & 0xff;
        (b20 << 31) | (b10_1 << 21) | (b11 << 20) | (b19_12 << 12) | 0x6f
    }

    /// One random instruction: mostly loads and stores of every width near
    /// where the pointer registers x1..x7 point (loading mostly into the
    /// data registers x8..x13, so pointers survive), pointer moves, shifts,
    /// branches both ways, jumps into the program, and now and then an
    /// `ecall`.
    fn instruction() -> impl Strategy<Value = u32> {
        let reg = 1u32..8;
        // Offsets: mostly multiples of 8 (aligned for every width), now and
        // then misaligned.
        let offset = || {
            (
                -3i32..3,
                prop::sample::select(vec![0i32, 0, 0, 0, 0, 1, 2, 4]),
            )
                .prop_map(|(k, d)| k * 8 + d)
        };
        prop_oneof![
            4 => (0u32..7, 6u32..14, reg.clone(), offset()).prop_map(|(w, rd, rs1, imm)| {
                // lb lh lw ld lbu lhu lwu
                i_type(0x03, [0, 1, 2, 3, 4, 5, 6][w as usize], rd, rs1, imm)
            }),
            4 => (0u32..4, reg.clone(), 1u32..14, offset())
                .prop_map(|(w, rs1, rs2, imm)| s_type(w, rs1, rs2, imm)),
            3 => (reg.clone(), reg.clone(), -2i32..3)
                .prop_map(|(rd, rs1, imm)| i_type(0x13, 0, rd, rs1, imm * 4)),
            1 => (8u32..14, 1u32..14, 0i32..12)
                .prop_map(|(rd, rs1, sh)| i_type(0x13, 1, rd, rs1, sh)),
            2 => (prop::sample::select(vec![0u32, 1, 6, 7]), reg.clone(), reg.clone(), -8i32..8)
                .prop_map(|(f, rs1, rs2, k)| b_type(f, rs1, rs2, k * 4)),
            // jalr to a (possibly misaligned) place of the program.
            1 => (8u32..14, 0i32..40).prop_map(|(rd, imm)| i_type(0x67, 0, rd, 0, imm * 2)),
            1 => Just(0x0000_0073u32),
        ]
    }

    /// Addresses where translations change: page, bounds and segment ends,
    /// and their neighbours.
    fn interesting() -> impl Strategy<Value = u64> {
        prop_oneof![
            6 => (0u64..32, -4i64..4).prop_map(|(k, d)| (k * 0x100).wrapping_add_signed(d * 8)),
            2 => (0u64..16, -10i64..10).prop_map(|(k, d)| (k * 0x1000).wrapping_add_signed(d)),
            1 => 0u64..0x10000,
            1 => any::<u64>(),
        ]
    }

    /// A size or bound: near a multiple of 256 bytes, or anything up to `max`.
    fn extent(max: u64) -> impl Strategy<Value = u64> {
        prop_oneof![
            (0u64..=max / 256, -9i64..9)
                .prop_map(move |(k, d)| (k * 256).saturating_add_signed(d).min(max)),
            0u64..=max,
        ]
    }

    /// The extent of the piece that holds the code: mostly all of it (512
    /// bytes or more), now and then ending inside the program (at most 41
    /// instructions), so that a fetch — and a block — runs into the end.
    fn code_extent(max: u64) -> impl Strategy<Value = u64> {
        prop_oneof![
            3 => extent(max).prop_map(|n| n.max(0x200)),
            1 => 0x10u64..0xa8,
        ]
    }

    fn perms() -> impl Strategy<Value = Perms> {
        (0u8..8).prop_map(Perms::from_bits_truncate)
    }

    /// A random MMU of any mechanism the software TLB serves, fitting PHYS.
    fn mmu() -> impl Strategy<Value = AnyMmu> {
        let segment = (0u64..0x8000, extent(0x1000), any::<bool>(), perms()).prop_map(
            |(base, size, down, p)| {
                if down {
                    Segment::down(base + size, size, p)
                } else {
                    Segment::up(base, size, p)
                }
            },
        );
        prop_oneof![
            Just(AnyMmu::Identity(crate::mmu::Identity::new(PHYS))),
            (0u64..PHYS).prop_map(|b| AnyMmu::Base(Base::new(b, PHYS))),
            (0u64..0x8000, code_extent(0x2000))
                .prop_map(|(b, n)| { AnyMmu::BaseBounds(BaseBounds::new(b, n, PHYS).unwrap()) }),
            (
                0u64..0x8000,
                code_extent(0x1000),
                prop::collection::vec(segment, 3)
            )
                .prop_map(|(base, size, mut s)| {
                    // Segment 0 holds the code: r-x, growing up.
                    s.insert(0, Segment::up(base, size, Perms::R | Perms::X));
                    AnyMmu::Segmentation(Segmentation::new(14, s, PHYS).unwrap())
                }),
            (
                prop::sample::select(vec![256u64, 1024, 4096, 8192]),
                prop::collection::vec(prop::option::of(0u64..8), 1..12)
            )
                .prop_map(|(page, pfns)| {
                    let frames = PHYS / page;
                    // Page 0 holds the code.
                    let entries = std::iter::once(Some(0))
                        .chain(pfns)
                        .map(|p| match p {
                            Some(p) => PageTableEntry::mapped(p % frames),
                            None => PageTableEntry::invalid(),
                        })
                        .collect();
                    AnyMmu::Paging(LinearPageTable::new(page, entries, PHYS).unwrap())
                }),
        ]
    }

    /// The registers of another random MMU of the same mechanism, as the
    /// kernel loads them between two runs.
    fn reload(m: &mut AnyMmu, other: &AnyMmu) {
        if std::mem::discriminant(m) == std::mem::discriminant(other) {
            m.load_registers(Mode::Kernel, &other.registers()).unwrap();
        }
    }

    /// How [`play`] runs the CPU.
    #[derive(Clone, Copy)]
    enum Path {
        /// [`Cpu::run_walking`]: the definition.
        Walk,
        /// [`Cpu::run`]: the fetch window where the MMU allows it, with the
        /// software TLB where it pays.
        Run,
        /// The fetch window and the software TLB on every mechanism that
        /// allows them, also where [`Cpu::run`] leaves the TLB off because
        /// the walk is cheaper.
        Fastest,
    }

    /// Runs the program `code` (closed into a loop) one `budget`-instruction
    /// slice per entry of `reloads`, along `path`, going on after a trapped instruction with the
    /// next one of the program (as a kernel that kills nothing would) and, after slice
    /// i, loading the registers of `reloads[i]` when it has some.
    fn play(
        path: Path,
        code: &[u32],
        regs: &[u64],
        mmu: &AnyMmu,
        reloads: &[Option<AnyMmu>],
        budget: u64,
    ) -> (Vec<String>, Vec<u8>) {
        // The program loops: a jump back to its start closes it.
        let mut code = code.to_vec();
        code.push(jump(-4 * code.len() as i32));
        let len = 4 * code.len() as u64;
        let mut mmu = mmu.clone();
        let mut mem = PhysicalMemory::new(PHYS);
        // The code goes where its virtual addresses land for a fetch (and
        // at pa = va where they do not): stores may overwrite it.
        for (i, w) in code.iter().enumerate() {
            let va = VirtAddr::new(4 * i as u64);
            let pa = mmu.translate(PhysicalMemory::empty(), va, Access::Fetch);
            let pa = pa.map_or(4 * i as u64, |p| p.as_u64());
            let _ = mem.write_le(PhysAddr::new(pa), 4, *w as u64);
        }
        let mut cpu = Cpu::new(0);
        for (r, v) in regs.iter().enumerate() {
            cpu.regs.set(r + 1, *v);
        }
        let mut events = Events::default();
        for next in reloads {
            let exit = match (&mmu, path) {
                (m, Path::Fastest) if m.translation_is_stable() => {
                    cpu.run_with::<true, true, false, _, _>(m, &mut mem, budget, &mut events)
                }
                (m, Path::Fastest | Path::Run) => cpu.run(m, &mut mem, budget, &mut events),
                (m, Path::Walk) => cpu.run_walking(m, &mut mem, budget, &mut events),
            };
            events.0.push(format!(
                "exit {exit:?} pc {:#x} instret {} regs {:?}",
                cpu.pc, cpu.instret, cpu.regs
            ));
            if let Exit::Trap(Trap::Fault { .. } | Trap::Illegal { .. }) = exit {
                cpu.pc = cpu.pc.wrapping_add(4) % len;
            }
            if let Some(next) = next {
                reload(&mut mmu, next);
            }
        }
        let mut bytes = vec![0u8; PHYS as usize];
        mem.read(PhysAddr::new(0), &mut bytes).unwrap();
        (events.0, bytes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn every_software_tlb_hit_is_the_walks_answer(
            mmu in mmu(),
            accesses in prop::collection::vec(
                (0u64..64, -12i64..12, 0u32..4, crate::mmu::any_access()),
                1..200,
            ),
        ) {
            let mem = PhysicalMemory::empty();
            let mut tlb = soft_tlb::SoftTlb::new();
            for (k, d, width, access) in accesses {
                let size = 1u64 << width;
                let va = (k * 0x100).wrapping_add_signed(d) & !(size - 1);
                let walk = if access == Access::Fetch {
                    mmu.translate(mem, VirtAddr::new(va), access)
                } else {
                    mmu.translate_span(mem, VirtAddr::new(va), size, access)
                };
                let span = if access == Access::Fetch { 1 } else { size };
                match tlb.lookup(va, span, access) {
                    Some(pa) => prop_assert_eq!(Ok(PhysAddr::new(pa)), walk),
                    None => {
                        if let Ok(pa) = walk {
                            tlb.fill(&mmu, mem, va, pa.as_u64(), access);
                        }
                    }
                }
            }
        }

        #[test]
        fn fetch_window_and_software_tlb_give_the_walks_answers(
            code in prop::collection::vec(instruction(), 1..40),
            regs in prop::collection::vec(interesting(), 13),
            mmu in mmu(),
            reloads in prop::collection::vec(prop::option::weighted(0.1, mmu()), 1..80),
            budget in 1u64..200,
        ) {
            let (walk_events, walk_mem) = play(Path::Walk, &code, &regs, &mmu, &reloads, budget);
            for path in [Path::Run, Path::Fastest] {
                let (events, mem) = play(path, &code, &regs, &mmu, &reloads, budget);
                prop_assert_eq!(&events, &walk_events);
                prop_assert!(mem == walk_mem, "memory differs");
            }
        }
    }
}

/// Under Sv39 with a simulated TLB, fetches answered by the fetch window on
/// the TLB's word (tickets) give what the walking CPU gives — the same registers, memory, traps and observed
/// accesses — and leave the TLBs with the same counts and the same entries.
mod tickets_equal_walk {
    use super::*;
    use crate::mmu::sv39::{self, Satp, Sv39, pte};
    use crate::mmu::{Policy, TlbConfig};
    use proptest::prelude::*;

    const PHYS: u64 = 1 << 20;
    /// Virtual pages 0..PAGES may be mapped; code sits on page 0.
    const PAGES: u64 = 8;

    /// An instruction: loads and stores over the pages (s0..s3 hold
    /// addresses in pages 1 to 4), additions, forward and backward
    /// branches (some out of the program: a fetch fault), `ecall`.
    fn instruction() -> impl Strategy<Value = String> {
        let reg = prop::sample::select(vec!["s0", "s1", "s2", "s3"]);
        let off = (-2i32..8).prop_map(|k| k * 8);
        prop_oneof![
            12 => (prop::sample::select(vec!["ld", "lw", "lbu"]), reg.clone(), off.clone())
                .prop_map(|(op, r, o)| format!("{op} t0, {o}({r})")),
            12 => (prop::sample::select(vec!["sd", "sw", "sb"]), reg.clone(), off)
                .prop_map(|(op, r, o)| format!("{op} t1, {o}({r})")),
            8 => Just("addi t1, t1, 1".to_string()),
            4 => (1i32..4).prop_map(|k| format!("bnez t0, {}", 4 * k)),
            4 => (1i32..4).prop_map(|k| format!("beqz t1, -{}", 4 * k)),
            // Rare: every trap ends a slice, and tickets live within one.
            1 => Just("ecall".to_string()),
        ]
    }

    fn config() -> impl Strategy<Value = TlbConfig> {
        (
            // Tiny TLBs evict all the time; 16 entries hold every page, so
            // that tickets live long.
            prop::sample::select(vec![1usize, 2, 4, 16, 16]),
            prop::sample::select(vec![
                Policy::Lru,
                Policy::Fifo,
                Policy::Clock,
                Policy::Random,
            ]),
        )
            .prop_map(|(entries, policy)| TlbConfig::new(entries, entries, policy).unwrap())
    }

    /// Maps pages 0..PAGES (page 0 always r-x, with w sometimes) with the
    /// permissions given (U and A added; D as given), into frames 16..,
    /// tables from frame 64 on.
    fn machine(perms: &[u64], code: &[u32]) -> (PhysicalMemory, Satp) {
        let mut mem = PhysicalMemory::new(PHYS);
        let mut next = 64u64;
        let mut alloc = || {
            next += 1;
            Some(next)
        };
        let root = 64;
        for (page, &p) in perms.iter().enumerate() {
            if p == 0 {
                continue;
            }
            let va = page as u64 * sv39::PAGE_SIZE;
            let pa = (16 + page as u64) * sv39::PAGE_SIZE;
            sv39::map(&mut mem, root, va, pa, 0, p | pte::U | pte::A, &mut alloc).unwrap();
        }
        for (i, w) in code.iter().enumerate() {
            let pa = 16 * sv39::PAGE_SIZE + 4 * i as u64;
            mem.write_le(PhysAddr::new(pa), 4, *w as u64).unwrap();
        }
        (mem, Satp::sv39(1, root))
    }

    fn run(
        walking: bool,
        perms: &[u64],
        code: &[u32],
        tlbs: &(TlbConfig, Option<TlbConfig>, Option<TlbConfig>),
        budget: u64,
        slices: usize,
    ) -> (Vec<String>, Vec<u8>, String) {
        let (mut mem, satp) = machine(perms, code);
        let mut mmu = Sv39::new(satp, PHYS).unwrap().with_tlb(tlbs.0);
        if let Some(i) = tlbs.1 {
            mmu = mmu.with_itlb(i);
        }
        if let Some(l2) = tlbs.2 {
            mmu = mmu.with_l2_tlb(l2);
        }
        let mut cpu = Cpu::new(0);
        for (r, page) in [(8, 2u64), (9, 3), (18, 4), (19, 1)] {
            cpu.regs.set(r, page * sv39::PAGE_SIZE + 16);
        }
        let len = 4 * code.len() as u64;
        let mut events = Events::default();
        for _ in 0..slices {
            let exit = if walking {
                cpu.run_walking(&mmu, &mut mem, budget, &mut events)
            } else {
                cpu.run(&mmu, &mut mem, budget, &mut events)
            };
            events.0.push(format!(
                "exit {exit:?} pc {:#x} regs {:?}",
                cpu.pc, cpu.regs
            ));
            if let Exit::Trap(Trap::Fault { .. } | Trap::Illegal { .. }) = exit {
                cpu.pc = cpu.pc.wrapping_add(4) % len;
            }
        }
        let mut bytes = vec![0u8; 32 * sv39::PAGE_SIZE as usize];
        mem.read(PhysAddr::new(0), &mut bytes).unwrap();
        let tlbs = format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} walks {}",
            mmu.tlb().map(|t| t.stats()),
            mmu.tlb().map(|t| t.entries()),
            mmu.itlb().map(|t| t.stats()),
            mmu.itlb().map(|t| t.entries()),
            mmu.l2_tlb().map(|t| t.stats()),
            mmu.l2_tlb().map(|t| t.entries()),
            mmu.walks()
        );
        (events.0, bytes, tlbs)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn tickets_give_the_walks_answers_and_counts(
            body in prop::collection::vec(instruction(), 1..30),
            perms in prop::collection::vec(
                (
                    prop::sample::select(vec![
                        0, pte::R, pte::R | pte::W, pte::R | pte::W, pte::R | pte::W,
                        pte::R | pte::X, pte::R | pte::W | pte::X,
                    ]),
                    // Dirty or clean: a store to a clean page faults (Svade).
                    prop::sample::select(vec![pte::D, pte::D, 0]),
                )
                    .prop_map(|(p, d)| if p == 0 { 0 } else { p | d }),
                PAGES as usize - 1,
            ),
            code_writable in any::<bool>(),
            tlbs in (config(), prop::option::of(config()), prop::option::of(config())),
            budget in 1u64..300,
            slices in 1usize..12,
        ) {
            // The body closed into a loop back to the start.
            let mut src = body.join("\n");
            src.push_str(&format!("\nj -{}\n", 4 * body.len()));
            let p = assemble(&src, "t.s", &Options { text_base: 0 }).unwrap();
            let code: Vec<u32> = p.sections[0]
                .data
                .chunks(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            let code_perms = pte::R | pte::X | pte::D | if code_writable { pte::W } else { 0 };
            let perms: Vec<u64> = std::iter::once(code_perms).chain(perms).collect();
            let walk = run(true, &perms, &code, &tlbs, budget, slices);
            let fast = run(false, &perms, &code, &tlbs, budget, slices);
            prop_assert_eq!(&fast.0, &walk.0);
            prop_assert!(fast.1 == walk.1, "memory differs");
            prop_assert_eq!(&fast.2, &walk.2);
        }
    }
}
