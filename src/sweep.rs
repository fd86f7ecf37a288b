//! Parameter sweeps: one scenario over the Cartesian product of varied settings, × seeds.
//!
//! `ipamsim sweep SCENARIO --vary KEY=V1,V2 [--vary ..] [--seeds N] [--jobs N]` (DESIGN.md
//! §3). Each *cell* is one combination of the varied values; every cell runs with the same
//! seeds `seed, seed+1, …, seed+N−1` (the scenario's seed, or its `--set seed=` override).
//! Because every source of randomness is a named stream of the seed ([`crate::rng`]), a seed
//! draws the same workload in every cell — common random numbers — so differences between
//! cells come from the settings, not from luck.
//!
//! Order is fixed: the first `--vary` key changes slowest, the last fastest, seeds innermost.
//! Runs are spread over a rayon pool of `--jobs` threads, one whole run per task (never
//! parallelism inside a run), and collected in that fixed order, so the output does not
//! depend on `--jobs`.
//!
//! Beyond one machine: [`shard`] runs the runs whose index ≡ I (mod N) in that order into a
//! partial folder, and [`merge`] joins the partial folders into the same files, written by the
//! same [`write_sweep`], byte for byte.

pub mod merge;
pub mod partial;
pub mod shard;

use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::Error;
use crate::ipamd::config::CniConfig;
use crate::report::RunOutput;
use crate::report::comparison::{self, SweepRun};
use crate::scenario::{Location, Scenario, ScenarioText, shown};

/// The most runs (cells × seeds) one sweep may have. Every cell's scenario is built before
/// the first run and every run's summary is kept for the report: about 4 KB a run (measured:
/// 99,856 one-minute cells in 10.8 s and 389 MB peak RSS, with a 98 MB sweep.html), so the
/// limit keeps a sweep near 400 MB.
pub const MAX_RUNS: u32 = 100_000;

/// One `--vary KEY=V1,V2,..` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vary {
    /// A scenario key by its dotted path, or an aws-node variable by its name.
    pub key: String,
    /// The values to try, in the order given.
    pub values: Vec<String>,
}

impl std::str::FromStr for Vary {
    type Err = Error;

    /// Parses `KEY=V1,V2,..`. Values are separated by commas and trimmed; a value cannot
    /// itself contain a comma. This is `--vary`'s clap value parser: the message says what is
    /// wrong, clap names the flag and the value.
    fn from_str(text: &str) -> Result<Vary, Error> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "{why} (write KEY=V1,V2,.., e.g. --vary WARM_IP_TARGET=0,5,10)"
            ))
        };
        let (key, list) = text.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(bad("the key is empty"));
        }
        if key == "seed" {
            return Err(bad("the seed is not a setting to vary; use --seeds N"));
        }
        let mut values: Vec<String> = Vec::new();
        for v in list.split(',').map(str::trim) {
            if v.is_empty() {
                return Err(bad("a value is empty"));
            }
            // A value labels a cell in sweep.csv, the charts and messages: one line.
            if v.chars().any(char::is_control) {
                return Err(bad("a value has a control character (a line break, a tab)"));
            }
            if values.iter().any(|seen| seen == v) {
                return Err(bad(&format!("{v} is listed twice")));
            }
            values.push(v.to_string());
        }
        Ok(Vary {
            key: key.to_string(),
            values,
        })
    }
}

/// What a sweep will run: the cells and the seeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The varied keys, in `--vary` order.
    pub keys: Vec<String>,
    /// Every cell's values (one per key), first key slowest.
    pub cells: Vec<Vec<String>>,
    /// The seeds every cell runs with.
    pub seeds: Vec<u64>,
}

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Index into [`Plan::cells`].
    pub cell: usize,
    /// Its seed.
    pub seed: u64,
    /// The scenario overrides for this run: the cell's `KEY=VALUE`s.
    pub overrides: Vec<String>,
}

/// The key an override addresses, as `--set` resolves it: an aws-node variable given by its
/// own name is `cni.<NAME>`.
fn canonical_key(key: &str) -> String {
    let key = key.trim();
    if CniConfig::VARIABLES.contains(&key) {
        format!("cni.{key}")
    } else {
        key.to_string()
    }
}

