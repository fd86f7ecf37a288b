//! Node init (`nodeInit`, spec §6.1), the reconcile pass (`nodeIPPoolReconcile`, §6.2) and
//! the leaked-ENI cleanup goroutine (§7.5).

use rand::RngExt as _;

use super::pass::MAX_ENI_EC2_RETRIES;
use super::state::{Cleanup, Drift, Found, Grown, HeldEni, Main, Op, Resume, Stage, TickKind};
use super::{HALF_TICK, Ipamd, RECONCILE_INTERVAL};
use crate::ec2::Action;
use crate::ec2::{Ec2Error, EniId, Response};
use crate::ipamd::control::ControlPlane;
use crate::ipamd::policy;
use crate::time::{HOUR, MINUTE};
use crate::time::{Millis, SECOND};

/// The cleanup sleeps `rand.Intn(300)` seconds before each run.
const CLEANUP_MAX_DELAY_S: u64 = 300;
/// Leaked ENIs younger than this (by their `createdAt` tag) are left alone.
const LEAKED_MIN_AGE: Millis = 5 * MINUTE;
/// kubelet's crash-loop back-off: the first restart at once, then 10 s doubling up to
/// 5 min (Kubernetes defaults, spec §6.3).
const RESTART_BACKOFF: Millis = 10 * SECOND;
const RESTART_BACKOFF_MAX: Millis = 5 * MINUTE;
/// The liveness probe's period (Kubernetes default `periodSeconds`).
const LIVENESS_PERIOD: Millis = 10 * SECOND;
const DELETE_BACKOFF: Millis = 500;
/// `TagENI`: 5 tries, back-off 0.5 s doubling, 30 % jitter.
const TAG_TRIES: u32 = 5;
const TAG_BACKOFF: Millis = 500;
/// `maxRetryCheckENI` + 1 tries of `setupENI` at init, `eniAttachTime` apart.
const SETUP_TRIES: u32 = 6;
const SETUP_RETRY_WAIT: Millis = 10 * SECOND;
/// The entrypoint's `waitForIPAM` runs `grpc-health-probe` in a loop without sleeping; one
/// run that finds the socket serving, then writing `10-aws.conflist` (spec §6.3 step 3).
pub(super) const GRPC_PROBE_WAIT: Millis = 100;

impl Ipamd {
    /// ipamd starts: `DescribeAllENIs` (one `DescribeNetworkInterfaces`, up to 12 tries).
    pub(super) fn start_init(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        self.life.starts += 1;
        self.stage = Stage::Init;
        self.init_describe(now, 0, ec2);
    }

    pub(super) fn init_describe(&mut self, now: Millis, attempt: u32, ec2: &mut impl ControlPlane) {
        let r = ec2.request(now, Action::DescribeNetworkInterfaces);
        self.busy(now, r.latency, Op::InitDescribe { attempt, resp: r });
    }

    /// Retries sleep `10 ms × attempt`; all 12 failing aborts start-up.
    pub(super) fn init_described(
        &mut self,
        now: Millis,
        attempt: u32,
        resp: Response<()>,
        ec2: &mut impl ControlPlane,
    ) {
        match resp.result {
            Ok(()) => {
                self.rebuild_from_ec2_and_checkpoint();
                self.init_next_eni(now, 0, ec2);
            }
            Err(_) if attempt + 1 < MAX_ENI_EC2_RETRIES => {
                let then = Resume::InitDescribe(attempt + 1);
                self.busy(now, 10 * Millis::from(attempt), Op::Sleep { then });
            }
            Err(e) => self.init_failed(now, e),
        }
    }

