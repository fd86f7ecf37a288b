use super::*;
use Action::*;

const NEW_ENI: [Action; 6] = [
    DescribeSubnets,
    CreateNetworkInterface,
    DescribeInstances,
    AttachNetworkInterface,
    ModifyNetworkInterfaceAttribute,
    DescribeSubnets,
];
const FREE_ENI: [Action; 3] = [
    DescribeNetworkInterfaces,
    DetachNetworkInterface,
    DeleteNetworkInterface,
];

/// §8's validation trace: t3.small, SIP, WARM_ENI_TARGET = 1, fresh node (max pods 11).
fn validation_trace(skip: bool) {
    let mut n = Node::new("t3.small", "DISABLE_LEAKED_ENI_CLEANUP = true", 11);
    n.ipamd.set_skip_idle_ticks(skip);
    n.launch(0);
    // 1. Init: DescribeNetworkInterfaces (0.2 s), setupENI's DescribeSubnets (0.1 s), Modify
    //    (0.2 s), pre-scale Assign(3) (0.5 s).
    n.run_to(1_000);
    assert_eq!(
        n.ec2.actions(0, 1_100),
        [
            DescribeNetworkInterfaces,
            DescribeSubnets,
            ModifyNetworkInterfaceAttribute,
            AssignPrivateIpAddresses
        ]
    );
    let st = n.stats(1_000);
    assert_eq!((st.enis, st.total_ips, st.secondary_ips), (1, 3, 3));
    // 2. The loop's first check is 2.5 s after init (phase 0): 3.5 s.
    assert_eq!(n.ipamd.next_wake(), 3_500);
    // 3. Five pods at once: three get addresses, two wait.
    n.before(2_000);
    for pod in 1..=3 {
        assert!(n.ipamd.assign_pod(pod, 2_000).is_ok());
    }
    for pod in 4..=5 {
        assert_eq!(n.ipamd.assign_pod(pod, 2_000), Err(WaitReason::NoIp));
    }
    // 4. Check at 3.5 s: primary full ⇒ one new ENI with 3 IPs, six calls + 1 s IMDS wait.
    n.run_to(3_500);
    n.before(11_100);
    assert_eq!(n.ec2.actions(3_500, 11_100), NEW_ENI);
    assert_eq!(
        n.stats(11_099).total_ips,
        3,
        "results apply when the calls complete"
    );
    n.run_to(11_100);
    assert_eq!(n.stats(11_100).total_ips, 6);
    assert!(n.ipamd.assign_pod(4, 11_500).is_ok());
    assert!(n.ipamd.assign_pod(5, 11_500).is_ok());
    // 5. Check at 16.1 s: 1 available < 3 ⇒ third ENI; total 9 = maxENI · M.
    n.run_to(30_000);
    assert_eq!(n.ec2.actions(16_100, 23_700), NEW_ENI);
    let st = n.stats(30_000);
    assert_eq!((st.enis, st.total_ips, st.assigned_ips), (3, 9, 5));
    let calls = n.ec2.log.len();
    // Further checks: pool still "low" but no room for an ENI: nothing happens.
    n.before(40_000);
    assert_eq!(n.ec2.log.len(), calls);
    assert!(n.ipamd.assign_pod(6, 40_000).is_ok());
    for pod in 7..=9 {
        n.ipamd.assign_pod(pod, 40_000).unwrap();
    }
    assert_eq!(n.ipamd.assign_pod(10, 40_000), Err(WaitReason::EniLimit));
    // 6. All pods deleted at 41 s: cool for 30 s; ENIs must be 60 s old.
    for pod in 1..=9 {
        n.ipamd.release_pod(pod, 41_000);
    }
    assert_eq!(n.stats(41_000).cooling_ips, 9);
    assert_eq!(n.stats(71_001).cooling_ips, 0);
    n.run_to(200_000);
    let frees: Vec<_> = n.ec2.log[calls..].iter().map(|c| (c.0, c.1)).collect();
    assert_eq!(frees.len(), 6, "{frees:?}");
    assert_eq!(frees.iter().map(|c| c.1).collect::<Vec<_>>()[..3], FREE_ENI);
    // Checks run at 23.7 s + 5k s. The first ENI (created 11.1 s) goes at the first check
    // after its addresses cooled (71.001 s).
    assert_eq!(frees[0].0, 73_700);
    // Describe 0.2 s, detach 2 s, the 2 s sleep: delete at +4.2 s, done at 78.4 s.
    assert_eq!(frees[2].0, 77_900);
    // Next check 83.4 s: the other ENI (created 23.7 s) is 59.7 s old; at 88.4 s avail
    // 6 ≥ (1+1)·3 frees it.
    assert_eq!(frees[3], (88_400, DescribeNetworkInterfaces));
    let st = n.stats(200_000);
    assert_eq!((st.enis, st.total_ips, st.assigned_ips), (1, 3, 0));
    // No IP-level shrink in this mode.
    assert_eq!(n.ec2.calls(UnassignPrivateIpAddresses), 0);
    assert_eq!(st.total_ips_peak, 9);
    assert_eq!(st.ec2_calls as usize, n.ec2.log.len());
}

