//! What the pool check asks the datastore about growing and giving back: the ENIs that can
//! take more CIDRs (`GetAllocatableENIs`), the CIDRs and the ENI it may free
//! (`getDeletableENI`, `RemoveUnusedENIFromStore`; spec/ipamd-policy.md §3.1, §4.4, §4.6,
//! §4.7). Every question is O(ENIs), from the per-ENI counts the datastore keeps.

use super::{Datastore, Eni, MIN_ENI_LIFETIME};
use crate::ec2::{Cidr, EniId};
use crate::ipamd::config::IpPick;
use crate::ipamd::gomap::{Slots, first_match, visit};
use crate::ipamd::policy::{IPS_PER_PREFIX, Mode};
use crate::rng::NodeRng;
use crate::time::Millis;

/// WARM_IP_TARGET, MINIMUM_IP_TARGET and WARM_PREFIX_TARGET as `getDeletableENI` takes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EniTargets {
    /// `warmIPTarget` (0 = unset).
    pub warm_ip: u32,
    /// `minimumIPTarget` (0 = unset).
    pub minimum_ip: u32,
    /// `warmPrefixTarget` (PD only).
    pub warm_prefix: u32,
}

/// Whether `e` can take another CIDR under `limit` (`GetAllocatableENIs`' test; the primary
/// skipped with custom networking).
fn allocatable(e: &Eni, limit: u32, skip_primary: bool) -> bool {
    !(skip_primary && e.primary) && e.cidr_count() < limit
}

impl Datastore {
    /// `GetAllocatableENIs(limit, skipPrimary)` in map order into `out`: ENIs holding fewer
    /// than `limit` CIDRs (the primary skipped with custom networking).
    pub fn allocatable_enis(
        &self,
        limit: u32,
        skip_primary: bool,
        pick: IpPick,
        rng: &mut NodeRng,
        out: &mut Vec<EniId>,
    ) {
        out.clear();
        if !self.has_allocatable_eni(limit, skip_primary) {
            return;
        }
        out.extend(
            visit(&self.enis, pick, rng)
                .filter(|e| allocatable(e, limit, skip_primary))
                .map(|e| e.id),
        );
    }

    /// Whether some ENI could take more CIDRs (`GetAllocatableENIs` non-empty), without
    /// drawing an order.
    pub fn has_allocatable_eni(&self, limit: u32, skip_primary: bool) -> bool {
        self.enis().any(|e| allocatable(e, limit, skip_primary))
    }

    /// `FindFreeableCidrs(eni)[:max]` into `out`: CIDRs with no assigned address (cooling
    /// ignored), in the ENI's map order.
    pub fn freeable_cidrs(
        &self,
        eni: EniId,
        max: usize,
        pick: IpPick,
        rng: &mut NodeRng,
        out: &mut Vec<Cidr>,
    ) {
        out.clear();
        let Some(e) = self.eni(eni) else { return };
        if max == 0 || !e.cidrs.iter().any(|(_, c)| c.assigned == 0) {
            return;
        }
        out.extend(
            visit(&e.cidrs, pick, rng)
                .filter(|c| c.assigned == 0)
                .map(|c| c.cidr)
                .take(max),
        );
    }

    /// ENIs in the order the shrink visits them (`tryUnassignCidrsFromAll` ranging over
    /// `GetENIInfos().ENIs`, spec §4.6): `GetENIInfos` copies the ENI map by walking it
    /// (one map order) into a fresh map, and the shrink walks that copy (a second map
    /// order over the copy's slots, filled in the first walk's order).
    pub fn eni_order(&self, pick: IpPick, rng: &mut NodeRng, out: &mut Vec<EniId>) {
        let mut copy = Slots::new();
        for e in visit(&self.enis, pick, rng) {
            copy.insert(e.id);
        }
        out.clear();
        out.extend(visit(&copy, pick, rng).copied());
    }

