//! The stack allocator (lecture E2): a pointer bump.
//!
//! ```text
//!   base                 top (the pointer)          base+size
//!   | A 16 | B 8 | C 4 |  ->  free space           |
//! ```
//!
//! `alloc` hands out the bytes at the pointer and moves it up by the size;
//! `free` must name the most recent live allocation and moves the pointer
//! back. Freeing anything else is refused (a stack is last in, first out).
//! There are never holes, so fragmentation is always 0.

/// One live allocation on the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The name the caller gave it.
    pub name: String,
    /// First byte.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
}

/// Why a stack operation was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StackError {
    /// Not enough room above the pointer.
    #[error("{name} needs {size} bytes but only {left} are left on the stack")]
    Overflow {
        /// The request's name.
        name: String,
        /// Requested bytes.
        size: u64,
        /// Bytes left above the pointer.
        left: u64,
    },
    /// Freeing something that is not on top.
    #[error("cannot free {name}: {top} is on top of the stack (frees must come in reverse order)")]
    OutOfOrder {
        /// What the caller tried to free.
        name: String,
        /// What is on top.
        top: String,
    },
    /// Freeing a name that is not allocated at all.
    #[error("cannot free {name}: it is not on the stack")]
    NotAllocated {
        /// The name.
        name: String,
    },
    /// A name already in use.
    #[error("{name} is already on the stack")]
    Duplicate {
        /// The name.
        name: String,
    },
}

/// A pointer-bump stack of `size` bytes at `base`.
#[derive(Clone, Debug)]
pub struct Stack {
    base: u64,
    size: u64,
    frames: Vec<Frame>,
}

impl Stack {
    /// An empty stack; `None` when `base + size` overflows.
    pub fn new(base: u64, size: u64) -> Option<Stack> {
        base.checked_add(size)?;
        Some(Stack {
            base,
            size,
            frames: Vec::new(),
        })
    }

    /// The pointer: where the next allocation goes.
    pub fn top(&self) -> u64 {
        self.frames.last().map_or(self.base, |f| f.addr + f.size)
    }

    /// Bytes in use.
    pub fn used(&self) -> u64 {
        self.top() - self.base
    }

    /// The live allocations, bottom first.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// External fragmentation: always 0 (a stack has no holes).
    pub fn fragmentation(&self) -> f64 {
        0.0
    }

    /// Allocates `size` bytes named `name` at the pointer and bumps it.
    ///
    /// Returns the address, or `Overflow`/`Duplicate` (stack unchanged).
    pub fn alloc(&mut self, name: &str, size: u64) -> Result<u64, StackError> {
        if self.frames.iter().any(|f| f.name == name) {
            return Err(StackError::Duplicate { name: name.into() });
        }
        let left = self.size - self.used();
        if size > left {
            return Err(StackError::Overflow {
                name: name.into(),
                size,
                left,
            });
        }
        let addr = self.top();
        self.frames.push(Frame {
            name: name.into(),
            addr,
            size,
        });
        Ok(addr)
    }

    /// Frees `name`, which must be the most recent live allocation; the
    /// pointer moves back by its size.
    ///
    /// Returns the freed frame, or `OutOfOrder`/`NotAllocated` (unchanged).
    pub fn free(&mut self, name: &str) -> Result<Frame, StackError> {
        match self.frames.last() {
            Some(top) if top.name == name => Ok(self.frames.pop().expect("checked non-empty")),
            Some(top) if self.frames.iter().any(|f| f.name == name) => {
                Err(StackError::OutOfOrder {
                    name: name.into(),
                    top: top.name.clone(),
                })
            }
            _ => Err(StackError::NotAllocated { name: name.into() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e2_sequence_moves_the_pointer_up_and_back() {
        let mut s = Stack::new(0, 64).unwrap();
        assert_eq!(s.alloc("A", 16), Ok(0));
        assert_eq!(s.alloc("B", 8), Ok(16));
        assert_eq!(s.alloc("C", 4), Ok(24));
        assert_eq!(s.top(), 28);
        s.free("C").unwrap();
        assert_eq!(s.alloc("D", 8), Ok(24));
        s.free("D").unwrap();
        s.free("B").unwrap();
        s.free("A").unwrap();
        assert_eq!(s.top(), 0);
        assert_eq!(s.fragmentation(), 0.0);
    }

    #[test]
    fn out_of_order_free_is_refused_and_changes_nothing() {
        let mut s = Stack::new(0, 64).unwrap();
        s.alloc("A", 16).unwrap();
        s.alloc("B", 8).unwrap();
        let e = s.free("A").unwrap_err();
        assert!(matches!(e, StackError::OutOfOrder { .. }));
        assert_eq!(s.top(), 24);
        assert!(matches!(s.free("Z"), Err(StackError::NotAllocated { .. })));
    }

    #[test]
    fn overflow_is_refused() {
        let mut s = Stack::new(0, 10).unwrap();
        assert!(matches!(
            s.alloc("A", 11),
            Err(StackError::Overflow { left: 10, .. })
        ));
    }
}
