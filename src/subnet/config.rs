//! The `[subnet]` / `[[subnets]]` tables of a scenario (DESIGN.md §4).

use std::collections::BTreeMap;

use serde::Deserialize;

/// One subnet as written in a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetConfig {
    /// Name, required under `[[subnets]]` (node groups pick a subnet by it); `[subnet]` is
    /// called `"default"` when unnamed.
    #[serde(default)]
    pub name: Option<String>,
    /// IPv4 CIDR, /16 … /28, e.g. `"10.0.0.0/20"`.
    pub cidr: String,
    /// Where EC2 places new addresses and prefixes.
    #[serde(default)]
    pub placement: Placement,
    /// Addresses held by others (load balancers, Lambda, RDS, …) from t=0.
    #[serde(default)]
    pub background: Background,
    /// Subnet CIDR reservations (`CreateSubnetCidrReservation`).
    #[serde(default)]
    pub reservations: Vec<ReservationConfig>,
    /// The subnet's EC2 tags, e.g. `{ "kubernetes.io/role/cni" = "1" }`. Only
    /// [`CNI_ROLE_TAG`] changes what the model does ([`SubnetConfig::cni_role`]).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The availability zone (`"us-east-1a"`). Unset: the subnet is alone in a zone of its
    /// own, so subnet discovery never moves a node's ENIs out of it.
    #[serde(default)]
    pub availability_zone: Option<String>,
}

/// The tag subnet discovery reads (`subnetDiscoveryTagKey` in upstream
/// `pkg/awsutils/awsutils.go`).
pub const CNI_ROLE_TAG: &str = "kubernetes.io/role/cni";

/// What the `kubernetes.io/role/cni` tag says of a subnet (upstream `getTagValue` +
/// `isSubnetValidForENICreation`, v1.23.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CniRole {
    /// No tag, or an empty value (`getTagValue` returns "" for both): the node's own subnet
    /// is used, any other is not.
    #[default]
    Untagged,
    /// Any value but `"0"` (`"1"` by convention): other nodes' ENIs may go there.
    Included,
    /// `"0"`: never used for new ENIs, not even by the nodes that live in it.
    Excluded,
}

impl SubnetConfig {
    /// The subnet's [`CniRole`], from its tags.
    pub fn cni_role(&self) -> CniRole {
        match self.tags.get(CNI_ROLE_TAG).map(String::as_str) {
            None | Some("") => CniRole::Untagged,
            Some("0") => CniRole::Excluded,
            Some(_) => CniRole::Included,
        }
    }
}

/// EC2's address placement policy (spec/ec2-subnet.md §3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Uniformly random among the candidates, from the subnet's own seeded stream.
    #[default]
    Random,
    /// The lowest candidate: the best case for fragmentation.
    Lowest,
}

/// `background = { addresses = N }`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Background {
    /// Addresses placed at t=0 with the subnet's placement policy.
    #[serde(default)]
    pub addresses: u32,
}

/// `{ cidr = "10.0.8.0/21", type = "prefix" }`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationConfig {
    /// The reserved range, inside the subnet.
    pub cidr: String,
    /// Reservation type.
    #[serde(rename = "type")]
    pub kind: ReservationKind,
}

/// Subnet CIDR reservation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReservationKind {
    /// Automatic prefix assignment takes /28s from here; single addresses never land here.
    Prefix,
    /// Nothing is placed here automatically.
    Explicit,
}
