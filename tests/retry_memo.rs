//! kubelet's CNI ADD retries that provably fail again are parked on their node, neither
//! queued nor asking ipamd, until something could change their answer
//! (`src/cluster/memo.rs`). That is allowed only where it changes nothing: whole runs with
//! the memo must equal runs that queue every retry and ask ipamd at each, output and event
//! log alike, event count included (each due time a parked retry skipped still counts).

mod common;

use std::path::Path;

use ipamsim::engine::{EventRecord, RunOptions, run_observed};
use ipamsim::report::RunOutput;
use ipamsim::scenario::Scenario;
use proptest::prelude::*;

fn run(s: &Scenario, memo: bool) -> (RunOutput, Vec<EventRecord>) {
    // The state checker visits every node after every batch: for the small generated
    // scenarios only (tests/invariants.rs checks the shipped ones).
    let options = RunOptions {
        check_invariants: s.nodegroups.iter().map(|g| g.count).sum::<u32>() <= 10,
        memo_failed_adds: memo,
        ..RunOptions::default()
    };
    let run = run_observed(s, options, true, &mut |_| {}).expect("runs");
    let log = run.events.expect("recorded").records().to_vec();
    (run.output, log)
}

/// Runs `s` with and without the memo: identical in every respect. Returns the run.
fn same(s: &Scenario) -> RunOutput {
    let (a, log_a) = run(s, true);
    let (b, log_b) = run(s, false);
    assert_eq!(log_a.len(), log_b.len(), "event logs differ in length");
    if let Some(i) = (0..log_a.len()).find(|&i| log_a[i] != log_b[i]) {
        panic!(
            "event {i} differs: {:?} with the memo, {:?} without",
            log_a[i], log_b[i]
        );
    }
    assert_eq!(a, b);
    a
}

/// Pods that waited for an address: the runs must have retries for the proof to mean
/// anything.
fn waited(out: &RunOutput) -> u32 {
    out.summary.pods_waited_for_ip
}

#[test]
fn shipped_scenarios_are_unchanged() {
    for (name, set) in [
        ("default", &[][..]),
        ("warm-ip", &[]),
        ("sip-warm-eni", &[]),
        ("custom-networking", &[]),
        ("secondary-subnet", &[]),
        ("auto-mode", &[]),
        ("karpenter", &[]),
        ("trace-replay", &[]),
        ("scale-5k", &["duration=40m"]),
    ] {
        let out = same(&common::shipped(name, set));
        eprintln!("{name}: {} pods waited", waited(&out));
    }
}

#[allow(clippy::too_many_arguments)]
fn scenario(
    seed: u64,
    instance: &str,
    nodes: u32,
    prefix: bool,
    warm: (u32, u32, u32),
    cidr: &str,
    background: u32,
    cooldown: u32,
    replicas: (u32, u32),
    rate: u32,
    retry_ms: u32,
) -> Scenario {
    let (warm_eni, warm_ip, min_ip) = warm;
    let warm_prefix = u32::from(prefix && warm_ip == 0 && min_ip == 0);
    let text = format!(
        r#"
name = "memo"
seed = {seed}
duration = "30m"
sample_interval = "10s"
[subnet]
cidr = "{cidr}"
background = {{ addresses = {background} }}
[cni]
ENABLE_PREFIX_DELEGATION = {prefix}
WARM_ENI_TARGET = {warm_eni}
WARM_IP_TARGET = {warm_ip}
MINIMUM_IP_TARGET = {min_ip}
WARM_PREFIX_TARGET = {warm_prefix}
IP_COOLDOWN_PERIOD = {cooldown}
[model]
cni_retry = "{retry_ms}ms"
[[nodegroup]]
name = "ng"
instance_type = "{instance}"
count = {nodes}
[[nodegroup]]
name = "late"
instance_type = "{instance}"
count = 1
start = "5m"
[[workload]]
kind = "deployment"
name = "web"
steps = [ {{ at = "0s", replicas = {a} }}, {{ at = "8m", replicas = {b} }}, {{ at = "20m", replicas = {a} }} ]
[[workload]]
kind = "poisson"
name = "batch"
rate_per_min = {rate}
lifetime = {{ mean = "2m" }}
"#,
        a = replicas.0,
        b = replicas.1,
    );
    Scenario::from_toml(&text, "memo.toml", Path::new("."), &[]).expect("valid scenario")
}

/// A crowded /24 in prefix mode: `InsufficientCidrBlocks` and its 120 s back-off, cooling
/// addresses, nodes that cannot grow. Many retries, and the memo must expire at the right
/// millisecond.
#[test]
fn insufficient_cidr_blocks_and_cooling() {
    let out = same(&scenario(
        3,
        "m5.large",
        4,
        true,
        (1, 0, 0),
        "10.0.0.0/24",
        60,
        30,
        (40, 110),
        6,
        1_000,
    ));
    assert!(out.summary.insufficient_cidr_blocks > 0, "ICB expected");
    assert!(
        waited(&out) > 50,
        "pods must wait for the proof to mean anything"
    );
}

/// ipamd down while pods wait: throttled inits, restarts by the liveness probe, a retry
/// interval that is not a whole second. The memo holds across every restart.
#[test]
fn throttled_launch_with_restarts() {
    let mut s = scenario(
        9,
        "t3.medium",
        5,
        false,
        (1, 2, 6),
        "10.0.0.0/23",
        10,
        20,
        (30, 90),
        6,
        700,
    );
    s.ec2 = toml::from_str(
        r#"
[throttle]
DescribeNetworkInterfaces = { capacity = 1, refill_per_s = 0.02 }
AssignPrivateIpAddresses = { capacity = 1, refill_per_s = 0.05 }
"#,
    )
    .expect("throttle table");
    let out = same(&s);
    assert!(
        out.nodes.iter().any(|n| n.ipamd_restarts > 0),
        "some ipamd restarts"
    );
    assert!(waited(&out) > 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn remembering_failed_adds_changes_nothing(
        seed in 0u64..1_000,
        instance in prop::sample::select(vec!["t3.small", "t3.medium", "m5.large", "c5.4xlarge"]),
        nodes in 1u32..5,
        prefix in any::<bool>(),
        warm in (0u32..3, prop_oneof![Just(0u32), 1u32..10], prop_oneof![Just(0u32), 1u32..30]),
        small in any::<bool>(),
        background in 0u32..80,
        cooldown in prop_oneof![Just(0u32), 1u32..40],
        replicas in (0u32..60, 0u32..140),
        rate in 1u32..12,
        retry_ms in prop_oneof![Just(1_000u32), 100u32..3_000],
    ) {
        let cidr = if small { "10.0.0.0/24" } else { "10.0.0.0/22" };
        same(&scenario(seed, instance, nodes, prefix, warm, cidr, background, cooldown, replicas, rate, retry_ms));
    }
}
