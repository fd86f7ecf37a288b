//! A shard's partial folder: what `sweep --shard I/N` writes and `merge` reads.
//!
//! Three files, written in this order into a temporary folder that is then renamed into place
//! ([`crate::report::write_folder`]):
//! - `shard.json` — the [`Manifest`]: format, ipamsim's version, the scenario's name, source and
//!   digest, the sweep's digest, N, I, the run indices this shard holds (none for an empty
//!   shard, which says `"empty": true`), the scenario warnings;
//! - `runs.csv` — `run` (the index in the canonical order), the varied keys, then the
//!   `summary.csv` columns; one row per run of this shard, each `sweep.csv`'s row for the
//!   run, written by the same serializer. Every time in a summary is a whole number of
//!   milliseconds (the engine's clock), which seconds with three decimals carry exactly, so
//!   `merge` rebuilds summaries equal to the ones the runs produced, hence the same bytes;
//!   [`render`] checks that each row reads back equal before anything is written;
//! - `complete.sha256` — the completion marker, written last: the SHA-256 of the two files
//!   above in `sha256sum` format (`sha256sum -c complete.sha256` checks a copy by hand).
//!
//! A shard killed before the rename leaves no folder at its place (so `merge` finds it
//! missing) and perhaps a `shard-I-of-N.tmp-PID` folder beside it that lacks the marker or
//! whose files do not match it; a folder copied in part (an interrupted `aws s3 sync`) fails
//! the sums. [`read`] refuses both as incomplete; nothing is ever merged from them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::shard::{ShardError, sha256_hex};
use crate::Error;
use crate::report::Summary;
use crate::report::comparison::SweepRun;
use crate::report::csv::{Writer, columns};

/// The manifest's `format`: changes when the folder's layout does.
pub const FORMAT: &str = "ipamsim-sweep-shard/1";
/// The manifest's file name.
pub const MANIFEST: &str = "shard.json";
/// The runs' file name.
pub const RUNS: &str = "runs.csv";
/// The completion marker's file name.
pub const MARKER: &str = "complete.sha256";

/// `shard.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The version of the ipamsim that ran the shard.
    pub ipamsim_version: String,
    /// The scenario's name (after `--set`): titles `sweep.html`.
    pub scenario_name: String,
    /// The scenario file as given on the command line (for people; not compared).
    pub scenario_source: String,
    /// See [`super::shard::scenario_digest`].
    pub scenario_digest: String,
    /// See [`super::shard::sweep_digest`].
    pub sweep_digest: String,
    /// The varied keys, in `--vary` order.
    pub keys: Vec<String>,
    /// Every cell's seeds.
    pub seeds: Vec<u64>,
    /// The number of cells.
    pub cells: usize,
    /// Runs in the whole sweep (cells × seeds).
    pub runs_total: usize,
    /// I.
    pub shard: usize,
    /// N.
    pub shards: usize,
    /// Whether this shard holds no run (I ≥ the number of runs).
    pub empty: bool,
    /// The indices of this shard's runs, ascending: those ≡ I (mod N).
    pub runs: Vec<usize>,
    /// The cells' scenario warnings, each once.
    pub warnings: Vec<String>,
}

/// A partial folder's content.
#[derive(Clone, Debug, PartialEq)]
pub struct Partial {
    /// `shard.json`.
    pub manifest: Manifest,
    /// The runs, in the order of [`Manifest::runs`].
    pub runs: Vec<SweepRun>,
}

/// `runs.csv`'s header: `run`, the varied keys, the summary columns.
fn runs_header(m: &Manifest) -> Vec<String> {
    ["run".to_string()]
        .into_iter()
        .chain(m.keys.iter().cloned())
        .chain(columns::<Summary>())
        .collect()
}

/// `runs.csv`'s text: `sweep.csv`'s rows, each after its run index, written by the same
/// serializer.
fn runs_csv(m: &Manifest, runs: &[SweepRun]) -> Vec<u8> {
    let mut w = Writer::with_header(runs_header(m));
    for (index, run) in m.runs.iter().zip(runs) {
        w.row((index, &run.values, &run.summary));
    }
    w.finish().into_bytes()
}

