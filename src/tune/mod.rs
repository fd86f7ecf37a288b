//! `ipamsim tune SCENARIO [--space SPEC] [--objective M] [--constraints C] [--seeds N]`:
//! which aws-node settings hold the fewest addresses without slowing pods or tripping EC2
//! (DESIGN.md §3).
//!
//! The default space ([`space::Space`]) holds about 20,000 settings — too many to run each
//! with several seeds. The search is a coarse grid followed by a pattern search (a compass
//! search, Torczon 1997) around the best feasible settings:
//! 1. run the coarse grid ([`space::Space::coarse`], 56 settings for the default space):
//!    every mode, the ends and a geometric ladder of each target;
//! 2. take the [`INCUMBENTS`] best feasible settings, and the best feasible setting of each
//!    regime (mode × WARM_IP/MINIMUM_IP set or not: different pool policies, which may tie
//!    on the objective), and run their neighbours one `step` away along each dimension
//!    (index space); when a round leaves these incumbents as they were, halve the step;
//!    stop after a round at step 1 that changes nothing (or after [`MAX_ROUNDS`]).
//!
//! Why this and not a finer grid: the objectives are close to monotone in each target
//! (more warm addresses, more held; fewer, more waits and calls), and a feasible region is
//! an interval along each dimension; a compass search walks to that interval's edge in
//! log₂(step) rounds per dimension, evaluating a few dozen settings where the grid would
//! run thousands. It can miss an isolated optimum far from every coarse point; the ladder
//! includes both ends of every dimension, so the regimes (warm ENI, warm IP, minimum,
//! warm prefix) are all started from.
//!
//! A setting runs its first seed first: when that run already breaks a constraint for good
//! (see `ruled_out`), the setting can never be feasible and its other seeds are not run
//! (`tune.csv` then has one row for it). This matters: a setting under which pods never
//! get an address retries CNI ADD every second for hours, a hundred times the events of a
//! healthy run.
//!
//! Every setting runs with the same seeds (common random numbers, [`crate::batch`]), each
//! round's settings in a fixed order, so `tune.csv` and the choice do not depend on
//! `--jobs`. A setting is *feasible* when every seed meets every constraint; `fastest` in a
//! constraint is the smallest value of that column among the evaluated settings in the same
//! seed that meet every fixed-bound constraint there (the fastest setting one could choose:
//! a setting that is quick because it grabbed the subnet and made others fail does not
//! count), or among all of them when none does. The winner is the feasible setting with the lowest mean objective; ties go to fewer
//! mean EC2 calls, then a lower mean p99 pod IP wait, then the simpler setting
//! ([`space::Setting`]'s order: secondary IPs first, smaller values first).

pub mod page;
pub mod space;

use crate::Error;
use crate::batch::{Batch, seeds_from};
use crate::criteria::{self, Bound, Criteria};
use crate::report::{RunOutput, Summary};
use crate::scenario::{Scenario, ScenarioText};
use space::{Point, Setting, Space};

/// Best feasible settings refined around in each round.
pub const INCUMBENTS: usize = 3;

/// Rounds of refinement at most.
pub const MAX_ROUNDS: u32 = 40;

/// What `tune` minimises (a mean over seeds): `--objective`, a clap value enum (its values
/// are the names [`Objective::name`] gives).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Objective {
    /// The peak of IPs held by the nodes (`total_ips_peak`).
    PeakIps,
    /// The peak of subnet addresses used (`subnet_used_peak`).
    SubnetUsedPeak,
    /// EC2 API calls (`ec2_calls`).
    Ec2Calls,
}

impl Objective {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Objective::PeakIps => "peak_ips",
            Objective::SubnetUsedPeak => "subnet_used_peak",
            Objective::Ec2Calls => "ec2_calls",
        }
    }

    /// For people.
    pub fn title(self) -> &'static str {
        match self {
            Objective::PeakIps => "peak IPs held by the nodes",
            Objective::SubnetUsedPeak => "peak subnet addresses used",
            Objective::Ec2Calls => "EC2 calls",
        }
    }

    /// Its value in one run.
    pub fn of(self, s: &Summary) -> f64 {
        match self {
            Objective::PeakIps => s.total_ips_peak as f64,
            Objective::SubnetUsedPeak => s.subnet_used_peak as f64,
            Objective::Ec2Calls => s.ec2_calls as f64,
        }
    }
}

