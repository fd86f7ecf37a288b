//! Subnet discovery at ENI creation (`createENI`, upstream `pkg/awsutils/awsutils.go`,
//! v1.23.1; spec/ipamd-policy.md §7.2 step 1): which subnets are tried, in which order, and
//! what a failure leaves behind.

use super::*;
use crate::subnet::CniRole::{self, Excluded, Included, Untagged};
use Action::*;

/// A t3.small (3 IPs per ENI) whose primary is full: the next pass creates an ENI.
fn node_needing_an_eni(cni: &str, list: Vec<(SubnetId, CniRole)>) -> Node {
    let mut n = Node::new("t3.small", cni, 11);
    n.ec2.subnet_list = Some(list);
    n.launch(0);
    n.run_to(1_000);
    for pod in 0..3 {
        n.ipamd.assign_pod(pod, 1_000).unwrap();
    }
    n
}

const DISCOVERY: &str = "DISABLE_LEAKED_ENI_CLEANUP = true";
const NO_DISCOVERY: &str = "DISABLE_LEAKED_ENI_CLEANUP = true\nENABLE_SUBNET_DISCOVERY = false";

/// `GetVpcSubnets`' order is kept; `isSubnetValidForENICreation` drops an untagged foreign
/// subnet and a `cni=0` one; a failed `CreateNetworkInterface` (any error) moves on to the
/// next valid subnet.
#[test]
fn enis_go_to_valid_subnets_in_the_order_ec2_lists_them() {
    let list = vec![(2, Untagged), (3, Excluded), (1, Included), (0, Untagged)];
    let mut n = node_needing_an_eni(DISCOVERY, list);
    n.ec2
        .failures
        .push_back((CreateNetworkInterface, Ec2Error::RequestLimitExceeded));
    n.run_to(20_000);
    assert_eq!(
        n.ec2.created_in,
        [1, 0],
        "the tagged subnet first, then the node's own"
    );
    assert_eq!(n.stats(20_000).enis, 2);
    let eni = n
        .ipamd
        .datastore()
        .enis()
        .find(|e| !e.is_primary())
        .unwrap();
    let addr = eni.cidrs().next().unwrap().addr();
    assert_eq!(
        addr >> 20,
        0x0a0,
        "created in the node's subnet 0: {addr:#x}"
    );
    assert!(n.ipamd.gates.last_insufficient_cidr.is_none());
}

/// All valid subnets refuse: the last error is returned, and an Insufficient* one starts the
/// 120 s back-off (`tryAllocateENI`, `containsInsufficientCIDRsOrSubnetIPs`).
#[test]
fn when_every_subnet_refuses_the_last_error_decides_the_back_off() {
    let list = vec![(1, Included), (0, Untagged)];
    let mut n = node_needing_an_eni(DISCOVERY, list);
    n.ec2.failures.extend([
        (
            CreateNetworkInterface,
            Ec2Error::InsufficientFreeAddressesInSubnet,
        ),
        (
            CreateNetworkInterface,
            Ec2Error::InsufficientFreeAddressesInSubnet,
        ),
    ]);
    n.run_to(10_000);
    assert_eq!(n.ec2.created_in, [1, 0]);
    assert!(n.ipamd.gates.last_insufficient_cidr.is_some());
    // The second subnet's error is not Insufficient*: no back-off.
    let list = vec![(1, Included), (0, Untagged)];
    let mut n = node_needing_an_eni(DISCOVERY, list);
    n.ec2.failures.extend([
        (
            CreateNetworkInterface,
            Ec2Error::InsufficientFreeAddressesInSubnet,
        ),
        (CreateNetworkInterface, Ec2Error::RequestLimitExceeded),
    ]);
    n.run_to(10_000);
    assert_eq!(n.ec2.created_in, [1, 0]);
    assert!(n.ipamd.gates.last_insufficient_cidr.is_none());
}

/// The node's own subnet tagged `cni=0`, no other tagged: "no valid subnets available", no
/// `CreateNetworkInterface` at all, no back-off, retried on the next pass.
#[test]
fn an_excluded_own_subnet_and_no_tagged_one_creates_nothing() {
    let mut n = node_needing_an_eni(DISCOVERY, vec![(0, Excluded), (1, Untagged)]);
    n.run_to(20_000);
    assert!(n.ec2.created_in.is_empty());
    assert!(n.ec2.calls(DescribeSubnets) >= 3, "one per pass");
    assert!(n.ipamd.gates.last_insufficient_cidr.is_none());
}

/// Discovery off: `IsSubnetExcluded` on the node's subnet only; the ENI goes there even when
/// a tagged subnet has more room, and an excluded node subnet gets none.
#[test]
fn without_discovery_enis_never_leave_the_node_subnet() {
    let mut n = node_needing_an_eni(NO_DISCOVERY, vec![(1, Included), (0, Untagged)]);
    n.run_to(30_000);
    assert_eq!(n.ec2.created_in, [0]);
    let mut n = node_needing_an_eni(NO_DISCOVERY, vec![(1, Included), (0, Excluded)]);
    n.run_to(30_000);
    assert!(n.ec2.created_in.is_empty());
}

/// Custom networking: the ENIConfig's subnet, no `DescribeSubnets` before the create, tags
/// or not (`createENIUsingCustomCfg`).
#[test]
fn custom_networking_ignores_discovery() {
    let cni = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true\nDISABLE_LEAKED_ENI_CLEANUP = true";
    let mut n = Node::new("m5.large", cni, 110);
    n.ec2.subnet_list = Some(vec![(2, Included), (0, Untagged)]);
    n.launch(0);
    n.run_to(30_000);
    assert_eq!(n.ec2.created_in, [1], "the pod subnet");
}

/// A failed `GetVpcSubnets`: `IsSubnetExcluded` makes a second `DescribeSubnets`; when it
/// works the ENI goes to the node's subnet, whatever is tagged.
#[test]
fn a_failed_describe_falls_back_to_the_node_subnet_after_a_second_one() {
    let mut n = node_needing_an_eni(DISCOVERY, vec![(1, Included), (0, Untagged)]);
    n.ec2
        .failures
        .push_back((DescribeSubnets, Ec2Error::RequestLimitExceeded));
    n.run_to(20_000);
    assert_eq!(n.ec2.created_in, [0]);
    assert_eq!(
        n.ec2.actions(3_000, 5_000)[..3],
        [DescribeSubnets, DescribeSubnets, CreateNetworkInterface]
    );
}
