//! `ipamsim headroom` and `ipamsim tune` end to end: answers known in closed form or by
//! construction, byte-identical folders whatever `--jobs`, and one clear line (exit 2) for
//! bad input.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ipamsim::calc::steady_state::settle;
use ipamsim::scenario::Scenario;

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

fn json(path: &Path) -> serde_json::Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Every file under `dir` (relative path, bytes), sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A static deployment in secondary-IP mode, no churn, one /24: ten m5.large nodes keep 10
/// warm IPs each (WARM_IP_TARGET), and the replicas arrive at once after the pools are warm.
const STATIC: &str = r#"
name = "static-24"
seed = 1
duration = "30m"

[subnet]
cidr = "10.0.0.0/24"

[cni]
WARM_IP_TARGET = 10

[[nodegroup]]
name = "workers"
instance_type = "m5.large"
count = 10

[[workload]]
kind = "deployment"
name = "app"
steps = [ { at = "10m", replicas = 40 } ]
"#;

/// The closed form: the scheduler spreads R pods evenly (fewest pods first), each node's
/// ipamd settles where `calc`'s steady state says, and the subnet holds the sum of the
/// nodes' addresses. The largest R whose sum fits the subnet's usable addresses (and whose
/// pods all get an address) is the headroom.
fn closed_form_replicas(scenario: &Scenario) -> u64 {
    let group = &scenario.nodegroups[0];
    let t = group.instance_type;
    let nodes = u64::from(group.count);
    // EKS's max-pods formula in secondary-IP mode: ENIs × (IPv4 per ENI − 1) + 2.
    let max_pods = t.max_enis * (t.ipv4_per_eni - 1) + 2;
    let usable = 256 - 5;
    let fits = |r: u64| {
        let (q, extra) = (r / nodes, r % nodes);
        let mut used = 0;
        for n in 0..nodes {
            let pods = (q + u64::from(n < extra)) as u32;
            if pods + group.host_network_pods > max_pods {
                return false;
            }
            let s = settle(t, &scenario.cni, max_pods, pods);
            if s.pods_with_ip < pods {
                return false;
            }
            used += u64::from(s.subnet_addresses);
        }
        used <= usable
    };
    let mut r = 0;
    while fits(r + 1) {
        r += 1;
    }
    r
}

#[test]
fn headroom_of_a_static_deployment_is_the_steady_state_closed_form() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "static.toml", STATIC);
    let expected = closed_form_replicas(&Scenario::load(&path, &[]).unwrap());
    assert!(expected > 80 && expected < 270, "{expected}");
    let out = ipamsim(
        &[
            "headroom",
            "static.toml",
            "--grow",
            "workload.app.replicas",
            "--seeds",
            "2",
            "--out",
            "h",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json(&dir.path().join("h/headroom.json"));
    assert_eq!(j["answer"].as_u64(), Some(expected), "{j}");
    assert_eq!(j["first_failing"].as_u64(), Some(expected + 1));
    assert_eq!(j["start"].as_u64(), Some(40));
    assert_eq!(j["key"], "workload.app.replicas");
    assert_eq!(j["failing_criterion"], "insufficient_free_addresses=0");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("can grow from 40 to {expected}")),
        "{stdout}"
    );
    // The first failing run's report is there, and the page links it.
    assert!(dir.path().join("h/first-failing/report.html").is_file());
    let html = fs::read_to_string(dir.path().join("h/headroom.html")).unwrap();
    assert!(html.contains("href=\"first-failing/report.html\""));
    let csv = fs::read_to_string(dir.path().join("h/headroom.csv")).unwrap();
    assert!(csv.starts_with("probe,value,seed,pass,failing_criterion,scenario,seed,"));
}

