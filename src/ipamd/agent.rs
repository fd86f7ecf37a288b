//! One node's ipamd as an event-driven state machine (spec/ipamd-policy.md §4.1, §6, §7 and
//! "Modelling choices" 1–7).
//!
//! ipamd is one goroutine: sleep 2.5 s → pool check → sleep 2.5 s → reconcile, forever. EC2
//! calls are synchronous inside it, so here every call is *issued* at one time (EC2 applies
//! address changes then and answers with a latency) and *completes* `latency` later, when its
//! result reaches the datastore and the sequence goes on. A pool check that calls EC2 holds
//! the loop for the sum of its calls, the 2 s sleep between detach and delete and the IMDS
//! wait of a new ENI; the next 2.5 s sleep starts when it ends. The loop's phase is offset by
//! a draw in [0, 5 s) from the node's stream. A second thread of control is the leaked-ENI
//! cleanup (one `DescribeNetworkInterfaces` an hour after a 0–300 s delay; it deletes every
//! leaked ENI of the VPC, §7.5).
//!
//! **Readiness and restarts** (§6.3, §6.4). Node init runs at every ipamd start; the first
//! that succeeds makes the node Ready ([`Ipamd::ready_at`]). A failed init ends the process:
//! the liveness probe kills the container and kubelet restarts it with its crash-loop
//! back-off, and the new ipamd rebuilds its datastore from EC2 and the checkpoint
//! (`rebuild_from_ec2_and_checkpoint`), everything else in memory being lost.
//!
//! The engine calls [`Ipamd::wake`] at [`Ipamd::next_wake`], and the CNI calls
//! [`Ipamd::assign_pod`] / [`Ipamd::release_pod`] at any time.
//!
//! **Idle-tick skipping** ("Modelling choices" 7). A pool check that decides nothing changes
//! nothing but, through the reconcile that follows, `lastNodeIPPoolAction`. When one is idle
//! we compute the earliest time its decision could differ without a pod event (the 120 s
//! InsufficientCidr back-off, the 30 s shrink gate, an ENI's 60 s minimum age and its
//! addresses' cooldown) and sleep until the first loop tick at or after it; the skipped
//! reconciles' time stamps are replayed in closed form before the next check, and a pod
//! event that changes the datastore pulls the next check back to the next tick, unless that
//! check provably finds nothing to do either: then it is decided idle in advance and the loop
//! sleeps on (`schedule.rs`; a pod event comes before or after the wake-ups of its own
//! millisecond, [`CallOrder`], which says whether a tick of that millisecond is past). Idle checks
//! draw nothing from the node's stream, so the run is identical with and without skipping
//! (a test drives random scenarios both ways). While a failed call left an ENI or CIDRs for
//! reconcile to re-adopt, every tick runs.

mod background;
mod create;
mod parts;
mod pass;
mod process;
mod schedule;
mod state;
mod terminate;

use parts::{Config, Counters, Gates, Held, Life, Pass, Timers};
use state::{Cleanup, HeldEni, Main, Op, Stage, TickKind};

use rand::RngExt as _;

use crate::catalog::InstanceType;
use crate::cluster::WaitReason;
use crate::ec2::{Cidr, Ec2, Ec2Error, EniId, SubnetId};
use crate::ipamd::config::{CniConfig, IpPick, ModelConfig, Networking};
use crate::ipamd::control::ControlPlane;
use crate::ipamd::datastore::{Datastore, EniTargets, NoAddress};
use crate::ipamd::policy::{self, Mode, Settings};
use crate::ipamd::{CallOrder, NodeIpStats};
use crate::rng::NodeRng;
use crate::time::{Millis, SECOND};

