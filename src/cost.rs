//! The cost of a memory access: the lecture's latency table (E14) plus a
//! disk, used to turn the counts of a run (instructions, memory accesses,
//! bytes swapped) into an estimated time.
//!
//! ```text
//!   level   size      latency
//!   CPU     -         < 1 ns   (one instruction, counted as 1 ns)
//!   L1      32 KB     1 ns
//!   L2      256 KB    4 ns
//!   L3      > 8 MB    40 ns
//!   DRAM    -         80 ns
//!   disk    -         10 ms + bytes / 100 MB/s
//! ```
//!
//! vmlab does not simulate caches: every access is charged at one level
//! (`served_by`, DRAM by default), which is what the lecture's comparison of
//! time sharing and base+bounds needs. All numbers are overridable.

use serde::{Deserialize, Serialize};

/// One row of the latency table.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Level {
    /// The level's name (`CPU`, `L1`, `L2`, `L3`, `DRAM`).
    pub name: &'static str,
    /// The capacity as the lecture writes it (`32 KB`), or `-`.
    pub size: &'static str,
    /// Latency of one access in nanoseconds.
    pub latency_ns: f64,
}

/// Which level of the table serves a memory access.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServedBy {
    /// Every access hits the L1 cache.
    L1,
    /// Every access hits L2.
    L2,
    /// Every access hits L3.
    L3,
    /// Every access goes to main memory (the default).
    #[default]
    Dram,
}

impl ServedBy {
    /// Every level, in the table's order.
    pub const ALL: [ServedBy; 4] = [ServedBy::L1, ServedBy::L2, ServedBy::L3, ServedBy::Dram];

    /// The name in flags, TOML and JSON: `l1`, `l2`, `l3`, `dram`.
    pub const fn name(self) -> &'static str {
        match self {
            ServedBy::L1 => "l1",
            ServedBy::L2 => "l2",
            ServedBy::L3 => "l3",
            ServedBy::Dram => "dram",
        }
    }

    /// The level's row in the latency table: `L1`, `L2`, `L3`, `DRAM`.
    pub const fn level(self) -> &'static str {
        match self {
            ServedBy::L1 => "L1",
            ServedBy::L2 => "L2",
            ServedBy::L3 => "L3",
            ServedBy::Dram => "DRAM",
        }
    }
}

/// Parses `l1`, `l2`, `l3` or `dram` (any case); the error names the text
/// and the choices.
impl std::str::FromStr for ServedBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ServedBy::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown level '{s}' (expected l1, l2, l3 or dram)"))
    }
}

/// The cost model: latencies (ns), the disk, and which level serves accesses.
#[derive(Clone, PartialEq, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostModel {
    /// One instruction on the CPU (< 1 ns; counted as this much).
    pub cpu_ns: f64,
    /// L1 cache (32 KB).
    pub l1_ns: f64,
    /// L2 cache (256 KB).
    pub l2_ns: f64,
    /// L3 cache (> 8 MB).
    pub l3_ns: f64,
    /// Main memory.
    pub dram_ns: f64,
    /// Disk: time to start a transfer (seek + rotation), in nanoseconds.
    pub disk_latency_ns: f64,
    /// Disk: bytes per second once the transfer runs.
    pub disk_bytes_per_sec: f64,
    /// Which level serves each memory access.
    pub served_by: ServedBy,
}

impl Default for CostModel {
    fn default() -> Self {
        Self {
            cpu_ns: 1.0,
            l1_ns: 1.0,
            l2_ns: 4.0,
            l3_ns: 40.0,
            dram_ns: 80.0,
            disk_latency_ns: 10_000_000.0,
            disk_bytes_per_sec: 100_000_000.0,
            served_by: ServedBy::Dram,
        }
    }
}

/// What a run did, counted: the input of [`CostModel::estimate`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
pub struct Counts {
    /// Instructions executed (an access-list line counts as one, except a
    /// load or store of a list that shows its fetches: part of the
    /// instruction fetched before it).
    pub instructions: u64,
    /// Memory accesses made by processes that reached memory (fetches,
    /// loads, stores; a refused access is a fault, not charged).
    pub accesses: u64,
    /// Disk transfers (one per swap-out or swap-in).
    pub disk_transfers: u64,
    /// Bytes moved to or from the disk.
    pub disk_bytes: u64,
    /// Bytes copied inside memory by the OS (compaction, relocation).
    pub copied_bytes: u64,
    /// Page-table entries read by the MMU's walks (paging): each is a
    /// memory access of its own, the price of a TLB miss.
    pub walk_reads: u64,
}

/// The estimated time of a run, split by where it went.
#[derive(Clone, Copy, PartialEq, Debug, Default, Serialize)]
pub struct Estimate {
    /// Instructions on the CPU.
    pub cpu_ns: f64,
    /// Memory accesses, including the OS's copies (see [`CostModel::estimate`]).
    pub memory_ns: f64,
    /// Disk transfers.
    pub disk_ns: f64,
}

impl Estimate {
    /// The total.
    pub fn total_ns(&self) -> f64 {
        self.cpu_ns + self.memory_ns + self.disk_ns
    }
}

impl CostModel {
    /// The latency table, in the lecture's order.
    pub fn table(&self) -> Vec<Level> {
        vec![
            Level {
                name: "CPU",
                size: "-",
                latency_ns: self.cpu_ns,
            },
            Level {
                name: "L1",
                size: "32 KB",
                latency_ns: self.l1_ns,
            },
            Level {
                name: "L2",
                size: "256 KB",
                latency_ns: self.l2_ns,
            },
            Level {
                name: "L3",
                size: "> 8 MB",
                latency_ns: self.l3_ns,
            },
            Level {
                name: "DRAM",
                size: "-",
                latency_ns: self.dram_ns,
            },
        ]
    }