/// What `tune` was asked.
#[derive(Clone, Debug)]
pub struct Request {
    /// The settings to search.
    pub space: Space,
    /// What to minimise.
    pub objective: Objective,
    /// What every seed of a setting must meet.
    pub constraints: Criteria,
    /// `--set` overrides applied to every setting.
    pub sets: Vec<String>,
    /// `--seeds`.
    pub seeds: u32,
    /// `--jobs`.
    pub threads: usize,
    /// A progress line on a terminal.
    pub progress: bool,
}

/// One setting that was run.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluated {
    /// The canonical setting.
    pub setting: Setting,
    /// The point it was first reached from.
    pub point: Point,
    /// The round it ran in (0: the coarse grid).
    pub round: u32,
    /// One summary per seed, in seed order.
    pub runs: Vec<Summary>,
}

impl Evaluated {
    /// The mean of `f` over seeds.
    pub fn mean(&self, f: impl Fn(&Summary) -> f64) -> f64 {
        self.runs.iter().map(f).sum::<f64>() / self.runs.len().max(1) as f64
    }
}

/// What `tune` found.
#[derive(Clone, Debug)]
pub struct Tune {
    /// The scenario's name.
    pub name: String,
    /// The objective.
    pub objective: Objective,
    /// The constraints.
    pub constraints: Criteria,
    /// The seeds.
    pub seeds: Vec<u64>,
    /// Every setting run, in the order run.
    pub evaluated: Vec<Evaluated>,
    /// Per evaluated setting and seed: the first constraint not met (`None`: met).
    pub unmet: Vec<Vec<Option<String>>>,
    /// Index into `evaluated` of the best feasible setting.
    pub winner: Option<usize>,
    /// The second best feasible setting.
    pub runner_up: Option<usize>,
    /// Rounds of refinement run after the coarse grid.
    pub rounds: u32,
    /// The winner's full run in the first seed, for its report.
    pub winner_run: Option<RunOutput>,
    /// Scenario warnings, each once.
    pub warnings: Vec<String>,
}

impl Tune {
    /// Whether evaluated setting `i` met every constraint in every seed.
    pub fn feasible(&self, i: usize) -> bool {
        self.unmet[i].iter().all(Option::is_none)
    }
}

/// Judges every evaluated setting against the constraints: per setting and seed, the first
/// constraint not met.
pub fn judge(evaluated: &[Evaluated], constraints: &Criteria) -> Vec<Vec<Option<String>>> {
    let seeds = evaluated.iter().map(|e| e.runs.len()).max().unwrap_or(0);
    // The smallest value of each relative column, per seed.
    let relative: Vec<&str> = constraints
        .0
        .iter()
        .filter(|c| matches!(c.bound, Bound::FastestPlus(_)))
        .map(|c| c.column.as_str())
        .collect();
    // "The fastest setting" is one that could be chosen: among the runs of a seed that meet
    // every fixed-bound constraint (no throttling, no subnet error, ...); when none does,
    // among all runs of the seed.
    let absolute = Criteria(
        constraints
            .0
            .iter()
            .filter(|c| matches!(c.bound, Bound::Value(_)))
            .cloned()
            .collect(),
    );
    let fastest: Vec<Vec<f64>> = relative
        .iter()
        .map(|col| {
            (0..seeds)
                .map(|k| {
                    let min_of = |only_ok: bool| {
                        evaluated
                            .iter()
                            .filter_map(|e| e.runs.get(k))
                            .filter(|s| !only_ok || absolute.first_unmet(s, |_| 0.0).is_none())
                            .filter_map(|s| criteria::value(s, col))
                            .fold(f64::INFINITY, f64::min)
                    };
                    let ok = min_of(true);
                    if ok.is_finite() { ok } else { min_of(false) }
                })
                .collect()
        })
        .collect();
    evaluated
        .iter()
        .map(|e| {
            e.runs
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let at = |col: &str| {
                        relative
                            .iter()
                            .position(|c| *c == col)
                            .map_or(0.0, |i| fastest[i][k])
                    };
                    constraints.first_unmet(s, at).map(ToString::to_string)
                })
                .collect()
        })
        .collect()
}

