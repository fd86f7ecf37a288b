//! Allocator proptests: random operation sequences against an independent model, with a
//! brute-force recount of every summary after each step.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::tests::{check, config, state};
use super::*;

#[derive(Clone, Debug)]
enum Op {
    Addr,
    Prefix,
    FreeAddr(usize),
    FreePrefix(usize),
    Take(u32),
    Reserve(u32, u8, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Addr),
        3 => Just(Op::Prefix),
        4 => any::<usize>().prop_map(Op::FreeAddr),
        2 => any::<usize>().prop_map(Op::FreePrefix),
        1 => any::<u32>().prop_map(Op::Take),
        1 => (any::<u32>(), 24u8..=32, any::<bool>()).prop_map(|(o, l, e)| Op::Reserve(o, l, e)),
    ]
}

/// What the test handed out, independently of the subnet.
#[derive(Default)]
struct Model {
    addrs: Vec<u32>,
    prefixes: Vec<u32>,
    held: BTreeSet<u32>,
}

/// Runs `ops`, checking placement rules on the way; returns what each op produced.
fn run(s: &mut Subnet, ops: &[Op]) -> Vec<Option<u32>> {
    run_with(s, &mut Model::default(), ops)
}

fn run_with(s: &mut Subnet, model: &mut Model, ops: &[Op]) -> Vec<Option<u32>> {
    let Model {
        addrs,
        prefixes,
        held,
    } = model;
    let mut out = Vec::new();
    let base = s.cidr.addr();
    let lowest = s.placement == Placement::Lowest;
    for op in ops {
        let in_res = |s: &Subnet, a: u32| s.reservations.iter().any(|(r, _)| r.contains(a));
        let r = match *op {
            Op::Addr => {
                let min = (base..base + s.size).find(|&a| {
                    !held.contains(&a) && a - base >= 4 && a - base < s.size - 1 && !in_res(s, a)
                });
                let got = s.alloc_address();
                assert_eq!(got.is_some(), min.is_some());
                if let Some(a) = got {
                    assert!(held.insert(a), "{a:#x} handed out twice");
                    assert!(!in_res(s, a), "single address inside a reservation");
                    if lowest {
                        assert_eq!(got, min);
                    }
                    addrs.push(a);
                }
                got
            }
            Op::Prefix => {
                let preferred = s.free_reserved_prefix_blocks() > 0;
                let got = s.alloc_prefix();
                if let Some(p) = got {
                    assert_eq!(p % 16, 0);
                    for a in p..p + 16 {
                        assert!(held.insert(a), "{a:#x} handed out twice");
                    }
                    let res = s.reservations.iter().find(|(r, _)| r.contains(p));
                    // (A prefix reservation smaller than a /28 leaves its block in the
                    // general pool.)
                    assert!(
                        !s.reservations
                            .iter()
                            .any(|(r, k)| *k == ReservationKind::Explicit
                                && (r.contains(p) || (p..p + 16).contains(&r.addr())))
                    );
                    let in_pref =
                        matches!(res, Some((r, ReservationKind::Prefix)) if r.prefix_len() <= 28);
                    assert_eq!(preferred, in_pref);
                    prefixes.push(p);
                } else {
                    assert_eq!(s.free_prefix_blocks(), 0);
                }
                got
            }
            Op::FreeAddr(i) if !addrs.is_empty() => {
                let a = addrs.swap_remove(i % addrs.len());
                assert!(s.free_address(a));
                held.remove(&a);
                Some(a)
            }
            Op::FreePrefix(i) if !prefixes.is_empty() => {
                let p = prefixes.swap_remove(i % prefixes.len());
                assert!(s.free_prefix(p));
                for a in p..p + 16 {
                    held.remove(&a);
                }
                Some(p)
            }
            Op::Take(o) => {
                let a = base + o % s.size;
                let ok = s.take_address(a);
                assert_eq!(
                    ok,
                    !held.contains(&a) && a - base >= 4 && a - base < s.size - 1
                );
                if ok {
                    held.insert(a);
                    addrs.push(a);
                }
                ok.then_some(a)
            }
            Op::Reserve(o, len, explicit) => {
                let len = len.max(s.cidr.prefix_len());
                let size = 1u32 << (32 - len);
                let a = base + (o % s.size) / size * size;
                let block = Ipv4Cidr::new(a, len).unwrap();
                let kind = if explicit {
                    ReservationKind::Explicit
                } else {
                    ReservationKind::Prefix
                };
                let overlaps = s.reservations.iter().any(|(r, _)| r.overlaps(block));
                let res = s.add_reservation(block, kind);
                assert_eq!(res.is_err(), overlaps);
                res.ok().map(|()| a)
            }
            Op::FreeAddr(_) | Op::FreePrefix(_) => None,
        };
        out.push(r);
        assert_eq!(s.used() as usize, held.len());
    }
    out
}

