//! Address-space layouts: where code, data, heap and stack sit in a
//! process's virtual address space.
//!
//! ```text
//!  canonical            xv6 (E13)               ostep (relocation)
//!  +--------+ size      +--------+ size         +--------+ size
//!  | stack  | grows v   | heap   | grows ^      | heap   | grows ^
//!  |  ...   |           +--------+              +--------+
//!  |  free  |           | stack  | 1 page       | stack  | grows v
//!  |  ...   |           +--------+              +--------+
//!  | heap   | grows ^   | guard  | 1 page       | code   |
//!  +--------+           +--------+              +--------+ 0
//!  | data   |           | data   |
//!  +--------+           | text   |
//!  | code   |           +--------+ 0
//!  +--------+ 0
//! ```
//!
//! Under segmentation each region is its own segment (code 0, heap 1,
//! data 2, stack 3 growing down from the top of its segment's range).

use crate::homework::pyrandom::PyRandom;

/// The page size xv6's layout rounds to.
pub const PAGE: u64 = 4096;

/// A region of an address space.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum RegionKind {
    /// Instructions (read and execute).
    Code,
    /// Globals (static data).
    Data,
    /// malloc's memory, grown by sbrk.
    Heap,
    /// Locals and return addresses.
    Stack,
    /// xv6's guard page: mapped nowhere a program may touch.
    Guard,
}

impl RegionKind {
    /// The lecture's word.
    pub const fn name(self) -> &'static str {
        match self {
            RegionKind::Code => "code",
            RegionKind::Data => "data",
            RegionKind::Heap => "heap",
            RegionKind::Stack => "stack",
            RegionKind::Guard => "guard",
        }
    }

    /// The segment number under segmentation.
    pub const fn segment(self) -> usize {
        match self {
            RegionKind::Code | RegionKind::Guard => 0,
            RegionKind::Heap => 1,
            RegionKind::Data => 2,
            RegionKind::Stack => 3,
        }
    }
}

/// One region: virtual range `[start, start + size)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Region {
    /// What it holds.
    pub kind: RegionKind,
    /// First virtual address.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
}

impl Region {
    /// One past the last virtual address. A stack at the top of a 64-bit
    /// space ends at 2^64, which a u64 cannot hold: this saturates at
    /// 2^64 - 1 there; use [`Region::end_wide`] or [`Region::contains`].
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.size)
    }

    /// One past the last virtual address, exactly (up to 2^64).
    pub fn end_wide(&self) -> u128 {
        u128::from(self.start) + u128::from(self.size)
    }

    /// Whether `va` lies in the region (exact at the top of a 64-bit space).
    pub fn contains(&self, va: u64) -> bool {
        va.checked_sub(self.start)
            .is_some_and(|off| off < self.size)
    }
}

/// Which layout to build.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutKind {
    /// Code, data, heap growing up; stack at the top growing down.
    #[default]
    Canonical,
    /// xv6: text, data, guard page, one stack page, heap above.
    Xv6,
    /// OSTEP's relocation layout: code, stack, heap.
    Ostep,
}

impl LayoutKind {
    /// Its name.
    pub const fn name(self) -> &'static str {
        match self {
            LayoutKind::Canonical => "canonical",
            LayoutKind::Xv6 => "xv6",
            LayoutKind::Ostep => "ostep",
        }
    }
}

/// The sizes a process asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Sizes {
    /// Code bytes.
    pub code: u64,
    /// Data bytes.
    pub data: u64,
    /// Initial heap bytes.
    pub heap: u64,
    /// Initial stack bytes.
    pub stack: u64,
    /// The whole address space (canonical: the stack sits at its top). When
    /// absent, the sum of the parts.
    pub total: Option<u64>,
}

/// A process's virtual address space.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AddressSpace {
    /// The layout it was built with.
    pub layout: LayoutKind,
    /// The regions, in address order.
    pub regions: Vec<Region>,
    /// Its size: `[0, size)` is the address space (the bounds register).
    pub size: u64,
    /// Under segmentation: the segment-number shift (offset bits).
    pub offset_bits: Option<u32>,
}

