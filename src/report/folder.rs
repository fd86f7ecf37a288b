//! Writing an output folder, all or nothing.
//!
//! Files are written into a temporary sibling folder (`<name>.tmp-<pid>`) and the folder is
//! renamed into place only when every file is complete, replacing an earlier result. A run
//! that fails half-way leaves the previous folder (if any) untouched and no partial folder
//! posing as complete. To never delete something that is not ours, an existing folder is
//! replaced only when it is empty or holds an ipamsim result (`summary.csv`, `sweep.csv`,
//! `headroom.csv`, `tune.csv` or `report.html`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{RunOutput, blocks, csv, html, plots};
use crate::Error;

/// Every file of a run's folder (DESIGN.md §5), as (file name, contents), in a fixed order.
pub fn render_run(run: &RunOutput) -> Vec<(String, Vec<u8>)> {
    let files: [(&str, String); 10] = [
        ("summary.csv", csv::summary_csv(&run.summary)),
        ("nodes.csv", csv::nodes_csv(&run.nodes)),
        ("timeseries.csv", csv::timeseries_csv(&run.timeseries)),
        ("ec2_calls.csv", csv::ec2_calls_csv(&run.ec2_calls)),
        ("pod_waits.csv", csv::pod_waits_csv(&run.pod_waits)),
        ("ips.svg", plots::ips_svg(run)),
        ("subnet.svg", plots::subnet_svg(run)),
        ("ec2.svg", plots::ec2_svg(run)),
        ("blocks.svg", blocks::blocks_svg(run)),
        ("report.html", html::report_html(run)),
    ];
    files
        .into_iter()
        .map(|(n, text)| (n.to_string(), text.into_bytes()))
        .collect()
}

/// Writes a run's folder at `out` (created, or replaced when it holds an earlier result).
pub fn write_run(out: &Path, run: &RunOutput) -> Result<(), Error> {
    write_folder(out, &render_run(run), |_| Ok(()))
}

/// Like [`write_run`], and `extra` may write more files (e.g. `events.csv`) into the
/// temporary folder it is given before the folder is put in place; its failure aborts the
/// whole folder.
pub fn write_run_with(
    out: &Path,
    run: &RunOutput,
    extra: impl FnOnce(&Path) -> Result<(), Error>,
) -> Result<(), Error> {
    write_folder(out, &render_run(run), extra)
}

/// Writes a run's files into a new folder `dir` inside a folder being assembled by
/// [`write_folder`] (`headroom`'s first failing run, `tune`'s winner): the outer folder is
/// put in place as a whole, so this one needs no renaming of its own.
pub fn write_run_into(dir: &Path, run: &RunOutput) -> Result<(), Error> {
    fs::create_dir(dir).map_err(|e| io_err(dir, e))?;
    for (name, bytes) in render_run(run) {
        let p = dir.join(name);
        fs::write(&p, bytes).map_err(|e| io_err(&p, e))?;
    }
    Ok(())
}

fn io_err(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
        input: false,
    }
}

/// Files that mark a folder as an ipamsim result (a run, a sweep, a headroom or a tune).
const RESULT_MARKERS: [&str; 5] = [
    "summary.csv",
    "sweep.csv",
    "report.html",
    "headroom.csv",
    "tune.csv",
];

/// Whether an existing path may be replaced by a result folder.
fn replaceable(out: &Path) -> Result<bool, Error> {
    let meta = match fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(io_err(out, e)),
    };
    if !meta.is_dir() {
        return Ok(false);
    }
    let mut entries = fs::read_dir(out).map_err(|e| io_err(out, e))?;
    if entries.next().is_none() {
        return Ok(true);
    }
    Ok(RESULT_MARKERS.iter().any(|f| out.join(f).is_file()))
}

