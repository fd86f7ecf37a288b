use super::*;
use crate::rng::Streams;

const CD: Millis = 30 * SECOND;

fn rng() -> NodeRng {
    Streams::new(11).node_stream("datastore-test", 0)
}

fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

fn slash32(addr: u32) -> Cidr {
    Cidr::host(addr)
}

fn slash28(addr: u32) -> Cidr {
    Cidr::new(addr, 28).expect("an aligned /28")
}

/// A SIP datastore: primary ENI 0 with `n0` /32s, ENI 1 (created at `t1`) with `n1`.
fn sip(n0: u8, n1: u8, t1: Millis) -> Datastore {
    let mut ds = Datastore::new(Mode::SecondaryIp, CD);
    assert!(ds.add_eni(EniId(0), true, 0));
    for i in 0..n0 {
        assert!(ds.add_cidr(EniId(0), slash32(ip(10, 0, 0, 10 + i))));
    }
    if n1 > 0 {
        assert!(ds.add_eni(EniId(1), false, t1));
        for i in 0..n1 {
            assert!(ds.add_cidr(EniId(1), slash32(ip(10, 0, 1, 10 + i))));
        }
    }
    ds
}

#[test]
fn a_fresh_prefix_hands_out_its_addresses_lowest_first() {
    // Test-confirmed upstream: a fresh 10.0.0.0/28 yields .0, .1, .2 in order.
    let mut ds = Datastore::new(Mode::PrefixDelegation, CD);
    ds.add_eni(EniId(0), true, 0);
    assert!(ds.add_cidr(EniId(0), slash28(ip(10, 0, 0, 0))));
    let mut r = rng();
    for (pod, last) in [(1, 0), (2, 1), (3, 2)] {
        assert_eq!(
            ds.assign(pod, 1, IpPick::GoMap, &mut r),
            Ok(ip(10, 0, 0, last))
        );
    }
    let st = ds.stats(1);
    assert_eq!(
        (
            st.total_ips,
            st.assigned_ips,
            st.total_prefixes,
            st.free_prefixes
        ),
        (16, 3, 1, 0)
    );
}

#[test]
fn assign_is_idempotent_and_fails_when_exhausted() {
    let mut ds = sip(3, 0, 0);
    let mut r = rng();
    let a = ds.assign(7, 0, IpPick::GoMap, &mut r).unwrap();
    assert_eq!(ds.assign(7, 5, IpPick::GoMap, &mut r), Ok(a));
    assert_eq!(ds.pod_address(7), Some(a));
    ds.assign(8, 0, IpPick::GoMap, &mut r).unwrap();
    ds.assign(9, 0, IpPick::GoMap, &mut r).unwrap();
    assert_eq!(
        ds.assign(10, 0, IpPick::GoMap, &mut r),
        Err(NoAddress::Exhausted)
    );
    let st = ds.stats(0);
    assert_eq!((st.total_ips, st.assigned_ips, st.available()), (3, 3, 0));
}

#[test]
fn a_released_address_cools_for_the_whole_period_then_is_reused() {
    let mut ds = sip(1, 0, 0);
    let mut r = rng();
    let a = ds.assign(1, 0, IpPick::GoMap, &mut r).unwrap();
    assert_eq!(ds.release(1, 10_000), Some(a));
    assert_eq!(ds.release(1, 10_000), None, "unknown pod");
    let st = ds.stats(10_000);
    assert_eq!(
        (st.assigned_ips, st.cooldown_ips, st.available()),
        (0, 1, 1)
    );
    // now − released ≤ 30 s is still cooling (Go's `<=`).
    assert_eq!(
        ds.assign(2, 40_000, IpPick::GoMap, &mut r),
        Err(NoAddress::Cooling)
    );
    assert_eq!(ds.stats(40_000).cooldown_ips, 1);
    assert_eq!(ds.stats(40_001).cooldown_ips, 0);
    assert_eq!(ds.assign(2, 40_001, IpPick::GoMap, &mut r), Ok(a));
}