/// The feasible settings, best first (objective, then EC2 calls, p99 wait, setting order).
pub fn ranking(
    evaluated: &[Evaluated],
    unmet: &[Vec<Option<String>>],
    objective: Objective,
) -> Vec<usize> {
    let seeds = evaluated.iter().map(|e| e.runs.len()).max().unwrap_or(0);
    let mut ok: Vec<usize> = (0..evaluated.len())
        .filter(|&i| evaluated[i].runs.len() == seeds && unmet[i].iter().all(Option::is_none))
        .collect();
    let key = |i: usize| {
        let e = &evaluated[i];
        (
            e.mean(|s| objective.of(s)),
            e.mean(|s| s.ec2_calls as f64),
            e.mean(|s| s.ip_wait_p99_s),
        )
    };
    ok.sort_by(|&a, &b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.total_cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(ka.2.total_cmp(&kb.2))
            .then(evaluated[a].setting.cmp(&evaluated[b].setting))
    });
    ok
}

/// Per evaluated setting: whether its first seed already breaks a constraint for good — a
/// fixed bound, or a `<=`/`<` bound relative to the fastest (which more settings can only
/// lower). Such a setting can never be feasible, so its other seeds are not run.
fn ruled_out(evaluated: &[Evaluated], constraints: &Criteria) -> Vec<bool> {
    let first: Vec<Evaluated> = evaluated
        .iter()
        .map(|e| Evaluated {
            runs: e.runs[..1.min(e.runs.len())].to_vec(),
            ..e.clone()
        })
        .collect();
    let fixed = |c: &&criteria::Criterion| matches!(c.bound, Bound::Value(_));
    let absolute = Criteria(constraints.0.iter().filter(fixed).cloned().collect());
    // The fastest only ever falls once it comes from a run that meets the fixed bounds;
    // before there is one, a relative bound may still rise, so only fixed bounds rule out.
    let settled = first
        .iter()
        .filter_map(|e| e.runs.first())
        .any(|s| absolute.first_unmet(s, |_| 0.0).is_none());
    let lasting = Criteria(
        constraints
            .0
            .iter()
            .filter(|c| {
                fixed(c) || (settled && matches!(c.op, criteria::Op::Le | criteria::Op::Lt))
            })
            .cloned()
            .collect(),
    );
    judge(&first, &lasting)
        .into_iter()
        .map(|u| u.first().is_some_and(Option::is_some))
        .collect()
}

/// When nothing is feasible yet: the settings closest to it (fewest failing seeds, then the
/// lowest mean p99 wait, then the objective), to refine around.
fn nearest_feasible(
    evaluated: &[Evaluated],
    unmet: &[Vec<Option<String>>],
    o: Objective,
) -> Vec<usize> {
    let mut all: Vec<usize> = (0..evaluated.len()).collect();
    let key = |i: usize| {
        (
            unmet[i].iter().filter(|u| u.is_some()).count(),
            evaluated[i].mean(|s| s.ip_wait_p99_s),
            evaluated[i].mean(|s| o.of(s)),
        )
    };
    all.sort_by(|&a, &b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(ka.2.total_cmp(&kb.2))
            .then(evaluated[a].setting.cmp(&evaluated[b].setting))
    });
    all
}