#[test]
fn section_8_validation_trace_tick_by_tick() {
    validation_trace(false);
}

#[test]
fn section_8_validation_trace_with_idle_skipping() {
    validation_trace(true);
}

/// The seed's example: m5.large, PD, MINIMUM_IP_TARGET = 25, WARM_IP_TARGET = 5.
#[test]
fn seed_example_prefix_delegation_with_ip_targets() {
    let cni = "ENABLE_PREFIX_DELEGATION = true\nMINIMUM_IP_TARGET = 25\nWARM_IP_TARGET = 5";
    let mut n = Node::new("m5.large", cni, 110);
    n.launch(0);
    n.run_to(60_000);
    let st = n.stats(60_000);
    assert_eq!((st.enis, st.prefixes, st.total_ips), (1, 2, 32));
    assert_eq!(
        n.ec2.calls(AssignPrivateIpAddresses),
        1,
        "both prefixes in one call"
    );
    for pod in 0..25 {
        n.ipamd.assign_pod(pod, 60_000).unwrap();
    }
    n.run_to(200_000);
    assert_eq!(n.stats(200_000).total_ips, 32, "unchanged with 25 pods");
    assert_eq!(n.ec2.calls(AssignPrivateIpAddresses), 1);
    // Scale to 37 pods, one every 10 s.
    for pod in 25..37 {
        let t = 200_000 + 10_000 * u64::from(pod - 25);
        n.run_to(t);
        n.ipamd.assign_pod(pod, t).unwrap();
    }
    n.run_to(400_000);
    let st = n.stats(400_000);
    assert_eq!(
        (st.enis, st.prefixes, st.total_ips, st.assigned_ips),
        (1, 3, 48, 37)
    );
}

#[test]
fn custom_networking_puts_pods_on_a_secondary_eni_in_the_pod_subnet() {
    let cni = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true";
    let mut n = Node::new("m5.large", cni, 110);
    n.launch(0);
    n.run_to(30_000);
    // No ModifyNetworkInterfaceAttribute(Groups) at init, no DescribeSubnets before create
    // (only setupENI's exclusion checks, at init and for the new ENI).
    assert_eq!(
        n.ec2.actions(0, 30_000),
        [
            DescribeNetworkInterfaces,
            DescribeSubnets,
            CreateNetworkInterface,
            DescribeInstances,
            AttachNetworkInterface,
            ModifyNetworkInterfaceAttribute,
            DescribeSubnets,
        ]
    );
    let st = n.stats(30_000);
    assert_eq!((st.enis, st.total_ips), (2, 9));
    let addr = n.ipamd.assign_pod(1, 30_000).unwrap();
    assert!(
        (0x0a10_0000..0x0a18_0000).contains(&addr),
        "pod subnet: {addr:#x}"
    );
    let primary = n.ipamd.datastore().enis().find(|e| e.is_primary()).unwrap();
    assert_eq!(primary.cidr_count(), 0);
}