    /// Node init rebuilds the datastore from what survives the process (spec §6.4): the
    /// ENIs attached in EC2 with their addresses (the old datastore's ENIs, the CIDRs EC2
    /// still holds beyond it, and attached ENIs it never had) and the checkpoint file's pod
    /// assignments. Everything else starts afresh: the datastore is emptied here and
    /// refilled ENI by ENI (`createTime = now`, so every ENI ages from zero) in an order
    /// from a Go map (random once there are two or more), and cooling records are gone.
    /// This is also how an ipamd starts over imported ENIs ([`Ipamd::attach_existing`]).
    fn rebuild_from_ec2_and_checkpoint(&mut self) {
        let mut found: Vec<Found> = self
            .ds
            .enis()
            .map(|e| Found {
                id: e.id(),
                primary: e.is_primary(),
                cidrs: e.cidrs().collect(),
            })
            .collect();
        for d in self.held.drift.drain(..) {
            if let Some(f) = found.iter_mut().find(|f| f.id == d.eni) {
                f.cidrs.push(d.cidr);
            }
        }
        found.extend(self.held.attached.drain(..).map(|h| Found {
            id: h.id,
            primary: h.primary,
            cidrs: h.cidrs,
        }));
        // A previous init that failed part-way: the ENIs it had not set up yet are still
        // attached in EC2, and its checkpoint was not restored yet.
        for f in std::mem::take(&mut self.pass.init_enis) {
            if self.ds.eni(f.id).is_none() {
                found.push(f);
            }
        }
        if found.len() > 1 {
            use rand::seq::SliceRandom as _;
            found.shuffle(&mut self.rng);
        }
        if self.checkpoint.is_empty() {
            self.checkpoint = self.ds.checkpoint();
        }
        self.ds = self.ds.emptied();
        self.pass.init_enis = found;
    }

    /// §6.1 step 2 for ENI `i` of the rebuild list: `TagENI` (one `CreateTags` on a fresh
    /// instance's untagged primary ENI), then `setupENI`. After the last ENI: restore the
    /// checkpoint (step 3), then the security groups (step 5).
    fn init_next_eni(&mut self, now: Millis, i: usize, ec2: &mut impl ControlPlane) {
        let Some(f) = self.pass.init_enis.get(i) else {
            for (pod, addr, at) in std::mem::take(&mut self.checkpoint) {
                self.ds.restore(pod, addr, at);
            }
            self.pass.init_enis.clear();
            return self.init_modify(now, 0, ec2);
        };
        if f.primary && self.primary_untagged {
            self.init_tag(now, i, 0, ec2);
        } else {
            self.init_setup(now, i, 0, ec2);
        }
    }

    pub(super) fn init_tag(
        &mut self,
        now: Millis,
        next: usize,
        attempt: u32,
        ec2: &mut impl ControlPlane,
    ) {
        let resp = ec2.request(now, Action::CreateTags);
        self.busy(
            now,
            resp.latency,
            Op::InitTag {
                next,
                attempt,
                resp,
            },
        );
    }

    /// `TagENI` answered: on failure retried (5 tries in all, 0.5 s doubling + 0–30 %);
    /// if every try fails, init fails.
    pub(super) fn init_tagged(
        &mut self,
        now: Millis,
        next: usize,
        attempt: u32,
        resp: Response<()>,
        ec2: &mut impl ControlPlane,
    ) {
        match resp.result {
            Ok(()) => {
                self.primary_untagged = false;
                self.init_setup(now, next, 0, ec2);
            }
            Err(_) if attempt + 1 < TAG_TRIES => {
                let d = TAG_BACKOFF << attempt;
                let wait = d + (d as f64 * self.rng.random_range(0.0..0.3)) as Millis;
                let then = Resume::InitTag(next, attempt + 1);
                self.busy(now, wait, Op::Sleep { then });
            }
            Err(e) => self.init_failed(now, e),
        }
    }

    /// `setupENI` at init: `AddENI` (`createTime = now`; a duplicate is fine on a retry),
    /// with subnet discovery one `DescribeSubnets` for the exclusion check, then the ENI's
    /// addresses.
    pub(super) fn init_setup(
        &mut self,
        now: Millis,
        next: usize,
        attempt: u32,
        ec2: &mut impl ControlPlane,
    ) {
        let f = &self.pass.init_enis[next];
        self.ds.add_eni(f.id, f.primary, now);
        if !self.cfg.subnet_discovery {
            return self.init_setup_ok(now, next, ec2);
        }
        let resp = ec2.request(now, Action::DescribeSubnets);
        self.busy(
            now,
            resp.latency,
            Op::InitSetup {
                next,
                attempt,
                resp,
            },
        );
    }

    fn init_setup_ok(&mut self, now: Millis, next: usize, ec2: &mut impl ControlPlane) {
        let f = &self.pass.init_enis[next];
        let (id, cidrs) = (f.id, std::mem::take(&mut self.pass.init_enis[next].cidrs));
        self.add_cidrs(id, &cidrs);
        self.init_next_eni(now, next + 1, ec2);
    }

