//! CPU scheduling (the lecture's review): FIFO, SJF, STCF and round robin,
//! with arrival times and an optional context-switch cost.
//!
//! Two ways in:
//! - [`Scheduler`], the policy the kernel drives: jobs (processes) are
//!   `admit`ted when they become ready, `pick` chooses who runs next and for
//!   how long at most, `preempt` puts a running job back, `should_preempt`
//!   tells the kernel whether a newly ready job takes the CPU (STCF).
//! - [`simulate`], a whole workload run on that policy, giving the timeline
//!   (slots) and each job's turnaround, response and wait (lecture E1).
//!   The same run streams: [`Slices`] yields each slice as the scheduler
//!   gives it (every RR quantum), [`Timeline`] the merged runs (`A 7-9`),
//!   both in memory O(jobs) however long the run is; a stored
//!   [`Schedule`] holds merged runs, O(context switches).
//!
//! How the kernel drives it (a timer interrupt every quantum):
//!
//! ```text
//! sched.admit(pid, expected)                      // process becomes ready
//! let (pid, remaining, slice) = sched.pick()?     // dispatch it
//! ... run it for at most `slice` ...
//! timer interrupt  -> sched.preempt(pid, remaining - ran)
//! exit or blocking -> (nothing: it is no longer ready; admit again on wake-up)
//! new process      -> if sched.should_preempt(running, left) { preempt it }  (STCF)
//! ```
//!
//! A process whose running time is unknown is admitted with
//! `f64::INFINITY`: FIFO then runs it until it exits, RR gives it quanta,
//! SJF/STCF put it after every job with a known length.
//!
//! Conventions: ties go to the job listed first; under RR, jobs arriving at
//! time t enter the ready queue before the job preempted at t goes back.
//! Times are `f64` so that `vmlab scheduler` reproduces scheduler.py's
//! floating-point arithmetic exactly; whole numbers stay exact.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A scheduling policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Policy {
    /// First in, first out: run each job to completion in arrival order.
    Fifo,
    /// Shortest job first (non-preemptive).
    Sjf,
    /// Shortest time-to-completion first (preemptive SJF).
    Stcf,
    /// Round robin with a time slice.
    RoundRobin {
        /// Length of a time slice (> 0).
        quantum: f64,
    },
}

impl Policy {
    /// Short lower-case name: fifo, sjf, stcf, rr.
    pub fn name(&self) -> &'static str {
        match self {
            Policy::Fifo => "fifo",
            Policy::Sjf => "sjf",
            Policy::Stcf => "stcf",
            Policy::RoundRobin { .. } => "rr",
        }
    }

    /// Whether a job arriving may take the CPU from a running one.
    pub fn preemptive(&self) -> bool {
        matches!(self, Policy::Stcf | Policy::RoundRobin { .. })
    }
}

/// A ready job as the scheduler sees it. Ordered for shortest-first:
/// less remaining time first, then the job listed first (lower id).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ready {
    id: usize,
    remaining: f64,
}

impl Eq for Ready {}