#[test]
fn without_subnet_discovery_a_new_eni_costs_five_calls() {
    let cni = "ENABLE_SUBNET_DISCOVERY = false\nDISABLE_LEAKED_ENI_CLEANUP = true";
    let mut n = Node::new("t3.small", cni, 11);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 1_000).unwrap();
    }
    n.run_to(20_000);
    assert_eq!(n.ec2.actions(3_400, 20_000), NEW_ENI[..5]);
}

#[test]
fn warm_ip_target_shrinks_by_the_surplus_at_most_every_30_s() {
    let cni = "WARM_IP_TARGET = 2\nDISABLE_LEAKED_ENI_CLEANUP = true";
    let mut n = Node::new("m5.large", cni, 110);
    n.launch(0);
    n.run_to(1_000);
    assert_eq!(n.stats(1_000).total_ips, 2);
    for pod in 0..6 {
        n.ipamd.assign_pod(pod, 2_000 + u64::from(pod)).ok();
        n.run_to(2_000 + 10_000 * u64::from(pod + 1));
    }
    assert_eq!(n.stats(70_000).total_ips, 8);
    for pod in 0..6 {
        n.ipamd.release_pod(pod, 70_000);
    }
    n.run_to(200_000);
    // Over by 6: one shrink unassigns all six (cooling ones included) in one call.
    let unassigns: Vec<_> = n
        .ec2
        .log
        .iter()
        .filter(|c| c.1 == UnassignPrivateIpAddresses)
        .collect();
    assert_eq!(unassigns.len(), 1);
    assert_eq!(n.stats(200_000).total_ips, 2);
}

#[test]
fn insufficient_addresses_on_assign_back_off_120_s_without_discovery() {
    let cni =
        "ENABLE_SUBNET_DISCOVERY = false\nWARM_IP_TARGET = 3\nDISABLE_LEAKED_ENI_CLEANUP = true";
    let mut n = Node::new("m5.large", cni, 110);
    n.launch(0);
    n.run_to(1_000);
    assert_eq!(n.stats(1_000).total_ips, 3);
    n.ec2.always_fail.push((
        AssignPrivateIpAddresses,
        Ec2Error::InsufficientFreeAddressesInSubnet,
    ));
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 1_000).unwrap();
    }
    n.run_to(5_000);
    // Assign(3) fails, the one-IP retry fails: back-off starts when the retry ends (4.4 s).
    assert_eq!(n.ec2.actions(3_400, 5_000), [AssignPrivateIpAddresses; 2]);
    assert_eq!(
        n.ipamd.assign_pod(9, 5_000),
        Err(WaitReason::SubnetExhausted)
    );
    // Checks every 5 s from 9.4 s; at 124.4 s it is exactly 120 s: still backing off.
    n.run_to(129_000);
    assert_eq!(
        n.ec2.calls(AssignPrivateIpAddresses),
        3,
        "no growth during 120 s"
    );
    n.run_to(130_000);
    assert_eq!(n.ec2.calls(AssignPrivateIpAddresses), 5);
    assert_eq!(
        n.ec2.actions(129_400, 130_000),
        [AssignPrivateIpAddresses; 2]
    );
}

#[test]
fn insufficient_addresses_with_discovery_skip_to_a_new_eni() {
    let cni = "WARM_IP_TARGET = 3\nDISABLE_LEAKED_ENI_CLEANUP = true";
    let mut n = Node::new("m5.large", cni, 110);
    n.launch(0);
    n.run_to(1_000);
    n.ec2.failures.push_back((
        AssignPrivateIpAddresses,
        Ec2Error::InsufficientFreeAddressesInSubnet,
    ));
    n.ec2.failures.push_back((
        AssignPrivateIpAddresses,
        Ec2Error::InsufficientFreeAddressesInSubnet,
    ));
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 1_000).unwrap();
    }
    n.run_to(20_000);
    let mut want = vec![AssignPrivateIpAddresses; 2];
    want.extend(NEW_ENI);
    assert_eq!(n.ec2.actions(3_400, 20_000), want);
    assert_eq!(n.stats(20_000).enis, 2);
}

