//! End-to-end tests of `ipamsim run`: the binary on scenario files.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ipamsim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipamsim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

/// Reads a CSV into (header, rows of cells).
fn csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

const WORKED_EXAMPLE: &str = r#"
name = "worked-example"
seed = 1
duration = "20m"
sample_interval = "10s"

[subnet]
cidr = "10.0.0.0/24"
placement = "lowest"

[cni]
ENABLE_PREFIX_DELEGATION = true
MINIMUM_IP_TARGET = 25
WARM_IP_TARGET = 5

[[nodegroup]]
name = "ng"
instance_type = "m5.large"
count = 1

[[workload]]
kind = "deployment"
name = "app"
steps = [ { at = "1m", replicas = 25 }, { at = "10m", replicas = 37 } ]
"#;

#[test]
fn seed_worked_example_holds_end_to_end() {
    // spec: m5.large, PD, MINIMUM_IP_TARGET=25, WARM_IP_TARGET=5 → 2 prefixes (32 IPs) on the
    // primary ENI at start, unchanged with 25 pods, 3 prefixes / 48 IPs / 1 ENI at 37 pods.
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "w.toml", WORKED_EXAMPLE);
    let out = dir.path().join("out");
    let o = ipamsim(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (h, rows) = csv(&out.join("timeseries.csv"));
    let (t, total, prefixes, enis) = (
        column(&h, "time_s"),
        column(&h, "total_ips"),
        column(&h, "prefixes"),
        column(&h, "enis"),
    );
    let at = |s: &str| {
        rows.iter()
            .find(|r| r[t] == s)
            .unwrap_or_else(|| panic!("no sample at {s}"))
    };
    for s in ["30", "590"] {
        let r = at(s);
        assert_eq!(
            (r[total].as_str(), r[prefixes].as_str(), r[enis].as_str()),
            ("32", "2", "1"),
            "at {s} s"
        );
    }
    let (h, rows) = csv(&out.join("nodes.csv"));
    let r = &rows[0];
    assert_eq!(r[column(&h, "pods")], "37");
    assert_eq!(r[column(&h, "prefixes")], "3");
    assert_eq!(r[column(&h, "total_ips")], "48");
    assert_eq!(r[column(&h, "enis")], "1");
}

fn run_default(dir: &Path, out: &str, extra: &[&str]) -> PathBuf {
    run_default_printing(dir, out, extra).0
}

/// [`run_default`], with what the binary printed.
fn run_default_printing(dir: &Path, out: &str, extra: &[&str]) -> (PathBuf, Output) {
    let out = dir.join(out);
    let mut args = vec![
        "run",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--set",
        "duration=1h",
    ];
    args.extend_from_slice(extra);
    let o = ipamsim(&args, dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (out, o)
}

#[test]
fn same_seed_same_bytes_other_seed_other_placements() {
    let dir = tempfile::tempdir().unwrap();
    let a = run_default(dir.path(), "a", &[]);
    let b = run_default(dir.path(), "b", &[]);
    let mut names: Vec<_> = fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert!(names.iter().any(|n| n == "summary.csv"), "{names:?}");
    for n in &names {
        assert_eq!(
            fs::read(a.join(n)).unwrap(),
            fs::read(b.join(n)).unwrap(),
            "{n:?} differs between identical runs"
        );
    }
    let c = run_default(dir.path(), "c", &["--seed", "99"]);
    assert_ne!(
        fs::read(a.join("timeseries.csv")).unwrap(),
        fs::read(c.join("timeseries.csv")).unwrap(),
        "a different seed should move random placements"
    );
}

#[test]
fn summary_has_the_contract_columns_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_default(dir.path(), "o", &["--set", "duration=10m"]);
    let header = fs::read_to_string(out.join("summary.csv")).unwrap();
    let first = header.lines().next().unwrap();
    assert!(first.starts_with(
        "scenario,seed,duration_s,nodes,pods_peak,pods_final,pods_unschedulable,pods_waited_for_ip,\
ip_wait_p50_s,ip_wait_p99_s,ip_wait_max_s,assigned_ips_final,warm_ips_final,cooling_ips_final,\
total_ips_final,total_ips_peak,enis_final,prefixes_final,subnet_usable,subnet_used_final,\
subnet_used_peak,subnet_free_min,free_prefix_blocks_final,free_prefix_blocks_min,\
insufficient_cidr_blocks,insufficient_free_addresses,first_insufficient_cidr_s,\
fragmentation_score_final,fragmentation_score_max,ec2_calls,ec2_throttled,events"
    ));
    for (file, head) in [
        (
            "nodes.csv",
            "node,nodegroup,instance_type,max_pods,pods,enis,secondary_ips,prefixes,total_ips,assigned_ips,warm_ips,cooling_ips,total_ips_peak,ec2_calls,ready_s,ipamd_restarts,launched_s,terminated_s",
        ),
        (
            "timeseries.csv",
            "time_s,pods_running,pods_waiting_ip,pods_unschedulable,assigned_ips,warm_ips,cooling_ips,total_ips,enis,prefixes,subnet_used,subnet_free,free_prefix_blocks,fragmentation_score,ec2_calls,insufficient_cidr_blocks,nodes_ready",
        ),
        (
            "ec2_calls.csv",
            "action,calls,succeeded,failed,throttled,insufficient_cidr_blocks,insufficient_free_addresses",
        ),
        ("pod_waits.csv", "pod,node,bound_s,ip_s,wait_s,reason"),
    ] {
        let text = fs::read_to_string(out.join(file)).unwrap();
        assert_eq!(text.lines().next().unwrap(), head, "{file}");
    }
}

