//! Karpenter's node pools end to end (issue 10 item 3): pending pods get a node within one
//! batch, one boot and one ipamd init; consolidation gives back every address of the nodes
//! it removes; limits hold; pods waiting for an address on a Ready node launch nothing.
//! Every run here has the invariant checker on (src/invariants.rs), node removal included.

use std::collections::BTreeMap;
use std::path::Path;

use ipamsim::engine::{self, EventKind, RunOptions};
use ipamsim::karpenter::BATCH_MAX_DURATION;
use ipamsim::report::RunOutput;
use ipamsim::scenario::Scenario;
use ipamsim::time::Millis;

fn scenario(text: &str) -> Scenario {
    Scenario::from_toml(text, "karpenter-test.toml", Path::new("."), &[]).expect("valid")
}

const CHECKED: RunOptions = RunOptions {
    skip_idle_ticks: true,
    check_invariants: true,
    memo_failed_adds: true,
    engine_stats: false,
};

/// Runs with the invariant checker and the event log.
fn run(text: &str) -> (RunOutput, engine::EventLog) {
    let s = scenario(text);
    let run = engine::run_observed(&s, CHECKED, true, &mut |_| {}).expect("runs");
    (run.output, run.events.expect("events recorded"))
}

/// Longest time a pod spent pending (from `pod_unschedulable` or `pod_evicted` to its next
/// `pod_bound`), over pods bound again; and how many pods were still pending at the end.
fn longest_pending(log: &engine::EventLog, end: Millis) -> (Millis, usize) {
    let mut since: BTreeMap<u32, Millis> = BTreeMap::new();
    let mut longest = 0;
    for r in log.records() {
        let Some(pod) = r.pod else { continue };
        match r.kind {
            EventKind::PodUnschedulable | EventKind::PodEvicted => {
                since.insert(pod, r.time);
            }
            EventKind::PodBound => {
                if let Some(t) = since.remove(&pod) {
                    longest = longest.max(r.time - t);
                }
            }
            EventKind::PodDelete => {
                since.remove(&pod);
            }
            _ => {}
        }
    }
    let still = since.values().filter(|&&t| t < end).count();
    (longest, still)
}

const BURSTS: &str = r#"
name = "bursts"
seed = 3
duration = "1h"
[[subnets]]
name = "a"
cidr = "10.1.0.0/20"
[[subnets]]
name = "b"
cidr = "10.1.16.0/20"
[cni]
WARM_ENI_TARGET = 1
[[nodepool]]
name = "pool"
instance_types = ["m5.large", "m5.xlarge"]
subnets = ["a", "b"]
disruption = { consolidation_policy = "WhenEmptyOrUnderutilized", consolidate_after = "30s" }
[[workload]]
kind = "deployment"
name = "web"
steps = [
  { at = "0s", replicas = 100 },
  { at = "10m", replicas = 400 },
  { at = "25m", replicas = 60 },
  { at = "40m", replicas = 600 },
]
[[workload]]
kind = "poisson"
name = "jobs"
rate_per_min = 20
lifetime = { mean = "3m" }
"#;

#[test]
fn no_pod_stays_pending_longer_than_batch_boot_and_init() {
    let s = scenario(BURSTS);
    let boot = s.model.node_boot.millis();
    let (out, log) = run(BURSTS);
    assert!(
        out.summary.nodes_launched >= 10,
        "{}",
        out.summary.nodes_launched
    );
    assert!(
        out.summary.nodes_terminated > 0,
        "the 25m scale-down consolidates"
    );
    // ipamd's init, per node: launch to Ready less the boot.
    let init = out
        .nodes
        .iter()
        .filter_map(|n| Some(((n.ready_s? - n.launched_s?) * 1000.0).round() as Millis - boot))
        .max()
        .expect("nodes became Ready");
    assert!(init <= 5_000, "ipamd init took {init} ms");
    let (longest, still) = longest_pending(&log, s.duration);
    assert_eq!(still, 0, "pods left pending");
    assert!(
        longest <= BATCH_MAX_DURATION + boot + init,
        "a pod was pending {longest} ms > {} + {boot} + {init}",
        BATCH_MAX_DURATION
    );
    // The bound is reached: the first pods of a burst wait for a whole node start.
    assert!(longest > boot, "{longest}");
}

#[test]
fn the_node_limit_holds_and_leaves_pods_pending() {
    let text = BURSTS.replace(
        "subnets = [\"a\", \"b\"]",
        "subnets = [\"a\", \"b\"]\nlimits = { nodes = 3 }",
    );
    let s = scenario(&text);
    let (out, log) = run(&text);
    let peak = out.timeseries.iter().map(|x| x.nodes_ready).max().unwrap();
    assert!(peak <= 3, "{peak} nodes Ready with limits.nodes = 3");
    let (longest, still) = longest_pending(&log, s.duration);
    assert!(
        still > 0 || longest > BATCH_MAX_DURATION + s.model.node_boot.millis() + 5_000,
        "the limit must hold pods back (longest {longest} ms)"
    );
}

