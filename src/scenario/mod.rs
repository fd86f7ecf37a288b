//! Scenarios: the TOML file of DESIGN.md §4, validated into a [`Scenario`] the engine runs.
//!
//! Loading goes text → document → overrides → schema → validation:
//! 1. the text is parsed into a TOML document that remembers where every key and value is;
//! 2. `--set KEY=VALUE` overrides (`overrides.rs`) edit that document, so they are checked
//!    exactly like the file (an override's value carries a marker instead of a position);
//! 3. serde reads the document into the raw schema (`raw.rs`), which denies unknown keys in
//!    every table;
//! 4. `validate.rs` checks every value the simulator depends on and resolves names (instance
//!    types, subnets) — before anything runs.
//!
//! Every error is one line, `FILE:LINE:COL: what is wrong; what to do` (or `--set KEY=VALUE:
//! …` for an override). Things ipamd itself would accept but quietly change (prefix
//! delegation on a non-Nitro type falls back to secondary IPs) are [`Scenario::warnings`].

mod error;
mod nodepool;
mod overrides;
mod raw;
mod start;
mod validate;

use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use toml::de::DeTable;

pub use error::{Location, ScenarioError, shown};
pub use nodepool::{ConsolidationPolicy, DEFAULT_CONSOLIDATE_AFTER, NodePool};
pub use overrides::parse_override;
pub use start::Start;

use crate::catalog::InstanceType;
use crate::ec2::Ec2Config;
use crate::ipamd::config::{CniConfig, ModelConfig};
use crate::subnet::SubnetConfig;
use crate::time::Millis;
use error::Locator;

/// The shipped default scenario, embedded in the binary.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../scenarios/default.toml");

/// The `source` of the embedded default scenario.
pub const EMBEDDED_SOURCE: &str = "<embedded default>";

/// Sample interval when the scenario does not set one.
pub const DEFAULT_SAMPLE_INTERVAL: Millis = 10 * crate::time::SECOND;

/// Host-network pods per node (aws-node, kube-proxy) when a node group does not say.
pub const DEFAULT_HOST_NETWORK_PODS: u32 = 2;

/// The longest run: one year (366 days). The clock, the sample count and every counter are
/// sized for it; longer runs are refused up front.
pub const MAX_DURATION: Millis = 366 * crate::time::DAY;

/// The most time-series samples of one run (`duration / sample_interval`): a sample is
/// 128 bytes in memory and ~90 in `timeseries.csv`, so the series stays near 128 MB and its
/// CSV near 90 MB. Storage grows with the run; nothing is reserved for the worst case.
pub const MAX_SAMPLES: u64 = 1_000_000;

/// The longest scenario name, in bytes: it names a folder, and the file system must also
/// fit the `.tmp-<pid>` suffix of the temporary folder within its 255-byte name limit.
pub const MAX_NAME_BYTES: usize = 200;

/// The largest scenario file read: 16 MiB (the shipped ones are a few KB). Checked before
/// the file is read, so a huge file is one error line, not an allocation failure.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// The most nodes a scenario may have in all.
pub const MAX_NODES: u64 = 1_000_000;

/// The most pods the workloads of one run may create. A pod costs up to about 200 bytes over
/// the run (its workload events — two 16-byte events for a deployment's or a trace's pod, 4
/// to 12 bytes for a Poisson pod's, see [`crate::workload::stream`] —, its phase, name and
/// wait row, with vector slack; measured: 2.9 M pods in 527 MB peak RSS), less when few of
/// them wait (`ultra-100k.toml`: ~18 M pods and 100,000 nodes in 1.04 GB), so the limit keeps
/// a run within a few GB.
pub const MAX_PODS: u64 = 25_000_000;

/// A validated scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Names the default output folder (`output/<name>/`). Defaults to the file's stem.
    pub name: String,
    /// Seed of every random stream (default 0).
    pub seed: u64,
    /// Simulated time span; events at or after it do not happen.
    pub duration: Millis,
    /// Time-series resolution (default 10 s).
    pub sample_interval: Millis,
    /// The subnets, in file order: `[subnet]` becomes one entry (named `"default"` when
    /// unnamed); `[[subnets]]` entries all have unique names.
    pub subnets: Vec<SubnetConfig>,
    /// The `[cni]` table (aws-node variables).
    pub cni: CniConfig,
    /// The `[model]` table.
    pub model: ModelConfig,
    /// The `[ec2]` table.
    pub ec2: Ec2Config,
    /// Node groups, in file order. Nodes are numbered across them in this order:
    /// group 0's nodes first (see [`Scenario::node_index`]).
    pub nodegroups: Vec<NodeGroup>,
    /// `[[nodepool]]`s (Karpenter), in file order. Their nodes are launched during the run
    /// and numbered after every node group's, in launch order.
    pub nodepools: Vec<NodePool>,
    /// Workloads, in file order (their index names their random stream).
    pub workloads: Vec<WorkloadSpec>,
    /// `[start]`: the real cluster the run starts from (its nodes come before the node
    /// groups' in node numbering).
    pub start: Option<Start>,
    /// The file path as given, or `<embedded default>`.
    pub source: String,
    /// Accepted settings worth a word (printed before the run).
    pub warnings: Vec<String>,
}

