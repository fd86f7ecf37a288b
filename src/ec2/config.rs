//! The `[ec2]` table: per-action latency and throttling, with the defaults of
//! spec/ec2-subnet.md §6–7.
//!
//! ```toml
//! [ec2]
//! latency = { AssignPrivateIpAddresses = "500ms",                  # fixed
//!             AttachNetworkInterface = { uniform = ["2s", "8s"] },  # uniform, inclusive
//!             CreateNetworkInterface = { exponential = "1s" } }     # exponential, this mean
//! throttle = { AssignPrivateIpAddresses = { capacity = 100, refill_per_s = 5 } }
//! ```
//!
//! Keys are API action names (an unknown one is an error listing the valid names). A latency
//! is a duration (`"500ms"`, `"2s"`, or an integer number of seconds), `{ fixed = D }`,
//! `{ uniform = [MIN, MAX] }` or `{ exponential = MEAN }`. A throttle override may give
//! `capacity`, `refill_per_s` or both; what it omits keeps the default.
//!
//! Defaults. Throttling (spec §6): 100 tokens refilled at 5/s for the address and ENI
//! mutations and ModifyNetworkInterfaceAttribute, CreateTags 100 at 10/s, Attach/Detach 50 at
//! 5/s, DescribeNetworkInterfaces and DescribeInstances 50 at 10/s, DescribeSubnets 100 at
//! 20/s. Latency (spec §7): Assign 0.5 s, Unassign 0.3 s, Create 1 s, Attach 5 s, Detach 2 s,
//! Delete 0.5 s; the spec gives none for the rest, so we take small read-like values:
//! ModifyNetworkInterfaceAttribute 0.3 s, DescribeNetworkInterfaces 0.3 s, DescribeInstances
//! 0.3 s, DescribeSubnets 0.2 s, CreateTags 0.2 s.

use std::collections::BTreeMap;
use std::fmt;

use rand::RngExt as _;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::Action;
use crate::rng::Rng;
use crate::time::{Duration, Millis, SECOND, parse_duration};

/// The `[ec2]` table of a scenario: latency and throttling overrides by action name.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2Config {
    /// Per-action latency; actions not listed keep [`Action::default_latency`].
    #[serde(default)]
    pub latency: BTreeMap<Action, Latency>,
    /// Per-action token bucket; actions not listed keep [`Action::default_throttle`].
    #[serde(default)]
    pub throttle: BTreeMap<Action, Throttle>,
}

impl Ec2Config {
    /// The latency `action` takes under this configuration.
    pub fn latency_of(&self, action: Action) -> Latency {
        self.latency
            .get(&action)
            .copied()
            .unwrap_or_else(|| action.default_latency())
    }

    /// The token bucket of `action` under this configuration, overrides merged.
    pub fn throttle_of(&self, action: Action) -> Bucket {
        let default = action.default_throttle();
        match self.throttle.get(&action) {
            None => default,
            Some(t) => Bucket {
                capacity: t.capacity.unwrap_or(default.capacity),
                refill_per_s: t.refill_per_s.unwrap_or(default.refill_per_s),
            },
        }
    }
}

/// A resolved token bucket: `capacity` tokens, refilled at `refill_per_s`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    /// Tokens the bucket holds when full (it starts full).
    pub capacity: u32,
    /// Tokens added per second, up to `capacity`.
    pub refill_per_s: f64,
}

/// `throttle = { Action = { capacity = N, refill_per_s = R } }`.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Bucket size, at least 1.
    #[serde(default, deserialize_with = "capacity")]
    pub capacity: Option<u32>,
    /// Refill rate in tokens per second, finite and ≥ 0 (0: the bucket never refills).
    #[serde(default, deserialize_with = "refill")]
    pub refill_per_s: Option<f64>,
}

fn capacity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let n: u32 = serde::Deserialize::deserialize(d)?;
    if n == 0 {
        return Err(de::Error::custom(
            "capacity = 0 throttles every call; give the bucket at least 1 token",
        ));
    }
    Ok(Some(n))
}

fn refill<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let r: f64 = serde::Deserialize::deserialize(d)?;
    if !(0.0..=1e6).contains(&r) {
        return Err(de::Error::custom(format!(
            "refill_per_s = {r} is not a rate: write tokens per second, from 0 to 1000000"
        )));
    }
    Ok(Some(r))
}

/// How long an action takes, as a fixed value or a seeded distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latency {
    /// Always this long.
    Fixed(Millis),
    /// Uniform over `min ..= max`, whole milliseconds.
    Uniform {
        /// Shortest.
        min: Millis,
        /// Longest.
        max: Millis,
    },
    /// Exponential with this mean, rounded to the millisecond.
    Exponential {
        /// Mean.
        mean: Millis,
    },
}