    /// A failed setup is retried up to 5 more times, 10 s apart; after the last, init goes
    /// on with the ENI in the datastore but empty (§6.1 step 2, §7.2 step 7): its addresses
    /// wait in EC2 for a pool pass's resync or a reconcile.
    pub(super) fn init_setup_done(
        &mut self,
        now: Millis,
        next: usize,
        attempt: u32,
        resp: Response<()>,
        ec2: &mut impl ControlPlane,
    ) {
        match resp.result {
            Ok(()) => self.init_setup_ok(now, next, ec2),
            Err(_) if attempt + 1 < SETUP_TRIES => {
                let then = Resume::InitSetup(next, attempt + 1);
                self.busy(now, SETUP_RETRY_WAIT, Op::Sleep { then });
            }
            Err(_) => {
                let f = &mut self.pass.init_enis[next];
                let eni = f.id;
                self.held.drift.extend(f.cidrs.drain(..).map(|cidr| Drift {
                    eni,
                    cidr,
                    cached_until: 0,
                }));
                self.init_next_eni(now, next + 1, ec2);
            }
        }
    }

    /// `RefreshSGIDs` on first run: one `ModifyNetworkInterfaceAttribute(Groups)` per
    /// managed ENI, not with custom networking.
    fn init_modify(&mut self, now: Millis, next: usize, ec2: &mut impl ControlPlane) {
        if self.s.custom_networking || next >= self.ds.eni_count() as usize {
            return self.pre_scale(now, ec2);
        }
        let r = ec2.request(now, Action::ModifyNetworkInterfaceAttribute);
        self.busy(
            now,
            r.latency,
            Op::InitModify {
                next: next + 1,
                resp: r,
            },
        );
    }

    pub(super) fn init_modified(
        &mut self,
        now: Millis,
        next: usize,
        resp: Response<()>,
        ec2: &mut impl ControlPlane,
    ) {
        // `applySecurityGroupsToENIs`: a failure is only logged; init goes on, and the
        // group cache already holds the groups, so it is not retried (§6.1 step 5).
        let _ = resp.result;
        self.init_modify(now, next, ec2)
    }

    /// `handlePreScaling`: one growth step if the pool is too low.
    fn pre_scale(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        if policy::too_low(&self.s, &self.ds.stats(now)) {
            self.grow(now, ec2);
        } else {
            self.init_done(now);
        }
    }

    /// An Assign error other than Insufficient* aborts start-up, and so does an empty pool
    /// with custom networking.
    pub(super) fn init_grown(&mut self, now: Millis, how: Grown, _ec2: &mut impl ControlPlane) {
        let empty = self.s.custom_networking && self.ds.stats(now).total_ips == 0;
        if how == Grown::AssignError || empty {
            let e = self
                .timers
                .growth_error
                .unwrap_or(Ec2Error::RequestLimitExceeded);
            self.init_failed(now, e);
        } else {
            self.init_done(now);
        }
    }

    /// The loop starts: its first 2.5 s sleep begins after the node's phase offset, and
    /// gRPC is served. The first time, the entrypoint's probe finds the socket and writes
    /// the CNI config: the node is Ready (§6.3).
    fn init_done(&mut self, now: Millis) {
        self.initialised = true;
        self.life.init_failures = 0;
        self.life.ready_at.get_or_insert(now + GRPC_PROBE_WAIT);
        self.timers.reconcile_from = None;
        self.main = Main::Tick {
            at: now + self.cfg.phase + HALF_TICK,
            kind: TickKind::PoolCheck,
            skipped_from: None,
        };
    }

    /// ipamd's init failed at `now`: the process exits (exit code 1, §6.3). The entrypoint
    /// keeps probing the socket, so the container lives on until the liveness probe kills
    /// it; kubelet then restarts it after its crash-loop back-off, and the new ipamd starts
    /// from scratch (§6.4, "Modelling choices" 8).
    fn init_failed(&mut self, now: Millis, _e: Ec2Error) {
        self.life.init_failures += 1;
        let kill = self.liveness_kill_at(now);
        let back_off = crash_loop_back_off(self.life.init_failures);
        self.exit(now);
        self.start_container(kill + back_off);
    }

    /// When the liveness probe kills the container of an ipamd that exited at `exited`:
    /// its third failure (`liveness_kill` after the container's start), or the first probe
    /// after the exit on the probe's 10 s grid if init ran longer than that.
    pub(super) fn liveness_kill_at(&self, exited: Millis) -> Millis {
        let first = self.timers.container_started + self.cfg.liveness_kill;
        if exited <= first {
            return first;
        }
        first + (exited - first).div_ceil(LIVENESS_PERIOD) * LIVENESS_PERIOD
    }