#[test]
fn zero_cooldown_reuses_at_once() {
    let mut ds = Datastore::new(Mode::SecondaryIp, 0);
    ds.add_eni(EniId(0), true, 0);
    ds.add_cidr(EniId(0), slash32(ip(10, 0, 0, 9)));
    let mut r = rng();
    ds.assign(1, 0, IpPick::GoMap, &mut r).unwrap();
    ds.release(1, 5);
    assert_eq!(ds.stats(5).cooldown_ips, 0);
    assert_eq!(ds.assign(2, 5, IpPick::GoMap, &mut r), Ok(ip(10, 0, 0, 9)));
}

#[test]
fn pick_unused_reuses_cooled_records_first_and_drops_them_all() {
    let mut ds = Datastore::new(Mode::PrefixDelegation, CD);
    ds.add_eni(EniId(0), true, 0);
    ds.add_cidr(EniId(0), slash28(ip(10, 0, 0, 16)));
    let mut r = rng();
    for pod in 0..5 {
        ds.assign(pod, 0, IpPick::GoMap, &mut r).unwrap(); // .16 .. .20
    }
    ds.release(1, 0); // .17: cooled down by t = 30.001 s
    ds.release(3, 0); // .19: likewise
    ds.release(2, 20_000); // .18: still cooling at 31 s
    let t = 31_000;
    assert_eq!(ds.stats(t).cooldown_ips, 1);
    // Reuse beats the never-used .21; both cooled records are dropped on the way.
    assert_eq!(
        ds.assign(10, t, IpPick::GoMap, &mut r),
        Ok(ip(10, 0, 0, 17))
    );
    // .19 has no record any more, so it is the lowest unused; .18 still cools.
    assert_eq!(
        ds.assign(11, t, IpPick::GoMap, &mut r),
        Ok(ip(10, 0, 0, 19))
    );
    assert_eq!(
        ds.assign(12, t, IpPick::GoMap, &mut r),
        Ok(ip(10, 0, 0, 21))
    );
    assert_eq!(
        ds.assign(13, 50_001, IpPick::GoMap, &mut r),
        Ok(ip(10, 0, 0, 18))
    );
}

#[test]
fn cooling_never_protects_a_cidr_from_a_shrink_but_a_pod_does() {
    let mut ds = sip(2, 0, 0);
    let mut r = rng();
    let a = ds.assign(1, 0, IpPick::FirstFit, &mut r).unwrap();
    let b = ds.assign(2, 0, IpPick::FirstFit, &mut r).unwrap();
    ds.release(1, 1_000);
    let mut out = Vec::new();
    ds.freeable_cidrs(EniId(0), 10, IpPick::GoMap, &mut r, &mut out);
    assert_eq!(
        out,
        [slash32(a)],
        "cooling counts as freeable, assigned does not"
    );
    assert_eq!(ds.remove_cidr(EniId(0), slash32(b)), Err(CidrError::InUse));
    assert_eq!(
        ds.remove_cidr(EniId(0), slash32(ip(1, 1, 1, 1))),
        Err(CidrError::Unknown)
    );
    assert_eq!(ds.stats(1_000).cooldown_ips, 1);
    assert_eq!(ds.remove_cidr(EniId(0), slash32(a)), Ok(()));
    let st = ds.stats(1_000);
    assert_eq!((st.total_ips, st.assigned_ips, st.cooldown_ips), (1, 1, 0));
}

#[test]
fn freeable_cidrs_are_capped() {
    let ds = sip(5, 0, 0);
    let mut out = Vec::new();
    ds.freeable_cidrs(EniId(0), 2, IpPick::GoMap, &mut rng(), &mut out);
    assert_eq!(out.len(), 2);
    ds.freeable_cidrs(EniId(0), 9, IpPick::FirstFit, &mut rng(), &mut out);
    assert_eq!(out.len(), 5);
    assert_eq!(out[0], slash32(ip(10, 0, 0, 10)));
}

