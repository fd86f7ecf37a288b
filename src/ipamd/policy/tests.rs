//! Each rule against the spec's figures (§1 table, §4.5 table, §8 and the seed's example).

use proptest::prelude::*;

use super::*;
use crate::catalog;

fn settings(instance: &str, cni: &str, max_pods: u32) -> Settings {
    let cni: CniConfig = toml::from_str(cni).expect("test config parses");
    Settings::new(&cni, catalog::lookup(instance).unwrap(), max_pods)
}

fn stats(total: u32, assigned: u32) -> PoolStats {
    PoolStats {
        total_ips: total,
        assigned_ips: assigned,
        ..PoolStats::default()
    }
}

fn pd_stats(prefixes: u32, free_prefixes: u32, assigned: u32) -> PoolStats {
    PoolStats {
        total_ips: 16 * prefixes,
        assigned_ips: assigned,
        total_prefixes: prefixes,
        free_prefixes,
        ..PoolStats::default()
    }
}

const PD: &str = "ENABLE_PREFIX_DELEGATION = true\n";

#[test]
fn limits_match_the_spec_table() {
    // (type, ENILimit, SIP M, PD Pmax, PD M)
    for (t, enis, m, pmax, pd_m) in [
        ("t3.small", 3, 3, 3, 48),
        ("t3.medium", 3, 5, 5, 80),
        ("t3.large", 3, 11, 11, 176),
        ("m5.large", 3, 9, 9, 144),
        ("m5.xlarge", 4, 14, 14, 224),
        ("m5.4xlarge", 8, 29, 29, 464),
        ("p3dn.24xlarge", 15, 49, 49, 784),
    ] {
        let sip = settings(t, "", 110);
        assert_eq!((sip.eni_limit, sip.max_eni), (enis, enis), "{t}");
        assert_eq!(sip.max_ips_per_eni(), m, "{t}");
        assert_eq!(sip.cidrs_per_eni(), m, "{t}");
        let pd = settings(t, PD, 110);
        assert_eq!(pd.mode, Mode::PrefixDelegation, "{t}");
        assert_eq!(pd.max_prefixes_per_eni(), pmax, "{t}");
        assert_eq!(pd.cidrs_per_eni(), pmax, "{t}");
        assert_eq!(pd.max_ips_per_eni(), pd_m, "{t}");
    }
}

#[test]
fn max_eni_only_lowers_the_type_limit() {
    assert_eq!(max_eni(3, None), 3);
    assert_eq!(max_eni(3, Some(2)), 2);
    assert_eq!(max_eni(3, Some(3)), 3, "not below ENILimit: ignored");
    assert_eq!(max_eni(3, Some(9)), 3);
    assert_eq!(max_eni(3, Some(0)), 3, "below 1: ignored");
    assert_eq!(settings("m5.large", "MAX_ENI = 2", 29).max_eni, 2);
}

/// Upstream `IsPrefixDelegationSupported` is `nitro || bare metal`: a Xen type falls back to
/// secondary IPs (with a warning), a bare-metal type keeps prefix delegation.
#[test]
fn prefix_delegation_falls_back_on_xen_but_not_on_bare_metal() {
    let cni: CniConfig = toml::from_str(PD).unwrap();
    let xen = catalog::lookup("c1.medium").unwrap();
    assert_eq!(effective_mode(&cni, xen), (Mode::SecondaryIp, true));
    assert_eq!(settings("c1.medium", PD, 20).mode, Mode::SecondaryIp);
    let metal = catalog::lookup("m5.metal").unwrap();
    assert!(metal.bare_metal && metal.hypervisor != Hypervisor::Nitro);
    assert_eq!(effective_mode(&cni, metal), (Mode::PrefixDelegation, false));
    let nitro = catalog::lookup("m5.large").unwrap();
    assert_eq!(effective_mode(&cni, nitro), (Mode::PrefixDelegation, false));
    let sip = CniConfig::default();
    assert_eq!(effective_mode(&sip, xen), (Mode::SecondaryIp, false));
}