impl Plan {
    /// Builds the plan; errors on a repeated key, a key also given by `--set`, no seeds, or
    /// a product too large to run.
    pub fn new(
        varies: &[Vary],
        sets: &[String],
        base_seed: u64,
        seeds: u32,
    ) -> Result<Plan, Error> {
        if varies.is_empty() {
            return Err(Error::Usage(
                "sweep needs at least one --vary KEY=V1,V2".into(),
            ));
        }
        if seeds == 0 {
            return Err(Error::Usage("--seeds must be at least 1".into()));
        }
        for (i, v) in varies.iter().enumerate() {
            let key = canonical_key(&v.key);
            if varies[..i].iter().any(|w| canonical_key(&w.key) == key) {
                return Err(Error::Usage(format!(
                    "--vary {}: the key is varied twice; list all its values in one --vary",
                    v.key
                )));
            }
            let set_key = |s: &String| s.split_once('=').map(|(k, _)| canonical_key(k));
            if sets.iter().filter_map(set_key).any(|k| k == key) {
                return Err(Error::Usage(format!(
                    "{} is given both by --set and by --vary; keep one",
                    v.key
                )));
            }
        }
        varies
            .iter()
            .try_fold(u64::from(seeds), |acc, v| {
                acc.checked_mul(v.values.len() as u64)
            })
            .filter(|n| *n <= u64::from(MAX_RUNS))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "the sweep has more than {MAX_RUNS} runs (cells × seeds), the most one sweep keeps in memory; vary fewer values or seeds, or split it"
                ))
            })?;
        // Every seed written to sweep.csv must be one `run --seed` accepts: no wrapping.
        if base_seed.checked_add(u64::from(seeds) - 1).is_none() {
            return Err(Error::Usage(format!(
                "--seeds {seeds} from seed {base_seed} passes 18446744073709551615, the largest seed; start from a smaller seed"
            )));
        }
        let mut cells: Vec<Vec<String>> = vec![Vec::new()];
        for v in varies {
            cells = cells
                .into_iter()
                .flat_map(|prefix| {
                    v.values.iter().map(move |x| {
                        let mut c = prefix.clone();
                        c.push(x.clone());
                        c
                    })
                })
                .collect();
        }
        Ok(Plan {
            keys: varies.iter().map(|v| v.key.clone()).collect(),
            cells,
            seeds: (0..u64::from(seeds)).map(|i| base_seed + i).collect(),
        })
    }

    /// Each cell's overrides: its `KEY=VALUE`s, in key order.
    pub fn cell_overrides(&self) -> Vec<Vec<String>> {
        self.cells
            .iter()
            .map(|values| {
                self.keys
                    .iter()
                    .zip(values)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect()
            })
            .collect()
    }

    /// Every run in output order: cells in order, seeds innermost.
    pub fn jobs(&self) -> Vec<Job> {
        let mut out = Vec::with_capacity(self.cells.len() * self.seeds.len());
        for (cell, overrides) in self.cell_overrides().into_iter().enumerate() {
            for &seed in &self.seeds {
                out.push(Job {
                    cell,
                    seed,
                    overrides: overrides.clone(),
                });
            }
        }
        out
    }
}

/// The threads for `--jobs` (`None`: the machine's available parallelism), and a note when
/// the request is more than the machine has: extra threads would not run at once, only hold
/// a run's memory each (`--jobs 100000` started thousands of threads, issue 14).
pub fn threads(requested: Option<usize>) -> (usize, Option<String>) {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    match requested {
        Some(j) if j > cores => (
            cores,
            Some(format!(
                "--jobs {j} capped at {cores}, the machine's available parallelism (more threads only add memory)"
            )),
        ),
        Some(j) => (j.max(1), None),
        None => (cores, None),
    }
}

