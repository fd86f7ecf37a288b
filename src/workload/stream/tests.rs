//! The merged stream against the oracle it replaced: every event generated up front into one
//! list, then stably sorted by time.

use proptest::prelude::*;

use super::super::{Poisson, deployment, round};
use super::*;
use crate::rng::Streams;
use crate::scenario::{Lifetime, WorkloadSpec};
use crate::time::MINUTE;
use crate::workload::Workloads;

/// The Poisson generator as it was before the stream (verbatim but for the return value):
/// each pod's add, then its delete, pushed in pod order; `f64::round`.
fn old_poisson(
    p: &Poisson,
    events: &mut Vec<PodEvent>,
    first: u32,
    mut uniform: impl FnMut() -> f64,
) -> u32 {
    let mean_gap = MINUTE as f64 / p.rate_per_min;
    let mut exp = move |mean: f64| -mean * crate::rng::ln(1.0 - uniform());
    let mut t = p.start as f64;
    let mut created: u32 = 0;
    loop {
        t += exp(mean_gap);
        let at = t.round();
        if at >= p.end as f64 {
            return created;
        }
        let at = at as Millis;
        let pod = first + created;
        created += 1;
        events.push(PodEvent {
            time: at,
            pod,
            kind: PodEventKind::Add,
        });
        let life = match p.lifetime {
            Lifetime::Exponential { mean } => (exp(mean as f64).round() as Millis).max(1),
            Lifetime::Fixed(d) => d,
        };
        let gone = at.saturating_add(life);
        if gone < p.duration {
            events.push(PodEvent {
                time: gone,
                pod,
                kind: PodEventKind::Delete,
            });
        }
    }
}

/// The old `Workloads::generate`: all events in generation order, then a stable sort by time.
fn oracle(specs: &[WorkloadSpec], duration: Millis, streams: &Streams) -> Vec<PodEvent> {
    let mut events = Vec::new();
    let mut first = 0;
    for (index, spec) in specs.iter().enumerate() {
        first += match spec {
            WorkloadSpec::Deployment { steps, .. } => {
                deployment(&mut events, first, steps, duration)
            }
            WorkloadSpec::Poisson {
                rate_per_min,
                lifetime,
                start,
                end,
                ..
            } => {
                let mut rng = streams.stream("workload", index as u64);
                let p = Poisson {
                    rate_per_min: *rate_per_min,
                    lifetime: *lifetime,
                    start: *start,
                    end: (*end).min(duration),
                    duration,
                };
                old_poisson(&p, &mut events, first, || rng.random::<f64>())
            }
            _ => unreachable!("the oracle covers generated workloads"),
        };
    }
    events.sort_by_key(|e| e.time);
    events
}

/// A deployment or Poisson workload with times from `base`; rates up to 1,000 a second, so
/// many events share a millisecond.
fn spec(base: Millis) -> impl Strategy<Value = WorkloadSpec> {
    prop_oneof![
        prop::collection::vec((1u64..5_000, 0u32..40), 1..8).prop_map(move |gaps| {
            let mut t = base;
            let steps = gaps
                .iter()
                .map(|&(g, r)| {
                    t += g;
                    (t - 1, r)
                })
                .collect();
            WorkloadSpec::Deployment {
                name: "d".into(),
                steps,
            }
        }),
        (
            prop_oneof![0.5f64..100.0, 100.0f64..60_000.0],
            1u64..50_000,
            any::<bool>(),
            0u64..20_000,
            1u64..30_000,
        )
            .prop_map(move |(rate, mean, fixed, start, len)| {
                WorkloadSpec::Poisson {
                    name: "p".into(),
                    rate_per_min: rate,
                    lifetime: if fixed {
                        Lifetime::Fixed(mean)
                    } else {
                        Lifetime::Exponential { mean }
                    },
                    start: base + start,
                    end: base + start + len,
                }
            }),
    ]
}

