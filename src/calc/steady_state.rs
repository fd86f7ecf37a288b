//! The pool one node's ipamd settles at for a given number of pods: the fixed point of the
//! pool check of spec/ipamd-policy.md §4.2–4.7, run as ipamd runs it.
//!
//! The node starts fresh (the primary ENI, no secondary IPs or prefixes). Pods are all there
//! and take addresses first-fit, in ENI order and lowest prefix first; the pool check then
//! runs pass after pass — one growth step (top up one ENI, else attach one), or one shrink,
//! then at most one ENI freed — until a pass changes nothing. What comes out is
//! order-independent for these rules: it is the size the §4.5 formulas give
//! (`⌈p/M⌉ + W` ENIs, `max(p + T, N)` IPs, `⌈p/16⌉ + P` prefixes, …) wherever neither the ENI
//! limit nor the max-pods growth ceiling binds, and the capped pool where one does.
//!
//! Some settings never settle: ipamd grows and releases in turn (`WARM_PREFIX_TARGET=0` with
//! a multiple of 16 pods, `WARM_ENI_TARGET=0` with a multiple of `M`). Then the report takes
//! the largest pool of the cycle, the one the subnet must hold, and says it flaps.
//!
//! Not modelled here (they need time): IP cooldown, the 60 s ENI minimum life, throttling,
//! and the 30 s shrink interval (it slows a release, it does not change where it ends).

use std::collections::BTreeMap;

use crate::catalog::{Hypervisor, InstanceType};
use crate::ipamd::config::CniConfig;

/// Addresses in one /28 prefix.
const PREFIX_IPS: u32 = 16;

/// What one node holds once ipamd has settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeState {
    /// Prefix delegation in effect (asked for, and the type is Nitro or bare metal).
    pub prefix_mode: bool,
    /// `maxENI`: the ENIs ipamd may attach (`MAX_ENI` when it is below the type's limit).
    pub max_eni: u32,
    /// ENIs attached, the primary included.
    pub enis: u32,
    /// Secondary IPs (secondary-IP mode).
    pub secondary_ips: u32,
    /// /28 prefixes (prefix mode).
    pub prefixes: u32,
    /// Pod-assignable addresses: secondary IPs, or 16 × prefixes.
    pub pod_ips: u32,
    /// Addresses the node takes from the (pod) subnet: ENI primaries and pod addresses. With
    /// custom networking the primary ENI lives in the node's own subnet and is left out.
    pub subnet_addresses: u32,
    /// Pods that got an address (the others wait for one).
    pub pods_with_ip: u32,
    /// Pool at or above max pods: ipamd stops growing there.
    pub at_max_pods_ceiling: bool,
    /// The pool does not settle; this is the largest state of its cycle.
    pub flapping: bool,
}

/// The pool-check rules for one node, with everything derived once.
#[derive(Clone, Copy, Debug)]
struct Policy {
    pd: bool,
    custom: bool,
    /// `M` (secondary IPs per ENI) or `Pmax` (prefixes per ENI): IPv4 per ENI − 1.
    per_eni: u32,
    max_eni: u32,
    max_pods: u32,
    warm_eni: u32,
    warm_prefix: u32,
    warm_ip: u32,
    min_ip: u32,
}

/// The datastore stats a pass reads (§3).
#[derive(Clone, Copy, Debug)]
struct Stats {
    total: u32,
    assigned: u32,
    total_prefixes: u32,
    free_prefixes: u32,
}

impl Stats {
    fn available(self) -> u32 {
        self.total - self.assigned
    }
}

/// Whether ipamd runs this type in prefix mode when asked to: Nitro or bare metal; anything
/// else falls back to secondary IPs with a warning (spec §2, precedence 4).
pub fn prefix_mode(t: &InstanceType, cni: &CniConfig) -> bool {
    cni.enable_prefix_delegation && (t.hypervisor == Hypervisor::Nitro || t.bare_metal)
}

/// `maxENI` (§1): `MAX_ENI` if it is at least 1 and below the type's limit, else the limit.
pub fn max_eni(t: &InstanceType, cni: &CniConfig) -> u32 {
    match cni.max_eni {
        Some(n) if n >= 1 && n < t.max_enis => n,
        _ => t.max_enis,
    }
}

