//! Static subnet planners: how many addresses a set of node groups takes from a subnet,
//! without running the simulation.
//!
//! Two calculators answer the same question for the same rows (`TYPE:COUNT:PODS`: instance
//! type, number of nodes, workload pods per node):
//!
//! * [`spreadsheet`] reproduces the EKS best-practices subnet-calculator workbook
//!   (`latest/bpg/networking/subnet-calc/subnet-calc.xlsx` in aws/aws-eks-best-practices)
//!   exactly, quirks included: whole ENIs of `IPv4 per ENI` pod slots each, two host-network
//!   addresses per node, two reserved addresses per subnet.
//! * [`steady_state`] and [`plan`] give the pool the real ipamd policy settles at
//!   (spec/ipamd-policy.md §4), for `WARM_ENI_TARGET`, `WARM_IP_TARGET` + `MINIMUM_IP_TARGET`,
//!   prefix delegation + `WARM_PREFIX_TARGET`, `MAX_ENI` and custom networking, against the
//!   subnet's usable addresses (2^(32−p) − 5), and set beside what the workbook would say.
//!
//! [`flags`] defines the planners' command lines and turns them into a [`CalcRequest`] (every
//! bad value is a clap error or a [`CalcError`] naming the flag, never a panic);
//! [`format`](mod@format) renders reports as a table, CSV or JSON.

mod cidr;
pub mod flags;
pub mod format;
pub mod lookup;
pub mod plan;
pub mod spreadsheet;
pub mod steady_state;

use crate::catalog::{CatalogError, InstanceType};
use crate::ipamd::config::CniConfig;

pub use flags::{CalcArgs, InstanceTypesArgs, MaxPodsArgs, RowSpec};
pub use format::Format;
pub use plan::SteadyPlan;
pub use spreadsheet::{Sheet, Workbook};
pub use steady_state::NodeState;

/// Host-network pods per node when `--host-network-ips` is not given: aws-node and kube-proxy.
pub const DEFAULT_HOST_NETWORK_PODS: u32 = 2;

/// One `TYPE:COUNT:PODS` entry of `--instances`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceRow {
    /// The instance type.
    pub instance_type: &'static InstanceType,
    /// Nodes of that type.
    pub count: u32,
    /// Workload pods per node (host-network pods not included).
    pub pods_per_node: u32,
}

/// The subnet the rows draw from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetSpec {
    /// The CIDR (`10.0.0.0/20`), prefix length 16 to 28.
    pub cidr: crate::subnet::Ipv4Cidr,
}

impl SubnetSpec {
    /// Its prefix length, 16 to 28.
    pub fn prefix_len(&self) -> u8 {
        self.cidr.prefix_len()
    }

    /// All addresses in the subnet, 2^(32−p).
    pub fn size(&self) -> u64 {
        self.cidr.size()
    }

    /// Addresses EC2 lets you assign: all but the first four and the last (2^(32−p) − 5).
    pub fn usable(&self) -> u64 {
        self.size() - 5
    }
}

/// Which calculator a request runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Calculator {
    /// The workbook, one sheet.
    Spreadsheet(Sheet),
    /// ipamd's steady state under these aws-node settings.
    SteadyState(CniConfig),
}

/// A validated `ipamsim calc` invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalcRequest {
    /// The subnet.
    pub subnet: SubnetSpec,
    /// The rows, in the order given.
    pub rows: Vec<InstanceRow>,
    /// Host-network pods per node (the workbook counts each as an address).
    pub host_network: u32,
    /// Which calculator.
    pub calculator: Calculator,
    /// Output format.
    pub format: Format,
}

/// What a calculator produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Report {
    /// `calc --spreadsheet`.
    Workbook(Workbook),
    /// `calc`.
    SteadyState(SteadyPlan),
}

/// Runs the request's calculator.
pub fn run(req: &CalcRequest) -> Report {
    match &req.calculator {
        Calculator::Spreadsheet(sheet) => Report::Workbook(spreadsheet::workbook(
            &req.subnet,
            *sheet,
            req.host_network,
            &req.rows,
        )),
        Calculator::SteadyState(cni) => Report::SteadyState(plan::steady_plan(
            &req.subnet,
            cni,
            req.host_network,
            &req.rows,
        )),
    }
}

/// A `calc` or `instance-types` command line whose values each parse but do not fit together
/// (or name no type). Each message names the flag and says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalcError {
    /// Flags that cannot be combined.
    #[error("{0}")]
    Conflict(String),
    /// A type ipamd knows that the workbook's lookup table lacks: its row there is `#N/A`.
    #[error(
        "--spreadsheet: the workbook has no {0} in its maxENI table, so its row and every \
         total show #N/A; drop --spreadsheet for ipamd's steady state"
    )]
    NotInWorkbook(String),
    /// An unknown instance type.
    #[error(transparent)]
    UnknownType(#[from] CatalogError),
    /// No instance type matches an `instance-types` pattern.
    #[error("no instance type matches {pattern:?}{}", hint(.suggestions))]
    NoMatch {
        /// The pattern.
        pattern: String,
        /// Close names.
        suggestions: Vec<String>,
    },
}

fn hint(s: &[String]) -> String {
    if s.is_empty() {
        " (run `ipamsim instance-types` to list them all)".into()
    } else {
        format!("; did you mean {}?", s.join(", "))
    }
}