impl Ord for Ready {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.remaining
            .total_cmp(&other.remaining)
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Ready {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The ready queue: arrival order (FIFO, RR) or a min-heap on remaining
/// time (SJF, STCF), so a pick costs O(log n) even with 100 000 jobs.
#[derive(Clone, Debug)]
enum ReadyQueue {
    Arrival(VecDeque<Ready>),
    Shortest(BinaryHeap<Reverse<Ready>>),
}

/// The policy the kernel drives: a ready queue and the rule that picks from it.
///
/// Job ids double as the listing order for ties (lower id = listed first).
#[derive(Clone, Debug)]
pub struct Scheduler {
    policy: Policy,
    queue: ReadyQueue,
}

impl Scheduler {
    /// An empty ready queue under `policy`.
    pub fn new(policy: Policy) -> Scheduler {
        let queue = match policy {
            Policy::Fifo | Policy::RoundRobin { .. } => ReadyQueue::Arrival(VecDeque::new()),
            Policy::Sjf | Policy::Stcf => ReadyQueue::Shortest(BinaryHeap::new()),
        };
        Scheduler { policy, queue }
    }

    /// The policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Number of ready jobs.
    pub fn ready_len(&self) -> usize {
        match &self.queue {
            ReadyQueue::Arrival(q) => q.len(),
            ReadyQueue::Shortest(h) => h.len(),
        }
    }

    /// Job `id` becomes ready with `remaining` time to run (arrival, or
    /// back from a preemption). Under FIFO/RR it joins the back of the queue.
    pub fn admit(&mut self, id: usize, remaining: f64) {
        let r = Ready { id, remaining };
        match &mut self.queue {
            ReadyQueue::Arrival(q) => q.push_back(r),
            ReadyQueue::Shortest(h) => h.push(Reverse(r)),
        }
    }

    /// Puts a preempted job back (the same as `admit`; under RR the kernel
    /// admits the jobs that arrived meanwhile first).
    pub fn preempt(&mut self, id: usize, remaining: f64) {
        self.admit(id, remaining);
    }

    /// Chooses the next job and removes it from the queue. Returns its id,
    /// its remaining time, and the longest it may run before the scheduler
    /// wants the CPU back (`remaining`, or the quantum under RR).
    pub fn pick(&mut self) -> Option<(usize, f64, f64)> {
        let r = match &mut self.queue {
            ReadyQueue::Arrival(q) => q.pop_front()?,
            ReadyQueue::Shortest(h) => h.pop()?.0,
        };
        let slice = match self.policy {
            Policy::RoundRobin { quantum } if r.remaining > quantum => quantum,
            _ => r.remaining,
        };
        Some((r.id, r.remaining, slice))
    }

    /// Under STCF: whether some ready job should displace the running job
    /// `id` with `remaining` time left (shorter, or as short and listed
    /// first). Always false under the other policies.
    pub fn should_preempt(&self, id: usize, remaining: f64) -> bool {
        match (&self.queue, self.policy) {
            (ReadyQueue::Shortest(h), Policy::Stcf) => h
                .peek()
                .is_some_and(|best| best.0 < Ready { id, remaining }),
            _ => false,
        }
    }
}

/// A job of a workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Its name (A, B, C, or a number).
    pub name: String,
    /// When it arrives.
    pub arrival: f64,
    /// How long it runs in total.
    pub runtime: f64,
}

impl Job {
    /// Parses a workload written `NAME:ARRIVAL:RUNTIME,...` (`A:0:40,B:0:20`),
    /// with whole-number times up to [`MAX_TIME`].
    ///
    /// Errors name the job by position and say what is wrong: the shape, an
    /// empty or repeated name, a time that is not a whole number in range.
    pub fn parse_list(text: &str) -> Result<Vec<Job>, String> {
        let mut jobs: Vec<Job> = Vec::new();
        for (i, item) in text.split(',').enumerate() {
            let bad = |why: &str| format!("job {} ('{item}'): {why}", i + 1);
            let parts: Vec<&str> = item.split(':').collect();
            let [name, arrival, runtime] = parts[..] else {
                return Err(bad("write NAME:ARRIVAL:RUNTIME, e.g. A:0:40"));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(bad("the name is empty"));
            }
            if jobs.iter().any(|j| j.name == name) {
                return Err(bad("the name is used twice"));
            }
            let arrival = whole_time("the arrival", arrival).map_err(|e| bad(&e))?;
            let runtime = whole_time("the runtime", runtime).map_err(|e| bad(&e))?;
            jobs.push(Job {
                name: name.to_string(),
                // Exact: both are at most 2^53.
                arrival: arrival as f64,
                runtime: runtime as f64,
            });
        }
        Ok(jobs)
    }
}

/// The latest time a workload may name: 2^53. Times are whole numbers, and
/// every time up to 2^53 (and every sum or difference of two of them that
/// stays in range) is exact in the scheduler's arithmetic, so a workload
/// whose schedule provably ends by then is computed exactly; `vmlab sched`
/// refuses a longer one.
pub const MAX_TIME: u64 = 1 << 53;

/// A time flag or field: a whole number from 0 to [`MAX_TIME`], in decimal
/// (`-0`, `2.5` and `1e3` are refused: `what` says where).
pub fn whole_time(what: &str, text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} '{t}' must be a whole number >= 0"));
    }
    match t.parse::<u64>() {
        Ok(v) if v <= MAX_TIME => Ok(v),
        _ => Err(format!(
            "{what} '{t}' is beyond 2^53 = {MAX_TIME}, the latest time vmlab sched keeps exact"
        )),
    }
}

/// What happened in one stretch of time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SlotKind {
    /// Job (index into the workload) ran.
    Run(usize),
    /// The kernel switched between jobs (context-switch cost).
    Switch,
    /// Nothing was ready.
    Idle,
}

