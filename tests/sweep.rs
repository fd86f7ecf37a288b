//! Sweep outputs from a synthetic set of runs (the engine is not needed to check the files):
//! one `sweep.csv` row per cell × seed, well-formed `sweep.svg`, a self-contained
//! `sweep.html` that names the recommended setting.
//!
//! Set `IPAMSIM_KEEP_SWEEP=DIR` to also write the synthetic sweep folder to DIR for a look.

use std::fs;
use std::path::Path;

use ipamsim::report::Summary;
use ipamsim::report::comparison::SweepRun;
use ipamsim::sweep::{self, Plan, Vary};

/// A made-up but plausible response surface: more warm IPs, fewer waits and calls.
fn fake_run(keys: &[String], values: &[String], seed: u64) -> SweepRun {
    let get = |k: &str| {
        keys.iter()
            .position(|x| x == k)
            .map_or(0.0, |i| values[i].parse::<f64>().unwrap())
    };
    let (warm, min) = (get("WARM_IP_TARGET"), get("MINIMUM_IP_TARGET"));
    let jitter = (seed % 3) as f64;
    let nodes = 5.0;
    let pods = 150.0;
    let held = pods + nodes * warm.max((min - pods / nodes).max(0.0)) + 3.0 * jitter;
    let p99 = if warm == 0.0 && min == 0.0 {
        0.4
    } else {
        (6.0 / (1.0 + warm)) + 0.3 * jitter
    };
    let calls = 400.0 + 2000.0 / (1.0 + warm) + 10.0 * jitter;
    SweepRun {
        values: values.to_vec(),
        summary: Summary {
            scenario: "five-nodes".into(),
            seed,
            duration_s: 1800.0,
            nodes: 5,
            total_ips_peak: held as u64,
            ip_wait_p99_s: (p99 * 1000.0).round() / 1000.0,
            ec2_calls: calls as u64,
            ec2_throttled: if warm == 1.0 { 12 + seed } else { 0 },
            insufficient_cidr_blocks: 0,
            ..Summary::default()
        },
    }
}

fn synthetic(seeds: u32) -> (Plan, Vec<SweepRun>) {
    let varies: Vec<Vary> = ["WARM_IP_TARGET=1,3,5,10", "MINIMUM_IP_TARGET=0,10,30"]
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    let plan = Plan::new(&varies, &[], 42, seeds).unwrap();
    let runs = plan
        .jobs()
        .iter()
        .map(|j| fake_run(&plan.keys, &plan.cells[j.cell], j.seed))
        .collect();
    (plan, runs)
}