/// The pool a node of type `t` settles at with `pods` pods wanting addresses, under `cni`,
/// when its kubelet's max pods is `max_pods` (ipamd's growth ceiling).
pub fn settle(t: &InstanceType, cni: &CniConfig, max_pods: u32, pods: u32) -> NodeState {
    let policy = Policy {
        pd: prefix_mode(t, cni),
        custom: cni.custom_network_cfg,
        per_eni: t.ipv4_per_eni.saturating_sub(1),
        max_eni: max_eni(t, cni),
        max_pods,
        warm_eni: cni.warm_eni_target,
        warm_prefix: cni.warm_prefix_target,
        warm_ip: cni.warm_ip_target,
        min_ip: cni.minimum_ip_target,
    };
    // Pool: per ENI in attach order (the primary first), its secondary IPs or prefixes.
    let mut pool = vec![0u32];
    let mut seen: BTreeMap<Vec<u32>, usize> = BTreeMap::new();
    let mut history: Vec<Vec<u32>> = Vec::new();
    let (chosen, flapping) = loop {
        if let Some(&start) = seen.get(&pool) {
            // A cycle: the pool flaps among history[start..]. Keep its largest state.
            let biggest = history[start..]
                .iter()
                .max_by_key(|p| policy.addresses(p))
                .cloned()
                .unwrap_or(pool);
            break (biggest, true);
        }
        seen.insert(pool.clone(), history.len());
        history.push(pool.clone());
        let before = pool.clone();
        policy.pass(&mut pool, pods);
        if pool == before {
            break (pool, false);
        }
    };
    policy.describe(&chosen, pods, flapping)
}

impl Policy {
    fn unit(&self) -> u32 {
        if self.pd { PREFIX_IPS } else { 1 }
    }

    fn targets_defined(&self) -> bool {
        self.warm_ip != 0 || self.min_ip != 0
    }

    /// Pods per ENI, first-fit in ENI order (lowest prefix first within an ENI).
    fn assigned_per_eni(&self, pool: &[u32], pods: u32) -> Vec<u32> {
        let mut left = pods;
        pool.iter()
            .map(|&c| {
                let take = left.min(c * self.unit());
                left -= take;
                take
            })
            .collect()
    }

    fn stats(&self, pool: &[u32], pods: u32) -> Stats {
        let total_res: u32 = pool.iter().sum();
        let total = total_res * self.unit();
        let assigned = pods.min(total);
        let used_prefixes: u32 = if self.pd {
            self.assigned_per_eni(pool, pods)
                .iter()
                .map(|a| a.div_ceil(PREFIX_IPS))
                .sum()
        } else {
            0
        };
        Stats {
            total,
            assigned,
            total_prefixes: if self.pd { total_res } else { 0 },
            free_prefixes: if self.pd {
                total_res - used_prefixes
            } else {
                0
            },
        }
    }

    /// `datastoreTargetState` (§4.3): (short, over) in IPs (secondary-IP mode) or prefixes.
    fn target_state(&self, s: Stats) -> (u32, u32) {
        let (t, n) = (i64::from(self.warm_ip), i64::from(self.min_ip));
        let (avail, total) = (i64::from(s.available()), i64::from(s.total));
        let short_ips = (t - avail).max(0).max(n - total);
        let over_ips = (avail - t).min(total - n).max(0);
        if !self.pd {
            return (short_ips as u32, over_ips as u32);
        }
        let ceil16 = |x: i64| (x + 15).div_euclid(16);
        let need_warm = ceil16(i64::from(s.assigned) + t);
        let need_min = ceil16(n);
        let tp = i64::from(s.total_prefixes);
        let over = i64::from(s.free_prefixes).min(tp - need_warm).max(0);
        let over = over.min(tp - need_min).max(0);
        (ceil16(short_ips) as u32, over as u32)
    }

    /// `isDatastorePoolTooLow` (§4.2).
    fn too_low(&self, s: Stats) -> bool {
        if s.total >= self.max_pods {
            return false;
        }
        if self.targets_defined() {
            return self.target_state(s).0 > 0;
        }
        let (w, unit) = if self.pd {
            (self.warm_prefix, PREFIX_IPS)
        } else {
            (self.warm_eni, self.per_eni)
        };
        s.available() < w * unit || (w == 0 && s.available() == 0)
    }

