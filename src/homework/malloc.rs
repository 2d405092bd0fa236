//! The malloc.py homework: a random (or given) sequence of `Alloc(size)` and
//! `Free(ptr[i])` run on the library's free-list allocator ([`crate::heap`]),
//! with malloc.py's problem generation drawn from CPython-exact randomness.
//!
//! The simulation hands each operation, with the heap after it, to a
//! callback; the command renders it (malloc.py's text, or JSON). Input that
//! makes malloc.py crash or print nonsense is refused here with the reason
//! (see docs/tour/alloc.md for the list).

use super::PyRandom;
use crate::heap::{AllocError, Allocation, Fit, Heap, HeapConfig, ListOrder};

/// The largest whole number a float holds exactly: random sizes are drawn as
/// `int(random() * range) + 1`.
const MAX_EXACT: i128 = 1 << 53;

/// A validated malloc.py configuration.
#[derive(Clone, Debug)]
pub struct MallocConfig {
    /// `-s`.
    pub seed: i128,
    /// `-S`: heap size.
    pub size: u64,
    /// `-b`: base address.
    pub base: u64,
    /// `-H`: header size.
    pub header: u64,
    /// `-a`: alignment (None = malloc.py's -1).
    pub align: Option<u64>,
    /// `-p`.
    pub fit: Fit,
    /// `-l`.
    pub order: ListOrder,
    /// `-C`.
    pub coalesce: bool,
    /// `-n`: random operations to generate.
    pub ops: i128,
    /// `-r`: largest random request.
    pub range: i128,
    /// `-P`: percent of random operations that are allocations.
    pub percent_alloc: i128,
    /// `-A`: the given operations (None: random).
    pub list: Option<Vec<ListOp>>,
}

/// One operation of an `-A` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListOp {
    /// `+N`: allocate N bytes.
    Alloc(u64),
    /// `-I`: free `ptr[I]`.
    Free(u64),
}

/// What one step did (handed to the renderer with the heap after it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// `ptr[index] = Alloc(size)`.
    Alloc {
        /// The pointer's index.
        index: u64,
        /// Requested bytes.
        size: u64,
        /// The allocator's answer.
        result: Result<Allocation, AllocError>,
    },
    /// `Free(ptr[index])`; `ok` is whether a block was freed (false for a
    /// double free).
    Free {
        /// The pointer's index.
        index: u64,
        /// The address freed.
        addr: u64,
        /// Whether the heap accepted it (malloc.py's return code 0 / -1).
        ok: bool,
    },
    /// An `-A` free of a pointer not allocated yet, or whose allocation
    /// failed: skipped.
    Skip {
        /// The pointer's index.
        index: u64,
    },
}

/// Parses an `-A` list (`+10,-0,+5`).
///
/// Errors name the operation and its position: empty items, anything but
/// `+N`/`-I`, negative or non-numeric values.
pub fn parse_list(text: &str) -> Result<Vec<ListOp>, String> {
    text.split(',')
        .enumerate()
        .map(|(i, item)| {
            let n = i + 1;
            let bad = |why: &str| format!("-A: operation {n} ('{item}') {why}");
            let (kind, rest) = match item.chars().next() {
                Some('+') => ('+', &item[1..]),
                Some('-') => ('-', &item[1..]),
                Some(_) => return Err(bad("must be +SIZE (allocate) or -INDEX (free ptr[INDEX])")),
                None => return Err(bad("is empty; write +SIZE or -INDEX")),
            };
            let value = super::pyconv::python_int(rest, 10)
                .ok_or_else(|| bad("needs a whole number after the sign"))?;
            let value = u64::try_from(value).map_err(|_| bad("needs a number >= 0"))?;
            Ok(if kind == '+' {
                ListOp::Alloc(value)
            } else {
                ListOp::Free(value)
            })
        })
        .collect()
}

impl MallocConfig {
    /// The allocator's configuration.
    pub fn heap_config(&self) -> HeapConfig {
        HeapConfig {
            fit: self.fit,
            order: self.order,
            coalesce: self.coalesce,
            header: self.header,
            align: self.align,
        }
    }

    /// Checks what malloc.py would crash on or get wrong, before anything
    /// runs: returns a one-line reason.
    pub fn validate(&self) -> Result<Heap, String> {
        if self.percent_alloc <= 0 {
            return Err(format!(
                "-P {}: the percent of allocations must be > 0 (malloc.py stops on an assertion)",
                self.percent_alloc
            ));
        }
        if self.range < 0 {
            return Err(format!(
                "-r {}: the largest request must be >= 0",
                self.range
            ));
        }
        if self.range > MAX_EXACT {
            return Err(format!(
                "-r {}: the largest request must be at most 2^53 (sizes are drawn as floats)",
                self.range
            ));
        }
        let heap = Heap::new(self.base, self.size, self.heap_config())
            .map_err(|e| format!("-S/-b: {e}"))?;
        if let Some(list) = &self.list {
            for (i, op) in list.iter().enumerate() {
                if let ListOp::Alloc(size) = op {
                    heap.block_size(*size).map_err(|e| {
                        format!("-A: operation {} (+{size}): {e}; sizes start at 1", i + 1)
                    })?;
                }
            }
        }
        Ok(heap)
    }
}

