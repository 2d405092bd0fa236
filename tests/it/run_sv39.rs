//! `vmlab run --mmu sv39`: programs under real Sv39 page tables built by
//! the loader, with a TLB in front of the walk: the same output as under
//! base+bounds, the guard page below the stack, `sbrk` mapping and
//! unmapping pages, privileged instructions trapping, the TLB's counters
//! in the summary, and bad `--tlb` values.

use super::support::{temp_file, vmlab};

#[test]
fn the_examples_print_and_exit_as_under_base_bounds() {
    for example in ["examples/sum.s", "examples/recursion.s"] {
        let bb = vmlab(&["run", example]);
        for tlb in [
            "64",
            "off",
            "4,direct",
            "8,2,fifo",
            "16,4,clock,flush",
            "2,full,random",
        ] {
            let sv = vmlab(&["run", example, "--mmu", "sv39", "--tlb", tlb]);
            assert_eq!(
                (sv.code, sv.stdout.as_str(), sv.stderr.as_str()),
                (bb.code, bb.stdout.as_str(), bb.stderr.as_str()),
                "{example} with --tlb {tlb}"
            );
        }
    }
}

#[test]
fn the_heap_grows_up_from_the_page_above_the_stack() {
    // xv6's layout: code, data, guard page, stack page, then the heap.
    let run = vmlab(&["run", "examples/arraytest.s", "--mmu", "sv39"]);
    let breaks: Vec<u64> = run
        .ok()
        .lines()
        .map(|l| u64::from_str_radix(l.split("0x").nth(1).unwrap(), 16).unwrap())
        .collect();
    assert_eq!(breaks.len(), 3, "{}", run.stdout);
    assert_eq!(
        breaks[0] % 4096,
        0,
        "the heap starts on a page: {breaks:x?}"
    );
    assert_eq!((breaks[1] - breaks[0], breaks[2] - breaks[1]), (40, 40));
    let stack = vmlab(&["run", "examples/stacktest.s", "--mmu", "sv39"]);
    let main = stack
        .ok()
        .lines()
        .find(|l| l.starts_with("main"))
        .and_then(|l| u64::from_str_radix(l.split("0x").nth(1)?, 16).ok())
        .unwrap();
    assert!(
        main < breaks[0] && main >= breaks[0] - 4096,
        "main's frame is in the one stack page just below the heap: {main:#x}"
    );
}