    /// `isDatastorePoolTooHigh` (§4.2).
    fn too_high(&self, s: Stats) -> bool {
        if self.targets_defined() {
            self.target_state(s).1 > 0
        } else {
            self.pd && s.free_prefixes > self.warm_prefix
        }
    }

    /// One growth step (§4.4): top up the first ENI with room, else attach one ENI.
    fn grow(&self, pool: &mut Vec<u32>, s: Stats) {
        let (short, _) = self.target_state(s);
        let want = match (self.pd, self.targets_defined()) {
            (false, true) => short,
            (false, false) => self.per_eni,
            (true, true) => short.max(1),
            (true, false) => self.warm_prefix.saturating_sub(s.free_prefixes).max(1),
        };
        if want == 0 {
            return; // tryAssignIPs: nothing short; the ENI it would attach gets 0 IPs.
        }
        let skip = usize::from(self.custom); // custom networking: the primary holds none
        if let Some(c) = pool.iter_mut().skip(skip).find(|c| **c < self.per_eni) {
            *c += want.min(self.per_eni - *c);
        } else if (pool.len() as u32) < self.max_eni {
            pool.push(want.min(self.per_eni));
        }
    }

    /// One shrink (§4.6): release `over` unassigned IPs or free prefixes, first ENI first.
    fn shrink(&self, pool: &mut [u32], s: Stats, pods: u32) {
        let mut over = if self.targets_defined() {
            self.target_state(s).1
        } else if self.pd {
            s.free_prefixes.saturating_sub(self.warm_prefix)
        } else {
            0
        };
        let assigned = self.assigned_per_eni(pool, pods);
        for (c, a) in pool.iter_mut().zip(assigned) {
            if over == 0 {
                break;
            }
            let in_use = if self.pd { a.div_ceil(PREFIX_IPS) } else { a };
            let take = over.min(*c - in_use);
            *c -= take;
            over -= take;
        }
    }

    /// `shouldRemoveExtraENIs` (§4.7), on the stats taken before the step.
    fn should_remove_enis(&self, before: Stats, pool: &[u32], pods: u32) -> bool {
        if self.targets_defined() {
            return true;
        }
        let (w, eni_ips) = if self.pd {
            (self.warm_prefix, PREFIX_IPS * self.per_eni)
        } else {
            (self.warm_eni, self.per_eni)
        };
        if before.available() >= (w + 1) * eni_ips {
            return true;
        }
        // CheckFreeableENIexists: a secondary ENI without pods.
        self.pd
            && self
                .assigned_per_eni(pool, pods)
                .iter()
                .skip(1)
                .any(|&a| a == 0)
    }

    /// `tryFreeENI` (§4.7, `getDeletableENI`): free the first secondary ENI without pods whose
    /// loss keeps the other ENIs at WARM_IP_TARGET free, MINIMUM_IP_TARGET total and
    /// WARM_PREFIX_TARGET free prefixes (targets of 0 are not checked; PD rounds IP targets up
    /// to whole prefixes).
    fn free_eni(&self, pool: &mut Vec<u32>, pods: u32, old_enis: usize) {
        let unit = self.unit();
        let round = |x: u32| if self.pd { x.div_ceil(16) * 16 } else { x };
        let assigned = self.assigned_per_eni(pool, pods);
        let total: u32 = pool.iter().map(|c| c * unit).sum();
        let free: u32 = total - assigned.iter().sum::<u32>();
        let free_prefixes: u32 = if self.pd {
            pool.iter()
                .zip(&assigned)
                .map(|(c, a)| c - a.div_ceil(16))
                .sum()
        } else {
            0
        };
        let victim = (1..old_enis.min(pool.len())).find(|&i| {
            let (mine, a) = (pool[i] * unit, assigned[i]);
            a == 0
                && (self.warm_ip == 0 || free - mine >= round(self.warm_ip))
                && (self.min_ip == 0 || total - mine >= round(self.min_ip))
                && (!self.pd
                    || self.warm_prefix == 0
                    || free_prefixes - pool[i] >= self.warm_prefix)
        });
        if let Some(i) = victim {
            pool.remove(i);
        }
    }