/// `ipPoolMonitorInterval`: one loop period (two 2.5 s sleeps).
pub const POOL_MONITOR_INTERVAL: Millis = 5 * SECOND;
/// `nodeIPPoolReconcileInterval`: reconcile only this long after the last pool action.
pub const RECONCILE_INTERVAL: Millis = 60 * SECOND;
/// `decreaseIPPoolInterval`: at most one shrink per 30 s.
pub const DECREASE_INTERVAL: Millis = 30 * SECOND;
/// `insufficientCidrErrorCooldown`: no growth for 120 s after an Insufficient* error.
pub const INSUFFICIENT_CIDR_COOLDOWN: Millis = 120 * SECOND;
/// `ipReconcileCooldown`: reconcile does not re-add a CIDR ipamd released less than 60 s ago.
pub const IP_RECONCILE_COOLDOWN: Millis = 60 * SECOND;

const HALF_TICK: Millis = POOL_MONITOR_INTERVAL / 2;

/// What a CNI ADD reads of an ipamd besides the clock ([`Ipamd::add_key`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddKey {
    edits: u32,
    initialised: bool,
    growth_error: Option<Ec2Error>,
    last_insufficient_cidr: Option<Millis>,
}

/// A node's ipamd. See the module docs.
///
/// Its state, by how long it lasts (each group is documented in `parts.rs`):
/// - fixed at creation: [`Settings`] (the pool rules' inputs), `pick` and `cfg` (the rest
///   of `[cni]` and `[model]`, the node's subnets, the loop's phase), and the node's stream;
/// - the node's lasting state: the datastore, `held` (ENIs and CIDRs EC2 holds beyond the
///   datastore, and the reconcile cooldown cache), the checkpoint file, `life` (starts,
///   init failures, readiness) and `counters` (for reports);
/// - the process's memory, lost at a restart: `initialised`, `gates` and `timers` (the
///   pool rules' gates and the liveness clock) and the loops' state machines (`main` with
///   its `op`, `stage`, `cleanup`);
/// - `pass`: scratch of the pass in progress (a pool check's step, node init's ENI list).
///
/// `#[repr(C)]`, laid out by what reads it (issue 13): what a pod event reads (the
/// generator, the datastore's two lines, then two lines of settings, flags, checkpoint
/// header, loop state and gates) comes last, in six whole lines that end where the
/// [`crate::cluster::Node`]'s own hot line begins, so a pod event reads seven adjacent
/// lines of its node; what only wake-ups read comes first. A test pins the lines.
#[derive(Clone, Debug)]
#[repr(C)]
pub struct Ipamd {
    // Read by wake-ups (and the sample's counters); the last two lines by every wake-up.
    held: Held,
    pass: Pass,
    /// The call or sleep the loop waits on while `main` is `Busy`.
    op: Option<Op>,
    cfg: Config,
    life: Life,
    cleanup: Cleanup,
    timers: Timers,
    counters: Counters,

    // Read by pod events: whole lines from here on.
    rng: NodeRng,
    ds: Datastore,
    s: Settings,
    /// How a free address is picked (`[model] ip_pick`).
    pick: IpPick,
    /// ipamd is up: its init succeeded and it serves gRPC (CNI ADDs fail otherwise).
    initialised: bool,
    stage: Stage,
    /// EC2 still lacks ipamd's tags on the primary ENI (a fresh instance's, §6.1 step 2).
    /// Part of the node's lasting state, here only because this line has the byte to spare.
    primary_untagged: bool,
    /// The checkpoint file to restore at init: (pod, address, when assigned).
    checkpoint: Vec<(u32, u32, Millis)>,
    main: Main,
    gates: Gates,
}

