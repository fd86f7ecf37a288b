//! The agent against the real [`Ec2`] and subnet allocator (default latencies, no
//! throttling at one node's rate).

use proptest::prelude::*;

use super::steady::expected_total;
use super::*;
use crate::ipamd::policy::IPS_PER_PREFIX;

fn used(n: &Node<Ec2>) -> u32 {
    n.ec2.subnets()[0].used()
}

/// §8's validation trace on the real control plane, through the public API.
#[test]
fn section_8_validation_trace_on_real_ec2() {
    let mut n = Node::real("t3.small", "", 11, "cidr = \"10.0.0.0/24\"", 3);
    n.ipamd.launch(0, &mut n.ec2).unwrap();
    assert_eq!(used(&n), 1, "the node's primary address");
    let wake_to = |n: &mut Node<Ec2>, t: Millis| {
        while n.ipamd.next_wake() <= t {
            let w = n.ipamd.next_wake();
            n.ipamd.wake(w, &mut n.ec2);
        }
    };
    wake_to(&mut n, 2_000);
    let st = n.stats(2_000);
    assert_eq!((st.enis, st.total_ips), (1, 3));
    assert_eq!(used(&n), 4);
    for pod in 1..=3 {
        n.ipamd.assign_pod(pod, 2_000).unwrap();
    }
    assert_eq!(n.ipamd.assign_pod(4, 2_000), Err(WaitReason::NoIp));
    wake_to(&mut n, 15_000);
    assert_eq!((n.stats(15_000).enis, n.stats(15_000).total_ips), (2, 6));
    assert_eq!(used(&n), 8, "+ the ENI's primary and its 3 IPs");
    n.ipamd.assign_pod(4, 15_000).unwrap();
    n.ipamd.assign_pod(5, 15_000).unwrap();
    wake_to(&mut n, 40_000);
    let st = n.stats(40_000);
    assert_eq!((st.enis, st.total_ips, st.assigned_ips), (3, 9, 5));
    assert_eq!(used(&n), 12);
    for pod in 1..=5 {
        n.ipamd.release_pod(pod, 40_000);
    }
    wake_to(&mut n, 300_000);
    let st = n.stats(300_000);
    assert_eq!(
        (st.enis, st.total_ips, st.assigned_ips, st.cooling_ips),
        (1, 3, 0, 0)
    );
    assert_eq!(used(&n), 4, "freed ENIs give their addresses back");
    // 5 init (Describe, CreateTags on the fresh primary, DescribeSubnets, Modify, Assign)
    // + 2 × 6 per new ENI + 2 × 3 per freed ENI + 1 cleanup describe (0–300 s).
    let calls = n.ec2.total_calls();
    assert!(calls == 5 + 12 + 6 || calls == 5 + 12 + 6 + 1, "{calls}");
    assert_eq!(st.ec2_calls, calls);
}

#[test]
fn seed_example_on_real_ec2() {
    let cni = "ENABLE_PREFIX_DELEGATION = true\nMINIMUM_IP_TARGET = 25\nWARM_IP_TARGET = 5";
    let mut n = Node::real("m5.large", cni, 110, "cidr = \"10.0.0.0/22\"", 4);
    n.launch(0);
    n.run_to(10_000);
    let st = n.stats(10_000);
    assert_eq!((st.enis, st.prefixes, st.total_ips), (1, 2, 32));
    assert_eq!(used(&n), 1 + 32);
    for pod in 0..25 {
        n.ipamd.assign_pod(pod, 10_000).unwrap();
    }
    n.run_to(100_000);
    assert_eq!(n.stats(100_000).total_ips, 32);
    for pod in 25..37 {
        let t = 100_000 + 10_000 * Millis::from(pod - 25);
        n.run_to(t);
        n.ipamd.assign_pod(pod, t).unwrap();
    }
    n.run_to(400_000);
    let st = n.stats(400_000);
    assert_eq!((st.enis, st.prefixes, st.total_ips), (1, 3, 48));
}

