//! The `[ec2]` table: per-action latency and throttling, with the defaults of
//! spec/ec2-subnet.md §6–7.
//!
//! ```toml
//! [ec2]
//! latency = { AssignPrivateIpAddresses = "500ms",                 # fixed
//!             AttachNetworkInterface = { uniform = ["3s", "8s"] }, # uniform between two values
//!             CreateNetworkInterface = { exponential = "1s" } }    # exponential with this mean
//! throttle = { AssignPrivateIpAddresses = { capacity = 100, refill_per_s = 5 } }
//! ```
//! Actions are named as in the EC2 API; an unknown action or key is an error.

use std::collections::BTreeMap;

use rand::RngExt as _;
use serde::Deserialize;

use super::Action;
use crate::rng::Rng;
use crate::time::{Duration, Millis};

/// The `[ec2]` table.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2Config {
    /// Latency overrides by action.
    #[serde(default)]
    pub latency: BTreeMap<Action, Latency>,
    /// Token-bucket overrides by action.
    #[serde(default)]
    pub throttle: BTreeMap<Action, BucketConfig>,
}

/// One action's token bucket: `capacity` tokens, refilled at `refill_per_s`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// Burst size, in requests.
    pub capacity: u32,
    /// Sustained rate, requests per second.
    pub refill_per_s: f64,
}

/// How long a call takes: fixed, or drawn from the `"ec2-latency"` stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Latency {
    /// `"500ms"`.
    Fixed(Duration),
    /// `{ fixed = "500ms" }`.
    FixedTable {
        /// The latency.
        fixed: Duration,
    },
    /// `{ uniform = ["3s", "8s"] }`: uniform between the two, inclusive.
    Uniform {
        /// Lower and upper bound.
        uniform: [Duration; 2],
    },
    /// `{ exponential = "1s" }`: exponential with this mean.
    Exponential {
        /// The mean.
        exponential: Duration,
    },
}

impl Latency {
    /// One latency draw.
    pub fn sample(&self, rng: &mut Rng) -> Millis {
        match *self {
            Latency::Fixed(d) | Latency::FixedTable { fixed: d } => d.millis(),
            Latency::Uniform { uniform: [a, b] } => {
                let (lo, hi) = (a.millis().min(b.millis()), a.millis().max(b.millis()));
                rng.random_range(lo..=hi)
            }
            Latency::Exponential { exponential: mean } => {
                let u: f64 = rng.random();
                (-(mean.millis() as f64) * (1.0 - u).ln()).round() as Millis
            }
        }
    }
}

impl Ec2Config {
    /// The bucket of `action`: the override, else spec/ec2-subnet.md §6.
    pub fn bucket(&self, action: Action) -> BucketConfig {
        self.throttle
            .get(&action)
            .copied()
            .unwrap_or_else(|| default_bucket(action))
    }

    /// The latency of `action`: the override, else spec/ec2-subnet.md §7.
    pub fn latency(&self, action: Action) -> Latency {
        self.latency
            .get(&action)
            .copied()
            .unwrap_or(Latency::Fixed(Duration(default_latency_ms(action))))
    }
}

/// spec/ec2-subnet.md §6.
pub fn default_bucket(action: Action) -> BucketConfig {
    use Action::*;
    let (capacity, refill_per_s) = match action {
        AssignPrivateIpAddresses
        | UnassignPrivateIpAddresses
        | CreateNetworkInterface
        | DeleteNetworkInterface
        | ModifyNetworkInterfaceAttribute => (100, 5.0),
        CreateTags => (100, 10.0),
        AttachNetworkInterface | DetachNetworkInterface => (50, 5.0),
        DescribeNetworkInterfaces | DescribeInstances => (50, 10.0),
        DescribeSubnets => (100, 20.0),
    };
    BucketConfig {
        capacity,
        refill_per_s,
    }
}

/// spec/ec2-subnet.md §7: assignment 0.5 s, create 1 s, attach 5 s (until the node sees
/// it), unassign 0.3 s, detach 2 s, delete 0.5 s. The spec names no figure for the rest: we
/// take 0.2 s for Describe* and CreateTags and 0.3 s for ModifyNetworkInterfaceAttribute,
/// typical of small control-plane reads and writes.
pub fn default_latency_ms(action: Action) -> Millis {
    use Action::*;
    match action {
        AssignPrivateIpAddresses => 500,
        UnassignPrivateIpAddresses => 300,
        CreateNetworkInterface => 1_000,
        AttachNetworkInterface => 5_000,
        ModifyNetworkInterfaceAttribute => 300,
        DetachNetworkInterface => 2_000,
        DeleteNetworkInterface => 500,
        DescribeNetworkInterfaces | DescribeInstances | DescribeSubnets | CreateTags => 200,
    }
}
