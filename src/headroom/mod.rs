//! `ipamsim headroom SCENARIO --grow KEY [--until CRITERIA] [--seeds N] [--jobs N]`: how far
//! one size of the scenario can grow before a run fails (DESIGN.md §3).
//!
//! The search starts from the scenario's own value and doubles it until a run fails, then
//! bisects between the last value that passed and the first that failed, down to adjacent
//! integers: the answer is the largest value that passed *in every seed*. (When the start
//! itself fails, the search halves downwards instead, to the largest value that passes.)
//! Each probe runs all seeds in parallel on sweep's machinery ([`crate::batch`]) with the
//! same seeds for every value (common random numbers), and probes follow each other in a
//! fixed order, so the probes — and every output byte — are the same whatever `--jobs`.
//!
//! A run *fails* when it does not meet one of the criteria ([`crate::criteria`]; by default
//! no `InsufficientCidrBlocks`, no `InsufficientFreeAddressesInSubnet`, no node that could
//! not launch, no unschedulable pod, p99 pod IP wait ≤ 10 s).
//!
//! Growth need not be monotone in a stochastic model: one more replica can shift every later
//! draw of a node's loop. Bisection alone never sees that (it only probes between a pass and
//! a fail), so after it the two values just above the smallest failure are probed too; if
//! one passes, the result says so. The answer stays the largest value below the smallest
//! failing value seen, which the result also names.
//!
//! Growth stops without a failure after 10 doublings (1,024×), or where the scenario refuses the value
//! (more nodes or pods than a scenario may have); the result then says how far it got.

mod grow;
pub mod page;

pub use grow::Grow;

use crate::Error;
use crate::batch::{Batch, seeds_from};
use crate::criteria::Criteria;
use crate::report::format::human_time;
use crate::report::{RunOutput, Summary};
use crate::scenario::{Scenario, ScenarioText};

/// Doublings before the search gives up looking for a failure.
const MAX_DOUBLINGS: u32 = 10;

/// What `headroom` was asked.
#[derive(Clone, Debug)]
pub struct Request {
    /// `--grow KEY`.
    pub grow: String,
    /// The criteria every run must meet (defaults changed by `--until`).
    pub until: Criteria,
    /// `--set` overrides applied before anything else.
    pub sets: Vec<String>,
    /// `--seeds`.
    pub seeds: u32,
    /// `--jobs`.
    pub threads: usize,
    /// Show a progress line on a terminal.
    pub progress: bool,
}

/// One value tried, with every seed's run.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// The value of the grown key.
    pub value: u64,
    /// One summary per seed, in seed order.
    pub runs: Vec<Summary>,
    /// Per seed: the first criterion the run did not meet (`None`: it passed).
    pub unmet: Vec<Option<String>>,
}

impl Probe {
    /// Passed in every seed.
    pub fn passed(&self) -> bool {
        self.unmet.iter().all(Option::is_none)
    }
}

/// What `headroom` found.
#[derive(Clone, Debug)]
pub struct Headroom {
    /// The scenario's name.
    pub name: String,
    /// The grown key as given.
    pub key: String,
    /// The scenario's own value of it.
    pub start: u64,
    /// The largest value that passed in every seed (below the smallest failure seen).
    pub answer: Option<u64>,
    /// The smallest value that failed in some seed.
    pub first_failing: Option<u64>,
    /// The first seed (in seed order) that failed at `first_failing`.
    pub failing_seed: Option<u64>,
    /// The criterion that seed's run did not meet.
    pub failing_criterion: Option<String>,
    /// What happened, for people: "the first `InsufficientCidrBlocks` comes at 3h 12m".
    pub failure: Option<String>,
    /// A value above `first_failing` that passed (growth not monotone here).
    pub passed_above_failure: Option<u64>,
    /// Why the search stopped without a failure, if it did.
    pub stopped: Option<String>,
    /// Every probe, in the order it was run.
    pub probes: Vec<Probe>,
    /// The seeds.
    pub seeds: Vec<u64>,
    /// The criteria.
    pub until: Criteria,
    /// The full run of `first_failing` in `failing_seed`, for its report.
    pub failing_run: Option<RunOutput>,
    /// The scenario's warnings (each once).
    pub warnings: Vec<String>,
}

/// The search state: probes run so far.
struct Search<'a> {
    text: &'a ScenarioText,
    sets: &'a [String],
    grow: &'a Grow,
    until: &'a Criteria,
    batch: &'a Batch,
    probes: Vec<Probe>,
    warnings: Vec<String>,
}

/// A probe could not be built: the scenario refuses the value.
struct Refused(String);

