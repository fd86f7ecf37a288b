//! Writing an output folder, all or nothing.
//!
//! Files are written into a temporary sibling folder (`<name>.tmp-<pid>`) and the folder is
//! renamed into place only when every file is complete, replacing an earlier result. A run
//! that fails half-way leaves the previous folder (if any) untouched and no partial folder
//! posing as complete. To never delete something that is not ours, an existing folder is
//! replaced only when it is empty or holds an ipamsim result (`summary.csv`, `sweep.csv`,
//! `headroom.csv`, `tune.csv`, `report.html`, or a sweep shard's `shard.json`).
//!
//! Nothing is left behind (issue 14):
//! - **Signals.** The first folder written installs a Ctrl-C / SIGTERM / SIGHUP handler
//!   (the `ctrlc` crate with its `termination` feature) that removes this process's
//!   temporary folders and exits 130. `ctrlc` rather than `signal-hook`: one handler on a
//!   thread of its own, the same code on Windows (Ctrl-C, console close) and Unix, and we
//!   need no more than "stop and clean up" — `signal-hook`'s per-signal registry and
//!   iterator would be machinery for nothing. A rename into place holds the same lock as the
//!   handler, so a signal never lands between "old result moved away" and "new one moved in".
//! - **kill -9.** A process killed outright cannot clean up; the next write into the same
//!   place removes `<name>.tmp-<pid>` folders whose process is gone, and puts a stale
//!   `<name>.old-<pid>` back when no result took its place (else removes it). Folders of a
//!   live process (or, off Unix, of a process we cannot ask about) are left alone.
//! - **Two writers at once.** Each fills its own temporary folder; the swap into place is
//!   retried when another writer's result lands in between, so both succeed and the last
//!   one wins. A writer that keeps losing the race gives up with exit 2 ("busy").
//!
//! Exit codes: an `--out` that cannot be created (a file in the way, no permission, a name
//! too long) is bad input, exit 2; a file that cannot be written into a folder we created
//! (a full disk) is exit 1, and nothing is left half-written.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};

use super::{RunOutput, blocks, csv, ec2_plot, html, plots};
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
        ("ec2.svg", ec2_plot::ec2_svg(run)),
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

/// Files that mark a folder as an ipamsim result (a run, a sweep, a sweep shard, a headroom
/// or a tune).
const RESULT_MARKERS: [&str; 6] = [
    "summary.csv",
    "sweep.csv",
    "report.html",
    "shard.json",
    "headroom.csv",
    "tune.csv",
];

/// A place the user chose that cannot hold the folder: exit 2, with what to do.
fn out_err(path: &Path, source: &io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: io::Error::new(
            source.kind(),
            format!("cannot create the output folder here ({source}); choose another --out"),
        ),
        input: true,
    }
}

/// Folders of this process that a signal must not leave behind.
static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static HANDLER: Once = Once::new();

fn in_flight() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock cannot leave the list inconsistent (push/retain only).
    IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Installs the clean-up-and-exit handler, once per process (see the module docs).
fn install_signal_handler() {
    HANDLER.call_once(|| {
        // Another handler already installed (an embedding program's): leave it be.
        let _ = ctrlc::set_handler(|| {
            let dirs = in_flight();
            for dir in dirs.iter() {
                remove_all(dir);
            }
            // Exit holding the lock: no rename into place can start after the clean-up.
            std::process::exit(130);
        });
    });
}

/// Removes `dir`, retrying while a writer still creates files in it.
fn remove_all(dir: &Path) {
    for _ in 0..20 {
        match fs::remove_dir_all(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => continue,
            _ => return,
        }
    }
}

/// Whether an existing path may be replaced by a result folder.
fn replaceable(out: &Path) -> Result<bool, Error> {
    let meta = match fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(true),
        // Under a file (ENOTDIR) or unreadable: the user's --out, not our failure.
        Err(e) => return Err(out_err(out, &e)),
    };
    if !meta.is_dir() {
        return Ok(false);
    }
    let mut entries = fs::read_dir(out).map_err(|e| out_err(out, &e))?;
    if entries.next().is_none() {
        return Ok(true);
    }
    Ok(RESULT_MARKERS.iter().any(|f| out.join(f).is_file()))
}

