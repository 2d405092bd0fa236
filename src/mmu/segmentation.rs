//! Segmentation: a base and bounds pair per logical segment.
//!
//! The top bits of a virtual address select the segment, the rest are the
//! offset inside it. For a 14-bit address space with 4 segments:
//!
//! ```text
//!   13 12 11                                   0
//!  +-----+--------------------------------------+
//!  | seg |               offset                 |
//!  +-----+--------------------------------------+
//! ```
//!
//! A segment that grows up (code, heap) is valid for `offset < size` and maps
//! to `base + offset`. A segment that grows down (the stack, as in OSTEP) has
//! its base at the *top* of its physical range: the offset is read as a
//! negative distance `max - offset` below the top of the segment's virtual
//! range (`max = 2^offset_bits`), valid when that distance is at most the
//! size, and maps to `base - distance`. Each segment also carries R/W/X
//! permissions; a segment of size 0 is not in use.

use super::{
    Access, ConfigError, Mmu, MmuRegisters, Mode, NoSteps, Perms, RegisterError, Step, StepRecorder,
};
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::{Fault, FaultKind};
use crate::memory::PhysicalMemory;

/// One entry of the segment table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Physical base: the lowest byte for a segment growing up, one past the
    /// highest byte for a segment growing down.
    pub base: u64,
    /// The size in bytes (the bounds); 0 means the segment is not in use.
    pub size: u64,
    /// Whether the segment grows toward lower addresses (a stack).
    pub grows_down: bool,
    /// What accesses it permits.
    pub perms: Perms,
    /// An optional name for narration: `code`, `heap`, `stack`.
    pub name: Option<String>,
}

impl Segment {
    /// A segment growing up with the given base, size and permissions.
    pub fn up(base: u64, size: u64, perms: Perms) -> Self {
        Self {
            base,
            size,
            grows_down: false,
            perms,
            name: None,
        }
    }

    /// A segment growing down whose physical top (exclusive) is `base`.
    pub fn down(base: u64, size: u64, perms: Perms) -> Self {
        Self {
            grows_down: true,
            ..Self::up(base, size, perms)
        }
    }

    /// The same segment with a name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The physical range `[start, end)` the segment occupies, or `None` if
    /// it would fall below 0 or past 2^64 (the caller reports it).
    pub fn phys_range(&self) -> Option<(u64, u64)> {
        if self.grows_down {
            Some((self.base.checked_sub(self.size)?, self.base))
        } else {
            Some((self.base, self.base.checked_add(self.size)?))
        }
    }
}

/// A segment table with `2^k` entries over `va_bits`-bit virtual addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segmentation {
    va_bits: u32,
    segment_bits: u32,
    segments: Vec<Segment>,
    phys_size: u64,
    /// The table as the comparators see it, one entry per segment, kept in
    /// step with `segments` by every write.
    decoded: Vec<Decoded>,
}

/// One segment as the hardware's comparators see it: the range of offsets
/// that pass the bounds check, the one addition that turns an offset into a
/// physical address, and the permissions. Computed once when the segment is
/// loaded, so the fast path ([`Mmu::translate`]) does one range compare,
/// one permission test and one add per address, for segments growing
/// either way. [`Segmentation::walk`] (the narrated path) stays the
/// definition; tests check that both agree on every input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The lowest offset inside the bounds.
    pub lo: u64,
    /// How many offsets are inside the bounds, from `lo` (0: none).
    pub len: u64,
    /// Added (wrapping) to an offset inside the bounds, it gives the
    /// physical address: `base` growing up, `base - 2^offset_bits` growing
    /// down.
    pub delta: u64,
    /// The accesses the segment permits.
    pub perms: Perms,
    /// The fault of an offset outside the bounds (invalid segment when the
    /// segment is not in use).
    pub miss: FaultKind,
    /// Whether every offset inside the bounds maps into physical memory
    /// without overflow, so that the bounds and permission checks are the
    /// whole translation. False only for a segment loaded with
    /// [`Segmentation::set_segment`] or a register load that reaches past
    /// memory; such a segment is translated by the walk.
    pub exact: bool,
}

