//! What happened, as data: the kernel never prints, it appends events to a
//! log, and renderers (`render::events`) turn them into the lecture's
//! narration or JSON lines.
//!
//! Every event serializes with a `"kind"` field; access records carry `pid`,
//! `va`, `access` and either `pa` or `fault` (DESIGN.md).

use crate::cost::{Estimate, Level};
use serde::Serialize;

/// A process id.
pub type Pid = u32;

/// Who owns a physical byte.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case", tag = "owner", content = "owner_pid")]
pub enum Owner {
    /// The operating system's reserved region.
    Os,
    /// A process's allocation.
    Process(Pid),
    /// Nobody: a hole.
    Free,
}

/// One memory access by a process: its translation and its effect.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct AccessRecord {
    /// The process.
    pub pid: Pid,
    /// The virtual address it issued.
    pub va: u64,
    /// `fetch`, `read` or `write`.
    pub access: &'static str,
    /// The physical address, when the translation succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pa: Option<u64>,
    /// The fault, when it did not (`bounds`, `protection`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<&'static str>,
    /// Segment number, under segmentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<u32>,
    /// Offset within the segment, under segmentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The region of the process's address space the address lies in
    /// (`code`, `data`, `heap`, `stack`, `none`).
    pub region: &'static str,
    /// Paging with a TLB: `hit`, or `miss` (the walk read the tables).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tlb: Option<&'static str>,
    /// The byte read or written (absent for fetches and faults).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    /// Size of the access in bytes.
    pub size: u64,
}

/// A block of physical memory given to (or taken from) a process.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Block {
    /// What it holds (`image`, `code`, `heap`, `stack`, `data`).
    pub what: String,
    /// First physical byte.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
}

/// One line of a memory map.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct MapEntry {
    /// First physical byte.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    /// `os`, `free`, or the owning process's name and block (`P1 heap`).
    pub owner: String,
}

/// One region of a virtual address space as a record.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct RegionView {
    /// `code`, `data`, `heap`, `stack` or `guard`.
    pub what: &'static str,
    /// First virtual address.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
}

/// The MMU registers as a record (base/bounds or a segment table).
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct RegistersView {
    /// The mechanism.
    pub mechanism: &'static str,
    /// Base register.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<u64>,
    /// Bounds register.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounds: Option<u64>,
    /// Segment table: (base, size, perms, grows down).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentView>,
    /// Paging: the `satp` register (mode, ASID, root table's page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub satp: Option<u64>,
    /// Paging with the teaching tables: the page-directory base register
    /// (the root table's physical address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_directory: Option<u64>,
}

/// One segment-table entry as a record.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct SegmentView {
    /// Base.
    pub base: u64,
    /// Size (bounds).
    pub size: u64,
    /// `rwx` style.
    pub perms: String,
    /// Whether it grows down.
    pub grows_down: bool,
}

