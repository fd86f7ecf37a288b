use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::time::{HOUR, SECOND};

fn deployment(name: &str, steps: &[(Millis, u32)]) -> WorkloadSpec {
    WorkloadSpec::Deployment {
        name: name.into(),
        steps: steps.to_vec(),
    }
}

fn poisson(
    name: &str,
    rate_per_min: f64,
    lifetime: Lifetime,
    start: Millis,
    end: Millis,
) -> WorkloadSpec {
    WorkloadSpec::Poisson {
        name: name.into(),
        rate_per_min,
        lifetime,
        start,
        end,
    }
}

fn ev(time: Millis, pod: u32, kind: PodEventKind) -> PodEvent {
    PodEvent { time, pod, kind }
}

use PodEventKind::{Add, Delete};

#[test]
fn deployment_scales_up_with_fresh_ordinals_and_down_newest_first() {
    let w = Workloads::generate(
        &[deployment(
            "web",
            &[(0, 3), (10, 5), (20, 2), (30, 4), (500, 9)],
        )],
        100,
        &Streams::new(1),
    )
    .unwrap();
    assert_eq!(
        w.events.to_vec(),
        vec![
            ev(0, 0, Add),
            ev(0, 1, Add),
            ev(0, 2, Add),
            ev(10, 3, Add),
            ev(10, 4, Add),
            ev(20, 4, Delete),
            ev(20, 3, Delete),
            ev(20, 2, Delete),
            ev(30, 5, Add),
            ev(30, 6, Add),
        ]
    );
    // The step at 500 ms is after the end of the run: no pods for it.
    assert_eq!(w.pods(), 7);
    assert_eq!(w.pod_name(6), "web-6");
}

#[test]
fn events_are_sorted_by_time_then_workload() {
    let specs = [
        deployment("a", &[(5, 1), (20, 0)]),
        deployment("b", &[(0, 1), (5, 2)]),
    ];
    let w = Workloads::generate(&specs, 100, &Streams::new(1)).unwrap();
    assert_eq!(
        w.events.to_vec(),
        vec![
            ev(0, 1, Add),
            ev(5, 0, Add),
            ev(5, 2, Add),
            ev(20, 0, Delete)
        ]
    );
    assert_eq!(
        (w.workload_of(0), w.workload_of(1), w.workload_of(2)),
        (0, 1, 1)
    );
    assert_eq!((w.pod_name(0), w.pod_name(2)), ("a-0".into(), "b-1".into()));
    let mut s = String::from("x:");
    w.write_pod_name(2, &mut s);
    assert_eq!(s, "x:b-1");
}

#[test]
fn poisson_rate_and_fixed_lifetime() {
    let (start, end, duration) = (HOUR, 11 * HOUR, 12 * HOUR);
    let spec = poisson("batch", 60.0, Lifetime::Fixed(90 * MINUTE), start, end);
    let w = Workloads::generate(&[spec], duration, &Streams::new(3)).unwrap();
    let events = w.events.to_vec();
    let adds: Vec<&PodEvent> = events.iter().filter(|e| e.kind == Add).collect();
    // 60/min for 10 h: 36,000 expected, standard deviation 190; allow 5 sigma.
    let n = adds.len() as f64;
    assert!((n - 36_000.0).abs() < 5.0 * 190.0, "{n} arrivals");
    assert_eq!(w.pods() as usize, adds.len());
    assert!(adds.iter().all(|e| e.time >= start && e.time < end));
    let mut deleted = vec![None; w.pods() as usize];
    for e in events.iter().filter(|e| e.kind == Delete) {
        deleted[e.pod as usize] = Some(e.time);
    }
    for a in &adds {
        let gone = a.time + 90 * MINUTE;
        let want = (gone < duration).then_some(gone);
        assert_eq!(deleted[a.pod as usize], want, "pod {}", a.pod);
    }
    // Exponential gaps: about as many in the first half of the window as in the second.
    let first_half = adds.iter().filter(|e| e.time < 6 * HOUR).count() as f64;
    assert!(
        (first_half - n / 2.0).abs() < 5.0 * (n / 4.0).sqrt(),
        "{first_half} of {n}"
    );
}