/// One stretch of the timeline: `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slot {
    /// What ran.
    pub kind: SlotKind,
    /// Start time.
    pub start: f64,
    /// End time.
    pub end: f64,
    /// The time given, exactly as the scheduler computed it (`end - start`
    /// may differ from it in the last bit when times are fractional).
    pub length: f64,
}

/// The metrics of one job.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JobStats {
    /// First time it ran.
    pub first_run: f64,
    /// When it finished.
    pub completion: f64,
    /// completion - arrival.
    pub turnaround: f64,
    /// first_run - arrival.
    pub response: f64,
    /// turnaround - runtime: time spent ready but not running.
    pub wait: f64,
}

/// A finished workload run.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The timeline, in time order, as merged runs (consecutive slices of
    /// the same job are one slot).
    pub slots: Vec<Slot>,
    /// Per job, in workload order.
    pub stats: Vec<JobStats>,
}

impl Schedule {
    /// Averages of (turnaround, response, wait) over all jobs (0 when none).
    ///
    /// When every value is a whole number the sum is exact (128-bit
    /// integers) and the average is rounded once, from the exact quotient;
    /// otherwise the values are summed as floats, as scheduler.py does.
    pub fn averages(&self) -> (f64, f64, f64) {
        averages(&self.stats)
    }

    /// The averages of (turnaround, response, wait) with two decimals,
    /// exact when every value is a whole number ([`averages_text`]).
    pub fn averages_text(&self) -> [String; 3] {
        averages_text(&self.stats)
    }
}

/// Why a workload cannot run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    /// Negative, infinite or NaN runtime/arrival.
    #[error("job {job}: {what} must be a finite number >= 0 (got {value})")]
    BadTime {
        /// The job's name.
        job: String,
        /// "runtime" or "arrival".
        what: &'static str,
        /// The bad value.
        value: f64,
    },
    /// A round-robin quantum that is not > 0 (the run would never end).
    #[error("the RR quantum must be > 0 (got {0})")]
    BadQuantum(f64),
    /// A negative or non-finite switch cost.
    #[error("the context-switch cost must be a finite number >= 0 (got {0})")]
    BadSwitchCost(f64),
}

/// Runs `jobs` to completion under `policy`, charging `switch_cost` whenever
/// the CPU passes from one job to a different one, and keeps the timeline as
/// merged runs ([`Timeline`]): its size grows with the number of context
/// switches, never with the number of quanta.
///
/// The kernel's loop in miniature: admit arrivals, pick, run until the job
/// finishes, its slice ends or (STCF) a shorter job arrives; repeat.
pub fn simulate(jobs: &[Job], policy: Policy, switch_cost: f64) -> Result<Schedule, ScheduleError> {
    let mut timeline = Timeline::new(jobs, policy, switch_cost)?;
    let slots = timeline.by_ref().collect();
    Ok(Schedule {
        slots,
        stats: timeline.stats(),
    })
}

/// Averages of (turnaround, response, wait) over `stats` (0 when empty).
///
/// When every value is a whole number the sum is exact (128-bit integers)
/// and the average is rounded once, from the exact quotient; otherwise the
/// values are summed as floats, as scheduler.py does.
pub fn averages(stats: &[JobStats]) -> (f64, f64, f64) {
    let n = stats.len().max(1);
    let avg = |f: fn(&JobStats) -> f64| match whole_sum(stats, f) {
        Some(sum) => {
            let (q, r) = (sum / n as u128, sum % n as u128);
            q as f64 + r as f64 / n as f64
        }
        None => stats.iter().map(f).sum::<f64>() / n as f64,
    };
    (avg(|s| s.turnaround), avg(|s| s.response), avg(|s| s.wait))
}

/// The averages of (turnaround, response, wait) with two decimals. When
/// every value is a whole number they are exact: the exact quotient,
/// rounded half up (a float cannot hold 9007199254740991.5).
pub fn averages_text(stats: &[JobStats]) -> [String; 3] {
    let n = stats.len().max(1) as u128;
    let (t, r, w) = averages(stats);
    let field: [fn(&JobStats) -> f64; 3] = [|s| s.turnaround, |s| s.response, |s| s.wait];
    let fs = [(field[0], t), (field[1], r), (field[2], w)];
    fs.map(|(f, approx)| match whole_sum(stats, f) {
        Some(sum) => {
            // Hundredths, rounded half up: (200 sum + n) / 2n.
            let c = (sum * 200 + n) / (2 * n);
            format!("{}.{:02}", c / 100, c % 100)
        }
        None => format!("{approx:.2}"),
    })
}

