//! A heap built from a picture (lecture E3): named blocks and holes in
//! address order, e.g. `free 16 | A 12 | free 24 | B 16`.
//!
//! The pieces are allocated one after the other on a fresh heap (each one
//! carved from the front of the single hole, so they land in address
//! order), then the holes are freed in address order, under the heap's own
//! list order and coalescing. The result is a heap in exactly the state the
//! picture shows, reached through the allocator's own operations.

use super::{Heap, HeapConfig, HeapError};

/// One piece of a layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// The block's name, or None for a hole.
    pub name: Option<String>,
    /// Its size in bytes (a block's size includes its header).
    pub size: u64,
}

/// Why a layout cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The heap itself is impossible.
    #[error(transparent)]
    Heap(#[from] HeapError),
    /// The pieces add up to more than the heap.
    #[error("the pieces take {total} bytes but the heap has {size}")]
    TooLarge {
        /// Sum of the pieces (None: beyond 2^64).
        total: String,
        /// Heap size.
        size: u64,
    },
    /// A piece that no request can produce with this header and alignment.
    #[error("piece {index} ({size} bytes) is not a block size this header/alignment can produce")]
    Piece {
        /// 1-based position in the layout.
        index: usize,
        /// Its size.
        size: u64,
    },
}

/// Builds the heap of `size` bytes at `base` whose first bytes look like
/// `pieces` (the rest, if any, is one hole at the end).
///
/// Returns the heap and the (address, name) of every named block.
pub fn build(
    base: u64,
    size: u64,
    config: HeapConfig,
    pieces: &[Piece],
) -> Result<(Heap, Vec<(u64, String)>), LayoutError> {
    let total = pieces
        .iter()
        .try_fold(0u64, |acc, p| acc.checked_add(p.size));
    if total.is_none_or(|t| t > size) {
        return Err(LayoutError::TooLarge {
            total: total.map_or("more than 2^64".into(), |t| t.to_string()),
            size,
        });
    }
    let mut heap = Heap::new(base, size, config)?;
    let mut named = Vec::new();
    let mut holes = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        // The request that makes a block of exactly this size.
        let block = piece
            .size
            .checked_sub(config.header)
            .filter(|&r| heap.block_size(r).ok() == Some(piece.size))
            .and_then(|r| heap.alloc(r).ok())
            .ok_or(LayoutError::Piece {
                index: i + 1,
                size: piece.size,
            })?;
        match &piece.name {
            Some(n) => named.push((block.addr, n.clone())),
            None => holes.push(block.addr),
        }
    }
    for addr in holes {
        // Just allocated above, so the free cannot fail.
        let _ = heap.free(addr);
    }
    Ok((heap, named))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::Hole;

    fn piece(name: Option<&str>, size: u64) -> Piece {
        Piece {
            name: name.map(String::from),
            size,
        }
    }

    #[test]
    fn e3_layout_has_two_holes_and_two_blocks() {
        let pieces = [
            piece(None, 16),
            piece(Some("A"), 12),
            piece(None, 24),
            piece(Some("B"), 16),
        ];
        let (heap, named) = build(0, 68, HeapConfig::default(), &pieces).unwrap();
        assert_eq!(
            heap.free_list(),
            &[Hole { addr: 0, size: 16 }, Hole { addr: 28, size: 24 }]
        );
        assert_eq!(named, vec![(16, "A".to_string()), (52, "B".to_string())]);
        assert_eq!(heap.allocations(), vec![(16, 12), (52, 16)]);
    }

    #[test]
    fn too_large_and_unreachable_pieces_are_refused() {
        let pieces = [piece(Some("A"), 60)];
        assert!(matches!(
            build(0, 50, HeapConfig::default(), &pieces),
            Err(LayoutError::TooLarge { .. })
        ));
        let config = HeapConfig {
            header: 4,
            ..HeapConfig::default()
        };
        assert!(matches!(
            build(0, 50, config, &[piece(None, 3)]),
            Err(LayoutError::Piece { index: 1, size: 3 })
        ));
    }
}
