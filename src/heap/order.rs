//! List orders: where a freed block goes back into the free list.
//!
//! malloc.py's five orders: ADDRSORT (by address), SIZESORT+ (by size,
//! smallest first), SIZESORT- (largest first), INSERT-FRONT, INSERT-BACK.
//! The sorted orders re-sort the whole list after appending the block, with a
//! stable sort: holes split by earlier allocations may have left the list out
//! of size order, and equal sizes keep their relative order, exactly as
//! Python's `sorted` does.

use super::Hole;

/// Where freed blocks go in the free list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListOrder {
    /// Sorted by address.
    AddrSort,
    /// Sorted by size, smallest first.
    SizeSortAscending,
    /// Sorted by size, largest first.
    SizeSortDescending,
    /// Freed blocks go to the front.
    InsertFront,
    /// Freed blocks go to the back.
    InsertBack,
}

impl ListOrder {
    /// All orders, in malloc.py's order.
    pub const ALL: [ListOrder; 5] = [
        ListOrder::AddrSort,
        ListOrder::SizeSortAscending,
        ListOrder::SizeSortDescending,
        ListOrder::InsertFront,
        ListOrder::InsertBack,
    ];

    /// The name as malloc.py spells it.
    pub fn name(self) -> &'static str {
        match self {
            ListOrder::AddrSort => "ADDRSORT",
            ListOrder::SizeSortAscending => "SIZESORT+",
            ListOrder::SizeSortDescending => "SIZESORT-",
            ListOrder::InsertFront => "INSERT-FRONT",
            ListOrder::InsertBack => "INSERT-BACK",
        }
    }

    /// Parses an order name in any case (`addrsort`, `SIZESORT+`).
    pub fn parse(text: &str) -> Option<ListOrder> {
        let upper = text.to_ascii_uppercase();
        ListOrder::ALL.into_iter().find(|o| o.name() == upper)
    }
}

/// Puts `hole` into `free` as `order` says.
pub fn insert(order: ListOrder, free: &mut Vec<Hole>, hole: Hole) {
    match order {
        ListOrder::InsertBack => free.push(hole),
        ListOrder::InsertFront => free.insert(0, hole),
        ListOrder::AddrSort => {
            // Addresses are unique and the list stays address-sorted between
            // frees (a split keeps a hole's place), so a binary insertion
            // gives the same list as append + sort.
            if free.windows(2).all(|w| w[0].addr < w[1].addr) {
                let at = free.partition_point(|h| h.addr < hole.addr);
                free.insert(at, hole);
            } else {
                free.push(hole);
                free.sort_by_key(|h| h.addr);
            }
        }
        ListOrder::SizeSortAscending => {
            free.push(hole);
            free.sort_by_key(|h| h.size);
        }
        ListOrder::SizeSortDescending => {
            free.push(hole);
            free.sort_by_key(|h| std::cmp::Reverse(h.size));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(addr: u64, size: u64) -> Hole {
        Hole { addr, size }
    }

    #[test]
    fn names_round_trip_in_any_case() {
        for o in ListOrder::ALL {
            assert_eq!(ListOrder::parse(&o.name().to_lowercase()), Some(o));
        }
        assert_eq!(ListOrder::parse("SIZESORT"), None);
    }

    #[test]
    fn size_sorts_are_stable_among_equal_sizes() {
        let mut free = vec![h(0, 5), h(20, 3)];
        insert(ListOrder::SizeSortAscending, &mut free, h(10, 5));
        assert_eq!(free, vec![h(20, 3), h(0, 5), h(10, 5)]);
        let mut free = vec![h(0, 5), h(20, 3)];
        insert(ListOrder::SizeSortDescending, &mut free, h(10, 5));
        assert_eq!(free, vec![h(0, 5), h(10, 5), h(20, 3)]);
    }

    #[test]
    fn addrsort_inserts_in_place() {
        let mut free = vec![h(0, 5), h(20, 3)];
        insert(ListOrder::AddrSort, &mut free, h(10, 5));
        assert_eq!(free, vec![h(0, 5), h(10, 5), h(20, 3)]);
    }

    #[test]
    fn insert_front_and_back() {
        let mut free = vec![h(0, 5)];
        insert(ListOrder::InsertFront, &mut free, h(10, 1));
        insert(ListOrder::InsertBack, &mut free, h(20, 2));
        assert_eq!(free, vec![h(10, 1), h(0, 5), h(20, 2)]);
    }
}