impl Decoded {
    /// Decodes `seg` for offsets of `offset_bits` bits in `phys_size`
    /// bytes of memory.
    fn new(seg: &Segment, offset_bits: u32, phys_size: u64) -> Self {
        let max = max_offset(offset_bits);
        let size = u128::from(seg.size);
        let unused = Self {
            lo: 0,
            len: 0,
            delta: 0,
            perms: seg.perms,
            miss: FaultKind::InvalidSegment,
            exact: true,
        };
        if seg.size == 0 {
            return unused;
        }
        let (lo, len, first_pa) = if seg.grows_down {
            // distance = max - offset, valid for 1 <= distance <= size.
            let lo = max.saturating_sub(size);
            (lo, max - lo, u128::from(seg.base).checked_sub(max - lo))
        } else {
            (0, size.min(max), Some(u128::from(seg.base)))
        };
        // Every valid address lands in [first_pa, first_pa + len).
        let exact = first_pa.is_some_and(|pa| pa + len <= u128::from(phys_size));
        let delta = if seg.grows_down {
            (u128::from(seg.base).wrapping_sub(max)) as u64
        } else {
            seg.base
        };
        match (u64::try_from(lo), u64::try_from(len)) {
            (Ok(lo), Ok(len)) => Self {
                lo,
                len,
                delta,
                miss: FaultKind::Bounds,
                exact,
                ..unused
            },
            // Only a 64-bit offset with a segment of 2^64 bytes: no memory
            // holds it, so the walk answers.
            _ => Self {
                miss: FaultKind::Bounds,
                exact: false,
                ..unused
            },
        }
    }

    /// Whether `offset` passes the bounds check.
    #[inline(always)]
    pub fn contains(&self, offset: u64) -> bool {
        offset.wrapping_sub(self.lo) < self.len
    }

    /// The physical address of an `offset` inside the bounds.
    #[inline(always)]
    pub fn pa(&self, offset: u64) -> u64 {
        offset.wrapping_add(self.delta)
    }
}

impl Segmentation {
    /// A segment table for `va_bits`-bit addresses, its segments in order
    /// 0..n-1, over `phys_size` bytes of physical memory.
    ///
    /// Returns a [`ConfigError`] when the count is not a power of two, the
    /// width cannot hold the segment bits, a segment is larger than its
    /// offset bits allow, or a segment lies outside physical memory.
    pub fn new(va_bits: u32, segments: Vec<Segment>, phys_size: u64) -> Result<Self, ConfigError> {
        let n = segments.len();
        if n == 0 || !n.is_power_of_two() {
            return Err(ConfigError::SegmentCount(n));
        }
        let segment_bits = n.trailing_zeros();
        if va_bits > 64 || va_bits == 0 || segment_bits > va_bits {
            return Err(ConfigError::AddressWidth {
                va_bits,
                segments: n,
            });
        }
        let offset_bits = va_bits - segment_bits;
        let max = max_offset(offset_bits);
        for (i, s) in segments.iter().enumerate() {
            if s.size as u128 > max {
                return Err(ConfigError::SegmentTooLarge {
                    segment: i,
                    size: s.size,
                    max: u64::try_from(max).unwrap_or(u64::MAX),
                });
            }
            let what = format!("segment {i}");
            match s.phys_range() {
                Some((start, _)) => super::check_region(what, start, s.size, phys_size)?,
                None if s.grows_down => {
                    return Err(ConfigError::BelowZero {
                        what,
                        base: s.base,
                        size: s.size,
                    });
                }
                None => super::check_region(what, s.base, s.size, phys_size)?,
            }
        }
        let mut mmu = Self {
            va_bits,
            segment_bits,
            segments,
            phys_size,
            decoded: Vec::new(),
        };
        mmu.decode();
        Ok(mmu)
    }

