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
    Access, ConfigError, Mmu, MmuRegisters, Mode, Perms, RegisterError, Step, StepRecorder,
};
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::{Fault, FaultKind};

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
        Ok(Self {
            va_bits,
            segment_bits,
            segments,
            phys_size,
        })
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
        *slot = segment;
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
    fn mechanism(&self) -> &'static str {
        "segmentation"
    }

    #[inline(always)]
    fn walk<R: StepRecorder>(
        &self,
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
            let distance = (max - offset as u128) as u64; // offset < max, distance <= 2^63 or max
            let ok = distance <= seg.size;
            rec.record(|| Step::CheckNegativeOffset {
                max: u64::try_from(max).unwrap_or(u64::MAX),
                distance,
                bounds: seg.size,
                ok,
            });
            if !ok {
                return Err(fault(FaultKind::Bounds));
            }
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

    fn registers(&self) -> MmuRegisters {
        MmuRegisters::Segments(self.segments.clone())
    }

    fn load_registers(&mut self, mode: Mode, regs: &MmuRegisters) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        match regs {
            MmuRegisters::Segments(table) if table.len() == self.segments.len() => {
                self.segments.clone_from(table);
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
        m.translate(VirtAddr::new(va), Access::Read)
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
            .translate(VirtAddr::new(0x0240), Access::Write)
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::Protection);
    }

    #[test]
    fn split_reports_segment_and_offset() {
        let t = e9().explain(VirtAddr::new(0x265c), Access::Read);
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
}
