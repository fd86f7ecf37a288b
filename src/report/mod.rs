//! What a run reports, and how it is written.
//!
//! [`RunOutput`] is the complete, in-memory result of one run: the rows of every CSV file of
//! DESIGN.md §5, in the contract's column order, plus the /28 block maps for `blocks.svg`.
//! Writers turn it into an output folder; nothing here reads wall time, so a folder is a pure
//! function of (scenario, seed).
//!
//! - [`csv`] writes the five CSV files of DESIGN.md §5 (exact, locale-free numbers);
//! - [`plots`] and [`ec2_plot`] draw `ips.svg`, `subnet.svg` and `ec2.svg` with plotters
//!   through [`plot`] (the glue: fonts, legends, integer key-point axes, a tested post-pass);
//!   [`blocks`] draws `blocks.svg`, the one chart written by hand (a `<title>` per cell);
//! - [`format`](mod@format) writes numbers, times and text for people (pages and charts alike);
//! - [`html`] assembles the self-contained `report.html` (style sheet and page frame in the
//!   private `page` module, shared with `sweep.html`);
//! - [`comparison`] judges a sweep's cells and writes `sweep.csv`; it re-exports
//!   `sweep_svg` and `sweep_html`, drawn by the private `sweep_chart` and `sweep_page`
//!   modules;
//! - [`folder`] writes a set of files into an output folder atomically ([`write_run`]).
//!
//! PNG copies of the plots are not written: rasterising text needs a font, and the report
//! embeds none (browsers render the SVG text with the system's fonts).

mod autoscale;
pub mod blocks;
pub mod collect;
pub mod comparison;
pub mod csv;
pub mod ec2_plot;
pub mod folder;
pub mod format;
pub mod html;
pub(crate) mod page;
pub mod plot;
pub mod plots;
mod readiness;
mod subnet_lines;
mod sweep_chart;
#[cfg(test)]
mod sweep_fixture;
mod sweep_page;
pub mod text;

pub use folder::{render_run, write_folder, write_run, write_run_with};

// The model's own types, converted here (they live with the idea they belong to).
pub use crate::cluster::WaitReason;
pub use crate::ec2::Ec2Minute;
pub use crate::subnet::BlockState;

/// `summary.csv`: one row, DESIGN.md §5 column order.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    #[serde(serialize_with = "csv::ser_secs")]
    pub duration_s: f64,
    pub nodes: u32,
    pub pods_peak: u32,
    pub pods_final: u32,
    pub pods_unschedulable: u32,
    pub pods_waited_for_ip: u32,
    #[serde(serialize_with = "csv::ser_secs")]
    pub ip_wait_p50_s: f64,
    #[serde(serialize_with = "csv::ser_secs")]
    pub ip_wait_p99_s: f64,
    #[serde(serialize_with = "csv::ser_secs")]
    pub ip_wait_max_s: f64,
    pub assigned_ips_final: u64,
    pub warm_ips_final: u64,
    pub cooling_ips_final: u64,
    pub total_ips_final: u64,
    pub total_ips_peak: u64,
    pub enis_final: u64,
    pub prefixes_final: u64,
    pub subnet_usable: u64,
    pub subnet_used_final: u64,
    pub subnet_used_peak: u64,
    pub subnet_free_min: u64,
    pub free_prefix_blocks_final: u64,
    pub free_prefix_blocks_min: u64,
    pub insufficient_cidr_blocks: u64,
    pub insufficient_free_addresses: u64,
    /// Empty when no `InsufficientCidrBlocks` happened.
    #[serde(serialize_with = "csv::ser_opt_secs")]
    pub first_insufficient_cidr_s: Option<f64>,
    pub fragmentation_score_final: u32,
    pub fragmentation_score_max: u32,
    pub ec2_calls: u64,
    pub ec2_throttled: u64,
    pub events: u64,
    /// Nodes of groups that join later (`start`) whose primary ENI found no free address;
    /// they never become ready. (After the DESIGN.md columns: an extension.)
    pub nodes_launch_failed: u32,
    /// Nodes Ready at the end (spec §6.3: first successful ipamd init).
    pub nodes_ready_final: u32,
    /// Median time from a node's start to Ready, over nodes that became Ready (empty if
    /// none did).
    #[serde(serialize_with = "csv::ser_opt_secs")]
    pub node_ready_p50_s: Option<f64>,
    /// Longest time from a node's start to Ready, over nodes that became Ready.
    #[serde(serialize_with = "csv::ser_opt_secs")]
    pub node_ready_max_s: Option<f64>,
    /// Nodes Karpenter launched (`[[nodepool]]`), launches that found no address included.
    pub nodes_launched: u32,
    /// Nodes Karpenter's consolidation terminated.
    pub nodes_terminated: u32,
    /// Pods that waited for an address on a Ready node while node pools were there to
    /// scale: Karpenter does not see them (they are scheduled), so none triggered a launch.
    /// 0 without node pools.
    pub ip_waits_unseen_by_karpenter: u32,
    /// Pods that waited for a node slot after every node up at t=0 was Ready: those still
    /// queued then and every one queued later — the capacity shortfall without the start-up
    /// wait that `pods_unschedulable` includes (pods created with the cluster wait for its
    /// nodes to turn Ready). Equals `pods_unschedulable` if the starting nodes never all
    /// became Ready.
    pub pods_unschedulable_after_ready: u32,
    /// p99 IP wait (nearest rank) over the pods bound after every node up at t=0 was Ready:
    /// `ip_wait_p99_s` without the start-up burst (pods created with the cluster are bound
    /// the moment their node turns Ready, to a warm pool still filling). Equals
    /// `ip_wait_p99_s` if the starting nodes never all became Ready.
    pub ip_wait_p99_after_ready_s: f64,
}