#[test]
fn only_cidrs_of_the_current_mode_are_kept() {
    let mut ds = sip(0, 0, 0);
    assert!(!ds.add_cidr(EniId(0), slash28(ip(10, 0, 0, 0))));
    assert!(
        !ds.add_cidr(EniId(9), slash32(ip(10, 0, 0, 1))),
        "unknown ENI"
    );
    assert!(ds.add_cidr(EniId(0), slash32(ip(10, 0, 0, 1))));
    assert!(
        !ds.add_cidr(EniId(0), slash32(ip(10, 0, 0, 1))),
        "duplicate"
    );
    assert!(!ds.add_eni(EniId(0), false, 0), "duplicate ENI");
}

#[test]
fn allocatable_enis_skip_full_ones_and_the_primary_with_custom_networking() {
    let ds = sip(3, 1, 0);
    let mut out = Vec::new();
    ds.allocatable_enis(3, false, IpPick::FirstFit, &mut rng(), &mut out);
    assert_eq!(out, [EniId(1)]);
    ds.allocatable_enis(4, false, IpPick::FirstFit, &mut rng(), &mut out);
    assert_eq!(out, [EniId(0), EniId(1)]);
    ds.allocatable_enis(4, true, IpPick::GoMap, &mut rng(), &mut out);
    assert_eq!(out, [EniId(1)]);
    assert!(ds.has_allocatable_eni(3, false));
    assert!(!ds.has_allocatable_eni(1, false));
}

#[test]
fn deletable_eni_checks_age_cooldown_pods_and_primary() {
    let mut ds = sip(3, 3, 10_000);
    let mut r = rng();
    let none = EniTargets::default();
    assert!(ds.freeable_eni_exists());
    // Too young: created at 10 s, deletable from 70 s.
    assert_eq!(ds.deletable_eni(69_999, none, IpPick::GoMap, &mut r), None);
    assert_eq!(ds.deletable_from(none), Some(70_000));
    assert_eq!(
        ds.deletable_eni(70_000, none, IpPick::GoMap, &mut r),
        Some(EniId(1))
    );
    // A pod on it: not deletable, and CheckFreeableENIexists turns false.
    let mut pods = Vec::new();
    for pod in 0..6 {
        let a = ds.assign(pod, 70_000, IpPick::FirstFit, &mut r).unwrap();
        pods.push((pod, a));
    }
    assert!(!ds.freeable_eni_exists());
    assert_eq!(ds.deletable_eni(80_000, none, IpPick::GoMap, &mut r), None);
    assert_eq!(ds.deletable_from(none), None);
    // All released at 90 s: cooling until 120 s.
    for (pod, _) in &pods {
        ds.release(*pod, 90_000);
    }
    assert_eq!(ds.deletable_eni(120_000, none, IpPick::GoMap, &mut r), None);
    assert_eq!(ds.deletable_from(none), Some(120_001));
    assert_eq!(
        ds.deletable_eni(120_001, none, IpPick::GoMap, &mut r),
        Some(EniId(1))
    );
    // The primary is never deletable.
    let (id, cidrs) = ds
        .remove_unused_eni(120_001, none, IpPick::GoMap, &mut r)
        .unwrap();
    assert_eq!((id, cidrs.len()), (EniId(1), 3));
    assert_eq!(ds.deletable_eni(999_999, none, IpPick::GoMap, &mut r), None);
    assert!(!ds.freeable_eni_exists());
    let st = ds.stats(120_001);
    assert_eq!((st.enis, st.total_ips, st.cooldown_ips), (1, 3, 0));
}

