//! `ipamsim merge DIR.. --out DIR`: joins the partial folders of `sweep --shard I/N` into the
//! sweep's own `sweep.csv`, `sweep.svg` and `sweep.html`.
//!
//! The runs are put back at their canonical indices and written by [`super::write_sweep`],
//! the writer the unsharded `sweep` uses, so the files are byte-identical to the unsharded
//! sweep's. Merging refuses (exit 2, naming the folders), in this order: a folder that is no
//! shard; an incomplete shard (no completion marker, or files that do not match it); shards
//! of different ipamsim versions, scenarios, sweeps (other `--vary`, `--seeds` or `--set`) or
//! shard counts; shards of another version than this ipamsim's (its writer might differ);
//! one shard index twice; a missing shard.
//!
//! Each DIR is a shard folder (it holds `shard.json`) or a folder of shard folders — such as
//! the `--out` folder every `sweep --shard` of one sweep shares: its subfolders that hold a
//! `shard.json` are taken, in name order, complete or not (a killed shard's temporary
//! folder is among them, and is refused); other subfolders (a merged sweep's folder) are
//! left alone.

use std::path::{Path, PathBuf};

use super::partial::{self, Partial};
use super::shard::ShardError;
use crate::Error;
use crate::report::comparison::SweepRun;

/// A merged sweep, ready for [`super::write_sweep`].
#[derive(Clone, Debug)]
pub struct Merged {
    /// The scenario's name.
    pub name: String,
    /// The varied keys.
    pub keys: Vec<String>,
    /// Every run, in the canonical order.
    pub runs: Vec<SweepRun>,
    /// The cells' scenario warnings, each once.
    pub warnings: Vec<String>,
    /// The number of cells.
    pub cells: usize,
    /// The number of seeds.
    pub seeds: usize,
    /// N.
    pub shards: usize,
    /// How many of the shards held no run.
    pub empty_shards: usize,
}

/// The shard folders `dirs` name: each DIR itself when it holds a manifest, else its
/// subfolders that do, in name order.
pub fn shard_folders(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, ShardError> {
    let mut out = Vec::new();
    for dir in dirs {
        if partial::is_partial(dir) {
            out.push(dir.clone());
            continue;
        }
        let not_shard = |why: String| ShardError::NotShard {
            dir: dir.clone(),
            why,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| {
            not_shard(match e.kind() {
                std::io::ErrorKind::NotFound => "no such folder (a shard killed before it \
                    finished leaves none: run it again)"
                    .into(),
                _ => e.to_string(),
            })
        })?;
        let mut subs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir() && partial::is_partial(p))
            .collect();
        if subs.is_empty() {
            return Err(not_shard(format!(
                "not a sweep shard folder, nor a folder of them (no {} in it or in its \
                 subfolders); pass the folders `sweep --shard` wrote",
                partial::MANIFEST
            )));
        }
        subs.sort();
        out.extend(subs);
    }
    Ok(out)
}

/// `a, b and c` — at most 8 folders, then how many more.
fn list_folders(dirs: &[PathBuf]) -> String {
    let mut s: Vec<String> = dirs
        .iter()
        .take(8)
        .map(|d| d.display().to_string())
        .collect();
    if dirs.len() > 8 {
        s.push(format!("{} more", dirs.len() - 8));
    }
    s.join(", ")
}

