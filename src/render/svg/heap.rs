//! Picture 5, the heap's free list (`vmlab heap`, `malloc`): blocks along
//! the address line, free and allocated with their headers, the holes a
//! fit policy examined and the one it chose, coalescing; and the stack
//! allocator's pointer (`vmlab stack`).
