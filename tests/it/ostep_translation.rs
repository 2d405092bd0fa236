//! The OSTEP translation drop-ins (`relocation`, `segmentation`,
//! `paging-linear-translate`): every recorded case of the originals byte for
//! byte, the original's flag spellings, and the inputs on which the
//! originals hang, crash or print nonsense.

use crate::support::{Run, assert_text_eq, golden, vmlab};

/// `vmlab segmentation -a 1k -p 16k -b B0 -l L0 -B B1 -L L1 EXTRA -c`, the
/// `registers` being `[B0, L0, B1, L1]`.
fn segmentation(registers: [&str; 4], extra: &[&str]) -> Run {
    let [b0, l0, b1, l1] = registers;
    let mut argv = vec!["segmentation", "-a", "1k", "-p", "16k"];
    argv.extend(["-b", b0, "-l", l0, "-B", b1, "-L", l1]);
    argv.extend(extra);
    argv.push("-c");
    vmlab(&argv)
}

#[test]
fn relocation_matches_every_recorded_case() {
    golden("relocation", 39);
}

#[test]
fn segmentation_matches_every_recorded_case() {
    golden("segmentation", 50);
}

#[test]
fn paging_linear_translate_matches_every_recorded_case() {
    golden("paging-linear-translate", 25);
}

#[test]
fn paging_alias_is_the_same_command() {
    let a = vmlab(&["paging", "-s", "3", "-c"]);
    let b = vmlab(&["paging-linear-translate", "-s", "3", "-c"]);
    assert_text_eq(b.ok(), a.ok());
}

#[test]
fn every_optparse_spelling_of_a_flag_gives_the_same_problem() {
    let reference = vmlab(&["relocation", "-s", "5", "-n", "7", "-c"]);
    let reference = reference.ok();
    for argv in [
        &["relocation", "-s5", "-n7", "-c"][..],
        &["relocation", "--seed=5", "--addresses=7", "--compute"],
        &["relocation", "--seed", "5", "--addresses", "7", "-c"],
        &["relocation", "--se", "5", "--add=7", "--comp"],
        &["relocation", "-cs5", "-n", "7"],
        &["relocation", "-s", "0x5", "-n", "07", "-c"],
        &["relocation", "-s", "1", "-s", "5", "-n", "7", "-c"],
    ] {
        assert_text_eq(reference, vmlab(argv).ok());
    }
    let seg = vmlab(&["segmentation", "-s", "2", "-A", "5,600", "-c"]);
    let seg2 = vmlab(&["segmentation", "--seed=2", "--addr", "5,600", "-c"]);
    assert_text_eq(seg.ok(), seg2.ok());
    let pag = vmlab(&["paging", "-s", "2", "-P", "1k", "-u", "75", "-v", "-c"]);
    let pag2 = vmlab(&["paging", "--seed=2", "--pagesize=1k", "-u75", "-vc"]);
    assert_text_eq(pag.ok(), pag2.ok());
}

#[test]
fn negative_seed_is_a_seed_not_a_flag() {
    let out = vmlab(&["relocation", "-s", "-7", "-c"]);
    assert!(out.ok().contains("ARG seed -7"));
}

// ---- where the originals misbehave ------------------------------------

#[test]
fn relocation_limit_larger_than_memory_is_refused_instead_of_hanging() {
    vmlab(&["relocation", "-l", "20k", "-c"]).bad_input(&["-l", "20480", "loops forever"]);
}

#[test]
fn segmentation_limit_larger_than_memory_is_refused_instead_of_hanging() {
    vmlab(&["segmentation", "-a", "1k", "-p", "16k", "-l", "20k", "-c"]).bad_input(&[
        "-l",
        "20480",
        "loops forever",
    ]);
}

#[test]
fn segmentation_unplaceable_segment_1_is_refused_instead_of_hanging() {
    // Segment 0 fills the middle of memory: no room for segment 1 either side.
    vmlab(&[
        "segmentation",
        "-a",
        "1k",
        "-p",
        "2100",
        "-b",
        "300",
        "-l",
        "1500",
        "-L",
        "400",
        "-c",
    ])
    .bad_input(&["-L", "loops forever"]);
}

#[test]
fn relocation_negative_address_space_is_refused() {
    vmlab(&["relocation", "-a", "-1k", "-c"]).bad_input(&["-a", "negative"]);
}

