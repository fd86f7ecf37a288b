//! The pool check (`updateIPPoolIfRequired`, spec §4.2–4.7) and the EC2 call sequences it
//! runs: a growth step (§4.4, §7.1, §7.2), a shrink (§4.6, §7.4) and an ENI release (§4.7,
//! §7.3). Each call is issued, then [`Ipamd::complete`] picks the sequence up when it ends.

use super::state::{Drift, FreeStep, Grown, HeldEni, Op, Resume, Stage};
use super::{IP_RECONCILE_COOLDOWN, Ipamd};
use crate::ec2::{Cidr, Ec2Error, EniId, NewEni, Response};
use crate::ipamd::control::ControlPlane;
use crate::ipamd::policy::{self, Mode};
use crate::time::{Millis, SECOND};
use std::mem::take;

use crate::ec2::{Action, Request};

/// Detach → delete pause in `FreeENI`.
const DETACH_DELETE_SLEEP: Millis = 2 * SECOND;
/// `maxENIEC2APIRetries`: tries of detach, delete and `DescribeAllENIs`.
pub(super) const MAX_ENI_EC2_RETRIES: u32 = 12;
/// First backoff of the detach and delete retry loops.
const DETACH_BACKOFF: Millis = 200;
const DELETE_BACKOFF: Millis = 500;

fn insufficient(e: Ec2Error) -> bool {
    matches!(
        e,
        Ec2Error::InsufficientCidrBlocks | Ec2Error::InsufficientFreeAddressesInSubnet
    )
}

impl Ipamd {
    /// `updateIPPoolIfRequired`: stats once; grow one step if too low, else shrink if too
    /// high and the 30 s gate is open; then maybe free one ENI, judged on the stats taken
    /// before the step.
    pub(super) fn pool_check(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        self.ds.prune(now);
        self.pass.stats = self.ds.stats(now);
        self.pass.shrunk = false;
        self.pass.acted = false;
        self.pass.started = now;
        if policy::too_low(&self.s, &self.pass.stats) {
            self.stage = Stage::Grow;
            self.grow(now, ec2);
        } else if policy::too_high(&self.s, &self.pass.stats) && self.decrease_gate_open(now) {
            self.stage = Stage::Shrink;
            self.shrink(now, ec2);
        } else {
            self.after_resize(now, ec2);
        }
    }

    /// `increaseDatastorePool`: nothing during the Insufficient* back-off; else top up the
    /// first allocatable ENI in map order (`tryAssignIPs` / `tryAssignPrefixes`), or failing
    /// that create one ENI (`tryAllocateENI`) if there is room.
    pub(super) fn grow(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        if self.in_insufficient_cidr_cooldown(now) {
            return self.grown(now, Grown::Nothing, ec2);
        }
        let st = self.ds.stats(now);
        let mut order = take(&mut self.pass.order);
        order.clear();
        self.pass.order_pos = 0;
        match policy::growth_want(&self.s, &st) {
            // tryAssignIPs: a target is set and nothing is short (surprise 10).
            None => self.pass.want = 0,
            Some(want) => {
                self.pass.want = want;
                self.ds.allocatable_enis(
                    self.s.cidrs_per_eni(),
                    self.s.custom_networking,
                    self.pick,
                    &mut self.rng,
                    &mut order,
                );
            }
        }
        self.pass.order = order;
        self.try_next_eni(now, ec2);
    }

    fn try_next_eni(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        let Some(&eni) = self.pass.order.get(self.pass.order_pos) else {
            return self.no_assign(now, ec2);
        };
        let held = self.ds.eni(eni).map_or(0, |e| e.cidr_count());
        let n = policy::assign_count(&self.s, held, self.pass.want);
        self.assign(now, eni, self.request_of(n), false, ec2);
    }

    pub(super) fn request_of(&self, n: u32) -> Request {
        match self.s.mode {
            Mode::SecondaryIp => Request::Ips(n),
            Mode::PrefixDelegation => Request::Prefixes(n),
        }
    }

    fn assign(
        &mut self,
        now: Millis,
        eni: EniId,
        req: Request,
        retry: bool,
        ec2: &mut impl ControlPlane,
    ) {
        let resp = ec2.assign_private_ip_addresses(now, eni, req);
        let fallback = self.cfg.ip_fallback && matches!(req, Request::Ips(_));
        self.busy(
            now,
            resp.latency,
            Op::Assign {
                eni,
                retry,
                fallback,
                resp,
            },
        );
    }

