//! Issue 8's failure paths of v1.23.1: init traffic (§6.1), the restart (§6.4), the
//! ENI-creation failures (§4.4, §7.2), and the shrink's map order (§4.6).

use super::*;
use crate::ec2::Request;
use Action::*;

/// `nodeInit` → `TagENI`: EC2 launched the primary ENI without ipamd's tags, so a fresh
/// instance's first init makes one `CreateTags`, then `setupENI`'s `DescribeSubnets`
/// (`excludedENIBasedOnSubnetTags`). A restart finds the tags in place: no `CreateTags`.
#[test]
fn a_fresh_instance_tags_its_primary_eni_once() {
    let mut n = Node::with("t3.small", "DISABLE_LEAKED_ENI_CLEANUP = true", "", 11, 1);
    n.ipamd.cfg.phase = 0;
    n.launch(0);
    n.run_to(2_000);
    assert_eq!(
        n.ec2.actions(0, 2_000),
        [
            DescribeNetworkInterfaces,
            CreateTags,
            DescribeSubnets,
            ModifyNetworkInterfaceAttribute,
            AssignPrivateIpAddresses
        ]
    );
    n.ipamd.restart(10_000);
    n.run_to(12_000);
    assert_eq!(n.ec2.calls(CreateTags), 1);
    assert_eq!(n.ec2.calls(DescribeSubnets), 2);
}

/// `applySecurityGroupsToENIs`: a failed `ModifyNetworkInterfaceAttribute` at init is only
/// logged; init goes on (the node becomes Ready) and the call is not retried.
#[test]
fn a_failed_security_group_modify_at_init_is_only_logged() {
    let mut n = Node::new("t3.small", "DISABLE_LEAKED_ENI_CLEANUP = true", 11);
    n.ec2.failures.push_back((
        ModifyNetworkInterfaceAttribute,
        Ec2Error::RequestLimitExceeded,
    ));
    n.launch(0);
    n.run_to(60_000);
    assert_eq!(n.ipamd.ready_at(), Some(1_100));
    assert_eq!(n.ipamd.restarts(), 0);
    assert_eq!(n.ec2.calls(ModifyNetworkInterfaceAttribute), 1);
}

/// §6.4 (`nodeInit` after a restart): the new ipamd rebuilds its datastore from EC2 and the
/// checkpoint. Pods keep their addresses; ENI ages, cooling records and the Insufficient*
/// back-off start afresh; a Ready node stays Ready while CNI ADDs fail until init is done.
#[test]
fn a_restart_rebuilds_from_ec2_and_the_checkpoint_and_forgets_the_rest() {
    let mut n = Node::new("t3.small", "DISABLE_LEAKED_ENI_CLEANUP = true", 11);
    n.launch(0);
    n.run_to(1_000);
    let a = n.ipamd.assign_pod(1, 1_000).unwrap();
    let b = n.ipamd.assign_pod(2, 1_000).unwrap();
    n.ipamd.release_pod(2, 50_000);
    n.ipamd.gates.last_insufficient_cidr = Some(49_000);
    n.run_to(50_000);
    assert_eq!(n.stats(50_000).cooling_ips, 1);
    let ready = n.ipamd.ready_at();
    n.ipamd.restart(50_000);
    assert_eq!(
        n.ipamd.assign_pod(3, 50_000),
        Err(WaitReason::NoIp),
        "ipamd down"
    );
    assert_eq!(n.ipamd.gates.last_insufficient_cidr, None);
    // Init pre-scales (2 available < 3): a new ENI, done at 50.5 + 7.6 s.
    n.run_to(58_100);
    assert!(n.ipamd.is_up());
    assert_eq!((n.ipamd.ready_at(), n.ipamd.restarts()), (ready, 1));
    assert_eq!(
        n.ipamd.assign_pod(1, 58_100),
        Ok(a),
        "restored from the checkpoint"
    );
    let st = n.stats(58_100);
    assert_eq!((st.total_ips, st.assigned_ips, st.cooling_ips), (6, 1, 0));
    let primary = n.ipamd.datastore().enis().find(|e| e.is_primary()).unwrap();
    assert_eq!(
        primary.created(),
        50_200,
        "its age starts afresh (AddENI after the describe)"
    );
    // The address released before the restart is not cooling any more.
    let mut got = vec![];
    for pod in 3..8 {
        got.push(n.ipamd.assign_pod(pod, 58_100).unwrap());
    }
    assert!(got.contains(&b), "{got:?} lacks {b}");
}