#[test]
fn deletable_eni_keeps_what_the_targets_need() {
    let ds = sip(3, 3, 0);
    let mut r = rng();
    let t = 100_000;
    let with = |warm_ip, minimum_ip| EniTargets {
        warm_ip,
        minimum_ip,
        warm_prefix: 0,
    };
    // The other ENI has 3 free and 3 total.
    assert_eq!(
        ds.deletable_eni(t, with(3, 0), IpPick::GoMap, &mut r),
        Some(EniId(1))
    );
    assert_eq!(ds.deletable_eni(t, with(4, 0), IpPick::GoMap, &mut r), None);
    assert_eq!(
        ds.deletable_eni(t, with(0, 3), IpPick::GoMap, &mut r),
        Some(EniId(1))
    );
    assert_eq!(ds.deletable_eni(t, with(0, 4), IpPick::GoMap, &mut r), None);
    assert_eq!(ds.deletable_from(with(4, 0)), None);
    // WARM_PREFIX_TARGET is only a condition in PD.
    let p = EniTargets {
        warm_prefix: 5,
        ..EniTargets::default()
    };
    assert_eq!(
        ds.deletable_eni(t, p, IpPick::GoMap, &mut r),
        Some(EniId(1))
    );
}

#[test]
fn pd_deletability_rounds_targets_to_whole_prefixes() {
    let mut ds = Datastore::new(Mode::PrefixDelegation, CD);
    ds.add_eni(EniId(0), true, 0);
    ds.add_cidr(EniId(0), slash28(ip(10, 0, 0, 16)));
    ds.add_eni(EniId(1), false, 0);
    ds.add_cidr(EniId(1), slash28(ip(10, 0, 0, 32)));
    let mut r = rng();
    let t = 100_000;
    ds.assign(1, 0, IpPick::FirstFit, &mut r).unwrap(); // on ENI 0: 15 free there
    let targets = |warm_ip, minimum_ip, warm_prefix| EniTargets {
        warm_ip,
        minimum_ip,
        warm_prefix,
    };
    // WARM_IP_TARGET 5 rounds up to 16 > 15 free on the other ENI.
    assert_eq!(
        ds.deletable_eni(t, targets(5, 0, 0), IpPick::GoMap, &mut r),
        None
    );
    assert_eq!(
        ds.deletable_eni(t, targets(0, 16, 0), IpPick::GoMap, &mut r),
        Some(EniId(1))
    );
    assert_eq!(
        ds.deletable_eni(t, targets(0, 17, 0), IpPick::GoMap, &mut r),
        None
    );
    // The other ENI's prefix has a pod: 0 fully free prefixes < 1.
    assert_eq!(
        ds.deletable_eni(t, targets(0, 0, 1), IpPick::GoMap, &mut r),
        None
    );
    ds.release(1, 0);
    assert_eq!(
        ds.deletable_eni(t, targets(0, 0, 1), IpPick::GoMap, &mut r),
        Some(EniId(1))
    );
    let st = ds.stats(t);
    assert_eq!((st.total_prefixes, st.free_prefixes), (2, 2));
    assert!(ds.remove_eni(EniId(1)).is_some());
    let st = ds.stats(t);
    assert_eq!(
        (st.total_prefixes, st.free_prefixes, st.total_ips),
        (1, 1, 16)
    );
}

#[test]
fn remove_eni_refuses_while_a_pod_holds_an_address() {
    let mut ds = sip(0, 2, 0);
    let mut r = rng();
    ds.assign(1, 0, IpPick::GoMap, &mut r).unwrap();
    assert_eq!(ds.remove_eni(EniId(1)), None);
    ds.release(1, 0);
    assert_eq!(ds.remove_eni(EniId(1)).map(|c| c.len()), Some(2));
    assert_eq!(
        ds.stats(0).cooldown_ips,
        0,
        "its cooling records went with it"
    );
}