    /// One pool check (§4.2).
    fn pass(&self, pool: &mut Vec<u32>, pods: u32) {
        let s = self.stats(pool, pods);
        // An ENI created in this pass is younger than ipamd's 60 s minENILifeTime: never freed
        // in the same pass (it would otherwise be created and freed at once, hiding the
        // WARM_PREFIX_TARGET=0 / WARM_ENI_TARGET=0 flapping upstream shows).
        let old_enis = pool.len();
        if self.too_low(s) {
            self.grow(pool, s);
        } else if self.too_high(s) {
            self.shrink(pool, s, pods);
        }
        if self.should_remove_enis(s, pool, pods) {
            self.free_eni(pool, pods, old_enis);
        }
    }

    /// Subnet addresses a pool takes: ENI primaries (not the node's own with custom
    /// networking) and pod addresses.
    fn addresses(&self, pool: &[u32]) -> u32 {
        let primaries = pool.len() as u32 - u32::from(self.custom);
        primaries + pool.iter().sum::<u32>() * self.unit()
    }

    fn describe(&self, pool: &[u32], pods: u32, flapping: bool) -> NodeState {
        let res: u32 = pool.iter().sum();
        let pod_ips = res * self.unit();
        NodeState {
            prefix_mode: self.pd,
            max_eni: self.max_eni,
            enis: pool.len() as u32,
            secondary_ips: if self.pd { 0 } else { res },
            prefixes: if self.pd { res } else { 0 },
            pod_ips,
            subnet_addresses: self.addresses(pool),
            pods_with_ip: pods.min(pod_ips),
            at_max_pods_ceiling: pod_ips >= self.max_pods,
            flapping,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{MaxPodsOptions, all, lookup, max_pods};
    use proptest::prelude::*;

    fn cni(f: impl FnOnce(&mut CniConfig)) -> CniConfig {
        let mut c = CniConfig::default();
        f(&mut c);
        c
    }

    fn calc_max_pods(t: &InstanceType, c: &CniConfig) -> u32 {
        max_pods(
            t,
            &MaxPodsOptions {
                custom_networking: c.custom_network_cfg,
                prefix_delegation: c.enable_prefix_delegation,
                max_eni: c.max_eni,
                ..MaxPodsOptions::default()
            },
        )
    }

    fn node(name: &str, c: &CniConfig, pods: u32) -> NodeState {
        let t = lookup(name).unwrap();
        settle(t, c, calc_max_pods(t, c), pods)
    }

    /// The example table of amazon-vpc-cni-k8s `docs/eni-and-ip-target.md`: type, targets
    /// (WARM_ENI, WARM_IP, MINIMUM_IP), pods → attached ENIs, secondary IPs.
    #[test]
    fn upstream_docs_examples() {
        let cases: [(&str, u32, u32, u32, u32, u32, u32); 18] = [
            ("t3.small", 1, 0, 0, 0, 1, 3),
            ("t3.small", 1, 0, 0, 5, 3, 9),
            ("t3.small", 1, 0, 0, 9, 3, 9),
            ("t3.small", 0, 1, 1, 0, 1, 1),
            ("t3.small", 0, 1, 1, 5, 2, 6),
            ("t3.small", 0, 1, 1, 9, 3, 9),
            ("t3.small", 0, 2, 5, 0, 2, 5),
            ("t3.small", 0, 2, 5, 5, 3, 7),
            ("t3.small", 0, 2, 5, 9, 3, 9),
            ("p3dn.24xlarge", 1, 0, 0, 0, 1, 49),
            ("p3dn.24xlarge", 1, 0, 0, 3, 2, 98),
            ("p3dn.24xlarge", 1, 0, 0, 95, 3, 147),
            ("p3dn.24xlarge", 0, 5, 10, 0, 1, 10),
            ("p3dn.24xlarge", 0, 5, 10, 7, 1, 12),
            ("p3dn.24xlarge", 0, 5, 10, 15, 1, 20),
            ("p3dn.24xlarge", 0, 5, 10, 45, 2, 50),
            // spec/ipamd-policy.md §8: t3.small, defaults, 5 pods → 3 ENIs, 9 IPs; 0 → 1, 3.
            ("t3.small", 1, 0, 0, 5, 3, 9),
            ("t3.small", 1, 0, 0, 0, 1, 3),
        ];
        for (name, we, wi, mi, pods, enis, ips) in cases {
            // With a warm IP target set, WARM_ENI_TARGET is ignored; keep the manifest's 1.
            let c = cni(|c| {
                c.warm_eni_target = if wi + mi > 0 { 1 } else { we };
                c.warm_ip_target = wi;
                c.minimum_ip_target = mi;
            });
            let n = node(name, &c, pods);
            assert_eq!(
                (n.enis, n.secondary_ips),
                (enis, ips),
                "{name} {we}/{wi}/{mi} {pods} pods"
            );
            assert_eq!(n.pods_with_ip, pods);
            assert_eq!(n.subnet_addresses, enis + ips);
            assert!(!n.flapping);
        }
    }

    #[test]
    fn prefix_mode_sizes() {
        let pd = |p: u32| {
            cni(|c| {
                c.enable_prefix_delegation = true;
                c.warm_prefix_target = p;
            })
        };
        // m5.large: 9 prefixes per ENI. ⌈p/16⌉ + 1 prefixes.
        let n = node("m5.large", &pd(1), 0);
        assert_eq!(
            (n.enis, n.prefixes, n.pod_ips, n.subnet_addresses),
            (1, 1, 16, 17)
        );
        let n = node("m5.large", &pd(1), 17);
        assert_eq!((n.prefixes, n.pod_ips), (3, 48));
        let n = node("m5.large", &pd(2), 17);
        assert_eq!(n.prefixes, 4);
        // The max-pods ceiling (110 on m5.large) stops growth: 100 pods want 8 prefixes;
        // ipamd stops at 7 (112 ≥ 110).
        let n = node("m5.large", &pd(1), 100);
        assert_eq!((n.prefixes, n.at_max_pods_ceiling), (7, true));
        // A xen type falls back to secondary IPs; bare metal keeps prefixes.
        assert!(!node("m4.xlarge", &pd(1), 10).prefix_mode);
        assert!(node("c5.metal", &pd(1), 10).prefix_mode);
        // WARM_PREFIX_TARGET=0 with pods exactly filling the primary ENI: a new ENI is made
        // for one prefix, the prefix released, the ENI freed after 60 s, and again.
        let n = node("t3.medium", &pd(0), 80);
        assert_eq!((n.enis, n.prefixes, n.flapping), (2, 6, true));
        // WARM_PREFIX_TARGET=0 at a multiple of 16 pods: grow, release, grow…
        let n = node("m5.large", &pd(0), 16);
        assert_eq!((n.prefixes, n.flapping), (2, true));
        let n = node("m5.large", &pd(0), 17);
        assert_eq!((n.prefixes, n.flapping), (2, false));
        // WARM_IP_TARGET in prefix mode: ⌈(p + T)/16⌉, at least ⌈N/16⌉ prefixes.
        let c = cni(|c| {
            c.enable_prefix_delegation = true;
            c.warm_ip_target = 5;
            c.minimum_ip_target = 40;
        });
        assert_eq!(node("m5.large", &c, 10).prefixes, 3);
        assert_eq!(node("m5.large", &c, 40).prefixes, 3);
        assert_eq!(node("m5.large", &c, 44).prefixes, 4);
    }

    #[test]
    fn custom_networking_and_max_eni() {
        let c = cni(|c| c.custom_network_cfg = true);
        // The primary holds nothing: 1 + ⌈p/M⌉ + W ENIs; its address is not in the pod subnet.
        let n = node("m5.large", &c, 10);
        assert_eq!((n.enis, n.secondary_ips, n.subnet_addresses), (3, 18, 20));
        let n = node("m5.large", &c, 0);
        assert_eq!((n.enis, n.secondary_ips), (2, 9));
        // MAX_ENI=2 with custom networking leaves one ENI for pods.
        let c = cni(|c| {
            c.custom_network_cfg = true;
            c.max_eni = Some(2);
        });
        let n = node("m5.large", &c, 15);
        assert_eq!((n.enis, n.secondary_ips, n.pods_with_ip), (2, 9, 9));
        // MAX_ENI at or above the limit is no limit.
        assert_eq!(
            node("m5.large", &cni(|c| c.max_eni = Some(9)), 25).max_eni,
            3
        );
    }

    #[test]
    fn minimum_ip_target_alone_caps_the_pool() {
        let c = cni(|c| c.minimum_ip_target = 12);
        let n = node("m5.xlarge", &c, 20);
        assert_eq!((n.secondary_ips, n.pods_with_ip), (12, 12));
        let n = node("m5.xlarge", &c, 5);
        assert_eq!(n.secondary_ips, 12);
    }

    /// The §4.5 steady-state sizes, restated as closed forms: Some((ENIs, pod resources)),
    /// or None where a cap (ENI limit, max-pods ceiling) would bind and the forms do not hold.
    fn closed_form(t: &InstanceType, c: &CniConfig, max_pods: u32, p: u32) -> Option<(u32, u32)> {
        let m = t.ipv4_per_eni - 1;
        let lim = c.max_eni.filter(|&n| n < t.max_enis).unwrap_or(t.max_enis);
        let extra = u32::from(c.custom_network_cfg);
        let pd = c.enable_prefix_delegation && (t.hypervisor == Hypervisor::Nitro || t.bare_metal);
        let ceil = |a: u32, b: u32| a / b + u32::from(!a.is_multiple_of(b));
        let (t_ip, n_ip) = (c.warm_ip_target, c.minimum_ip_target);
        let (enis, res, ips) = if t_ip > 0 || n_ip > 0 {
            let ips = if t_ip > 0 { (p + t_ip).max(n_ip) } else { n_ip };
            let res = if pd { ceil(ips, 16) } else { ips };
            (
                extra + ceil(res, m).max(1),
                res,
                if pd { 16 * res } else { res },
            )
        } else if pd {
            let w = c.warm_prefix_target;
            let res = if w == 0 { p / 16 + 1 } else { ceil(p, 16) + w };
            (extra + ceil(res, m), res, 16 * res)
        } else {
            let w = c.warm_eni_target;
            let enis = if w == 0 { p / m + 1 } else { ceil(p, m) + w };
            (enis + extra, enis * m, enis * m)
        };
        (enis <= lim && ips <= max_pods).then_some((enis, res))
    }

    fn settings() -> impl Strategy<Value = CniConfig> {
        (
            any::<bool>(),
            0u32..4,
            0u32..4,
            prop_oneof![Just(0u32), 1u32..40],
            prop_oneof![Just(0u32), 1u32..80],
            proptest::option::of(1u32..6),
            any::<bool>(),
        )
            .prop_map(|(pd, we, wp, wi, mi, max_eni, custom)| CniConfig {
                enable_prefix_delegation: pd,
                warm_eni_target: we,
                warm_prefix_target: wp,
                warm_ip_target: wi,
                minimum_ip_target: mi,
                max_eni,
                custom_network_cfg: custom,
                ..CniConfig::default()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn settles_where_section_4_5_says(i in 0..all().len(), c in settings(), p in 0u32..300) {
            let t = &all()[i];
            let mp = calc_max_pods(t, &c);
            let n = settle(t, &c, mp, p);
            let unit = if n.prefix_mode { 16 } else { 1 };
            let extra = u32::from(c.custom_network_cfg);
            // Invariants, caps binding or not.
            prop_assert!(n.enis >= 1 && n.enis <= n.max_eni.max(1));
            prop_assert!(n.pod_ips <= (n.enis - extra.min(n.enis)) * (t.ipv4_per_eni - 1) * unit);
            prop_assert_eq!(n.pod_ips, (n.secondary_ips + n.prefixes) * unit);
            prop_assert_eq!(n.subnet_addresses, n.enis - extra + n.pod_ips);
            prop_assert_eq!(n.pods_with_ip, p.min(n.pod_ips));
            if let Some((enis, res)) = closed_form(t, &c, mp, p) {
                prop_assert_eq!((n.enis, n.secondary_ips + n.prefixes), (enis, res), "{} {:?}", t.name, c);
            }
            // Everyone gets an address unless a cap binds or MINIMUM_IP_TARGET stands alone.
            let min_only = c.warm_ip_target == 0 && c.minimum_ip_target > 0;
            if n.pods_with_ip < p && !min_only {
                prop_assert!(n.enis == n.max_eni || n.at_max_pods_ceiling, "{} {:?} {:?}", t.name, c, n);
            }
        }
    }
}
