//! The OSTEP homework drop-ins: the same flags, problems and answers as the
//! original Python simulators, byte for byte, with CPython-exact randomness.

pub mod pyrandom;

pub use pyrandom::PyRandom;
pub mod malloc;
pub mod pyvalue;
pub mod scheduler;
