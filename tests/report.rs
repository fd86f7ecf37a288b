//! The run output folder, from a synthetic [`RunOutput`]: every file exists, CSVs have the
//! contract's columns, SVGs are well-formed XML, the HTML page loads nothing from anywhere,
//! and identical input gives identical bytes.
//!
//! Set `IPAMSIM_KEEP_REPORT=DIR` to also write the synthetic folder to DIR for a look.

use std::fs;
use std::path::Path;

use ipamsim::ec2::Action;
use ipamsim::report::{
    self, BlockMap, BlockState, Ec2Minute, Ec2Row, NodeRow, PodWait, RunOutput, Sample, Summary,
    WaitReason, csv as rcsv,
};

/// A 6 h prefix-delegation run on a /21: pods climb for an hour and drop back (a sawtooth),
/// the subnet fragments and `InsufficientCidrBlocks` starts after 4 h.
fn synthetic() -> RunOutput {
    let duration = 6 * 3600;
    let mut timeseries = Vec::new();
    let mut icb = 0u64;
    let mut calls = 0u64;
    for i in 0..=duration / 10 {
        let t = i * 10;
        let phase = (t % 3600) as f64 / 3600.0;
        let pods = 120 + (180.0 * phase) as u64;
        let total = (pods / 16 + 2) * 16 + 16 * (t / 3600);
        let cooling = if phase < 0.05 { 30 } else { 2 };
        if t >= 4 * 3600 && t % 120 == 0 {
            icb += 1;
        }
        calls += u64::from(t % 60 == 0) * (3 + t % 7);
        timeseries.push(Sample {
            time_s: t as f64,
            pods_running: pods as u32,
            pods_waiting_ip: u32::from(t >= 4 * 3600 && phase > 0.5) * 4,
            pods_unschedulable: 0,
            assigned_ips: pods,
            warm_ips: total - pods,
            cooling_ips: cooling,
            total_ips: total,
            enis: 24,
            prefixes: total / 16,
            subnet_used: 700 + total + 24,
            subnet_free: 2043 - (700 + total + 24),
            free_prefix_blocks: 60u64.saturating_sub(t / 400),
            fragmentation_score: (40 + t / 600).min(100) as u32,
            ec2_calls: calls,
            insufficient_cidr_blocks: icb,
            nodes_ready: 12,
        });
    }
    let ec2_per_minute = (0..duration / 60)
        .filter(|m| m % 3 != 2)
        .map(|m| {
            let mut c = [0u64; 11];
            c[Action::AssignPrivateIpAddresses.index()] = 2 + m % 5;
            c[Action::UnassignPrivateIpAddresses.index()] = u64::from(m % 60 < 4) * 6;
            c[Action::DescribeNetworkInterfaces.index()] = 1;
            if m % 97 == 0 {
                c[Action::CreateNetworkInterface.index()] = 1;
                c[Action::AttachNetworkInterface.index()] = 1;
            }
            let failed = if m >= 240 { 1 + m % 3 } else { 0 };
            Ec2Minute {
                minute: m as u32,
                calls: c,
                failed,
                throttled: u64::from(m % 45 == 0 && m >= 240),
            }
        })
        .collect();
    let nodes: Vec<NodeRow> = (0..12)
        .map(|i| NodeRow {
            node: format!("general-{i}"),
            nodegroup: "general".into(),
            instance_type: "m5.large".into(),
            max_pods: 110,
            pods: 20 + i,
            enis: 2,
            secondary_ips: 0,
            prefixes: 2 + i % 3,
            total_ips: (2 + i % 3) * 16,
            assigned_ips: 20 + i,
            warm_ips: (2 + i % 3) * 16 - 20 - i,
            cooling_ips: i % 2,
            total_ips_peak: (3 + i % 3) * 16,
            ec2_calls: 100 + u64::from(i),
            ready_s: Some(1.5),
            ipamd_restarts: 0,
            launched_s: Some(0.0),
            terminated_s: None,
        })
        .collect();
    let pod_waits: Vec<PodWait> = (0..40)
        .map(|i| {
            let bound = 4.0 * 3600.0 + f64::from(i) * 137.25;
            let wait = 0.5 + f64::from(i % 9) * 3.125;
            PodWait {
                pod: format!("web-{i:03}"),
                node: format!("general-{}", i % 12),
                bound_s: bound,
                ip_s: Some(bound + wait),
                wait_s: wait,
                reason: if i % 4 == 0 {
                    WaitReason::InsufficientCidrCooldown
                } else {
                    WaitReason::NoIp
                },
            }
        })
        .collect();
    let block_map = |time_s: f64, fragmented_every: usize| BlockMap {
        subnet: "pods".into(),
        cidr: "10.0.8.0/21".parse().unwrap(),
        time_s,
        blocks: (0..128)
            .map(|i| match i {
                0 | 127 => BlockState::Reserved,
                64..=79 => BlockState::Reserved,
                _ if i % fragmented_every == 0 => BlockState::Fragmented,
                _ if i % 11 == 0 => BlockState::Full,
                _ if i < 50 => BlockState::Prefix,
                _ => BlockState::Free,
            })
            .collect(),
    };
    let ec2_calls = Action::ALL
        .iter()
        .map(|a| Ec2Row {
            action: a.name().into(),
            calls: 10 * (a.index() as u64 + 1),
            succeeded: 10 * (a.index() as u64 + 1) - u64::from(a.index() == 0) * 3,
            failed: u64::from(a.index() == 0) * 3,
            throttled: u64::from(a.index() == 0),
            insufficient_cidr_blocks: u64::from(a.index() == 0) * 2,
            insufficient_free_addresses: 0,
        })
        .collect();
    let last = timeseries.last().cloned().unwrap();
    RunOutput {
        summary: Summary {
            scenario: "prefix-m5-large".into(),
            seed: 7,
            duration_s: duration as f64,
            nodes: 12,
            pods_peak: 299,
            pods_final: last.pods_running,
            pods_unschedulable: 0,
            pods_waited_for_ip: 40,
            ip_wait_p50_s: 12.875,
            ip_wait_p99_s: 25.5,
            ip_wait_max_s: 25.5,
            assigned_ips_final: last.assigned_ips,
            warm_ips_final: last.warm_ips,
            cooling_ips_final: last.cooling_ips,
            total_ips_final: last.total_ips,
            total_ips_peak: timeseries.iter().map(|s| s.total_ips).max().unwrap(),
            enis_final: 24,
            prefixes_final: last.prefixes,
            subnet_usable: 2043,
            subnet_used_final: last.subnet_used,
            subnet_used_peak: timeseries.iter().map(|s| s.subnet_used).max().unwrap(),
            subnet_free_min: timeseries.iter().map(|s| s.subnet_free).min().unwrap(),
            free_prefix_blocks_final: last.free_prefix_blocks,
            free_prefix_blocks_min: 6,
            insufficient_cidr_blocks: icb,
            insufficient_free_addresses: 0,
            first_insufficient_cidr_s: Some(14_400.5),
            fragmentation_score_final: last.fragmentation_score,
            fragmentation_score_max: 76,
            ec2_calls: calls,
            ec2_throttled: 7,
            events: 1_234_567,
            nodes_launch_failed: 0,
            nodes_ready_final: 12,
            node_ready_p50_s: Some(1.5),
            node_ready_max_s: Some(1.5),
            nodes_launched: 0,
            nodes_terminated: 0,
            ip_waits_unseen_by_karpenter: 0,
            pods_unschedulable_after_ready: 0,
            ip_wait_p99_after_ready_s: 0.0,
        },
        nodes,
        timeseries,
        ec2_calls,
        pod_waits,
        blocks_final: vec![block_map(21_600.0, 3)],
        blocks_first_insufficient: Some(vec![block_map(14_400.5, 5)]),
        settings: vec![
            (
                "Subnet".into(),
                "10.0.8.0/21 (pods), placement random".into(),
            ),
            ("Node groups".into(), "general: 12 × m5.large".into()),
            ("ENABLE_PREFIX_DELEGATION".into(), "true".into()),
            ("WARM_PREFIX_TARGET".into(), "1".into()),
            (
                "Workloads".into(),
                "deployment web: 120 → 300 replicas, hourly".into(),
            ),
        ],
        ec2_per_minute,
        subnets: Vec::new(),
        subnet_timeseries: Vec::new(),
    }
}