/// Each bad scenario: exit code 2, one message naming the file, no summary.csv.
#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let base = WORKED_EXAMPLE;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "syntax",
            base.replace("seed = 1", "seed = = 1"),
            "syntax.toml:",
        ),
        (
            "unknown-key",
            base.replace("seed = 1", "seed = 1\nsede = 2"),
            "sede",
        ),
        (
            "bad-cidr",
            base.replace("10.0.0.0/24", "10.0.0.1/24"),
            "10.0.0.1/24",
        ),
        (
            "unknown-type",
            base.replace("m5.large", "m5.lrage"),
            "m5.large",
        ),
        (
            "negative-duration",
            base.replace("\"20m\"", "\"-5m\""),
            "negative",
        ),
        (
            "negative-count",
            base.replace("count = 1", "count = -1"),
            "count",
        ),
        (
            "reservation-outside",
            base.replace(
                "placement = \"lowest\"",
                "reservations = [ { cidr = \"10.9.0.0/28\", type = \"prefix\" } ]",
            ),
            "10.9.0.0/28",
        ),
        (
            "missing-trace",
            format!("{base}\n[[workload]]\nkind = \"trace\"\npath = \"nope.csv\"\n"),
            "nope.csv",
        ),
    ];
    for (name, text, needle) in cases {
        let file = write(dir.path(), &format!("{name}.toml"), &text);
        let out = dir.path().join(format!("out-{name}"));
        let o = ipamsim(
            &[
                "run",
                file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(needle),
            "{name}: message should mention {needle:?}: {err}"
        );
        assert!(
            err.contains(&format!("{name}.toml")),
            "{name}: message should name the file: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(
            !out.join("summary.csv").exists(),
            "{name}: no output on bad input"
        );
    }
}