#[test]
fn warm_eni_target_too_low_below_w_whole_enis() {
    let s = settings("m5.large", "", 110); // W = 1, M = 9
    assert!(too_low(&s, &stats(0, 0)));
    assert!(too_low(&s, &stats(9, 1)), "8 available < 9");
    assert!(!too_low(&s, &stats(9, 0)));
    assert!(!too_low(&s, &stats(18, 9)));
    let s2 = settings("m5.large", "WARM_ENI_TARGET = 2", 110);
    assert!(too_low(&s2, &stats(18, 1)), "17 < 18");
    assert!(!too_low(&s2, &stats(27, 9)));
    // SIP + WARM_ENI_TARGET never shrinks IPs.
    assert!(!too_high(&s, &stats(27, 0)));
    assert_eq!(shrink_amount(&s, &stats(27, 0)), 0);
}

#[test]
fn warm_eni_target_zero_grows_only_when_nothing_is_available() {
    let s = settings("m5.large", "WARM_ENI_TARGET = 0", 110);
    assert!(too_low(&s, &stats(0, 0)));
    assert!(too_low(&s, &stats(9, 9)));
    assert!(!too_low(&s, &stats(9, 8)));
    assert_eq!(growth_want(&s, &stats(9, 9)), Some(9));
}

#[test]
fn warm_ip_target_arithmetic() {
    let s = settings("m5.large", "WARM_IP_TARGET = 5", 110);
    let t = target_state(&s, &stats(9, 6));
    assert_eq!((t.short, t.over, t.defined), (2, 0, true));
    assert!(too_low(&s, &stats(9, 6)));
    assert_eq!(growth_want(&s, &stats(9, 6)), Some(2));
    assert_eq!(resources_for_new_eni(&s, &stats(9, 6)), 2);
    let t = target_state(&s, &stats(20, 6));
    assert_eq!((t.short, t.over), (0, 9));
    assert!(too_high(&s, &stats(20, 6)));
    assert_eq!(shrink_amount(&s, &stats(20, 6)), 9);
    assert_eq!(
        growth_want(&s, &stats(11, 6)),
        None,
        "defined and not short"
    );
    // A shortfall bigger than an ENI: the new ENI takes M.
    assert_eq!(resources_for_new_eni(&s, &stats(0, 0)), 5);
    let big = settings("m5.large", "WARM_IP_TARGET = 20", 110);
    assert_eq!(resources_for_new_eni(&big, &stats(0, 0)), 9);
    // WARM_ENI_TARGET is ignored once a WARM_IP target is set.
    let both = settings("m5.large", "WARM_IP_TARGET = 2\nWARM_ENI_TARGET = 3", 110);
    assert!(!too_low(&both, &stats(9, 7)));
}

#[test]
fn minimum_ip_target_alone_settles_at_exactly_the_minimum() {
    let s = settings("m5.large", "MINIMUM_IP_TARGET = 10", 110);
    let t = target_state(&s, &stats(0, 0));
    assert_eq!((t.short, t.over), (10, 0));
    // All ten assigned: warm target 0 ⇒ never grows beyond the minimum (README's warning).
    assert!(!too_low(&s, &stats(10, 10)));
    let t = target_state(&s, &stats(12, 0));
    assert_eq!((t.short, t.over), (0, 2));
    assert_eq!(shrink_amount(&s, &stats(12, 0)), 2);
    let both = settings(
        "m5.large",
        "MINIMUM_IP_TARGET = 10\nWARM_IP_TARGET = 2",
        110,
    );
    assert_eq!(target_state(&both, &stats(10, 9)).short, 1);
    assert_eq!(target_state(&both, &stats(14, 3)).over, 4);
}

#[test]
fn warm_prefix_target_judges_low_on_ips_and_high_on_free_prefixes() {
    let s = settings("m5.large", PD, 110); // WARM_PREFIX_TARGET = 1 (manifest)
    assert!(too_low(&s, &pd_stats(0, 0, 0)));
    assert!(too_low(&s, &pd_stats(1, 0, 1)), "15 available < 16");
    assert!(!too_low(&s, &pd_stats(2, 1, 16)));
    assert!(!too_high(&s, &pd_stats(2, 1, 16)));
    assert!(too_high(&s, &pd_stats(3, 2, 16)));
    assert_eq!(shrink_amount(&s, &pd_stats(3, 2, 16)), 1);
    assert_eq!(prefixes_needed(&s, &pd_stats(1, 0, 1)), 1);
    let s2 = settings(
        "m5.large",
        "ENABLE_PREFIX_DELEGATION = true\nWARM_PREFIX_TARGET = 3",
        110,
    );
    assert_eq!(prefixes_needed(&s2, &pd_stats(0, 0, 0)), 3);
    assert_eq!(prefixes_needed(&s2, &pd_stats(3, 2, 1)), 1);
    assert_eq!(resources_for_new_eni(&s2, &pd_stats(0, 0, 0)), 3);
    let wide = settings(
        "t3.small",
        "ENABLE_PREFIX_DELEGATION = true\nWARM_PREFIX_TARGET = 5",
        110,
    );
    assert_eq!(
        resources_for_new_eni(&wide, &pd_stats(0, 0, 0)),
        3,
        "capped at Pmax"
    );
    assert_eq!(assign_count(&wide, 1, 5), 2, "capped by the ENI's room");
}