/// Reads, checks and joins the shards in `dirs` (see the module docs for what is refused).
pub fn merge(dirs: &[PathBuf]) -> Result<Merged, ShardError> {
    let folders = shard_folders(dirs)?;
    let mut shards: Vec<(PathBuf, Partial)> = Vec::with_capacity(folders.len());
    for dir in &folders {
        shards.push((dir.clone(), partial::read(dir)?));
    }
    let (first_dir, first) = match shards.first() {
        Some((d, p)) => (d.clone(), p.manifest.clone()),
        None => {
            return Err(ShardError::NotShard {
                dir: PathBuf::from("."),
                why: "no shard folders given".into(),
            });
        }
    };
    type Field = fn(&partial::Manifest) -> String;
    let checks: [(&'static str, Field); 4] = [
        ("ipamsim versions", |m| m.ipamsim_version.clone()),
        ("scenarios", |m| {
            format!("{} {}", m.scenario_name, short(&m.scenario_digest))
        }),
        ("sweeps", |m| short(&m.sweep_digest)),
        ("shard counts", |m| format!("N = {}", m.shards)),
    ];
    for (what, field) in checks {
        for (dir, p) in &shards[1..] {
            let (a_value, b_value) = (field(&first), field(&p.manifest));
            if a_value != b_value {
                return Err(ShardError::Mismatch {
                    what,
                    a: first_dir.clone(),
                    a_value,
                    b: dir.clone(),
                    b_value,
                });
            }
        }
    }
    if first.ipamsim_version != env!("CARGO_PKG_VERSION") {
        return Err(ShardError::OtherVersion {
            dir: first_dir,
            version: first.ipamsim_version,
        });
    }
    let count = first.shards;
    let total = first.runs_total;
    let mut holder: Vec<Option<&Path>> = vec![None; count];
    for (dir, p) in &shards {
        let m = &p.manifest;
        let expected: Vec<usize> = (m.shard..total).step_by(count.max(1)).collect();
        if m.shard >= count || m.runs != expected || m.empty != expected.is_empty() {
            return Err(ShardError::NotShard {
                dir: dir.clone(),
                why: format!(
                    "{}: shard {} of {count} of a {total}-run sweep does not list the runs \
                     it should",
                    partial::MANIFEST,
                    m.shard
                ),
            });
        }
        if let Some(other) = holder[m.shard] {
            return Err(ShardError::Duplicate {
                index: m.shard,
                count,
                a: other.to_path_buf(),
                b: dir.clone(),
            });
        }
        holder[m.shard] = Some(dir);
    }
    let missing: Vec<usize> = (0..count).filter(|&i| holder[i].is_none()).collect();
    if !missing.is_empty() {
        return Err(ShardError::Missing {
            missing,
            count,
            folders: list_folders(dirs),
        });
    }
    let mut slots: Vec<Option<SweepRun>> = vec![None; total];
    let mut empty_shards = 0;
    for (_, p) in shards {
        empty_shards += usize::from(p.manifest.empty);
        for (index, run) in p.manifest.runs.iter().zip(p.runs) {
            slots[*index] = Some(run);
        }
    }
    // Every index 0..total is held by exactly one shard: checked above.
    let runs: Vec<SweepRun> = slots.into_iter().flatten().collect();
    Ok(Merged {
        name: first.scenario_name,
        keys: first.keys,
        runs,
        warnings: first.warnings,
        cells: first.cells,
        seeds: first.seeds.len(),
        shards: count,
        empty_shards,
    })
}

/// Merges the shards in `dirs` ([`merge`]) and writes the sweep's files at `out` with
/// [`super::write_sweep`], the unsharded sweep's writer. `out` may not be one of the shard
/// folders (it would be replaced by the merged sweep).
pub fn merge_into(dirs: &[PathBuf], out: &Path) -> Result<Merged, Error> {
    let merged = merge(dirs)?;
    if let Ok(target) = out.canonicalize() {
        for dir in shard_folders(dirs)? {
            if dir.canonicalize().is_ok_and(|d| d == target) {
                return Err(Error::Usage(format!(
                    "--out {}: that is one of the shard folders being merged; choose another \
                     folder",
                    out.display()
                )));
            }
        }
    }
    super::write_sweep(out, &merged.name, &merged.keys, &merged.runs)?;
    Ok(merged)
}

/// `sha256:0123456789ab`: enough of a digest to tell two apart in a message.
fn short(digest: &str) -> String {
    digest.chars().take("sha256:".len() + 12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_of_shards_expands_to_its_shard_subfolders_in_name_order() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for sub in [
            "shard-1-of-2",
            "shard-0-of-2",
            "merged",
            "shard-1-of-2.tmp-7",
        ] {
            std::fs::create_dir(r.join(sub)).unwrap();
        }
        for sub in ["shard-1-of-2", "shard-0-of-2", "shard-1-of-2.tmp-7"] {
            std::fs::write(r.join(sub).join(partial::MANIFEST), "{}").unwrap();
        }
        std::fs::write(r.join("merged/sweep.csv"), "").unwrap();
        let found = shard_folders(&[r.to_path_buf()]).unwrap();
        let names: Vec<&str> = found
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        // The temporary folder is taken, to be refused as incomplete; the sweep is not.
        assert_eq!(
            names,
            ["shard-0-of-2", "shard-1-of-2", "shard-1-of-2.tmp-7"]
        );
        // A shard folder given itself is taken as it is.
        let one = r.join("shard-1-of-2");
        assert_eq!(shard_folders(std::slice::from_ref(&one)).unwrap(), [one]);
        let merged = r.join("merged");
        let err = shard_folders(&[merged]).unwrap_err().to_string();
        assert!(err.contains("not a sweep shard folder"), "{err}");
    }

    #[test]
    fn messages_stay_short() {
        let err = ShardError::Missing {
            missing: (0..25).collect(),
            count: 30,
            folders: "x".into(),
        };
        assert!(err.to_string().contains("19, and 5 more of 30"), "{err}");
        let dirs: Vec<PathBuf> = (0..10).map(|i| PathBuf::from(format!("d{i}"))).collect();
        assert!(list_folders(&dirs).ends_with("d7, 2 more"));
        assert_eq!(
            short(&format!("sha256:{}", "a".repeat(64))),
            "sha256:aaaaaaaaaaaa"
        );
    }
}