/// `AllocENI` after a failed `ModifyNetworkInterfaceAttribute(DeleteOnTermination)`: the
/// clean-up `FreeENI` works, its nil result shadows the Modify error, and
/// `WaitForENIAndIPsAttached("")` polls IMDS 12 times (162.3–186.6 s) before the allocation
/// fails (§7.2 steps 5–6). The pass is blocked meanwhile; the next attempt comes after it.
#[test]
fn alloc_eni_shadowed_error_blocks_the_pass_for_the_imds_wait() {
    let mut n = Node::new("t3.small", "DISABLE_LEAKED_ENI_CLEANUP = true", 11);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 1_000).unwrap();
    }
    n.ec2.failures.push_back((
        ModifyNetworkInterfaceAttribute,
        Ec2Error::RequestLimitExceeded,
    ));
    n.run_to(30_000);
    assert_eq!(
        n.ec2.actions(3_500, 30_000),
        [
            DescribeSubnets,
            CreateNetworkInterface,
            DescribeInstances,
            AttachNetworkInterface,
            ModifyNetworkInterfaceAttribute,
            DescribeNetworkInterfaces,
            DetachNetworkInterface,
            DeleteNetworkInterface
        ]
    );
    let delete_done = n
        .ec2
        .log
        .iter()
        .find(|c| c.1 == DeleteNetworkInterface)
        .unwrap()
        .0
        + 500;
    n.run_to(400_000);
    let creates: Vec<Millis> = n
        .ec2
        .log
        .iter()
        .filter(|c| c.1 == CreateNetworkInterface)
        .map(|c| c.0)
        .collect();
    assert_eq!(creates.len(), 2, "{creates:?}");
    // IMDS wait, then 2.5 s to the reconcile tick, 2.5 s to the next check, DescribeSubnets.
    let gap = creates[1] - delete_done;
    assert!((162_300 + 5_100..=186_700 + 5_100).contains(&gap), "{gap}");
    assert_eq!(n.stats(400_000).total_ips, 6);
}

/// `setupENI` puts the ENI in the datastore (`AddENI`) before the exclusion check's
/// `DescribeSubnets`; when that fails the ENI stays known and empty, and the next pass's
/// `tryAssignIPs` asks it for a full ENI's worth: `PrivateIpAddressLimitExceeded`, then a
/// resync from EC2 (`DescribeNetworkInterfaces`) brings its addresses in (§7.2 step 7).
#[test]
fn a_failed_exclusion_check_leaves_an_empty_known_eni() {
    let mut n = Node::new("t3.small", "DISABLE_LEAKED_ENI_CLEANUP = true", 11);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 1_000).unwrap();
    }
    n.run_to(3_500); // the check's first DescribeSubnets is out
    n.ec2
        .failures
        .push_back((DescribeSubnets, Ec2Error::RequestLimitExceeded));
    n.run_to(11_100);
    let st = n.stats(11_100);
    assert_eq!((st.enis, st.total_ips), (2, 3), "known, empty");
    n.run_to(17_000);
    assert_eq!(
        n.ec2.actions(11_100, 17_000),
        [AssignPrivateIpAddresses, DescribeNetworkInterfaces]
    );
    assert_eq!(n.stats(17_000).total_ips, 6);
}

/// `attachENI`: EC2 refuses an attach beyond the instance's ENI limit with
/// `AttachmentLimitExceeded` (ec2-subnet.md §8). `hasRoomForEni` counts datastore ENIs only,
/// so an ENI ipamd dropped while it stayed attached makes every pass create, fail to attach
/// and delete an ENI (§7.2 step 4).
#[test]
fn attach_beyond_the_eni_limit_is_refused_and_the_new_eni_deleted() {
    let mut n = Node::new("t3.small", "DISABLE_LEAKED_ENI_CLEANUP = true", 11);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 1_000).unwrap();
    }
    for k in 0..2 {
        let stray = n.ec2.create_network_interface(1_000, 0, 2, Request::Ips(0));
        let eni = stray.result.unwrap();
        n.ipamd.held.attached.push(HeldEni {
            id: eni.id,
            primary: false,
            born: 1_000 + k,
            cidrs: vec![],
        });
    }
    n.run_to(12_000);
    assert_eq!(
        n.ec2.actions(3_500, 12_000),
        [
            DescribeSubnets,
            CreateNetworkInterface,
            DescribeInstances,
            AttachNetworkInterface,
            DeleteNetworkInterface
        ]
    );
    let attach = n
        .ec2
        .log
        .iter()
        .find(|c| c.1 == AttachNetworkInterface)
        .unwrap();
    assert!(!attach.2, "refused");
}