    /// A reconcile tick. Only if more than 60 s passed since the last pool action; then,
    /// in a simulation without IMDS drift, it calls EC2 only to re-adopt ENIs whose
    /// `FreeENI` failed (one `DescribeAllENIs`) and CIDRs whose unassign failed (one
    /// `DescribeNetworkInterfaces` per ENI; those freed < 60 s ago stay out). It ends by
    /// stamping `lastNodeIPPoolAction`, unless `DescribeAllENIs` failed.
    pub(super) fn reconcile(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        let due = self
            .timers
            .last_pool_action
            .is_none_or(|t| now.saturating_sub(t) > RECONCILE_INTERVAL);
        if !due {
            return self.sleep_until(now, TickKind::PoolCheck);
        }
        self.stage = Stage::Reconcile;
        if self.held.attached.is_empty() {
            self.recon_drift(now, ec2);
        } else {
            self.recon_describe(now, 0, ec2);
        }
    }

    pub(super) fn recon_describe(
        &mut self,
        now: Millis,
        attempt: u32,
        ec2: &mut impl ControlPlane,
    ) {
        let r = ec2.request(now, Action::DescribeNetworkInterfaces);
        self.busy(now, r.latency, Op::ReconDescribeAll { attempt, resp: r });
    }

    pub(super) fn recon_described(
        &mut self,
        now: Millis,
        attempt: u32,
        resp: Response<()>,
        ec2: &mut impl ControlPlane,
    ) {
        match resp.result {
            Ok(()) => self.recon_adopt_next(now, ec2),
            Err(_) if attempt + 1 < MAX_ENI_EC2_RETRIES => {
                let then = Resume::ReconDescribe(attempt + 1);
                self.busy(now, 10 * Millis::from(attempt), Op::Sleep { then });
            }
            // "aborting reconcile": no time stamp.
            Err(_) => self.sleep_until(now, TickKind::PoolCheck),
        }
    }

    /// Reconcile adopts the next attached ENI the datastore lacks (ipamd created it, so
    /// it carries the tags): `setupENI`, with subnet discovery one `DescribeSubnets`; a
    /// failure is only logged, leaving the ENI known but empty (§6.2, §7.2 step 7).
    fn recon_adopt_next(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        if self.held.attached.is_empty() {
            return self.recon_drift(now, ec2);
        }
        let held = self.held.attached.remove(0);
        self.ds.add_eni(held.id, held.primary, now);
        if !self.cfg.subnet_discovery {
            self.add_cidrs(held.id, &held.cidrs);
            return self.recon_adopt_next(now, ec2);
        }
        let resp = ec2.request(now, Action::DescribeSubnets);
        self.busy(now, resp.latency, Op::ReconSetup { held, resp });
    }

    pub(super) fn recon_setup_done(
        &mut self,
        now: Millis,
        held: HeldEni,
        resp: Response<()>,
        ec2: &mut impl ControlPlane,
    ) {
        if resp.result.is_ok() {
            self.add_cidrs(held.id, &held.cidrs);
        } else {
            let eni = held.id;
            self.held
                .drift
                .extend(held.cidrs.into_iter().map(|cidr| Drift {
                    eni,
                    cidr,
                    cached_until: 0,
                }));
        }
        self.recon_adopt_next(now, ec2);
    }

    /// The next datastore ENI with drifted CIDRs: one `DescribeNetworkInterfaces(eni)`.
    /// Then the next ENI holding an address EC2 handed back past its cache expiry: one
    /// `DescribeNetworkInterfaces(eni)` each (§6.2).
    fn recon_drift(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        if self.pass.order_pos == 0 && !self.held.returned.is_empty() {
            let ds = &self.ds;
            self.held
                .returned
                .retain(|(e, c, _)| ds.eni(*e).is_some_and(|eni| eni.cidrs().any(|x| x == *c)));
        }
        let visited = &self.pass.order[..self.pass.order_pos];
        let next = self
            .held
            .drift
            .iter()
            .map(|d| d.eni)
            .chain(
                self.held
                    .returned
                    .iter()
                    .filter(|r| now >= r.2)
                    .map(|r| r.0),
            )
            .find(|&e| self.ds.eni(e).is_some() && !visited.contains(&e));
        match next {
            Some(eni) => {
                if self.pass.order_pos == 0 {
                    self.pass.order.clear();
                }
                self.pass.order.push(eni);
                self.pass.order_pos = self.pass.order.len();
                let r = ec2.request(now, Action::DescribeNetworkInterfaces);
                self.busy(now, r.latency, Op::ReconDescribeEni { eni, resp: r });
            }
            None => {
                self.pass.order_pos = 0;
                self.timers.last_pool_action = Some(now);
                self.sleep_until(now, TickKind::PoolCheck);
            }
        }
    }

