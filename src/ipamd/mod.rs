//! A node's ipamd: its settings ([`config`]), its datastore of ENIs, addresses and prefixes
//! ([`datastore`]), the pure pool-sizing policy ([`policy`]), and the event-driven loop that
//! calls EC2 ([`Ipamd`]).

pub mod config;
pub mod datastore;
pub mod gomap;
pub mod policy;

mod agent;
mod control;

pub use agent::{
    DECREASE_INTERVAL, INSUFFICIENT_CIDR_COOLDOWN, IP_RECONCILE_COOLDOWN, Ipamd,
    POOL_MONITOR_INTERVAL, RECONCILE_INTERVAL,
};

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
