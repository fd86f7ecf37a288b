//! `sweep --shard I/N`: one slice of a sweep, for a batch engine that runs N copies of one
//! command (a Kubernetes Indexed Job, an AWS Batch array job).
//!
//! Shard `I` of `N` runs exactly the runs whose index ≡ I (mod N) in the canonical run order
//! ([`Prepared::jobs`]: cells in order, seeds innermost). Striding rather than cutting the list
//! into blocks spreads every cell's cost over all shards, so shards take about equally long
//! even when one setting is much slower than another. A shard writes a partial folder
//! ([`super::partial`]); [`super::merge`] joins them. N may exceed the number of runs: the
//! shards past the last run hold no runs, and still write a folder saying so, so that `merge`
//! can tell an empty shard from a missing one.
//!
//! `--shard auto/N` takes I from the environment: `JOB_COMPLETION_INDEX` (set in every pod of
//! a Kubernetes Job with `completionMode: Indexed`) or else `AWS_BATCH_JOB_ARRAY_INDEX` (set
//! in every child of an AWS Batch array job).
//!
//! Rounds: a search whose next round depends on the previous round's results (`tune`'s
//! refinement, `headroom`'s probes) shards one round at a time — one shard-set per round,
//! merged before the next round is planned. Only `sweep` shards so far.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::Prepared;
use super::partial::{self, Manifest, Partial};
use crate::Error;
use crate::report::RunOutput;
use crate::scenario::{Scenario, ScenarioText, WorkloadSpec};

/// The environment variables `--shard auto/N` reads, in the order it tries them.
pub const INDEX_VARIABLES: [&str; 2] = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"];

/// The most shards a sweep may be cut into: as many as a sweep may have runs.
pub const MAX_SHARDS: usize = super::MAX_RUNS as usize;

/// Why a shard cannot be run, or why `merge` refuses its folders. All are bad input (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// A `--shard` value that does not parse (`--shard`'s clap value parser: clap names the
    /// flag and the value).
    #[error("{why} (write I/N with 0 <= I < N, e.g. --shard 0/4, or auto/N)")]
    Spec {
        /// What is wrong with it.
        why: String,
    },
    /// `--shard auto/N` outside an Indexed Job or array job.
    #[error(
        "--shard auto/{count}: neither JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) nor \
         AWS_BATCH_JOB_ARRAY_INDEX (an AWS Batch array job) is set; set one of them to this \
         shard's index, or give it: --shard I/{count}"
    )]
    NoIndex {
        /// N.
        count: usize,
    },
    /// The index variable holds no index below N.
    #[error("--shard auto/{count}: {var}={value:?} is not a shard index (0 to {})", count - 1)]
    BadIndex {
        /// The variable read.
        var: &'static str,
        /// Its value.
        value: String,
        /// N.
        count: usize,
    },
    /// A folder `merge` cannot use at all.
    #[error("{}: {why}", dir.display())]
    NotShard {
        /// The folder.
        dir: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A shard folder without its completion marker, or whose files do not match it.
    #[error(
        "{}: incomplete shard: {why}; its shard was killed mid-way or the folder was copied in \
         part: run that shard again (or copy it again), then merge",
        dir.display()
    )]
    Incomplete {
        /// The folder.
        dir: PathBuf,
        /// What is missing or wrong.
        why: String,
    },
    /// Two folders from different sweeps (or versions, or shard counts).
    #[error(
        "{} and {} are shards of different {what} ({a_value} vs {b_value}); merge the shards \
         of one sweep, run with one ipamsim and one --shard count",
        a.display(),
        b.display()
    )]
    Mismatch {
        /// What differs: "ipamsim versions", "scenarios", "sweeps", "shard counts".
        what: &'static str,
        /// The first folder.
        a: PathBuf,
        /// Its value.
        a_value: String,
        /// The other folder.
        b: PathBuf,
        /// Its value.
        b_value: String,
    },
    /// Shards of another ipamsim version than the one merging them.
    #[error(
        "{} was written by ipamsim {version}, and this is ipamsim {}: merge with the \
         ipamsim that ran the shards, so the files are the ones its sweep writes",
        dir.display(),
        env!("CARGO_PKG_VERSION")
    )]
    OtherVersion {
        /// A shard folder.
        dir: PathBuf,
        /// Its version.
        version: String,
    },
    /// One shard index in two folders.
    #[error("{} and {} both hold shard {index} of {count}; pass one of them", a.display(), b.display())]
    Duplicate {
        /// I.
        index: usize,
        /// N.
        count: usize,
        /// The first folder.
        a: PathBuf,
        /// The second.
        b: PathBuf,
    },
    /// Shards missing from the folders given.
    #[error(
        "shard {} of {count} missing (merging {folders}); run the missing shard{} or pass its folder",
        list_indices(missing),
        if missing.len() == 1 { "" } else { "s" }
    )]
    Missing {
        /// The missing indices.
        missing: Vec<usize>,
        /// N.
        count: usize,
        /// The folders given, for the message.
        folders: String,
    },
}