    pub(super) fn recon_eni_described(
        &mut self,
        now: Millis,
        eni: EniId,
        resp: Response<()>,
        ec2: &mut impl ControlPlane,
    ) {
        if resp.result.is_ok() {
            let mut back = std::mem::take(&mut self.pass.cidr_buf);
            back.clear();
            self.held.returned.retain(|r| r.0 != eni || now < r.2);
            let cooled = |d: &Drift| d.eni == eni && now >= d.cached_until;
            back.extend(self.held.drift.iter().filter(|d| cooled(d)).map(|d| d.cidr));
            self.held.drift.retain(|d| !cooled(d));
            self.add_cidrs(eni, &back);
            self.pass.cidr_buf = back;
        }
        self.recon_drift(now, ec2);
    }

    /// `rand.Intn(300)` seconds.
    pub(super) fn cleanup_delay(&mut self) -> Millis {
        self.rng.random_range(0..CLEANUP_MAX_DELAY_S) * SECOND
    }

    /// The leaked-ENI cleanup (`cleanUpLeakedENIs`): after its delay, one filtered
    /// `DescribeNetworkInterfaces`, which lists every detached ipamd ENI of the VPC at least
    /// 5 min old, whichever node leaked it; then `DeleteNetworkInterface` (12 tries) for
    /// each; then an hour's wait and a new delay.
    pub(super) fn step_cleanup(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        match std::mem::replace(&mut self.cleanup, Cleanup::Off) {
            Cleanup::Off => {}
            Cleanup::Wait { .. } => {
                let r = ec2.describe_leaked_enis(now, LEAKED_MIN_AGE);
                self.cleanup = Cleanup::Describe {
                    until: now + r.latency,
                    resp: r,
                };
            }
            Cleanup::Describe { resp, .. } => {
                // VPC-wide (cluster-wide with CLUSTER_NAME): every leaked ENI it finds,
                // whichever node leaked it (§7.5).
                let targets = resp.result.unwrap_or_default();
                self.cleanup_delete(now, targets, 0, ec2);
            }
            Cleanup::Delete {
                targets,
                attempt,
                resp: None,
                ..
            } => self.cleanup_delete(now, targets, attempt, ec2),
            Cleanup::Delete {
                mut targets,
                attempt,
                resp: Some(r),
                ..
            } => {
                if r.result.is_ok() {
                    let done = targets.remove(0);
                    self.held.leaked.retain(|h| h.id != done);
                    self.cleanup_delete(now, targets, 0, ec2);
                } else if attempt + 1 < MAX_ENI_EC2_RETRIES {
                    let wait = self.backoff(DELETE_BACKOFF, attempt);
                    self.cleanup = Cleanup::Delete {
                        until: now + wait,
                        targets,
                        attempt: attempt + 1,
                        resp: None,
                    };
                } else {
                    targets.remove(0);
                    self.cleanup_delete(now, targets, 0, ec2);
                }
            }
        }
    }

    fn cleanup_delete(
        &mut self,
        now: Millis,
        targets: Vec<EniId>,
        attempt: u32,
        ec2: &mut impl ControlPlane,
    ) {
        let Some(&eni) = targets.first() else {
            let until = now + HOUR + self.cleanup_delay();
            self.cleanup = Cleanup::Wait { until };
            return;
        };
        let r = ec2.delete_network_interface(now, eni);
        self.cleanup = Cleanup::Delete {
            until: now + r.latency,
            targets,
            attempt,
            resp: Some(r),
        };
    }
}

/// kubelet's wait before restart number `n` (≥ 1) of a crash-looping container.
fn crash_loop_back_off(n: u32) -> Millis {
    match n {
        0 | 1 => 0,
        n => RESTART_BACKOFF
            .saturating_mul(1 << (n - 2).min(10))
            .min(RESTART_BACKOFF_MAX),
    }
}
