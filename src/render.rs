//! What a person or a tool sees: narrated text, JSON lines (and later SVG and
//! HTML). The simulation never prints; it returns results and events, and
//! these functions turn them into output.

pub mod events;
pub mod gantt;
pub mod heap;
pub mod trace;
pub mod translation;