/// The folder's files, in writing order (the marker last).
pub fn render(p: &Partial) -> Result<Vec<(String, Vec<u8>)>, std::io::Error> {
    let mut manifest = serde_json::to_vec_pretty(&p.manifest)?;
    manifest.push(b'\n');
    let runs = runs_csv(&p.manifest, &p.runs);
    // The summaries must read back as they are, or the merge would not be byte-identical.
    // Times are whole milliseconds (the engine's clock), which the CSV's seconds with three
    // decimals carry exactly; this checks it for every run rather than trusting it.
    if read_runs(&runs, &p.manifest).as_deref() != Ok(p.runs.as_slice()) {
        return Err(std::io::Error::other(format!(
            "a run's summary does not read back from {RUNS} exactly (a time that is not a \
             whole millisecond?); this is a bug in ipamsim"
        )));
    }
    let marker = format!(
        "{}  {MANIFEST}\n{}  {RUNS}\n",
        sha256_hex(&manifest),
        sha256_hex(&runs)
    );
    Ok(vec![
        (MANIFEST.into(), manifest),
        (RUNS.into(), runs),
        (MARKER.into(), marker.into_bytes()),
    ])
}

/// Writes a partial folder at `dir`, all or nothing.
pub fn write(dir: &Path, p: &Partial) -> Result<(), Error> {
    let files = render(p).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
        input: false,
    })?;
    crate::report::write_folder(dir, &files, |_| Ok(()))
}

/// Whether `dir` looks like a partial folder (holds a manifest), complete or not.
pub fn is_partial(dir: &Path) -> bool {
    dir.join(MANIFEST).is_file()
}

/// Reads and checks the partial folder at `dir`: the marker present and matching, the
/// manifest and the rows parsing and agreeing with each other.
pub fn read(dir: &Path) -> Result<Partial, ShardError> {
    let incomplete = |why: String| ShardError::Incomplete {
        dir: dir.to_path_buf(),
        why,
    };
    let corrupt = |why: String| ShardError::NotShard {
        dir: dir.to_path_buf(),
        why,
    };
    if !is_partial(dir) {
        return Err(corrupt(format!(
            "not a sweep shard folder (no {MANIFEST}); pass the folders `sweep --shard` \
             wrote, or the folder that holds them"
        )));
    }
    let marker = match std::fs::read_to_string(dir.join(MARKER)) {
        Ok(m) => m,
        Err(_) => return Err(incomplete(format!("no {MARKER} (written last)"))),
    };
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for name in [MANIFEST, RUNS] {
        let want = marker
            .lines()
            .find_map(|l| l.strip_suffix(&format!("  {name}")))
            .ok_or_else(|| incomplete(format!("{MARKER} does not list {name}")))?;
        let bytes = std::fs::read(dir.join(name))
            .map_err(|e| incomplete(format!("{name} cannot be read: {e}")))?;
        if sha256_hex(&bytes) != want {
            return Err(incomplete(format!("{name} does not match {MARKER}")));
        }
        files.push((dir.join(name), bytes));
    }
    let manifest: Manifest =
        serde_json::from_slice(&files[0].1).map_err(|e| corrupt(format!("{MANIFEST}: {e}")))?;
    if manifest.format != FORMAT {
        return Err(corrupt(format!(
            "{MANIFEST}: format {:?}, this ipamsim reads {FORMAT:?}; merge with the ipamsim \
             that wrote it",
            manifest.format
        )));
    }
    let runs = read_runs(&files[1].1, &manifest).map_err(|e| corrupt(format!("{RUNS}: {e}")))?;
    Ok(Partial { manifest, runs })
}

