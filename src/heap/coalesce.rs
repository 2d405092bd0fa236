//! Coalescing: merging holes that touch.
//!
//! As in malloc.py, one pass over the list merges each hole into the one
//! before it in the list when the earlier one ends exactly where it starts.
//! Under ADDRSORT this merges every pair of neighbours in memory; under the
//! other orders only those that also sit next to each other in the list (the
//! lecture's point: coalescing wants an address-ordered list).

use super::Hole;

/// Merges list neighbours that are also memory neighbours, in one pass.
pub fn merge_list_neighbours(free: &mut Vec<Hole>) {
    if free.len() < 2 {
        return;
    }
    let mut kept = 0;
    for i in 1..free.len() {
        let next = free[i];
        if free[kept].end() == next.addr {
            // The hole before ends where this one starts -> one hole.
            free[kept].size += next.size;
        } else {
            kept += 1;
            free[kept] = next;
        }
    }
    free.truncate(kept + 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(addr: u64, size: u64) -> Hole {
        Hole { addr, size }
    }

    #[test]
    fn neighbours_in_list_and_memory_merge() {
        let mut free = vec![h(0, 10), h(10, 5), h(15, 5), h(30, 1)];
        merge_list_neighbours(&mut free);
        assert_eq!(free, vec![h(0, 20), h(30, 1)]);
    }

    #[test]
    fn memory_neighbours_apart_in_the_list_stay_apart() {
        let mut free = vec![h(10, 5), h(0, 10)];
        merge_list_neighbours(&mut free);
        assert_eq!(free, vec![h(10, 5), h(0, 10)]);
    }
}