    /// `CheckFreeableENIexists`: a non-primary ENI with no pod (no age or cooldown check).
    pub fn freeable_eni_exists(&self) -> bool {
        self.idle_enis > 0
    }

    /// Conditions 5–7 of `getDeletableENI`: the *other* ENIs would not cover the targets.
    fn required_by_targets(&self, e: &Eni, t: EniTargets) -> bool {
        let pd = self.mode == Mode::PrefixDelegation;
        let round = |x: u32| {
            if pd {
                x.div_ceil(IPS_PER_PREFIX) * IPS_PER_PREFIX
            } else {
                x
            }
        };
        let other_free = (self.total_ips - self.assigned) - (e.total_ips - e.assigned);
        let other_total = self.total_ips - e.total_ips;
        let other_free_prefixes = self.free_prefixes - e.free_prefixes;
        (t.warm_ip != 0 && other_free < round(t.warm_ip))
            || (t.minimum_ip != 0 && other_total < round(t.minimum_ip))
            || (pd && t.warm_prefix != 0 && other_free_prefixes < t.warm_prefix)
    }

    /// The time-independent conditions of `getDeletableENI`: 1 (not primary), 4 (no pod) and
    /// 5–7 (targets); 8–9 (trunk, EFA) never apply here.
    fn freeable_by_counts(&self, e: &Eni, t: EniTargets) -> bool {
        e.is_idle() && !self.required_by_targets(e, t)
    }

    /// `getDeletableENI`: the first ENI in map order passing all nine conditions of §3.1
    /// (the time-dependent ones: at least [`MIN_ENI_LIFETIME`] old, no address cooling).
    pub fn deletable_eni(
        &self,
        now: Millis,
        targets: EniTargets,
        pick: IpPick,
        rng: &mut NodeRng,
    ) -> Option<EniId> {
        let slot = first_match(&self.enis, pick, rng, |e| self.deletable(e, now, targets))?;
        Some(self.enis.get(slot).expect("live").id)
    }

    /// Whether [`Datastore::deletable_eni`] would find an ENI at `now`, without drawing.
    pub fn has_deletable_eni(&self, now: Millis, targets: EniTargets) -> bool {
        self.idle_enis > 0 && self.enis().any(|e| self.deletable(e, now, targets))
    }

    /// `getDeletableENI`'s test of one ENI: free by the counts, old enough, cooled down.
    fn deletable(&self, e: &Eni, now: Millis, targets: EniTargets) -> bool {
        self.freeable_by_counts(e, targets)
            && now.saturating_sub(e.created) >= MIN_ENI_LIFETIME
            && !e.has_cooling(now, self.cooldown)
    }

    /// When [`Datastore::deletable_eni`] (finding nothing at `now`) could first find an ENI
    /// if no pod comes or goes: the earliest time an ENI that passes the count conditions
    /// is old enough and has cooled down. `None` if no ENI passes them.
    pub fn deletable_from(&self, targets: EniTargets) -> Option<Millis> {
        if self.idle_enis == 0 {
            return None; // no ENI passes conditions 1 and 4
        }
        let cd = self.cooldown;
        self.enis()
            .filter(|e| self.freeable_by_counts(e, targets))
            .map(|e| {
                let aged = e.created + MIN_ENI_LIFETIME;
                let cooled = match e.last_release {
                    Some(at) if cd > 0 => at + cd + 1,
                    _ => 0,
                };
                aged.max(cooled)
            })
            .min()
    }

    /// `RemoveUnusedENIFromStore`: takes [`Datastore::deletable_eni`] out of the datastore
    /// (before any EC2 call) and returns it with the CIDRs it held.
    pub fn remove_unused_eni(
        &mut self,
        now: Millis,
        targets: EniTargets,
        pick: IpPick,
        rng: &mut NodeRng,
    ) -> Option<(EniId, Vec<Cidr>)> {
        let id = self.deletable_eni(now, targets, pick, rng)?;
        let cidrs = self.remove_eni(id).expect("a deletable ENI has no pods");
        Some((id, cidrs))
    }
}
