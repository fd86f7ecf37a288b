//! Idle-tick skipping changes nothing observable ("Modelling choices" 7).

use proptest::prelude::*;

use super::*;
use crate::time::HOUR;

/// A random node configuration and pod history, from a seed.
fn scenario(seed: u64) -> (Node, Vec<(Millis, PodEvent)>) {
    let mut r = Streams::new(seed).stream("skip-scenario", 0);
    let types = [
        "t3.small",
        "t3.medium",
        "m5.large",
        "m5.xlarge",
        "c5.4xlarge",
        "m4.large",
    ];
    let t = types[r.random_range(0..types.len())];
    let mut cni = format!(
        "ENABLE_PREFIX_DELEGATION = {}\nIP_COOLDOWN_PERIOD = {}\nENABLE_SUBNET_DISCOVERY = {}\n\
         AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = {}\n",
        r.random_bool(0.5),
        [0, 30, 30, 90][r.random_range(0..4)],
        r.random_bool(0.7),
        r.random_bool(0.2),
    );
    match r.random_range(0..4) {
        0 => cni += &format!("WARM_ENI_TARGET = {}\n", r.random_range(0..3)),
        1 => cni += &format!("WARM_PREFIX_TARGET = {}\n", r.random_range(0..3)),
        2 => cni += &format!("WARM_IP_TARGET = {}\n", r.random_range(1..12)),
        _ => {
            cni += &format!(
                "WARM_IP_TARGET = {}\nMINIMUM_IP_TARGET = {}\n",
                r.random_range(0..6),
                r.random_range(1..40)
            )
        }
    }
    if r.random_bool(0.2) {
        cni += "MAX_ENI = 2\n";
    }
    let pick = ["go-map", "first-fit", "random"][r.random_range(0..3)];
    let model = format!(
        "ip_pick = \"{pick}\"\nimds_delay = \"{}ms\"",
        r.random_range(0..3_000)
    );
    let max_pods = [11, 29, 58, 110][r.random_range(0..4)];
    let mut node = Node::with(t, &cni, &model, max_pods, seed);
    if r.random_bool(0.5) {
        node.ec2.chaos = Some((seed, r.random_range(0..80)));
    }
    // Bursts and churn over three hours, with quiet stretches.
    let mut events = Vec::new();
    let mut live: Vec<u32> = Vec::new();
    let mut next_pod = 0;
    let mut now = 0;
    while now < 3 * HOUR {
        now += match r.random_range(0..10) {
            0 => r.random_range(10..40) * 60_000,
            1..=3 => r.random_range(0..5),
            _ => r.random_range(100..60_000),
        };
        let n = if r.random_bool(0.1) {
            r.random_range(2..20)
        } else {
            1
        };
        for _ in 0..n {
            if live.is_empty() || (r.random_bool(0.55) && live.len() < 80) {
                events.push((now, PodEvent::Add(next_pod)));
                live.push(next_pod);
                next_pod += 1;
            } else {
                let pod = live.swap_remove(r.random_range(0..live.len()));
                events.push((now, PodEvent::Delete(pod)));
            }
        }
    }
    (node, events)
}

fn run(seed: u64, skip: bool) -> Trace {
    let (mut node, events) = scenario(seed);
    node.ipamd.set_skip_idle_ticks(skip);
    let mut trace = drive(&mut node, &events, 3 * HOUR + 30 * 60_000);
    trace.calls = node.ec2.log.clone();
    trace
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn skipping_idle_ticks_changes_nothing_observable(seed in any::<u64>()) {
        let with = run(seed, true);
        let without = run(seed, false);
        prop_assert!(!with.calls.is_empty());
        prop_assert_eq!(&with.calls, &without.calls);
        prop_assert_eq!(&with.adds, &without.adds);
        prop_assert_eq!(&with.samples, &without.samples);
        prop_assert_eq!(&with.last_action, &without.last_action);
    }
}

/// Skipping is worth it: an idle node wakes for its leaked-ENI cleanup, not every 2.5 s.
#[test]
fn an_idle_node_sleeps() {
    let mut n = Node::new("m5.large", "", 29);
    n.launch(0);
    n.run_to(60_000);
    let mut wakes = 0;
    while n.ipamd.next_wake() <= 24 * HOUR {
        let w = n.ipamd.next_wake();
        n.ipamd.wake_with(w, &mut n.ec2);
        wakes += 1;
    }
    assert!(wakes <= 2 * 24 + 2, "{wakes}");
    let mut m = Node::new("m5.large", "", 29);
    m.ipamd.set_skip_idle_ticks(false);
    m.launch(0);
    m.run_to(60_000);
    let mut ticks = 0;
    while m.ipamd.next_wake() <= HOUR {
        let w = m.ipamd.next_wake();
        m.ipamd.wake_with(w, &mut m.ec2);
        ticks += 1;
    }
    assert!(ticks >= 1_400, "{ticks}");
}

/// A pod event pulls a skipped check back to the next tick on the grid.
#[test]
fn a_pod_event_pulls_the_next_check_back() {
    let mut n = Node::new("t3.small", "DISABLE_LEAKED_ENI_CLEANUP = true", 11);
    n.launch(0);
    n.run_to(10_000);
    assert_eq!(
        n.ipamd.next_wake(),
        Millis::MAX,
        "nothing can change without pods"
    );
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 123_456).unwrap();
    }
    // Ticks are at 3.5 s + 5k s: the first one after 123.456 s is 123.5 s.
    assert_eq!(n.ipamd.next_wake(), 123_500);
    assert!(n.ipamd.assign_pod(9, 123_456).is_err());
    assert_eq!(n.ipamd.next_wake(), 123_500);
}

/// A pod event after which the next check would find the pool within its targets costs no
/// wake-up: the check is decided idle in advance and the loop sleeps on.
#[test]
fn a_pod_event_within_the_targets_wakes_nothing() {
    let cni = "DISABLE_LEAKED_ENI_CLEANUP = true\nWARM_IP_TARGET = 2\nMINIMUM_IP_TARGET = 5";
    let mut n = Node::new("m5.large", cni, 29);
    n.launch(0);
    n.run_to(10_000);
    assert_eq!(n.ipamd.datastore().total_ips(), 5);
    assert_eq!(n.ipamd.next_wake(), Millis::MAX);
    // Five addresses, two to be kept free: three pods leave the pool as it is.
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 123_456).unwrap();
        assert_eq!(n.ipamd.next_wake(), Millis::MAX, "pod {pod}");
    }
    // A fourth leaves one: the check at the next tick grows the pool.
    n.ipamd.assign_pod(3, 123_456).unwrap();
    let tick = n.ipamd.next_wake();
    assert!((123_456..=128_456).contains(&tick), "{tick}");
}

/// A CNI call at the very millisecond of a tick comes before that tick's check when it is
/// a workload's pod event, and after it when it is anything else (a retry): then the check
/// it can change is the next one.
#[test]
fn a_call_after_the_wake_ups_of_a_tick_waits_for_the_next() {
    let run = |order| {
        let mut n = Node::new("t3.small", "DISABLE_LEAKED_ENI_CLEANUP = true", 11);
        n.launch(0);
        n.run_to(10_000);
        for pod in 0..3 {
            n.ipamd.assign_pod_ordered(pod, 123_500, order).unwrap();
        }
        n.ipamd.next_wake()
    };
    assert_eq!(run(CallOrder::BeforeWakes), 123_500);
    assert_eq!(run(CallOrder::AfterWakes), 128_500);
}
