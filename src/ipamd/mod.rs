//! A node's ipamd (aws/amazon-vpc-cni-k8s v1.23.1, as restated in spec/ipamd-policy.md).
//!
//! - [`config`]: the aws-node variables (`[cni]`) and the simulation's `[model]` choices;
//! - [`policy`]: the pool-sizing rules as pure functions of the pool's counts, the settings
//!   and the instance limits (too low, too high, how much to add or release, whether to free
//!   an ENI), one function per upstream rule;
//! - [`datastore`]: the node's ENIs, their /32s or /28s and per-address records, with
//!   incremental statistics and the map-order model of Go iteration;
//! - [`Ipamd`]: the reconcile loop as an event-driven state machine over the simulated
//!   [`crate::ec2::Ec2`], with idle-tick skipping.
//!
//! The engine creates one [`Ipamd`] per node, calls [`Ipamd::launch`] when the instance
//! starts (the node turns Ready at [`Ipamd::ready_at`]), [`Ipamd::wake`] at
//! [`Ipamd::next_wake`], and [`Ipamd::assign_pod_ordered`] / [`Ipamd::release_pod_ordered`]
//! for CNI ADD / DEL, saying whether the call comes before or after the wake-ups of its
//! millisecond ([`CallOrder`]; [`Ipamd::assign_pod`] / [`Ipamd::release_pod`] are the calls
//! before). For exact equivalence with tick-by-tick runs the engine must run a millisecond's
//! calls marked before its wake-ups before them, and re-read `next_wake` after every pod
//! call (it can move earlier, or later when a check is decided idle in advance).

pub mod config;
pub mod datastore;
mod gomap;
pub mod policy;

mod agent;
mod control;

pub use agent::{
    AddKey, DECREASE_INTERVAL, INSUFFICIENT_CIDR_COOLDOWN, IP_RECONCILE_COOLDOWN, Ipamd,
    POOL_MONITOR_INTERVAL, RECONCILE_INTERVAL,
};

/// Where a CNI call falls within its millisecond, relative to the agents' wake-ups due
/// then. The engine runs a millisecond's pod events from the workloads before its ipamd
/// wake-ups and everything else (kubelet's retries, Ready, Karpenter) after them; a pool
/// check found idle in advance (idle-tick skipping) still lies ahead of a call before the
/// wake-ups of its own millisecond, and is past for one after them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallOrder {
    /// A pod event of the workloads (and what it triggers).
    #[default]
    BeforeWakes,
    /// Anything the queue delivers.
    AfterWakes,
}

/// A node's address counters at one moment, for `nodes.csv` and the time series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeIpStats {
    /// ENIs in the datastore, the primary included.
    pub enis: u32,
    /// Secondary IPs held (SIP mode).
    pub secondary_ips: u32,
    /// /28 prefixes held (PD mode).
    pub prefixes: u32,
    /// Pod-assignable addresses.
    pub total_ips: u32,
    /// Addresses held by pods.
    pub assigned_ips: u32,
    /// Released addresses still in `IP_COOLDOWN_PERIOD`.
    pub cooling_ips: u32,
    /// `total − assigned` (cooling ones included).
    pub warm_ips: u32,
    /// EC2 requests this node's ipamd sent, SDK retry attempts included.
    pub ec2_calls: u64,
    /// The most total IPs the node ever held.
    pub total_ips_peak: u32,
}