#[test]
fn poisson_exponential_lifetimes_have_their_mean() {
    let spec = poisson(
        "p",
        30.0,
        Lifetime::Exponential { mean: 10 * MINUTE },
        0,
        10 * HOUR,
    );
    let w = Workloads::generate(&[spec], 100 * HOUR, &Streams::new(9)).unwrap();
    let mut added = vec![0; w.pods() as usize];
    let mut lives = Vec::new();
    for e in w.events.to_vec() {
        match e.kind {
            Add => added[e.pod as usize] = e.time,
            Delete => lives.push((e.time - added[e.pod as usize]) as f64),
        }
    }
    // Every pod ends well before 100 h.
    assert_eq!(lives.len(), w.pods() as usize);
    let n = lives.len() as f64;
    let mean = lives.iter().sum::<f64>() / n;
    let want = (10 * MINUTE) as f64;
    // Standard error of the mean of an exponential: mean / sqrt(n).
    assert!(
        (mean - want).abs() < 5.0 * want / n.sqrt(),
        "mean {mean} over {n}"
    );
    // Coefficient of variation 1 (it is exponential, not fixed).
    let var = lives.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n;
    assert!(
        (var.sqrt() / mean - 1.0).abs() < 0.1,
        "cv {}",
        var.sqrt() / mean
    );
}

#[test]
fn same_seed_same_events_and_streams_are_per_workload() {
    let p = poisson("p", 5.0, Lifetime::Exponential { mean: MINUTE }, 0, HOUR);
    let a = Workloads::generate(std::slice::from_ref(&p), HOUR, &Streams::new(1)).unwrap();
    let b = Workloads::generate(std::slice::from_ref(&p), HOUR, &Streams::new(1)).unwrap();
    let c = Workloads::generate(std::slice::from_ref(&p), HOUR, &Streams::new(2)).unwrap();
    assert_eq!(a.events.to_vec(), b.events.to_vec());
    assert_ne!(a.events.to_vec(), c.events.to_vec());
    // Appending a workload leaves the first one's pods exactly as they were.
    let q = poisson("q", 5.0, Lifetime::Exponential { mean: MINUTE }, 0, HOUR);
    let d = Workloads::generate(&[p, q], HOUR, &Streams::new(1)).unwrap();
    let first: Vec<PodEvent> = d
        .events
        .clone()
        .filter(|e| d.workload_of(e.pod) == 0)
        .collect();
    assert_eq!(first, a.events.to_vec());
    // ... and the second is not a copy of the first.
    let second: Vec<Millis> = d
        .events
        .clone()
        .filter(|e| d.workload_of(e.pod) == 1)
        .map(|e| e.time)
        .collect();
    let first: Vec<Millis> = a.events.clone().map(|e| e.time).collect();
    assert_ne!(first, second);
}

/// Events, pod names (by pod id) and pins of a replay.
type Replay = (Vec<PodEvent>, Vec<String>, Vec<(u32, String, u64)>);

/// Replays `text` as a trace.
fn replay_text(text: &str, duration: Millis) -> Result<Replay, ScenarioError> {
    let (mut events, mut names, mut ends) = (Vec::new(), String::new(), Vec::new());
    let sink = trace::Sink {
        events: &mut events,
        first_pod: 0,
        names: &mut names,
        name_ends: &mut ends,
        duration,
        initial: &[],
    };
    let r = trace::replay_from(text.as_bytes(), Path::new("t.csv"), sink)?;
    let mut out = Vec::new();
    let mut start = 0;
    for e in ends {
        out.push(names[start..e].to_string());
        start = e;
    }
    assert_eq!(out.len(), r.pods as usize);
    Ok((events, out, r.pins))
}

#[test]
fn trace_replays_adds_deletes_and_nodes() {
    let text = "time_s,pod,event,node\n\
                0,a,add,general-0\n\
                # a comment\n\
                \n\
                0.5,b,add,\n\
                1.25, a ,delete,\n\
                2,a,add,general-1\n\
                3,b,delete\n\
                99,c,add,general-0\n\
                100,c,delete\n";
    let (events, names, pins) = replay_text(text, 50 * SECOND).unwrap();
    assert_eq!(
        events,
        vec![
            ev(0, 0, Add),
            ev(500, 1, Add),
            ev(1250, 0, Delete),
            ev(2000, 2, Add),
            ev(3000, 1, Delete)
        ]
    );
    // A re-added name is a new pod; rows after the run's end make no pods.
    assert_eq!(names, ["a", "b", "a"]);
    assert_eq!(
        pins,
        [
            (0, "general-0".to_string(), 2),
            (2, "general-1".to_string(), 7)
        ]
    );
}