#[test]
fn negative_base_or_limit_other_than_random_is_refused() {
    vmlab(&["relocation", "-b", "-5", "-l", "100", "-c"]).bad_input(&["-b", "negative"]);
    vmlab(&["segmentation", "-l", "-2", "-c"]).bad_input(&["-l", "negative"]);
    vmlab(&["segmentation", "-L", "-2", "-c"]).bad_input(&["-L", "negative"]);
    // -1 is the originals' "pick at random", spelled out.
    let explicit = vmlab(&["relocation", "-b", "-1", "-l", "-1", "-c"]);
    assert_text_eq(vmlab(&["relocation", "-c"]).ok(), explicit.ok());
}

#[test]
fn hex_numbers_are_accepted() {
    let hex = vmlab(&["relocation", "-b", "0x100", "-l", "0x1d8", "-c"]);
    let dec = vmlab(&["relocation", "-b", "256", "-l", "472", "-c"]);
    let text = hex.ok();
    assert!(text.contains("Base   : 0x00000100 (decimal 256)"), "{text}");
    assert_text_eq(dec.ok(), text);
}

#[test]
fn fractional_sizes_are_refused_clearly() {
    vmlab(&["relocation", "-a", "1.5k", "-c"]).bad_input(&["-a", "1.5k", "fractional"]);
    vmlab(&["paging", "-P", "0.5k"]).bad_input(&["-P", "fractional"]);
}

#[test]
fn malformed_numbers_are_refused_clearly() {
    vmlab(&["relocation", "-p", "16q"]).bad_input(&["-p", "16q"]);
    vmlab(&["relocation", "-s", "x"]).bad_input(&["-s", "'x'"]);
    vmlab(&["segmentation", "-A", "1,,2", "-c"]).bad_input(&["-A", "address 2"]);
    vmlab(&["relocation", "-p", ""]).bad_input(&["-p", "empty"]);
}

#[test]
fn overlapping_user_segments_are_refused() {
    segmentation(["100", "100", "150", "100"], &["-A", "0,1023"]).bad_input(&[
        "overlap",
        "[100, 200)",
        "[50, 150)",
    ]);
}

#[test]
fn overlap_the_original_detects_keeps_its_message() {
    let run = segmentation(["100", "100", "250", "100"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .ends_with("Error: segments overlap in physical memory\n")
    );
}

#[test]
fn segment_below_physical_zero_is_refused() {
    segmentation(["0", "100", "50", "100"], &["-A", "950"])
        .bad_input(&["segment 1", "below physical address 0"]);
}

#[test]
fn segment_0_one_byte_past_memory_is_refused() {
    // The original checks psize < base + limit - 1: one byte too lenient.
    segmentation(["16285", "100", "512", "10"], &[])
        .bad_input(&["segment 0", "beyond physical memory"]);
}

#[test]
fn segmentation_address_space_must_be_a_power_of_two() {
    vmlab(&["segmentation", "-a", "1000", "-p", "16k", "-c"]).bad_input(&["-a", "power of two"]);
}

#[test]
fn segmentation_address_outside_the_space_keeps_the_original_error() {
    let run = vmlab(&["segmentation", "-A", "5,1024", "-c"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.ends_with(
        "Error: virtual address 1024 cannot be generated in an address space of size 1024\n"
    ));
}

#[test]
fn paging_address_beyond_the_space_is_refused() {
    vmlab(&["paging", "-A", "20000", "-c"]).bad_input(&["-A", "20000", "outside"]);
}

#[test]
fn paging_address_beyond_32_bits_is_refused_not_masked() {
    // The original masks the VA to 32 bits and answers as if it were VA 0.
    vmlab(&["paging", "-A", "4294967296", "-c"]).bad_input(&["-A", "4294967296", "outside"]);
}

#[test]
fn paging_negative_address_is_refused() {
    vmlab(&["paging", "-A", "-5", "-c"]).bad_input(&["-A", "-5", "outside"]);
}

#[test]
fn paging_page_size_zero_is_refused() {
    vmlab(&["paging", "-P", "0", "-c"]).bad_input(&["-P", "positive"]);
    vmlab(&["paging", "-P", "-4k", "-c"]).bad_input(&["-P", "positive"]);
}

#[test]
fn paging_page_table_beyond_16_mi_entries_is_refused() {
    vmlab(&["paging", "-a", "32m", "-p", "64m", "-P", "1", "-c"])
        .bad_input(&["-P", "at most 16777216"]);
}

#[test]
fn paging_last_address_of_the_space_is_fine() {
    let out = vmlab(&["paging", "-s", "0", "-A", "16383,0", "-c"]);
    assert!(
        out.ok()
            .contains("VA 0x00003fff (decimal:    16383) --> 00006fff")
    );
}

#[test]
fn stray_positional_arguments_are_refused() {
    let run = vmlab(&["relocation", "-s", "1", "5"]);
    assert_eq!(run.code, 2);
}
