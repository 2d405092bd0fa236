//! The OSTEP homework drop-ins: the same flags, problems and answers as the
//! original Python simulators, byte for byte, with CPython-exact randomness.

pub mod lines;
pub mod multilevel;
pub mod paging;
pub mod pyconv;
pub mod pyrandom;
pub mod quiz;
pub mod relocation;
pub mod segmentation;
pub mod vtrace;

pub use pyrandom::PyRandom;
pub mod malloc;
pub mod pyvalue;
pub mod scheduler;
