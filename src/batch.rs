//! Batches of runs for the commands that search — `headroom` and `tune`: each round of their
//! search is a set of scenarios (one per value or setting), every one run with the same seeds.
//!
//! This is `sweep`'s machinery, not a second copy of it: the runs go through
//! [`crate::sweep::run_all`] (a rayon pool of `--jobs` threads, one whole run per task,
//! results in job order whatever the number of threads), and every scenario of a round runs
//! with the same seeds, so a seed draws the same workload for every setting — common random
//! numbers, as in a sweep. What this adds is one progress line across all the rounds of a
//! search (a round's bar would flash by).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::Error;
use crate::report::{RunOutput, Summary};
use crate::scenario::Scenario;
use crate::sweep::{Job, run_all};

/// Runs rounds of scenarios × seeds and counts them on one progress line.
pub struct Batch {
    seeds: Vec<u64>,
    threads: usize,
    bar: ProgressBar,
}

impl Batch {
    /// A batch runner for `seeds`, on `threads` threads; `progress` shows a line on stderr
    /// when stderr is a terminal. Errors on no seed or no thread.
    pub fn new(seeds: Vec<u64>, threads: usize, progress: bool) -> Result<Batch, Error> {
        if seeds.is_empty() {
            return Err(Error::Usage("--seeds must be at least 1".into()));
        }
        if threads == 0 {
            return Err(Error::Usage("--jobs must be at least 1".into()));
        }
        let bar = if progress && std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30} {pos}/{len} runs  {elapsed}  {msg}")
            {
                bar.set_style(style);
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        Ok(Batch {
            seeds,
            threads,
            bar,
        })
    }

    /// The seeds every scenario runs with.
    pub fn seeds(&self) -> &[u64] {
        &self.seeds
    }

    /// Says what the search is doing (shown after the counts).
    pub fn say(&self, msg: String) {
        self.bar.set_message(msg);
    }

    /// Runs every scenario with every seed and returns the summaries, `[scenario][seed]`,
    /// in the order given. The scenarios' own seeds are replaced.
    pub fn summaries(&self, scenarios: &[Scenario]) -> Result<Vec<Vec<Summary>>, Error> {
        self.summaries_with(scenarios, &self.seeds)
    }

    /// Like [`Batch::summaries`], with the given seeds instead of all of them.
    pub fn summaries_with(
        &self,
        scenarios: &[Scenario],
        seeds: &[u64],
    ) -> Result<Vec<Vec<Summary>>, Error> {
        let jobs: Vec<Job> = (0..scenarios.len())
            .flat_map(|cell| {
                seeds.iter().map(move |&seed| Job {
                    cell,
                    seed,
                    overrides: Vec::new(),
                })
            })
            .collect();
        self.bar.inc_length(jobs.len() as u64);
        let flat = run_all(&jobs, self.threads, false, |job| {
            let mut scenario = scenarios[job.cell].clone();
            scenario.seed = job.seed;
            let out = crate::engine::run(&scenario).map(|o| o.summary);
            self.bar.inc(1);
            out
        })?;
        let mut flat = flat.into_iter();
        Ok(scenarios
            .iter()
            .map(|_| flat.by_ref().take(seeds.len()).collect())
            .collect())
    }

    /// One run with everything it produced (for the report of a chosen run).
    pub fn full_run(&self, scenario: &Scenario, seed: u64) -> Result<RunOutput, Error> {
        let mut scenario = scenario.clone();
        scenario.seed = seed;
        crate::engine::run(&scenario)
    }

    /// Clears the progress line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The seeds of a search: `base, base+1, …` (`count` of them), as `sweep` numbers them.
pub fn seeds_from(base: u64, count: u32) -> Result<Vec<u64>, Error> {
    if count == 0 {
        return Err(Error::Usage("--seeds must be at least 1".into()));
    }
    Ok((0..u64::from(count))
        .map(|i| base.wrapping_add(i))
        .collect())
}

/// A CSV of runs: the columns `lead`, then `summary.csv`'s, one row per (lead fields, run);
/// every field through the `csv` crate, and the summary's fields exactly as `summary.csv`
/// writes them. An empty `rows` still has the header.
pub fn runs_csv<'a>(
    lead: &[&str],
    rows: impl IntoIterator<Item = (Vec<String>, &'a Summary)>,
) -> String {
    let summary = |s: &Summary| {
        let text = crate::report::csv::summary_csv(s);
        let mut r = ::csv::Reader::from_reader(text.as_bytes());
        let header = r.headers().cloned().unwrap_or_default();
        let row = r.records().next().and_then(Result::ok).unwrap_or_default();
        (header, row)
    };
    let mut w = ::csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let (header, _) = summary(&Summary::default());
    // Writing to memory cannot fail.
    let _ = w.write_record(lead.iter().copied().chain(header.iter()));
    for (fields, s) in rows {
        let (_, row) = summary(s);
        let _ = w.write_record(fields.iter().map(String::as_str).chain(row.iter()));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