    /// Recomputes the comparators' table from the segment table.
    fn decode(&mut self) {
        let (bits, phys) = (self.offset_bits(), self.phys_size);
        self.decoded = self
            .segments
            .iter()
            .map(|s| Decoded::new(s, bits, phys))
            .collect();
    }

    /// The segment table as the comparators see it (index = segment).
    pub fn decoded(&self) -> &[Decoded] {
        &self.decoded
    }

    /// The width of a virtual address in bits.
    pub fn va_bits(&self) -> u32 {
        self.va_bits
    }

    /// How many top bits select the segment.
    pub fn segment_bits(&self) -> u32 {
        self.segment_bits
    }

    /// How many low bits form the offset.
    pub fn offset_bits(&self) -> u32 {
        self.va_bits - self.segment_bits
    }

    /// The segment table.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The physical memory size.
    pub fn phys_size(&self) -> u64 {
        self.phys_size
    }

    /// Loads one entry of the segment table. Privileged.
    ///
    /// Returns [`RegisterError::SegmentCount`] if `index` is not a segment.
    pub fn set_segment(
        &mut self,
        mode: Mode,
        index: usize,
        segment: Segment,
    ) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        let count = self.segments.len();
        let slot = self
            .segments
            .get_mut(index)
            .ok_or(RegisterError::SegmentCount {
                expected: count,
                got: index + 1,
            })?;
        let decoded = Decoded::new(&segment, self.va_bits - self.segment_bits, self.phys_size);
        *slot = segment;
        self.decoded[index] = decoded;
        Ok(())
    }

    /// Splits `va` into (segment, offset), or `None` if it is wider than the
    /// address width.
    #[inline(always)]
    pub fn split(&self, va: VirtAddr) -> Option<(u32, u64)> {
        let raw = va.as_u64();
        if self.va_bits < 64 && raw >> self.va_bits != 0 {
            return None;
        }
        let offset_bits = self.offset_bits();
        let (segment, offset) = if offset_bits >= 64 {
            (0, raw)
        } else {
            (
                (raw >> offset_bits) as u32,
                raw & ((1u64 << offset_bits) - 1),
            )
        };
        Some((segment, offset))
    }
}

/// The largest segment `offset_bits` can address: `2^offset_bits`.
fn max_offset(offset_bits: u32) -> u128 {
    1u128 << offset_bits
}

impl Mmu for Segmentation {
    /// The segment table (registers) alone decides.
    #[inline(always)]
    fn translation_is_stable(&self) -> bool {
        true
    }