/// A /28 has 11 usable addresses: the third ENI (primary + 3 IPs) does not fit.
#[test]
fn an_exhausted_subnet_makes_pods_wait_with_the_reason() {
    let mut n = Node::real("t3.small", "", 11, "cidr = \"10.0.0.0/28\"", 5);
    n.launch(0);
    n.run_to(2_000);
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 2_000).unwrap();
    }
    n.run_to(20_000);
    for pod in 3..6 {
        n.ipamd.assign_pod(pod, 20_000).unwrap();
    }
    n.run_to(60_000);
    assert_eq!(n.stats(60_000).total_ips, 6);
    assert_eq!(
        n.ipamd.assign_pod(9, 60_000),
        Err(WaitReason::SubnetExhausted)
    );
    let c = n.ec2.counters(Action::CreateNetworkInterface);
    assert_eq!((c.calls, c.insufficient_free_addresses), (2, 1));
    // The failure came at the first check after 20 s; then 120 s of back-off.
    n.run_to(140_000);
    assert_eq!(n.ec2.counters(Action::CreateNetworkInterface).calls, 2);
    n.run_to(150_000);
    assert_eq!(n.ec2.counters(Action::CreateNetworkInterface).calls, 3);
}

/// A /26 has 2 blocks usable as prefixes (the node's address, placed lowest, sits in the
/// first block): the third prefix fails with InsufficientCidrBlocks.
#[test]
fn prefixes_run_out_before_addresses() {
    let cni = "ENABLE_PREFIX_DELEGATION = true\nWARM_PREFIX_TARGET = 1";
    let mut n = Node::real(
        "m5.large",
        cni,
        110,
        "cidr = \"10.0.0.0/26\"\nplacement = \"lowest\"",
        6,
    );
    n.launch(0);
    n.run_to(2_000);
    for pod in 0..16 {
        n.ipamd.assign_pod(pod, 2_000).unwrap();
    }
    n.run_to(30_000);
    for pod in 16..32 {
        n.ipamd.assign_pod(pod, 30_000).unwrap();
    }
    n.run_to(60_000);
    assert_eq!(n.stats(60_000).prefixes, 2);
    assert!(n.ec2.insufficient_cidr_blocks_total() >= 1);
    assert_eq!(
        n.ipamd.assign_pod(40, 60_000),
        Err(WaitReason::InsufficientCidrCooldown)
    );
    assert!(n.ec2.subnets()[0].free() > 0, "single addresses remain");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// §4.5 steady state on the real control plane (a /16, so the subnet never binds).
    #[test]
    fn a_ramped_node_on_real_ec2_settles_at_the_section_4_5_sizes(
        t in prop::sample::select(vec!["t3.medium", "m5.large", "m5.xlarge", "c5.4xlarge"]),
        pd in any::<bool>(),
        w in 1u32..3,
        targets in any::<bool>(),
        warm_ip in 1u32..20,
        min_ip in 0u32..50,
        per_mille in 0u32..1_000,
    ) {
        let (warm_ip, min_ip) = if targets { (warm_ip, min_ip) } else { (0, 0) };
        let cni = format!(
            "ENABLE_PREFIX_DELEGATION = {pd}\nWARM_ENI_TARGET = {w}\nWARM_PREFIX_TARGET = {w}\n\
             WARM_IP_TARGET = {warm_ip}\nMINIMUM_IP_TARGET = {min_ip}"
        );
        let mut node = Node::real(t, &cni, 100_000, "cidr = \"10.0.0.0/16\"", u64::from(per_mille));
        node.ipamd.pick = IpPick::FirstFit;
        let s = *node.ipamd.settings();
        let pods = (per_mille * s.max_eni * s.max_ips_per_eni() / 1_000).min(300);
        let total = expected_total(&s, pods);
        let enis = total.div_ceil(s.max_ips_per_eni()).max(1);
        if enis > s.max_eni {
            return Ok(());
        }
        let events: Vec<_> = (0..pods)
            .map(|p| (60_000 + 20_000 * Millis::from(p), PodEvent::Add(p)))
            .collect();
        let end = 60_000 + 20_000 * Millis::from(pods) + 600_000;
        drive(&mut node, &events, end);
        let st = node.stats(end);
        prop_assert_eq!(st.total_ips, total);
        prop_assert_eq!(st.enis, enis);
        prop_assert_eq!(st.assigned_ips, pods);
        // The subnet holds exactly the node's addresses: one primary per ENI plus the pool.
        let per = if s.mode == Mode::PrefixDelegation { IPS_PER_PREFIX } else { 1 };
        prop_assert_eq!(used(&node), enis + st.total_ips / per * per);
    }
}