    /// `AssignPrivateIpAddresses` answered: add the CIDRs; on `PrivateIpAddressLimitExceeded`
    /// resync the ENI from EC2; on another error retry once with a single IP/prefix; if that
    /// fails too, an Insufficient* error under subnet discovery moves on to the next ENI,
    /// anything else ends the step (Insufficient* starting the 120 s back-off).
    fn assign_done(
        &mut self,
        now: Millis,
        eni: EniId,
        retry: bool,
        fallback: bool,
        resp: Response<Vec<Cidr>>,
        ec2: &mut impl ControlPlane,
    ) {
        match resp.result {
            // Auto Mode: the one-prefix retry found no /28 either: secondary IPs instead.
            Err(Ec2Error::InsufficientCidrBlocks) if self.cfg.ip_fallback && retry && !fallback => {
                let held = self.ds.eni(eni).map_or(0, |e| e.cidr_count());
                let room = self.s.cidrs_per_eni().saturating_sub(held);
                let req = self.fallback_ips(self.pass.want, room);
                self.assign(now, eni, req, true, ec2);
            }
            Ok(cidrs) => {
                self.note_returned(eni, &cidrs);
                self.add_cidrs(eni, &cidrs);
                self.grew(now, ec2);
            }
            Err(Ec2Error::PrivateIpAddressLimitExceeded) => {
                let r = ec2.request(now, Action::DescribeNetworkInterfaces);
                self.busy(now, r.latency, Op::AssignResync { eni, resp: r });
            }
            Err(_) if !retry => self.assign(now, eni, self.request_of(1), true, ec2),
            Err(e) if insufficient(e) && self.cfg.subnet_discovery => {
                self.timers.growth_error = Some(e);
                self.pass.order_pos += 1;
                self.try_next_eni(now, ec2);
            }
            Err(e) => {
                self.timers.growth_error = Some(e);
                if insufficient(e) {
                    self.gates.last_insufficient_cidr = Some(now);
                    self.grown(now, Grown::Nothing, ec2);
                } else {
                    self.grown(now, Grown::AssignError, ec2);
                }
            }
        }
    }

    /// The resync `DescribeNetworkInterfaces` answered: what EC2 holds on the ENI beyond
    /// the datastore (CIDRs whose unassign failed) goes back in, and counts as growth.
    fn resync_done(
        &mut self,
        now: Millis,
        eni: EniId,
        resp: Response<()>,
        ec2: &mut impl ControlPlane,
    ) {
        match resp.result {
            Ok(()) => {
                let mut back = take(&mut self.pass.cidr_buf);
                back.clear();
                back.extend(
                    self.held
                        .drift
                        .iter()
                        .filter(|d| d.eni == eni)
                        .map(|d| d.cidr),
                );
                self.held.drift.retain(|d| d.eni != eni);
                self.add_cidrs(eni, &back);
                self.pass.cidr_buf = back;
                self.grew(now, ec2);
            }
            Err(e) => {
                self.timers.growth_error = Some(e);
                self.grown(now, Grown::AssignError, ec2);
            }
        }
    }

    pub(super) fn grew(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        self.timers.last_pool_action = Some(now);
        self.timers.growth_error = None;
        self.pass.acted = true;
        self.grown(now, Grown::Grew, ec2);
    }

    /// The growth step ended: back to its caller (node init or the pool check).
    pub(super) fn grown(&mut self, now: Millis, how: Grown, ec2: &mut impl ControlPlane) {
        match self.stage {
            Stage::Init => self.init_grown(now, how, ec2),
            _ => self.after_resize(now, ec2),
        }
    }

    /// No existing ENI took addresses.
    fn no_assign(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        if policy::has_room_for_eni(&self.s, self.ds.eni_count()) {
            self.new_eni(now, ec2);
        } else {
            self.grown(now, Grown::Nothing, ec2);
        }
    }

    /// ENI creation failed: logged, retried on a later pass; Insufficient* from
    /// `CreateNetworkInterface` starts the back-off.
    pub(super) fn eni_failed(&mut self, now: Millis, e: Ec2Error, ec2: &mut impl ControlPlane) {
        self.timers.growth_error = Some(e);
        self.grown(now, Grown::Nothing, ec2);
    }