#[test]
fn warm_prefix_target_zero_adds_one_prefix_when_empty_and_drops_every_free_one() {
    let s = settings(
        "m5.large",
        "ENABLE_PREFIX_DELEGATION = true\nWARM_PREFIX_TARGET = 0",
        110,
    );
    assert!(too_low(&s, &pd_stats(1, 0, 16)));
    assert!(!too_low(&s, &pd_stats(1, 0, 15)));
    assert_eq!(prefixes_needed(&s, &pd_stats(1, 0, 16)), 1);
    assert!(too_high(&s, &pd_stats(2, 1, 16)));
    assert_eq!(shrink_amount(&s, &pd_stats(3, 2, 16)), 2);
}

/// The seed's worked example: m5.large, PD, MINIMUM_IP_TARGET=25, WARM_IP_TARGET=5.
#[test]
fn pd_warm_ip_targets_seed_example() {
    let s = settings(
        "m5.large",
        "ENABLE_PREFIX_DELEGATION = true\nMINIMUM_IP_TARGET = 25\nWARM_IP_TARGET = 5",
        110,
    );
    // Fresh node: short max(5, 25) = 25 IPs = 2 prefixes, asked for in one step.
    let fresh = pd_stats(0, 0, 0);
    assert_eq!(target_state(&s, &fresh).short, 2);
    assert_eq!(prefixes_needed(&s, &fresh), 2);
    assert_eq!(growth_want(&s, &fresh), Some(2));
    // 2 prefixes, 25 pods: 7 available ≥ 5 and 32 ≥ 25: settled.
    let p25 = pd_stats(2, 0, 25);
    assert!(!too_low(&s, &p25));
    assert!(!too_high(&s, &p25));
    // 28 pods: 4 available < 5 ⇒ one more prefix; 37 pods on 3 prefixes: settled at 48.
    assert!(too_low(&s, &pd_stats(2, 0, 28)));
    assert_eq!(prefixes_needed(&s, &pd_stats(2, 0, 28)), 1);
    assert!(!too_low(&s, &pd_stats(3, 0, 37)));
    // Only fully free prefixes beyond both needs may go.
    let t = target_state(&s, &pd_stats(4, 2, 20));
    assert_eq!(t.over, 2, "need max(ceil(25/16), ceil(25/16)) = 2 of 4");
    let t = target_state(&s, &pd_stats(4, 1, 20));
    assert_eq!(t.over, 1, "only one prefix is fully free");
}

#[test]
fn max_pods_is_a_ceiling_on_total_ips() {
    let s = settings("t3.small", "", 11);
    assert!(too_low(&s, &stats(9, 9)));
    let capped = settings("t3.small", "", 9);
    assert!(growth_ceiling_reached(&capped, &stats(9, 9)));
    assert!(!too_low(&capped, &stats(9, 9)));
    // The ceiling never caps the allocation size: the last step may overshoot.
    let pd = settings("m5.large", PD, 20);
    assert!(too_low(&pd, &pd_stats(1, 0, 16)));
    assert_eq!(resources_for_new_eni(&pd, &pd_stats(1, 0, 16)), 1);
    assert!(!too_low(&pd, &pd_stats(2, 0, 20)));
}

#[test]
fn room_for_an_eni_counts_the_primary_against_max_eni() {
    let s = settings("t3.small", "", 11);
    assert!(has_room_for_eni(&s, 2));
    assert!(!has_room_for_eni(&s, 3));
    let capped = settings("t3.small", "MAX_ENI = 1", 11);
    assert!(!has_room_for_eni(&capped, 1));
}