/// One `[[nodegroup]]`: `count` nodes of one instance type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeGroup {
    /// Unique name; nodes are `{name}-{i}`, i from 0. Defaults to `nodegroup-{index}`.
    pub name: String,
    /// The instance type.
    pub instance_type: &'static InstanceType,
    /// Nodes at t=0 (0 is allowed).
    pub count: u32,
    /// kubelet max pods; `None` = the max-pods calculator's value for these settings.
    pub max_pods: Option<u32>,
    /// Host-network pods per node (count against max pods, use no pod IP). Default 2.
    pub host_network_pods: u32,
    /// Index into [`Scenario::subnets`] of the nodes' subnet (primary ENI). Default 0.
    pub subnet: usize,
    /// Index into [`Scenario::subnets`] of the pods' subnet: differs from `subnet` only with
    /// custom networking (`AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG`, the ENIConfig's subnet).
    pub pod_subnet: usize,
    /// When the group's nodes become ready (default 0): a scale-out, or a staggered launch.
    pub start: Millis,
}

impl NodeGroup {
    /// The name of node `i` of this group.
    pub fn node_name(&self, i: u32) -> String {
        format!("{}-{i}", self.name)
    }
}

/// One `[[workload]]`.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkloadSpec {
    /// A Deployment whose replica count follows `steps` (time, replicas), strictly
    /// increasing in time; zero replicas before the first step.
    Deployment {
        /// Unique workload name; pods are `{name}-{ordinal}`.
        name: String,
        /// Replica counts and when they take effect.
        steps: Vec<(Millis, u32)>,
    },
    /// Pods arriving as a Poisson process between `start` and `end`, each living `lifetime`.
    Poisson {
        /// Unique workload name; pods are `{name}-{ordinal}`.
        name: String,
        /// Mean arrivals per minute (> 0).
        rate_per_min: f64,
        /// How long each pod lives.
        lifetime: Lifetime,
        /// First possible arrival.
        start: Millis,
        /// No arrival at or after this (> start; default: the scenario's duration).
        end: Millis,
    },
    /// A recorded trace, CSV `time_s,pod,event[,node]`.
    Trace {
        /// Unique workload name.
        name: String,
        /// The trace file, resolved relative to the scenario file's folder.
        path: PathBuf,
    },
    /// Kubernetes audit logs, converted to a trace at validation (spec/real-inputs.md §8).
    Audit {
        /// Unique workload name.
        name: String,
        /// The logs, resolved relative to the scenario file's folder.
        paths: Vec<PathBuf>,
        /// The converted trace (CSV), replayed as a trace.
        csv: std::sync::Arc<str>,
    },
}

impl WorkloadSpec {
    /// The workload's name.
    pub fn name(&self) -> &str {
        match self {
            WorkloadSpec::Deployment { name, .. }
            | WorkloadSpec::Poisson { name, .. }
            | WorkloadSpec::Trace { name, .. }
            | WorkloadSpec::Audit { name, .. } => name,
        }
    }

    /// The kind as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            WorkloadSpec::Deployment { .. } => "deployment",
            WorkloadSpec::Poisson { .. } => "poisson",
            WorkloadSpec::Trace { .. } => "trace",
            WorkloadSpec::Audit { .. } => "audit",
        }
    }
}

/// How long a Poisson pod lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// Exponentially distributed with this mean (`lifetime = { mean = "15m" }`).
    Exponential {
        /// The mean.
        mean: Millis,
    },
    /// Exactly this long (`lifetime = { fixed = "5m" }`).
    Fixed(Millis),
}

/// A scenario's text and where it came from: parse it once, build many scenarios from it
/// with different overrides (what `sweep` does for each cell).
#[derive(Clone, Debug)]
pub struct ScenarioText {
    /// The TOML text.
    pub text: String,
    /// The file path as given, or `<embedded default>`; used in messages.
    pub source: String,
    /// The folder relative paths (traces) are resolved against.
    pub base_dir: PathBuf,
}

