//! The virtual-address trace of a translation homework: `n` addresses drawn
//! at random (`int(asize * random())`, one draw each, in order) or the list a
//! user gave with `-A`. Drawn lazily, so a million-address problem needs no
//! memory for its trace.

use super::PyRandom;
use super::pyconv::convert_size;

/// Where the addresses of a problem come from.
#[derive(Clone, Debug)]
pub enum AddressSource {
    /// `count` addresses drawn uniformly from `[0, asize)`.
    Random {
        /// How many.
        count: u64,
    },
    /// The user's list (`-A 1,2,3`), as given (may be out of range).
    Given(Vec<i128>),
}

impl AddressSource {
    /// Reads `-A`: `-1` means "draw `num` at random"; otherwise a comma list
    /// of addresses (decimal, hex with `0x`, or with a unit like `1k`).
    ///
    /// Returns a one-line message naming the bad item (empty, fractional,
    /// not a number).
    pub fn parse(addresses: &str, num: i128) -> Result<Self, String> {
        if addresses == "-1" {
            let count = u64::try_from(num.max(0)).unwrap_or(u64::MAX);
            return Ok(AddressSource::Random { count });
        }
        addresses
            .split(',')
            .enumerate()
            .map(|(i, item)| {
                convert_size(item).map_err(|e| format!("-A: address {} of the list: {e}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(AddressSource::Given)
    }

    /// How many addresses the trace has.
    pub fn len(&self) -> u64 {
        match self {
            AddressSource::Random { count } => *count,
            AddressSource::Given(list) => list.len() as u64,
        }
    }

    /// Whether the trace is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first given address outside `[0, asize)`, if any.
    pub fn first_out_of_range(&self, asize: u64) -> Option<i128> {
        match self {
            AddressSource::Random { .. } => None,
            AddressSource::Given(list) => list
                .iter()
                .copied()
                .find(|&va| va < 0 || va >= i128::from(asize)),
        }
    }

    /// The addresses in order, drawing from `rng` when random. An address
    /// outside `[0, asize)` (only possible when given) comes as `Err`.
    pub fn iter<'a>(
        &'a self,
        rng: &'a mut PyRandom,
        asize: u64,
    ) -> impl Iterator<Item = Result<u64, i128>> + 'a {
        let given: &[i128] = match self {
            AddressSource::Given(list) => list,
            AddressSource::Random { .. } => &[],
        };
        let random = match self {
            AddressSource::Random { count } => *count,
            AddressSource::Given(_) => 0,
        };
        let drawn = (0..random).map(move |_| Ok(draw_below(rng, asize)));
        let listed = given
            .iter()
            .map(move |&va| u64::try_from(va).ok().filter(|&v| v < asize).ok_or(va));
        drawn.chain(listed)
    }
}

/// `int(n * random.random())`: the originals' uniform draw from `[0, n)`.
#[inline]
pub fn draw_below(rng: &mut PyRandom, n: u64) -> u64 {
    (n as f64 * rng.random()) as u64
}