#[test]
fn trace_errors_name_the_line() {
    for (text, line, want) in [
        ("", None, "empty"),
        ("time,pod,event\n", Some(1), "header"),
        (
            "time_s,pod,event\n1,a,add\n0.5,b,add\n",
            Some(3),
            "time order",
        ),
        ("time_s,pod,event\n1,a,delete\n", Some(2), "not running"),
        (
            "time_s,pod,event\n1,a,add\n2,a,delete\n3,a,delete\n",
            Some(4),
            "not running",
        ),
        (
            "time_s,pod,event\n1,a,add\n2,a,add\n",
            Some(3),
            "added again while running (added at line 2)",
        ),
        ("time_s,pod,event\nsoon,a,add\n", Some(2), "not a number"),
        ("time_s,pod,event\n-1,a,add\n", Some(2), "not a number"),
        ("time_s,pod,event\nNaN,a,add\n", Some(2), "not a number"),
        (
            "time_s,pod,event\n1,a,create\n",
            Some(2),
            "unknown event \"create\"",
        ),
        ("time_s,pod,event\n1,a\n", Some(2), "2 column(s)"),
        ("time_s,pod,event\n1,a,add,n-0\n", Some(2), "header has 3"),
        ("time_s,pod,event\n1,,add\n", Some(2), "pod name is empty"),
    ] {
        let e = replay_text(text, HOUR).unwrap_err();
        let ScenarioError::Trace {
            line: l, message, ..
        } = &e
        else {
            panic!("{e}")
        };
        assert_eq!(*l, line, "{text:?}: {e}");
        assert!(message.contains(want), "{text:?}: {e}");
        let shown = e.to_string();
        let prefix = match line {
            Some(l) => format!("t.csv:{l}: "),
            None => "t.csv: ".into(),
        };
        assert!(shown.starts_with(&prefix), "{shown}");
    }
}

fn scenario_with_trace(dir: &Path, csv: &str) -> Scenario {
    std::fs::write(dir.join("pods.csv"), csv).unwrap();
    let text = "duration = \"1h\"\n[subnet]\ncidr = \"10.0.0.0/24\"\n\
                [[nodegroup]]\nname = \"general\"\ninstance_type = \"m5.large\"\ncount = 2\n\
                [[nodegroup]]\nname = \"big\"\ninstance_type = \"m5.xlarge\"\ncount = 1\n\
                [[workload]]\nkind = \"deployment\"\nname = \"web\"\nsteps = [ { at = 0, replicas = 2 } ]\n\
                [[workload]]\nkind = \"trace\"\nname = \"replay\"\npath = \"pods.csv\"\n";
    Scenario::from_toml(text, "s.toml", dir, &[]).unwrap()
}

#[test]
fn trace_nodes_resolve_against_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario_with_trace(
        dir.path(),
        "time_s,pod,event,node\n1,x,add,big-0\n2,y,add\n3,z,add,general-1\n",
    );
    let w = Workloads::for_scenario(&s, &Streams::new(s.seed)).unwrap();
    assert_eq!(w.pods(), 5);
    assert_eq!(
        (w.pod_name(1), w.pod_name(2), w.pod_name(4)),
        ("web-1".into(), "x".into(), "z".into())
    );
    assert_eq!(
        (w.pinned_node(2), w.pinned_node(3), w.pinned_node(4)),
        (Some(2), None, Some(1))
    );
    assert_eq!(w.pinned_node_name(2), Some("big-0"));
    assert_eq!(w.pinned_node(0), None);

    let s = scenario_with_trace(
        dir.path(),
        "time_s,pod,event,node\n1,x,add,big-0\n2,y,add,big-1\n",
    );
    let e = Workloads::for_scenario(&s, &Streams::new(0))
        .unwrap_err()
        .to_string();
    let want = format!(
        "{}:3: node \"big-1\" is not a node of this scenario",
        dir.path().join("pods.csv").display()
    );
    assert!(e.starts_with(&want), "{e}");
    // And a missing file (deleted after loading) is a trace error, not a panic.
    std::fs::remove_file(dir.path().join("pods.csv")).unwrap();
    let e = Workloads::for_scenario(&s, &Streams::new(0)).unwrap_err();
    assert!(matches!(e, ScenarioError::Trace { line: None, .. }), "{e}");
}