/// `0, 3, 5` — at most 20 indices, then how many more.
fn list_indices(v: &[usize]) -> String {
    let mut s: Vec<String> = v.iter().take(20).map(usize::to_string).collect();
    if v.len() > 20 {
        s.push(format!("and {} more", v.len() - 20));
    }
    s.join(", ")
}

/// A `--shard` value as given: `I/N` or `auto/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardSpec {
    /// `I/N`.
    Fixed(Shard),
    /// `auto/N`: I from [`INDEX_VARIABLES`].
    Auto {
        /// N.
        count: usize,
    },
}

/// Shard `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// I, from 0.
    pub index: usize,
    /// N, at least 1.
    pub count: usize,
}

impl std::str::FromStr for ShardSpec {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<ShardSpec, ShardError> {
        let bad = |why: &str| ShardError::Spec {
            why: why.to_string(),
        };
        let (i, n) = text.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if count > MAX_SHARDS {
            return Err(bad(&format!("N may be at most {MAX_SHARDS}")));
        }
        let i = i.trim();
        if i == "auto" {
            return Ok(ShardSpec::Auto { count });
        }
        let index: usize = i
            .parse()
            .map_err(|_| bad("I is neither a whole number nor `auto`"))?;
        if index >= count {
            return Err(bad("I must be below N (shards count from 0)"));
        }
        Ok(ShardSpec::Fixed(Shard { index, count }))
    }
}

impl ShardSpec {
    /// The shard, reading I for `auto/N` through `var` (the binary passes the process
    /// environment): the first of [`INDEX_VARIABLES`] that is set.
    pub fn resolve(self, var: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        let count = match self {
            ShardSpec::Fixed(s) => return Ok(s),
            ShardSpec::Auto { count } => count,
        };
        for name in INDEX_VARIABLES {
            if let Some(value) = var(name) {
                return match value.trim().parse::<usize>() {
                    Ok(index) if index < count => Ok(Shard { index, count }),
                    _ => Err(ShardError::BadIndex {
                        var: name,
                        value,
                        count,
                    }),
                };
            }
        }
        Err(ShardError::NoIndex { count })
    }
}

impl Shard {
    /// The indices of this shard's runs among `total`: those ≡ I (mod N), ascending.
    pub fn indices(&self, total: usize) -> Vec<usize> {
        (self.index..total).step_by(self.count).collect()
    }