#[test]
fn remove_extra_enis_shortcut() {
    // §8: t3.small SIP W=1: (1+1)·3 = 6 available frees an ENI.
    let s = settings("t3.small", "", 11);
    assert!(should_remove_extra_enis(
        &s,
        &stats(9, 0),
        || unreachable!()
    ));
    assert!(should_remove_extra_enis(
        &s,
        &stats(6, 0),
        || unreachable!()
    ));
    assert!(
        !should_remove_extra_enis(&s, &stats(5, 0), || true),
        "SIP ignores freeable"
    );
    let t = settings("t3.small", "WARM_IP_TARGET = 1", 11);
    assert!(should_remove_extra_enis(&t, &stats(0, 0), || false));
    // PD: (P+1)·16·Pmax = 288 on m5.large is practically never reached.
    let pd = settings("m5.large", PD, 110);
    assert!(should_remove_extra_enis(&pd, &pd_stats(18, 18, 0), || {
        false
    }));
    assert!(!should_remove_extra_enis(&pd, &pd_stats(3, 2, 1), || false));
    assert!(should_remove_extra_enis(&pd, &pd_stats(3, 2, 1), || true));
}

#[test]
fn custom_networking_leaves_the_warm_math_alone() {
    let plain = settings("m5.large", "", 110);
    let custom = settings("m5.large", "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true", 110);
    assert!(custom.custom_networking && !plain.custom_networking);
    for st in [stats(0, 0), stats(9, 3), stats(18, 9)] {
        assert_eq!(too_low(&plain, &st), too_low(&custom, &st));
        assert_eq!(
            resources_for_new_eni(&plain, &st),
            resources_for_new_eni(&custom, &st)
        );
        assert_eq!(has_room_for_eni(&plain, 2), has_room_for_eni(&custom, 2));
    }
}

/// A node reduced to its per-ENI CIDR counts, grown first-fit by the rules above until not
/// too low, at each pod count of a monotone ramp.
fn steady_state(s: &Settings, pods: u32) -> (Vec<u32>, PoolStats) {
    let per = match s.mode {
        Mode::SecondaryIp => 1,
        Mode::PrefixDelegation => IPS_PER_PREFIX,
    };
    let mut enis = vec![0u32]; // the primary ENI, empty
    let stats_of = |enis: &[u32], p: u32| {
        let prefixes: u32 = enis.iter().sum();
        let total = prefixes * per;
        let free = if s.mode == Mode::PrefixDelegation {
            prefixes - p.div_ceil(IPS_PER_PREFIX).min(prefixes)
        } else {
            0
        };
        PoolStats {
            total_ips: total,
            assigned_ips: p.min(total),
            total_prefixes: if per == 16 { prefixes } else { 0 },
            free_prefixes: free,
            enis: enis.len() as u32,
            ..PoolStats::default()
        }
    };
    for p in 0..=pods {
        for _ in 0..1000 {
            let st = stats_of(&enis, p);
            if !too_low(s, &st) {
                break;
            }
            let want = growth_want(s, &st).expect("too low implies a want");
            let skip = usize::from(s.custom_networking);
            if let Some(e) = enis.iter().skip(skip).position(|&c| c < s.cidrs_per_eni()) {
                enis[e + skip] += assign_count(s, enis[e + skip], want);
            } else if has_room_for_eni(s, enis.len() as u32) {
                enis.push(resources_for_new_eni(s, &st));
            } else {
                break;
            }
        }
    }
    let st = stats_of(&enis, pods);
    (enis, st)
}

fn arb_settings() -> impl Strategy<Value = (String, bool, u32, u32, u32, u32)> {
    let types = prop::sample::select(vec![
        "t3.small",
        "t3.medium",
        "m5.large",
        "m5.xlarge",
        "c5.4xlarge",
        "p3dn.24xlarge",
    ]);
    (types, any::<bool>(), 0u32..4, 0u32..40, 0u32..60, 0u32..4)
        .prop_map(|(t, pd, w, warm_ip, min_ip, wp)| (t.to_string(), pd, w, warm_ip, min_ip, wp))
}