/// Checks the invariants every event list keeps.
fn check_invariants(w: &Workloads, duration: Millis) {
    let events = w.events.to_vec();
    assert_eq!(events.len(), w.events.len());
    assert!(events.windows(2).all(|p| p[0].time <= p[1].time), "sorted");
    let mut state = vec![0u8; w.pods() as usize]; // 0 never added, 1 live, 2 deleted
    for e in &events {
        assert!(e.time < duration);
        let s = &mut state[e.pod as usize];
        match e.kind {
            Add => {
                assert_eq!(*s, 0, "pod {} added twice", e.pod);
                *s = 1;
            }
            Delete => {
                assert_eq!(*s, 1, "pod {} deleted before its add, or twice", e.pod);
                *s = 2;
            }
        }
    }
}

proptest! {
    #[test]
    fn deployment_live_count_follows_the_steps(
        gaps in prop::collection::vec((1u64..1000, 0u32..50), 1..12),
        duration in 1u64..8000,
    ) {
        let mut t = 0;
        let steps: Vec<(Millis, u32)> = gaps.iter().map(|&(g, r)| { t += g; (t - 1, r) }).collect();
        let w = Workloads::generate(&[deployment("d", &steps)], duration, &Streams::new(0)).unwrap();
        check_invariants(&w, duration);
        // After all events at each step's time, the live count is that step's replicas.
        let mut live: i64 = 0;
        let mut i = 0;
        let events = w.events.to_vec();
        for &(at, replicas) in steps.iter().filter(|(at, _)| *at < duration) {
            while i < events.len() && events[i].time <= at {
                live += if events[i].kind == Add { 1 } else { -1 };
                i += 1;
            }
            prop_assert_eq!(live, i64::from(replicas));
        }
        prop_assert_eq!(i, events.len());
    }

    #[test]
    fn poisson_events_keep_their_invariants(
        rate in 0.1f64..200.0,
        mean in 1u64..100_000,
        fixed in any::<bool>(),
        start in 0u64..50_000,
        len in 1u64..200_000,
        duration in 1u64..300_000,
        seed in any::<u64>(),
    ) {
        let lifetime = if fixed { Lifetime::Fixed(mean) } else { Lifetime::Exponential { mean } };
        let specs = [poisson("p", rate, lifetime, start, start + len), deployment("d", &[(0, 2), (start, 1)])];
        let w = Workloads::generate(&specs, duration, &Streams::new(seed)).unwrap();
        check_invariants(&w, duration);
        for e in w.events.to_vec() {
            if e.kind == Add && w.workload_of(e.pod) == 0 {
                prop_assert!(e.time >= start && e.time < start + len);
            }
        }
        let again = Workloads::generate(&specs, duration, &Streams::new(seed)).unwrap();
        prop_assert_eq!(w.events.to_vec(), again.events.to_vec());
    }

    #[test]
    fn valid_traces_replay_exactly(ops in prop::collection::vec((0u64..3000, 0usize..6), 0..60)) {
        // Build a valid trace from random (gap ms, pod) choices: a pod that is not running is
        // added, a running one deleted.
        let mut live = [false; 6];
        let mut t = 0;
        let mut text = String::from("time_s,pod,event\n");
        let mut want = Vec::new(); // (time, name, add)
        for (gap, p) in ops {
            t += gap;
            let add = !live[p];
            live[p] = add;
            text.push_str(&format!("{},p{p},{}\n", crate::time::seconds(t), if add { "add" } else { "delete" }));
            want.push((t, format!("p{p}"), add));
        }
        let (events, names, _) = replay_text(&text, Millis::MAX).unwrap();
        prop_assert_eq!(events.len(), want.len());
        for (e, (time, name, add)) in events.iter().zip(&want) {
            prop_assert_eq!(e.time, *time);
            prop_assert_eq!(&names[e.pod as usize], name);
            prop_assert_eq!(e.kind == Add, *add);
        }
    }
}

#[test]
fn events_stay_small() {
    // Two events per pod, a million pods in the scale scenario: keep them at 16 bytes.
    assert_eq!(std::mem::size_of::<PodEvent>(), 16);
}