/// The exact sum of a per-job value when every one is a whole number below
/// 2^64.
fn whole_sum(stats: &[JobStats], f: fn(&JobStats) -> f64) -> Option<u128> {
    stats
        .iter()
        .map(f)
        .map(|v| (v.fract() == 0.0 && (0.0..1.8e19).contains(&v)).then_some(v as u128))
        .sum()
}

/// One slice of the timeline as the scheduler gives it: a quantum (RR), a
/// run up to the next arrival (STCF) or to completion, a switch, or idle
/// time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slice {
    /// When and what.
    pub slot: Slot,
    /// Whether the job finished at the end of this slice.
    pub completes: bool,
}

/// A workload running under a policy, one [`Slice`] at a time, in time
/// order: an iterator that keeps only the ready queue and per-job counters
/// (memory O(jobs), whatever the run's length). [`Slices::stats`] gives the
/// metrics once the iterator is exhausted.
#[derive(Clone, Debug)]
pub struct Slices<'a> {
    jobs: &'a [Job],
    policy: Policy,
    switch_cost: f64,
    /// Job indices in arrival order (ties in listing order).
    arrivals: Vec<usize>,
    next_arrival: usize,
    sched: Scheduler,
    first_run: Vec<Option<f64>>,
    completion: Vec<f64>,
    done: usize,
    now: f64,
    last: Option<usize>,
    /// A run that follows the switch slice just returned.
    pending: Option<Slice>,
}

impl<'a> Slices<'a> {
    /// The run of `jobs` under `policy`, not started yet.
    ///
    /// Fails on a bad time, quantum or switch cost ([`ScheduleError`]).
    pub fn new(jobs: &'a [Job], policy: Policy, switch_cost: f64) -> Result<Self, ScheduleError> {
        validate(jobs, policy, switch_cost)?;
        // Arrival order; ties in listing order (a stable sort).
        let mut arrivals: Vec<usize> = (0..jobs.len()).collect();
        arrivals.sort_by(|&a, &b| jobs[a].arrival.total_cmp(&jobs[b].arrival));
        Ok(Slices {
            jobs,
            policy,
            switch_cost,
            arrivals,
            next_arrival: 0,
            sched: Scheduler::new(policy),
            first_run: vec![None; jobs.len()],
            completion: vec![0.0; jobs.len()],
            done: 0,
            now: 0.0,
            last: None,
            pending: None,
        })
    }

    /// Admits every job that has arrived by now.
    fn admit_arrived(&mut self) {
        while let Some(&id) = self.arrivals.get(self.next_arrival) {
            if self.jobs[id].arrival > self.now {
                break;
            }
            self.sched.admit(id, self.jobs[id].runtime);
            self.next_arrival += 1;
        }
    }

    /// Under RR, when the job that just ran is the only one ready, runs
    /// at once the full quanta it would run alone before the next arrival
    /// or its last quantum, and returns them as one slot (`None` when there
    /// are none). Only with whole-number times up to 2^53, where k additions
    /// of the quantum are one exact multiplication: the times are those of
    /// stepping quantum by quantum. [`Timeline`] uses it, so that a long
    /// run alone costs one step, not one per quantum.
    fn run_alone(&mut self) -> Option<Slot> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        let Policy::RoundRobin { quantum } = self.policy else {
            return None;
        };
        let ReadyQueue::Arrival(queue) = &mut self.sched.queue else {
            return None;
        };
        let (id, now) = (self.last?, self.now);
        let whole = |x: f64| x.fract() == 0.0 && (0.0..=EXACT).contains(&x);
        if queue.len() != 1 || self.pending.is_some() {
            return None;
        }
        let only = queue.front_mut().filter(|r| r.id == id)?;
        if !(whole(quantum) && whole(only.remaining) && whole(now) && quantum >= 1.0) {
            return None;
        }
        let (q, r, t) = (quantum as u64, only.remaining as u64, now as u64);
        // Full quanta that do not finish the job: steps i with r - (i-1)q > q.
        let mut k = r.saturating_sub(1) / q;
        // ... and end before the next arrival (who would then go first).
        if let Some(&a) = self.arrivals.get(self.next_arrival) {
            let next = self.jobs[a].arrival;
            let fit = ((next - now) / quantum).ceil().max(1.0) - 1.0;
            let mut fit = if fit < EXACT { fit as u64 } else { u64::MAX };
            while fit > 0 && (t + fit.min(k) * q) as f64 >= next {
                fit -= 1;
            }
            k = k.min(fit);
        }
        // (all within 2^53)
        k = k.min((EXACT as u64 - t) / q);
        if k == 0 {
            return None;
        }
        let ran = k * q;
        only.remaining = (r - ran) as f64;
        self.now = (t + ran) as f64;
        Some(Slot {
            kind: SlotKind::Run(id),
            start: now,
            end: self.now,
            length: ran as f64,
        })
    }

    /// Per job, in workload order: first run, completion and the metrics
    /// (complete once the iterator has returned `None`).
    pub fn stats(&self) -> Vec<JobStats> {
        self.jobs
            .iter()
            .enumerate()
            .map(|(i, job)| {
                let first = self.first_run[i].unwrap_or(job.arrival);
                let turnaround = self.completion[i] - job.arrival;
                JobStats {
                    first_run: first,
                    completion: self.completion[i],
                    turnaround,
                    response: first - job.arrival,
                    wait: turnaround - job.runtime,
                }
            })
            .collect()
    }
}