#[test]
fn insufficient_cidr_blocks_on_create_sets_the_back_off() {
    let cni = "ENABLE_PREFIX_DELEGATION = true\nMAX_ENI = 2\nDISABLE_LEAKED_ENI_CLEANUP = true";
    let mut n = Node::new("t3.small", cni, 110);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..16 {
        n.ipamd.assign_pod(pod, 1_000).unwrap();
    }
    n.run_to(4_000); // second prefix at the 3.4 s check
    for pod in 16..32 {
        n.ipamd.assign_pod(pod, 10_000).unwrap();
    }
    n.run_to(20_000); // third prefix: the primary ENI is full (Pmax = 3)
    for pod in 32..48 {
        n.ipamd.assign_pod(pod, 20_000).unwrap();
    }
    n.ec2
        .always_fail
        .push((CreateNetworkInterface, Ec2Error::InsufficientCidrBlocks));
    n.run_to(60_000);
    assert_eq!(n.stats(60_000).prefixes, 3);
    assert_eq!(
        n.ec2.calls(CreateNetworkInterface),
        1,
        "then 120 s of back-off"
    );
    assert_eq!(
        n.ipamd.assign_pod(99, 60_000),
        Err(WaitReason::InsufficientCidrCooldown)
    );
}

#[test]
fn limit_exceeded_resyncs_from_ec2_and_counts_as_growth() {
    let cni = "WARM_IP_TARGET = 2\nDISABLE_LEAKED_ENI_CLEANUP = true";
    let mut n = Node::new("m5.large", cni, 110);
    n.launch(0);
    n.run_to(1_000);
    n.ec2.failures.push_back((
        AssignPrivateIpAddresses,
        Ec2Error::PrivateIpAddressLimitExceeded,
    ));
    n.ipamd.assign_pod(1, 1_000).unwrap();
    n.run_to(5_000);
    assert_eq!(
        n.ec2.actions(3_400, 5_000),
        [AssignPrivateIpAddresses, DescribeNetworkInterfaces]
    );
}

#[test]
fn a_failed_detach_leaves_the_eni_attached_until_reconcile_adopts_it() {
    let mut n = Node::new("t3.small", "DISABLE_LEAKED_ENI_CLEANUP = true", 11);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..6 {
        n.ipamd
            .assign_pod(pod, 1_000 + 11_000 * u64::from(pod / 3))
            .ok();
        n.run_to(1_000 + 11_000 * u64::from(pod / 3));
    }
    n.run_to(40_000);
    assert_eq!(n.stats(40_000).enis, 3);
    for pod in 0..6 {
        n.ipamd.release_pod(pod, 40_000);
    }
    for _ in 0..12 {
        n.ec2
            .failures
            .push_back((DetachNetworkInterface, Ec2Error::RequestLimitExceeded));
    }
    // 12 tries, backing off 0.2 s · 2^k (capped at 60 s) between them: about 250 s.
    let failed = |n: &Node| -> Vec<Millis> {
        let d = n
            .ec2
            .log
            .iter()
            .filter(|c| c.1 == DetachNetworkInterface && !c.2);
        d.map(|c| c.0).collect()
    };
    let mut t = 40_000;
    while failed(&n).len() < 12 && t < 1_000_000 {
        t += 1_000;
        n.run_to(t);
    }
    let detaches = failed(&n);
    assert_eq!(detaches.len(), 12, "{detaches:?}");
    let gap = detaches[11] - detaches[10];
    assert!((62_000..=71_000).contains(&gap), "{gap}");
    // Out of the datastore since the pass began, still attached: reconcile's business.
    n.run_to(detaches[11] + 2_000);
    assert_eq!(n.ipamd.held.attached.len(), 1);
    assert_eq!(n.stats(detaches[11]).enis, 2);
    n.run_to(1_000_000);
    assert!(n.ipamd.held.attached.is_empty());
    // Re-adopted (young again), then freed like any idle ENI.
    let st = n.stats(1_000_000);
    assert_eq!((st.enis, st.total_ips), (1, 3));
    assert_eq!(n.ec2.eni_count(), 1);
}