/// Runs `f` on every job over a pool of `threads` threads (one whole job per task) and
/// returns the results in job order, whatever the number of threads. When a job fails, the
/// error of the first failed job in job order is returned. `progress` draws a bar on stderr
/// if stderr is a terminal.
pub fn run_all<R, F>(jobs: &[Job], threads: usize, progress: bool, f: F) -> Result<Vec<R>, Error>
where
    R: Send,
    F: Fn(&Job) -> Result<R, Error> + Sync,
{
    if threads == 0 {
        return Err(Error::Usage("--jobs must be at least 1".into()));
    }
    let bar = if progress && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(jobs.len() as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:40} {pos}/{len} runs  {elapsed} elapsed, ~{eta} left",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let step = |j: &Job| {
        let r = f(j);
        bar.inc(1);
        r
    };
    let results: Vec<Result<R, Error>> =
        match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool.install(|| jobs.par_iter().map(step).collect()),
            // No threads to be had: the same results, one after another.
            Err(_) => jobs.iter().map(step).collect(),
        };
    bar.finish_and_clear();
    results.into_iter().collect()
}

/// What a sweep produced: the scenario's name, the varied keys and every run's summary in
/// plan order (cells in order, seeds innermost).
#[derive(Clone, Debug)]
pub struct SweepOutput {
    /// The scenario's name (after `--set`), for titles and the default folder.
    pub name: String,
    /// The varied keys, in `--vary` order.
    pub keys: Vec<String>,
    /// One entry per cell × seed.
    pub runs: Vec<SweepRun>,
    /// The cells' scenario warnings, each once, in cell order.
    pub warnings: Vec<String>,
}

/// A sweep ready to run: the plan and every cell's validated scenario. The three steps of a
/// sweep are kept apart so that [`shard`] and [`merge`] reuse them: *plan* (this, with
/// [`Prepared::jobs`], the canonical run order), *run a subset* ([`Prepared::run`]), and
/// *write* ([`write_sweep`]).
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The scenario's name (after `--set`).
    pub name: String,
    /// The cells and seeds.
    pub plan: Plan,
    /// Every cell's scenario (the `--set`s, then the cell's own values), in cell order.
    pub cells: Vec<Scenario>,
    /// The cells' scenario warnings, each once, in cell order.
    pub warnings: Vec<String>,
}