impl Iterator for Slices<'_> {
    type Item = Slice;

    fn next(&mut self) -> Option<Slice> {
        if let Some(run) = self.pending.take() {
            return Some(run);
        }
        if self.done == self.jobs.len() {
            return None;
        }
        self.admit_arrived();
        let Some((id, remaining, mut slice)) = self.sched.pick() else {
            // Nothing ready: the CPU idles until the next arrival.
            let until = self.jobs[*self.arrivals.get(self.next_arrival)?].arrival;
            let idle = Slot {
                kind: SlotKind::Idle,
                start: self.now,
                end: until,
                length: until - self.now,
            };
            self.now = until;
            return Some(Slice {
                slot: idle,
                completes: false,
            });
        };
        let mut switch = None;
        if self.switch_cost > 0.0 && self.last.is_some_and(|l| l != id) {
            switch = Some(Slot {
                kind: SlotKind::Switch,
                start: self.now,
                end: self.now + self.switch_cost,
                length: self.switch_cost,
            });
            self.now += self.switch_cost;
            // Jobs arriving during the switch are ready now.
            self.admit_arrived();
        }
        if self.policy == Policy::Stcf {
            // Run only until the next arrival, when the choice is made again.
            if let Some(&a) = self.arrivals.get(self.next_arrival) {
                let gap = self.jobs[a].arrival - self.now;
                if gap < slice {
                    slice = gap;
                }
            }
        }
        self.first_run[id].get_or_insert(self.now);
        let end = self.now + slice;
        let run = Slot {
            kind: SlotKind::Run(id),
            start: self.now,
            end,
            length: slice,
        };
        self.now = end;
        self.last = Some(id);
        // The job's slice is over: finished, or back to the queue after
        // the jobs that arrived meanwhile.
        let left = match self.policy {
            Policy::RoundRobin { quantum } if remaining > quantum => remaining - quantum,
            _ if slice < remaining => remaining - slice,
            _ => 0.0,
        };
        self.admit_arrived();
        if left > 0.0 {
            self.sched.preempt(id, left);
        } else {
            self.completion[id] = self.now;
            self.done += 1;
        }
        let run = Slice {
            slot: run,
            completes: left <= 0.0,
        };
        match switch {
            Some(slot) => {
                self.pending = Some(run);
                Some(Slice {
                    slot,
                    completes: false,
                })
            }
            None => Some(run),
        }
    }
}

/// The timeline as merged runs: consecutive slices of the same job (RR
/// quanta while nothing else is ready, STCF's stops at arrivals) become one
/// slot, `A 7-9` rather than `A 7-8, A 8-9`. An iterator over [`Slices`]
/// that holds one slot back: memory O(jobs), and the slots it yields grow
/// with the number of context switches only.
#[derive(Clone, Debug)]
pub struct Timeline<'a> {
    slices: Slices<'a>,
    held: Option<Slot>,
}

impl<'a> Timeline<'a> {
    /// The merged timeline of `jobs` under `policy` (see [`Slices::new`]).
    pub fn new(jobs: &'a [Job], policy: Policy, switch_cost: f64) -> Result<Self, ScheduleError> {
        Ok(Timeline {
            slices: Slices::new(jobs, policy, switch_cost)?,
            held: None,
        })
    }

