//! Zones and subnet tags of an import: which subnets subnet discovery could use, and each
//! node's zone (spec/real-inputs.md §3 reads `AvailabilityZone` and `Tags`, §6 the node's
//! `topology.kubernetes.io/zone` label and `spec.providerID`).
//!
//! The spec models only subnets a node draws from. With `ENABLE_SUBNET_DISCOVERY` (on by
//! default) ipamd's `createENI` (upstream `pkg/awsutils/awsutils.go`, v1.23.1) may put a
//! node's new ENIs in any subnet of the node's VPC and zone tagged `kubernetes.io/role/cni`
//! with a value other than `0` (`GetVpcSubnets`, `isSubnetValidForENICreation`), so those
//! subnets are drawn from too and are modelled. The spec is silent on this; it follows
//! upstream and is said in README.md.

use std::collections::BTreeSet;

use super::ImportError;
use super::nodes::ExportedNode;
use super::state::SubnetState;
use super::subnets::ExportedSubnet;
use crate::subnet::{CNI_ROLE_TAG, CniRole};

/// The CNI role of exported tags (upstream `getTagValue` takes the tag's value, "" when
/// absent).
pub fn cni_role(tags: &[(String, String)]) -> CniRole {
    CniRole::of(
        tags.iter()
            .find(|(k, _)| k == CNI_ROLE_TAG)
            .map(|(_, v)| v.as_str()),
    )
}

/// The subnets not yet `modelled` that discovery may use for a node of a modelled subnet:
/// IPv4, in the VPC and zone of a modelled subnet, tagged [`CniRole::Included`]. In file
/// order. A subnet without a zone is alone in its zone, so it finds none.
pub(super) fn discoverable<'a>(
    all: &'a [ExportedSubnet],
    modelled: &BTreeSet<&str>,
) -> Vec<&'a str> {
    let homes: Vec<(&str, &str)> = all
        .iter()
        .filter(|s| modelled.contains(s.id.as_str()) && !s.zone.is_empty())
        .map(|s| (s.vpc.as_str(), s.zone.as_str()))
        .collect();
    all.iter()
        .filter(|s| {
            s.cidr.is_some()
                && !modelled.contains(s.id.as_str())
                && homes.contains(&(s.vpc.as_str(), s.zone.as_str()))
                && cni_role(&s.tags) == CniRole::Included
        })
        .map(|s| s.id.as_str())
        .collect()
}

/// A node's zone: its `topology.kubernetes.io/zone` label, else the zone of its
/// `spec.providerID`, else its primary ENI's subnet's. Every ENI of an EC2 instance is in
/// the instance's zone, so a node whose ENIs' subnets (`enis`: ENI id, subnet) say another
/// zone is an error: the exports are of different clusters or edited.
pub(super) fn node_zone(
    node: &ExportedNode,
    who: &str,
    enis: &[(&str, &SubnetState)],
    nodes_file: &str,
) -> Result<String, ImportError> {
    let known = [node.zone.as_str(), node.provider_zone.as_str()]
        .into_iter()
        .find(|z| !z.is_empty());
    let Some(zone) = known else {
        return Ok(enis
            .first()
            .map(|(_, s)| s.zone.clone())
            .unwrap_or_default());
    };
    for (eni, s) in enis {
        if !s.zone.is_empty() && s.zone != zone {
            return Err(ImportError::Invalid {
                file: nodes_file.to_string(),
                message: format!(
                    "{who} is in zone {zone}, but its interface {eni} is in {} of {}; an instance's interfaces are in its zone: export the nodes and the subnets of one cluster, at one time",
                    s.id, s.zone
                ),
            });
        }
    }
    Ok(zone.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subnet::Ipv4Cidr;

    fn subnet(id: &str, vpc: &str, zone: &str, tags: &[(&str, &str)]) -> ExportedSubnet {
        ExportedSubnet {
            id: id.into(),
            cidr: Some(Ipv4Cidr::parse_subnet("10.0.0.0/24").unwrap()),
            vpc: vpc.into(),
            zone: zone.into(),
            available: None,
            name: None,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn discovery_finds_tagged_subnets_of_a_modelled_zone_and_vpc_only() {
        let cni = |v| [("Name", "x"), (CNI_ROLE_TAG, v)];
        let all = [
            subnet("home", "vpc-1", "a", &[]),
            subnet("tagged-a", "vpc-1", "a", &cni("1")),
            subnet("tagged-b", "vpc-1", "b", &cni("1")),
            subnet("excluded-a", "vpc-1", "a", &cni("0")),
            subnet("empty-a", "vpc-1", "a", &cni("")),
            subnet("untagged-a", "vpc-1", "a", &[("Name", "y")]),
            subnet("other-vpc-a", "vpc-2", "a", &cni("1")),
            subnet("no-zone", "vpc-1", "", &cni("1")),
        ];
        let modelled: BTreeSet<&str> = ["home"].into();
        assert_eq!(discoverable(&all, &modelled), ["tagged-a"]);
        let modelled: BTreeSet<&str> = ["home", "tagged-b"].into();
        assert_eq!(discoverable(&all, &modelled), ["tagged-a"]);
        let mut ipv6 = subnet("v6", "vpc-1", "a", &cni("1"));
        ipv6.cidr = None;
        assert!(discoverable(&[all[0].clone(), ipv6], &["home"].into()).is_empty());
        // A subnet without a zone is alone: nothing is in its zone.
        let lone = [subnet("home", "vpc-1", "", &[]), all[7].clone()];
        assert!(discoverable(&lone, &["home"].into()).is_empty());
    }

    fn state(id: &str, zone: &str) -> SubnetState {
        SubnetState {
            id: id.into(),
            name: None,
            cidr: Ipv4Cidr::parse_subnet("10.0.0.0/24").unwrap(),
            zone: zone.into(),
            available: None,
            reservations: Vec::new(),
            background: Vec::new(),
            background_prefixes: Vec::new(),
            used: 0,
            free_prefix_blocks: 0,
            tags: Vec::new(),
        }
    }

    fn node(label: &str, provider: &str) -> ExportedNode {
        ExportedNode {
            name: "n".into(),
            instance_type: None,
            zone: label.into(),
            group: "g".into(),
            compute_type: None,
            instance_id: "i-1".into(),
            unschedulable: false,
            ready: true,
            max_pods: None,
            provider_zone: provider.into(),
        }
    }

    #[test]
    fn a_node_takes_its_label_then_its_provider_id_then_its_subnet_zone() {
        let a = state("subnet-a", "us-west-2a");
        let enis = [("eni-1", &a)];
        let zone = |n: &ExportedNode| node_zone(n, "node n", &enis, "nodes.json");
        assert_eq!(zone(&node("us-west-2a", "")).unwrap(), "us-west-2a");
        assert_eq!(zone(&node("", "us-west-2a")).unwrap(), "us-west-2a");
        assert_eq!(zone(&node("", "")).unwrap(), "us-west-2a");
        let e = zone(&node("us-west-2b", "")).unwrap_err().to_string();
        assert!(
            e.starts_with("nodes.json: node n is in zone us-west-2b, but its interface eni-1 is in subnet-a of us-west-2a"),
            "{e}"
        );
        // A subnet without a zone says nothing against the node's.
        let lone = state("subnet-x", "");
        let enis = [("eni-1", &lone)];
        assert_eq!(
            node_zone(&node("us-west-2b", ""), "n", &enis, "f").unwrap(),
            "us-west-2b"
        );
    }
}