/// Whether process `pid` may still be running (`None`: cannot tell).
fn alive(pid: u32) -> Option<bool> {
    #[cfg(unix)]
    {
        use nix::errno::Errno;
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).ok()?);
        match nix::sys::signal::kill(pid, None) {
            Ok(()) | Err(Errno::EPERM) => Some(true),
            Err(Errno::ESRCH) => Some(false),
            Err(_) => None,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        None
    }
}

/// Clears `<name>.tmp-<pid>` / `<name>.old-<pid>` left in `parent` by dead processes (see
/// the module docs). Best effort: what cannot be removed stays.
fn clear_stale(parent: &Path, name: &std::ffi::OsStr, out: &Path) {
    let Some(name) = name.to_str() else { return };
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let ours = std::process::id();
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(name)) else {
            continue;
        };
        let (old, pid) = match (rest.strip_prefix(".tmp-"), rest.strip_prefix(".old-")) {
            (Some(pid), _) => (false, pid),
            (_, Some(pid)) => (true, pid),
            _ => continue,
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid == ours || alive(pid) != Some(false) {
            continue;
        }
        let path = entry.path();
        if old && !out.exists() && fs::rename(&path, out).is_ok() {
            continue; // the previous result, back where it was
        }
        remove_all(&path);
    }
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
                "exists and is not an ipamsim output folder (no summary.csv, sweep.csv, \
                 report.html or shard.json in it); remove it or choose another --out",
            ),
            input: true,
        });
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| out_err(&parent, &e))?;
    install_signal_handler();
    clear_stale(&parent, name, out);
    let sibling = |tag: &str| {
        let mut n = name.to_os_string();
        n.push(format!(".{tag}-{}", std::process::id()));
        parent.join(n)
    };
    let tmp = sibling("tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    }
    in_flight().push(tmp.clone());
    let forget = |dir: &Path| in_flight().retain(|d| d != dir);
    if let Err(e) = fs::create_dir(&tmp) {
        forget(&tmp);
        return Err(out_err(&tmp, &e));
    }

    let filled = (|| {
        for (file, bytes) in files {
            let p = tmp.join(file);
            fs::write(&p, bytes).map_err(|e| io_err(&p, e))?;
        }
        extra(&tmp)
    })();
    if let Err(e) = filled {
        remove_all(&tmp);
        forget(&tmp);
        return Err(e);
    }

    let old = sibling("old");
    let swapped = swap_into_place(&tmp, out, &old);
    forget(&tmp);
    match swapped {
        Ok(true) => {
            // The new result is in place; the earlier one goes (a signal now removes it too).
            remove_all(&old);
            forget(&old);
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) => {
            remove_all(&tmp);
            Err(e)
        }
    }
}

/// Moves the complete folder `tmp` to `out`, moving an earlier result aside to `old` first;
/// returns whether `old` holds one to remove. Retried when another writer's result lands at
/// `out` in between (last wins).
fn swap_into_place(tmp: &Path, out: &Path, old: &Path) -> Result<bool, Error> {
    const ATTEMPTS: usize = 50;
    let mut had_old = false;
    for _ in 0..ATTEMPTS {
        let mut flight = in_flight();
        if out.exists() {
            if old.exists() {
                // Only ours: an earlier result moved aside; the one at `out` is newer.
                let _ = fs::remove_dir_all(old);
            }
            match fs::rename(out, old) {
                Ok(()) => {
                    had_old = true;
                    flight.push(old.to_path_buf());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {} // another writer moved it
                Err(e) => return Err(io_err(out, e)),
            }
        }
        match fs::rename(tmp, out) {
            Ok(()) => return Ok(had_old),
            // Another writer put its result at `out` since we looked: go again.
            Err(_) if out.exists() => {
                drop(flight);
                std::thread::yield_now();
            }
            Err(e) => {
                if had_old && fs::rename(old, out).is_ok() {
                    flight.retain(|d| d != old);
                }
                return Err(io_err(out, e));
            }
        }
    }
    Err(Error::Io {
        path: out.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::ResourceBusy,
            "busy: other ipamsim processes keep writing this folder; wait for them or choose another --out",
        ),
        input: true,
    })
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
