//! Fit policies: which hole of the free list a request takes.
//!
//! - first fit: the first hole large enough (stops searching there);
//! - best fit: the smallest hole large enough (searches the whole list; ties
//!   go to the hole met first);
//! - worst fit: the largest hole (whole list; ties to the first met);
//! - next fit: first fit, but the search starts where the last one ended and
//!   wraps around (vmlab's addition; not in malloc.py).

use super::Hole;

/// A fit policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// The first hole that fits.
    First,
    /// The smallest hole that fits.
    Best,
    /// The largest hole.
    Worst,
    /// First fit, starting where the previous search stopped.
    Next,
}

impl Fit {
    /// All policies, in the order the lecture presents them.
    pub const ALL: [Fit; 4] = [Fit::First, Fit::Best, Fit::Worst, Fit::Next];

    /// The policy's name as malloc.py spells it (FIRST, BEST, WORST) and NEXT.
    pub fn name(self) -> &'static str {
        match self {
            Fit::First => "FIRST",
            Fit::Best => "BEST",
            Fit::Worst => "WORST",
            Fit::Next => "NEXT",
        }
    }

    /// Parses a policy name in any case (`best`, `BEST`, `Best`).
    pub fn parse(text: &str) -> Option<Fit> {
        match text.to_ascii_uppercase().as_str() {
            "FIRST" => Some(Fit::First),
            "BEST" => Some(Fit::Best),
            "WORST" => Some(Fit::Worst),
            "NEXT" => Some(Fit::Next),
            _ => None,
        }
    }
}

/// What a search found: the list index of the chosen hole (if any) and how
/// many elements were looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Search {
    /// Index into the free list of the hole to use.
    pub index: Option<usize>,
    /// Elements examined.
    pub searched: usize,
}

/// Searches `free` for a hole of at least `needed` bytes under `fit`;
/// `rover` is where next fit starts (ignored by the others).
pub fn search(fit: Fit, free: &[Hole], needed: u64, rover: usize) -> Search {
    match fit {
        Fit::First => first(free, needed),
        Fit::Best => best(free, needed),
        Fit::Worst => worst(free, needed),
        Fit::Next => next(free, needed, rover),
    }
}

/// First fit: stop at the first hole that is large enough.
fn first(free: &[Hole], needed: u64) -> Search {
    match free.iter().position(|h| h.size >= needed) {
        Some(i) => Search {
            index: Some(i),
            searched: i + 1,
        },
        None => Search {
            index: None,
            searched: free.len(),
        },
    }
}

/// Best fit: look at every hole, keep the smallest that fits (the first one
/// met among equals).
fn best(free: &[Hole], needed: u64) -> Search {
    let mut chosen: Option<usize> = None;
    for (i, h) in free.iter().enumerate() {
        if h.size >= needed && chosen.is_none_or(|c| h.size < free[c].size) {
            chosen = Some(i);
        }
    }
    Search {
        index: chosen,
        searched: free.len(),
    }
}

/// Worst fit: look at every hole, keep the largest that fits (the first one
/// met among equals).
fn worst(free: &[Hole], needed: u64) -> Search {
    let mut chosen: Option<usize> = None;
    for (i, h) in free.iter().enumerate() {
        if h.size >= needed && chosen.is_none_or(|c| h.size > free[c].size) {
            chosen = Some(i);
        }
    }
    Search {
        index: chosen,
        searched: free.len(),
    }
}

/// Next fit: first fit starting at `rover`, wrapping around the list once.
fn next(free: &[Hole], needed: u64, rover: usize) -> Search {
    let n = free.len();
    let start = if rover < n { rover } else { 0 };
    for k in 0..n {
        let i = (start + k) % n;
        if free[i].size >= needed {
            return Search {
                index: Some(i),
                searched: k + 1,
            };
        }
    }
    Search {
        index: None,
        searched: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// E3's holes: 16 at 0, 24 at 28.
    fn e3() -> Vec<Hole> {
        vec![Hole { addr: 0, size: 16 }, Hole { addr: 28, size: 24 }]
    }

    #[test]
    fn e3_request_12_first_best_take_0_worst_takes_28() {
        let holes = e3();
        assert_eq!(search(Fit::First, &holes, 12, 0).index, Some(0));
        assert_eq!(search(Fit::Best, &holes, 12, 0).index, Some(0));
        assert_eq!(search(Fit::Worst, &holes, 12, 0).index, Some(1));
    }

    #[test]
    fn first_fit_counts_only_what_it_looked_at() {
        let holes = e3();
        assert_eq!(search(Fit::First, &holes, 20, 0).searched, 2);
        assert_eq!(search(Fit::First, &holes, 10, 0).searched, 1);
        assert_eq!(search(Fit::Best, &holes, 10, 0).searched, 2);
    }

    #[test]
    fn ties_go_to_the_first_hole_met() {
        let holes = vec![Hole { addr: 50, size: 8 }, Hole { addr: 0, size: 8 }];
        assert_eq!(search(Fit::Best, &holes, 8, 0).index, Some(0));
        assert_eq!(search(Fit::Worst, &holes, 8, 0).index, Some(0));
    }

    #[test]
    fn next_fit_starts_at_the_rover_and_wraps() {
        let holes = e3();
        assert_eq!(
            search(Fit::Next, &holes, 12, 1),
            Search {
                index: Some(1),
                searched: 1
            }
        );
        assert_eq!(
            search(Fit::Next, &holes, 20, 1),
            Search {
                index: Some(1),
                searched: 1
            }
        );
        let s = search(Fit::Next, &holes, 14, 1);
        assert_eq!(s.index, Some(1));
        let holes = vec![Hole { addr: 0, size: 16 }, Hole { addr: 28, size: 4 }];
        assert_eq!(
            search(Fit::Next, &holes, 12, 1),
            Search {
                index: Some(0),
                searched: 2
            }
        );
    }

    #[test]
    fn nothing_fits_means_every_element_was_searched() {
        let holes = e3();
        for fit in Fit::ALL {
            assert_eq!(
                search(fit, &holes, 32, 0),
                Search {
                    index: None,
                    searched: 2
                }
            );
        }
    }
}