/// Parses `runs.csv` against the manifest: the header, one row per listed run, in order.
fn read_runs(bytes: &[u8], m: &Manifest) -> Result<Vec<SweepRun>, String> {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().map_err(|e| e.to_string())?.clone();
    let k = m.keys.len();
    if header.iter().ne(runs_header(m).iter().map(String::as_str)) {
        return Err(format!(
            "the header is not `run`, the varied keys ({}) and the summary columns",
            m.keys.join(", ")
        ));
    }
    let summary_header: csv::StringRecord = header.iter().skip(1 + k).collect();
    let mut runs = Vec::with_capacity(m.runs.len());
    for (i, record) in r.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| format!("line {line}: {e}"))?;
        let index: usize = record[0]
            .parse()
            .map_err(|_| format!("line {line}: run {:?} is not an index", &record[0]))?;
        if m.runs.get(i) != Some(&index) {
            return Err(format!(
                "line {line}: run {index}, but {MANIFEST} lists {}",
                m.runs
                    .get(i)
                    .map_or("no more runs".into(), |x| format!("run {x}"))
            ));
        }
        let values: Vec<String> = record.iter().skip(1).take(k).map(String::from).collect();
        let summary_fields: csv::StringRecord = record.iter().skip(1 + k).collect();
        let summary: Summary = summary_fields
            .deserialize(Some(&summary_header))
            .map_err(|e| format!("line {line}: {e}"))?;
        runs.push(SweepRun { values, summary });
    }
    if runs.len() != m.runs.len() {
        return Err(format!(
            "{} rows, but {MANIFEST} lists {} runs",
            runs.len(),
            m.runs.len()
        ));
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(runs: Vec<usize>) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            ipamsim_version: "0.1.0".into(),
            scenario_name: "s".into(),
            scenario_source: "s.toml".into(),
            scenario_digest: "sha256:aa".into(),
            sweep_digest: "sha256:bb".into(),
            keys: vec!["WARM_IP_TARGET".into(), "name, with \"quotes\"".into()],
            seeds: vec![1, 2],
            cells: 4,
            runs_total: 8,
            shard: 1,
            shards: 3,
            empty: runs.is_empty(),
            runs,
            warnings: vec![],
        }
    }

    /// Times as the engine makes them (whole milliseconds / 1000), from 1 ms to centuries,
    /// none of them exact in binary.
    fn run(i: usize) -> SweepRun {
        let ms = |m: u64| (m * (i as u64 + 1)) as f64 / 1000.0;
        SweepRun {
            values: vec![format!("{i}"), "a,b".into()],
            summary: Summary {
                scenario: "s, \"quoted\"".into(),
                seed: u64::MAX - i as u64,
                duration_s: ms(3_153_600_000_333),
                ip_wait_p50_s: ms(1),
                ip_wait_p99_s: ms(333),
                ip_wait_max_s: ms(999_999_999_999),
                first_insufficient_cidr_s: if i.is_multiple_of(2) {
                    None
                } else {
                    Some(ms(7))
                },
                nodes: 7,
                events: 123_456_789_012,
                nodes_launch_failed: 3,
                ..Summary::default()
            },
        }
    }

    #[test]
    fn a_partial_folder_round_trips_exactly() {
        let p = Partial {
            manifest: manifest(vec![1, 4, 7]),
            runs: vec![run(1), run(4), run(7)],
        };
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("shard-1-of-3");
        write(&at, &p).unwrap();
        assert_eq!(read(&at).unwrap(), p);
        let marker = std::fs::read_to_string(at.join(MARKER)).unwrap();
        assert_eq!(marker.lines().count(), 2);
        // An empty shard too.
        let empty = Partial {
            manifest: manifest(vec![]),
            runs: vec![],
        };
        write(&at, &empty).unwrap();
        assert_eq!(read(&at).unwrap(), empty);
    }

    #[test]
    fn a_summary_that_would_not_read_back_is_not_written() {
        let mut bad = run(1);
        bad.summary.ip_wait_p99_s = 0.0005;
        let p = Partial {
            manifest: manifest(vec![1]),
            runs: vec![bad],
        };
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("s");
        let err = write(&at, &p).unwrap_err();
        assert_eq!(err.exit_code(), 1, "{err}");
        assert!(!at.exists());
    }

    #[test]
    fn a_missing_marker_or_a_changed_file_is_incomplete() {
        let p = Partial {
            manifest: manifest(vec![1, 4]),
            runs: vec![run(1), run(4)],
        };
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("s");
        for damage in 0..3 {
            write(&at, &p).unwrap();
            match damage {
                0 => std::fs::remove_file(at.join(MARKER)).unwrap(),
                1 => {
                    let runs = std::fs::read(at.join(RUNS)).unwrap();
                    std::fs::write(at.join(RUNS), &runs[..runs.len() / 2]).unwrap();
                }
                _ => std::fs::write(at.join(MANIFEST), b"{}").unwrap(),
            }
            let err = read(&at).unwrap_err();
            assert!(matches!(err, ShardError::Incomplete { .. }), "{err}");
            assert!(err.to_string().contains(&at.display().to_string()));
        }
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a sweep shard folder"), "{err}");
    }

    #[test]
    fn rows_must_match_the_manifest() {
        let m = manifest(vec![1, 4]);
        let bytes = runs_csv(&m, &[run(1), run(4)]);
        assert!(read_runs(&bytes, &m).is_ok());
        let fewer = manifest(vec![1]);
        assert!(
            read_runs(&bytes, &fewer)
                .unwrap_err()
                .contains("no more runs")
        );
        let more = manifest(vec![1, 4, 7]);
        assert!(read_runs(&bytes, &more).unwrap_err().contains("2 rows"));
        let other = manifest(vec![1, 5]);
        assert!(read_runs(&bytes, &other).unwrap_err().contains("line 3"));
    }
}
