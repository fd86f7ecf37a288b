//! Allocator tests: examples from the spec, the acceptance statistics, and proptests that
//! check every incremental count against a brute-force recount.

use std::collections::BTreeSet;

use super::BlockState;
use super::*;

pub(super) fn config(cidr: &str, placement: Placement) -> SubnetConfig {
    SubnetConfig {
        name: None,
        cidr: cidr.to_string(),
        placement,
        background: Background::default(),
        reservations: Vec::new(),
        tags: Default::default(),
        availability_zone: None,
    }
}

fn subnet(cidr: &str, placement: Placement) -> Subnet {
    Subnet::new(&config(cidr, placement), &Streams::new(1), 0).unwrap()
}

fn ip(text: &str) -> u32 {
    u32::from(text.parse::<std::net::Ipv4Addr>().unwrap())
}

fn bit(bits: &[u64], i: u32) -> bool {
    bits[(i / 64) as usize] >> (i % 64) & 1 == 1
}

/// Recounts everything from the `used` and `prefixes` bitmaps and the reservation list,
/// independently of the incremental bookkeeping, and compares.
pub(super) fn check(s: &Subnet) {
    let size = s.size;
    let blocks = size / 16;
    let in_res = |off: u32, kind: Option<ReservationKind>| {
        s.reservations
            .iter()
            .any(|(r, k)| r.contains(s.cidr.addr() + off) && kind.is_none_or(|want| want == *k))
    };
    let reserved = |off: u32| off < 4 || off == size - 1;
    let used_bits: Vec<u64> = s.addrs.iter().map(|a| a.used).collect();
    let used: Vec<bool> = (0..size).map(|o| bit(&used_bits, o)).collect();
    assert_eq!(s.used(), used.iter().filter(|u| **u).count() as u32);
    assert_eq!(s.used() + s.free(), s.usable());
    assert_eq!(s.usable(), size - 5);
    for o in 0..size {
        assert!(
            !(reserved(o) && used[o as usize]),
            "reserved offset {o} held"
        );
        let cand = !used[o as usize] && !reserved(o) && !in_res(o, None);
        let word = s.addrs[(o / 64) as usize].candidates();
        assert_eq!(word >> (o % 64) & 1 == 1, cand, "single candidate {o}");
    }
    let (mut free, mut full, mut frag, mut pref, mut gen_, mut prefixes) = (0, 0, 0, 0, 0, 0);
    for b in 0..blocks {
        let offs = b * 16..b * 16 + 16;
        let held = offs.clone().filter(|&o| used[o as usize]).count();
        let explicit = offs
            .clone()
            .any(|o| in_res(o, Some(ReservationKind::Explicit)));
        let in_prefix_res = s.reservations.iter().any(|(r, k)| {
            *k == ReservationKind::Prefix
                && r.prefix_len() <= 28
                && r.contains(s.cidr.addr() + b * 16)
        });
        let edge = b == 0 || b == blocks - 1;
        let is_prefix = bit(&s.prefixes, b);
        if is_prefix {
            assert_eq!(held, 16, "prefix block {b} not fully held");
            assert!(!edge);
            prefixes += 1;
        }
        let candidate = held == 0 && !edge && !explicit;
        assert_eq!(
            s.preferred.contains(b),
            candidate && in_prefix_res,
            "block {b}"
        );
        assert_eq!(
            s.general.contains(b),
            candidate && !in_prefix_res,
            "block {b}"
        );
        pref += u32::from(candidate && in_prefix_res);
        gen_ += u32::from(candidate && !in_prefix_res);
        let expect_state = if is_prefix {
            BlockState::Prefix
        } else if edge || explicit {
            BlockState::Reserved
        } else if held == 0 {
            BlockState::Free
        } else if held == 16 {
            BlockState::Full
        } else {
            BlockState::Fragmented
        };
        assert_eq!(s.block_map()[b as usize], expect_state, "block {b}");
        if !edge && !is_prefix {
            match (held, explicit) {
                (0, false) => free += 1,
                (16, _) => full += 1,
                _ => frag += 1,
            }
        }
    }
    assert_eq!(s.prefix_blocks(), prefixes);
    assert_eq!(s.free_prefix_blocks(), free);
    assert_eq!(s.free_reserved_prefix_blocks(), pref);
    assert_eq!(pref + gen_, free);
    assert_eq!(s.full_blocks(), full);
    assert_eq!(s.fragmented_blocks(), frag);
    let total = free + full + frag;
    let score = if total == 0 {
        0
    } else {
        (100.0 * f64::from(full + frag) / f64::from(total)).ceil() as u32
    };
    assert_eq!(s.fragmentation_score(), score);
    // The rank sets' trees equal fresh builds of their bitmaps.
    let candidates: Vec<u64> = s.addrs.iter().map(|a| a.candidates()).collect();
    assert_eq!(s.singles, RankTree::from_bits(&candidates));
    assert_eq!(
        s.free_for_single_addresses(),
        (0..size).filter(|&o| bit(&candidates, o)).count() as u32
    );
}