#[test]
fn first_fit_fills_enis_in_insertion_order_and_go_map_mostly_does() {
    let mut ds = sip(3, 3, 0);
    let mut r = rng();
    for pod in 0..3 {
        let a = ds.assign(pod, 0, IpPick::FirstFit, &mut r).unwrap();
        assert_eq!(a >> 8, ip(10, 0, 0, 0) >> 8, "primary ENI first");
    }
    // Two ENIs with free addresses: the first-inserted is picked 7/8 of the time.
    let mut on_first = 0;
    for seed in 0..4_000u64 {
        let mut ds = sip(3, 3, 0);
        let mut r = Streams::new(seed).node_stream("pick", 0);
        let a = ds.assign(0, 0, IpPick::GoMap, &mut r).unwrap();
        on_first += usize::from(a >> 8 == ip(10, 0, 0, 0) >> 8);
    }
    let frac = on_first as f64 / 4_000.0;
    assert!((frac - 0.875).abs() < 0.02, "{frac}");
}

#[test]
fn random_pick_is_uniform_over_assignable_addresses() {
    let mut hits_second = 0;
    for seed in 0..4_000u64 {
        let mut ds = sip(1, 3, 0);
        let mut r = Streams::new(seed).node_stream("pick", 1);
        let a = ds.assign(0, 0, IpPick::Random, &mut r).unwrap();
        hits_second += usize::from(a >> 8 == ip(10, 0, 1, 0) >> 8);
    }
    let frac = hits_second as f64 / 4_000.0;
    assert!((frac - 0.75).abs() < 0.03, "{frac}");
}

#[test]
fn cooling_counter_matches_a_scan_under_random_churn() {
    let mut ds = Datastore::new(Mode::PrefixDelegation, CD);
    ds.add_eni(EniId(0), true, 0);
    ds.add_cidr(EniId(0), slash28(ip(10, 0, 0, 16)));
    ds.add_cidr(EniId(0), slash28(ip(10, 0, 0, 32)));
    let mut r = rng();
    let mut held: Vec<u32> = Vec::new();
    let mut released: Vec<(Millis, u32)> = Vec::new();
    let mut now = 0;
    for step in 0..2_000u32 {
        now += u64::from(r.random_range(0..4_000u32));
        if r.random_bool(0.5) && !held.is_empty() {
            let pod = held.swap_remove(r.random_range(0..held.len()));
            let a = ds.release(pod, now).unwrap();
            released.retain(|&(_, x)| x != a);
            released.push((now, a));
        } else if ds.assign(step, now, IpPick::GoMap, &mut r).is_ok() {
            let a = ds.pod_address(step).unwrap();
            assert!(
                !released
                    .iter()
                    .any(|&(t, x)| x == a && is_cooling(t, now, CD))
            );
            held.push(step);
        }
        let expect = released
            .iter()
            .filter(|&&(t, _)| is_cooling(t, now, CD))
            .count();
        assert_eq!(ds.stats(now).cooldown_ips as usize, expect, "step {step}");
        let st = ds.stats(now);
        assert_eq!(st.assigned_ips as usize, held.len());
        let free = (0..2)
            .filter(|&k| {
                !held
                    .iter()
                    .any(|&p| ds.pod_address(p).unwrap() >> 4 == (ip(10, 0, 0, 16) >> 4) + k)
            })
            .count();
        assert_eq!(st.free_prefixes as usize, free);
    }
}