#[test]
fn headroom_is_byte_identical_whatever_the_jobs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "static.toml", STATIC);
    for (jobs, out) in [("1", "one"), ("2", "two")] {
        let o = ipamsim(
            &[
                "headroom",
                "static.toml",
                "--grow",
                "nodegroup.workers.count",
                "--set",
                "workload.app.steps=[{ at = \"10m\", replicas = 120 }]",
                "--seeds",
                "2",
                "--jobs",
                jobs,
                "--out",
                out,
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (a, b) = (
        files(&dir.path().join("one")),
        files(&dir.path().join("two")),
    );
    assert!(a.len() > 3);
    assert_eq!(a, b);
}

/// Eleven pods per node, arriving after the pools have settled: a pool of exactly eleven
/// addresses (MINIMUM_IP_TARGET=11, WARM_IP_TARGET unset: ipamd holds exactly the minimum)
/// serves them at once; anything smaller starves a pod, anything else holds more.
const ELEVEN: &str = r#"
name = "eleven"
seed = 5
duration = "20m"

[subnet]
cidr = "10.0.0.0/24"

[[nodegroup]]
name = "workers"
instance_type = "m5.large"
count = 3

[[workload]]
kind = "deployment"
name = "app"
steps = [ { at = "5m", replicas = 33 } ]
"#;

#[test]
fn tune_finds_the_known_optimum_off_the_coarse_grid() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "eleven.toml", ELEVEN);
    let mut folders = Vec::new();
    for jobs in ["1", "2"] {
        let out = format!("t{jobs}");
        let o = ipamsim(
            &[
                "tune",
                "eleven.toml",
                "--seeds",
                "2",
                "--jobs",
                jobs,
                "--out",
                &out,
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            stdout.contains(
                "kubectl set env daemonset aws-node -n kube-system ENABLE_PREFIX_DELEGATION=false \
                 WARM_IP_TARGET- MINIMUM_IP_TARGET=11"
            ),
            "{stdout}"
        );
        folders.push(files(&dir.path().join(out)));
    }
    assert_eq!(folders[0], folders[1], "--jobs 1 and 2 differ");
    let j = json(&dir.path().join("t1/tune.json"));
    let w = &j["winner"];
    assert_eq!(w["ENABLE_PREFIX_DELEGATION"], false, "{j}");
    assert_eq!(w["WARM_IP_TARGET"], 0, "{j}");
    assert_eq!(w["MINIMUM_IP_TARGET"], 11, "{j}");
    assert_eq!(j["winner_figures"]["total_ips_peak"], 33.0);
    assert!(j["runner_up"].is_object());
    assert_eq!(j["objective"], "peak_ips");
    // Not a blind grid: far fewer settings than the space holds.
    let evaluated = j["evaluated"].as_u64().unwrap();
    assert!(evaluated < 400, "{evaluated}");
    assert!(dir.path().join("t1/winner/report.html").is_file());
    let html = fs::read_to_string(dir.path().join("t1/tune.html")).unwrap();
    assert!(html.contains("href=\"winner/report.html\""));
    assert!(html.contains("Pareto front"));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "static.toml", STATIC);
    let cases: [&[&str]; 11] = [
        &["headroom", "static.toml", "--grow", "subnet.cidr"],
        &[
            "headroom",
            "static.toml",
            "--grow",
            "workload.nope.replicas",
        ],
        &[
            "headroom",
            "static.toml",
            "--grow",
            "load",
            "--until",
            "ip_wait<=3",
        ],
        &[
            "headroom",
            "static.toml",
            "--grow",
            "load",
            "--until",
            "ip_wait_p99_s<=x",
        ],
        &["headroom", "static.toml", "--grow", "load", "--seeds", "0"],
        &["headroom", "missing.toml", "--grow", "load"],
        &[
            "tune",
            "static.toml",
            "--space",
            "mode=pd;WARM_PREFIX_TARGET=0;WARM_IP_TARGET=unset;MINIMUM_IP_TARGET=unset",
        ],
        &["tune", "static.toml", "--space", "WARM_IP_TARGET=9-3"],
        &["tune", "static.toml", "--objective", "cheapest"],
        &["tune", "static.toml", "--constraints", "throttled<"],
        &["tune", "static.toml", "--set", "WARM_IP_TARGET=3"],
    ];
    for args in cases {
        let o = ipamsim(args, dir.path());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    assert!(!dir.path().join("output").exists());
}

#[test]
fn growth_the_scenario_cannot_take_bounds_the_answer() {
    // With every criterion dropped, nothing fails: the node count grows until its nodes no
    // longer fit the /24 at t=0 (251 usable addresses, one primary ENI address per node).
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "static.toml", STATIC);
    let o = ipamsim(
        &[
            "headroom",
            "static.toml",
            "--grow",
            "nodegroup.workers.count",
            "--until",
            "insufficient_free_addresses=any,ip_wait_p99_after_ready_s=any,\
             insufficient_cidr_blocks=any,pods_unschedulable_after_ready=any,\
             nodes_launch_failed=any",
            "--out",
            "h",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j = json(&dir.path().join("h/headroom.json"));
    assert_eq!(j["answer"].as_u64(), Some(251), "{j}");
    assert!(j["first_failing"].is_null());
    assert!(
        j["stopped"].as_str().unwrap().contains("no free address"),
        "{j}"
    );
}
