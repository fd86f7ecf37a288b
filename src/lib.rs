//! # ipamsim
//!
//! A deterministic discrete-event simulator of warm-pool IP consumption in a VPC subnet under
//! the Amazon VPC CNI (ipamd), plus the static planners capacity planners already know (EKS's
//! max-pods calculator and the best-practices subnet-calculator workbook).
//!
//! The model, in one paragraph (DESIGN.md §1): time is an integer count of milliseconds owned
//! by the [`engine`]. Workloads ([`workload`]) emit pod arrivals and departures; the
//! [`cluster`] scheduler binds each pod to a node; the node's ipamd ([`ipamd`]) hands the pod
//! an address from its warm pool or the pod waits. Each ipamd runs the upstream reconcile loop
//! and calls the simulated EC2 control plane ([`ec2`]), which carves ENIs, secondary IPs and
//! aligned /28 prefixes out of the subnet bitmap ([`subnet`]). The [`report`] module writes
//! what happened.
//!
//! Specifications: `spec/ipamd-policy.md` (pool sizing, upstream v1.23.1) and
//! `spec/ec2-subnet.md` (subnet and EC2 semantics), shipped beside DESIGN.md.

pub mod batch;
pub mod calc;
pub mod catalog;
pub mod cluster;
pub mod criteria;
pub mod ec2;
pub mod engine;
pub mod error;
pub mod headroom;
pub mod hugepages;
pub mod import;
pub mod invariants;
pub mod ipamd;
pub mod karpenter;
pub mod placement;
pub mod prefetch;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod start;
pub mod subnet;
pub mod suggest;
pub mod sweep;
pub mod time;
pub mod tune;
pub mod workload;

pub use error::Error;
