//! `sweep --shard I/N` and `merge`, as separate processes of the binary: merged shards equal
//! the unsharded sweep byte for byte; every refusal exits 2 naming the folders.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ipamsim::sweep::partial::{self, MANIFEST, MARKER, Manifest};

const SCENARIO: &str = "scenarios/warm-ip.toml";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary in the repository's folder, with no shard index in its environment.
fn ipamsim(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipamsim"));
    cmd.args(args)
        .current_dir(repo())
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit 2 with one line on stderr that contains every one of `needles`.
fn refused(out: &Output, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// 3 cells × 2 seeds = 6 runs.
fn sweep_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "sweep",
        SCENARIO,
        "--vary",
        "WARM_IP_TARGET=1,4,8",
        "--seeds",
        "2",
        "--jobs",
        "1",
    ];
    v.extend_from_slice(extra);
    v
}

/// Runs shards 0..n of the 6-run sweep into `dir`, each as its own process.
fn shards(dir: &Path, n: usize, extra: &[&str]) {
    for i in 0..n {
        let spec = format!("{i}/{n}");
        let mut args = sweep_args(&["--shard", &spec, "--out", s(dir)]);
        args.extend_from_slice(extra);
        let stdout = ok(&ipamsim(&args, &[]));
        if i >= 6 {
            assert!(stdout.contains("holds no runs"), "{stdout}");
        }
    }
}

const FILES: [&str; 3] = ["sweep.csv", "sweep.svg", "sweep.html"];

#[test]
fn merged_shards_equal_the_unsharded_sweep_byte_for_byte() {
    let root = tempfile::tempdir().unwrap();
    let whole = root.path().join("whole");
    ok(&ipamsim(&sweep_args(&["--out", s(&whole)]), &[]));
    for n in [1, 2, 3, 7] {
        let dir = root.path().join(format!("n{n}"));
        shards(&dir, n, &[]);
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut expected: Vec<String> = (0..n).map(|i| format!("shard-{i}-of-{n}")).collect();
        expected.sort();
        assert_eq!(names, expected);
        // Manifests parse and say what they hold.
        let mut held = Vec::new();
        for i in 0..n {
            let text = fs::read(dir.join(format!("shard-{i}-of-{n}")).join(MANIFEST)).unwrap();
            let m: Manifest = serde_json::from_slice(&text).unwrap();
            assert_eq!((m.shard, m.shards, m.runs_total), (i, n, 6));
            assert_eq!(m.format, partial::FORMAT);
            assert_eq!(m.ipamsim_version, env!("CARGO_PKG_VERSION"));
            assert_eq!(m.keys, ["WARM_IP_TARGET"]);
            assert_eq!(m.empty, i >= 6);
            assert!(m.runs.iter().all(|r| r % n == i));
            assert!(m.scenario_digest.starts_with("sha256:"));
            held.extend(m.runs);
        }
        held.sort_unstable();
        assert_eq!(held, [0, 1, 2, 3, 4, 5]);

        // The folder that holds the shards, and the shard folders one by one.
        let merged = root.path().join(format!("merged{n}"));
        let stdout = ok(&ipamsim(&["merge", s(&dir), "--out", s(&merged)], &[]));
        assert!(stdout.contains(&format!("merged {n} shard")), "{stdout}");
        let listed: Vec<String> = (0..n)
            .rev()
            .map(|i| s(&dir.join(format!("shard-{i}-of-{n}"))).to_string())
            .collect();
        let merged_listed = root.path().join(format!("listed{n}"));
        let mut args = vec!["merge"];
        args.extend(listed.iter().map(String::as_str));
        args.extend(["--out", s(&merged_listed)]);
        ok(&ipamsim(&args, &[]));
        for f in FILES {
            let want = fs::read(whole.join(f)).unwrap();
            assert_eq!(fs::read(merged.join(f)).unwrap(), want, "N = {n}: {f}");
            assert_eq!(
                fs::read(merged_listed.join(f)).unwrap(),
                want,
                "N = {n}: {f}"
            );
        }
    }
}

#[test]
fn a_shard_folder_is_the_same_whatever_the_threads() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    ok(&ipamsim(
        &sweep_args(&["--shard", "1/2", "--out", s(&a)]),
        &[],
    ));
    let mut args = sweep_args(&["--shard", "1/2", "--out", s(&b)]);
    args[7] = "2";
    ok(&ipamsim(&args, &[]));
    for f in [MANIFEST, partial::RUNS, MARKER] {
        let (x, y) = (
            a.join("shard-1-of-2").join(f),
            b.join("shard-1-of-2").join(f),
        );
        assert_eq!(fs::read(x).unwrap(), fs::read(y).unwrap(), "{f}");
    }
}

