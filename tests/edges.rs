//! Issue 14's reproducers, each run against the binary: the exit code, one error line, and
//! nothing left beside the output folder. (The in-process fuzzer is `tests/fuzz.rs`.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ipamsim"))
}

fn ipamsim(args: &[&str], cwd: &Path) -> Output {
    bin()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 2 with exactly one line on stderr that contains `needle`.
fn bad_input(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

const ONE_POD: &str = r#"
name = "one-pod"
duration = "10m"

[subnet]
cidr = "10.0.0.0/28"

[[nodegroup]]
instance_type = "m5.large"
count = 1

[[workload]]
kind = "deployment"
steps = [ { at = "0s", replicas = 20 } ]
"#;

/// A run whose stdout is closed before it writes: the folder is written and the command
/// ends with exit 0, like `ipamsim instance-types | head -1`.
fn closed_stdout(args: &[&str], cwd: &Path) -> Output {
    let mut child = bin()
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before the first write
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_pipe_is_success() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["instance-types"],
        vec!["max-pods", "--instance-type", "m5.large"],
        vec!["--help"],
    ] {
        let o = closed_stdout(&args, dir.path());
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    let out = dir.path().join("out");
    let o = closed_stdout(
        &[
            "run",
            "--out",
            out.to_str().unwrap(),
            "--set",
            "duration=10m",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(out.join("summary.csv").is_file());
    assert_eq!(names(dir.path()), ["out"]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_exit_1_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = bin()
        .arg("instance-types")
        .stdout(full)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("standard output"), "{err}");
}

#[test]
fn a_key_of_thousands_of_segments_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let key = vec!["a"; 20_000].join(".");
    let o = ipamsim(
        &["run", "--quiet", "--set", &format!("{key}=1")],
        dir.path(),
    );
    bad_input(&o, "dotted segments");
    // And a value nested past the TOML parser's depth limit.
    let deep = "[".repeat(100_000);
    let o = ipamsim(
        &["run", "--quiet", "--set", &format!("x={deep}")],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).len() < 1_000,
        "the message echoes the whole value"
    );
    assert!(!dir.path().join("output").exists());
}

#[test]
fn a_retry_of_zero_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    for retry in ["\"0s\"", "\"0.4ms\"", "0"] {
        let text = format!("{ONE_POD}\n[model]\ncni_retry = {retry}\n");
        let s = write(dir.path(), "r.toml", &text);
        let o = ipamsim(&["run", s.to_str().unwrap(), "--quiet"], dir.path());
        bad_input(&o, "r.toml:");
        assert!(stderr(&o).contains("cni_retry"), "{}", stderr(&o));
    }
    let s = write(dir.path(), "one.toml", ONE_POD);
    let o = ipamsim(
        &[
            "run",
            s.to_str().unwrap(),
            "--quiet",
            "--set",
            "model.cni_retry=0s",
        ],
        dir.path(),
    );
    bad_input(&o, "--set model.cni_retry=0s: cni_retry");
    let o = ipamsim(
        &[
            "sweep",
            s.to_str().unwrap(),
            "--vary",
            "model.cni_retry=1s,0s",
        ],
        dir.path(),
    );
    bad_input(&o, "--vary model.cni_retry=0s: cni_retry");
    assert_eq!(names(dir.path()), ["one.toml", "r.toml"]);
}

#[test]
fn durations_and_samples_beyond_the_limits_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "one.toml", ONE_POD);
    let s = s.to_str().unwrap();
    for (set, needle) in [
        ("duration=36500d", "longest run"),
        ("duration=18446744073709555", "too large"),
        ("duration=\"36500d\"", "longest run"),
    ] {
        let o = ipamsim(&["run", s, "--quiet", "--set", set], dir.path());
        bad_input(&o, needle);
    }
    let o = ipamsim(
        &[
            "run",
            s,
            "--quiet",
            "--set",
            "duration=1d",
            "--set",
            "sample_interval=1ms",
        ],
        dir.path(),
    );
    bad_input(&o, "use at least 87ms");
    let o = ipamsim(
        &[
            "run",
            s,
            "--quiet",
            "--set",
            "duration=6h",
            "--set",
            "sample_interval=1ms",
        ],
        dir.path(),
    );
    bad_input(&o, "21600000 samples");
    // Integers in the file: checked, not wrapped (it ran 3.4 s and exited 0).
    for (key, table) in [("duration", ""), ("start", "[[nodegroup]]")] {
        let text = if table.is_empty() {
            ONE_POD.replace("duration = \"10m\"", "duration = 18446744073709555")
        } else {
            ONE_POD.replace("count = 1", "count = 1\nstart = 18446744073709555")
        };
        let f = write(dir.path(), "big.toml", &text);
        let o = ipamsim(&["run", f.to_str().unwrap(), "--quiet"], dir.path());
        bad_input(&o, "too large");
        assert!(stderr(&o).contains("big.toml:"), "{key}: {}", stderr(&o));
    }
    assert_eq!(names(dir.path()), ["big.toml", "one.toml"]);
}