    fn mechanism(&self) -> &'static str {
        "segmentation"
    }

    /// One segment is one piece: its valid offsets are an interval.
    #[inline(always)]
    fn one_piece(&self, first: VirtAddr, last: VirtAddr) -> bool {
        matches!((self.split(first), self.split(last)), (Some((a, _)), Some((b, _))) if a == b)
    }

    #[inline(always)]
    fn walk<R: StepRecorder>(
        &self,
        _mem: &PhysicalMemory,
        va: VirtAddr,
        access: Access,
        rec: &mut R,
    ) -> Result<PhysAddr, Fault> {
        let fault = |kind| Fault::new(va, access, kind);
        // 1. Split the address: top bits select the segment, the rest is the offset.
        let (segment, offset) = self.split(va).ok_or(fault(FaultKind::AddressWidth))?;
        rec.record(|| Step::Split {
            segment,
            offset,
            segment_bits: self.segment_bits,
            offset_bits: self.offset_bits(),
        });
        let seg = &self.segments[segment as usize];
        // 2. A segment of size 0 is not in use.
        if seg.size == 0 {
            rec.record(|| Step::SegmentUnused { segment });
            return Err(fault(FaultKind::InvalidSegment));
        }
        // 3. Check the offset against the segment's bounds, then compute the
        //    physical address from the base.
        let pa = if seg.grows_down {
            // Growing down: the distance below the top of the segment's range.
            let max = max_offset(self.offset_bits());
            // offset < max, so 1 <= distance <= 2^64 (only a 64-bit offset
            // reaches 2^64, which no segment size can cover).
            let wide = max - u128::from(offset);
            let ok = wide <= u128::from(seg.size);
            rec.record(|| Step::CheckNegativeOffset {
                max,
                distance: wide,
                bounds: seg.size,
                ok,
            });
            if !ok {
                return Err(fault(FaultKind::Bounds));
            }
            let distance = wide as u64; // <= seg.size: fits
            let pa = seg.base.checked_sub(distance);
            rec.record(|| Step::SubtractFromBase {
                base: seg.base,
                distance,
                pa,
            });
            pa.ok_or(fault(FaultKind::OutsidePhysicalMemory))?
        } else {
            let ok = offset < seg.size;
            rec.record(|| Step::CheckBounds {
                offset,
                bounds: seg.size,
                ok,
            });
            if !ok {
                return Err(fault(FaultKind::Bounds));
            }
            let pa = seg.base.checked_add(offset);
            rec.record(|| Step::AddBase {
                base: seg.base,
                offset,
                pa,
            });
            pa.ok_or(fault(FaultKind::Overflow))?
        };
        // 4. Check the protection bits against the kind of access.
        let ok = seg.perms.contains(access.required());
        rec.record(|| Step::CheckPermission {
            access,
            perms: seg.perms,
            ok,
        });
        if !ok {
            return Err(fault(FaultKind::Protection));
        }
        // 5. Memory answers only for addresses it has.
        super::check_physical(va, access, pa, self.phys_size, rec)
    }

    /// The fast path: the same checks as [`Segmentation::walk`], on the
    /// decoded table (one compare for the bounds of a segment growing
    /// either way, one add for the address).
    #[inline(always)]
    fn translate(
        &self,
        mem: &PhysicalMemory,
        va: VirtAddr,
        access: Access,
    ) -> Result<PhysAddr, Fault> {
        let fault = |kind| Fault::new(va, access, kind);
        let (segment, offset) = self.split(va).ok_or(fault(FaultKind::AddressWidth))?;
        let d = &self.decoded[segment as usize];
        if !d.exact {
            return self.walk(mem, va, access, &mut NoSteps);
        }
        if !d.contains(offset) {
            return Err(fault(d.miss));
        }
        if !d.perms.contains(access.required()) {
            return Err(fault(FaultKind::Protection));
        }
        Ok(PhysAddr::new(d.pa(offset)))
    }

    fn registers(&self) -> MmuRegisters {
        MmuRegisters::Segments(self.segments.clone())
    }

    fn load_registers(&mut self, mode: Mode, regs: &MmuRegisters) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        match regs {
            MmuRegisters::Segments(table) if table.len() == self.segments.len() => {
                self.segments.clone_from(table);
                self.decode();
                Ok(())
            }
            MmuRegisters::Segments(table) => Err(RegisterError::SegmentCount {
                expected: self.segments.len(),
                got: table.len(),
            }),
            other => Err(RegisterError::WrongMechanism {
                expected: "segmentation",
                got: other.mechanism(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lecture's E9 table: 14-bit addresses, 4 segments.
    fn e9() -> Segmentation {
        Segmentation::new(
            14,
            vec![
                Segment::up(0x2000, 0x6ff, Perms::R),
                Segment::up(0x0000, 0x4ff, Perms::R | Perms::W),
                Segment::up(0x3000, 0xfff, Perms::R | Perms::W),
                Segment::up(0, 0, Perms::empty()),
            ],
            1 << 16,
        )
        .unwrap()
    }

    fn read(m: &Segmentation, va: u64) -> Result<u64, FaultKind> {
        m.translate(
            crate::memory::PhysicalMemory::empty(),
            VirtAddr::new(va),
            Access::Read,
        )
        .map(PhysAddr::as_u64)
        .map_err(|f| f.kind)
    }

    #[test]
    fn e9_segment_table_translates_the_lecture_addresses() {
        let m = e9();
        assert_eq!(read(&m, 0x0240), Ok(0x2240));
        assert_eq!(read(&m, 0x1108), Ok(0x0108));
        assert_eq!(read(&m, 0x265c), Ok(0x365c));
        assert_eq!(read(&m, 0x3002), Err(FaultKind::InvalidSegment));
    }

    #[test]
    fn e9_write_to_read_only_code_is_a_protection_fault() {
        let m = e9();
        let f = m
            .translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(0x0240),
                Access::Write,
            )
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::Protection);
    }

    #[test]
    fn split_reports_segment_and_offset() {
        let t = e9().explain(
            crate::memory::PhysicalMemory::empty(),
            VirtAddr::new(0x265c),
            Access::Read,
        );
        assert_eq!(t.segment(), Some((2, 0x65c)));
    }

    #[test]
    fn addresses_wider_than_the_space_fault() {
        assert_eq!(read(&e9(), 0x4000), Err(FaultKind::AddressWidth));
    }

    #[test]
    fn ostep_stack_grows_down_from_its_base() {
        // OSTEP segmentation.py seed 0: 1k space, seg 1 base 4692 limit 450.
        let m = Segmentation::new(
            10,
            vec![
                Segment::up(6890, 472, Perms::all()),
                Segment::down(4692, 450, Perms::all()),
            ],
            16 * 1024,
        )
        .unwrap();
        assert_eq!(read(&m, 802), Ok(4470));
        assert_eq!(read(&m, 523), Err(FaultKind::Bounds));
        assert_eq!(read(&m, 414), Ok(7304));
        assert_eq!(read(&m, 488), Err(FaultKind::Bounds));
    }

    #[test]
    fn segment_count_must_be_a_power_of_two() {
        let three = vec![Segment::up(0, 1, Perms::R); 3];
        assert_eq!(
            Segmentation::new(14, three, 1 << 16),
            Err(ConfigError::SegmentCount(3))
        );
    }

    #[test]
    fn a_stack_below_address_zero_is_rejected() {
        let segs = vec![
            Segment::up(0, 1, Perms::R),
            Segment::down(10, 100, Perms::R),
        ];
        assert!(matches!(
            Segmentation::new(10, segs, 1 << 16),
            Err(ConfigError::BelowZero { .. })
        ));
    }

    #[test]
    fn a_64_bit_stack_offset_of_zero_is_out_of_bounds() {
        // One segment over 64-bit addresses: offset 0 is 2^64 below the
        // top, beyond any size (the walk once wrapped it to distance 0).
        let m = Segmentation::new(64, vec![Segment::down(100, 50, Perms::R)], 1000).unwrap();
        assert_eq!(read(&m, 0), Err(FaultKind::Bounds));
        assert_eq!(read(&m, u64::MAX), Ok(99));
        assert_eq!(read(&m, u64::MAX - 49), Ok(50));
        assert_eq!(read(&m, u64::MAX - 50), Err(FaultKind::Bounds));
    }

    mod fast_path {
        use super::*;
        use crate::mmu::any_access;
        use proptest::prelude::*;

        /// A segment with sizes and bases near the edges: 0, the offset
        /// range, the top of memory and 2^64.
        fn segment() -> impl Strategy<Value = Segment> {
            let size = prop_oneof![
                Just(0u64),
                1u64..64,
                any::<u64>(),
                (0u32..64).prop_map(|b| 1u64 << b)
            ];
            let base = prop_oneof![
                0u64..256,
                any::<u64>(),
                (0u64..256).prop_map(|d| u64::MAX - d)
            ];
            (base, size, any::<bool>(), 0u8..8).prop_map(|(base, size, down, p)| Segment {
                base,
                size,
                grows_down: down,
                perms: Perms::from_bits_truncate(p),
                name: None,
            })
        }

        /// Addresses to try on `m`: `raw` ones, and for every segment the
        /// offsets just around both ends of its bounds.
        fn addresses(m: &Segmentation, raw: &[u64]) -> Vec<u64> {
            let mut vas = raw.to_vec();
            let top = (1u128 << m.va_bits()) - 1;
            vas.extend(
                raw.iter()
                    .map(|&r| (top.saturating_sub(u128::from(r & 0xff))) as u64),
            );
            for (i, d) in m.decoded().iter().enumerate() {
                let seg = (i as u128) << m.offset_bits();
                for off in [
                    d.lo.wrapping_sub(1),
                    d.lo,
                    d.lo.wrapping_add(d.len).wrapping_sub(1),
                    d.lo.wrapping_add(d.len),
                ] {
                    let va = seg | (u128::from(off) & ((1u128 << m.offset_bits()) - 1));
                    vas.push(va as u64);
                }
            }
            vas
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]
            /// The decoded fast path and the narrated walk agree on every
            /// input, including segments loaded past memory or past the
            /// offset range by set_segment.
            #[test]
            fn translate_agrees_with_the_walk(
                (va_bits, seg_bits) in (1u32..=64).prop_flat_map(|v| (Just(v), 0u32..=v.min(3))),
                phys in prop_oneof![1u64..1 << 16, any::<u64>(), Just(u64::MAX)],
                loads in proptest::collection::vec((any::<prop::sample::Index>(), segment()), 0..6),
                raw in proptest::collection::vec(any::<u64>(), 8),
                access in any_access(),
            ) {
                let n = 1usize << seg_bits;
                let empty = vec![Segment::up(0, 0, Perms::empty()); n];
                let mut m = Segmentation::new(va_bits, empty, phys).unwrap();
                // Load arbitrary segments, unchecked, the way a kernel could.
                for (idx, seg) in loads {
                    m.set_segment(Mode::Kernel, idx.index(n), seg).unwrap();
                }
                for va in addresses(&m, &raw) {
                    let fast = m.translate(crate::memory::PhysicalMemory::empty(), VirtAddr::new(va), access);
                    let slow = m.walk(crate::memory::PhysicalMemory::empty(), VirtAddr::new(va), access, &mut NoSteps);
                    prop_assert_eq!(fast, slow, "va {:#x}", va);
                }
            }

            /// Tables that `new` accepts are decoded exactly (no segment
            /// needs the walk), and agree with it.
            #[test]
            fn accepted_tables_decode_exactly(
                va_bits in 2u32..=64,
                segs in proptest::collection::vec(segment(), 4),
                raw in proptest::collection::vec(any::<u64>(), 8),
                access in any_access(),
            ) {
                let phys = u64::MAX;
                let max = u64::try_from(1u128 << (va_bits - 2)).unwrap_or(u64::MAX);
                let segs: Vec<Segment> = segs
                    .into_iter()
                    .map(|mut s| {
                        s.size = s.size.min(max);
                        s.base = if s.grows_down { s.base.max(s.size) } else { s.base.min(phys - s.size) };
                        s
                    })
                    .collect();
                let m = Segmentation::new(va_bits, segs, phys).unwrap();
                prop_assert!(m.decoded().iter().all(|d| d.exact));
                for va in addresses(&m, &raw) {
                    let fast = m.translate(crate::memory::PhysicalMemory::empty(), VirtAddr::new(va), access);
                    let slow = m.walk(crate::memory::PhysicalMemory::empty(), VirtAddr::new(va), access, &mut NoSteps);
                    prop_assert_eq!(fast, slow, "va {:#x}", va);
                }
            }
        }
    }
}