/// Everything but the random stream.
pub(super) fn state(s: &Subnet) -> impl PartialEq + std::fmt::Debug {
    (
        (s.addrs.clone(), s.prefixes),
        (
            s.singles.clone(),
            s.preferred.words().to_vec(),
            s.general.words().to_vec(),
        ),
        (s.used_count, s.prefix_count, s.full_count),
    )
}

#[test]
fn spec_table_of_usable_addresses_and_blocks() {
    // spec/ec2-subnet.md §1.
    for (len, usable, blocks) in [
        (16, 65_531, 4_094),
        (20, 4_091, 254),
        (22, 1_019, 62),
        (24, 251, 14),
        (26, 59, 2),
        (27, 27, 0),
        (28, 11, 0),
    ] {
        let s = subnet(&format!("10.0.0.0/{len}"), Placement::Lowest);
        assert_eq!(s.usable(), usable, "/{len}");
        assert_eq!(s.free(), usable);
        assert_eq!(s.free_for_single_addresses(), usable);
        assert_eq!(s.free_prefix_blocks(), blocks, "/{len}");
        assert_eq!(s.fragmentation_score(), 0);
        check(&s);
    }
}

#[test]
fn reserved_addresses_are_never_handed_out() {
    let mut s = subnet("10.0.0.0/28", Placement::Random);
    let mut got = BTreeSet::new();
    while let Some(a) = s.alloc_address() {
        assert!(got.insert(a));
    }
    let want: BTreeSet<u32> = (ip("10.0.0.4")..=ip("10.0.0.14")).collect();
    assert_eq!(got, want);
    assert_eq!((s.used(), s.free()), (11, 0));
    assert_eq!(s.alloc_prefix(), None);
    assert!(!s.take_address(ip("10.0.0.0")) && !s.take_address(ip("10.0.0.15")));
    check(&s);
}

#[test]
fn lowest_placement_fills_from_the_bottom() {
    let mut s = subnet("10.0.0.0/24", Placement::Lowest);
    assert_eq!(s.alloc_address(), Some(ip("10.0.0.4")));
    assert_eq!(s.alloc_address(), Some(ip("10.0.0.5")));
    // Block 0 holds reserved addresses, so the first prefix is the second block.
    assert_eq!(s.alloc_prefix(), Some(ip("10.0.0.16")));
    assert_eq!(s.alloc_prefix(), Some(ip("10.0.0.32")));
    assert!(s.free_address(ip("10.0.0.4")));
    assert_eq!(s.alloc_address(), Some(ip("10.0.0.4")));
    assert!(s.free_prefix(ip("10.0.0.16")));
    assert_eq!(s.alloc_prefix(), Some(ip("10.0.0.16")));
    // Single addresses skip held prefixes.
    for a in 6..16 {
        assert_eq!(s.alloc_address(), Some(ip("10.0.0.0") + a));
    }
    assert_eq!(s.alloc_address(), Some(ip("10.0.0.48")));
    check(&s);
}

