//! A node's datastore: its ENIs, their secondary IPs (/32) or prefixes (/28), and one record
//! per address ever handed to a pod (upstream `pkg/ipamd/datastore/data_store.go`;
//! spec/ipamd-policy.md §3 and §5).
//!
//! ENIs and each ENI's CIDRs live in `Slots`, so "map order" follows the Go model of
//! `gomap`. An address record is *unused* (never handed out, or dropped after its
//! cooldown), *assigned* to a pod, or *released* at some time: it then cools for
//! `IP_COOLDOWN_PERIOD` (`now − released ≤ cooldown`), during which it is neither reused nor
//! lets its ENI be freed, but still counts as available and may be released back to EC2.
//!
//! Statistics are kept incrementally: [`Datastore::stats`] is O(log n) (cooling addresses are
//! counted in a FIFO of release times, which are monotone), and every per-ENI question the
//! pool check asks is O(ENIs). Only handing out an address scans records, and only on the
//! ENI and CIDR it picks.
//!
//! Here: the store, its counts, assigning and releasing. `give_back.rs`: what the pool check
//! asks about growing and giving back (allocatable, freeable and deletable ENIs and CIDRs);
//! `cidr.rs`: one CIDR's records; `checkpoint.rs`: ipamd's checkpoint file; `hints.rs`: the
//! engine's prefetch hints and the state checker's look at the records.

use std::collections::VecDeque;

use rand::RngExt as _;

use crate::ec2::{Cidr, EniId};
use crate::ipamd::config::IpPick;
use crate::ipamd::gomap::{Slots, first_match};
use crate::ipamd::policy::{IPS_PER_PREFIX, Mode, PoolStats};
use crate::rng::NodeRng;
use crate::time::{Millis, SECOND};

mod checkpoint;
mod cidr;
mod give_back;
mod hints;
mod pod_table;
use cidr::{CidrState, Rec};
pub use give_back::EniTargets;
use pod_table::{Loc, PodTable};

/// `minENILifeTime`: an ENI younger than this is never freed.
pub const MIN_ENI_LIFETIME: Millis = 60 * SECOND;

/// `inCoolingPeriod`: released at `at`, still cooling at `now`. A zero or negative
/// `IP_COOLDOWN_PERIOD` means no cooldown.
pub fn is_cooling(at: Millis, now: Millis, cooldown: Millis) -> bool {
    cooldown > 0 && now <= at.saturating_add(cooldown)
}

/// An ENI in the datastore.
#[derive(Clone, Debug)]
pub struct Eni {
    id: EniId,
    primary: bool,
    created: Millis,
    cidrs: Slots<CidrState>,
    total_ips: u32,
    assigned: u32,
    /// Records that are not unused, over its CIDRs: while fewer than `total_ips`, some
    /// address was never handed out (or has cooled and been dropped) and is assignable.
    recorded: u32,
    free_prefixes: u32,
    last_release: Option<Millis>,
}

impl Eni {
    /// Its EC2 id.
    pub fn id(&self) -> EniId {
        self.id
    }
    /// The node's primary ENI (device 0): never freed.
    pub fn is_primary(&self) -> bool {
        self.primary
    }
    /// Not the primary and without a pod: what `CheckFreeableENIexists` looks for, and
    /// what [`Datastore`]'s idle count counts.
    fn is_idle(&self) -> bool {
        !self.primary && self.assigned == 0
    }
    /// `createTime`: when ipamd added it to the datastore.
    pub fn created(&self) -> Millis {
        self.created
    }
    /// Secondary IPs or prefixes held.
    pub fn cidr_count(&self) -> u32 {
        self.cidrs.len() as u32
    }
    /// Pod-assignable addresses.
    pub fn total_ips(&self) -> u32 {
        self.total_ips
    }
    /// Addresses held by pods.
    pub fn assigned_ips(&self) -> u32 {
        self.assigned
    }
    /// Its CIDRs, in slot order.
    pub fn cidrs(&self) -> impl Iterator<Item = Cidr> + '_ {
        self.cidrs.iter().map(|(_, c)| c.cidr)
    }
    /// `hasIPInCooling`.
    fn has_cooling(&self, now: Millis, cooldown: Millis) -> bool {
        self.last_release
            .is_some_and(|at| is_cooling(at, now, cooldown))
    }
    fn has_assignable(&self, now: Millis, cooldown: Millis) -> bool {
        if self.total_ips == self.assigned {
            return false;
        }
        if self.recorded < self.total_ips || !self.has_cooling(now, cooldown) {
            return true;
        }
        self.cidrs
            .iter()
            .any(|(_, c)| c.has_assignable(now, cooldown))
    }
}