#[test]
fn a_failed_unassign_drifts_and_reconcile_re_adds_it() {
    let cni = "WARM_IP_TARGET = 1\nDISABLE_LEAKED_ENI_CLEANUP = true";
    let mut n = Node::new("m5.large", cni, 110);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..4 {
        n.ipamd
            .assign_pod(pod, 1_000 + 6_000 * u64::from(pod))
            .unwrap();
        n.run_to(1_000 + 6_000 * u64::from(pod + 1));
    }
    assert_eq!(n.stats(30_000).total_ips, 5);
    for pod in 0..4 {
        n.ipamd.release_pod(pod, 30_000);
    }
    n.ec2
        .failures
        .push_back((UnassignPrivateIpAddresses, Ec2Error::RequestLimitExceeded));
    n.run_to(36_000);
    assert_eq!(
        n.stats(36_000).total_ips,
        1,
        "dropped from the datastore anyway"
    );
    assert_eq!(n.ipamd.held.drift.len(), 4);
    n.run_to(200_000);
    // Reconcile (> 60 s after the shrink) re-added them; the next shrink returned them.
    assert!(n.ipamd.held.drift.is_empty());
    assert_eq!(n.stats(200_000).total_ips, 1);
    assert_eq!(n.ec2.calls(UnassignPrivateIpAddresses), 2);
    assert_eq!(n.ec2.eni_cidrs(EniId(0)).unwrap().len(), 1);
}

#[test]
fn leaked_eni_cleanup_describes_once_an_hour() {
    let mut n = Node::with("m5.large", "", "", 29, 5);
    n.launch(0);
    n.run_to(10 * 3_600_000);
    let describes: Vec<_> = n
        .ec2
        .log
        .iter()
        .filter(|c| c.1 == DescribeNetworkInterfaces)
        .map(|c| c.0)
        .collect();
    // One at init, then one per hour after a 0–300 s delay.
    assert_eq!(describes.len(), 1 + 10, "{describes:?}");
    for w in describes[1..].windows(2) {
        let gap = w[1] - w[0];
        assert!(
            (3_600_000..3_600_000 + 300_000 + 200).contains(&gap),
            "{gap}"
        );
    }
    let off = Node::with("m5.large", "DISABLE_LEAKED_ENI_CLEANUP = true", "", 29, 5);
    assert_eq!(off.ipamd.next_wake(), Millis::MAX);
}

#[test]
fn a_leaked_eni_is_deleted_by_the_cleanup() {
    let mut n = Node::new("t3.small", "", 11);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 1_000).unwrap();
    }
    n.run_to(20_000);
    for pod in 0..3 {
        n.ipamd.release_pod(pod, 20_000);
    }
    for _ in 0..12 {
        n.ec2
            .failures
            .push_back((DeleteNetworkInterface, Ec2Error::RequestLimitExceeded));
    }
    n.run_to(600_000);
    assert_eq!(n.ipamd.held.leaked.len(), 1);
    assert_eq!(n.ec2.eni_count(), 2);
    n.run_to(2 * 3_600_000);
    assert!(n.ipamd.held.leaked.is_empty());
    assert_eq!(n.ec2.eni_count(), 1);
}

/// `nodeInit` failing ends ipamd (exit 1); the entrypoint keeps probing, the liveness probe
/// kills aws-node 80 s after it started and kubelet restarts it at once (the first
/// crash-loop restart), §6.3, §6.4, "Modelling choices" 8. Until then the node is NotReady.
#[test]
fn a_failed_init_restarts_when_the_liveness_probe_kills_the_container() {
    let mut n = Node::new("m5.large", "DISABLE_LEAKED_ENI_CLEANUP = true", 29);
    for _ in 0..12 {
        n.ec2
            .failures
            .push_back((DescribeNetworkInterfaces, Ec2Error::RequestLimitExceeded));
    }
    n.launch(0);
    n.run_to(79_999);
    assert_eq!(n.ec2.calls(DescribeNetworkInterfaces), 12);
    assert_eq!(n.ipamd.assign_pod(1, 5_000), Err(WaitReason::NoIp));
    assert_eq!((n.ipamd.ready_at(), n.ipamd.restarts()), (None, 0));
    n.run_to(80_000);
    assert_eq!(
        n.ec2.calls(DescribeNetworkInterfaces),
        13,
        "restarted at 80 s"
    );
    assert_eq!(n.ipamd.restarts(), 1);
    n.run_to(90_000);
    assert_eq!(n.stats(90_000).total_ips, 9);
    // Describe 0.2 + DescribeSubnets 0.1 + Modify 0.2 + Assign 0.5, + the probe's 0.1 s.
    assert_eq!(n.ipamd.ready_at(), Some(81_100));
}