impl AddressSpace {
    /// Builds the layout `kind` for `sizes`. With `random_stack = Some(seed)`
    /// (canonical layout only) the stack top moves down by a random multiple
    /// of 16 bytes into the free gap, like Linux's `randomize_stack_top`.
    ///
    /// Fails with a message when the parts do not fit the total.
    pub fn build(kind: LayoutKind, s: Sizes, random_stack: Option<i128>) -> Result<Self, String> {
        let add = |a: u64, b: u64| {
            a.checked_add(b)
                .ok_or_else(|| "address-space size overflows 64 bits".to_string())
        };
        let mut regions = Vec::new();
        let size;
        match kind {
            LayoutKind::Canonical => {
                let low = add(add(s.code, s.data)?, s.heap)?;
                let need = add(low, s.stack)?;
                size = s.total.unwrap_or(need);
                if size < need {
                    return Err(format!(
                        "code {} + data {} + heap {} + stack {} = {need} bytes do not fit an address space of {size}",
                        s.code, s.data, s.heap, s.stack
                    ));
                }
                let gap = size - need;
                let shift = match random_stack {
                    Some(seed) if gap >= 16 => {
                        let mut r = PyRandom::new(seed);
                        r.randbelow(gap / 16 + 1) * 16
                    }
                    _ => 0,
                };
                regions.push(Region {
                    kind: RegionKind::Code,
                    start: 0,
                    size: s.code,
                });
                regions.push(Region {
                    kind: RegionKind::Data,
                    start: s.code,
                    size: s.data,
                });
                // Without a stack the heap ends the address space, so that
                // its break is the end (sbrk grows the bounds).
                let heap_start = if s.stack == 0 {
                    size - s.heap
                } else {
                    s.code + s.data
                };
                regions.push(Region {
                    kind: RegionKind::Heap,
                    start: heap_start,
                    size: s.heap,
                });
                regions.push(Region {
                    kind: RegionKind::Stack,
                    start: size - shift - s.stack,
                    size: s.stack,
                });
            }
            LayoutKind::Xv6 => {
                // exec.c: text and data, rounded up to a page; one guard page
                // (inaccessible); one stack page; the heap (sbrk) above.
                let image = add(s.code, s.data)?;
                let rounded = image.div_ceil(PAGE) * PAGE;
                let guard = rounded;
                let stack = add(guard, PAGE)?;
                let heap = add(stack, PAGE)?;
                size = add(heap, s.heap)?;
                regions.push(Region {
                    kind: RegionKind::Code,
                    start: 0,
                    size: s.code,
                });
                regions.push(Region {
                    kind: RegionKind::Data,
                    start: s.code,
                    size: rounded - s.code,
                });
                regions.push(Region {
                    kind: RegionKind::Guard,
                    start: guard,
                    size: PAGE,
                });
                regions.push(Region {
                    kind: RegionKind::Stack,
                    start: stack,
                    size: PAGE,
                });
                regions.push(Region {
                    kind: RegionKind::Heap,
                    start: heap,
                    size: s.heap,
                });
            }
            LayoutKind::Ostep => {
                let stack_end = add(s.code, s.stack)?;
                let need = add(stack_end, s.heap)?;
                size = s.total.unwrap_or(need).max(need);
                regions.push(Region {
                    kind: RegionKind::Code,
                    start: 0,
                    size: s.code,
                });
                regions.push(Region {
                    kind: RegionKind::Stack,
                    start: s.code,
                    size: s.stack,
                });
                regions.push(Region {
                    kind: RegionKind::Heap,
                    start: stack_end,
                    size: size - stack_end,
                });
            }
        }
        regions.retain(|r| r.size > 0 || r.kind == RegionKind::Heap);
        Ok(Self {
            layout: kind,
            regions,
            size,
            offset_bits: None,
        })
    }

    /// The segmented layout: each region in its own segment of a
    /// `va_bits`-bit address space with 4 segments; the stack grows down from
    /// the top of segment 3.
    pub fn segmented(s: Sizes, va_bits: u32) -> Result<Self, String> {
        if !(3..=64).contains(&va_bits) {
            return Err(format!("va_bits = {va_bits}: must be 3..64"));
        }
        let offset_bits = va_bits - 2;
        let max = 1u128 << offset_bits;
        let mut regions = Vec::new();
        for (kind, size) in [
            (RegionKind::Code, s.code),
            (RegionKind::Heap, s.heap),
            (RegionKind::Data, s.data),
            (RegionKind::Stack, s.stack),
        ] {
            if size as u128 > max {
                return Err(format!(
                    "{} of {size} bytes exceeds the {max} bytes a segment of {offset_bits} offset bits can address",
                    kind.name()
                ));
            }
            let seg_start = (kind.segment() as u128) << offset_bits;
            let start = if kind == RegionKind::Stack {
                seg_start + max - size as u128
            } else {
                seg_start
            };
            if size > 0 || kind == RegionKind::Heap {
                regions.push(Region {
                    kind,
                    start: start as u64,
                    size,
                });
            }
        }
        Ok(Self {
            layout: LayoutKind::Canonical,
            regions,
            size: u64::try_from(4 * max).unwrap_or(u64::MAX),
            offset_bits: Some(offset_bits),
        })
    }