impl Search<'_> {
    fn scenario(&self, value: u64) -> Result<Scenario, Error> {
        let all: Vec<String> = self
            .sets
            .iter()
            .cloned()
            .chain(self.grow.overrides(value))
            .collect();
        Ok(self.text.build(&all)?)
    }

    /// Runs `value` in every seed (or returns the earlier probe of it).
    fn probe(&mut self, value: u64) -> Result<Result<bool, Refused>, Error> {
        if let Some(p) = self.probes.iter().find(|p| p.value == value) {
            return Ok(Ok(p.passed()));
        }
        let scenario = match self.scenario(value) {
            Ok(s) => s,
            Err(e) => return Ok(Err(Refused(e.to_string()))),
        };
        for w in &scenario.warnings {
            if !self.warnings.contains(w) {
                self.warnings.push(w.clone());
            }
        }
        self.batch.say(format!("probing {value}"));
        let runs = match self.batch.summaries(std::slice::from_ref(&scenario)) {
            Ok(mut r) => r.pop().unwrap_or_default(),
            // The engine refuses what validation cannot see (nodes ready at t=0 that do not
            // fit their subnet): as for a value the scenario refuses.
            Err(e) if e.exit_code() == 2 => return Ok(Err(Refused(e.to_string()))),
            Err(e) => return Err(e),
        };
        let unmet = runs
            .iter()
            .map(|s| self.until.first_unmet(s, |_| 0.0).map(ToString::to_string))
            .collect();
        let probe = Probe { value, runs, unmet };
        let passed = probe.passed();
        self.probes.push(probe);
        Ok(Ok(passed))
    }
}

