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
//! Actions are named as in the EC2 API; an unknown action or key is an error. A latency is
//! a duration (`"500ms"`, or an integer number of seconds) or a table with exactly one of
//! `fixed`, `uniform` (`[min, max]`, min ≤ max) or `exponential` (the mean). A bucket needs
//! `capacity ≥ 1` and a finite `refill_per_s ≥ 0`.

use std::collections::BTreeMap;

use std::fmt;

use rand::RngExt as _;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::Action;
use crate::rng::Rng;
use crate::time::{Duration, Millis, SECOND, parse_duration};

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
    /// Burst size, in requests (at least 1).
    #[serde(deserialize_with = "capacity")]
    pub capacity: u32,
    /// Sustained rate, requests per second (finite, ≥ 0).
    #[serde(deserialize_with = "refill")]
    pub refill_per_s: f64,
}

fn capacity<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        0 => Err(de::Error::custom(
            "capacity = 0 would throttle every call; give the bucket at least 1 token",
        )),
        n => Ok(n),
    }
}

fn refill<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let r = f64::deserialize(d)?;
    if !(0.0..=1e6).contains(&r) {
        return Err(de::Error::custom(format!(
            "refill_per_s = {r} is not a rate: write tokens per second, from 0 to 1000000"
        )));
    }
    Ok(r)
}

/// How long a call takes: fixed, or drawn from the `"ec2-latency"` stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
                (-(mean.millis() as f64) * crate::rng::ln(1.0 - u)).round() as Millis
            }
        }
    }
}

/// A hand-written deserializer (rather than `#[serde(untagged)]`) so a bad latency says
/// what is wrong instead of "data did not match any variant".
impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LatencyVisitor)
    }
}

struct LatencyVisitor;

const KINDS: &[&str] = &["fixed", "uniform", "exponential"];

impl<'de> Visitor<'de> for LatencyVisitor {
    type Value = Latency;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a latency: a duration such as \"500ms\", { uniform = [\"3s\", \"8s\"] } or { exponential = \"1s\" }",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Latency, E> {
        parse_duration(v)
            .map(|ms| Latency::Fixed(Duration(ms)))
            .map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Latency, E> {
        // Whole seconds, checked like every scenario duration (time::MAX_MILLIS).
        v.checked_mul(SECOND)
            .filter(|&ms| ms <= crate::time::MAX_MILLIS)
            .map(|ms| Latency::Fixed(Duration(ms)))
            .ok_or_else(|| {
                E::custom(format!(
                    "latency {v} s is too large (the most is 1000 years)"
                ))
            })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Latency, E> {
        match u64::try_from(v) {
            Ok(s) => self.visit_u64(s),
            Err(_) => Err(E::custom(format!("latency {v} is negative"))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Latency, A::Error> {
        let Some(kind) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "an empty latency table: write { fixed = D }, { uniform = [MIN, MAX] } or { exponential = MEAN }",
            ));
        };
        let latency = match kind.as_str() {
            "fixed" => Latency::FixedTable {
                fixed: map.next_value()?,
            },
            "uniform" => {
                let [lo, hi]: [Duration; 2] = map.next_value()?;
                if lo > hi {
                    return Err(de::Error::custom(format!(
                        "uniform = [\"{lo}\", \"{hi}\"]: the first bound is above the second; write [min, max]"
                    )));
                }
                Latency::Uniform { uniform: [lo, hi] }
            }
            "exponential" => Latency::Exponential {
                exponential: map.next_value()?,
            },
            other => return Err(de::Error::unknown_field(other, KINDS)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a latency takes exactly one of fixed, uniform, exponential (found {kind:?} and {extra:?})"
            )));
        }
        Ok(latency)
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