    fn new_eni_step(&mut self, now: Millis, op: Op, ec2: &mut impl ControlPlane) {
        let held = |eni: &NewEni| HeldEni {
            id: eni.id,
            primary: false,
            born: now,
            cidrs: eni.cidrs.clone(),
        };
        match op {
            Op::Create {
                req,
                mut rest,
                resp,
            } => match resp.result {
                Ok(eni) => {
                    let r = ec2.request(now, Action::DescribeInstances);
                    self.busy(now, r.latency, Op::DescribeInstances { eni, resp: r });
                }
                // Subnet discovery: on to the next subnet, whatever the error.
                Err(_) if !rest.is_empty() => {
                    let next = rest.remove(0);
                    self.create(now, next, req, rest, ec2);
                }
                // Auto Mode: a new interface with secondary IPs instead of prefixes, in the
                // node's subnet.
                Err(Ec2Error::InsufficientCidrBlocks)
                    if self.cfg.ip_fallback && matches!(req, Request::Prefixes(_)) =>
                {
                    let (Request::Prefixes(n) | Request::Ips(n)) = req;
                    let slots = self.s.ipv4_limit.saturating_sub(1);
                    let ips = self.fallback_ips(n, slots);
                    self.create(now, self.cfg.node_subnet, ips, Vec::new(), ec2);
                }
                Err(e) => {
                    if insufficient(e) {
                        self.gates.last_insufficient_cidr = Some(now);
                    }
                    self.eni_failed(now, e, ec2);
                }
            },
            Op::DescribeInstances { eni, resp } => match resp.result {
                Ok(()) => {
                    // EC2 counts every ENI attached to the instance: the datastore's and
                    // those ipamd dropped while they stayed attached.
                    let attached = self.ds.eni_count() + self.held.attached.len() as u32;
                    let r = ec2.attach_network_interface(now, eni.id, attached, self.s.eni_limit);
                    self.busy(now, r.latency, Op::Attach { eni, resp: r });
                }
                // attachENI failed: delete the new, unattached ENI.
                Err(e) => {
                    self.timers.growth_error = Some(e);
                    self.free_step(now, held(&eni), FreeStep::Delete(0), ec2);
                }
            },
            Op::Attach { eni, resp } => match resp.result {
                Ok(()) => {
                    let r = ec2.request(now, Action::ModifyNetworkInterfaceAttribute);
                    self.busy(now, r.latency, Op::Modify { eni, resp: r });
                }
                Err(e) => {
                    self.timers.growth_error = Some(e);
                    self.free_step(now, held(&eni), FreeStep::Delete(0), ec2);
                }
            },
            Op::Modify { eni, resp } => match resp.result {
                Ok(()) => self.busy(now, self.cfg.imds_delay, Op::Imds { eni }),
                // Attached: a full FreeENI, whose outcome `AllocENI` returns in place of the
                // Modify error (shadowed, §7.2 step 5).
                Err(e) => {
                    self.timers.growth_error = Some(e);
                    self.pass.free_after_modify = true;
                    self.free_step(now, held(&eni), FreeStep::Describe, ec2);
                }
            },
            // `setupENI` (§7.2 step 7): `AddENI` first (`createTime = now`), then with subnet
            // discovery the exclusion check's `DescribeSubnets`, then the addresses.
            Op::Imds { eni } => {
                self.ds.add_eni(eni.id, false, now);
                if self.cfg.subnet_discovery {
                    let r = ec2.request(now, Action::DescribeSubnets);
                    self.busy(now, r.latency, Op::SubnetsAtSetup { eni, resp: r });
                } else {
                    self.note_returned(eni.id, &eni.cidrs);
                    self.add_cidrs(eni.id, &eni.cidrs);
                    self.grew(now, ec2);
                }
            }
            Op::SubnetsAtSetup { eni, resp } => match resp.result {
                Ok(()) => {
                    self.note_returned(eni.id, &eni.cidrs);
                    self.add_cidrs(eni.id, &eni.cidrs);
                    self.grew(now, ec2);
                }
                // setupENI fails right after AddENI: the ENI stays, known and empty; its
                // addresses are in EC2 only (drift without a cache entry). No pool action.
                Err(e) => {
                    self.timers.growth_error = Some(e);
                    let id = eni.id;
                    self.held
                        .drift
                        .extend(eni.cidrs.into_iter().map(|cidr| Drift {
                            eni: id,
                            cidr,
                            cached_until: 0,
                        }));
                    self.grown(now, Grown::Nothing, ec2);
                }
            },
            // `WaitForENIAndIPsAttached` for ENI "" gave up: the allocation fails.
            Op::ImdsGiveUp => self.grown(now, Grown::Nothing, ec2),
            _ => unreachable!("not a new-ENI step"),
        }
    }

    /// `WaitForENIAndIPsAttached` for an ENI IMDS never lists: 12 polls, 11 sleeps of
    /// 0.1 s doubling (capped at 60 s) plus 0–15 % jitter each, 162.3–186.6 s in all.
    fn imds_give_up_wait(&mut self) -> Millis {
        (0..11).map(|i| self.backoff(100, i)).sum()
    }

