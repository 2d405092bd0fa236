//! Pictures of a heap: the memory map in address order (named blocks and
//! holes), the free list in list order, and the fragmentation summary.

use crate::heap::Heap;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The memory map: `0 [free 16] 16 [A 12] 28 [free 24] 52 [B 16] 68`.
/// Blocks are named from `names` (block address -> name), else `used`.
pub fn memory_map(heap: &Heap, names: &HashMap<u64, String>) -> String {
    let mut pieces: Vec<(u64, u64, String)> = heap
        .free_list()
        .iter()
        .map(|h| (h.addr, h.size, "free".to_string()))
        .collect();
    for (addr, size) in heap.allocations() {
        let name = names.get(&addr).cloned().unwrap_or_else(|| "used".into());
        pieces.push((addr, size, name));
    }
    pieces.sort_by_key(|p| p.0);
    let mut s = String::new();
    for (addr, size, name) in &pieces {
        s.push_str(&format!("{addr} [{name} {size}] "));
    }
    s.push_str(&(heap.start() + heap.size()).to_string());
    s
}

/// The free list in list order: `[ addr:0 sz:16 ][ addr:28 sz:24 ]` (or
/// `(empty)`).
pub fn free_list(heap: &Heap) -> String {
    if heap.free_list().is_empty() {
        return "(empty)".into();
    }
    heap.free_list()
        .iter()
        .map(|h| format!("[ addr:{} sz:{} ]", h.addr, h.size))
        .collect()
}

/// `free 40 in 2 holes, largest hole 24, external fragmentation 40.00%`.
pub fn summary(heap: &Heap) -> String {
    format!(
        "free {} in {}, largest hole {}, external fragmentation {:.2}%",
        heap.free_bytes(),
        super::counted(heap.free_list().len() as u64, "hole", "holes"),
        heap.largest_hole(),
        heap.fragmentation() * 100.0
    )
}

/// The heap's state as JSON fields: free list, free bytes, largest hole,
/// fragmentation (a fraction).
pub fn state_json(heap: &Heap) -> Value {
    json!({
        "free_list": heap.free_list().iter().map(|h| json!({"addr": h.addr, "size": h.size})).collect::<Vec<_>>(),
        "free_bytes": heap.free_bytes(),
        "largest_hole": heap.largest_hole(),
        "fragmentation": heap.fragmentation(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::HeapConfig;

    #[test]
    fn map_names_blocks_and_holes_in_address_order() {
        let mut h = Heap::new(0, 30, HeapConfig::default()).unwrap();
        let a = h.alloc(10).unwrap();
        let names = HashMap::from([(a.addr, "A".to_string())]);
        assert_eq!(memory_map(&h, &names), "0 [A 10] 10 [free 20] 30");
        assert_eq!(free_list(&h), "[ addr:10 sz:20 ]");
        assert!(summary(&h).ends_with("external fragmentation 0.00%"));
    }
}