/// Writes `files` (name, contents) plus whatever `extra` writes into a folder at `out`,
/// atomically as described in the module docs.
pub fn write_folder(
    out: &Path,
    files: &[(String, Vec<u8>)],
    extra: impl FnOnce(&Path) -> Result<(), Error>,
) -> Result<(), Error> {
    let name = out.file_name().ok_or_else(|| Error::Io {
        path: out.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::InvalidInput,
            "the output folder must end in a folder name (not `.`, `..` or `/`)",
        ),
        input: true,
    })?;
    if !replaceable(out)? {
        return Err(Error::Io {
            path: out.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not an ipamsim output folder (no summary.csv, sweep.csv or \
                 report.html in it); remove it or choose another --out",
            ),
            input: true,
        });
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| io_err(&parent, e))?;
    let sibling = |tag: &str| {
        let mut n = name.to_os_string();
        n.push(format!(".{tag}-{}", std::process::id()));
        parent.join(n)
    };
    let tmp = sibling("tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    }
    fs::create_dir(&tmp).map_err(|e| io_err(&tmp, e))?;

    let filled = (|| {
        for (file, bytes) in files {
            let p = tmp.join(file);
            fs::write(&p, bytes).map_err(|e| io_err(&p, e))?;
        }
        extra(&tmp)
    })();
    if let Err(e) = filled {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }

    let old = sibling("old");
    let had_old = out.exists();
    if had_old {
        if old.exists() {
            fs::remove_dir_all(&old).map_err(|e| io_err(&old, e))?;
        }
        if let Err(e) = fs::rename(out, &old) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(io_err(out, e));
        }
    }
    if let Err(e) = fs::rename(&tmp, out) {
        if had_old {
            let _ = fs::rename(&old, out);
        }
        let _ = fs::remove_dir_all(&tmp);
        return Err(io_err(out, e));
    }
    if had_old {
        // The new result is in place; a leftover old folder is untidy, not wrong.
        let _ = fs::remove_dir_all(&old);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(tag: &str) -> Vec<(String, Vec<u8>)> {
        vec![
            ("summary.csv".into(), format!("{tag}\n").into_bytes()),
            ("b.txt".into(), b"b".to_vec()),
        ]
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_then_replaces_a_result_without_leftovers() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("nested/run");
        write_folder(&out, &files("one"), |_| Ok(())).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("summary.csv")).unwrap(),
            "one\n"
        );
        fs::write(out.join("stale.csv"), "x").unwrap();

        write_folder(&out, &files("two"), |dir| {
            fs::write(dir.join("events.csv"), "e").map_err(|e| io_err(dir, e))
        })
        .unwrap();
        assert_eq!(
            fs::read_to_string(out.join("summary.csv")).unwrap(),
            "two\n"
        );
        assert_eq!(names(&out), ["b.txt", "events.csv", "summary.csv"]);
        assert_eq!(names(&root.path().join("nested")), ["run"]);
    }

    #[test]
    fn a_failed_write_keeps_the_previous_result_and_leaves_nothing_behind() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("run");
        write_folder(&out, &files("good"), |_| Ok(())).unwrap();
        let err = write_folder(&out, &files("bad"), |dir| {
            Err(io_err(dir, io::Error::other("disk full")))
        })
        .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            fs::read_to_string(out.join("summary.csv")).unwrap(),
            "good\n"
        );
        assert_eq!(names(root.path()), ["run"]);

        let fresh = root.path().join("fresh");
        assert!(
            write_folder(&fresh, &files("x"), |d| Err(io_err(
                d,
                io::Error::other("no")
            )))
            .is_err()
        );
        assert!(!fresh.exists());
        assert_eq!(names(root.path()), ["run"]);
    }

    #[test]
    fn refuses_to_replace_what_is_not_a_result() {
        let root = tempfile::tempdir().unwrap();
        let precious = root.path().join("home");
        fs::create_dir(&precious).unwrap();
        fs::write(precious.join("thesis.tex"), "years of work").unwrap();
        let err = write_folder(&precious, &files("x"), |_| Ok(())).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("not an ipamsim output folder"),
            "{err}"
        );
        assert!(precious.join("thesis.tex").exists());

        let file = root.path().join("file");
        fs::write(&file, "x").unwrap();
        assert!(write_folder(&file, &files("x"), |_| Ok(())).is_err());
        assert_eq!(fs::read_to_string(&file).unwrap(), "x");

        let empty = root.path().join("empty");
        fs::create_dir(&empty).unwrap();
        write_folder(&empty, &files("x"), |_| Ok(())).unwrap();
        assert!(empty.join("summary.csv").exists());
    }
}
