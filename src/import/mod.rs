//! Starting from a real cluster: the exports `aws` and `kubectl` write, read into one
//! checked [`Snapshot`] (spec/real-inputs.md).
//!
//! One file per export kind reads its fields (`subnets`, `enis`, `reservations`, `nodes`,
//! `pods`, `aws_node`, `audit`); [`json`] tells a file's kind by its top level and reports
//! YAML, CLI text, bare arrays and JSON cut short; `snapshot` joins the exports, classes
//! every interface and runs the checks of §3–§8 in that order (the first failure is the
//! error: the file and the object's ID, exit 2); `account` is the importer's own account,
//! `import.json`; `write` is `ipamsim import`. What a run makes of a snapshot at t=0 is
//! [`crate::start`].

pub mod account;
pub mod audit;
pub mod aws_node;
pub mod enis;
pub mod json;
pub mod nodes;
pub mod pods;
mod read;
pub mod reservations;
mod snapshot;
mod state;
pub mod subnets;
pub mod write;
pub mod zones;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

pub use state::{FixedEni, NodeEni, NodeState, PodState, Snapshot, SubnetState};

/// An export that cannot be used, and why. Every message names the file; JSON errors also the
/// line and column, semantic ones the object's ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("{file}: cannot read it: {message}")]
    Read {
        /// The file as shown.
        file: String,
        /// What the OS said.
        message: String,
    },
    /// Not JSON, or JSON cut short, at a place.
    #[error("{file}:{line}:{column}: {message}")]
    Json {
        /// The file as shown.
        file: String,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// The wrong kind of file, or an object the simulator cannot start from.
    #[error("{file}: {message}")]
    Invalid {
        /// The file as shown.
        file: String,
        /// What is wrong (naming the object) and what to do.
        message: String,
    },
    /// Something missing from the command line or `[start]`.
    #[error("{0}")]
    Usage(String),
}

/// The exported files of one start, as given (`[start]` or `ipamsim import` flags).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// `describe-subnets`.
    pub subnets: Option<PathBuf>,
    /// `describe-network-interfaces`, one or more pages or filters.
    pub network_interfaces: Vec<PathBuf>,
    /// `get-subnet-cidr-reservations`, one per subnet.
    pub reservations: Vec<PathBuf>,
    /// `kubectl get nodes`.
    pub nodes: Option<PathBuf>,
    /// `kubectl get pods -A`.
    pub pods: Option<PathBuf>,
    /// `kubectl get daemonset aws-node`.
    pub aws_node: Option<PathBuf>,
}

/// What the caller adds to the exports.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Subnets `[[nodegroup]]` entries name (by `SubnetId` or `Name` tag): modelled too.
    pub extra_subnets: Vec<String>,
    /// `[cni]` variables the scenario or `--set` gives: aws-node may take them from
    /// `valueFrom`/`envFrom`.
    pub provided_cni: Vec<String>,
}

impl Sources {
    /// Loads and checks every export (spec §2–§8).
    pub fn load(&self, options: &Options) -> Result<Snapshot, ImportError> {
        snapshot::build(self, options)
    }
}

/// How a path is shown in messages: as given, without a leading `./`.
pub fn shown(path: &Path) -> String {
    let s = path.display().to_string();
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// `{"Key": …, "Value": …}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Tag {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// The value of tag `key`.
pub(crate) fn tag<'a>(tags: Option<&'a [Tag]>, key: &str) -> Option<&'a str> {
    tags?
        .iter()
        .find(|t| t.key == key)
        .map(|t| t.value.as_str())
}

/// Deserialises one array element, naming it on failure.
pub(crate) fn from_item<T: serde::de::DeserializeOwned>(
    item: &Value,
    file: &str,
    what: &str,
) -> Result<T, ImportError> {
    T::deserialize(item).map_err(|e| ImportError::Invalid {
        file: file.to_string(),
        message: format!("{what}: {}", one_line(&e.to_string())),
    })
}

/// A dotted IPv4 address as a `u32`.
pub fn parse_ipv4(text: &str) -> Option<u32> {
    text.trim()
        .parse::<std::net::Ipv4Addr>()
        .ok()
        .map(u32::from)
}

/// A `u32` as a dotted IPv4 address.
pub fn ipv4(addr: u32) -> String {
    std::net::Ipv4Addr::from(addr).to_string()
}

pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