    /// `decreaseDatastorePool` → `tryUnassignCidrsFromAll`: over ENIs in map order, drop up
    /// to the surplus of zero-assigned CIDRs from the datastore (cooling ones included) and
    /// return each ENI's batch in one `UnassignPrivateIpAddresses`.
    fn shrink(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        self.pass.shrunk = true;
        self.pass.acted = true;
        self.pass.want = policy::shrink_amount(&self.s, &self.ds.stats(now));
        self.pass.order_pos = 0;
        let mut order = take(&mut self.pass.order);
        if self.pass.want > 0 {
            self.ds.eni_order(self.pick, &mut self.rng, &mut order);
        } else {
            order.clear();
        }
        self.pass.order = order;
        self.shrink_next(now, ec2);
    }

    fn shrink_next(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        while self.pass.want > 0 {
            let Some(&eni) = self.pass.order.get(self.pass.order_pos) else {
                break;
            };
            self.pass.order_pos += 1;
            let mut batch = take(&mut self.pass.cidr_buf);
            let (pick, max) = (self.pick, self.pass.want as usize);
            self.ds
                .freeable_cidrs(eni, max, pick, &mut self.rng, &mut batch);
            batch.retain(|&c| self.ds.remove_cidr(eni, c).is_ok());
            if batch.is_empty() {
                self.pass.cidr_buf = batch;
                continue;
            }
            self.pass.want -= batch.len() as u32;
            // `DeallocCidrs`: each released IP/prefix enters the reconcile cooldown cache.
            for &c in &batch {
                self.held.recon_cache.insert(c, now + IP_RECONCILE_COOLDOWN);
            }
            let r = ec2.unassign_private_ip_addresses(now, eni, &batch);
            self.busy(
                now,
                r.latency,
                Op::Unassign {
                    eni,
                    cidrs: batch,
                    resp: r,
                },
            );
            return;
        }
        self.after_resize(now, ec2);
    }

    /// Unassign errors are only logged: EC2 keeps the CIDRs, reconcile re-adds them.
    fn unassign_done(
        &mut self,
        now: Millis,
        eni: EniId,
        cidrs: Vec<Cidr>,
        resp: Response<()>,
        ec2: &mut impl ControlPlane,
    ) {
        if resp.result.is_err() {
            let cached_until = now.saturating_sub(resp.latency) + IP_RECONCILE_COOLDOWN;
            self.held.drift.extend(cidrs.iter().map(|&cidr| Drift {
                eni,
                cidr,
                cached_until,
            }));
        }
        self.pass.cidr_buf = cidrs;
        self.shrink_next(now, ec2);
    }

    /// `shouldRemoveExtraENIs` → `tryFreeENI`: at most one deletable ENI leaves the
    /// datastore, then `FreeENI`.
    fn after_resize(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        let st = self.pass.stats;
        if policy::should_remove_extra_enis(&self.s, &st, || self.ds.freeable_eni_exists()) {
            self.stage = Stage::FreeEni;
            let targets = self.eni_targets();
            if let Some(id) = self
                .ds
                .deletable_eni(now, targets, self.pick, &mut self.rng)
            {
                let born = self.ds.eni(id).map_or(now, |e| e.created());
                let mut cidrs = self.ds.remove_eni(id).expect("deletable ENIs have no pods");
                cidrs.extend(
                    self.held
                        .drift
                        .iter()
                        .filter(|d| d.eni == id)
                        .map(|d| d.cidr),
                );
                self.held.drift.retain(|d| d.eni != id);
                let held = HeldEni {
                    id,
                    primary: false,
                    born,
                    cidrs,
                };
                self.pass.acted = true;
                return self.free_step(now, held, FreeStep::Describe, ec2);
            }
        }
        self.end_pass(now);
    }

    fn end_pass(&mut self, now: Millis) {
        if self.pass.shrunk {
            self.gates.last_decrease = Some(now);
            self.timers.last_pool_action = Some(now);
        }
        self.after_pool_check(self.pass.started, now);
    }

    fn free_step(
        &mut self,
        now: Millis,
        held: HeldEni,
        step: FreeStep,
        ec2: &mut impl ControlPlane,
    ) {
        let resp = match step {
            FreeStep::Describe => ec2.request(now, Action::DescribeNetworkInterfaces),
            FreeStep::Detach(_) => ec2.detach_network_interface(now, held.id),
            FreeStep::Delete(_) => ec2.delete_network_interface(now, held.id),
        };
        self.busy(now, resp.latency, Op::Free { held, step, resp });
    }