#[test]
fn sweep_folder_has_a_row_per_cell_and_seed() {
    let (plan, runs) = synthetic(3);
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("five-nodes-sweep");
    sweep::write_sweep(&out, "five-nodes", &plan.keys, &runs).unwrap();
    if let Ok(dir) = std::env::var("IPAMSIM_KEEP_SWEEP") {
        sweep::write_sweep(Path::new(&dir), "five-nodes", &plan.keys, &runs).unwrap();
    }

    let text = fs::read_to_string(out.join("sweep.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[..3],
        ["WARM_IP_TARGET", "MINIMUM_IP_TARGET", "scenario"]
    );
    assert_eq!(
        header.len(),
        2 + ipamsim::report::csv::columns::<ipamsim::report::Summary>().len()
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4 * 3 * 3, "cells × seeds");
    assert_eq!(&rows[0][0], "1");
    assert_eq!(&rows[0][1], "0");
    assert_eq!(&rows[0][3], "42", "seed");
    assert_eq!(&rows[2][3], "44");
    assert_eq!(
        &rows[3][1], "10",
        "the last key changes fastest after the seeds"
    );

    let svg = fs::read_to_string(out.join("sweep.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");

    let html = fs::read_to_string(out.join("sweep.html")).unwrap();
    let lower = html.to_lowercase();
    for banned in ["<script", "<link", "<img", "@import", "url(", " src="] {
        assert!(!lower.contains(banned), "sweep.html contains {banned}");
    }
    let stripped = lower.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!stripped.contains("http:") && !stripped.contains("https:"));
    assert!(html.contains("Fewest IPs without slowing pods or troubling EC2"));
}

#[test]
fn sweep_files_are_a_pure_function_of_the_runs() {
    let (plan, runs) = synthetic(2);
    let a = sweep::render_sweep("five-nodes", &plan.keys, &runs);
    let b = sweep::render_sweep("five-nodes", &plan.keys, &runs);
    assert_eq!(a, b);
}

/// A stand-in engine: a summary computed from the settings and seed the sweep hands it.
fn fake_engine(
    s: &ipamsim::scenario::Scenario,
) -> Result<ipamsim::report::RunOutput, ipamsim::Error> {
    // Enough arithmetic that runs take measurable time, deterministic in (settings, seed).
    let mut x = s.seed;
    for _ in 0..20_000 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    let warm = s.cni.warm_ip_target as u64;
    Ok(ipamsim::report::RunOutput {
        summary: Summary {
            scenario: s.name.clone(),
            seed: s.seed,
            nodes: s.node_count(),
            total_ips_peak: 500 + 14 * warm + x % 7,
            ip_wait_p99_s: 10.0 / (1.0 + warm as f64),
            ec2_calls: 1000 - 20 * warm + x % 11,
            events: x % 1000,
            ..Summary::default()
        },
        ..Default::default()
    })
}

#[test]
fn a_sweep_has_product_times_seeds_rows_and_does_not_depend_on_jobs() {
    let text = ipamsim::scenario::ScenarioText::embedded();
    let varies: Vec<Vary> = [
        "WARM_IP_TARGET=2,4,8",
        "ENABLE_PREFIX_DELEGATION=false,true",
    ]
    .iter()
    .map(|v| v.parse().unwrap())
    .collect();
    let sets = vec!["duration=30m".to_string()];
    let one = sweep::sweep(&text, &sets, &varies, 2, 1, false, fake_engine).unwrap();
    let two = sweep::sweep(&text, &sets, &varies, 2, 2, false, fake_engine).unwrap();
    assert_eq!(one.runs.len(), 3 * 2 * 2);
    assert_eq!(one.name, "default");
    let csv_one = ipamsim::report::comparison::sweep_csv(&one.keys, &one.runs);
    let csv_two = ipamsim::report::comparison::sweep_csv(&two.keys, &two.runs);
    assert_eq!(
        csv_one, csv_two,
        "--jobs 1 and --jobs 2 give the same sweep.csv"
    );
    // Seeds follow the scenario's seed (7); each cell sees the same seeds.
    let seeds: Vec<u64> = one.runs.iter().map(|r| r.summary.seed).collect();
    assert_eq!(seeds, [7, 8].repeat(6));
    // The cell's values reached the scenario.
    assert!(
        (528..535).contains(&one.runs[0].summary.total_ips_peak),
        "WARM_IP_TARGET=2"
    );
    assert!(
        (612..619).contains(&one.runs[11].summary.total_ips_peak),
        "WARM_IP_TARGET=8"
    );
    assert_eq!(one.runs[4].values, ["4", "false"]);
    assert!(one.runs[4].summary.ec2_calls < one.runs[0].summary.ec2_calls);
}

#[test]
fn a_bad_cell_fails_before_anything_runs_and_names_the_cell() {
    let text = ipamsim::scenario::ScenarioText::embedded();
    let varies: Vec<Vary> = vec!["WARM_IP_TARGET=2,-1".parse().unwrap()];
    let ran = std::sync::atomic::AtomicUsize::new(0);
    let err = sweep::sweep(&text, &[], &varies, 1, 2, false, |s| {
        ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        fake_engine(s)
    })
    .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().starts_with("--vary WARM_IP_TARGET=-1: "),
        "{err}"
    );
    assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// `ipamsim sweep` end to end on a small scenario, with `--jobs 1` and `--jobs 2`.
fn run_binary(out: &Path, jobs: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ipamsim"))
        .args([
            "sweep",
            concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/warm-ip.toml"),
            "--set",
            "nodegroup.workers.count=5",
            "--set",
            "duration=30m",
            "--set",
            "workload.api.steps=[{at=\"0s\",replicas=60},{at=\"10m\",replicas=150}]",
            "--vary",
            "WARM_IP_TARGET=2,5",
            "--vary",
            "MINIMUM_IP_TARGET=0,30",
            "--seeds",
            "2",
            "--jobs",
            jobs,
            "--out",
        ])
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn the_sweep_command_writes_the_same_files_whatever_the_jobs() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("one"), root.path().join("two"));
    let out = run_binary(&a, "1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("8 runs (4 cells × 2 seeds)"), "{stdout}");
    let out = run_binary(&b, "2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in ["sweep.csv", "sweep.svg", "sweep.html"] {
        assert_eq!(
            fs::read(a.join(file)).unwrap(),
            fs::read(b.join(file)).unwrap(),
            "{file} differs between --jobs 1 and --jobs 2"
        );
    }
    let csv = fs::read_to_string(a.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 2 * 2);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("2,0,warm-ip,11,1800,5,")
    );
}

#[test]
fn the_sweep_command_rejects_bad_input_with_exit_2() {
    let root = tempfile::tempdir().unwrap();
    for args in [
        vec!["--vary", "WARM_IP_TARGET"],
        vec!["--vary", "WARM_IP_TARGET=1,1"],
        vec!["--vary", "WARM_IP_TARGET=1,-3"],
        vec!["--vary", "NO_SUCH_KEY=1,2"],
        vec!["--vary", "WARM_IP_TARGET=1", "--jobs", "0"],
        vec!["--vary", "WARM_IP_TARGET=1", "--seeds", "0"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipamsim"))
            .arg("sweep")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scenarios/warm-ip.toml"
            ))
            .args(&args)
            .arg("--out")
            .arg(root.path().join("x"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    }
    assert!(
        !root.path().join("x").exists(),
        "nothing is written on bad input"
    );
}