    /// The region holding `va`, if any.
    pub fn region_of(&self, va: u64) -> Option<RegionKind> {
        self.regions.iter().find(|r| r.contains(va)).map(|r| r.kind)
    }

    /// The region of a kind.
    pub fn region(&self, kind: RegionKind) -> Option<&Region> {
        self.regions.iter().find(|r| r.kind == kind)
    }

    /// Mutable access to the region of a kind.
    pub fn region_mut(&mut self, kind: RegionKind) -> Option<&mut Region> {
        self.regions.iter_mut().find(|r| r.kind == kind)
    }

    /// Whether the heap can grow up to `new_end` without reaching the next
    /// region above it (canonical: the stack). Under base+bounds with the
    /// heap last, anything goes (the bounds grow).
    pub fn room_above_heap(&self) -> Option<u64> {
        let heap = self.region(RegionKind::Heap)?;
        self.regions
            .iter()
            .filter(|r| r.start >= heap.end() && r.kind != RegionKind::Heap && r.size > 0)
            .map(|r| r.start)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes() -> Sizes {
        Sizes {
            code: 1024,
            data: 512,
            heap: 1024,
            stack: 1024,
            total: Some(16 * 1024),
        }
    }

    #[test]
    fn canonical_puts_the_stack_at_the_top() {
        let a = AddressSpace::build(LayoutKind::Canonical, sizes(), None).unwrap();
        let stack = a.region(RegionKind::Stack).unwrap();
        assert_eq!(stack.end(), 16 * 1024);
        assert_eq!(a.region_of(0), Some(RegionKind::Code));
        assert_eq!(a.region_of(1024), Some(RegionKind::Data));
        assert_eq!(a.region_of(1536), Some(RegionKind::Heap));
        assert_eq!(a.region_of(8000), None);
    }

    #[test]
    fn xv6_puts_the_stack_below_the_heap_above_a_guard_page() {
        let a = AddressSpace::build(LayoutKind::Xv6, sizes(), None).unwrap();
        let guard = a.region(RegionKind::Guard).unwrap();
        let stack = a.region(RegionKind::Stack).unwrap();
        let heap = a.region(RegionKind::Heap).unwrap();
        assert_eq!((guard.start, stack.start, heap.start), (4096, 8192, 12288));
        assert!(stack.end() <= heap.start);
    }

    #[test]
    fn random_stack_is_seeded_and_stays_in_the_gap() {
        let a = AddressSpace::build(LayoutKind::Canonical, sizes(), Some(7)).unwrap();
        let b = AddressSpace::build(LayoutKind::Canonical, sizes(), Some(7)).unwrap();
        assert_eq!(a, b);
        let s = a.region(RegionKind::Stack).unwrap();
        assert!(s.start >= 2560 && s.end() <= 16 * 1024 && s.start % 16 == 0);
    }

    #[test]
    fn ostep_layout_is_code_stack_heap() {
        let a = AddressSpace::build(LayoutKind::Ostep, sizes(), None).unwrap();
        let kinds: Vec<RegionKind> = a.regions.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            vec![RegionKind::Code, RegionKind::Stack, RegionKind::Heap]
        );
        assert_eq!(a.region(RegionKind::Heap).unwrap().end(), 16 * 1024);
    }

    #[test]
    fn segmented_stack_ends_at_the_top_of_segment_3() {
        let a = AddressSpace::segmented(sizes(), 14).unwrap();
        let stack = a.region(RegionKind::Stack).unwrap();
        assert_eq!(stack.end(), 0x4000);
        assert_eq!(a.region_of(0x1000), Some(RegionKind::Heap));
    }

    #[test]
    fn parts_larger_than_the_total_are_an_error() {
        let s = Sizes {
            total: Some(100),
            ..sizes()
        };
        assert!(AddressSpace::build(LayoutKind::Canonical, s, None).is_err());
    }
}