/// kubelet's crash-loop back-off between restarts of a container whose ipamd keeps failing
/// init: kills 80 s after each start, restarts after 0, 10, 20, 40 s … (capped at 5 min).
#[test]
fn repeated_init_failures_back_off_like_kubelet() {
    let mut n = Node::new("m5.large", "DISABLE_LEAKED_ENI_CLEANUP = true", 29);
    n.ec2
        .always_fail
        .push((DescribeNetworkInterfaces, Ec2Error::RequestLimitExceeded));
    n.launch(0);
    let mut starts = vec![];
    let mut seen = 0;
    while starts.len() < 5 {
        let w = n.ipamd.next_wake();
        n.ipamd.wake_with(w, &mut n.ec2);
        let c = n.ec2.calls(DescribeNetworkInterfaces);
        if c > seen && (c - 1).is_multiple_of(12) {
            starts.push(w);
        }
        seen = c;
    }
    // Starts at 0, then kill + back-off: 80 + 0, 160 + 10, 250 + 20, 350 + 40.
    assert_eq!(starts, [0, 80_000, 170_000, 270_000, 390_000]);
    assert_eq!(
        n.ipamd.ready_at(),
        None,
        "a node whose ipamd never initialises"
    );
}

#[test]
fn max_pods_ceiling_stops_growth() {
    let mut n = Node::new("m5.large", "WARM_IP_TARGET = 4", 6);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..6 {
        n.ipamd
            .assign_pod(pod, 1_000 + 10_000 * u64::from(pod))
            .ok();
        n.run_to(10_000 * u64::from(pod + 1));
    }
    n.run_to(100_000);
    let st = n.stats(100_000);
    assert!(st.total_ips >= 6);
    n.ipamd.assign_pod(10, 100_000).ok();
    n.ipamd.assign_pod(11, 100_000).ok();
    n.ipamd.assign_pod(12, 100_000).ok();
    assert_eq!(
        n.ipamd.assign_pod(13, 100_000),
        Err(WaitReason::MaxPodsCeiling)
    );
}

#[test]
fn cooling_is_the_reason_when_only_cooling_addresses_are_left() {
    let mut n = Node::new("t3.small", "MAX_ENI = 1", 11);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 1_000).unwrap();
    }
    n.ipamd.release_pod(0, 2_000);
    assert_eq!(n.ipamd.assign_pod(5, 2_000), Err(WaitReason::Cooling));
    assert!(n.ipamd.assign_pod(5, 32_001).is_ok());
    assert_eq!(n.ipamd.assign_pod(6, 32_001), Err(WaitReason::EniLimit));
}

/// Upstream with WARM_ENI_TARGET = 0: pods filling the primary ENI exactly make the pool
/// "too low" (nothing available) ⇒ a new ENI; once it is 60 s old and idle,
/// `available ≥ (0 + 1)·M` frees it; then the pool is empty again. The node flaps.
#[test]
fn warm_eni_target_zero_flaps_when_pods_fill_whole_enis() {
    let cni = "WARM_ENI_TARGET = 0\nDISABLE_LEAKED_ENI_CLEANUP = true";
    let mut n = Node::new("t3.small", cni, 11);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 1_000).unwrap();
    }
    n.run_to(600_000);
    let creates = n.ec2.calls(CreateNetworkInterface);
    let deletes = n.ec2.calls(DeleteNetworkInterface);
    assert!(
        creates >= 6 && deletes >= creates - 1,
        "{creates} {deletes}"
    );
}
