//! The flags `sweep`, `headroom` and `tune` share — the scenario, seeds, parallel runs, the
//! output folder and `--set` — defined once here and flattened into each command
//! (`#[command(flatten)]`). A command that means something narrower by one of them says so in
//! its own help with `mut_arg` (`tune` runs 3 seeds by default, `sweep` counts cells), so the
//! flag, its checks and its range stay one definition.

use std::path::PathBuf;

use clap::Args;
use ipamsim::scenario::ScenarioText;
use ipamsim::sweep::MAX_RUNS;

use super::console::note;

/// The shared flags.
#[derive(Args, Debug)]
pub struct BatchArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Seeds per setting (seed, seed+1, ...).
    #[arg(long, default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_RUNS)))]
    pub seeds: u32,
    /// Parallel runs (default and most: the machine's available parallelism).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Output folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a scenario key for every run. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl BatchArgs {
    /// The scenario file's text.
    pub fn scenario_text(&self) -> Result<ScenarioText, ipamsim::Error> {
        Ok(ScenarioText::read(&self.scenario)?)
    }

    /// Threads for `--jobs`, capped as `sweep` caps them (a note says so).
    pub fn threads(&self) -> usize {
        let (threads, capped) = ipamsim::sweep::threads(self.jobs.map(|j| j as usize));
        if let Some(capped) = capped {
            note("note", &capped);
        }
        threads
    }

    /// `--out`, or `output/<name>-<suffix>/`.
    pub fn out_or(&self, name: &str, suffix: &str) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from("output").join(format!("{name}-{suffix}")))
    }
}
