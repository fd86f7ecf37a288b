//! Node init (`nodeInit`, spec §6.1), the reconcile pass (`nodeIPPoolReconcile`, §6.2) and
//! the leaked-ENI cleanup goroutine (§7.5).

use super::pass::MAX_ENI_EC2_RETRIES;
use super::*;
use crate::ec2::Action;
use crate::time::{HOUR, MINUTE};

/// The cleanup sleeps `rand.Intn(300)` seconds before each run.
const CLEANUP_MAX_DELAY_S: u64 = 300;
/// Leaked ENIs younger than this (by their `createdAt` tag) are left alone.
const LEAKED_MIN_AGE: Millis = 5 * MINUTE;
/// `born` of a leaked ENI of a `[start]`: created before the run, older than any minimum age.
pub(super) const IMPORTED_BIRTH: Millis = Millis::MAX;
/// Kubernetes restarts a failed aws-node after 10 s, doubling up to 5 min.
const RESTART_BACKOFF: Millis = 10 * SECOND;
const RESTART_BACKOFF_MAX: Millis = 5 * MINUTE;
const DELETE_BACKOFF: Millis = 500;

impl Ipamd {
    /// ipamd starts: `DescribeAllENIs` (one `DescribeNetworkInterfaces`, up to 12 tries).
    pub(super) fn start_init(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
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
                self.adopt_attached(now, ec2);
                self.init_modify(now, 0, ec2);
            }
            Err(_) if attempt + 1 < MAX_ENI_EC2_RETRIES => {
                let then = Resume::InitDescribe(attempt + 1);
                self.busy(now, 10 * Millis::from(attempt), Op::Sleep { then });
            }
            Err(e) => self.init_failed(now, e),
        }
    }

    /// `setupENI` for every attached ENI the datastore lacks (`createTime = now`); for a node
    /// of a `[start]`, then what a restart does next (`restore_imported`).
    fn adopt_attached(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        let held = std::mem::take(&mut self.attached);
        for h in &held {
            self.ds.add_eni(h.id, h.primary, now);
            self.add_cidrs(h.id, &h.cidrs);
        }
        self.restore_imported(now, &held, ec2);
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
        match resp.result {
            Ok(()) => self.init_modify(now, next, ec2),
            Err(e) => self.init_failed(now, e),
        }
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
            let e = self.growth_error.unwrap_or(Ec2Error::RequestLimitExceeded);
            self.init_failed(now, e);
        } else {
            self.init_done(now);
        }
    }

    /// The loop starts: its first 2.5 s sleep begins after the node's phase offset.
    fn init_done(&mut self, now: Millis) {
        self.initialised = true;
        self.init_failures = 0;
        self.reconcile_from = None;
        self.main = Main::Tick {
            at: now + self.phase + HALF_TICK,
            kind: TickKind::PoolCheck,
            skipped_from: None,
        };
    }

    /// ipamd exits and the kubelet restarts it. The restart re-runs init against the same
    /// datastore (ENI ages are not reset: a simplification of a rare path).
    fn init_failed(&mut self, now: Millis, e: Ec2Error) {
        self.growth_error = Some(e);
        self.init_failures += 1;
        let delay = RESTART_BACKOFF
            .saturating_mul(1 << (self.init_failures - 1).min(10))
            .min(RESTART_BACKOFF_MAX);
        self.main = Main::Start { at: now + delay };
    }

    /// A reconcile tick. Only if more than 60 s passed since the last pool action; then,
    /// in a simulation without IMDS drift, it calls EC2 only to re-adopt ENIs whose
    /// `FreeENI` failed (one `DescribeAllENIs`) and CIDRs whose unassign failed (one
    /// `DescribeNetworkInterfaces` per ENI; those freed < 60 s ago stay out). It ends by
    /// stamping `lastNodeIPPoolAction`, unless `DescribeAllENIs` failed.
    pub(super) fn reconcile(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        let due = self
            .last_pool_action
            .is_none_or(|t| now.saturating_sub(t) > RECONCILE_INTERVAL);
        if !due {
            return self.sleep_until(now, TickKind::PoolCheck);
        }
        self.stage = Stage::Reconcile;
        if self.attached.is_empty() {
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
            Ok(()) => {
                self.adopt_attached(now, ec2);
                self.recon_drift(now, ec2);
            }
            Err(_) if attempt + 1 < MAX_ENI_EC2_RETRIES => {
                let then = Resume::ReconDescribe(attempt + 1);
                self.busy(now, 10 * Millis::from(attempt), Op::Sleep { then });
            }
            // "aborting reconcile": no time stamp.
            Err(_) => self.sleep_until(now, TickKind::PoolCheck),
        }
    }

    /// The next datastore ENI with drifted CIDRs: one `DescribeNetworkInterfaces(eni)`.
    fn recon_drift(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        let next = self
            .drift
            .iter()
            .map(|d| d.eni)
            .find(|&e| self.ds.eni(e).is_some() && !self.order[..self.order_pos].contains(&e));
        match next {
            Some(eni) => {
                if self.order_pos == 0 {
                    self.order.clear();
                }
                self.order.push(eni);
                self.order_pos = self.order.len();
                let r = ec2.request(now, Action::DescribeNetworkInterfaces);
                self.busy(now, r.latency, Op::ReconDescribeEni { eni, resp: r });
            }
            None => {
                self.order_pos = 0;
                self.last_pool_action = Some(now);
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
            let mut back = std::mem::take(&mut self.cidr_buf);
            back.clear();
            let cooled = |d: &Drift| d.eni == eni && now >= d.freed + IP_RECONCILE_COOLDOWN;
            back.extend(self.drift.iter().filter(|d| cooled(d)).map(|d| d.cidr));
            self.drift.retain(|d| !cooled(d));
            self.add_cidrs(eni, &back);
            self.cidr_buf = back;
        }
        self.recon_drift(now, ec2);
    }

    /// `rand.Intn(300)` seconds.
    pub(super) fn cleanup_delay(&mut self) -> Millis {
        self.rng.random_range(0..CLEANUP_MAX_DELAY_S) * SECOND
    }

    /// The leaked-ENI cleanup: after its delay, one `DescribeNetworkInterfaces`; then
    /// `DeleteNetworkInterface` (12 tries) for each detached ENI of this node at least
    /// 5 min old; then an hour's wait and a new delay.
    pub(super) fn step_cleanup(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        match std::mem::replace(&mut self.cleanup, Cleanup::Off) {
            Cleanup::Off => {}
            Cleanup::Wait { .. } => {
                let r = ec2.request(now, Action::DescribeNetworkInterfaces);
                self.cleanup = Cleanup::Describe {
                    until: now + r.latency,
                    resp: r,
                };
            }
            Cleanup::Describe { resp, .. } => {
                let targets = match resp.result {
                    Ok(()) => self
                        .leaked
                        .iter()
                        .filter(|h| h.born == IMPORTED_BIRTH || h.born + LEAKED_MIN_AGE <= now)
                        .map(|h| h.id)
                        .collect(),
                    Err(_) => Vec::new(),
                };
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
                    self.leaked.retain(|h| h.id != done);
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