impl Ipamd {
    /// A node's ipamd. `node_subnet` holds the node's primary ENI; pod ENIs go to
    /// `pod_subnet` with custom networking and to `node_subnet` otherwise. `rng` is the node's
    /// own stream: the loop's phase is its first draw.
    pub fn new(
        cni: &CniConfig,
        model: &ModelConfig,
        instance: &InstanceType,
        max_pods: u32,
        node_subnet: SubnetId,
        pod_subnet: SubnetId,
        rng: impl Into<NodeRng>,
    ) -> Self {
        let mut rng = rng.into();
        let s = Settings::new(cni, instance, max_pods);
        let phase = rng.random_range(0..POOL_MONITOR_INTERVAL);
        Ipamd {
            s,
            cfg: Config {
                subnet_discovery: cni.enable_subnet_discovery,
                ip_fallback: model.networking == Networking::AutoMode
                    && s.mode == Mode::PrefixDelegation,
                leaked_eni_cleanup: !cni.disable_leaked_eni_cleanup,
                imds_delay: model.imds_delay.millis(),
                start_delay: model.ipamd_start_delay.millis(),
                liveness_kill: model.liveness_kill.millis(),
                node_subnet,
                pod_subnet,
                skip_idle: true,
                phase,
            },
            pick: model.ip_pick,
            initialised: false,
            op: None,
            gates: Gates::default(),
            rng,
            ds: {
                let mut ds = Datastore::new(s.mode, cni.ip_cooldown());
                if model.networking == Networking::AutoMode {
                    ds.keep_secondary_ips();
                }
                ds
            },
            held: Held::default(),
            checkpoint: Vec::new(),
            life: Life::default(),
            primary_untagged: true,
            counters: Counters::default(),
            timers: Timers::default(),
            main: Main::Down,
            stage: Stage::Init,
            cleanup: Cleanup::Off,
            pass: Pass::default(),
        }
    }

    /// Turns idle-tick skipping on (the default) or off (every tick runs: the reference).
    pub fn set_skip_idle_ticks(&mut self, skip: bool) {
        self.cfg.skip_idle = skip;
    }

    /// The pool rules' inputs for this node (mode after the non-Nitro fallback, limits).
    pub fn settings(&self) -> &Settings {
        &self.s
    }

    /// Prefetch hints ([`crate::prefetch`]) for a CNI call to come: the state a call and the
    /// pull-back after it read, in the ipamd's last six lines (see [`Ipamd`]): the settings
    /// and loop-state lines, both lines of the datastore (the second holds the headers the
    /// next stage's hints read: without it they waited for it, a quarter of ultra-100k's run
    /// loop, once item 35's slabs had put the tables themselves on one page) and the first
    /// line of the generator.
    pub fn prefetch_state(&self) {
        crate::prefetch::line(&self.s);
        crate::prefetch::line(&self.main);
        self.ds.prefetch_struct();
        // The CNI ADD's draw reads the generator's position and next buffered word
        // (ultra-100k: 5 % of the run waited for them), 15 times in 16 on one line.
        self.rng.prefetch();
    }

    /// Prefetch hints for a wake-up to come, besides [`Ipamd::prefetch_state`]'s: the lines
    /// of the cleanup goroutine, the timers and the counters, which every wake-up reads.
    pub fn prefetch_wake(&self) {
        crate::prefetch::line(&self.cleanup);
        crate::prefetch::line(&self.timers);
    }

    /// The node's datastore, read-only.
    pub fn datastore(&self) -> &Datastore {
        &self.ds
    }

    /// The instance starts at `now`: its primary ENI is launched with it (no API call, no
    /// ipamd tags yet) and ipamd starts `ipamd_start_delay` later. The node is NotReady until
    /// that ipamd's init succeeds ([`Ipamd::ready_at`]). Err if the node subnet has no
    /// address for the primary ENI.
    pub fn launch(&mut self, now: Millis, ec2: &mut Ec2) -> Result<(), Ec2Error> {
        self.launch_with(now, ec2)
    }

    pub(crate) fn launch_with(
        &mut self,
        now: Millis,
        ec2: &mut impl ControlPlane,
    ) -> Result<(), Ec2Error> {
        let primary = ec2.launch_primary_eni(self.cfg.node_subnet, self.s.cidrs_per_eni())?;
        self.held.attached.push(HeldEni {
            id: primary.id,
            primary: true,
            born: now,
            cidrs: primary.cidrs,
        });
        self.start_container(now);
        Ok(())
    }

    /// When the node became Ready: its first successful ipamd init plus the entrypoint's
    /// wait for the gRPC socket (spec §6.3). `None` while it never has. Once Ready it stays
    /// Ready: nothing removes the CNI config, whatever later ipamds do.
    pub fn ready_at(&self) -> Option<Millis> {
        self.life.ready_at
    }

    /// Whether ipamd is up (init done, serving gRPC): CNI ADDs fail while it is not.
    pub fn is_up(&self) -> bool {
        self.initialised
    }