/// EKS Auto Mode's datastore keeps /32s beside /28s: a /32 is one address and no prefix,
/// whether assigned, released or removed; without `keep_secondary_ips` prefix mode refuses
/// them as before.
#[test]
fn prefix_mode_with_secondary_ips_counts_each_kind_apart() {
    let mut plain = Datastore::new(Mode::PrefixDelegation, CD);
    plain.add_eni(EniId(0), true, 0);
    assert!(!plain.add_cidr(EniId(0), slash32(ip(10, 0, 0, 40))));

    let mut ds = Datastore::new(Mode::PrefixDelegation, CD);
    ds.keep_secondary_ips();
    assert!(ds.emptied().mixed, "a restarted ipamd keeps the mode");
    ds.add_eni(EniId(0), true, 0);
    assert!(ds.add_cidr(EniId(0), slash28(ip(10, 0, 0, 16))));
    assert!(ds.add_cidr(EniId(0), slash32(ip(10, 0, 0, 40))));
    assert!(ds.add_cidr(EniId(0), slash32(ip(10, 0, 0, 41))));
    let counts = |ds: &Datastore| {
        let st = ds.stats(100_000);
        (
            st.total_ips,
            st.assigned_ips,
            st.total_prefixes,
            st.free_prefixes,
        )
    };
    assert_eq!(counts(&ds), (18, 0, 1, 1));
    let mut r = rng();
    for pod in 0..18 {
        ds.assign(pod, 1, IpPick::FirstFit, &mut r).unwrap();
    }
    assert_eq!(counts(&ds), (18, 18, 1, 0));
    for pod in 0..18 {
        ds.release(pod, 2);
    }
    assert_eq!(counts(&ds), (18, 0, 1, 1));
    assert_eq!(ds.remove_cidr(EniId(0), slash32(ip(10, 0, 0, 40))), Ok(()));
    assert_eq!(counts(&ds), (17, 0, 1, 1));
    ds.add_eni(EniId(1), false, 0);
    assert!(ds.add_cidr(EniId(1), slash32(ip(10, 0, 1, 5))));
    assert!(ds.remove_eni(EniId(1)).is_some());
    assert_eq!(counts(&ds), (17, 0, 1, 1));
}

#[test]
fn every_change_of_the_pool_counts_as_an_edit_and_nothing_else_does() {
    let mut ds = sip(2, 0, 0);
    let mut r = rng();
    let mut last = ds.edits();
    let mut moved = |ds: &Datastore, what: &str| {
        assert!(ds.edits() > last, "{what} is an edit");
        last = ds.edits();
    };
    assert!(ds.add_eni(EniId(1), false, 5));
    moved(&ds, "add_eni");
    assert!(ds.add_cidr(EniId(1), slash32(ip(10, 0, 1, 10))));
    moved(&ds, "add_cidr");
    assert!(ds.assign(7, 10, IpPick::FirstFit, &mut r).is_ok());
    moved(&ds, "assign");
    assert!(ds.release(7, 20).is_some());
    moved(&ds, "release");
    assert!(ds.remove_cidr(EniId(1), slash32(ip(10, 0, 1, 10))).is_ok());
    moved(&ds, "remove_cidr");
    assert!(ds.remove_eni(EniId(1)).is_some());
    moved(&ds, "remove_eni");
    ds.keep_secondary_ips();
    moved(&ds, "keep_secondary_ips");
    assert!(
        ds.emptied().edits() > ds.edits(),
        "a restarted process's datastore is an edit"
    );
    ds.clear();
    moved(&ds, "clear");

    // What changes no pool: refused calls, lookups, forgetting cooled-down releases.
    let mut ds = sip(1, 0, 0);
    let before = ds.edits();
    assert!(ds.assign(1, 0, IpPick::FirstFit, &mut r).is_ok());
    assert!(ds.release(1, 0).is_some());
    let after = ds.edits();
    assert!(!ds.add_eni(EniId(0), true, 0), "a duplicate ENI");
    assert!(
        !ds.add_cidr(EniId(9), slash32(ip(10, 0, 9, 9))),
        "an unknown ENI"
    );
    assert!(ds.release(1, 1).is_none(), "a pod without an address");
    assert_eq!(
        ds.assign(2, 1, IpPick::FirstFit, &mut r),
        Err(NoAddress::Cooling)
    );
    ds.prune(CD + 1);
    assert_eq!(ds.stats(CD + 1).cooldown_ips, 0);
    assert_eq!(ds.edits(), after);
    assert_eq!(after - before, 2);
}