/// `GetENIInfos` copies the ENI map by walking it, and `tryUnassignCidrsFromAll` walks the
/// copy: two random rotations. With 2 ENIs the first-inserted comes first with probability
/// 7/8 · 7/8 + 1/8 · 1/8 = 50/64 (one walk would give 56/64).
#[test]
fn the_shrink_walks_a_fresh_copy_of_the_eni_map() {
    let mut ds = Datastore::new(Mode::SecondaryIp, 0);
    ds.add_eni(EniId(0), true, 0);
    ds.add_eni(EniId(1), false, 0);
    let mut rng = Streams::new(3).node_stream("t", 0);
    let mut out = Vec::new();
    let draws = 64_000;
    let first = (0..draws)
        .filter(|_| {
            ds.eni_order(IpPick::GoMap, &mut rng, &mut out);
            out[0] == EniId(0)
        })
        .count();
    let p = first as f64 / f64::from(draws);
    assert!((p - 50.0 / 64.0).abs() < 0.01, "{p}");
}

/// `reconcileCooldownCache` (`nodeIPPoolReconcile`, §6.2): the shrink puts each released
/// address in the cache; when EC2 hands one back to this node (here: `lowest` placement
/// gives the freed /32s again), the next reconcile past the 60 s expiry verifies that ENI
/// with one `DescribeNetworkInterfaces` and drops the entries. With `random` placement in a
/// large subnet the addresses do not come back and no such call is made.
#[test]
fn an_address_handed_back_costs_a_describe_at_the_next_reconcile() {
    let describes = |placement: &str| {
        let subnet = format!("cidr = \"10.0.0.0/16\"\nplacement = \"{placement}\"");
        let cni = "WARM_IP_TARGET = 1\nDISABLE_LEAKED_ENI_CLEANUP = true";
        let mut n = Node::real("m5.large", cni, 110, &subnet, 7);
        n.launch(0);
        n.run_to(2_000);
        for pod in 0..5 {
            n.run_to(2_000 + 6_000 * u64::from(pod));
            let _ = n.ipamd.assign_pod(pod, 2_000 + 6_000 * u64::from(pod));
        }
        n.run_to(60_000);
        for pod in 0..5 {
            n.ipamd.release_pod(pod, 60_000);
        }
        n.run_to(120_000); // the shrink gives 5 IPs back
        assert_eq!(n.stats(120_000).total_ips, 1);
        for pod in 10..15 {
            n.run_to(120_000 + 6_000 * u64::from(pod - 10));
            let _ = n
                .ipamd
                .assign_pod(pod, 120_000 + 6_000 * u64::from(pod - 10));
        }
        n.run_to(600_000);
        n.ec2.counters(Action::DescribeNetworkInterfaces).calls
    };
    let (lowest, random) = (describes("lowest"), describes("random"));
    assert_eq!(lowest, random + 1, "lowest {lowest}, random {random}");
}

/// `cleanUpLeakedENIs` is VPC-wide (§7.5): a node's hourly run deletes a leaked ENI that
/// another node left detached, which this node never knew.
#[test]
fn the_leaked_eni_cleanup_deletes_other_nodes_leaks() {
    let mut n = Node::new("t3.small", "", 11);
    let other = n.ec2.create_network_interface(0, 1, 2, Request::Ips(2));
    let other = other.result.unwrap().id;
    n.ec2.detach_network_interface(10, other);
    n.launch(0);
    n.run_to(2 * 3_600_000);
    assert!(
        n.ec2.eni_cidrs(other).is_none(),
        "deleted by this node's cleanup"
    );
    assert!(n.ipamd.held.leaked.is_empty());
}

/// An init that fails part-way (`TagENI` exhausting its 5 tries) loses nothing that lives
/// outside ipamd: the next init still finds every ENI in EC2 and the checkpoint (§6.4).
#[test]
fn an_init_failing_part_way_keeps_the_enis_and_the_checkpoint() {
    let mut n = Node::with("t3.small", "DISABLE_LEAKED_ENI_CLEANUP = true", "", 11, 1);
    n.ipamd.cfg.phase = 0;
    n.launch(0);
    n.run_to(2_000);
    let a = n.ipamd.assign_pod(1, 2_000).unwrap();
    // A restart whose tagging fails: the primary is untagged again (as if a tag was lost).
    n.ipamd.primary_untagged = true;
    for _ in 0..5 {
        n.ec2
            .failures
            .push_back((CreateTags, Ec2Error::RequestLimitExceeded));
    }
    n.ipamd.restart(10_000);
    n.run_to(60_000);
    assert!(!n.ipamd.is_up(), "init failed at TagENI");
    n.run_to(200_000);
    assert!(n.ipamd.is_up());
    assert_eq!(n.ipamd.restarts(), 2);
    assert_eq!(n.ipamd.assign_pod(1, 200_000), Ok(a), "checkpoint kept");
    let primary = n.ipamd.datastore().enis().find(|e| e.is_primary()).unwrap();
    assert_eq!(
        primary.cidr_count(),
        3,
        "the primary and its addresses found again"
    );
}