    /// `FreeENI` (§7.3): describe, detach (12 tries), 2 s, delete (12 tries). A failed
    /// describe or detach leaves the ENI attached for reconcile; a failed delete leaves it
    /// for the leaked-ENI cleanup.
    fn free_done(
        &mut self,
        now: Millis,
        held: HeldEni,
        step: FreeStep,
        resp: Response<()>,
        ec2: &mut impl ControlPlane,
    ) {
        let ok = resp.result.is_ok();
        let deleted = ok && matches!(step, FreeStep::Delete(_));
        match step {
            FreeStep::Describe if ok => return self.free_step(now, held, FreeStep::Detach(0), ec2),
            FreeStep::Detach(_) if ok => {
                let next = FreeStep::Delete(0);
                return self.busy(now, DETACH_DELETE_SLEEP, Op::FreeWait { held, next });
            }
            FreeStep::Detach(k) if k + 1 < MAX_ENI_EC2_RETRIES => {
                let wait = self.backoff(DETACH_BACKOFF, k);
                let next = FreeStep::Detach(k + 1);
                return self.busy(now, wait, Op::FreeWait { held, next });
            }
            FreeStep::Delete(k) if !ok && k + 1 < MAX_ENI_EC2_RETRIES => {
                let wait = self.backoff(DELETE_BACKOFF, k);
                let next = FreeStep::Delete(k + 1);
                return self.busy(now, wait, Op::FreeWait { held, next });
            }
            FreeStep::Delete(_) if ok => {}
            FreeStep::Delete(_) => self.held.leaked.push(held),
            FreeStep::Describe | FreeStep::Detach(_) => self.held.attached.push(held),
        }
        match self.stage {
            Stage::FreeEni => self.end_pass(now),
            // AllocENI returned no ENI and no error: wait for ENI "" in IMDS (§7.2 step 5).
            _ if std::mem::take(&mut self.pass.free_after_modify) && deleted => {
                let wait = self.imds_give_up_wait();
                self.busy(now, wait, Op::ImdsGiveUp);
            }
            _ => self.grown(now, Grown::Nothing, ec2),
        }
    }

    /// A call or sleep of the main loop ended at `now`.
    pub(super) fn complete(&mut self, now: Millis, op: Op, ec2: &mut impl ControlPlane) {
        match op {
            Op::InitDescribe { attempt, resp } => self.init_described(now, attempt, resp, ec2),
            Op::InitModify { next, resp } => self.init_modified(now, next, resp, ec2),
            Op::Assign {
                eni,
                retry,
                fallback,
                resp,
            } => self.assign_done(now, eni, retry, fallback, resp, ec2),
            Op::AssignResync { eni, resp } => self.resync_done(now, eni, resp, ec2),
            Op::SubnetsBeforeCreate { second, n, resp } => {
                self.subnets_done(now, second, n, resp, ec2)
            }
            op @ (Op::Create { .. }
            | Op::DescribeInstances { .. }
            | Op::Attach { .. }
            | Op::Modify { .. }
            | Op::Imds { .. }
            | Op::SubnetsAtSetup { .. }
            | Op::ImdsGiveUp) => self.new_eni_step(now, op, ec2),
            Op::InitTag {
                next,
                attempt,
                resp,
            } => self.init_tagged(now, next, attempt, resp, ec2),
            Op::InitSetup {
                next,
                attempt,
                resp,
            } => self.init_setup_done(now, next, attempt, resp, ec2),
            Op::ReconSetup { held, resp } => self.recon_setup_done(now, held, resp, ec2),
            Op::Free { held, step, resp } => self.free_done(now, held, step, resp, ec2),
            Op::FreeWait { held, next } => self.free_step(now, held, next, ec2),
            Op::Unassign { eni, cidrs, resp } => self.unassign_done(now, eni, cidrs, resp, ec2),
            Op::ReconDescribeAll { attempt, resp } => self.recon_described(now, attempt, resp, ec2),
            Op::ReconDescribeEni { eni, resp } => self.recon_eni_described(now, eni, resp, ec2),
            Op::Sleep {
                then: Resume::InitDescribe(attempt),
            } => self.init_describe(now, attempt, ec2),
            Op::Sleep {
                then: Resume::ReconDescribe(attempt),
            } => self.recon_describe(now, attempt, ec2),
            Op::Sleep {
                then: Resume::InitTag(next, attempt),
            } => self.init_tag(now, next, attempt, ec2),
            Op::Sleep {
                then: Resume::InitSetup(next, attempt),
            } => self.init_setup(now, next, attempt, ec2),
        }
    }
}
