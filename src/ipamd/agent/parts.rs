//! The groups of [`Ipamd`](super::Ipamd)'s fields, by how long what they hold lasts: fixed
//! settings, what EC2 holds beyond the datastore, the process's life, the pool rules' gates,
//! the pass in progress, and the counters for reports.

use std::collections::BTreeMap;

use super::state::{Drift, Found, HeldEni};
use crate::ec2::{Cidr, Ec2Error, EniId, SubnetId};

use crate::ipamd::policy::PoolStats;
use crate::time::Millis;

/// Fixed at creation: the `[cni]` and `[model]` settings the pool rules do not take
/// ([`crate::ipamd::policy::Settings`] holds those), the node's subnets, the loop's phase.
#[derive(Clone, Debug)]
pub(super) struct Config {
    /// `ENABLE_SUBNET_DISCOVERY`.
    pub(super) subnet_discovery: bool,
    /// EKS Auto Mode: a prefix request EC2 refuses with `InsufficientCidrBlocks` is made
    /// again as secondary IPs ([`crate::ipamd::config::Networking::AutoMode`]).
    pub(super) ip_fallback: bool,
    /// Not `DISABLE_LEAKED_ENI_CLEANUP`.
    pub(super) leaked_eni_cleanup: bool,
    /// IMDS's delay in showing a new ENI's addresses.
    pub(super) imds_delay: Millis,
    /// From the aws-node container's start to ipamd's.
    pub(super) start_delay: Millis,
    /// How long a failed init's process lives before the liveness probe kills it.
    pub(super) liveness_kill: Millis,
    /// The subnet of the node's primary ENI.
    pub(super) node_subnet: SubnetId,
    /// The subnet of pod ENIs (custom networking; `node_subnet` otherwise).
    pub(super) pod_subnet: SubnetId,
    /// Idle-tick skipping is on (module docs).
    pub(super) skip_idle: bool,
    /// The loop's offset in [0, 5 s), the node stream's first draw.
    pub(super) phase: Millis,
}

/// ENIs and CIDRs EC2 holds for the node beyond the datastore, and the reconcile cooldown
/// cache: what reconcile and the leaked-ENI cleanup work on.
#[derive(Clone, Debug, Default)]
pub(super) struct Held {
    /// Attached ENIs not in the datastore: the primary before init, ENIs whose `FreeENI`
    /// failed before the detach.
    pub(super) attached: Vec<HeldEni>,
    /// Detached ENIs whose delete failed: the cleanup goroutine's business.
    pub(super) leaked: Vec<HeldEni>,
    /// CIDRs on datastore ENIs that the datastore lacks.
    pub(super) drift: Vec<Drift>,
    /// `reconcileCooldownCache` (§6.2): every IP/prefix the shrink released, with its
    /// expiry. Entries stay until the address comes back to this node.
    pub(super) recon_cache: BTreeMap<Cidr, Millis>,
    /// Released addresses EC2 handed back to this node (ENI, CIDR, cache expiry): the next
    /// reconcile after the expiry verifies each such ENI with one
    /// `DescribeNetworkInterfaces` and drops the entries.
    pub(super) returned: Vec<(EniId, Cidr, Millis)>,
}

/// The ipamd process's life on this node (§6.3, §6.4): it survives restarts.
#[derive(Clone, Debug, Default)]
pub(super) struct Life {
    /// Consecutive failed inits: kubelet's crash-loop back-off.
    pub(super) init_failures: u32,
    /// When the node became Ready (first successful init + the entrypoint's probe, §6.3).
    pub(super) ready_at: Option<Millis>,
    /// ipamd starts so far (the first, then every restart).
    pub(super) starts: u32,
}

/// The pool rules' gates and the process's clocks: in memory only, so a restart resets
/// them (all but `container_started`, which the new container sets).
#[derive(Clone, Debug, Default)]
pub(super) struct Timers {
    /// `lastNodeIPPoolAction`.
    pub(super) last_pool_action: Option<Millis>,
    /// The last growth call's error, until a growth step succeeds (for wait reasons).
    pub(super) growth_error: Option<Ec2Error>,
    /// First reconcile tick not yet replayed (skipping mode only).
    pub(super) reconcile_from: Option<Millis>,
    /// When the current aws-node container started (liveness probe clock).
    pub(super) container_started: Millis,
}

/// The pool rules' two back-off gates: in memory only, like [`Timers`], and kept apart from
/// them because the pool decision of every pod event reads them (`Ipamd::check_is_idle`), so
/// they share the ipamd's hot lines (issue 13).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Gates {
    /// `lastInsufficientCidrError`.
    pub(super) last_insufficient_cidr: Option<Millis>,
    /// `lastDecreaseIPPool`.
    pub(super) last_decrease: Option<Millis>,
}

/// Scratch of the pass in progress: a pool check's step, node init's ENI list. Buffers
/// are kept between passes so a pass does not allocate.
#[derive(Clone, Debug, Default)]
pub(super) struct Pass {
    /// The pool's counts when the pool check started.
    pub(super) stats: PoolStats,
    /// When the pool check started.
    pub(super) started: Millis,
    /// The pool check shrank the pool.
    pub(super) shrunk: bool,
    /// The pass made an EC2 call (it was not idle).
    pub(super) acted: bool,
    /// Addresses (or prefixes) the growth step asks for.
    pub(super) want: u32,
    /// ENIs to visit, in order, and the next one.
    pub(super) order: Vec<EniId>,
    pub(super) order_pos: usize,
    /// CIDRs being handed back or set up.
    pub(super) cidr_buf: Vec<Cidr>,
    /// Node init: the ENIs found in EC2, set up one by one.
    pub(super) init_enis: Vec<Found>,
    /// The growth step's FreeENI clean-up follows a failed `ModifyNetworkInterfaceAttribute`
    /// (§7.2 step 5): success means no error and the IMDS wait for ENI "".
    pub(super) free_after_modify: bool,
}

/// Counters for reports.
#[derive(Clone, Debug, Default)]
pub(super) struct Counters {
    /// EC2 call attempts made.
    pub(super) ec2_calls: u64,
    /// Most addresses the datastore held.
    pub(super) total_ips_peak: u32,
}