/// Why no address could be handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoAddress {
    /// Every address is held by a pod (or there is none).
    Exhausted,
    /// Unassigned addresses exist but all are in `IP_COOLDOWN_PERIOD`.
    Cooling,
}

/// Why `DelIPv4CidrFromStore` refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CidrError {
    /// No such ENI or CIDR.
    Unknown,
    /// A pod holds one of its addresses (`IPInUseError`).
    InUse,
}

/// One node's datastore (network card 0). See the module docs.
///
/// Laid out for the hot path (issue 13): what [`Datastore::stats`] reads — the counts, the
/// ENI map's header and the newest release — is the first cache line, and the struct starts
/// one; the per-minute report samples every node's stats.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct Datastore {
    cooldown: Millis,
    /// The latest time ever pushed to `cooling` (0 before any): no entry is newer, so once
    /// it has cooled down nothing cools and `cooling` need not be read.
    newest_release: Millis,
    total_ips: u32,
    assigned: u32,
    prefixes: u32,
    free_prefixes: u32,
    enis: Slots<Eni>,
    /// (release time, address) of released records, oldest first.
    cooling: VecDeque<(Millis, u32)>,
    /// Where each pod's address is.
    pods: PodTable,
    mode: Mode,
    /// Prefix mode with secondary IPs kept too ([`Datastore::keep_secondary_ips`]).
    mixed: bool,
    /// Non-primary ENIs without an assigned address (`CheckFreeableENIexists`'s test),
    /// kept at every change so the pool checks after a pod event need not visit the ENIs
    /// when none is (issue 13). At most 15 ENIs on network card 0; a byte that fits the
    /// padding before `edits`.
    idle_enis: u8,
    /// Changes so far, wrapping ([`Datastore::edits`]; `u32` keeps the struct in two lines).
    edits: u32,
}

impl Datastore {
    /// An empty datastore for `mode` with `IP_COOLDOWN_PERIOD` = `cooldown`.
    pub fn new(mode: Mode, cooldown: Millis) -> Self {
        Datastore {
            mode,
            cooldown,
            newest_release: 0,
            enis: Slots::new(),
            total_ips: 0,
            assigned: 0,
            prefixes: 0,
            free_prefixes: 0,
            mixed: false,
            cooling: VecDeque::new(),
            pods: PodTable::default(),
            edits: 0,
            idle_enis: 0,
        }
    }

    /// How many times the pool has changed: a count that moves at every ENI or CIDR added or
    /// removed, every address assigned or released, and carries over into a restarted
    /// process's datastore. Equal counts mean the same pool (time apart: which released
    /// addresses still cool depends on the clock, not on a change). Forgetting cooled-down
    /// release times ([`Datastore::prune`]) is not a change.
    ///
    /// The count wraps: comparing two readings tells whether anything changed in between as
    /// long as fewer than 2³² changes separate them (one wake-up makes a handful).
    pub fn edits(&self) -> u32 {
        self.edits
    }

    /// Forgets every ENI and pod (the instance is gone), keeping the mode and cooldown.
    pub fn clear(&mut self) {
        *self = Datastore {
            mixed: false,
            ..self.emptied()
        };
    }

    /// An empty datastore with the same mode and cooldown (a new ipamd process's).
    pub fn emptied(&self) -> Self {
        let mut d = Datastore::new(self.mode, self.cooldown);
        d.mixed = self.mixed;
        d.edits = self.edits.wrapping_add(1);
        d
    }

    /// In prefix mode, keep secondary IPs (/32) beside the prefixes: EKS Auto Mode falls
    /// back to them when the subnet has no /28 left ([`crate::ipamd::config::Networking`]).
    /// A /32 counts one address and no prefix.
    pub fn keep_secondary_ips(&mut self) {
        self.mixed = true;
        self.edits = self.edits.wrapping_add(1);
    }