    /// The metrics, as [`Slices::stats`] (complete once exhausted).
    pub fn stats(&self) -> Vec<JobStats> {
        self.slices.stats()
    }
}

impl Iterator for Timeline<'_> {
    type Item = Slot;

    fn next(&mut self) -> Option<Slot> {
        loop {
            // A job running alone under RR goes on in one step.
            let alone = match self.held {
                Some(h) if matches!(h.kind, SlotKind::Run(_)) && h.end == self.slices.now => {
                    self.slices.run_alone()
                }
                _ => None,
            };
            let Some(slot) = alone.or_else(|| self.slices.next().map(|s| s.slot)) else {
                return self.held.take();
            };
            match &mut self.held {
                Some(prev) if prev.kind == slot.kind && prev.end == slot.start => {
                    prev.end = slot.end;
                    prev.length += slot.length;
                }
                held => {
                    if let Some(done) = held.replace(slot) {
                        return Some(done);
                    }
                }
            }
        }
    }
}

/// Checks times, quantum and switch cost.
fn validate(jobs: &[Job], policy: Policy, switch_cost: f64) -> Result<(), ScheduleError> {
    for job in jobs {
        for (what, value) in [("runtime", job.runtime), ("arrival", job.arrival)] {
            if !value.is_finite() || value < 0.0 {
                return Err(ScheduleError::BadTime {
                    job: job.name.clone(),
                    what,
                    value,
                });
            }
        }
    }
    if let Policy::RoundRobin { quantum } = policy {
        if !(quantum.is_finite() && quantum > 0.0) {
            return Err(ScheduleError::BadQuantum(quantum));
        }
    }
    if !switch_cost.is_finite() || switch_cost < 0.0 {
        return Err(ScheduleError::BadSwitchCost(switch_cost));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// E1's workload (also charted by the tests of `render::gantt`).
    pub(crate) fn e1() -> Vec<Job> {
        [("A", 0.0, 40.0), ("B", 0.0, 20.0), ("C", 5.0, 10.0)]
            .into_iter()
            .map(|(n, a, r)| Job {
                name: n.into(),
                arrival: a,
                runtime: r,
            })
            .collect()
    }

    fn timeline(s: &Schedule) -> Vec<(usize, f64, f64)> {
        s.slots
            .iter()
            .filter_map(|sl| match sl.kind {
                SlotKind::Run(j) => Some((j, sl.start, sl.end)),
                _ => None,
            })
            .collect()
    }

    fn column(s: &Schedule, f: fn(&JobStats) -> f64) -> Vec<f64> {
        s.stats.iter().map(f).collect()
    }

    #[test]
    fn e1_fifo() {
        let s = simulate(&e1(), Policy::Fifo, 0.0).unwrap();
        assert_eq!(
            timeline(&s),
            vec![(0, 0.0, 40.0), (1, 40.0, 60.0), (2, 60.0, 70.0)]
        );
        assert_eq!(column(&s, |j| j.turnaround), vec![40.0, 60.0, 65.0]);
        assert_eq!(column(&s, |j| j.response), vec![0.0, 40.0, 55.0]);
    }

    #[test]
    fn e1_sjf() {
        let s = simulate(&e1(), Policy::Sjf, 0.0).unwrap();
        assert_eq!(
            timeline(&s),
            vec![(1, 0.0, 20.0), (2, 20.0, 30.0), (0, 30.0, 70.0)]
        );
        assert_eq!(column(&s, |j| j.turnaround), vec![70.0, 20.0, 25.0]);
        assert_eq!(column(&s, |j| j.response), vec![30.0, 0.0, 15.0]);
    }

    #[test]
    fn e1_stcf() {
        let s = simulate(&e1(), Policy::Stcf, 0.0).unwrap();
        assert_eq!(
            timeline(&s),
            vec![
                (1, 0.0, 5.0),
                (2, 5.0, 15.0),
                (1, 15.0, 30.0),
                (0, 30.0, 70.0)
            ]
        );
        assert_eq!(column(&s, |j| j.turnaround), vec![70.0, 30.0, 10.0]);
        assert_eq!(column(&s, |j| j.response), vec![30.0, 0.0, 0.0]);
    }

    #[test]
    fn e1_rr_quantum_5_arrivals_queue_before_the_preempted_job() {
        let s = simulate(&e1(), Policy::RoundRobin { quantum: 5.0 }, 0.0).unwrap();
        let order: String = timeline(&s).iter().map(|t| ["A", "B", "C"][t.0]).collect();
        // A's last four quanta, with nobody else ready, are one run.
        assert_eq!(order, "ABCABCABABA");
        assert_eq!(timeline(&s).last(), Some(&(0, 50.0, 70.0)));
        assert_eq!(column(&s, |j| j.turnaround), vec![70.0, 50.0, 25.0]);
        assert_eq!(column(&s, |j| j.response), vec![0.0, 5.0, 5.0]);
        let (t, r, _) = s.averages();
        assert_eq!(format!("{t:.2} {r:.2}"), "48.33 3.33");
    }

    #[test]
    fn slices_give_every_quantum_and_say_when_a_job_completes() {
        let jobs = e1();
        let slices: Vec<Slice> = Slices::new(&jobs, Policy::RoundRobin { quantum: 5.0 }, 0.0)
            .unwrap()
            .collect();
        assert_eq!(slices.len(), 14);
        let done: Vec<(usize, f64)> = slices
            .iter()
            .filter(|s| s.completes)
            .map(|s| match s.slot.kind {
                SlotKind::Run(j) => (j, s.slot.end),
                _ => unreachable!("only runs complete"),
            })
            .collect();
        assert_eq!(done, vec![(2, 30.0), (1, 50.0), (0, 70.0)]);
    }

    #[test]
    fn a_long_run_is_one_slot_not_one_per_quantum() {
        // 10^12 quanta of one job: a stored schedule of one slot, computed
        // in a few steps (one per quantum would take hours).
        let jobs = Job::parse_list("A:0:1000000000000,B:500000000000:3").unwrap();
        let s = simulate(&jobs, Policy::RoundRobin { quantum: 1.0 }, 0.0).unwrap();
        let runs: Vec<(SlotKind, f64, f64)> =
            s.slots.iter().map(|s| (s.kind, s.start, s.end)).collect();
        assert_eq!(
            runs,
            vec![
                (SlotKind::Run(0), 0.0, 5e11),
                (SlotKind::Run(1), 5e11, 5e11 + 1.0),
                (SlotKind::Run(0), 5e11 + 1.0, 5e11 + 2.0),
                (SlotKind::Run(1), 5e11 + 2.0, 5e11 + 3.0),
                (SlotKind::Run(0), 5e11 + 3.0, 5e11 + 4.0),
                (SlotKind::Run(1), 5e11 + 4.0, 5e11 + 5.0),
                (SlotKind::Run(0), 5e11 + 5.0, 1e12 + 3.0),
            ]
        );
        assert_eq!(s.stats[0].completion, 1e12 + 3.0);
    }

    proptest::proptest! {
        /// The merged timeline (which runs a job alone under RR in one
        /// step) is the slices merged one by one, and gives the same stats.
        #[test]
        fn the_timeline_is_the_slices_merged(
            spec in proptest::collection::vec((0..40u32, 0..60u32), 1..6),
            q in 1..7u32,
            half in proptest::bool::ANY,
            cost in 0..2u32,
        ) {
            let jobs: Vec<Job> = spec.iter().enumerate().map(|(i, &(a, r))| Job {
                name: i.to_string(),
                arrival: a as f64 + if half && i == 0 { 0.5 } else { 0.0 },
                runtime: r as f64,
            }).collect();
            let policy = Policy::RoundRobin { quantum: q as f64 };
            let mut merged: Vec<Slot> = Vec::new();
            let mut slices = Slices::new(&jobs, policy, cost as f64).unwrap();
            for Slice { slot, .. } in slices.by_ref() {
                match merged.last_mut() {
                    Some(p) if p.kind == slot.kind && p.end == slot.start => {
                        p.end = slot.end;
                        p.length += slot.length;
                    }
                    _ => merged.push(slot),
                }
            }
            let mut timeline = Timeline::new(&jobs, policy, cost as f64).unwrap();
            let fast: Vec<Slot> = timeline.by_ref().collect();
            proptest::prop_assert_eq!(fast, merged);
            proptest::prop_assert_eq!(timeline.stats(), slices.stats());
        }
    }

    #[test]
    fn switch_cost_is_charged_between_different_jobs_only() {
        let jobs = &e1()[..1];
        let s = simulate(jobs, Policy::RoundRobin { quantum: 5.0 }, 1.0).unwrap();
        assert_eq!(s.stats[0].completion, 40.0);
        let s = simulate(&e1(), Policy::Fifo, 1.0).unwrap();
        assert_eq!(s.stats[2].completion, 72.0);
    }

    #[test]
    fn workloads_parse_and_errors_name_the_job() {
        assert_eq!(Job::parse_list("A:0:40,B:0:20,C:5:10").unwrap(), e1());
        assert!(
            Job::parse_list("A:0:40,B:0")
                .unwrap_err()
                .starts_with("job 2")
        );
        assert!(Job::parse_list("A:0:-1").unwrap_err().contains(">= 0"));
        assert!(
            Job::parse_list("A:0:2.5")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            Job::parse_list("A:0:1,A:1:1")
                .unwrap_err()
                .contains("twice")
        );
    }

    #[test]
    fn idle_cpu_waits_for_the_next_arrival() {
        let jobs = vec![Job {
            name: "late".into(),
            arrival: 10.0,
            runtime: 5.0,
        }];
        let s = simulate(&jobs, Policy::Fifo, 0.0).unwrap();
        assert_eq!(s.slots[0].kind, SlotKind::Idle);
        assert_eq!(s.stats[0].completion, 15.0);
        assert_eq!(s.stats[0].response, 0.0);
    }

    #[test]
    fn zero_quantum_and_negative_runtime_are_refused() {
        assert_eq!(
            simulate(&e1(), Policy::RoundRobin { quantum: 0.0 }, 0.0),
            Err(ScheduleError::BadQuantum(0.0))
        );
        let mut jobs = e1();
        jobs[1].runtime = -3.0;
        assert!(matches!(
            simulate(&jobs, Policy::Fifo, 0.0),
            Err(ScheduleError::BadTime { .. })
        ));
    }

    #[test]
    fn kernel_driven_stcf_preempts_for_a_shorter_job() {
        let mut s = Scheduler::new(Policy::Stcf);
        s.admit(0, 40.0);
        let (id, _, _) = s.pick().unwrap();
        assert_eq!(id, 0);
        s.admit(1, 10.0);
        assert!(s.should_preempt(0, 35.0));
        assert!(!Scheduler::new(Policy::Fifo).should_preempt(0, 1.0));
    }

    #[test]
    fn timer_driven_round_robin_of_processes_with_unknown_length() {
        let mut s = Scheduler::new(Policy::RoundRobin { quantum: 3.0 });
        s.admit(7, f64::INFINITY);
        s.admit(9, f64::INFINITY);
        let mut order = Vec::new();
        for _ in 0..4 {
            let (pid, remaining, slice) = s.pick().unwrap();
            assert_eq!(slice, 3.0);
            order.push(pid);
            s.preempt(pid, remaining - slice);
        }
        assert_eq!(order, vec![7, 9, 7, 9]);
        assert_eq!(s.ready_len(), 2);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Every policy runs each job for exactly its runtime, never two
            /// at once, and the metrics agree with the timeline.
            #[test]
            fn every_job_gets_exactly_its_runtime(
                spec in proptest::collection::vec((0..20u32, 0..15u32), 1..8),
                which in 0..4usize,
                q in 1..6u32,
            ) {
                let jobs: Vec<Job> = spec.iter().enumerate().map(|(i, &(a, r))| Job {
                    name: i.to_string(), arrival: a as f64, runtime: r as f64,
                }).collect();
                let policy = [Policy::Fifo, Policy::Sjf, Policy::Stcf,
                    Policy::RoundRobin { quantum: q as f64 }][which];
                let s = simulate(&jobs, policy, 0.0).unwrap();
                let mut ran = vec![0.0; jobs.len()];
                let mut t = 0.0;
                for sl in &s.slots {
                    prop_assert!(sl.start >= t);
                    t = sl.end;
                    if let SlotKind::Run(j) = sl.kind {
                        prop_assert!(sl.start >= jobs[j].arrival);
                        ran[j] += sl.end - sl.start;
                    }
                }
                for (j, job) in jobs.iter().enumerate() {
                    prop_assert_eq!(ran[j], job.runtime);
                    let st = s.stats[j];
                    prop_assert!(st.wait >= 0.0 && st.response >= 0.0);
                    prop_assert!(st.response <= st.wait);
                }
            }
        }
    }
}
