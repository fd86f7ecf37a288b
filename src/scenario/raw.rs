//! The scenario file as written: the serde schema of DESIGN.md §4, before validation.
//!
//! Every table denies unknown keys. Values that need a position in an error message are
//! kept as [`Spanned`]; numbers that must not be negative are read as `i64` so that the
//! validator, not serde, can say what is wrong with them.

use serde::Deserialize;
use toml::Spanned;

use crate::ec2::Ec2Config;
use crate::ipamd::config::{CniConfig, ModelConfig};
use crate::subnet::SubnetConfig;
use crate::time::Duration;

/// The top level of a scenario file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub seed: Option<Spanned<i64>>,
    pub duration: Spanned<Duration>,
    #[serde(default)]
    pub sample_interval: Option<Spanned<Duration>>,
    #[serde(default)]
    pub subnet: Option<Spanned<SubnetConfig>>,
    #[serde(default)]
    pub subnets: Option<Spanned<Vec<Spanned<SubnetConfig>>>>,
    #[serde(default)]
    pub cni: Option<CniConfig>,
    #[serde(default)]
    pub model: Option<ModelConfig>,
    #[serde(default)]
    pub ec2: Option<Ec2Config>,
    #[serde(default)]
    pub start: Option<Spanned<RawStart>>,
    #[serde(default)]
    pub nodegroup: Vec<Spanned<RawNodeGroup>>,
    #[serde(default)]
    pub workload: Vec<Spanned<RawWorkload>>,
    #[serde(default)]
    pub nodepool: Vec<Spanned<RawNodePool>>,
}

/// One `[[nodepool]]` (Karpenter v1 `NodePool`, in the scenario's snake_case words).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNodePool {
    pub name: Spanned<String>,
    pub instance_types: Spanned<Vec<Spanned<String>>>,
    pub subnets: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub limits: Option<Spanned<RawLimits>>,
    #[serde(default)]
    pub disruption: Option<Spanned<RawDisruption>>,
    #[serde(default)]
    pub max_pods: Option<Spanned<i64>>,
    #[serde(default)]
    pub host_network_pods: Option<Spanned<i64>>,
}

/// `limits = { nodes = 50 }` (Karpenter's `spec.limits`; only `nodes` is modelled).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub nodes: Spanned<i64>,
}

/// `disruption = { consolidation_policy = "WhenEmpty", consolidate_after = "30s" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDisruption {
    #[serde(default)]
    pub consolidation_policy: Option<Spanned<String>>,
    #[serde(default)]
    pub consolidate_after: Option<Spanned<String>>,
}

/// One `[[nodegroup]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNodeGroup {
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    pub instance_type: Spanned<String>,
    pub count: Spanned<i64>,
    #[serde(default)]
    pub max_pods: Option<Spanned<i64>>,
    #[serde(default)]
    pub host_network_pods: Option<Spanned<i64>>,
    #[serde(default)]
    pub subnet: Option<Spanned<String>>,
    #[serde(default)]
    pub pod_subnet: Option<Spanned<String>>,
    #[serde(default)]
    pub start: Option<Spanned<Duration>>,
}

/// One `[[workload]]`: the keys of every kind; the validator checks which apply.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkload {
    pub kind: Spanned<String>,
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
    #[serde(default)]
    pub rate_per_min: Option<Spanned<f64>>,
    #[serde(default)]
    pub lifetime: Option<Spanned<RawLifetime>>,
    #[serde(default)]
    pub start: Option<Spanned<Duration>>,
    #[serde(default)]
    pub end: Option<Spanned<Duration>>,
    #[serde(default)]
    pub path: Option<Spanned<OneOrMany>>,
}

/// A path, or a list of them (`[start]` inputs, audit logs).
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// `[start]`: the exported files a run starts from (spec/real-inputs.md §1).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStart {
    pub subnets: Spanned<String>,
    pub network_interfaces: Spanned<OneOrMany>,
    #[serde(default)]
    pub reservations: Option<Spanned<OneOrMany>>,
    pub nodes: Spanned<String>,
    #[serde(default)]
    pub pods: Option<Spanned<String>>,
    #[serde(default)]
    pub aws_node: Option<Spanned<String>>,
    #[serde(default)]
    pub placement: Option<crate::subnet::Placement>,
}

impl RawWorkload {
    /// The keys present, with their spans, for "does not apply to this kind" checks.
    pub fn present_keys(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        let mut keys = Vec::new();
        if let Some(v) = &self.steps {
            keys.push(("steps", v.span()));
        }
        if let Some(v) = &self.rate_per_min {
            keys.push(("rate_per_min", v.span()));
        }
        if let Some(v) = &self.lifetime {
            keys.push(("lifetime", v.span()));
        }
        if let Some(v) = &self.start {
            keys.push(("start", v.span()));
        }
        if let Some(v) = &self.end {
            keys.push(("end", v.span()));
        }
        if let Some(v) = &self.path {
            keys.push(("path", v.span()));
        }
        keys
    }
}

/// `{ at = "30m", replicas = 110 }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub at: Spanned<Duration>,
    pub replicas: Spanned<i64>,
}

/// `{ mean = "15m" }` or `{ fixed = "5m" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLifetime {
    #[serde(default)]
    pub mean: Option<Spanned<Duration>>,
    #[serde(default)]
    pub fixed: Option<Spanned<Duration>>,
}
