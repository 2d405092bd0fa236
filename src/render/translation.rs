//! Renders one address translation: the lecture's narration of each hardware
//! step, or a JSON record (DESIGN.md conventions).

use crate::addr::hex_and_decimal;
use crate::mmu::{Step, Translation};
use serde_json::{Map, Value, json};
use std::fmt::Write;

/// Narrates `t` in the lecture's words, one line per step, indented by two
/// spaces, ending with the physical address or the fault.
pub fn narrate(t: &Translation) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "VA {} {}",
        hex_and_decimal(t.va.as_u64()),
        t.access.name()
    );
    for (i, step) in t.steps.iter().enumerate() {
        let _ = match step {
            Step::Identity => writeln!(s, "  no translation: pa = va"),
            Step::Split {
                segment,
                offset,
                segment_bits,
                offset_bits,
            } => {
                let seg = format!("{segment:0w$b}", w = *segment_bits as usize);
                let off = if *offset_bits <= 32 {
                    format!("{offset:0w$b}", w = *offset_bits as usize)
                } else {
                    format!("{offset:#x}")
                };
                writeln!(
                    s,
                    "  split  {seg} | {off}  -> segment {segment}, offset {offset:#x} ({offset})"
                )
            }
            Step::SegmentUnused { segment } => {
                writeln!(s, "  segment {segment} is not in use (size 0)")
            }
            Step::CheckBounds { offset, bounds, ok } => writeln!(
                s,
                "  check  {offset:#x} < bounds {bounds:#x}: {}",
                yes_no(*ok)
            ),
            Step::CheckNegativeOffset {
                max,
                distance,
                bounds,
                ok,
            } => writeln!(
                s,
                "  check  grows down: negative offset = offset - max segment size = {:#x} - {max:#x} = -{distance:#x}; |-{distance:#x}| <= size {bounds:#x}: {}",
                max.saturating_sub(*distance),
                yes_no(*ok)
            ),
            Step::CheckPermission { access, perms, ok } => writeln!(
                s,
                "  perms  {} allowed by {perms}: {}",
                access.name(),
                yes_no(*ok)
            ),
            Step::AddBase { base, offset, pa } => match pa {
                Some(pa) => writeln!(s, "  add    base {base:#x} + {offset:#x} = {pa:#x}"),
                None => writeln!(s, "  add    base {base:#x} + {offset:#x} overflows 64 bits"),
            },
            Step::SubtractFromBase { base, distance, pa } => match pa {
                Some(pa) => writeln!(
                    s,
                    "  add    base {base:#x} (the top of the segment) + negative offset -{distance:#x} = {pa:#x}"
                ),
                None => writeln!(
                    s,
                    "  add    base {base:#x} (the top of the segment) + negative offset -{distance:#x} is below 0"
                ),
            },
            Step::SplitPage {
                vpn,
                offset,
                offset_bits,
            } => writeln!(
                s,
                "  split  vpn = va >> {offset_bits} = {vpn}, offset {offset:#x} ({offset})"
            ),
            Step::PageTableLookup { vpn, valid, pfn } => {
                if *valid {
                    writeln!(s, "  pte    page_table[{vpn}]: valid, pfn {pfn}")
                } else {
                    writeln!(s, "  pte    page_table[{vpn}]: NOT valid")
                }
            }
            Step::JoinFrame { pfn, offset, pa } => match pa {
                Some(pa) => writeln!(s, "  join   frame {pfn} | offset {offset:#x} = {pa:#x}"),
                None => writeln!(
                    s,
                    "  join   frame {pfn} | offset {offset:#x} overflows 64 bits"
                ),
            },
            Step::SplitIndices {
                indices,
                index_bits,
                offset,
                offset_bits,
            } => {
                let parts: Vec<String> = indices
                    .iter()
                    .zip(index_bits)
                    .map(|(i, b)| format!("{i:0w$b}", w = *b as usize))
                    .collect();
                let named: Vec<String> = indices
                    .iter()
                    .enumerate()
                    .map(|(l, i)| format!("L{l} {i}"))
                    .collect();
                writeln!(
                    s,
                    "  split  {} | offset ({offset_bits} bits) -> {}, offset {offset:#x}",
                    parts.join(" | "),
                    named.join(", ")
                )
            }
            Step::CheckCanonical { ok } => writeln!(
                s,
                "  check  bits 63..39 copy bit 38 (canonical address): {}",
                yes_no(*ok)
            ),
            Step::ReadEntry {
                level,
                index,
                entry_pa,
                raw,
                flags,
                valid,
                leaf,
                pfn,
            } => match raw {
                None => writeln!(
                    s,
                    "  L{level}     entry [{index}] at PA {entry_pa:#x} is beyond physical memory"
                ),
                Some(raw) => {
                    let what = match (valid, leaf) {
                        (false, _) => "NOT valid".to_string(),
                        (true, true) => format!("leaf: page frame {pfn:#x}"),
                        (true, false) => format!("next table in frame {pfn:#x}"),
                    };
                    writeln!(
                        s,
                        "  L{level}     entry [{index}] at PA {entry_pa:#x} = {raw:#x} [{flags}]: {what}"
                    )
                }
            },
            Step::CheckEntry { what, ok } => writeln!(s, "  check  {what}: {}", yes_no(*ok)),
            Step::TlbLookup {
                vpn,
                asid,
                pfn,
                second,
            } => {
                let tag = asid.map(|a| format!(", asid {a}")).unwrap_or_default();
                let (label, name) = if *second {
                    ("tlb2  ", "second-level TLB")
                } else {
                    ("tlb   ", "TLB")
                };
                // A first-level miss goes on to the second level when there
                // is one, else to the walk.
                let next = match t.steps.get(i + 1) {
                    Some(Step::TlbLookup { second: true, .. }) => "second-level TLB",
                    _ => "walk",
                };
                match pfn {
                    Some(pfn) => {
                        writeln!(s, "  {label} vpn {vpn:#x}{tag}: {name} hit, frame {pfn:#x}")
                    }
                    None => writeln!(s, "  {label} vpn {vpn:#x}{tag}: {name} miss -> {next}"),
                }
            }
            Step::CheckPhysical { pa, phys_size, ok } => {
                if *ok {
                    Ok(())
                } else {
                    writeln!(
                        s,
                        "  memory {pa:#x} is beyond physical memory ({phys_size:#x} bytes)"
                    )
                }
            }
        };
    }
    let _ = match &t.result {
        Ok(pa) => writeln!(s, "  -> PA {}", hex_and_decimal(pa.as_u64())),
        Err(f) => writeln!(s, "  -> FAULT: {} -- trap to the OS", f.kind.describe()),
    };
    s
}

fn yes_no(ok: bool) -> &'static str {
    if ok { "ok" } else { "NO" }
}

/// The JSON record of `t`: `kind`, `mechanism`, `va`, `access`, `segment` and
/// `offset` when segmented, then `pa` or `fault`.
pub fn to_json(t: &Translation, mechanism: &str) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("translation"));
    m.insert("mechanism".into(), json!(mechanism));
    m.insert("va".into(), json!(t.va.as_u64()));
    m.insert("access".into(), json!(t.access.name()));
    if let Some((segment, offset)) = t.segment() {
        m.insert("segment".into(), json!(segment));
        m.insert("offset".into(), json!(offset));
    }
    match &t.result {
        Ok(pa) => m.insert("pa".into(), json!(pa.as_u64())),
        Err(f) => m.insert("fault".into(), json!(f.kind.name())),
    };
    Value::Object(m)
}