#[test]
fn events_csv_only_when_asked_and_consistent_with_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "w.toml", WORKED_EXAMPLE);
    let plain = dir.path().join("plain");
    let logged = dir.path().join("logged");
    for (out, extra) in [(&plain, None), (&logged, Some("--events"))] {
        let mut args = vec![
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        args.extend(extra);
        let o = ipamsim(&args, dir.path());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(!plain.join("events.csv").exists());
    // Recording must not change any result.
    for f in [
        "summary.csv",
        "timeseries.csv",
        "nodes.csv",
        "pod_waits.csv",
    ] {
        assert_eq!(
            fs::read(plain.join(f)).unwrap(),
            fs::read(logged.join(f)).unwrap(),
            "{f}"
        );
    }
    let (h, rows) = csv(&logged.join("events.csv"));
    assert_eq!(h, ["time_s", "event", "pod", "node", "detail"]);
    let count = |e: &str| rows.iter().filter(|r| r[1] == e).count();
    assert_eq!(count("pod_add"), 37);
    assert_eq!(
        count("pod_ip"),
        37,
        "every pod of the worked example gets an address"
    );
    let (sh, srows) = csv(&logged.join("summary.csv"));
    let waited: usize = srows[0][column(&sh, "pods_waited_for_ip")].parse().unwrap();
    assert_eq!(count("pod_ip_wait"), waited);
    // Time never runs backwards, and the pool grows from 32 to 48 addresses at some point.
    let times: Vec<f64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(
        rows.iter()
            .any(|r| r[1] == "pool" && r[4].starts_with("total_ips 32->48")),
        "{rows:?}"
    );
}

#[test]
fn node_groups_can_join_later_and_take_the_queued_pods() {
    // 1 node with room for 27 pods (29 − 2 host-network) at t=0; 60 pods; 2 more nodes at
    // 10m. Until then 33 pods are unschedulable; after, everyone runs.
    let text = r#"
name = "scale-out"
duration = "30m"
[subnet]
cidr = "10.0.0.0/24"
[[nodegroup]]
name = "base"
instance_type = "m5.large"
count = 1
max_pods = 29
[[nodegroup]]
name = "burst"
instance_type = "m5.large"
count = 2
max_pods = 29
start = "10m"
[[workload]]
kind = "deployment"
name = "app"
steps = [ { at = "1m", replicas = 60 } ]
"#;
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "s.toml", text);
    let out = dir.path().join("out");
    let o = ipamsim(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--events",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (h, rows) = csv(&out.join("timeseries.csv"));
    let at = |s: &str| rows.iter().find(|r| r[0] == s).unwrap().clone();
    let (running, unsched) = (column(&h, "pods_running"), column(&h, "pods_unschedulable"));
    assert_eq!(at("300")[unsched], "33");
    assert_eq!(at("300")[running], "27");
    assert_eq!(at("1200")[unsched], "0");
    assert_eq!(at("1200")[running], "60");
    let (sh, s) = csv(&out.join("summary.csv"));
    assert_eq!(s[0][column(&sh, "pods_unschedulable")], "33");
    assert_eq!(s[0][column(&sh, "nodes_launch_failed")], "0");
    let (_, ev) = csv(&out.join("events.csv"));
    let ready: Vec<_> = ev
        .iter()
        .filter(|r| r[1] == "node_ready")
        .map(|r| (r[0].as_str(), r[3].as_str()))
        .collect();
    // Every node becomes Ready once its first ipamd init is done: the base node soon after
    // t=0, the joiners soon after their start (10 min).
    assert_eq!(ready.len(), 3, "{ready:?}");
    assert_eq!(ready[0].1, "base-0");
    for (t, node) in &ready[1..] {
        let t: f64 = t.parse().unwrap();
        assert!(
            node.starts_with("burst-") && (600.0..610.0).contains(&t),
            "{ready:?}"
        );
    }

    // The same joining nodes in a full subnet: a /28 has 11 usable addresses; the base node
    // takes its primary and 9 secondary IPs (MINIMUM_IP_TARGET=10 on m5.large, 9 per ENI),
    // a tenant holds the last one. The joiners are counted and never ready.
    let tight = text
        .replace(
            "10.0.0.0/24\"",
            "10.0.0.0/28\"\nbackground = { addresses = 1 }",
        )
        .replace(
            "max_pods = 29\n[[nodegroup]]",
            "max_pods = 29\n[cni]\nWARM_ENI_TARGET = 0\nMINIMUM_IP_TARGET = 10\n[[nodegroup]]",
        );
    let scenario = write(dir.path(), "t.toml", &tight);
    let out = dir.path().join("tight");
    let o = ipamsim(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (sh, s) = csv(&out.join("summary.csv"));
    assert_eq!(s[0][column(&sh, "nodes_launch_failed")], "2");
}

#[test]
fn stats_count_every_event_by_kind_and_change_no_result() {
    let dir = tempfile::tempdir().unwrap();
    let plain = run_default(dir.path(), "plain", &["--events"]);
    let (out, o) = run_default_printing(dir.path(), "stats", &["--events", "--stats"]);
    for f in ["summary.csv", "timeseries.csv", "events.csv"] {
        assert_eq!(
            fs::read(plain.join(f)).unwrap(),
            fs::read(out.join(f)).unwrap(),
            "counting must not change {f}"
        );
    }
    // "engine: N events = A pod adds + D pod deletes + W ipamd wake-ups + S superseded
    // wake-ups + R kubelet CNI retries queued + P parked + O others", the queue's line, then
    // the nodes' heap blocks, then the event loop's time.
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let numbers = |line: &str| -> Vec<f64> {
        line.split(' ')
            .filter_map(|w| w.replace([',', '('], "").parse::<f64>().ok())
            .collect()
    };
    let counts = numbers(lines[0]);
    assert_eq!(counts.len(), 8, "{}", lines[0]);
    assert_eq!(counts[0], counts[1..].iter().sum::<f64>(), "{}", lines[0]);
    let (sh, srows) = csv(&out.join("summary.csv"));
    let events: f64 = srows[0][column(&sh, "events")].parse().unwrap();
    assert_eq!(counts[0], events, "the total is the summary's events");
    let (_, rows) = csv(&out.join("events.csv"));
    let logged = |e: &str| rows.iter().filter(|r| r[1] == e).count() as f64;
    assert_eq!(counts[1], logged("pod_add"));
    assert_eq!(counts[2], logged("pod_delete"));
    assert!(counts[3] > 0.0, "ipamd woke up: {}", lines[0]);
    let queue = numbers(lines[1]);
    assert!(
        lines[1].starts_with("engine: event queue: "),
        "{}",
        lines[1]
    );
    // Pops = every event but the pod adds and deletes and the parked retries, plus the
    // parking timers; a mean length of at least one.
    let (parked, timers) = (counts[6], queue[1]);
    assert!(parked > 0.0, "the default run parks retries: {}", lines[0]);
    assert_eq!(
        queue[0],
        counts[0] - counts[1] - counts[2] - parked + timers,
        "{}",
        lines[1]
    );
    assert!(queue[2] >= 1.0, "{}", lines[1]);
    // "engine: node heap blocks: P placed in their node's slab, S left to the system ...":
    // the nodes' datastores grow their tables inside their slabs (src/placement.rs, Linux).
    let blocks = numbers(lines[2]);
    assert!(
        lines[2].starts_with("engine: node heap blocks: "),
        "{}",
        lines[2]
    );
    if cfg!(target_os = "linux") {
        assert!(blocks[0] > blocks[1], "most blocks placed: {}", lines[2]);
    }
    // "engine: event loop, first event to end: W s wall, C s CPU (E events/s by CPU, R a
    // second of the N it ran)": N is every event but the parked retries, and the two rates
    // are the two counts over one time.
    let timing = numbers(lines[3]);
    assert!(
        lines[3].starts_with("engine: event loop, first event to end: "),
        "{}",
        lines[3]
    );
    assert_eq!(timing.len(), 5, "{}", lines[3]);
    let (wall, cpu, all, ran, n) = (timing[0], timing[1], timing[2], timing[3], timing[4]);
    assert_eq!(n, counts[0] - parked, "{}", lines[3]);
    // A release build runs this hour of the default in well under a millisecond: the times
    // may print as 0.000; the rates come from the unrounded time.
    assert!(wall >= 0.0 && cpu >= 0.0 && ran > 0.0, "{}", lines[3]);
    assert!(all > ran, "{}", lines[3]);
    assert!(
        ((all / ran) - counts[0] / n).abs() < 1e-3 * counts[0] / n,
        "one time for both rates: {}",
        lines[3]
    );
}