#[test]
fn freeing_checks_what_is_held() {
    let mut s = subnet("10.0.0.0/24", Placement::Lowest);
    let p = s.alloc_prefix().unwrap();
    let a = s.alloc_address().unwrap();
    assert!(
        !s.free_address(p),
        "an address of a prefix is not a single address"
    );
    assert!(!s.free_prefix(a), "a single address is not a prefix");
    assert!(
        !s.free_prefix(p + 1),
        "a prefix is named by its first address"
    );
    assert!(!s.free_address(ip("10.0.1.4")), "outside the subnet");
    assert!(!s.free_address(a + 1), "free already");
    assert!(s.free_address(a) && !s.free_address(a));
    assert!(s.free_prefix(p) && !s.free_prefix(p));
    assert_eq!(s.used(), 0);
    check(&s);
}

#[test]
fn block_counts_and_score() {
    let mut s = subnet("10.0.0.0/24", Placement::Lowest);
    // Blocks 1..=14 are scored. Fill block 1 with singles, half of block 2, one prefix.
    for a in ip("10.0.0.16")..ip("10.0.0.40") {
        assert!(s.take_address(a));
    }
    assert_eq!(s.alloc_prefix(), Some(ip("10.0.0.48")));
    assert_eq!(s.full_blocks(), 1);
    assert_eq!(s.fragmented_blocks(), 1);
    assert_eq!(s.prefix_blocks(), 1);
    assert_eq!(s.free_prefix_blocks(), 11);
    // ceil(100 × 2 / 13) = 16.
    assert_eq!(s.fragmentation_score(), 16);
    let map = s.block_map();
    assert_eq!(map.len(), 16);
    assert_eq!(map[0], BlockState::Reserved);
    assert_eq!(map[1], BlockState::Full);
    assert_eq!(map[2], BlockState::Fragmented);
    assert_eq!(map[3], BlockState::Prefix);
    assert_eq!(map[4], BlockState::Free);
    assert_eq!(map[15], BlockState::Reserved);
    check(&s);
}

#[test]
fn prefixes_prefer_prefix_reservations() {
    let mut cfg = config("10.0.0.0/24", Placement::Random);
    cfg.reservations.push(ReservationConfig {
        cidr: "10.0.0.192/27".into(),
        kind: ReservationKind::Prefix,
    });
    let mut s = Subnet::new(&cfg, &Streams::new(3), 0).unwrap();
    let r = Ipv4Cidr::parse_block("10.0.0.192/27").unwrap();
    assert_eq!(s.free_reserved_prefix_blocks(), 2);
    let (a, b) = (s.alloc_prefix().unwrap(), s.alloc_prefix().unwrap());
    assert!(r.contains(a) && r.contains(b) && a != b);
    let c = s.alloc_prefix().unwrap();
    assert!(!r.contains(c), "general pool once the reservation is full");
    // Single addresses never land in the reservation.
    while let Some(x) = s.alloc_address() {
        assert!(!r.contains(x));
    }
    assert!(s.free_prefix(a));
    assert_eq!(s.alloc_prefix(), Some(a));
    check(&s);
}

#[test]
fn explicit_reservations_take_nothing_automatically() {
    let mut cfg = config("10.0.0.0/24", Placement::Lowest);
    cfg.reservations.push(ReservationConfig {
        cidr: "10.0.0.16/28".into(),
        kind: ReservationKind::Explicit,
    });
    cfg.reservations.push(ReservationConfig {
        cidr: "10.0.0.40/30".into(),
        kind: ReservationKind::Explicit,
    });
    let mut s = Subnet::new(&cfg, &Streams::new(3), 0).unwrap();
    // Blocks 1 (wholly) and 2 (partly) are out of the prefix pool.
    assert_eq!(s.free_prefix_blocks(), 12);
    assert_eq!(s.alloc_prefix(), Some(ip("10.0.0.48")));
    assert_eq!(s.free_for_single_addresses(), 251 - 16 - 4 - 16);
    assert_eq!(s.free(), 251 - 16);
    // Explicitly reserved blocks are not free: they count as fragmented.
    assert_eq!(s.fragmented_blocks(), 2);
    assert_eq!(s.block_map()[1], BlockState::Reserved);
    assert_eq!(s.block_map()[2], BlockState::Reserved);
    // Addresses named by value may be taken inside an explicit reservation.
    assert!(s.take_address(ip("10.0.0.17")));
    let mut got = Vec::new();
    while let Some(a) = s.alloc_address() {
        got.push(a);
    }
    assert!(
        got.iter()
            .all(|&a| !(16..32).contains(&(a - ip("10.0.0.0"))))
    );
    assert!(
        got.iter()
            .all(|&a| !(40..44).contains(&(a - ip("10.0.0.0"))))
    );
    check(&s);
}