#[test]
fn auto_takes_the_index_from_kubernetes_or_aws_batch() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("auto");
    let args = sweep_args(&["--shard", "auto/3", "--out", s(&dir)]);
    ok(&ipamsim(&args, &[("JOB_COMPLETION_INDEX", "0")]));
    ok(&ipamsim(&args, &[("AWS_BATCH_JOB_ARRAY_INDEX", "1")]));
    ok(&ipamsim(
        &args,
        &[
            ("JOB_COMPLETION_INDEX", "2"),
            ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
        ],
    ));
    let merged = root.path().join("merged");
    ok(&ipamsim(&["merge", s(&dir), "--out", s(&merged)], &[]));

    let out = ipamsim(&args, &[]);
    refused(
        &out,
        &[
            "JOB_COMPLETION_INDEX",
            "AWS_BATCH_JOB_ARRAY_INDEX",
            "--shard I/3",
        ],
    );
    let out = ipamsim(&args, &[("JOB_COMPLETION_INDEX", "3")]);
    refused(&out, &["JOB_COMPLETION_INDEX=\"3\""]);
    for bad in ["3/3", "1", "x/2", "0/0", "auto/x"] {
        let out = ipamsim(&sweep_args(&["--shard", bad, "--out", s(&dir)]), &[]);
        refused(&out, &["--shard"]);
    }
}

/// A copy of the shard folder `from` at `to`.
fn copy(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Rewrites a shard's manifest field and its marker, as another ipamsim would have written it.
fn rewrite_manifest(dir: &Path, edit: impl Fn(&mut Manifest)) {
    let mut m: Manifest = serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
    edit(&mut m);
    let mut bytes = serde_json::to_vec_pretty(&m).unwrap();
    bytes.push(b'\n');
    fs::write(dir.join(MANIFEST), &bytes).unwrap();
    let runs = fs::read(dir.join(partial::RUNS)).unwrap();
    let sum = ipamsim::sweep::shard::sha256_hex;
    let marker = format!(
        "{}  {MANIFEST}\n{}  {}\n",
        sum(&bytes),
        sum(&runs),
        partial::RUNS
    );
    fs::write(dir.join(MARKER), marker).unwrap();
}

#[test]
fn merge_refuses_what_is_not_one_whole_sweep() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let three = r.join("three");
    shards(&three, 3, &[]);
    let shard = |i: usize| three.join(format!("shard-{i}-of-3"));
    let out = r.join("merged");
    let merge = |dirs: &[&Path]| {
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(|d| s(d)));
        args.extend(["--out", s(&out)]);
        ipamsim(&args, &[])
    };
    ok(&merge(&[&three]));

    // A missing shard.
    refused(
        &merge(&[&shard(0), &shard(2)]),
        &["shard 1 of 3 missing", s(&shard(0)), s(&shard(2))],
    );
    // The same shard twice.
    let again = r.join("again");
    copy(&shard(1), &again);
    refused(
        &merge(&[&three, &again]),
        &["both hold shard 1 of 3", s(&shard(1)), s(&again)],
    );
    // Another shard count.
    let two = r.join("two");
    shards(&two, 2, &[]);
    let two0 = two.join("shard-0-of-2");
    refused(
        &merge(&[&shard(0), &two0]),
        &["different shard counts", s(&shard(0)), s(&two0)],
    );
    // Another sweep of the same scenario (other seeds) and another scenario.
    let seeds = r.join("seeds");
    shards(&seeds, 3, &["--set", "seed=5"]);
    let seeds1 = seeds.join("shard-1-of-3");
    refused(
        &merge(&[&shard(0), &seeds1, &shard(2)]),
        &["different sweeps", s(&shard(0)), s(&seeds1)],
    );
    let other = r.join("other");
    let scenario = r.join("warm-ip-copy.toml");
    let text = fs::read_to_string(repo().join(SCENARIO)).unwrap();
    fs::write(&scenario, text.replace("count = 40", "count = 41")).unwrap();
    let mut args = sweep_args(&["--shard", "1/3", "--out", s(&other)]);
    args[1] = s(&scenario);
    ok(&ipamsim(&args, &[]));
    let other1 = other.join("shard-1-of-3");
    refused(
        &merge(&[&shard(0), &other1, &shard(2)]),
        &["different scenarios", s(&shard(0)), s(&other1)],
    );
    // The same scenario file replaying another trace.
    let replay = |dir: &Path, i: usize| {
        let spec = format!("{i}/2");
        let (scenario, shards) = (dir.join("trace-replay.toml"), dir.join("shards"));
        let args = [
            "sweep",
            s(&scenario),
            "--vary",
            "WARM_IP_TARGET=1,5",
            "--shard",
            &spec,
            "--out",
            s(&shards),
        ];
        ok(&ipamsim(&args, &[]));
        shards.join(format!("shard-{i}-of-2"))
    };
    let (ta, tb) = (r.join("trace-a"), r.join("trace-b"));
    for d in [&ta, &tb] {
        fs::create_dir_all(d.join("traces")).unwrap();
        fs::copy(
            repo().join("scenarios/trace-replay.toml"),
            d.join("trace-replay.toml"),
        )
        .unwrap();
    }
    let trace = fs::read_to_string(repo().join("scenarios/traces/pods.csv")).unwrap();
    fs::write(ta.join("traces/pods.csv"), &trace).unwrap();
    fs::write(
        tb.join("traces/pods.csv"),
        trace.replace("0,api-v1-0", "1,api-v1-0"),
    )
    .unwrap();
    let (a0, b1) = (replay(&ta, 0), replay(&tb, 1));
    refused(
        &merge(&[&a0, &b1]),
        &["different scenarios", s(&a0), s(&b1)],
    );
    ok(&merge(&[&a0, &replay(&ta, 1)]));
    // Another ipamsim version.
    let old = r.join("old");
    copy(&shard(2), &old);
    rewrite_manifest(&old, |m| m.ipamsim_version = "0.0.9".into());
    refused(
        &merge(&[&shard(0), &shard(1), &old]),
        &["different ipamsim versions", "0.0.9", s(&old)],
    );
    // All of another version than the ipamsim merging them.
    let olds: Vec<PathBuf> = (0..3).map(|i| r.join(format!("old{i}"))).collect();
    for (i, d) in olds.iter().enumerate() {
        copy(&shard(i), d);
        rewrite_manifest(d, |m| m.ipamsim_version = "0.0.9".into());
    }
    let olds: Vec<&Path> = olds.iter().map(PathBuf::as_path).collect();
    refused(&merge(&olds), &["ipamsim 0.0.9", s(olds[0])]);
    // A manifest that lists runs its shard does not hold.
    let liar = r.join("liar");
    copy(&shard(2), &liar);
    rewrite_manifest(&liar, |m| m.shard = 1);
    refused(&merge(&[&liar]), &[s(&liar), "does not list the runs"]);
    // The output folder is one of the shards.
    let one = shard(1);
    let args = ["merge", s(&three), "--out", s(&one)];
    refused(&ipamsim(&args, &[]), &["--out", s(&one)]);
    assert!(one.join(MANIFEST).is_file());
    // Not shard folders at all: a sweep's folder, an empty folder, no folder.
    let empty = r.join("empty");
    fs::create_dir(&empty).unwrap();
    for d in [out.clone(), empty, r.join("nowhere")] {
        refused(&merge(&[&d]), &[s(&d)]);
    }
}