/// `nodes.csv`: one row per node at the end of the run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct NodeRow {
    pub node: String,
    pub nodegroup: String,
    pub instance_type: String,
    pub max_pods: u32,
    pub pods: u32,
    pub enis: u32,
    pub secondary_ips: u32,
    pub prefixes: u32,
    pub total_ips: u32,
    pub assigned_ips: u32,
    pub warm_ips: u32,
    pub cooling_ips: u32,
    pub total_ips_peak: u32,
    pub ec2_calls: u64,
    /// When the node became Ready (also if Karpenter removed it since); empty if it never
    /// did.
    #[serde(serialize_with = "csv::ser_opt_secs")]
    pub ready_s: Option<f64>,
    /// How often its ipamd started again (spec §6.4).
    pub ipamd_restarts: u32,
    /// When its instance started (its group's `start`, or Karpenter's launch); empty if
    /// that time is after the run.
    #[serde(serialize_with = "csv::ser_opt_secs")]
    pub launched_s: Option<f64>,
    /// When Karpenter terminated it (or its launch found no address); empty while it runs.
    #[serde(serialize_with = "csv::ser_opt_secs")]
    pub terminated_s: Option<f64>,
}

/// `timeseries.csv`: one row per `sample_interval` (the last two columns cumulative).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Sample {
    #[serde(serialize_with = "csv::ser_secs")]
    pub time_s: f64,
    pub pods_running: u32,
    pub pods_waiting_ip: u32,
    pub pods_unschedulable: u32,
    pub assigned_ips: u64,
    pub warm_ips: u64,
    pub cooling_ips: u64,
    pub total_ips: u64,
    pub enis: u64,
    pub prefixes: u64,
    pub subnet_used: u64,
    pub subnet_free: u64,
    pub free_prefix_blocks: u64,
    pub fragmentation_score: u32,
    pub ec2_calls: u64,
    pub insufficient_cidr_blocks: u64,
    /// Ready nodes (after the DESIGN.md columns: an extension).
    pub nodes_ready: u32,
}