/// Runs the search (see the module docs).
pub fn headroom(text: &ScenarioText, req: &Request) -> Result<Headroom, Error> {
    let base = text.build(&req.sets)?;
    let (grow, start) = Grow::resolve(&req.grow, text, &base, &req.sets)?;
    let batch = Batch::new(seeds_from(base.seed, req.seeds)?, req.threads, req.progress)?;
    let mut search = Search {
        text,
        sets: &req.sets,
        grow: &grow,
        until: &req.until,
        batch: &batch,
        probes: Vec::new(),
        warnings: Vec::new(),
    };
    // The start must build: a bad value there is the user's to fix.
    search.scenario(start)?;

    let mut stopped = None;
    let (mut lo, mut hi): (Option<u64>, Option<u64>);
    match search.probe(start)? {
        Ok(true) => {
            lo = Some(start);
            hi = None;
            let mut v = start;
            for _ in 0..MAX_DOUBLINGS {
                v = v.saturating_mul(2).max(v + 1);
                match search.probe(v)? {
                    Ok(true) => lo = Some(v),
                    Ok(false) => {
                        hi = Some(v);
                        break;
                    }
                    Err(Refused(why)) => {
                        stopped = Some(format!("the scenario refuses {v}: {why}"));
                        // Bisect towards the largest value the scenario takes.
                        let (mut ok, mut bad) = (lo.unwrap_or(start), v);
                        while bad - ok > 1 {
                            let mid = ok + (bad - ok) / 2;
                            match search.probe(mid)? {
                                Ok(true) => ok = mid,
                                Ok(false) => {
                                    hi = Some(mid);
                                    break;
                                }
                                Err(_) => bad = mid,
                            }
                        }
                        lo = Some(ok);
                        break;
                    }
                }
            }
            if hi.is_none() && stopped.is_none() {
                stopped = Some(format!(
                    "no failure after {MAX_DOUBLINGS} doublings (up to {})",
                    lo.unwrap_or(start)
                ));
            }
        }
        Ok(false) => {
            hi = Some(start);
            lo = None;
            let floor = grow.floor();
            let mut v = start;
            while v > floor {
                v = (v / 2).max(floor);
                match search.probe(v)? {
                    Ok(true) => {
                        lo = Some(v);
                        break;
                    }
                    Ok(false) => hi = Some(v),
                    Err(Refused(_)) => break,
                }
            }
        }
        // The scenario as given cannot run: the engine's own message says why.
        Err(Refused(why)) => return Err(Error::Usage(why)),
    }
    if let (Some(l), Some(h)) = (lo, hi) {
        if stopped.is_some() {
            stopped = None; // a failure was found while closing in on the refusal
        }
        let (mut l, mut h) = (l, h);
        while h - l > 1 {
            let mid = l + (h - l) / 2;
            match search.probe(mid)? {
                Ok(true) => l = mid,
                Ok(false) | Err(_) => h = mid,
            }
        }
        lo = Some(l);
        hi = Some(h);
    }
    // Monotone? Look just above the smallest failure.
    let mut passed_above_failure = None;
    if let Some(h) = hi {
        for v in [h + 1, h + 2] {
            if let Ok(true) = search.probe(v)? {
                passed_above_failure = Some(v);
                break;
            }
        }
    }
    let (failing_seed, failing_criterion, failing_run, failure) = match hi {
        Some(h) => {
            let probe = search
                .probes
                .iter()
                .find(|p| p.value == h)
                .ok_or_else(|| Error::Usage("internal: the failing probe is missing".into()))?;
            let at = probe.unmet.iter().position(Option::is_some).unwrap_or(0);
            let seed = batch.seeds()[at];
            let run = batch.full_run(&search.scenario(h)?, seed)?;
            let criterion = probe.unmet[at].clone();
            let failure = criterion
                .as_deref()
                .map(|c| describe_failure(c, &probe.runs[at], &run));
            (Some(seed), criterion, Some(run), failure)
        }
        None => (None, None, None, None),
    };
    batch.finish();
    let mut warnings = base.warnings.clone();
    for w in search.warnings {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    Ok(Headroom {
        name: base.name,
        key: req.grow.trim().to_string(),
        start,
        answer: lo,
        first_failing: hi,
        failing_seed,
        failing_criterion,
        failure,
        passed_above_failure,
        stopped,
        probes: search.probes,
        seeds: batch.seeds().to_vec(),
        until: req.until.clone(),
        failing_run,
        warnings,
    })
}

/// What a failed criterion means, in the words of the event: "the first
/// `InsufficientCidrBlocks` comes at 3h 12m".
fn describe_failure(criterion: &str, s: &Summary, run: &RunOutput) -> String {
    let column = criterion
        .split(['<', '>', '=', '!'])
        .next()
        .unwrap_or(criterion);
    match column {
        "insufficient_cidr_blocks" => match s.first_insufficient_cidr_s {
            Some(t) => format!(
                "the first `InsufficientCidrBlocks` comes at {}",
                human_time(t)
            ),
            None => "EC2 answers `InsufficientCidrBlocks`".into(),
        },
        "insufficient_free_addresses" => format!(
            "EC2 answers `InsufficientFreeAddressesInSubnet` ({} time{})",
            count(s.insufficient_free_addresses),
            if s.insufficient_free_addresses == 1 {
                ""
            } else {
                "s"
            }
        ),
        "pods_unschedulable" => {
            let first = run
                .timeseries
                .iter()
                .find(|t| t.pods_unschedulable > 0)
                .map(|t| format!(", the first at {}", human_time(t.time_s)))
                .unwrap_or_default();
            format!(
                "{} pod{} find no node slot{first}",
                count(u64::from(s.pods_unschedulable)),
                if s.pods_unschedulable == 1 { "" } else { "s" }
            )
        }
        "pods_unschedulable_after_ready" => format!(
            "{} pod{} find no node slot once the starting nodes are Ready",
            count(u64::from(s.pods_unschedulable_after_ready)),
            if s.pods_unschedulable_after_ready == 1 {
                ""
            } else {
                "s"
            }
        ),
        "ip_wait_p99_after_ready_s" => format!(
            "the p99 IP wait of pods bound once the starting nodes are Ready is {} s",
            crate::report::csv::secs(s.ip_wait_p99_after_ready_s)
        ),
        "nodes_launch_failed" => format!(
            "{} joining node{} find no address for the primary ENI",
            count(u64::from(s.nodes_launch_failed)),
            if s.nodes_launch_failed == 1 { "" } else { "s" }
        ),
        "ip_wait_p99_s" => format!(
            "the p99 pod IP wait is {}",
            crate::report::csv::secs(s.ip_wait_p99_s) + " s"
        ),
        _ => {
            let v = crate::criteria::value(s, column)
                .map(crate::report::csv::secs)
                .unwrap_or_default();
            format!("{column} is {v}, against `{criterion}`")
        }
    }
}

/// A count for people: `1,310`.
fn count(n: u64) -> String {
    crate::report::format::group_thousands(&n.to_string())
}

impl Headroom {
    /// The answer in one line: "`workload.api.replicas` can grow from 640 to 1,310 (2.05×);
    /// at 1,320 the first `InsufficientCidrBlocks` comes at 3h 12m in seed 2".
    pub fn sentence(&self) -> String {
        let key = format!("`{}`", self.key);
        let ratio = |v: u64| {
            if self.start > 0 {
                format!(" ({:.2}×)", v as f64 / self.start as f64)
            } else {
                String::new()
            }
        };
        let failing = match (self.first_failing, &self.failure, self.failing_seed) {
            (Some(f), Some(what), Some(seed)) => format!("at {} {what} in seed {seed}", count(f)),
            _ => String::new(),
        };
        let mut out = match (self.answer, self.first_failing) {
            (Some(a), Some(_)) if a >= self.start => format!(
                "{key} can grow from {} to {}{}; {failing}",
                count(self.start),
                count(a),
                ratio(a)
            ),
            (Some(a), Some(_)) => format!(
                "{key} fails already at its own value, {}; the largest value that passes is \
                 {}{}; {failing}",
                count(self.start),
                count(a),
                ratio(a)
            ),
            (None, Some(_)) => format!(
                "{key} fails at every value tried, down to {}; {failing}",
                count(
                    self.probes
                        .iter()
                        .map(|p| p.value)
                        .min()
                        .unwrap_or(self.start)
                ),
            ),
            (Some(a), None) => format!(
                "{key} can grow from {} to at least {}{} without a failure ({})",
                count(self.start),
                count(a),
                ratio(a),
                self.stopped.as_deref().unwrap_or("no failure found")
            ),
            (None, None) => format!("{key}: no value could be run"),
        };
        if let (Some(p), Some(f)) = (self.passed_above_failure, self.first_failing) {
            out.push_str(&format!(
                ". Not monotone: {} passed although {} failed; the answer is the largest value \
                 below the smallest failure seen",
                count(p),
                count(f)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests;