impl Latency {
    /// One latency, drawing from `rng` unless fixed.
    pub fn sample(self, rng: &mut Rng) -> Millis {
        match self {
            Latency::Fixed(ms) => ms,
            Latency::Uniform { min, max } => rng.random_range(min..=max),
            Latency::Exponential { mean } => {
                // Inversion with u in (0, 1]; `ln` below uses only IEEE-exact operations, so
                // the draw is the same on every platform (std's `ln` comes from the libm).
                let u = ((rng.random::<u64>() >> 11) + 1) as f64 / (1u64 << 53) as f64;
                let x = -(mean as f64) * ln(u);
                x.round().min(1e15) as Millis
            }
        }
    }
}

/// Natural logarithm of `x > 0` from `+ − × ÷` alone: x = m·2^e with m in [√½, √2), then
/// ln m = 2·atanh(s), s = (m−1)/(m+1), |s| < 0.172, by its series (terms to s^27: below
/// 1e-20 relative).
fn ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_finite() && x.is_normal());
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | (1023 << 52));
    if m > std::f64::consts::SQRT_2 {
        m /= 2.0;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let (mut term, mut sum) = (s, 0.0);
    for k in 0..14 {
        sum += term / f64::from(2 * k + 1);
        term *= s2;
    }
    e as f64 * std::f64::consts::LN_2 + 2.0 * sum
}

impl<'de> serde::Deserialize<'de> for Latency {
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
            "a latency: a duration such as \"500ms\", or { uniform = [\"0.5s\", \"1.5s\"] }, or { exponential = \"1s\" }",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Latency, E> {
        parse_duration(v).map(Latency::Fixed).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Latency, E> {
        Ok(Latency::Fixed(v.saturating_mul(SECOND)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Latency, E> {
        u64::try_from(v)
            .map(|s| Latency::Fixed(s.saturating_mul(SECOND)))
            .map_err(|_| E::custom(format!("latency {v} is negative")))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Latency, A::Error> {
        let Some(kind) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "an empty latency table: write { fixed = D }, { uniform = [MIN, MAX] } or { exponential = MEAN }",
            ));
        };
        let latency = match kind.as_str() {
            "fixed" => Latency::Fixed(map.next_value::<Duration>()?.millis()),
            "uniform" => {
                let [min, max] = map.next_value::<[Duration; 2]>()?;
                if min > max {
                    return Err(de::Error::custom(format!(
                        "uniform = [\"{min}\", \"{max}\"]: the minimum is above the maximum"
                    )));
                }
                Latency::Uniform {
                    min: min.millis(),
                    max: max.millis(),
                }
            }
            "exponential" => Latency::Exponential {
                mean: map.next_value::<Duration>()?.millis(),
            },
            other => return Err(de::Error::unknown_variant(other, KINDS)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a latency takes exactly one of fixed, uniform, exponential (found also {extra:?})"
            )));
        }
        Ok(latency)
    }
}

impl Action {
    /// Latency when `[ec2] latency` does not name the action (module docs).
    pub fn default_latency(self) -> Latency {
        let ms = match self {
            Action::AssignPrivateIpAddresses => 500,
            Action::UnassignPrivateIpAddresses => 300,
            Action::CreateNetworkInterface => 1_000,
            Action::AttachNetworkInterface => 5_000,
            Action::ModifyNetworkInterfaceAttribute => 300,
            Action::DetachNetworkInterface => 2_000,
            Action::DeleteNetworkInterface => 500,
            Action::DescribeNetworkInterfaces => 300,
            Action::DescribeInstances => 300,
            Action::DescribeSubnets => 200,
            Action::CreateTags => 200,
        };
        Latency::Fixed(ms)
    }