fn subnet_strategy() -> impl Strategy<Value = (u8, bool, u64)> {
    (20u8..=28, any::<bool>(), any::<u64>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn counts_match_a_brute_force_recount(
        (len, lowest, seed) in subnet_strategy(),
        ops in proptest::collection::vec(op(), 0..300),
    ) {
        let placement = if lowest { Placement::Lowest } else { Placement::Random };
        let mut s = Subnet::new(
            &config(&format!("10.0.0.0/{len}"), placement), &Streams::new(seed), 0).unwrap();
        let mut model = Model::default();
        for chunk in ops.chunks(25) {
            run_with(&mut s, &mut model, chunk);
            check(&s);
        }
    }

    #[test]
    fn freeing_everything_restores_the_initial_state(
        (len, lowest, seed) in subnet_strategy(),
        ops in proptest::collection::vec(op(), 0..300),
    ) {
        let placement = if lowest { Placement::Lowest } else { Placement::Random };
        let cfg = config(&format!("10.0.0.0/{len}"), placement);
        let mut s = Subnet::new(&cfg, &Streams::new(seed), 0).unwrap();
        // Reservations stay; so build the reference subnet with the same ones afterwards.
        run(&mut s, &ops);
        let held: Vec<u32> = (s.cidr.addr()..s.cidr.addr() + s.size).filter(|&a| s.is_held(a)).collect();
        for a in held {
            if !s.free_address(a) {
                let p = a & !15;
                prop_assert!(s.free_prefix(p) || !s.is_held(a));
            }
        }
        let mut fresh = Subnet::new(&cfg, &Streams::new(seed), 0).unwrap();
        for (r, k) in s.reservations.clone() {
            fresh.add_reservation(r, k).unwrap();
        }
        prop_assert_eq!(state(&s), state(&fresh));
        check(&s);
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence(
        (len, lowest, seed) in subnet_strategy(),
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        let placement = if lowest { Placement::Lowest } else { Placement::Random };
        let cfg = config(&format!("10.0.0.0/{len}"), placement);
        let mut a = Subnet::new(&cfg, &Streams::new(seed), 3).unwrap();
        let mut b = Subnet::new(&cfg, &Streams::new(seed), 3).unwrap();
        prop_assert_eq!(run(&mut a, &ops), run(&mut b, &ops));
        prop_assert_eq!(state(&a), state(&b));
    }

    #[test]
    fn background_with_reservations_is_honoured(
        seed in any::<u64>(),
        n in 0u32..=2811,
        lowest in any::<bool>(),
    ) {
        let placement = if lowest { Placement::Lowest } else { Placement::Random };
        let mut cfg = config("10.0.0.0/20", placement);
        cfg.background.addresses = n;
        cfg.reservations = vec![
            ReservationConfig { cidr: "10.0.4.0/22".into(), kind: ReservationKind::Prefix },
            ReservationConfig { cidr: "10.0.12.0/24".into(), kind: ReservationKind::Explicit },
        ];
        let s = Subnet::new(&cfg, &Streams::new(seed), 0).unwrap();
        prop_assert_eq!(s.used(), n);
        prop_assert_eq!(s.free_reserved_prefix_blocks(), 64);
        for r in ["10.0.4.0/22", "10.0.12.0/24"] {
            let r = Ipv4Cidr::parse_block(r).unwrap();
            prop_assert!((r.addr()..=r.last()).all(|a| !s.is_held(a)));
        }
        check(&s);
    }
}