/// Something the simulated system did.
#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Event {
    /// Narration from the scenario (the lecture's words).
    Note {
        /// The text.
        text: String,
    },
    /// The machine being simulated.
    Machine {
        /// The memory strategy.
        strategy: &'static str,
        /// Physical memory in bytes.
        memory: u64,
        /// Size of the OS's reserved region at physical address 0.
        os_size: u64,
        /// Placement policy.
        placement: &'static str,
    },
    /// The loader placed a process in memory.
    Spawn {
        /// The new process.
        pid: Pid,
        /// Its name.
        name: String,
        /// Size of its address space (2^64 for a 64-bit segmented space).
        size: u128,
        /// Where its pieces went.
        blocks: Vec<Block>,
        /// The MMU registers saved in its PCB.
        registers: RegistersView,
        /// Its virtual layout: code, data, heap, stack (and guard), in
        /// address order (empty when the regions are a given segment table).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        regions: Vec<RegionView>,
        /// Under segmentation: how many low bits of a virtual address are
        /// the offset (the rest select the segment).
        #[serde(skip_serializing_if = "Option::is_none")]
        offset_bits: Option<u32>,
        /// Time sharing: the process that owns memory while this one's
        /// image starts on disk (its blocks say where it will run once
        /// swapped in); absent when the image went to memory.
        #[serde(skip_serializing_if = "Option::is_none")]
        on_disk_while: Option<Pid>,
    },
    /// A process could not be loaded.
    LoadFailed {
        /// The process's name.
        name: String,
        /// How much it needed (the largest piece that did not fit).
        needed: u64,
        /// Total free memory.
        free_total: u64,
        /// The largest hole.
        largest_hole: u64,
        /// Why.
        reason: String,
    },
    /// Static relocation: the loader rewrote one absolute address.
    Relocate {
        /// The process.
        pid: Pid,
        /// The address as written in the program.
        from: u64,
        /// The address after adding the load address.
        to: u64,
        /// Where the address sits (an instruction or data word).
        what: String,
    },
    /// An instruction fetch.
    Fetch(AccessRecord),
    /// A load.
    Load(AccessRecord),
    /// A store.
    Store(AccessRecord),
    /// An access reached memory the process does not own.
    Violation {
        /// The process that made the access.
        pid: Pid,
        /// The virtual address it issued.
        va: u64,
        /// Where it landed.
        pa: u64,
        /// `read` or `write` (or `fetch`).
        access: &'static str,
        /// Who owns that byte.
        #[serde(flatten)]
        owner: Owner,
        /// The owner's virtual address of that byte, when a process owns it.
        #[serde(skip_serializing_if = "Option::is_none")]
        owner_va: Option<u64>,
    },
    /// The processor enters the kernel.
    Trap {
        /// The process that was running.
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<Pid>,
        /// `fault`, `syscall`, `timer-interrupt`, `privileged`.
        cause: &'static str,
        /// Detail (the fault, the call).
        detail: String,
    },
    /// The mode bit changed.
    Mode {
        /// `kernel` or `user`.
        mode: &'static str,
    },
    /// One step of a context switch.
    ContextSwitch {
        /// The process switched away from.
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<Pid>,
        /// The process switched to.
        to: Pid,
        /// `save-registers`, `save-mmu`, `load-mmu`, `skip-mmu-reload`,
        /// `restore-registers`.
        step: &'static str,
        /// The MMU registers saved or loaded.
        #[serde(skip_serializing_if = "Option::is_none")]
        registers: Option<RegistersView>,
        /// The stack pointer saved (`save-registers`, the old process's) or
        /// restored (`restore-registers`, the new one's), for processes
        /// running a program.
        #[serde(skip_serializing_if = "Option::is_none")]
        sp: Option<u64>,
    },
    /// A scenario's closing summary: the lines a student looks for, filled
    /// in from the run's events.
    Summary {
        /// Its title.
        title: String,
        /// Its lines.
        lines: Vec<String>,
    },
    /// A context switch saved MMU registers that were another process's
    /// (the reload was forgotten) into a PCB, replacing its own values.
    PcbOverwritten {
        /// The process whose PCB was written.
        pid: Pid,
        /// The process whose PCB the MMU values had been loaded from.
        owner: Pid,
        /// What the PCB held before.
        was: RegistersView,
        /// What it holds now.
        now: RegistersView,
    },
    /// Time sharing: an address space written to or read from the disk.
    Swap {
        /// The process.
        pid: Pid,
        /// `out` (memory to disk) or `in`.
        direction: &'static str,
        /// Bytes moved.
        bytes: u64,
    },
    /// A system call and its result.
    Syscall {
        /// The caller.
        pid: Pid,
        /// Its name (`sbrk`, `write`, ...).
        name: &'static str,
        /// Its number in the ABI in use.
        number: u64,
        /// The arguments.
        args: Vec<u64>,
        /// The return value, or the error.
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<u64>,
        /// Why it failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Console output of the write system call.
    Output {
        /// The writer.
        pid: Pid,
        /// The text.
        text: String,
    },
    /// The OS took a block of physical memory from the free list.
    Alloc {
        /// For whom.
        pid: Pid,
        /// The block.
        #[serde(flatten)]
        block: Block,
    },
    /// The OS returned a block to the free list.
    Free {
        /// Whose it was.
        pid: Pid,
        /// The block.
        #[serde(flatten)]
        block: Block,
    },
    /// A heap or stack grew or shrank.
    Grow {
        /// The process.
        pid: Pid,
        /// `heap` or `stack`.
        region: &'static str,
        /// Old size.
        old_size: u64,
        /// New size.
        new_size: u64,
        /// `in-place`, `moved`, or `implicit` (the stack, on a fault).
        how: &'static str,
    },
    /// The OS moved a block of a process (compaction, relocation on growth).
    Move {
        /// The process.
        pid: Pid,
        /// What moved.
        what: String,
        /// Old physical start.
        from: u64,
        /// New physical start.
        to: u64,
        /// Bytes copied.
        bytes: u64,
    },
    /// The OS refused an operation, with the reason.
    Refused {
        /// The operation.
        operation: String,
        /// Why.
        reason: String,
    },
    /// A process was killed by the OS.
    Kill {
        /// The process.
        pid: Pid,
        /// Why.
        reason: String,
    },
    /// A process exited.
    Exit {
        /// The process.
        pid: Pid,
        /// Its exit status.
        status: u64,
    },
    /// The physical memory map.
    MemoryMap {
        /// Entries in address order.
        entries: Vec<MapEntry>,
        /// Total free bytes.
        free_total: u64,
        /// The largest hole.
        largest_hole: u64,
        /// Paging: the bytes of mapped pages that no region uses.
        #[serde(skip_serializing_if = "Option::is_none")]
        internal_fragmentation: Option<u64>,
    },
    /// Paging: the kernel took a frame for a page-table page of a process.
    TablePage {
        /// The process.
        pid: Pid,
        /// The (first) frame number.
        frame: u64,
        /// Its physical address.
        pa: u64,
        /// The table's bytes (a page, or more for a large linear table).
        bytes: u64,
    },
    /// Paging: a virtual page was mapped to a frame.
    MapPage {
        /// The process.
        pid: Pid,
        /// The page's first virtual address.
        va: u64,
        /// The frame number.
        frame: u64,
        /// The frame's physical address.
        pa: u64,
        /// `r-x`, `rw-` ...
        perms: String,
        /// The frame is another process's too (read-only code).
        shared: bool,
    },
    /// Paging: a virtual page was unmapped and its frame freed.
    UnmapPage {
        /// The process.
        pid: Pid,
        /// The page's first virtual address.
        va: u64,
        /// The frame it had.
        frame: u64,
    },
    /// Demand paging: a page fault brought a page into a frame.
    PageIn {
        /// The process.
        pid: Pid,
        /// The page's first virtual address.
        va: u64,
        /// The frame.
        frame: u64,
        /// The frame's physical address.
        pa: u64,
        /// `swap` (read from the swap area) or `zero` (never written: a
        /// frame of zeros, no disk read).
        from: &'static str,
    },
    /// Demand paging: the replacement policy evicted a page.
    PageOut {
        /// The process whose page it was.
        pid: Pid,
        /// The page's first virtual address.
        va: u64,
        /// The frame it leaves.
        frame: u64,
        /// The policy that chose it.
        policy: &'static str,
        /// It was dirty and was written back to swap.
        written_back: bool,
        /// Under CLOCK: the frame under the hand after this eviction (the
        /// next sweep starts there).
        #[serde(skip_serializing_if = "Option::is_none")]
        hand: Option<u64>,
    },
    /// Paging's totals.
    PagingSummary {
        /// The page-table format.
        table: &'static str,
        /// Bytes of page tables over all processes.
        page_table_bytes: u64,
        /// The replacement policy (`none` without swap: every page stays).
        policy: &'static str,
        /// Bytes per page.
        page_size: u64,
        /// Frames for user pages.
        frames: u64,
        /// Page references (one per page an access touches).
        references: u64,
        /// Page faults that brought a page in.
        page_faults: u64,
        /// `page_faults / references`.
        fault_rate: f64,
        /// Pages evicted.
        evictions: u64,
        /// Dirty victims written back.
        writebacks: u64,
        /// Pages read from swap.
        disk_reads: u64,
        /// Pages filled with zeros.
        zero_fills: u64,
        /// Bytes of mapped pages no region uses, over all processes.
        internal_fragmentation: u64,
    },
    /// The TLB's totals (paging with a TLB).
    TlbSummary {
        /// Entries.
        entries: u64,
        /// Ways per set (entries: fully associative, 1: direct-mapped).
        ways: u64,
        /// Replacement in a full set.
        policy: &'static str,
        /// `asid` (entries tagged, kept across a switch) or `flush`.
        tagging: &'static str,
        /// Lookups that found the page.
        hits: u64,
        /// Lookups that walked the tables.
        misses: u64,
        /// Entries replaced in a full set.
        evictions: u64,
        /// Flushes (context switches without ASIDs, sfence.vma).
        flushes: u64,
        /// `hits / (hits + misses)`.
        hit_rate: f64,
        /// Page-table walks made.
        walks: u64,
        /// The TLB's contents at the end: every valid entry with its set
        /// and way.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        contents: Vec<TlbSlot>,
    },
    /// The same workload with the TLB's other tagging.
    TlbCompare {
        /// This run's tagging (`asid` or `flush`).
        tagging: &'static str,
        /// Its TLB misses.
        misses: u64,
        /// Its hit rate.
        hit_rate: f64,
        /// Its flushes.
        flushes: u64,
        /// Its estimated time (ns), walks included.
        total_ns: f64,
        /// The other run's tagging.
        other_tagging: &'static str,
        /// Its TLB misses.
        other_misses: u64,
        /// Its hit rate.
        other_hit_rate: f64,
        /// Its flushes.
        other_flushes: u64,
        /// Its estimated time (ns).
        other_total_ns: f64,
    },
    /// The same workload with another page-table format.
    TableCompare {
        /// This run's format.
        table: &'static str,
        /// Its page tables' bytes, over all processes.
        page_table_bytes: u64,
        /// The other run's format.
        other_table: &'static str,
        /// Its page tables' bytes.
        other_page_table_bytes: u64,
    },
    /// The same workload with another number of frames.
    FramesCompare {
        /// The replacement policy.
        policy: &'static str,
        /// This run's frames.
        frames: u64,
        /// Its page faults.
        page_faults: u64,
        /// The other run's frames.
        other_frames: u64,
        /// Its page faults.
        other_page_faults: u64,
    },
    /// The latency table in use.
    CostTable {
        /// The levels.
        levels: Vec<Level>,
        /// Which level serves memory accesses.
        served_by: &'static str,
        /// Disk latency (ns).
        disk_latency_ns: f64,
        /// Disk bandwidth (bytes/s).
        disk_bytes_per_sec: f64,
    },
    /// What one process did.
    ProcessSummary {
        /// The process.
        pid: Pid,
        /// Its name.
        name: String,
        /// `zombie` (exited or killed) or where it stands.
        state: &'static str,
        /// Instructions (counted once: see `cost::Counts::instructions`).
        instructions: u64,
        /// Memory accesses that reached memory (a refused one is a fault).
        accesses: u64,
        /// Faults taken.
        faults: u64,
    },
    /// The same workload under another strategy, next to this run's.
    Compare {
        /// This run's strategy.
        strategy: &'static str,
        /// Its estimated time (ns).
        total_ns: f64,
        /// The other strategy.
        other: &'static str,
        /// The other run's estimated time (ns).
        other_total_ns: f64,
        /// Bytes the other run moved to and from disk.
        other_disk_bytes: u64,
        /// Processes the other run could not load (e.g. no hole large
        /// enough: external fragmentation).
        #[serde(skip_serializing_if = "is_zero")]
        other_load_failures: u64,
        /// `total_ns / other_total_ns`.
        ratio: f64,
    },
    /// The run's totals and estimated time.
    Cost {
        /// The strategy these numbers belong to.
        strategy: &'static str,
        /// Instructions.
        instructions: u64,
        /// Memory accesses.
        accesses: u64,
        /// Context switches.
        context_switches: u64,
        /// Disk transfers.
        disk_transfers: u64,
        /// Bytes moved to and from disk.
        disk_bytes: u64,
        /// Bytes copied by the OS in memory.
        copied_bytes: u64,
        /// Paging: page-table entries read by the MMU's walks (priced as
        /// memory accesses).
        #[serde(skip_serializing_if = "is_zero")]
        walk_reads: u64,
        /// Estimated time, by part.
        #[serde(flatten)]
        estimate: Estimate,
        /// The total, in nanoseconds.
        total_ns: f64,
    },
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One valid TLB entry, where it sits (the TLB picture's cell).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlbSlot {
    /// The set.
    pub set: u64,
    /// The way in the set.
    pub way: u64,
    /// The address space that filled it.
    pub asid: u16,
    /// A global mapping (every address space).
    pub global: bool,
    /// The page's first virtual address.
    pub va: u64,
    /// Bytes the entry maps.
    pub page_size: u64,
    /// The frame's physical address.
    pub pa: u64,
}
