//! The `[subnet]` / `[[subnets]]` tables of a scenario (DESIGN.md §4).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

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
    #[serde(default, deserialize_with = "de_tags")]
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
        CniRole::of(self.tags.get(CNI_ROLE_TAG).map(String::as_str))
    }
}

impl CniRole {
    /// The role the [`CNI_ROLE_TAG`] value `value` (`None`: no such tag) gives.
    pub fn of(value: Option<&str>) -> CniRole {
        match value {
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

/// Tag values are strings in EC2; a number or boolean is refused with a hint, not read as
/// something else (`"kubernetes.io/role/cni" = 1` means `"1"`, and says so).
fn de_tags<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Str(String),
        Int(i64),
        Bool(bool),
    }
    let raw = BTreeMap::<String, Value>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            if k.trim().is_empty() || k.chars().any(char::is_control) {
                return Err(serde::de::Error::custom(format!(
                    "tag key {k:?} is empty or has a control character; EC2 tag keys are names like \"kubernetes.io/role/cni\""
                )));
            }
            match v {
                Value::Str(s) if s.chars().any(char::is_control) => {
                    Err(serde::de::Error::custom(format!(
                        "tag {k:?} = {s:?} has a control character; give a one-line value"
                    )))
                }
                Value::Str(s) => Ok((k, s)),
                Value::Int(i) => Err(serde::de::Error::custom(format!(
                    "tag {k:?} = {i}: EC2 tag values are strings; write \"{i}\""
                ))),
                Value::Bool(b) => Err(serde::de::Error::custom(format!(
                    "tag {k:?} = {b}: EC2 tag values are strings; write \"{b}\""
                ))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SubnetConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn the_cni_role_is_read_as_upstream_reads_the_tag() {
        let role = |tags: &str| {
            parse(&format!("cidr = \"10.0.0.0/24\"\ntags = {{ {tags} }}"))
                .unwrap()
                .cni_role()
        };
        assert_eq!(role(""), CniRole::Untagged);
        assert_eq!(role("\"kubernetes.io/role/cni\" = \"\""), CniRole::Untagged);
        assert_eq!(
            role("\"kubernetes.io/role/cni\" = \"1\""),
            CniRole::Included
        );
        assert_eq!(
            role("\"kubernetes.io/role/cni\" = \"yes\""),
            CniRole::Included
        );
        assert_eq!(
            role("\"kubernetes.io/role/cni\" = \"0\""),
            CniRole::Excluded
        );
        assert_eq!(role("Name = \"0\""), CniRole::Untagged);
    }

    #[test]
    fn a_tag_value_that_is_not_a_string_says_how_to_write_it() {
        let e =
            parse("cidr = \"10.0.0.0/24\"\ntags = { \"kubernetes.io/role/cni\" = 1 }").unwrap_err();
        assert!(e.contains("write \"1\""), "{e}");
        let e = parse("cidr = \"10.0.0.0/24\"\ntags = { \"\" = \"1\" }").unwrap_err();
        assert!(e.contains("tag key"), "{e}");
        let e = parse("cidr = \"10.0.0.0/24\"\nzone = \"a\"").unwrap_err();
        assert!(e.contains("zone"), "{e}");
    }
}