    /// ipamd restarts so far: every start after the instance's first.
    pub fn restarts(&self) -> u32 {
        self.life.starts.saturating_sub(1)
    }

    /// When the agent next wants [`Ipamd::wake`] called (`u64::MAX` = never).
    pub fn next_wake(&self) -> Millis {
        self.main_due().min(self.cleanup_due())
    }

    /// When the main loop next wants [`Ipamd::wake`] called: [`Ipamd::next_wake`] without
    /// the leaked-ENI cleanup's time. A CNI call can move only this one (its pull-back); the
    /// cluster plans after a call from it alone, and reads one line of this ipamd fewer.
    pub fn loop_wake(&self) -> Millis {
        self.main_due()
    }

    fn main_due(&self) -> Millis {
        match &self.main {
            Main::Down => Millis::MAX,
            Main::Start { at } | Main::Tick { at, .. } => *at,
            Main::Busy { until, .. } => *until,
        }
    }

    fn cleanup_due(&self) -> Millis {
        match &self.cleanup {
            Cleanup::Off => Millis::MAX,
            Cleanup::Wait { until }
            | Cleanup::Describe { until, .. }
            | Cleanup::Delete { until, .. } => *until,
        }
    }

    /// Advances to `now`: completes the calls and sleeps that end by then, runs the ticks
    /// that are due, and issues the next calls. (Inlined, as PGO does: `benches/HISTORY.md`
    /// item 42.)
    #[inline]
    pub fn wake(&mut self, now: Millis, ec2: &mut Ec2) {
        self.wake_with(now, ec2);
    }

    pub(crate) fn wake_with(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        let sent = ec2.attempts();
        loop {
            let (c, m) = (self.cleanup_due(), self.main_due());
            if c <= now && c <= m {
                self.step_cleanup(c, ec2);
            } else if m <= now {
                self.step_main(m, ec2);
            } else {
                break;
            }
        }
        self.counters.ec2_calls += ec2.attempts() - sent;
    }

    fn step_main(&mut self, at: Millis, ec2: &mut impl ControlPlane) {
        match std::mem::replace(&mut self.main, Main::Down) {
            Main::Down => {}
            Main::Start { .. } => self.start_init(at, ec2),
            Main::Tick {
                kind: TickKind::PoolCheck,
                ..
            } => {
                self.replay_reconciles(at);
                self.pool_check(at, ec2);
            }
            Main::Tick {
                kind: TickKind::Reconcile,
                ..
            } => self.reconcile(at, ec2),
            Main::Busy { .. } => {
                let op = self.op.take().expect("a busy loop waits on its op");
                self.complete(at, op, ec2);
            }
        }
    }

    /// Waits `latency` for `op` (a call, or a sleep).
    fn busy(&mut self, now: Millis, latency: Millis, op: Op) {
        if !matches!(
            op,
            Op::Imds { .. } | Op::ImdsGiveUp | Op::FreeWait { .. } | Op::Sleep { .. }
        ) {
            self.pass.acted = true;
        }
        self.main = Main::Busy {
            until: now + latency,
        };
        self.op = Some(op);
    }

    /// Schedules the next loop tick `HALF_TICK` after `now`.
    fn sleep_until(&mut self, now: Millis, kind: TickKind) {
        self.main = Main::Tick {
            at: now + HALF_TICK,
            kind,
            skipped_from: None,
        };
    }

    /// `getDeletableENI`'s targets.
    fn eni_targets(&self) -> EniTargets {
        EniTargets {
            warm_ip: self.s.warm_ip_target,
            minimum_ip: self.s.minimum_ip_target,
            warm_prefix: self.s.warm_prefix_target,
        }
    }

    fn in_insufficient_cidr_cooldown(&self, now: Millis) -> bool {
        self.gates
            .last_insufficient_cidr
            .is_some_and(|t| now.saturating_sub(t) <= INSUFFICIENT_CIDR_COOLDOWN)
    }