const FILES: [&str; 12] = [
    "summary.csv",
    "nodes.csv",
    "timeseries.csv",
    "ec2_calls.csv",
    "pod_waits.csv",
    "subnets.csv",
    "subnet_timeseries.csv",
    "ips.svg",
    "subnet.svg",
    "ec2.svg",
    "blocks.svg",
    "report.html",
];

fn read_dir_sorted(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn assert_svg_well_formed(name: &str, text: &str) {
    let doc = roxmltree::Document::parse(text)
        .unwrap_or_else(|e| panic!("{name} is not well-formed XML: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{name}");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert!(root.attribute("viewBox").is_some(), "{name} scales");
    let title = root.first_element_child().unwrap();
    assert_eq!(title.tag_name().name(), "title", "{name} has a title first");
    assert!(
        doc.descendants().filter(|n| n.has_tag_name("text")).count() >= 5,
        "{name} has labels"
    );
    for n in doc.descendants().filter(|n| n.is_element()) {
        for a in n.attributes() {
            assert!(
                !a.value().contains("NaN") && !a.value().contains("inf"),
                "{name}: {}={}",
                a.name(),
                a.value()
            );
        }
    }
}

#[test]
fn the_folder_holds_every_file_and_they_parse() {
    let run = synthetic();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("prefix-m5-large");
    report::write_run(&out, &run).unwrap();
    if let Ok(dir) = std::env::var("IPAMSIM_KEEP_REPORT") {
        report::write_run(Path::new(&dir), &run).unwrap();
    }

    let files = read_dir_sorted(&out);
    let mut names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    names.sort();
    let mut expected = FILES.to_vec();
    expected.sort();
    assert_eq!(names, expected);

    let text = |name: &str| fs::read_to_string(out.join(name)).unwrap();
    let csv_rows = |name: &str, columns: Vec<String>| {
        let body = text(name);
        let mut r = csv::Reader::from_reader(body.as_bytes());
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, columns, "{name} columns");
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        for row in &rows {
            assert_eq!(row.len(), columns.len(), "{name}: {row:?}");
        }
        rows
    };
    let summary = csv_rows("summary.csv", rcsv::columns::<ipamsim::report::Summary>());
    assert_eq!(summary.len(), 1);
    assert_eq!(&summary[0][26], "14400.5", "first_insufficient_cidr_s");
    assert_eq!(
        csv_rows("nodes.csv", rcsv::columns::<ipamsim::report::NodeRow>()).len(),
        12
    );
    let ts = csv_rows("timeseries.csv", rcsv::columns::<ipamsim::report::Sample>());
    assert_eq!(ts.len(), run.timeseries.len());
    assert_eq!(&ts[2161 - 1][0], "21600");
    assert_eq!(
        csv_rows("ec2_calls.csv", rcsv::columns::<ipamsim::report::Ec2Row>()).len(),
        11
    );
    let waits = csv_rows("pod_waits.csv", rcsv::columns::<ipamsim::report::PodWait>());
    assert_eq!(waits.len(), 40);
    assert_eq!(&waits[1][2], "14537.25");
    let subnets = csv_rows("subnets.csv", rcsv::columns::<ipamsim::report::SubnetRow>());
    assert_eq!(subnets.len(), run.subnets.len());
    let header: Vec<String> = rcsv::SUBNET_TIMESERIES_COLUMNS.map(String::from).to_vec();
    csv_rows("subnet_timeseries.csv", header);

    for svg in ["ips.svg", "subnet.svg", "ec2.svg", "blocks.svg"] {
        let body = text(svg);
        assert_svg_well_formed(svg, &body);
        assert!(body.len() < 200_000, "{svg} is {} bytes", body.len());
    }
}

#[test]
fn the_page_is_self_contained() {
    let run = synthetic();
    let html = report::html::report_html(&run);
    // Ready nodes next to pods over time (spec/ipamd-policy.md §6.3).
    assert!(html.contains("<h2>Nodes Ready and pods</h2>"));
    assert!(html.contains("<td class=\"num\">12 of 12</td>"));
    let lower = html.to_lowercase();
    for banned in [
        "<script", "<link", "<img", "<iframe", "<object", "@import", "url(", " src=",
    ] {
        assert!(!lower.contains(banned), "report.html contains {banned}");
    }
    // The only absolute URL allowed is the SVG namespace name (an identifier, never fetched).
    let stripped = lower.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!stripped.contains("http:") && !stripped.contains("https:"));
    // Links go to the run's own files only.
    for part in lower.split("href=\"").skip(1) {
        let target = &part[..part.find('"').unwrap()];
        assert!(FILES.contains(&target), "link to {target}");
    }
    // Every inline plot is well-formed SVG.
    let mut plots = 0;
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<svg ") {
        let end = rest[start..].find("</svg>").unwrap() + start + "</svg>".len();
        assert_svg_well_formed("inline svg", &rest[start..end]);
        plots += 1;
        rest = &rest[end..];
    }
    assert_eq!(plots, 4);
    // The page calls out what matters.
    assert!(html.contains("First InsufficientCidrBlocks at 4h (14400.5 s)"));
    assert!(html.contains("Pods that waited longest for an IP"));
    assert!(
        html.contains("<td>web-008</td>"),
        "a longest wait is listed"
    );
    assert!(html.contains("ENABLE_PREFIX_DELEGATION"));
}