    /// Token bucket when `[ec2] throttle` does not name the action (spec §6).
    pub fn default_throttle(self) -> Bucket {
        let (capacity, refill_per_s) = match self {
            Action::AssignPrivateIpAddresses
            | Action::UnassignPrivateIpAddresses
            | Action::CreateNetworkInterface
            | Action::DeleteNetworkInterface
            | Action::ModifyNetworkInterfaceAttribute => (100, 5.0),
            Action::CreateTags => (100, 10.0),
            Action::AttachNetworkInterface | Action::DetachNetworkInterface => (50, 5.0),
            Action::DescribeNetworkInterfaces | Action::DescribeInstances => (50, 10.0),
            Action::DescribeSubnets => (100, 20.0),
        };
        Bucket {
            capacity,
            refill_per_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;

    fn parse(text: &str) -> Result<Ec2Config, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn parses_the_design_example() {
        let c = parse(
            r#"
            latency = { AssignPrivateIpAddresses = "500ms", AttachNetworkInterface = "5s" }
            throttle = { AssignPrivateIpAddresses = { capacity = 100, refill_per_s = 5 } }
            "#,
        )
        .unwrap();
        assert_eq!(
            c.latency_of(Action::AttachNetworkInterface),
            Latency::Fixed(5_000)
        );
        assert_eq!(
            c.throttle_of(Action::AssignPrivateIpAddresses),
            Bucket {
                capacity: 100,
                refill_per_s: 5.0
            }
        );
    }

    #[test]
    fn distributions_and_partial_overrides() {
        let c = parse(
            r#"
            [latency]
            CreateNetworkInterface = { uniform = ["0.5s", "1.5s"] }
            AttachNetworkInterface = { exponential = "2s" }
            DescribeSubnets = { fixed = "50ms" }
            CreateTags = 2
            [throttle]
            DescribeInstances = { refill_per_s = 0.5 }
            "#,
        )
        .unwrap();
        assert_eq!(
            c.latency_of(Action::CreateNetworkInterface),
            Latency::Uniform {
                min: 500,
                max: 1_500
            }
        );
        assert_eq!(
            c.latency_of(Action::AttachNetworkInterface),
            Latency::Exponential { mean: 2_000 }
        );
        assert_eq!(c.latency_of(Action::DescribeSubnets), Latency::Fixed(50));
        assert_eq!(c.latency_of(Action::CreateTags), Latency::Fixed(2_000));
        // Not overridden: the defaults.
        assert_eq!(
            c.latency_of(Action::AssignPrivateIpAddresses),
            Latency::Fixed(500)
        );
        assert_eq!(
            c.throttle_of(Action::DescribeInstances),
            Bucket {
                capacity: 50,
                refill_per_s: 0.5
            }
        );
        assert_eq!(
            c.throttle_of(Action::DescribeSubnets),
            Bucket {
                capacity: 100,
                refill_per_s: 20.0
            }
        );
    }

    #[test]
    fn bad_tables_are_errors_that_say_why() {
        for (text, says) in [
            (
                "latency = { AssignIps = \"1s\" }",
                "AssignPrivateIpAddresses",
            ),
            ("latency = { CreateTags = \"soon\" }", "invalid duration"),
            (
                "latency = { CreateTags = { normal = \"1s\" } }",
                "exponential",
            ),
            (
                "latency = { CreateTags = { uniform = [\"2s\", \"1s\"] } }",
                "minimum is above",
            ),
            (
                "latency = { CreateTags = { fixed = \"1s\", exponential = \"1s\" } }",
                "exactly one",
            ),
            ("latency = { CreateTags = {} }", "empty latency"),
            ("latency = { CreateTags = -3 }", "negative"),
            ("throttle = { CreateTags = { capacity = 0 } }", "at least 1"),
            (
                "throttle = { CreateTags = { refill_per_s = -1 } }",
                "not a rate",
            ),
            ("throttle = { CreateTags = { burst = 3 } }", "capacity"),
            ("jitter = 3", "latency"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn every_action_has_the_spec_defaults() {
        let c = Ec2Config::default();
        assert_eq!(c.throttle_of(Action::AttachNetworkInterface).capacity, 50);
        assert_eq!(c.throttle_of(Action::CreateTags).refill_per_s, 10.0);
        assert_eq!(
            c.latency_of(Action::DetachNetworkInterface),
            Latency::Fixed(2_000)
        );
        for a in Action::ALL {
            assert!(c.throttle_of(a).capacity > 0);
            assert!(matches!(c.latency_of(a), Latency::Fixed(ms) if ms > 0));
        }
    }

    #[test]
    fn ln_matches_std_closely() {
        for x in [
            1e-300, 1e-9, 0.001, 0.25, 0.5, 0.7, 1.0, 1.5, 2.0, 10.0, 12345.678,
        ] {
            let (ours, std) = (ln(x), f64::ln(x));
            assert!(
                (ours - std).abs() <= 1e-14 * std.abs().max(1.0),
                "{x}: {ours} vs {std}"
            );
        }
    }

    #[test]
    fn samples_follow_their_distribution() {
        let mut rng = Streams::new(4).stream("t", 0);
        assert_eq!(Latency::Fixed(700).sample(&mut rng), 700);
        let u = Latency::Uniform { min: 100, max: 300 };
        let xs: Vec<Millis> = (0..20_000).map(|_| u.sample(&mut rng)).collect();
        assert!(xs.iter().all(|x| (100..=300).contains(x)));
        assert!(xs.contains(&100) && xs.contains(&300));
        let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
        assert!((mean - 200.0).abs() < 2.0, "{mean}");
        let e = Latency::Exponential { mean: 1_000 };
        let xs: Vec<Millis> = (0..20_000).map(|_| e.sample(&mut rng)).collect();
        let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
        // sd of the mean ≈ 1000 / √20000 ≈ 7.
        assert!((mean - 1_000.0).abs() < 35.0, "{mean}");
        let median = {
            let mut s = xs.clone();
            s.sort_unstable();
            s[s.len() / 2] as f64
        };
        assert!((median - 693.0).abs() < 25.0, "{median}");
    }
}