    /// The 30 s gate on shrinking (`decreaseIPPoolInterval`) is open at `now`.
    fn decrease_gate_open(&self, now: Millis) -> bool {
        self.gates
            .last_decrease
            .is_none_or(|t| now.saturating_sub(t) > DECREASE_INTERVAL)
    }

    /// Adds CIDRs EC2 gave ENI `eni` to the datastore.
    fn add_cidrs(&mut self, eni: EniId, cidrs: &[Cidr]) {
        for &c in cidrs {
            self.ds.add_cidr(eni, c);
        }
        self.counters.total_ips_peak = self.counters.total_ips_peak.max(self.ds.total_ips());
    }

    /// EC2 handed ENI `eni` the CIDRs `cidrs` (an Assign, a new ENI): those this node
    /// released earlier are still in its reconcile cooldown cache (§6.2).
    fn note_returned(&mut self, eni: EniId, cidrs: &[Cidr]) {
        if self.held.recon_cache.is_empty() {
            return;
        }
        for c in cidrs {
            if let Some(expiry) = self.held.recon_cache.remove(c) {
                self.held.returned.push((eni, *c, expiry));
            }
        }
    }

    /// CNI ADD for `pod` at `now`: its address, or why it has to wait. Idempotent.
    /// While ipamd is down (not yet initialised, or restarting) the CNI plugin cannot reach
    /// it and the ADD fails (spec §6.3); reported as `no_ip`.
    pub fn assign_pod(&mut self, pod: u32, now: Millis) -> Result<u32, WaitReason> {
        self.assign_pod_ordered(pod, now, CallOrder::BeforeWakes)
    }

    /// [`Ipamd::assign_pod`] for a call at `order` within its millisecond.
    pub fn assign_pod_ordered(
        &mut self,
        pod: u32,
        now: Millis,
        order: CallOrder,
    ) -> Result<u32, WaitReason> {
        if !self.initialised {
            return Err(WaitReason::NoIp);
        }
        if let Some(addr) = self.ds.pod_address(pod) {
            return Ok(addr);
        }
        match self.ds.assign_new(pod, now, self.pick, &mut self.rng) {
            Ok(addr) => {
                self.pull_back(now, order);
                Ok(addr)
            }
            Err(NoAddress::Cooling) => Err(WaitReason::Cooling),
            Err(NoAddress::Exhausted) => Err(self.why_no_address(now)),
        }
    }

    /// How long a CNI ADD that failed at `now` keeps failing the same way, with the same
    /// [`WaitReason`], if nothing else is done to this ipamd meanwhile: the first later time
    /// at which the answer may differ (`Millis::MAX`: only a change of state can alter it).
    ///
    /// A failed [`Ipamd::assign_pod`] changes nothing that a later one reads (it only prunes
    /// expired cooling records, which every reader skips anyway), so between two calls that
    /// do change the state only time matters, and time enters the answer at two places: a
    /// cooling address becomes assignable once its `IP_COOLDOWN_PERIOD` is over (§5.4), and
    /// the 120 s `InsufficientCidrBlocks` back-off ends (§4.8). The engine repeats kubelet's
    /// retries without asking again until then ([`crate::cluster`], "Failed CNI ADDs").
    pub fn failure_holds_until(&self, now: Millis) -> Millis {
        if !self.initialised {
            return Millis::MAX; // only an init (a wake-up) brings ipamd up
        }
        let cooling = self.ds.cooling_ends_after(now).unwrap_or(Millis::MAX);
        let back_off = match self.gates.last_insufficient_cidr {
            Some(t) if self.in_insufficient_cidr_cooldown(now) => {
                t.saturating_add(INSUFFICIENT_CIDR_COOLDOWN + 1)
            }
            _ => Millis::MAX,
        };
        cooling.min(back_off)
    }

