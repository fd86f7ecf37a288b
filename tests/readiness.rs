//! Node readiness end to end (spec/ipamd-policy.md §6.3: the aws-node entrypoint's
//! `waitForIPAM` writes the CNI config only once ipamd's `nodeInit` succeeded and it serves
//! gRPC; until then kubelet keeps the node NotReady). Issue 8's acceptance check: with
//! `run --events`, no pod is ever bound to a node before that node's `ready_s` in
//! `nodes.csv`, also when EC2 throttles the launch so that inits fail and ipamd restarts.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

const THROTTLED_LAUNCH: &str = r#"
name = "throttled-launch"
seed = 4
duration = "20m"
[subnet]
cidr = "10.0.0.0/20"
[cni]
WARM_ENI_TARGET = 1
[ec2.throttle]
DescribeNetworkInterfaces = { capacity = 5, refill_per_s = 0.5 }
CreateTags = { capacity = 5, refill_per_s = 1 }
AssignPrivateIpAddresses = { capacity = 5, refill_per_s = 1 }
[[nodegroup]]
name = "ng"
instance_type = "m5.large"
count = 30
[[nodegroup]]
name = "late"
instance_type = "m5.large"
count = 3
start = "5m"
[[workload]]
kind = "deployment"
name = "web"
steps = [ { at = "0s", replicas = 300 }, { at = "10m", replicas = 500 } ]
[[workload]]
kind = "poisson"
name = "batch"
rate_per_min = 30
lifetime = { mean = "2m" }
"#;

fn rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    (
        header,
        lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect(),
    )
}

fn col(h: &[String], name: &str) -> usize {
    h.iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// Runs `scenario` with `--events` and checks every `pod_bound` against `ready_s`; returns
/// (pods bound, ipamd restarts, nodes never Ready).
fn bound_only_to_ready_nodes(name: &str, scenario: &str) -> (usize, u64, usize) {
    let dir = std::env::temp_dir().join(format!("ipamsim-readiness-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join("s.toml");
    fs::write(&file, scenario).unwrap();
    let out = dir.join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_ipamsim"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--events",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .expect("the binary runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let (h, nodes) = rows(&out.join("nodes.csv"));
    let (node, ready, restarts) = (
        col(&h, "node"),
        col(&h, "ready_s"),
        col(&h, "ipamd_restarts"),
    );
    let ready_s: BTreeMap<String, Option<f64>> = nodes
        .iter()
        .map(|r| (r[node].clone(), r[ready].parse::<f64>().ok()))
        .collect();
    let (h, events) = rows(&out.join("events.csv"));
    let (time, event, enode) = (col(&h, "time_s"), col(&h, "event"), col(&h, "node"));
    let mut bound = 0;
    for e in events.iter().filter(|e| e[event] == "pod_bound") {
        let t: f64 = e[time].parse().unwrap();
        let r =
            ready_s[&e[enode]].unwrap_or_else(|| panic!("pod bound to never-Ready {}", e[enode]));
        assert!(t >= r, "pod bound to {} at {t} s, Ready at {r} s", e[enode]);
        bound += 1;
    }
    // Every node_ready event matches nodes.csv.
    for e in events.iter().filter(|e| e[event] == "node_ready") {
        assert_eq!(ready_s[&e[enode]], Some(e[time].parse().unwrap()));
    }
    let restarts_total = nodes
        .iter()
        .map(|r| r[restarts].parse::<u64>().unwrap())
        .sum();
    let never = ready_s.values().filter(|r| r.is_none()).count();
    let _ = fs::remove_dir_all(&dir);
    (bound, restarts_total, never)
}

#[test]
fn no_pod_is_bound_before_its_node_is_ready_even_when_inits_fail() {
    let (bound, restarts, never) = bound_only_to_ready_nodes("throttled", THROTTLED_LAUNCH);
    assert!(bound > 300, "{bound}");
    assert!(
        restarts > 0,
        "the throttled launch makes inits fail and restart"
    );
    assert_eq!(never, 0, "all nodes become Ready within 20 min");
}

#[test]
fn no_pod_is_bound_before_its_node_is_ready_in_the_shipped_scenarios() {
    for name in ["default", "sip-warm-eni", "warm-ip", "custom-networking"] {
        let text = fs::read_to_string(format!("scenarios/{name}.toml")).unwrap();
        let (bound, _, never) = bound_only_to_ready_nodes(name, &text);
        assert!(bound > 0, "{name}");
        assert_eq!(never, 0, "{name}");
    }
}