/// Runs the homework: every step goes to `emit` with the heap after it.
///
/// `emit`'s error (a closed pipe, say) stops the run and is returned.
pub fn run<E>(
    config: &MallocConfig,
    mut heap: Heap,
    mut emit: impl FnMut(&Step, &Heap) -> Result<(), E>,
) -> Result<(), E> {
    match &config.list {
        Some(list) => run_list(list, &mut heap, &mut emit),
        None => run_random(config, &mut heap, &mut emit),
    }
}

/// The `-A` sequence. `ptr[i]` is the i-th allocation; a free of an index
/// not allocated yet, or of a failed allocation, is skipped. (malloc.py
/// compares the index with the number of successful allocations instead:
/// after a failure it crashes on some frees and skips valid ones.)
fn run_list<E>(
    list: &[ListOp],
    heap: &mut Heap,
    emit: &mut impl FnMut(&Step, &Heap) -> Result<(), E>,
) -> Result<(), E> {
    let mut ptrs: Vec<Option<u64>> = Vec::new();
    for op in list {
        let step = match *op {
            ListOp::Alloc(size) => {
                let result = heap.alloc(size);
                ptrs.push(result.ok().map(|a| a.addr));
                Step::Alloc {
                    index: ptrs.len() as u64 - 1,
                    size,
                    result,
                }
            }
            ListOp::Free(index) => {
                match usize::try_from(index).ok().and_then(|i| ptrs.get(i)) {
                    // Not allocated yet, or the allocation failed (a NULL
                    // pointer): nothing to free.
                    None | Some(None) => Step::Skip { index },
                    Some(&Some(addr)) => Step::Free {
                        index,
                        addr,
                        ok: heap.free(addr).is_ok(),
                    },
                }
            }
        };
        emit(&step, heap)?;
    }
    Ok(())
}

/// malloc.py's random problem: each round draws whether to allocate
/// (`random() < percent`), then the size `int(random() * range) + 1`, or
/// which live pointer to free `int(random() * live)`; a free with nothing
/// live draws nothing more and does not count.
fn run_random<E>(
    config: &MallocConfig,
    heap: &mut Heap,
    emit: &mut impl FnMut(&Step, &Heap) -> Result<(), E>,
) -> Result<(), E> {
    let mut rng = PyRandom::new(config.seed);
    let percent = config.percent_alloc as f64 / 100.0;
    let range = config.range as f64;
    // Live pointers in allocation order: (index, block address).
    let mut live: Vec<(u64, u64)> = Vec::new();
    let mut next_index = 0u64;
    let mut done = 0i128;
    while done < config.ops {
        if rng.random() < percent {
            let size = (rng.random() * range) as u64 + 1;
            let result = heap.alloc(size);
            if let Ok(a) = result {
                live.push((next_index, a.addr));
            }
            emit(
                &Step::Alloc {
                    index: next_index,
                    size,
                    result,
                },
                heap,
            )?;
            next_index += 1;
            done += 1;
        } else if !live.is_empty() {
            let pick = (rng.random() * live.len() as f64) as usize;
            let (index, addr) = live.remove(pick);
            let ok = heap.free(addr).is_ok();
            emit(&Step::Free { index, addr, ok }, heap)?;
            done += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the flags and the list, a validated configuration runs
        /// to the end without panicking, and every allocation lies inside
        /// the heap.
        #[test]
        fn any_validated_configuration_runs(
            seed in 0..1000i128, size in 0..300u64, header in 0..6u64, align in -1..5i128,
            fit in 0..4usize, order in 0..5usize, coalesce in any::<bool>(),
            ops in -2..60i128, range in 0..40i128, percent in 1..100i128,
            list in proptest::option::of(proptest::collection::vec((any::<bool>(), 0..50u64), 1..30)),
        ) {
            let config = MallocConfig {
                seed, size, base: 1000, header,
                align: (align > 0).then_some(align as u64),
                fit: Fit::ALL[fit], order: ListOrder::ALL[order], coalesce,
                ops, range, percent_alloc: percent,
                list: list.map(|l| l.into_iter().map(|(a, n)| if a { ListOp::Alloc(n) } else { ListOp::Free(n % 8) }).collect()),
            };
            if let Ok(heap) = config.validate() {
                let result: Result<(), ()> = run(&config, heap, |step, _| {
                    if let Step::Alloc { result: Ok(a), .. } = step {
                        assert!(a.addr >= 1000 && a.addr + a.size <= 1000 + size);
                    }
                    Ok(())
                });
                prop_assert!(result.is_ok());
            }
        }
    }

    #[test]
    fn list_parsing_names_the_bad_operation() {
        assert_eq!(
            parse_list("+3,-0,+10").unwrap(),
            vec![ListOp::Alloc(3), ListOp::Free(0), ListOp::Alloc(10)]
        );
        let e = parse_list("+3,x").unwrap_err();
        assert!(e.contains("operation 2") && e.contains("'x'"), "{e}");
        assert!(parse_list("5,,3").is_err());
        assert!(parse_list("+-3").unwrap_err().contains(">= 0"));
    }
}