impl ScenarioText {
    /// Reads a scenario file.
    pub fn read(path: &Path) -> Result<ScenarioText, ScenarioError> {
        use std::io::Read as _;
        let read_err = |source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        // Read at most one byte past the limit: the size is checked on what is read, so a
        // device or a growing file cannot slip by a metadata check.
        let mut bytes = Vec::new();
        file.take(MAX_SCENARIO_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        if bytes.len() as u64 > MAX_SCENARIO_BYTES {
            return Err(ScenarioError::TooLarge {
                path: path.to_path_buf(),
                max: MAX_SCENARIO_BYTES,
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            read_err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        })?;
        let base_dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(ScenarioText {
            text,
            source: path.display().to_string(),
            base_dir,
        })
    }

    /// The embedded default scenario (relative paths resolve against the current folder).
    pub fn embedded() -> ScenarioText {
        ScenarioText {
            text: EMBEDDED_DEFAULT.to_string(),
            source: EMBEDDED_SOURCE.to_string(),
            base_dir: PathBuf::from("."),
        }
    }

    /// The scenario with `overrides` (`KEY=VALUE`, applied in order) applied.
    pub fn build(&self, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        Scenario::from_toml(&self.text, &self.source, &self.base_dir, overrides)
    }
}

impl Scenario {
    /// Loads and validates a scenario file, with `--set` overrides applied.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        ScenarioText::read(path)?.build(overrides)
    }

    /// Parses and validates scenario `text`. `source` names it in messages; relative paths
    /// resolve against `base_dir`.
    pub fn from_toml(
        text: &str,
        source: &str,
        base_dir: &Path,
        overrides: &[String],
    ) -> Result<Scenario, ScenarioError> {
        let loc = Locator {
            text,
            source,
            overrides,
        };
        let mut doc = DeTable::parse(text).map_err(|e| loc.toml(&e))?;
        overrides::apply(doc.get_mut(), overrides, &loc)?;
        let cni_keys: Vec<String> = match doc.get_ref().get("cni").map(|v| v.get_ref()) {
            Some(toml::de::DeValue::Table(t)) => {
                t.keys().map(|k| k.get_ref().to_string()).collect()
            }
            _ => Vec::new(),
        };
        let raw = raw::RawScenario::deserialize(toml::de::Deserializer::from(doc))
            .map_err(|e| loc.toml(&e))?;
        validate::build(raw, &loc, base_dir, &cni_keys)
    }

    /// The embedded `scenarios/default.toml`, with overrides.
    pub fn embedded_default(overrides: &[String]) -> Result<Scenario, ScenarioError> {
        ScenarioText::embedded().build(overrides)
    }

    /// Nodes in all node groups.
    pub fn node_count(&self) -> u32 {
        // Validation caps the total at MAX_NODES.
        self.imported_nodes() + self.nodegroups.iter().map(|g| g.count).sum::<u32>()
    }

    /// Nodes of `[start]` (numbered first).
    pub fn imported_nodes(&self) -> u32 {
        self.start
            .as_ref()
            .map_or(0, |s| s.snapshot.nodes.len() as u32)
    }

    /// The index of the node called `name` (`{nodegroup}-{i}`), numbering nodes across
    /// node groups in file order.
    pub fn node_index(&self, name: &str) -> Option<u32> {
        if let Some(st) = &self.start
            && let Some(i) = st.snapshot.nodes.iter().position(|n| n.name == name)
        {
            return Some(i as u32);
        }
        let (group, i) = name.rsplit_once('-')?;
        if i.is_empty()
            || !i.bytes().all(|b| b.is_ascii_digit())
            || (i.len() > 1 && i.starts_with('0'))
        {
            return None;
        }
        let i: u32 = i.parse().ok()?;
        let mut first = self.imported_nodes();
        for g in &self.nodegroups {
            if g.name == group {
                return (i < g.count).then_some(first + i);
            }
            first += g.count;
        }
        None
    }
}

/// The name of an unnamed node group.
pub(crate) fn default_nodegroup_name(index: usize) -> String {
    format!("nodegroup-{index}")
}

/// The name of an unnamed workload: its kind and its index among all workloads.
pub(crate) fn default_workload_name(kind: &str, index: usize) -> String {
    format!("{kind}-{index}")
}

#[cfg(test)]
mod tests;
