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
        2 + ipamsim::report::csv::SUMMARY_COLUMNS.len()
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