    /// This shard's folder inside the `--out` folder all shards share: `shard-I-of-N`.
    pub fn folder_name(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The scenario's digest: SHA-256 of its TOML text and of every trace file its cells replay,
/// in cell and workload order, each once. Two shards of one scenario file with different
/// trace contents differ here.
pub fn scenario_digest(text: &ScenarioText, cells: &[Scenario]) -> Result<String, Error> {
    let mut h = Sha256::new();
    h.update(b"ipamsim scenario\0");
    h.update(text.text.as_bytes());
    let mut seen: Vec<&PathBuf> = Vec::new();
    for cell in cells {
        for w in &cell.workloads {
            if let WorkloadSpec::Trace { path, .. } = w {
                if seen.contains(&path) {
                    continue;
                }
                seen.push(path);
                let bytes = std::fs::read(path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                    input: true,
                })?;
                h.update(b"\0trace\0");
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(&bytes);
            }
        }
    }
    Ok(format!("sha256:{}", hex(&h.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sweep's digest: the scenario's digest, the `--set`s, the varied keys, every cell's
/// values and the seeds — everything that decides what the runs are.
pub fn sweep_digest(scenario: &str, sets: &[String], prepared: &Prepared) -> String {
    let plan = &prepared.plan;
    let canonical = serde_json::json!({
        "scenario": scenario,
        "set": sets,
        "keys": plan.keys,
        "cells": plan.cells,
        "seeds": plan.seeds,
    });
    format!("sha256:{}", sha256_hex(canonical.to_string().as_bytes()))
}

/// Runs shard `shard` of the prepared sweep of `text` (with `sets`) over `threads` threads and
/// returns its partial result, ready for [`partial::write`].
pub fn run<E>(
    text: &ScenarioText,
    sets: &[String],
    prepared: &Prepared,
    shard: Shard,
    threads: usize,
    progress: bool,
    engine: E,
) -> Result<Partial, Error>
where
    E: Fn(&Scenario) -> Result<RunOutput, Error> + Sync,
{
    let total = prepared.plan.cells.len() * prepared.plan.seeds.len();
    let indices = shard.indices(total);
    let scenario = scenario_digest(text, &prepared.cells)?;
    let sweep = sweep_digest(&scenario, sets, prepared);
    let runs = prepared.run(&indices, threads, progress, engine)?;
    Ok(Partial {
        manifest: Manifest {
            format: partial::FORMAT.into(),
            ipamsim_version: env!("CARGO_PKG_VERSION").into(),
            scenario_name: prepared.name.clone(),
            scenario_source: text.source.clone(),
            scenario_digest: scenario,
            sweep_digest: sweep,
            keys: prepared.plan.keys.clone(),
            seeds: prepared.plan.seeds.clone(),
            cells: prepared.plan.cells.len(),
            runs_total: total,
            shard: shard.index,
            shards: shard.count,
            empty: indices.is_empty(),
            runs: indices,
            warnings: prepared.warnings.clone(),
        },
        runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> Result<ShardSpec, ShardError> {
        s.parse()
    }

    #[test]
    fn specs_parse() {
        assert_eq!(
            spec("2/7").unwrap(),
            ShardSpec::Fixed(Shard { index: 2, count: 7 })
        );
        assert_eq!(spec("auto/4").unwrap(), ShardSpec::Auto { count: 4 });
        for bad in ["3", "7/7", "-1/3", "1/0", "a/3", "1/x", "1/2000000", ""] {
            let err = spec(bad).unwrap_err();
            assert!(
                err.to_string().contains("(write I/N with 0 <= I < N"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn auto_reads_kubernetes_first_then_aws_batch() {
        let auto = ShardSpec::Auto { count: 4 };
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let k8s = auto.resolve(env(&[("JOB_COMPLETION_INDEX", "3")])).unwrap();
        assert_eq!(k8s, Shard { index: 3, count: 4 });
        let batch = auto
            .resolve(env(&[("AWS_BATCH_JOB_ARRAY_INDEX", "1")]))
            .unwrap();
        assert_eq!(batch.index, 1);
        let both = auto
            .resolve(env(&[
                ("AWS_BATCH_JOB_ARRAY_INDEX", "1"),
                ("JOB_COMPLETION_INDEX", "2"),
            ]))
            .unwrap();
        assert_eq!(both.index, 2);
        let none = auto.resolve(env(&[])).unwrap_err().to_string();
        assert!(
            none.contains("JOB_COMPLETION_INDEX") && none.contains("AWS_BATCH_JOB_ARRAY_INDEX")
        );
        assert!(none.contains("--shard I/4"), "{none}");
        for v in ["4", "x", ""] {
            let pairs: &'static [(&str, &str)] = match v {
                "4" => &[("JOB_COMPLETION_INDEX", "4")],
                "x" => &[("JOB_COMPLETION_INDEX", "x")],
                _ => &[("JOB_COMPLETION_INDEX", "")],
            };
            let err = auto.resolve(env(pairs)).unwrap_err().to_string();
            assert!(err.contains("JOB_COMPLETION_INDEX"), "{err}");
        }
        assert_eq!(
            ShardSpec::Fixed(Shard { index: 1, count: 2 })
                .resolve(env(&[("JOB_COMPLETION_INDEX", "0")]))
                .unwrap()
                .index,
            1
        );
    }

    #[test]
    fn shards_stride_the_runs_and_cover_them_once() {
        for total in [0, 1, 5, 12] {
            for count in [1, 2, 3, 7, 20] {
                let mut all: Vec<usize> = (0..count)
                    .flat_map(|index| Shard { index, count }.indices(total))
                    .collect();
                all.sort_unstable();
                assert_eq!(all, (0..total).collect::<Vec<_>>());
            }
        }
        assert_eq!(Shard { index: 1, count: 3 }.indices(8), [1, 4, 7]);
        assert!(Shard { index: 5, count: 7 }.indices(4).is_empty());
        assert_eq!(Shard { index: 5, count: 7 }.folder_name(), "shard-5-of-7");
    }

    #[test]
    fn digests_are_hex_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