    /// The latency of one memory access at the serving level.
    pub fn access_ns(&self) -> f64 {
        match self.served_by {
            ServedBy::L1 => self.l1_ns,
            ServedBy::L2 => self.l2_ns,
            ServedBy::L3 => self.l3_ns,
            ServedBy::Dram => self.dram_ns,
        }
    }

    /// The time of one disk transfer of `bytes` bytes.
    pub fn disk_ns(&self, bytes: u64) -> f64 {
        let transfer = if self.disk_bytes_per_sec > 0.0 {
            bytes as f64 / self.disk_bytes_per_sec * 1e9
        } else {
            0.0
        };
        self.disk_latency_ns + transfer
    }

    /// Turns counts into time. An OS copy of `n` bytes inside memory is
    /// charged as `2 * ceil(n / 8)` accesses (read and write 8 bytes at a time).
    pub fn estimate(&self, c: &Counts) -> Estimate {
        let copy_accesses = 2 * c.copied_bytes.div_ceil(8);
        let disk_ns = if c.disk_transfers == 0 {
            0.0
        } else {
            c.disk_transfers as f64 * self.disk_latency_ns
                + if self.disk_bytes_per_sec > 0.0 {
                    c.disk_bytes as f64 / self.disk_bytes_per_sec * 1e9
                } else {
                    0.0
                }
        };
        Estimate {
            cpu_ns: c.instructions as f64 * self.cpu_ns,
            memory_ns: (c.accesses + copy_accesses + c.walk_reads) as f64 * self.access_ns(),
            disk_ns,
        }
    }

    /// Reads a cost model from TOML text: the keys of a scenario's `[cost]`
    /// table at the top level (`dram_ns = 100`, `served_by = "l2"`); keys
    /// left out keep the E14 defaults. `name` is the file, for messages.
    ///
    /// Fails, with one line naming `name:line:col`, on bad TOML or an
    /// unknown key, and, naming the field, on a negative or non-finite
    /// number ([`CostModel::validate`]).
    pub fn from_toml(name: &str, text: &str) -> Result<CostModel, String> {
        let model: CostModel = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start).min(text.len());
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!(
                "{name}:{line}:{col}: {}",
                e.message().trim().replace('\n', " ")
            )
        })?;
        model.validate().map_err(|e| format!("{name}: {e}"))?;
        Ok(model)
    }

    /// Checks every number is finite and not negative; names the bad field.
    pub fn validate(&self) -> Result<(), String> {
        let fields = [
            ("cpu_ns", self.cpu_ns),
            ("l1_ns", self.l1_ns),
            ("l2_ns", self.l2_ns),
            ("l3_ns", self.l3_ns),
            ("dram_ns", self.dram_ns),
            ("disk_latency_ns", self.disk_latency_ns),
            ("disk_bytes_per_sec", self.disk_bytes_per_sec),
        ];
        for (name, v) in fields {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("cost.{name} = {v}: must be a finite number >= 0"));
            }
        }
        Ok(())
    }
}

/// Formats nanoseconds with a readable unit (`80 ns`, `1.50 us`, `20.3 ms`).
pub fn human_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} us", ns / 1_000.0)
    } else if ns < 1_000_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else {
        format!("{:.3} s", ns / 1_000_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e14_defaults_are_the_lecture_table() {
        let m = CostModel::default();
        let t = m.table();
        let lat: Vec<f64> = t.iter().map(|l| l.latency_ns).collect();
        assert_eq!(lat, vec![1.0, 1.0, 4.0, 40.0, 80.0]);
        assert_eq!(t[1].size, "32 KB");
        assert_eq!(t[2].size, "256 KB");
        assert_eq!(m.access_ns(), 80.0);
    }

    #[test]
    fn estimate_charges_each_part() {
        let m = CostModel::default();
        let e = m.estimate(&Counts {
            instructions: 10,
            accesses: 5,
            disk_transfers: 2,
            disk_bytes: 100_000_000,
            copied_bytes: 0,
            walk_reads: 0,
        });
        assert_eq!(e.cpu_ns, 10.0);
        assert_eq!(e.memory_ns, 400.0);
        assert_eq!(e.disk_ns, 2.0 * 10_000_000.0 + 1e9);
    }

    #[test]
    fn served_by_names_round_trip_and_unknown_levels_say_the_choices() {
        for l in ServedBy::ALL {
            assert_eq!(l.name().parse::<ServedBy>(), Ok(l));
        }
        assert_eq!("DRAM".parse::<ServedBy>(), Ok(ServedBy::Dram));
        assert_eq!(ServedBy::L2.level(), "L2");
        let e = "l4".parse::<ServedBy>().unwrap_err();
        assert!(e.contains("'l4'") && e.contains("dram"), "{e}");
    }

    #[test]
    fn a_cost_file_overrides_only_what_it_names() {
        let m = CostModel::from_toml("c.toml", "dram_ns = 100\nserved_by = \"l2\"\n").unwrap();
        assert_eq!(m.dram_ns, 100.0);
        assert_eq!(m.l2_ns, 4.0);
        assert_eq!(m.access_ns(), 4.0);
        let e = CostModel::from_toml("c.toml", "dram_ns = 80\ntrap_ns = 5\n").unwrap_err();
        assert!(e.starts_with("c.toml:2:1: unknown field `trap_ns`"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = CostModel::from_toml("c.toml", "l1_ns = -1\n").unwrap_err();
        assert!(e.contains("c.toml") && e.contains("l1_ns"), "{e}");
    }

    #[test]
    fn negative_latency_is_rejected_by_name() {
        let m = CostModel {
            dram_ns: -1.0,
            ..CostModel::default()
        };
        assert!(m.validate().unwrap_err().contains("dram_ns"));
    }
}