#[test]
fn a_stack_overflow_page_faults_in_the_guard_page() {
    let src = temp_file(
        "overflow.s",
        b"_start:\n1:  addi sp, sp, -16\n    sd ra, 0(sp)\n    j 1b\n",
    );
    let run = vmlab(&["run", src.to_str().unwrap(), "--mmu", "sv39"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "vmlab: page fault (write of 0x1ff0) at pc 0x4 (sd ra, 0(sp) = 0x00113023): in the guard page below the stack (a stack overflow)\n"
    );
    let json = vmlab(&["run", src.to_str().unwrap(), "--mmu", "sv39", "--json"]);
    let last = json.json_lines().pop().unwrap();
    assert_eq!(last["kind"], "fault");
    assert_eq!(last["fault"], "page-fault");
    assert_eq!(last["va"], 0x1ff0);
    // 256 pushes fill the stack page: one miss each for the code page and
    // the stack page, every other access a hit.
    assert_eq!(last["tlb"]["misses"], 3);
    assert_eq!(last["walks"], 3);
    // Under base+bounds there is no guard page: the stack runs down over
    // the code, and the CPU ends up executing zeros.
    let bb = vmlab(&["run", src.to_str().unwrap()]);
    assert_eq!(bb.code, 1);
    assert!(
        bb.stderr.contains("illegal instruction 0x00000000"),
        "{}",
        bb.stderr
    );
}

#[test]
fn sbrk_maps_pages_and_a_negative_sbrk_unmaps_them() {
    // Grow by 5000 bytes (two pages), touch the last byte, shrink back:
    // the same store then page-faults (its TLB entry was flushed).
    let src = temp_file(
        "shrink.s",
        b"_start:\n    li a7, 12\n    li a0, 5000\n    ecall\n    li t0, 4999\n    add t0, a0, t0\n    sb zero, 0(t0)\n    li a0, -5000\n    ecall\n    sb zero, 0(t0)\n    li a0, 0\n    li a7, 2\n    ecall\n",
    );
    let run = vmlab(&["run", src.to_str().unwrap(), "--mmu", "sv39", "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let last = run.json_lines().pop().unwrap();
    assert_eq!(
        (last["fault"].as_str(), last["access"].as_str()),
        (Some("page-fault"), Some("write"))
    );
    assert_eq!(
        last["tlb"]["flushes"], 2,
        "one sfence.vma per page unmapped"
    );
    // Under base+bounds the break is only a number: the store succeeds.
    let bb = vmlab(&["run", src.to_str().unwrap()]);
    assert_eq!(bb.code, 0, "{}", bb.stderr);
}

#[test]
fn sfence_vma_and_writing_satp_are_privileged_in_user_mode() {
    // sfence.vma x0, x0 and csrw satp, a0: user mode may run neither; on
    // RISC-V both raise an illegal-instruction exception.
    for (word, what) in [(0x1200_0073u32, "sfence.vma"), (0x1805_1073, "csrw satp")] {
        let src = temp_file(
            "priv.s",
            format!("_start:\n    .word {word:#x}\n").as_bytes(),
        );
        let run = vmlab(&["run", src.to_str().unwrap(), "--mmu", "sv39", "--json"]);
        assert_eq!(run.code, 1, "{what}");
        let last = run.json_lines().pop().unwrap();
        assert_eq!(last["kind"], "illegal-instruction", "{what}");
        assert_eq!(last["instruction"], word, "{what}");
        assert!(
            run.stderr.contains("privileged, user mode may not"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn the_summary_reports_the_tlb_and_the_walks() {
    // The program's own output comes first, the summary record last.
    let last = |stdout: &str| -> serde_json::Value {
        serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
    };
    let run = vmlab(&[
        "run",
        "examples/sum.s",
        "--mmu",
        "sv39",
        "--stats",
        "--json",
    ]);
    assert_eq!(run.code, 55);
    let exit = last(&run.stdout);
    assert_eq!(exit["kind"], "exit");
    let tlb = &exit["tlb"];
    assert_eq!(
        (tlb["entries"].as_u64(), tlb["ways"].as_u64()),
        (Some(64), Some(64))
    );
    assert_eq!(
        (tlb["policy"].as_str(), tlb["tagging"].as_str()),
        (Some("lru"), Some("asid"))
    );
    // Two pages touched (code, data): two misses, two walks.
    assert_eq!(
        (tlb["misses"].as_u64(), exit["walks"].as_u64()),
        (Some(2), Some(2))
    );
    let accesses = tlb["hits"].as_u64().unwrap() + 2;
    assert!(accesses > exit["instructions"].as_u64().unwrap());
    assert!(
        run.stderr
            .contains("tlb (64 entries, fully associative, LRU, ASID-tagged): hits: "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("page-table walks: 2"), "{}", run.stderr);
    // Without a TLB every access walks.
    let off = vmlab(&[
        "run",
        "examples/sum.s",
        "--mmu",
        "sv39",
        "--tlb",
        "off",
        "--json",
    ]);
    let exit = last(&off.stdout);
    assert!(exit["tlb"].is_null());
    assert_eq!(exit["walks"].as_u64(), Some(accesses));
}

#[test]
fn a_bad_tlb_is_one_line_and_exit_2() {
    for (tlb, mmu, message) in [
        (
            "0",
            "sv39",
            "vmlab: --tlb 0: a TLB of 0 entries: it needs 1 to 65536\n",
        ),
        (
            "64,5",
            "sv39",
            "vmlab: --tlb 64,5: 5 ways do not divide 64 entries into sets\n",
        ),
        (
            "12,2",
            "sv39",
            "vmlab: --tlb 12,2: 12 entries in 2 ways make 6 sets: the number of sets must be a power of two\n",
        ),
        (
            "8,2,mru",
            "sv39",
            "vmlab: --tlb 8,2,mru: unknown TLB replacement policy 'mru' (lru, fifo, random, clock)\n",
        ),
        (
            "64",
            "base-bounds",
            "vmlab: --tlb needs --mmu sv39 (the other mechanisms have no page tables to cache)\n",
        ),
    ] {
        let run = vmlab(&["run", "examples/sum.s", "--mmu", mmu, "--tlb", tlb]);
        assert_eq!((run.code, run.stderr.as_str()), (2, message));
        assert_eq!(run.stdout, "");
    }
    let run = vmlab(&["run", "examples/sum.s", "--mmu", "sv39", "--base", "0x1234"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("multiple of 4 KiB"), "{}", run.stderr);
}