impl Prepared {
    /// Plans a sweep of `text` with `sets` applied to every cell, the cells of `varies`, and
    /// `seeds` seeds from the scenario's own seed. Every cell's scenario is built and
    /// validated before any run starts, so a bad value fails at once, naming its cell.
    pub fn new(
        text: &ScenarioText,
        sets: &[String],
        varies: &[Vary],
        seeds: u32,
    ) -> Result<Prepared, Error> {
        let base = text.build(sets)?;
        let plan = Plan::new(varies, sets, base.seed, seeds)?;
        let mut cells: Vec<Scenario> = Vec::with_capacity(plan.cells.len());
        for (values, overrides) in plan.cells.iter().zip(plan.cell_overrides()) {
            let all: Vec<String> = sets.iter().chain(&overrides).cloned().collect();
            let scenario = text.build(&all).map_err(|e| {
                // An error in one of the cell's own overrides (numbered after the --sets) names
                // it as the --vary it is.
                if let Some(Location::Override { index, set }) = e.location()
                    && *index >= sets.len()
                {
                    return Error::Usage(format!("--vary {}: {}", shown(set), e.message()));
                }
                let msg = e.to_string();
                let label: Vec<String> = plan
                    .keys
                    .iter()
                    .zip(values)
                    .map(|(k, v)| shown(&format!("{k}={v}")))
                    .collect();
                Error::Usage(format!("sweep cell {}: {msg}", label.join(", ")))
            })?;
            cells.push(scenario);
        }
        let mut warnings: Vec<String> = Vec::new();
        for w in cells.iter().flat_map(|c| &c.warnings) {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
        Ok(Prepared {
            name: base.name,
            plan,
            cells,
            warnings,
        })
    }

    /// Every run in the canonical order (cells in order, seeds innermost): a run's index in
    /// this list is its index everywhere — in `sweep.csv`'s row order and in `--shard`.
    pub fn jobs(&self) -> Vec<Job> {
        self.plan.jobs()
    }

    /// Runs the jobs at `indices` (into [`Prepared::jobs`]) over `threads` threads by
    /// [`run_all`] and returns their results in the order of `indices`. `engine` runs one
    /// scenario (the binary passes [`crate::engine::run`]).
    pub fn run<E>(
        &self,
        indices: &[usize],
        threads: usize,
        progress: bool,
        engine: E,
    ) -> Result<Vec<SweepRun>, Error>
    where
        E: Fn(&Scenario) -> Result<RunOutput, Error> + Sync,
    {
        let all = self.jobs();
        let jobs: Vec<Job> = indices.iter().map(|&i| all[i].clone()).collect();
        let summaries = run_all(&jobs, threads, progress, |job| {
            // Same seed in every cell: the same draws from every named stream.
            let mut scenario = self.cells[job.cell].clone();
            scenario.seed = job.seed;
            engine(&scenario).map(|out| out.summary)
        })?;
        Ok(jobs
            .iter()
            .zip(summaries)
            .map(|(job, summary)| SweepRun {
                values: self.plan.cells[job.cell].clone(),
                summary,
            })
            .collect())
    }
}

/// Runs a whole sweep: [`Prepared::new`], then every run by [`Prepared::run`] over `threads`
/// threads.
pub fn sweep<E>(
    text: &ScenarioText,
    sets: &[String],
    varies: &[Vary],
    seeds: u32,
    threads: usize,
    progress: bool,
    engine: E,
) -> Result<SweepOutput, Error>
where
    E: Fn(&Scenario) -> Result<RunOutput, Error> + Sync,
{
    let prepared = Prepared::new(text, sets, varies, seeds)?;
    let all: Vec<usize> = (0..prepared.jobs().len()).collect();
    let runs = prepared.run(&all, threads, progress, engine)?;
    Ok(SweepOutput {
        name: prepared.name,
        keys: prepared.plan.keys,
        runs,
        warnings: prepared.warnings,
    })
}

/// Every file of a sweep's folder: `sweep.csv`, `sweep.svg`, `sweep.html`, in that order.
pub fn render_sweep(scenario: &str, keys: &[String], runs: &[SweepRun]) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "sweep.csv".into(),
            comparison::sweep_csv(keys, runs).into_bytes(),
        ),
        (
            "sweep.svg".into(),
            comparison::sweep_svg(keys, runs).into_bytes(),
        ),
        (
            "sweep.html".into(),
            comparison::sweep_html(scenario, keys, runs).into_bytes(),
        ),
    ]
}