    /// The mode whose CIDRs count.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// ENIs, in slot order.
    pub fn enis(&self) -> impl Iterator<Item = &Eni> + '_ {
        self.enis.iter().map(|(_, e)| e)
    }

    /// `GetENIs`.
    pub fn eni_count(&self) -> u32 {
        self.enis.len() as u32
    }

    /// `TotalIPs`.
    pub fn total_ips(&self) -> u32 {
        self.total_ips
    }

    /// The ENI `id`, if in the datastore.
    pub fn eni(&self, id: EniId) -> Option<&Eni> {
        self.enis().find(|e| e.id == id)
    }

    fn slot_of(&self, id: EniId) -> Option<usize> {
        self.enis.iter().find(|(_, e)| e.id == id).map(|(i, _)| i)
    }

    /// `AddENI`: a new ENI with no CIDRs, `createTime = now`. False if already there.
    pub fn add_eni(&mut self, id: EniId, primary: bool, now: Millis) -> bool {
        if self.slot_of(id).is_some() {
            return false;
        }
        self.enis.insert(Eni {
            id,
            primary,
            created: now,
            cidrs: Slots::new(),
            total_ips: 0,
            assigned: 0,
            recorded: 0,
            free_prefixes: 0,
            last_release: None,
        });
        self.idle_enis += u8::from(!primary);
        self.edits = self.edits.wrapping_add(1);
        true
    }

    /// `AddIPv4CidrToStore`. Only CIDRs of the current mode are kept (/32 in SIP, /28 in
    /// PD, both in PD with [`Datastore::keep_secondary_ips`]); false for another kind, an
    /// unknown ENI or a duplicate.
    pub fn add_cidr(&mut self, eni: EniId, cidr: Cidr) -> bool {
        let kept = match self.mode {
            Mode::SecondaryIp => cidr.prefix_len() == 32,
            Mode::PrefixDelegation => {
                cidr.prefix_len() == 28 || (self.mixed && cidr.prefix_len() == 32)
            }
        };
        let Some(slot) = self.slot_of(eni) else {
            return false;
        };
        let e = self.enis.get_mut(slot).expect("slot is live");
        if !kept || e.cidrs.iter().any(|(_, c)| c.cidr == cidr) {
            return false;
        }
        let size = cidr.size_u32();
        e.cidrs.insert(CidrState::new(cidr));
        e.total_ips += size;
        self.total_ips += size;
        if size == IPS_PER_PREFIX {
            e.free_prefixes += 1;
            self.prefixes += 1;
            self.free_prefixes += 1;
        }
        self.edits = self.edits.wrapping_add(1);
        true
    }

    /// `DelIPv4CidrFromStore(force = false)`: refuses while a pod holds an address of it;
    /// otherwise drops the CIDR and its records (cooling ones included).
    pub fn remove_cidr(&mut self, eni: EniId, cidr: Cidr) -> Result<(), CidrError> {
        let slot = self.slot_of(eni).ok_or(CidrError::Unknown)?;
        let e = self.enis.get_mut(slot).expect("slot is live");
        let (cslot, state) = e
            .cidrs
            .iter()
            .find(|(_, c)| c.cidr == cidr)
            .ok_or(CidrError::Unknown)?;
        if state.assigned > 0 {
            return Err(CidrError::InUse);
        }
        let had_cooling = state.last_release().is_some();
        let state = e.cidrs.remove(cslot).expect("slot is live");
        e.recorded -= u32::from(state.recorded);
        e.total_ips -= state.size();
        self.total_ips -= state.size();
        if state.size() == IPS_PER_PREFIX {
            e.free_prefixes -= 1;
            self.prefixes -= 1;
            self.free_prefixes -= 1;
        }
        if had_cooling {
            e.last_release = e.cidrs.iter().filter_map(|(_, c)| c.last_release()).max();
            let (lo, hi) = (cidr.addr(), cidr.last());
            self.cooling.retain(|&(_, a)| a < lo || a > hi);
        }
        self.edits = self.edits.wrapping_add(1);
        Ok(())
    }

    /// Drops ENI `id` with its CIDRs and returns them, unless a pod holds one of its
    /// addresses (`RemoveENIFromDataStore(force = false)`).
    pub fn remove_eni(&mut self, id: EniId) -> Option<Vec<Cidr>> {
        let slot = self.slot_of(id)?;
        if self.enis.get(slot)?.assigned > 0 {
            return None;
        }
        let e = self.enis.remove(slot).expect("slot is live");
        self.idle_enis -= u8::from(e.is_idle());
        self.edits = self.edits.wrapping_add(1);
        self.total_ips -= e.total_ips;
        self.prefixes -= e
            .cidrs
            .iter()
            .filter(|(_, c)| c.size() == IPS_PER_PREFIX)
            .count() as u32;
        self.free_prefixes -= e.free_prefixes;
        if e.last_release.is_some() {
            for (_, c) in e.cidrs.iter() {
                let (lo, hi) = (c.cidr.addr(), c.cidr.addr() + (c.size() - 1));
                self.cooling.retain(|&(_, a)| a < lo || a > hi);
            }
        }
        Some(e.cidrs().collect())
    }

    /// Forgets release times that can no longer be cooling at `now` or later.
    pub fn prune(&mut self, now: Millis) {
        if !is_cooling(self.newest_release, now, self.cooldown) {
            self.cooling.clear();
            return;
        }
        while let Some(&(at, _)) = self.cooling.front() {
            if is_cooling(at, now, self.cooldown) {
                break;
            }
            self.cooling.pop_front();
        }
    }

    /// Released addresses still cooling at `now`.
    pub fn cooling_ips(&self, now: Millis) -> u32 {
        if !is_cooling(self.newest_release, now, self.cooldown) {
            return 0;
        }
        match self.cooling.front() {
            None => return 0,
            // Release times are pushed in time order: if the oldest still cools, all do.
            Some(&(at, _)) if is_cooling(at, now, self.cooldown) => {
                return self.cooling.len() as u32;
            }
            Some(_) => {}
        }
        let cut = self
            .cooling
            .partition_point(|&(at, _)| !is_cooling(at, now, self.cooldown));
        (self.cooling.len() - cut) as u32
    }

    /// The first time after `now` at which an address cooling at `now` stops cooling (the
    /// oldest one's release plus the cooldown, plus 1 ms: [`is_cooling`] includes the last
    /// millisecond), if any still cools.
    pub fn cooling_ends_after(&self, now: Millis) -> Option<Millis> {
        if !is_cooling(self.newest_release, now, self.cooldown) {
            return None;
        }
        let cut = self
            .cooling
            .partition_point(|&(at, _)| !is_cooling(at, now, self.cooldown));
        let &(at, _) = self.cooling.get(cut)?;
        Some(at.saturating_add(self.cooldown).saturating_add(1))
    }

    /// `GetIPStats` + `GetFreePrefixes` + `GetENIs` at `now`.
    pub fn stats(&self, now: Millis) -> PoolStats {
        PoolStats {
            cooldown_ips: self.cooling_ips(now),
            ..self.policy_stats()
        }
    }

    /// [`Datastore::stats`] for the pool rules alone: `cooldown_ips` is left at 0, as no
    /// rule reads it (`AvailableAddresses` counts cooling addresses as available; the
    /// property `the_pool_rules_never_read_cooldown_ips` in the policy's tests holds them
    /// to that), which saves a search of the cooling records on each of the two pool
    /// checks a pod event asks (issue 13: 3 % of ultra-100k's instructions).
    pub fn policy_stats(&self) -> PoolStats {
        PoolStats {
            total_ips: self.total_ips,
            assigned_ips: self.assigned,
            cooldown_ips: 0,
            total_prefixes: self.prefixes,
            free_prefixes: self.free_prefixes,
            enis: self.eni_count(),
        }
    }

    /// The address `pod` holds, if any.
    pub fn pod_address(&self, pod: u32) -> Option<u32> {
        Some(self.address_at(self.pods.get(pod)?))
    }

    fn address_at(&self, loc: Loc) -> u32 {
        let eni = self.enis.get(usize::from(loc.eni));
        let c = eni.and_then(|e| e.cidrs.get(usize::from(loc.cidr)));
        c.expect("pod's CIDR is live").cidr.addr() + u32::from(loc.offset)
    }

    /// `AssignPodIPv4Address` (§5.1): the pod's address if it already has one; else the first
    /// ENI in map order with an assignable address, the first such CIDR on it in map order,
    /// and `pickUnused` inside it. `random` picks uniformly among all assignable addresses.
    pub fn assign(
        &mut self,
        pod: u32,
        now: Millis,
        pick: IpPick,
        rng: &mut NodeRng,
    ) -> Result<u32, NoAddress> {
        if let Some(addr) = self.pod_address(pod) {
            return Ok(addr);
        }
        self.assign_new(pod, now, pick, rng)
    }

    /// [`Datastore::assign`] for a pod known to hold no address (the CNI ADD's hot path:
    /// one pod-table lookup fewer). The checks that refuse are inlined into the caller, as most
    /// calls are a waiting pod's retry on a node with no address to give.
    #[inline]
    pub fn assign_new(
        &mut self,
        pod: u32,
        now: Millis,
        pick: IpPick,
        rng: &mut NodeRng,
    ) -> Result<u32, NoAddress> {
        debug_assert!(self.pod_address(pod).is_none());
        self.prune(now);
        let unassigned = self.total_ips - self.assigned;
        if unassigned == 0 {
            return Err(NoAddress::Exhausted);
        }
        // Pruned at `now`, every record left is cooling: the count is the records'.
        debug_assert_eq!(self.cooling.len() as u32, self.cooling_ips(now));
        if unassigned == self.cooling.len() as u32 {
            return Err(NoAddress::Cooling);
        }
        Ok(self.assign_found(pod, now, pick, rng))
    }

    /// [`Datastore::assign_new`] once an address is known to be assignable.
    #[inline(never)]
    fn assign_found(&mut self, pod: u32, now: Millis, pick: IpPick, rng: &mut NodeRng) -> u32 {
        let cd = self.cooldown;
        let (eslot, cslot) = match pick {
            IpPick::Random => self.pick_random(now, rng),
            _ => {
                let e = first_match(&self.enis, pick, rng, |e| e.has_assignable(now, cd))
                    .expect("an ENI has an assignable address");
                let eni = self.enis.get(e).expect("slot is live");
                let c = first_match(&eni.cidrs, pick, rng, |c| c.has_assignable(now, cd))
                    .expect("the ENI has an assignable CIDR");
                (e, c)
            }
        };
        let c = self
            .enis
            .get_mut(eslot)
            .expect("slot is live")
            .cidrs
            .get_mut(cslot);
        let c = c.expect("slot is live");
        let (offset, dropped) = c
            .pick_unused(now, cd)
            .expect("the CIDR has an assignable address");
        c.recorded += 1;
        let eni = self.enis.get_mut(eslot).expect("slot is live");
        eni.recorded = eni.recorded + 1 - u32::from(dropped);
        self.mark_assigned(eslot, cslot, offset, pod, now)
    }

    /// Records `pod` on the address at `offset` of CIDR `cslot` of ENI `eslot` since `at`, and
    /// keeps every count that follows from it (the CIDR's, the ENI's, the datastore's, the
    /// prefix-mode free-prefix count, the pod table). Shared by [`Datastore::assign`] and the
    /// checkpoint's restore; each caller keeps its own `recorded` bookkeeping.
    /// Returns the address.
    fn mark_assigned(
        &mut self,
        eslot: usize,
        cslot: usize,
        offset: usize,
        pod: u32,
        at: Millis,
    ) -> u32 {
        let eni = self.enis.get_mut(eslot).expect("slot is live");
        let c = eni.cidrs.get_mut(cslot).expect("slot is live");
        c.set_assigned(offset, at);
        let addr = c.cidr.addr() + offset as u32;
        c.assigned += 1;
        if c.size() == IPS_PER_PREFIX && c.assigned == 1 {
            eni.free_prefixes -= 1;
            self.free_prefixes -= 1;
        }
        self.idle_enis -= u8::from(eni.is_idle());
        eni.assigned += 1;
        self.assigned += 1;
        self.edits = self.edits.wrapping_add(1);
        let loc = Loc {
            pod,
            eni: u8::try_from(eslot).expect("at most 15 ENIs"),
            cidr: u8::try_from(cslot).expect("at most 50 CIDRs per ENI"),
            offset: offset as u8,
        };
        self.pods.insert(loc);
        addr
    }

    fn pick_random(&self, now: Millis, rng: &mut NodeRng) -> (usize, usize) {
        let cd = self.cooldown;
        let cidrs = || {
            self.enis
                .iter()
                .flat_map(move |(e, eni)| eni.cidrs.iter().map(move |(c, s)| (e, c, s)))
        };
        let total: u32 = cidrs().map(|(_, _, s)| s.assignable(now, cd)).sum();
        let mut k = rng.random_range(0..total);
        for (e, c, s) in cidrs() {
            let n = s.assignable(now, cd);
            if k < n {
                return (e, c);
            }
            k -= n;
        }
        unreachable!("k < total")
    }

    /// `UnassignPodIPAddress` (§5.2): the pod's record stays, released at `now`, and cools.
    /// Returns the address, or `None` for a pod without one.
    pub fn release(&mut self, pod: u32, now: Millis) -> Option<u32> {
        let loc = self.pods.remove(pod)?;
        let eni = self.enis.get_mut(usize::from(loc.eni)).expect("live");
        let c = eni.cidrs.get_mut(usize::from(loc.cidr)).expect("live");
        c.release(usize::from(loc.offset), now);
        if c.size() == IPS_PER_PREFIX && c.assigned == 0 {
            eni.free_prefixes += 1;
            self.free_prefixes += 1;
        }
        let addr = c.cidr.addr() + u32::from(loc.offset);
        eni.assigned -= 1;
        self.idle_enis += u8::from(eni.is_idle());
        eni.last_release = Some(now);
        self.assigned -= 1;
        self.edits = self.edits.wrapping_add(1);
        if self.cooldown > 0 {
            self.cooling.push_back((now, addr));
            self.newest_release = now;
        }
        Some(addr)
    }
}

#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod tests;