/// `subnets.csv`: one row per subnet, in the scenario's order. Peaks and minima are over the
/// samples (the final state included), like `summary.csv`'s; the rows add up to
/// `summary.csv`'s `subnet_usable`, `subnet_used_final`, `free_prefix_blocks_final`,
/// `insufficient_*` and `enis_final` (ENIs of the nodes' datastores, by the subnet each ENI
/// is in).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct SubnetRow {
    pub name: String,
    pub cidr: String,
    /// `availability_zone`, empty when the scenario gives none.
    pub zone: String,
    pub usable: u64,
    pub used_final: u64,
    pub used_peak: u64,
    pub free_min: u64,
    pub free_prefix_blocks_final: u64,
    pub free_prefix_blocks_min: u64,
    pub insufficient_cidr_blocks: u64,
    pub insufficient_free_addresses: u64,
    /// Empty when EC2 never answered `InsufficientCidrBlocks` for this subnet.
    #[serde(serialize_with = "csv::ser_opt_secs")]
    pub first_insufficient_cidr_s: Option<f64>,
    pub fragmentation_score_final: u32,
    pub fragmentation_score_max: u32,
    pub enis_final: u64,
}

/// One subnet at one sample time; `subnet` indexes [`RunOutput::subnets`]. Written as
/// `subnet_timeseries.csv` (`time_s,subnet,used,free,free_prefix_blocks,
/// fragmentation_score`, the subnet by name), sample by sample, subnets in order.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SubnetSample {
    pub time_s: f64,
    pub subnet: u32,
    pub used: u32,
    pub free: u32,
    pub free_prefix_blocks: u32,
    pub fragmentation_score: u32,
}

/// `ec2_calls.csv`: one row per action.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Ec2Row {
    pub action: String,
    pub calls: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub throttled: u64,
    pub insufficient_cidr_blocks: u64,
    pub insufficient_free_addresses: u64,
}

/// `pod_waits.csv`: one row per pod that waited for an IP.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PodWait {
    pub pod: String,
    pub node: String,
    #[serde(serialize_with = "csv::ser_secs")]
    pub bound_s: f64,
    /// Empty when the pod never got an address (deleted while waiting, or still waiting at
    /// the end; `wait_s` then runs to that moment).
    #[serde(serialize_with = "csv::ser_opt_secs")]
    pub ip_s: Option<f64>,
    #[serde(serialize_with = "csv::ser_secs")]
    pub wait_s: f64,
    pub reason: WaitReason,
}

impl Default for PodWait {
    /// An empty row (its serde field names are `pod_waits.csv`'s columns).
    fn default() -> Self {
        PodWait {
            pod: String::new(),
            node: String::new(),
            bound_s: 0.0,
            ip_s: None,
            wait_s: 0.0,
            reason: WaitReason::NoIp,
        }
    }
}

/// The block map of one subnet at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockMap {
    /// Subnet name.
    pub subnet: String,
    /// Subnet CIDR, e.g. `10.0.0.0/21`.
    pub cidr: crate::subnet::Ipv4Cidr,
    /// Simulated time of the snapshot, seconds.
    pub time_s: f64,
    /// One entry per /28, in address order.
    pub blocks: Vec<BlockState>,
}

/// Everything one run produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunOutput {
    pub summary: Summary,
    pub nodes: Vec<NodeRow>,
    pub timeseries: Vec<Sample>,
    pub ec2_calls: Vec<Ec2Row>,
    pub pod_waits: Vec<PodWait>,
    /// Block maps at the end of the run, one per subnet.
    pub blocks_final: Vec<BlockMap>,
    /// Block maps at the first `InsufficientCidrBlocks`, if any.
    pub blocks_first_insufficient: Option<Vec<BlockMap>>,
    /// Key settings to show in the report, as (name, value) in display order.
    pub settings: Vec<(String, String)>,
    /// EC2 calls per minute by action, for `ec2.svg` (see [`Ec2Minute`]). When empty, the
    /// plot falls back to all actions together, from `timeseries`' cumulative `ec2_calls`.
    pub ec2_per_minute: Vec<Ec2Minute>,
    /// `subnets.csv`.
    pub subnets: Vec<SubnetRow>,
    /// `subnet_timeseries.csv`.
    pub subnet_timeseries: Vec<SubnetSample>,
}