#[test]
fn a_reservation_may_cover_held_addresses() {
    let mut s = subnet("10.0.0.0/24", Placement::Lowest);
    let a = s.alloc_address().unwrap(); // 10.0.0.4
    let p = s.alloc_prefix().unwrap(); // 10.0.0.16/28
    let x = s.alloc_address().unwrap(); // 10.0.0.5
    s.add_reservation(
        Ipv4Cidr::parse_block("10.0.0.0/27").unwrap(),
        ReservationKind::Explicit,
    )
    .unwrap();
    check(&s);
    assert!(s.is_held(a) && s.is_held(p) && s.is_held(x));
    assert_eq!(s.used(), 18);
    // Freed addresses inside the reservation are not placed again.
    assert!(s.free_address(a) && s.free_prefix(p));
    assert_eq!(s.alloc_address(), Some(ip("10.0.0.32")));
    assert_eq!(s.alloc_prefix(), Some(ip("10.0.0.48")));
    check(&s);
}

#[test]
fn bad_reservations_and_background_are_typed_errors() {
    let with = |res: &[(&str, ReservationKind)], background: u32| {
        let mut cfg = config("10.0.0.0/24", Placement::Random);
        cfg.name = Some("pods".into());
        cfg.background.addresses = background;
        for (cidr, kind) in res {
            cfg.reservations.push(ReservationConfig {
                cidr: cidr.to_string(),
                kind: *kind,
            });
        }
        Subnet::new(&cfg, &Streams::new(1), 0)
    };
    let e = with(&[("10.0.1.0/28", ReservationKind::Prefix)], 0).unwrap_err();
    assert!(matches!(e, SubnetError::ReservationOutside { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("10.0.1.0/28 is not inside the subnet"),
        "{e}"
    );
    let e = with(&[("10.0.0.0/23", ReservationKind::Prefix)], 0).unwrap_err();
    assert!(matches!(e, SubnetError::ReservationOutside { .. }), "{e:?}");
    let e = with(
        &[
            ("10.0.0.128/25", ReservationKind::Prefix),
            ("10.0.0.192/28", ReservationKind::Explicit),
        ],
        0,
    )
    .unwrap_err();
    assert_eq!(
        e,
        SubnetError::ReservationOverlap {
            subnet: "pods".into(),
            first: "10.0.0.128/25".into(),
            second: "10.0.0.192/28".into(),
        }
    );
    let e = with(&[("10.0.0.1/28", ReservationKind::Prefix)], 0).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("subnet \"pods\": 10.0.0.1/28 is not a CIDR block: host bits"),
        "{e}"
    );
    // 251 usable, 64 in the reservation: 187 fit, 188 do not.
    let res = [("10.0.0.64/26", ReservationKind::Explicit)];
    assert_eq!(with(&res, 187).unwrap().free_for_single_addresses(), 0);
    let e = with(&res, 188).unwrap_err();
    assert!(
        matches!(
            e,
            SubnetError::BackgroundTooLarge {
                requested: 188,
                available: 187,
                ..
            }
        ),
        "{e:?}"
    );
    let mut cfg = config("10.0.0.1/24", Placement::Random);
    cfg.name = Some("pods".into());
    let e = Subnet::new(&cfg, &Streams::new(1), 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "subnet \"pods\": 10.0.0.1/24 is not a subnet: host bits are set; did you mean 10.0.0.0/24?"
    );
    cfg.cidr = "10.0.0.0/29".into();
    assert!(Subnet::new(&cfg, &Streams::new(1), 0).is_err());
}

#[test]
fn background_is_placed_at_t0_and_named() {
    let mut cfg = config("10.0.0.0/20", Placement::Random);
    cfg.background.addresses = 1500;
    let s = Subnet::new(&cfg, &Streams::new(9), 0).unwrap();
    assert_eq!((s.used(), s.background()), (1500, 1500));
    assert_eq!(s.name(), "default");
    assert_eq!(s.cidr(), "10.0.0.0/20");
    check(&s);
    // Another seed or subnet index gives another layout; the same gives the same.
    let again = Subnet::new(&cfg, &Streams::new(9), 0).unwrap();
    assert_eq!(state(&again), state(&s));
    assert_ne!(
        state(&Subnet::new(&cfg, &Streams::new(10), 0).unwrap()),
        state(&s)
    );
    assert_ne!(
        state(&Subnet::new(&cfg, &Streams::new(9), 1).unwrap()),
        state(&s)
    );
}

/// Share of free interior /28 blocks after placing `p × usable` single addresses.
fn free_share(placement: Placement, p: f64, seed: u64) -> (f64, Subnet) {
    let mut s = Subnet::new(&config("10.0.0.0/16", placement), &Streams::new(seed), 0).unwrap();
    let n = (p * f64::from(s.usable())).round() as u32;
    for _ in 0..n {
        s.alloc_address().unwrap();
    }
    (f64::from(s.free_prefix_blocks()) / 4094.0, s)
}

#[test]
fn random_fill_leaves_free_blocks_as_one_minus_p_to_the_16() {
    // Each interior block is free with probability ≈ (1 − p)^16; 4,094 blocks give a
    // binomial count. Tolerance: 5 standard deviations plus 0.2 % absolute.
    for p in [0.02, 0.05, 0.1, 0.2] {
        let (share, s) = free_share(Placement::Random, p, 42);
        let q = (1.0 - p).powi(16);
        let sd = (q * (1.0 - q) / 4094.0).sqrt();
        assert!(
            (share - q).abs() <= 5.0 * sd + 0.002,
            "p = {p}: share {share:.4}, expected {q:.4} ± {:.4}",
            5.0 * sd
        );
        check(&s);
    }
}

#[test]
fn lowest_fill_leaves_exactly_the_blocks_above_the_fill() {
    for p in [0.0, 0.1, 0.5, 0.9, 0.99] {
        let (share, s) = free_share(Placement::Lowest, p, 42);
        let n = s.used();
        // Held offsets are 4 .. 4 + n; interior blocks lying wholly above are free.
        let first_free_block = (4 + n).div_ceil(16);
        let expect = 4095u32.saturating_sub(first_free_block.max(1));
        assert_eq!(s.free_prefix_blocks(), expect, "p = {p}");
        assert_eq!(share, f64::from(expect) / 4094.0);
    }
}

#[test]
fn half_a_slash_20_of_scattered_background_leaves_no_prefix() {
    let mut cfg = config("10.0.0.0/20", Placement::Random);
    cfg.background.addresses = 2048;
    let mut s = Subnet::new(&cfg, &Streams::new(7), 0).unwrap();
    assert!(s.free() > 2000);
    assert_eq!(s.alloc_prefix(), None);
    cfg.reservations.push(ReservationConfig {
        cidr: "10.0.8.0/24".into(),
        kind: ReservationKind::Prefix,
    });
    let mut s = Subnet::new(&cfg, &Streams::new(7), 0).unwrap();
    for _ in 0..16 {
        let p = s.alloc_prefix().unwrap();
        assert_eq!(p & 0xffff_ff00, ip("10.0.8.0"));
    }
    assert_eq!(s.alloc_prefix(), None);
    check(&s);
}

#[test]
fn random_selection_is_uniform_over_candidates() {
    // 27 usable addresses in a /27: each should come first about equally often.
    let mut counts = [0u32; 32];
    let streams = Streams::new(5);
    for i in 0..5400 {
        let mut s = Subnet::new(&config("10.0.0.0/27", Placement::Random), &streams, i).unwrap();
        counts[(s.alloc_address().unwrap() & 31) as usize] += 1;
    }
    for (o, &c) in counts.iter().enumerate() {
        if o < 4 || o == 31 {
            assert_eq!(c, 0);
        } else {
            // Expected 200 each; sd ≈ 14.
            assert!((130..=270).contains(&c), "offset {o}: {c}");
        }
    }
}