#[test]
fn a_huge_scenario_file_is_refused_before_it_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.toml");
    let f = fs::File::create(&p).unwrap();
    f.set_len(ipamsim::scenario::MAX_SCENARIO_BYTES + 1)
        .unwrap();
    drop(f);
    let o = ipamsim(&["run", p.to_str().unwrap(), "--quiet"], dir.path());
    bad_input(&o, "larger than 16 MiB");
    let o = ipamsim(
        &["sweep", p.to_str().unwrap(), "--vary", "WARM_IP_TARGET=1,2"],
        dir.path(),
    );
    bad_input(&o, "larger than 16 MiB");
}

#[test]
fn a_trace_line_without_end_is_refused_not_buffered() {
    let dir = tempfile::tempdir().unwrap();
    let text = ONE_POD.replace(
        "kind = \"deployment\"\nsteps = [ { at = \"0s\", replicas = 20 } ]",
        "kind = \"trace\"\npath = \"t.csv\"",
    );
    let s = write(dir.path(), "t.toml", &text);
    let mut trace = "time_s,pod,event\n0,".to_string();
    trace.push_str(&"p".repeat(200_000));
    trace.push_str(",add\n");
    write(dir.path(), "t.csv", &trace);
    let o = ipamsim(&["run", s.to_str().unwrap(), "--quiet"], dir.path());
    bad_input(&o, "longer than 64 KiB");
}