#[test]
fn identical_runs_give_identical_bytes() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    report::write_run(&a, &synthetic()).unwrap();
    report::write_run(&b, &synthetic()).unwrap();
    assert_eq!(read_dir_sorted(&a), read_dir_sorted(&b));

    let mut other = synthetic();
    other.timeseries[100].total_ips += 1;
    report::write_run(&b, &other).unwrap();
    assert_ne!(read_dir_sorted(&a), read_dir_sorted(&b), "the data shows");
}

#[test]
fn an_empty_run_still_renders() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("empty");
    report::write_run(&out, &RunOutput::default()).unwrap();
    for svg in ["ips.svg", "subnet.svg", "ec2.svg", "blocks.svg"] {
        let body = fs::read_to_string(out.join(svg)).unwrap();
        roxmltree::Document::parse(&body).unwrap_or_else(|e| panic!("{svg}: {e}"));
    }
}

/// A 30-minute secondary-IP run on a /16: no prefixes, no `InsufficientCidrBlocks`, a large
/// block map drawn as runs, one bar per minute.
fn short_secondary_ip_run() -> RunOutput {
    let mut run = synthetic();
    run.summary.scenario = "secondary-ip-16".into();
    run.summary.duration_s = 1800.0;
    run.summary.first_insufficient_cidr_s = None;
    run.summary.insufficient_cidr_blocks = 0;
    run.summary.ec2_throttled = 0;
    run.summary.subnet_usable = 65_531;
    run.timeseries.truncate(181);
    for s in &mut run.timeseries {
        s.insufficient_cidr_blocks = 0;
        s.prefixes = 0;
    }
    run.ec2_per_minute.retain(|m| m.minute < 30);
    for m in &mut run.ec2_per_minute {
        m.failed = 0;
        m.throttled = 0;
    }
    for n in &mut run.nodes {
        n.secondary_ips = n.total_ips;
        n.prefixes = 0;
    }
    run.blocks_first_insufficient = None;
    run.blocks_final = vec![BlockMap {
        subnet: "pods".into(),
        cidr: "10.1.0.0/16".parse().unwrap(),
        time_s: 1800.0,
        blocks: (0..4096usize)
            .map(|i| match i {
                0 | 4095 => BlockState::Reserved,
                _ if i < 40 => BlockState::Full,
                _ if i % 37 == 0 => BlockState::Fragmented,
                _ => BlockState::Free,
            })
            .collect(),
    }];
    run.pod_waits.clear();
    run
}

#[test]
fn a_short_run_on_a_large_subnet_stays_small_and_well_formed() {
    let run = short_secondary_ip_run();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("short");
    report::write_run(&out, &run).unwrap();
    if let Ok(dir) = std::env::var("IPAMSIM_KEEP_REPORT") {
        report::write_run(Path::new(&format!("{dir}-short")), &run).unwrap();
    }
    let blocks = fs::read_to_string(out.join("blocks.svg")).unwrap();
    assert_svg_well_formed("blocks.svg", &blocks);
    assert!(
        blocks.len() < 60_000,
        "blocks.svg is {} bytes",
        blocks.len()
    );
    assert!(
        blocks.contains(">10.1.240.0<"),
        "rows are labelled by address"
    );
    let ec2 = fs::read_to_string(out.join("ec2.svg")).unwrap();
    assert!(ec2.contains("EC2 API calls per minute"));
    assert!(ec2.contains("No call failed."));
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("No InsufficientCidrBlocks."));
    assert!(html.contains("No pod waited for an IP address."));
    assert!(
        !html.contains("<th class=\"num\">Prefixes</th>"),
        "an all-zero column is left out"
    );
}
