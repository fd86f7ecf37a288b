//! The `[subnet]` / `[[subnets]]` tables of a scenario (DESIGN.md §4).

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