proptest! {
    /// §4.5 "Steady-state sizes for monotonically increasing pod count p", below the maxENI
    /// and max-pods ceilings.
    #[test]
    fn growth_rules_reach_the_section_4_5_steady_state(
        (t, pd, w, warm_ip, min_ip, wp) in arb_settings(),
        per_mille in 0u32..1000,
        targets in any::<bool>(),
    ) {
        let (warm_ip, min_ip) = if targets { (warm_ip, min_ip) } else { (0, 0) };
        let cni = format!(
            "ENABLE_PREFIX_DELEGATION = {pd}\nWARM_ENI_TARGET = {w}\nWARM_PREFIX_TARGET = {wp}\n\
             WARM_IP_TARGET = {warm_ip}\nMINIMUM_IP_TARGET = {min_ip}"
        );
        let s = settings(&t, &cni, u32::MAX);
        let pods = per_mille * s.max_eni * s.max_ips_per_eni() / 1000;
        let (enis, st) = steady_state(&s, pods);
        let m = s.max_ips_per_eni();
        let pmax = s.max_prefixes_per_eni();
        let expect_total: u32 = match (s.mode, s.warm_ip_targets_defined()) {
            (Mode::SecondaryIp, false) if w >= 1 => (pods.div_ceil(m) + w) * m,
            (Mode::SecondaryIp, false) => (pods / m + 1) * m,
            // MINIMUM_IP_TARGET alone: settles at the minimum, whatever the pods (§2, 3).
            (Mode::SecondaryIp, true) if warm_ip == 0 => min_ip,
            (Mode::SecondaryIp, true) => (pods + warm_ip).max(min_ip),
            (Mode::PrefixDelegation, true) if warm_ip == 0 => 16 * min_ip.div_ceil(16),
            (Mode::PrefixDelegation, false) => 16 * (pods.div_ceil(16) + wp.max(u32::from(pods.is_multiple_of(16) && wp == 0))),
            (Mode::PrefixDelegation, true) => {
                16 * (pods + warm_ip).div_ceil(16).max(min_ip.div_ceil(16))
            }
        };
        let expect_enis = expect_total.div_ceil(m).max(1);
        if expect_enis > s.max_eni {
            return Ok(()); // above the ENI ceiling: §4.5 does not apply
        }
        prop_assert_eq!(st.total_ips, expect_total, "enis {:?}", enis);
        prop_assert_eq!(enis.len() as u32, expect_enis);
        if s.mode == Mode::PrefixDelegation {
            prop_assert_eq!(enis.len() as u32, st.total_prefixes.div_ceil(pmax).max(1));
        }
    }

    /// No pool rule reads `CooldownIPs` (ipamd reports it; `AvailableAddresses` counts
    /// cooling addresses as available), so [`crate::ipamd::datastore::Datastore::policy_stats`]
    /// may leave it at 0: every rule answers the same whatever it holds.
    #[test]
    fn the_pool_rules_never_read_cooldown_ips(
        (t, pd, w, warm_ip, min_ip, wp) in arb_settings(),
        (total, assigned, prefixes, free, enis) in (0u32..800, 0u32..800, 0u32..50, 0u32..50, 1u32..16),
        cooling in 1u32..800,
        freeable in any::<bool>(),
    ) {
        let cni = format!(
            "ENABLE_PREFIX_DELEGATION = {pd}\nWARM_ENI_TARGET = {w}\nWARM_PREFIX_TARGET = {wp}\n\
             WARM_IP_TARGET = {warm_ip}\nMINIMUM_IP_TARGET = {min_ip}"
        );
        let s = settings(&t, &cni, 110);
        let none = PoolStats {
            total_ips: total,
            assigned_ips: assigned.min(total),
            cooldown_ips: 0,
            total_prefixes: prefixes,
            free_prefixes: free.min(prefixes),
            enis,
        };
        let some = PoolStats { cooldown_ips: cooling, ..none };
        prop_assert_eq!(target_state(&s, &none), target_state(&s, &some));
        prop_assert_eq!(too_low(&s, &none), too_low(&s, &some));
        prop_assert_eq!(too_high(&s, &none), too_high(&s, &some));
        prop_assert_eq!(growth_ceiling_reached(&s, &none), growth_ceiling_reached(&s, &some));
        prop_assert_eq!(growth_want(&s, &none), growth_want(&s, &some));
        prop_assert_eq!(prefixes_needed(&s, &none), prefixes_needed(&s, &some));
        prop_assert_eq!(resources_for_new_eni(&s, &none), resources_for_new_eni(&s, &some));
        prop_assert_eq!(shrink_amount(&s, &none), shrink_amount(&s, &some));
        prop_assert_eq!(
            should_remove_extra_enis(&s, &none, || freeable),
            should_remove_extra_enis(&s, &some, || freeable)
        );
    }
}
