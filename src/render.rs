//! What a person or a tool sees: narrated text, JSON lines, SVG pictures
//! (`svg`) and scenario steps with pictures (`steps`, for HTML and the web).
//! The simulation never prints; it returns results and events, and these
//! functions turn them into output.

pub mod events;
pub mod gantt;
pub mod heap;
pub mod html;
pub mod steps;
pub mod svg;
pub mod trace;
pub mod translation;

/// `n` and the noun, singular for exactly one: `1 fault`, `0 faults`,
/// `3 context switches`.
pub fn counted(n: impl Into<u64>, singular: &str, plural: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests {
    #[test]
    fn counted_is_singular_for_one_only() {
        assert_eq!(super::counted(1u64, "fault", "faults"), "1 fault");
        assert_eq!(super::counted(0u64, "fault", "faults"), "0 faults");
        assert_eq!(super::counted(2u32, "hole", "holes"), "2 holes");
    }
}