#[test]
fn stale_folders_of_dead_processes_are_cleared() {
    let dir = tempfile::tempdir().unwrap();
    // A pid that is certainly gone: a child we waited for.
    let dead = Command::new(env!("CARGO_BIN_EXE_ipamsim"))
        .arg("--version")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = dead.id();
    let _ = dead.wait_with_output();
    let tmp = dir.path().join(format!("out.tmp-{pid}"));
    fs::create_dir(&tmp).unwrap();
    fs::write(tmp.join("summary.csv"), "half").unwrap();
    // An earlier result moved aside by a process killed before it put the new one in place:
    // it comes back.
    let old = dir.path().join(format!("out.old-{pid}"));
    fs::create_dir(&old).unwrap();
    fs::write(old.join("summary.csv"), "previous").unwrap();
    // Another process's folder (ours: alive) is not touched.
    let live = dir.path().join(format!("out.tmp-{}", std::process::id()));
    fs::create_dir(&live).unwrap();
    let other = dir.path().join(format!("other.tmp-{pid}"));
    fs::create_dir(&other).unwrap();

    let o = ipamsim(
        &["run", "--quiet", "--out", "out", "--set", "duration=10m"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut want = vec![
        "other".to_string() + &format!(".tmp-{pid}"),
        "out".into(),
        format!("out.tmp-{}", std::process::id()),
    ];
    want.sort();
    assert_eq!(names(dir.path()), want);
    assert_ne!(
        fs::read_to_string(dir.path().join("out/summary.csv")).unwrap(),
        "previous"
    );
}

#[test]
fn concurrent_runs_into_one_folder_all_succeed_and_leave_no_debris() {
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..4)
        .map(|i| {
            bin()
                .args(["run", "--quiet", "--out", "out", "--set", "duration=20m"])
                .args(["--seed", &i.to_string()])
                .current_dir(dir.path())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(names(dir.path()), ["out"]);
    assert!(dir.path().join("out/report.html").is_file());
}

#[cfg(unix)]
#[test]
fn sigterm_while_writing_leaves_nothing_behind() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let dir = tempfile::tempdir().unwrap();
    // A run whose events.csv takes a while to write: many pods churning for a day.
    let text = r#"
name = "churn"
duration = "1d"
sample_interval = "1m"
[subnet]
cidr = "10.0.0.0/16"
[[nodegroup]]
instance_type = "m5.4xlarge"
count = 40
[[workload]]
kind = "poisson"
rate_per_min = 300
lifetime = { mean = "10m" }
"#;
    let s = write(dir.path(), "churn.toml", text);
    for attempt in 0..5 {
        let mut child = bin()
            .args(["run", s.to_str().unwrap(), "--quiet", "--events"])
            .args(["--out", "out"])
            .current_dir(dir.path())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let tmp = dir.path().join(format!("out.tmp-{}", child.id()));
        // Wait until the temporary folder holds a file, then stop the run mid-write.
        let mut seen = false;
        while child.try_wait().unwrap().is_none() {
            if tmp.join("summary.csv").exists() {
                seen = true;
                kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        let o = child.wait_with_output().unwrap();
        let left: Vec<String> = names(dir.path())
            .into_iter()
            .filter(|n| n.contains(".tmp-") || n.contains(".old-"))
            .collect();
        assert!(left.is_empty(), "debris: {left:?}");
        if seen {
            // Either the handler cleaned up (130) or the write had just finished (0).
            assert!(
                matches!(o.status.code(), Some(130) | Some(0)),
                "{:?} {}",
                o.status,
                stderr(&o)
            );
            if o.status.code() == Some(130) {
                eprintln!("attempt {attempt}: stopped mid-write, cleaned up");
                return;
            }
        }
        let _ = fs::remove_dir_all(dir.path().join("out"));
        eprintln!("attempt {attempt}: the write finished before the signal; again");
    }
}

#[test]
fn seeds_run_accepts_every_seed_sweep_writes() {
    let dir = tempfile::tempdir().unwrap();
    let o = ipamsim(
        &[
            "run",
            "--quiet",
            "--out",
            "max",
            "--set",
            "duration=10m",
            "--seed",
            "18446744073709551615",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = fs::read_to_string(dir.path().join("max/summary.csv")).unwrap();
    assert!(summary.contains("18446744073709551615"), "{summary}");
    // A sweep that would wrap past the largest seed is refused…
    let s = write(dir.path(), "one.toml", ONE_POD);
    let o = ipamsim(
        &[
            "sweep",
            s.to_str().unwrap(),
            "--vary",
            "WARM_IP_TARGET=1,2",
            "--set",
            "seed=9223372036854775807",
            "--seeds",
            "2",
            "--out",
            "sw",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // …and every seed it writes runs.
    let csv = fs::read_to_string(dir.path().join("sw/sweep.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "seed").unwrap();
    for line in lines {
        let seed = line.split(',').nth(col).unwrap();
        let o = ipamsim(
            &[
                "run",
                s.to_str().unwrap(),
                "--quiet",
                "--seed",
                seed,
                "--out",
                "again",
            ],
            dir.path(),
        );
        assert!(o.status.success(), "seed {seed}: {}", stderr(&o));
    }
}

#[test]
fn sweep_limits_cells_and_caps_jobs_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "one.toml", ONE_POD);
    let s = s.to_str().unwrap();
    let values: Vec<String> = (0..400).map(|i| i.to_string()).collect();
    let o = ipamsim(
        &[
            "sweep",
            s,
            "--vary",
            &format!("WARM_IP_TARGET={}", values.join(",")),
            "--vary",
            &format!("MINIMUM_IP_TARGET={}", values.join(",")),
        ],
        dir.path(),
    );
    bad_input(&o, "more than 100000 runs");
    let o = ipamsim(
        &[
            "sweep",
            s,
            "--vary",
            "WARM_IP_TARGET=1,2",
            "--jobs",
            "100000",
            "--out",
            "sw",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--jobs 100000 capped at"),
        "{}",
        stderr(&o)
    );
    for bad in [["--jobs", "0"], ["--seeds", "0"]] {
        let o = ipamsim(
            &["sweep", s, "--vary", "WARM_IP_TARGET=1", bad[0], bad[1]],
            dir.path(),
        );
        bad_input(&o, bad[0]);
    }
}

#[test]
fn unusable_out_folders_and_names_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "file", "x");
    let s = write(dir.path(), "one.toml", ONE_POD);
    let s = s.to_str().unwrap();
    let o = ipamsim(&["run", s, "--quiet", "--out", "file/out"], dir.path());
    bad_input(&o, "choose another --out");
    let long = "x".repeat(300);
    let o = ipamsim(&["run", s, "--quiet", "--out", &long], dir.path());
    bad_input(&o, "choose another --out");
    let o = ipamsim(
        &["run", s, "--quiet", "--set", &format!("name={long}")],
        dir.path(),
    );
    bad_input(&o, "the most is 200");
    assert_eq!(names(dir.path()), ["file", "one.toml"]);
}

#[test]
fn newlines_in_values_and_names_stay_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for set in [
        "WARM_IP_TARGET=5\nx",
        "subnet.name=a\nb",
        "nodegroup.0.subnet=a\nb",
        "name=a\nb",
    ] {
        let o = ipamsim(&["run", "--quiet", "--set", set], dir.path());
        assert_eq!(o.status.code(), Some(2), "{set:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{set:?}: {}", stderr(&o));
    }
    assert!(names(dir.path()).is_empty());
}

#[test]
fn flag_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["run", "--seed", "-1"],
        vec!["run", "--seed", "18446744073709551616"],
        vec!["run", "--nope"],
        vec!["frobnicate"],
    ] {
        let o = ipamsim(&args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: {}", stderr(&o));
    }
}

/// A value a flag cannot take — a bad number, a number out of range, an unknown enum value,
/// a malformed spec — is one line naming the flag and the value, exit 2, before anything runs.
#[test]
fn bad_flag_values_are_one_line_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let calc = [
        "calc",
        "--subnet",
        "10.0.0.0/23",
        "--instances",
        "m5.large:1:1",
    ];
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            [&calc[..], &["--warm-eni-target", "x"]].concat(),
            "--warm-eni-target",
            "x",
        ),
        ([&calc[..], &["--max-eni", "0"]].concat(), "--max-eni", "0"),
        (
            [&calc[..], &["--host-network-ips", "1.5"]].concat(),
            "--host-network-ips",
            "1.5",
        ),
        (
            [&calc[..], &["--format", "yaml"]].concat(),
            "--format",
            "yaml",
        ),
        (
            vec![
                "calc",
                "--subnet",
                "10.0.0.0/23",
                "--instances",
                "m5.large:1",
            ],
            "--instances",
            "m5.large:1",
        ),
        (
            vec![
                "max-pods",
                "--instance-type",
                "m5.large",
                "--cni-max-eni",
                "two",
            ],
            "--cni-max-eni",
            "two",
        ),
        (
            vec![
                "max-pods",
                "--instance-type",
                "m5.large",
                "--cni-version",
                "1.x",
            ],
            "--cni-version",
            "1.x",
        ),
        (vec!["instance-types", "--format", "xml"], "--format", "xml"),
        (
            vec!["tune", "s.toml", "--objective", "cheapest"],
            "--objective",
            "cheapest",
        ),
        (vec!["tune", "s.toml", "--seeds", "0"], "--seeds", "0"),
        (
            vec!["headroom", "s.toml", "--grow", "load", "--jobs", "many"],
            "--jobs",
            "many",
        ),
        (
            vec!["sweep", "s.toml", "--vary", "WARM_IP_TARGET"],
            "--vary",
            "WARM_IP_TARGET",
        ),
        (
            vec!["sweep", "s.toml", "--vary", "A=1", "--shard", "2/2"],
            "--shard",
            "2/2",
        ),
        (vec!["run", "--seed", "x"], "--seed", "x"),
    ];
    for (args, flag, value) in cases {
        let o = ipamsim(&args, dir.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
        assert!(
            err.starts_with(&format!("error: invalid value '{value}' for '{flag} <")),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(&format!("(see ipamsim {} --help)", args[0])),
            "{err}"
        );
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    // A small language the library parses keeps its own message, which names the flag and
    // the part of the value that is wrong.
    for (args, start) in [
        (
            vec![
                "headroom",
                "s.toml",
                "--grow",
                "load",
                "--until",
                "ip_wait<=3",
            ],
            "error: --until \"ip_wait<=3\": ",
        ),
        (
            vec!["tune", "s.toml", "--constraints", "throttled<"],
            "error: --constraints \"throttled<\": ",
        ),
        (
            vec!["tune", "s.toml", "--space", "WARM_IP_TARGET=9-3"],
            "error: --space \"WARM_IP_TARGET=9-3\": ",
        ),
    ] {
        let o = ipamsim(&args, dir.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
        assert!(err.starts_with(start), "{args:?}: {err}");
        assert!(
            err.contains(&format!("(see ipamsim {} --help)", args[0])),
            "{err}"
        );
    }
    assert!(names(dir.path()).is_empty());
}