/// Runs the search (see the module docs).
pub fn tune(text: &ScenarioText, req: &Request) -> Result<Tune, Error> {
    let base = text.build(&req.sets)?;
    for key in &req.sets {
        let k = key.split_once('=').map_or(key.as_str(), |(k, _)| k).trim();
        let k = k.strip_prefix("cni.").unwrap_or(k);
        if space::DIMS.contains(&k) {
            return Err(Error::Usage(format!(
                "--set {key}: tune chooses {k} itself; narrow it with --space '{k}=VALUES' instead"
            )));
        }
    }
    let coarse = req.space.coarse(&base.cni);
    if coarse.is_empty() {
        return Err(Error::Usage(
            "--space: the space is empty: every setting in it is one the aws-node entrypoint \
             refuses (prefix delegation with WARM_PREFIX_TARGET, WARM_IP_TARGET and \
             MINIMUM_IP_TARGET all 0 or unset); widen it"
                .into(),
        ));
    }
    let batch = Batch::new(seeds_from(base.seed, req.seeds)?, req.threads, req.progress)?;
    let build = |s: &Setting| -> Result<Scenario, Error> {
        let all: Vec<String> = req.sets.iter().cloned().chain(s.overrides()).collect();
        text.build(&all)
            .map_err(|e| Error::Usage(format!("tune setting {}: {e}", s.label())))
    };
    let mut evaluated: Vec<Evaluated> = Vec::new();
    let mut warnings = base.warnings.clone();
    let mut run_round = |points: Vec<(Point, Setting)>,
                         round: u32,
                         evaluated: &mut Vec<Evaluated>|
     -> Result<(), Error> {
        let scenarios = points
            .iter()
            .map(|(_, s)| build(s))
            .collect::<Result<Vec<_>, _>>()?;
        for w in scenarios.iter().flat_map(|s| &s.warnings) {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
        batch.say(format!("round {round}: {} settings", points.len()));
        // The first seed for all, then the other seeds for those it did not rule out.
        let seeds = batch.seeds();
        let first = batch.summaries_with(&scenarios, &seeds[..1])?;
        let before = evaluated.len();
        for ((point, setting), runs) in points.into_iter().zip(first) {
            evaluated.push(Evaluated {
                setting,
                point,
                round,
                runs,
            });
        }
        if seeds.len() > 1 {
            let out = ruled_out(evaluated, &req.constraints);
            let keep: Vec<usize> = (before..evaluated.len()).filter(|&i| !out[i]).collect();
            let rest: Vec<Scenario> = keep
                .iter()
                .map(|&i| scenarios[i - before].clone())
                .collect();
            let more = batch.summaries_with(&rest, &seeds[1..])?;
            for (i, runs) in keep.into_iter().zip(more) {
                evaluated[i].runs.extend(runs);
            }
        }
        Ok(())
    };
    run_round(coarse, 0, &mut evaluated)?;

    let incumbents = |evaluated: &[Evaluated]| -> Vec<usize> {
        let unmet = judge(evaluated, &req.constraints);
        let ranked = ranking(evaluated, &unmet, req.objective);
        let list = if ranked.is_empty() {
            nearest_feasible(evaluated, &unmet, req.objective)
        } else {
            ranked
        };
        // The best few, plus the best of each regime (mode × targets set or not): those are
        // different pool policies, and a tie on the objective between regimes must not
        // keep the search out of one of them.
        let mut picked: Vec<usize> = list.iter().copied().take(INCUMBENTS).collect();
        for &i in &list {
            let regime = |j: usize| {
                let s = &evaluated[j].setting;
                (s.prefix_delegation, s.targets())
            };
            if !picked.iter().any(|&j| regime(j) == regime(i)) {
                picked.push(i);
            }
        }
        picked
    };
    let mut step = req.space.first_step();
    let mut current = incumbents(&evaluated);
    let mut rounds = 0;
    while rounds < MAX_ROUNDS {
        let mut next: Vec<(Point, Setting)> = Vec::new();
        for &i in &current {
            for p in req.space.neighbours(&evaluated[i].point, step) {
                let Some(s) = req.space.setting(&p, &base.cni) else {
                    continue;
                };
                if !evaluated.iter().any(|e| e.setting == s) && !next.iter().any(|(_, t)| *t == s) {
                    next.push((p, s));
                }
            }
        }
        if !next.is_empty() {
            rounds += 1;
            run_round(next, rounds, &mut evaluated)?;
        }
        let after = incumbents(&evaluated);
        let improved = after.first() != current.first() || after != current;
        current = after;
        if !improved {
            if step == 1 {
                break;
            }
            step /= 2;
        }
    }

    let unmet = judge(&evaluated, &req.constraints);
    let ranked = ranking(&evaluated, &unmet, req.objective);
    let winner = ranked.first().copied();
    let runner_up = ranked.get(1).copied();
    let winner_run = match winner {
        Some(w) => Some(batch.full_run(&build(&evaluated[w].setting)?, batch.seeds()[0])?),
        None => None,
    };
    batch.finish();
    Ok(Tune {
        name: base.name,
        objective: req.objective,
        constraints: req.constraints.clone(),
        seeds: batch.seeds().to_vec(),
        evaluated,
        unmet,
        winner,
        runner_up,
        rounds,
        winner_run,
        warnings,
    })
}

#[cfg(test)]
mod tests;
