use super::*;

fn probe(value: u64, unmet: &[Option<&str>]) -> Probe {
    Probe {
        value,
        runs: unmet
            .iter()
            .enumerate()
            .map(|(i, _)| Summary {
                seed: i as u64 + 1,
                ..Summary::default()
            })
            .collect(),
        unmet: unmet.iter().map(|u| u.map(str::to_string)).collect(),
    }
}

fn result(start: u64, answer: Option<u64>, first_failing: Option<u64>) -> Headroom {
    Headroom {
        name: "t".into(),
        key: "workload.api.replicas".into(),
        start,
        answer,
        first_failing,
        failing_seed: first_failing.map(|_| 2),
        failing_criterion: first_failing.map(|_| "insufficient_cidr_blocks=0".into()),
        failure: first_failing.map(|_| "the first `InsufficientCidrBlocks` comes at 3h 12m".into()),
        passed_above_failure: None,
        stopped: None,
        probes: vec![probe(start, &[None, None])],
        seeds: vec![1, 2],
        until: Criteria::headroom_defaults(),
        failing_run: None,
        warnings: vec![],
    }
}

#[test]
fn the_sentence_reads_like_the_issue() {
    assert_eq!(
        result(640, Some(1310), Some(1320)).sentence(),
        "`workload.api.replicas` can grow from 640 to 1,310 (2.05×); at 1,320 the first \
         `InsufficientCidrBlocks` comes at 3h 12m in seed 2"
    );
    let mut h = result(640, Some(1310), Some(1311));
    h.passed_above_failure = Some(1312);
    assert!(
        h.sentence()
            .contains("Not monotone: 1,312 passed although 1,311 failed")
    );
    assert!(
        result(640, Some(300), Some(301))
            .sentence()
            .contains("fails already at its own value, 640")
    );
    let mut none = result(640, Some(655_360_000), None);
    none.stopped = Some("no failure after 10 doublings".into());
    assert!(none.sentence().contains("at least 655,360,000"));
}

#[test]
fn a_probe_passes_only_when_every_seed_does() {
    assert!(probe(5, &[None, None]).passed());
    assert!(!probe(5, &[None, Some("pods_unschedulable=0")]).passed());
}
