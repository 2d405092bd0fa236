//! The scheduler.py homework: a job list (random run times, or given with
//! `-l`), all arriving at time 0, scheduled with FIFO, SJF or RR on the
//! kernel's scheduler ([`crate::kernel::scheduler`]); the answers are
//! computed from its timeline with scheduler.py's floating-point steps, so
//! they match to the last printed digit.

use super::PyRandom;
use super::pyvalue::parse_float;
use crate::kernel::scheduler::{self, Job, Policy, Schedule, SlotKind};

/// Where the jobs come from.
#[derive(Clone, Debug, PartialEq)]
pub enum JobSource {
    /// `-j N -m MAX -s SEED`: run times `int(MAX * random()) + 1`.
    Random {
        /// Number of jobs.
        jobs: u64,
        /// Longest run time.
        maxlen: i128,
        /// The seed.
        seed: i128,
    },
    /// `-l 10,15,20`: the run times as Python floats.
    List(Vec<f64>),
}

/// The job run times, in job-number order (integers for random jobs).
pub fn runtimes(source: &JobSource) -> Vec<f64> {
    match source {
        JobSource::Random { jobs, maxlen, seed } => {
            let mut rng = PyRandom::new(*seed);
            let maxlen = *maxlen as f64;
            (0..*jobs)
                .map(|_| ((maxlen * rng.random()) as i64 + 1) as f64)
                .collect()
        }
        JobSource::List(v) => v.clone(),
    }
}

/// Parses `-l`: comma-separated run times (Python `float()` syntax). Each
/// must be a finite number >= 0; errors name the item.
pub fn parse_jlist(text: &str) -> Result<Vec<f64>, String> {
    text.split(',')
        .enumerate()
        .map(|(i, item)| {
            let n = i + 1;
            let value = parse_float(item)
                .ok_or_else(|| format!("-l: job {n} ('{item}') is not a number"))?;
            if !value.is_finite() || value < 0.0 {
                return Err(format!(
                    "-l: job {n} ('{item}'): a run time must be a finite number >= 0"
                ));
            }
            Ok(value)
        })
        .collect()
}

/// The per-job answers, as scheduler.py computes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Answer {
    /// Job number.
    pub job: usize,
    /// Response time.
    pub response: f64,
    /// Turnaround time.
    pub turnaround: f64,
    /// Wait time.
    pub wait: f64,
}

/// The most jobs `-j` may ask for: 10^6. Each job is kept in memory (its
/// run time, its place in the ready queue, its answers) as scheduler.py
/// keeps it in a list; `-j 4294967296` would need tens of gigabytes there
/// too, so the drop-in refuses it instead.
pub const MAX_JOBS: u64 = 1_000_000;

/// The jobs (all arriving at time 0), named by their number.
pub fn jobs(runtimes: &[f64]) -> Vec<Job> {
    runtimes
        .iter()
        .enumerate()
        .map(|(i, &r)| Job {
            name: i.to_string(),
            arrival: 0.0,
            runtime: r,
        })
        .collect()
}

/// Schedules the jobs (all arriving at 0) under `policy` (Fifo, Sjf or
/// RoundRobin) on the kernel's scheduler, with no switch cost; the
/// timeline is stored as merged runs.
///
/// Fails only for a quantum <= 0 (scheduler.py would loop forever).
pub fn schedule(runtimes: &[f64], policy: Policy) -> Result<Schedule, String> {
    scheduler::simulate(&jobs(runtimes), policy, 0.0).map_err(|e| e.to_string())
}

/// The answers from the timeline. FIFO and SJF list jobs in the order they
/// ran (response = wait = start, turnaround = end); RR lists them by number,
/// with the wait summed over the gaps between a job's slices, exactly as
/// scheduler.py adds them up.
pub fn answers(schedule: &Schedule, policy: Policy) -> Vec<Answer> {
    let mut tally = Tally::new(schedule.stats.len(), policy);
    for s in &schedule.slots {
        if let SlotKind::Run(j) = s.kind {
            tally.ran(j, s.start, s.end);
        }
    }
    tally.answers()
}

/// The answers, added up slice by slice as the timeline streams (memory
/// O(jobs)); a run split into several slices gives the same answers as
/// the merged run, since the gaps between its slices are zero.
#[derive(Clone, Debug)]
pub struct Tally {
    rr: bool,
    /// RR: per job number.
    response: Vec<f64>,
    wait: Vec<f64>,
    last_ran: Vec<f64>,
    turnaround: Vec<f64>,
    /// FIFO, SJF: one answer per run, in the order they ran.
    in_order: Vec<Answer>,
}

impl Tally {
    /// Nothing ran yet, of `jobs` jobs under `policy`.
    pub fn new(jobs: usize, policy: Policy) -> Tally {
        let rr = matches!(policy, Policy::RoundRobin { .. });
        let per_job = if rr { jobs } else { 0 };
        Tally {
            rr,
            response: vec![-1.0; per_job],
            wait: vec![0.0; per_job],
            last_ran: vec![0.0; per_job],
            turnaround: vec![0.0; per_job],
            in_order: Vec::new(),
        }
    }

    /// Job `j` ran from `start` to `end`.
    pub fn ran(&mut self, j: usize, start: f64, end: f64) {
        if !self.rr {
            self.in_order.push(Answer {
                job: j,
                response: start,
                turnaround: end,
                wait: start,
            });
            return;
        }
        if self.response[j] < 0.0 {
            self.response[j] = start;
        }
        self.wait[j] += start - self.last_ran[j];
        self.last_ran[j] = end;
        self.turnaround[j] = end;
    }

    /// The answers: by number under RR, in running order otherwise.
    pub fn answers(self) -> Vec<Answer> {
        if !self.rr {
            return self.in_order;
        }
        (0..self.response.len())
            .map(|j| Answer {
                job: j,
                response: self.response[j],
                turnaround: self.turnaround[j],
                wait: self.wait[j],
            })
            .collect()
    }
}

/// Averages of (response, turnaround, wait), summed in list order.
pub fn averages(answers: &[Answer]) -> (f64, f64, f64) {
    let (mut r, mut t, mut w) = (0.0, 0.0, 0.0);
    for a in answers {
        r += a.response;
        t += a.turnaround;
        w += a.wait;
    }
    let n = answers.len() as f64;
    (r / n, t / n, w / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jlist_errors_name_the_item() {
        assert_eq!(parse_jlist("5,3.5").unwrap(), vec![5.0, 3.5]);
        assert!(parse_jlist("5,,3").unwrap_err().contains("job 2"));
        assert!(parse_jlist("5,-3").unwrap_err().contains(">= 0"));
        assert!(parse_jlist("inf").is_err());
    }

    #[test]
    fn rr_answers_match_the_homework_example() {
        // scheduler.py -p RR -l 40,20,10 -q 5 -c (the golden test checks all).
        let s = schedule(&[40.0, 20.0, 10.0], Policy::RoundRobin { quantum: 5.0 }).unwrap();
        let a = answers(&s, Policy::RoundRobin { quantum: 5.0 });
        assert_eq!(a[2].turnaround, 30.0);
        assert_eq!(a[0].response, 0.0);
        assert_eq!(a[1].response, 5.0);
    }
}