/// Writes a sweep's folder at `out`, all or nothing (see [`crate::report::write_folder`]).
pub fn write_sweep(
    out: &Path,
    scenario: &str,
    keys: &[String],
    runs: &[SweepRun],
) -> Result<(), Error> {
    crate::report::write_folder(out, &render_sweep(scenario, keys, runs), |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vary(s: &str) -> Vary {
        s.parse().unwrap()
    }

    #[test]
    fn vary_parses_keys_and_values() {
        assert_eq!(
            vary("WARM_IP_TARGET=0, 5,10"),
            Vary {
                key: "WARM_IP_TARGET".into(),
                values: vec!["0".into(), "5".into(), "10".into()]
            }
        );
        assert_eq!(vary("subnet.cidr=10.0.0.0/22").values, ["10.0.0.0/22"]);
        assert_eq!(vary("model.cni_retry=1s,2s").key, "model.cni_retry");
    }

    #[test]
    fn vary_rejects_bad_text_with_a_hint() {
        for bad in [
            "WARM_IP_TARGET",
            "=1,2",
            "K=",
            "K=1,,2",
            "K=1,1",
            "seed=1,2",
            "K=1,a\nb",
        ] {
            let err = bad.parse::<Vary>().unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
            assert!(err.to_string().contains("--vary"), "{err}");
        }
    }

    #[test]
    fn cells_are_the_product_with_the_first_key_slowest() {
        let plan = Plan::new(&[vary("A=1,2"), vary("B=x,y,z")], &[], 7, 2).unwrap();
        assert_eq!(plan.keys, ["A", "B"]);
        let cells: Vec<String> = plan.cells.iter().map(|c| c.join("")).collect();
        assert_eq!(cells, ["1x", "1y", "1z", "2x", "2y", "2z"]);
        assert_eq!(plan.seeds, [7, 8]);
        let jobs = plan.jobs();
        assert_eq!(jobs.len(), 12);
        assert_eq!(
            jobs[0],
            Job {
                cell: 0,
                seed: 7,
                overrides: vec!["A=1".into(), "B=x".into()]
            }
        );
        assert_eq!((jobs[1].cell, jobs[1].seed), (0, 8));
        assert_eq!((jobs[11].cell, jobs[11].seed), (5, 8));
        assert_eq!(jobs[11].overrides, ["A=2", "B=z"]);
    }

    /// A job whose result depends on its seed and cell through a little CPU work.
    fn work(j: &Job) -> Result<u64, Error> {
        let mut x = j.seed ^ (j.cell as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for _ in 0..10_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        }
        Ok(x)
    }

    #[test]
    fn results_come_back_in_job_order_whatever_the_threads() {
        let plan = Plan::new(&[vary("A=1,2,3,4"), vary("B=x,y")], &[], 3, 3).unwrap();
        let jobs = plan.jobs();
        let one = run_all(&jobs, 1, false, work).unwrap();
        let expected: Vec<u64> = jobs.iter().map(|j| work(j).unwrap()).collect();
        assert_eq!(one, expected);
        for threads in [2, 3, 8] {
            assert_eq!(run_all(&jobs, threads, false, work).unwrap(), one);
        }
        assert!(run_all(&jobs, 0, false, work).is_err());
    }

    #[test]
    fn jobs_are_capped_at_the_machine() {
        let (cores, note) = threads(None);
        assert!(cores >= 1 && note.is_none());
        assert_eq!(threads(Some(1)), (1, None));
        let (n, note) = threads(Some(100_000));
        assert_eq!(n, cores);
        assert!(note.unwrap().contains("--jobs 100000 capped at"));
    }

    #[test]
    fn the_first_failure_in_job_order_is_reported() {
        let plan = Plan::new(&[vary("A=1,2,3,4,5,6")], &[], 0, 1).unwrap();
        let jobs = plan.jobs();
        let err = run_all(&jobs, 4, false, |j: &Job| {
            if j.cell >= 2 {
                Err(Error::Usage(format!("cell {}", j.cell)))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "cell 2");
    }

    #[test]
    fn plans_reject_conflicts() {
        assert!(Plan::new(&[], &[], 1, 1).is_err());
        assert!(Plan::new(&[vary("A=1")], &[], 1, 0).is_err());
        assert!(Plan::new(&[vary("A=1"), vary("A=2")], &[], 1, 1).is_err());
        let err = Plan::new(&[vary("A=1,2")], &["A=3".into()], 1, 1).unwrap_err();
        assert!(err.to_string().contains("both by --set and by --vary"));
        assert!(Plan::new(&[vary("A=1,2")], &["B=3".into()], 1, 1).is_ok());
        // An aws-node variable by its own name is the same key as cni.<NAME>.
        let err = Plan::new(
            &[vary("WARM_IP_TARGET=1,2")],
            &["cni.WARM_IP_TARGET=3".into()],
            1,
            1,
        )
        .unwrap_err();
        assert!(err.to_string().contains("both by --set and by --vary"));
        assert!(
            Plan::new(
                &[vary("WARM_IP_TARGET=1"), vary("cni.WARM_IP_TARGET=2")],
                &[],
                1,
                1
            )
            .is_err()
        );
        // Seeds never wrap: every one is a seed `run --seed` takes.
        assert_eq!(
            Plan::new(&[vary("A=1")], &[], u64::MAX, 1).unwrap().seeds,
            [u64::MAX]
        );
        let err = Plan::new(&[vary("A=1")], &[], u64::MAX - 1, 3).unwrap_err();
        assert!(err.to_string().contains("largest seed"), "{err}");
        let big: Vec<Vary> = (0..7)
            .map(|i| vary(&format!("K{i}=1,2,3,4,5,6,7,8,9,10")))
            .collect();
        assert!(Plan::new(&big, &[], 1, 1).is_err());
    }
}