    /// Everything a CNI ADD reads besides the clock and the settings, as a value: two equal
    /// keys mean every CNI ADD gives the same answer at the same time (the datastore's
    /// [`Datastore::edits`], whether ipamd is up, the last growth error and the last
    /// `InsufficientCidrBlocks`). A wake-up that leaves it unchanged (a growth call throttled
    /// again, an idle check) cannot change a failed CNI ADD's outcome, nor how long it holds
    /// ([`Ipamd::failure_holds_until`] reads the same), so the cluster keeps its record of
    /// failed ADDs across it ([`crate::cluster`], "Failed CNI ADDs").
    pub fn add_key(&self) -> AddKey {
        AddKey {
            edits: self.ds.edits(),
            initialised: self.initialised,
            growth_error: self.timers.growth_error,
            last_insufficient_cidr: self.gates.last_insufficient_cidr,
        }
    }

    /// Why the pool has no unassigned address at `now`, from its state and the last growth
    /// outcome.
    fn why_no_address(&self, now: Millis) -> WaitReason {
        let st = self.ds.stats(now);
        if !self.initialised {
            return WaitReason::NoIp;
        }
        if policy::growth_ceiling_reached(&self.s, &st) {
            return WaitReason::MaxPodsCeiling;
        }
        let can_fill = self
            .ds
            .has_allocatable_eni(self.s.cidrs_per_eni(), self.s.custom_networking);
        if !can_fill && !policy::has_room_for_eni(&self.s, st.enis) {
            return WaitReason::EniLimit;
        }
        match self.timers.growth_error {
            Some(Ec2Error::InsufficientFreeAddressesInSubnet) => WaitReason::SubnetExhausted,
            Some(Ec2Error::InsufficientCidrBlocks) => WaitReason::InsufficientCidrCooldown,
            Some(Ec2Error::RequestLimitExceeded) => WaitReason::Throttled,
            _ if self.in_insufficient_cidr_cooldown(now) => WaitReason::InsufficientCidrCooldown,
            _ => WaitReason::NoIp,
        }
    }

    /// CNI DEL for `pod` at `now`: its address starts cooling. While ipamd is down the DEL
    /// is taken as reaching the next ipamd (kubelet retries it): the checkpoint loses the
    /// pod, and the restart forgets the cooling record anyway.
    pub fn release_pod(&mut self, pod: u32, now: Millis) {
        self.release_pod_ordered(pod, now, CallOrder::BeforeWakes);
    }

    /// [`Ipamd::release_pod`] for a call at `order` within its millisecond.
    pub fn release_pod_ordered(&mut self, pod: u32, now: Millis, order: CallOrder) {
        if !self.checkpoint.is_empty() {
            // Deleted before init restored it: the checkpoint entry goes with the pod.
            self.checkpoint.retain(|&(p, _, _)| p != pod);
        }
        if self.ds.release(pod, now).is_some() {
            self.pull_back(now, order);
        }
    }

    /// Counters for reports at `now`.
    pub fn stats(&self, now: Millis) -> NodeIpStats {
        let st = self.ds.stats(now);
        // In prefix mode the addresses beyond the prefixes are Auto Mode's fallback /32s.
        // (The datastore's mode is the settings', read from a line the caller has already.)
        let (secondary_ips, prefixes) = match self.ds.mode() {
            Mode::SecondaryIp => (st.total_ips, 0),
            Mode::PrefixDelegation => (
                st.total_ips
                    .saturating_sub(st.total_prefixes * policy::IPS_PER_PREFIX),
                st.total_prefixes,
            ),
        };
        NodeIpStats {
            enis: st.enis,
            secondary_ips,
            prefixes,
            total_ips: st.total_ips,
            assigned_ips: st.assigned_ips,
            cooling_ips: st.cooldown_ips,
            warm_ips: st.total_ips - st.assigned_ips,
            ec2_calls: self.counters.ec2_calls,
            total_ips_peak: self.counters.total_ips_peak,
        }
    }

    /// Backoff before try `attempt + 1` of a `NWithBackoff` loop: `base × 2^attempt`, capped
    /// at 60 s, plus 0–15 % jitter.
    fn backoff(&mut self, base: Millis, attempt: u32) -> Millis {
        let d = base.saturating_mul(1 << attempt.min(20)).min(60 * SECOND);
        d + (d as f64 * self.rng.random_range(0.0..0.15)) as Millis
    }
}

#[cfg(test)]
mod tests;