/// Specs and a duration; half of the cases straddle `u32::MAX` ms (the `u64` time path).
fn case() -> impl Strategy<Value = (Vec<WorkloadSpec>, Millis)> {
    prop_oneof![Just(0), Just(Millis::from(u32::MAX) - 30_000)].prop_flat_map(|base| {
        (
            prop::collection::vec(spec(base), 1..5),
            (base + 1)..(base + 60_000),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_merge_is_the_stable_sort((specs, duration) in case(), seed in any::<u64>()) {
        let streams = Streams::new(seed);
        let want = oracle(&specs, duration, &streams);
        let w = Workloads::generate(&specs, duration, &streams).unwrap();
        prop_assert_eq!(w.events.len(), want.len());
        let mut events = w.events.clone();
        // Peeking agrees with taking, event by event.
        for (i, e) in want.iter().enumerate() {
            prop_assert_eq!(events.peek_time(), Some(e.time));
            prop_assert_eq!(events.next_time(), e.time);
            prop_assert_eq!(events.pop(), Some(*e), "event {}", i);
            prop_assert_eq!(events.len(), want.len() - i - 1);
            // The events merged ahead are the next ones, all of them up to AHEAD.
            for k in 0..AHEAD {
                prop_assert_eq!(events.ahead(k), want.get(i + 1 + k), "{} ahead of {}", k, i);
            }
        }
        prop_assert_eq!(events.peek_time(), None);
        prop_assert_eq!(events.next_time(), Millis::MAX);
        prop_assert_eq!(events.pop(), None);
    }

    #[test]
    fn the_radix_sort_is_a_stable_sort_by_the_high_half(
        mut v in prop::collection::vec(any::<u64>(), 0..2_000),
        narrow in any::<bool>(),
    ) {
        if narrow {
            // Mostly equal digits: passes are skipped, and ties are many.
            for x in &mut v {
                *x &= 0x0000_0007_0000_00ff;
            }
        }
        let mut want = v.clone();
        want.sort_by_key(|x| x >> 32);
        sort_by_high_half(&mut v);
        prop_assert_eq!(v, want);
    }

    #[test]
    fn round_is_f64_round(x in prop_oneof![
        0.0f64..10.0,
        0.0f64..1e16,
        any::<f64>(),
        (0u64..1 << 53).prop_map(|i| i as f64 + 0.5),
        (0u64..1 << 53).prop_map(|i| f64::from_bits((i as f64 + 0.5).to_bits() - 1)),
    ]) {
        prop_assert_eq!(round(x).to_bits(), x.round().to_bits(), "{}", x);
    }
}

#[test]
fn round_at_the_edges() {
    for x in [
        0.0,
        0.5,
        0.49999999999999994,
        1.5,
        2.5,
        4503599627370495.5,
        4503599627370496.0,
        9007199254740993.0,
        -0.5,
        -0.0,
        f64::MAX,
        f64::INFINITY,
    ] {
        assert_eq!(round(x).to_bits(), x.round().to_bits(), "{x}");
    }
    assert!(round(f64::NAN).is_nan());
}

#[test]
fn ties_go_to_the_lower_workload_then_generation_order() {
    // Two deployments and a fixed-lifetime Poisson at 1,000 a second: all share milliseconds.
    let specs = [
        WorkloadSpec::Poisson {
            name: "p".into(),
            rate_per_min: 60_000.0,
            lifetime: Lifetime::Fixed(3),
            start: 0,
            end: 50,
        },
        WorkloadSpec::Deployment {
            name: "d".into(),
            steps: vec![(0, 3), (10, 1), (20, 4)],
        },
    ];
    let streams = Streams::new(7);
    let want = oracle(&specs, 40, &streams);
    let got = Workloads::generate(&specs, 40, &streams)
        .unwrap()
        .events
        .to_vec();
    assert_eq!(got, want);
    // The equal-time case is really exercised: a delete and an add at the same millisecond.
    assert!(
        want.windows(2)
            .any(|p| p[0].time == p[1].time && p[0].kind != p[1].kind)
    );
}

#[test]
fn an_empty_stream() {
    let mut e = PodEvents::default();
    assert_eq!((e.peek_time(), e.len(), e.is_empty()), (None, 0, true));
    assert_eq!(e.next_time(), Millis::MAX);
    assert_eq!(e.pop(), None);
    e.push_list(Vec::new());
    assert_eq!((e.peek_time(), e.pop()), (None, None));
}