#[test]
fn a_shard_killed_mid_way_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let dir = r.join("shards");
    shards(&dir, 3, &[]);
    let out = r.join("merged");
    let merge = |dirs: &[&Path]| {
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(|d| s(d)));
        args.extend(["--out", s(&out)]);
        ipamsim(&args, &[])
    };

    // Killed while writing: its temporary folder, without the marker, beside the others.
    let tmp = dir.join("shard-1-of-3.tmp-4242");
    copy(&dir.join("shard-1-of-3"), &tmp);
    fs::remove_file(tmp.join(MARKER)).unwrap();
    refused(&merge(&[&dir]), &["incomplete shard", s(&tmp)]);
    fs::remove_dir_all(&tmp).unwrap();
    // Copied in part: a truncated runs.csv.
    let cut = dir.join("shard-2-of-3");
    let runs = fs::read(cut.join(partial::RUNS)).unwrap();
    fs::write(cut.join(partial::RUNS), &runs[..runs.len() - 40]).unwrap();
    refused(&merge(&[&dir]), &["incomplete shard", s(&cut), "runs.csv"]);
    fs::write(cut.join(partial::RUNS), &runs).unwrap();
    ok(&merge(&[&dir]));

    // Killed for real, long before it could finish: 400 runs of about 10 ms on one thread.
    let killed = r.join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipamsim"))
        .args([
            "sweep",
            SCENARIO,
            "--vary",
            "WARM_IP_TARGET=1,2,3,4,5,6,7,8,9,10",
            "--seeds",
            "40",
            "--jobs",
            "1",
            "--shard",
            "0/1",
            "--out",
            s(&killed),
        ])
        .current_dir(repo())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the shard finished before it was killed");
    let err = refused(&merge(&[&killed]), &[s(&killed)]);
    assert!(
        [
            "no such folder",
            "not a sweep shard folder",
            "incomplete shard"
        ]
        .iter()
        .any(|m| err.contains(m)),
        "{err}"
    );
}