/// A burst, then nothing: every pool node goes, and the subnets come back to what they
/// were before it. A node group's node stays (as the nodes Karpenter itself runs on would):
/// its ipamd's leaked-ENI cleanup (spec/ipamd-policy.md §7.5) deletes any ENI a pool node had
/// detached but not yet deleted when its instance terminated — EC2 deletes only the ENIs
/// attached to an instance with it.
const BURST_THEN_NOTHING: &str = r#"
name = "burst"
seed = 5
duration = "100m"
[[subnets]]
name = "a"
cidr = "10.2.0.0/21"
background = { addresses = 37 }
[[subnets]]
name = "b"
cidr = "10.2.8.0/21"
[cni]
WARM_ENI_TARGET = 1
[[nodegroup]]
name = "system"
instance_type = "m5.large"
count = 1
subnet = "a"
max_pods = 2
[[nodepool]]
name = "burst"
instance_types = ["m5.xlarge"]
subnets = ["a", "b"]
disruption = { consolidation_policy = "WhenEmpty", consolidate_after = "30s" }
[[workload]]
kind = "deployment"
name = "web"
steps = [ { at = "10m", replicas = 500 }, { at = "25m", replicas = 0 } ]
"#;

#[test]
fn consolidation_returns_every_address_of_a_removed_node() {
    let (out, _) = run(BURST_THEN_NOTHING);
    let s = &out.summary;
    // Just before the burst: the background and the system node's primary and warm ENI.
    let before = out.timeseries.iter().rfind(|x| x.time_s < 600.0).unwrap();
    assert!(before.subnet_used > 37, "{}", before.subnet_used);
    assert!(
        s.subnet_used_peak > before.subnet_used + 500,
        "the burst took addresses"
    );
    assert!(s.nodes_launched >= 9, "{}", s.nodes_launched);
    assert_eq!(
        s.nodes_terminated, s.nodes_launched,
        "every empty pool node is removed"
    );
    assert_eq!(
        (s.subnet_used_final, s.enis_final, s.total_ips_final),
        (before.subnet_used, before.enis, before.total_ips),
        "used addresses back to what they were: no primary, IP or ENI of a removed node is left"
    );
    for n in out.nodes.iter().filter(|n| n.nodegroup == "burst") {
        let (Some(l), Some(t)) = (n.launched_s, n.terminated_s) else {
            panic!("{} has no launched_s/terminated_s", n.node);
        };
        assert!(t > l, "{}", n.node);
        assert_eq!((n.enis, n.total_ips), (0, 0), "{}", n.node);
        // Removed 30 s after its last pod left, and 15 s of validation.
        assert!(t >= 25.0 * 60.0 + 45.0, "{} at {t}", n.node);
    }
}

#[test]
fn when_empty_keeps_nodes_with_pods_and_underutilized_moves_them() {
    // After the scale-down to 60 pods, the remaining pods are spread over many nodes.
    let empty = BURSTS.replace("WhenEmptyOrUnderutilized", "WhenEmpty");
    let (a, _) = run(&empty);
    let (b, _) = run(BURSTS);
    let ready_at = |o: &RunOutput, t: f64| {
        o.timeseries
            .iter()
            .rfind(|x| x.time_s <= t)
            .unwrap()
            .nodes_ready
    };
    // At 39m (before the last burst): WhenEmptyOrUnderutilized packed the 60 pods and the
    // jobs onto fewer nodes than WhenEmpty could.
    let (ka, kb) = (ready_at(&a, 39.0 * 60.0), ready_at(&b, 39.0 * 60.0));
    assert!(kb < ka, "underutilized {kb} vs empty {ka}");
}

#[test]
fn pods_waiting_for_an_ip_launch_nothing() {
    // A /25 holds 123 usable addresses: enough for the nodes' primary ENIs, far too few for
    // 200 pods. Karpenter launches the nodes the pods need and no more, however long the
    // pods wait for an address on them.
    let text = r#"
name = "starved"
duration = "20m"
[[subnets]]
name = "a"
cidr = "10.3.0.0/25"
[cni]
WARM_ENI_TARGET = 1
[[nodepool]]
name = "pool"
instance_types = ["m5.xlarge"]
subnets = ["a"]
[[workload]]
kind = "deployment"
name = "web"
steps = [ { at = "0s", replicas = 200 } ]
"#;
    let s = scenario(text);
    let out = engine::run_with(&s, CHECKED).unwrap();
    assert_eq!(out.summary.nodes_launched, 4, "200 pods / 56 per m5.xlarge");
    assert!(out.summary.pods_waited_for_ip > 0);
    assert_eq!(
        out.summary.ip_waits_unseen_by_karpenter,
        out.summary.pods_waited_for_ip
    );
    assert!(out.summary.insufficient_free_addresses > 0);
    let html = ipamsim::report::html::report_html(&out);
    assert!(
        html.contains("Karpenter does not see such pods"),
        "report.html says so"
    );
    // Without node pools the column stays 0 and the report has no Karpenter section.
    let plain = engine::run(&Scenario::embedded_default(&[]).unwrap()).unwrap();
    assert_eq!(plain.summary.ip_waits_unseen_by_karpenter, 0);
    assert!(!ipamsim::report::html::report_html(&plain).contains("<h2>Karpenter</h2>"));
}

#[test]
fn runs_are_deterministic() {
    let (a, _) = run(BURSTS);
    let (b, _) = run(BURSTS);
    assert_eq!(a.summary, b.summary);
    assert_eq!(a.nodes, b.nodes);
}
