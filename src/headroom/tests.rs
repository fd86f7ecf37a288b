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

#[test]
fn the_probe_chart_spans_the_probed_values_and_marks_answer_and_failure() {
    let mut h = result(640, Some(1310), Some(1320));
    h.probes = [640, 1280, 2560, 1920, 1600, 1440, 1360, 1320, 1300, 1310]
        .iter()
        .map(|&v| {
            let fail = v >= 1320;
            let mut p = probe(v, &[None, if fail { Some("x") } else { None }]);
            for s in &mut p.runs {
                s.subnet_used_peak = v / 10;
            }
            p
        })
        .collect();
    let svg = page::probe_plot(&h, "subnet_used_peak", "used", Some((300.0, "usable")));
    assert_eq!(
        svg,
        page::probe_plot(&h, "subnet_used_peak", "used", Some((300.0, "usable")))
    );
    let texts = crate::report::plot::tests::check_svg(&svg);
    // The x axis starts near the smallest probe (500), not at 0 (the one "0" is the y
    // axis's, which runs 0–400) …
    let ticks: Vec<&str> = texts.iter().map(String::as_str).collect();
    assert!(
        ticks.contains(&"500") && ticks.contains(&"3,000"),
        "{ticks:?}"
    );
    assert_eq!(ticks.iter().filter(|t| **t == "0").count(), 1, "{ticks:?}");
    assert!(ticks.contains(&"400"), "{ticks:?}");
    for want in [
        "answer 1,310",
        "fails 1,320",
        "usable",
        "workload.api.replicas",
        "subnet_used_peak",
    ] {
        assert!(ticks.contains(&want), "{want:?} not in {ticks:?}");
    }
    // … and "fails" is left out when it is the answer + 1 (the answer's line says it).
    h.first_failing = Some(1311);
    let svg = page::probe_plot(&h, "subnet_used_peak", "used", None);
    assert!(!svg.contains("fails 1,311"));
    // 10 probes × 2 seeds: seed 1 passes everywhere, seed 2 from 1,320 up fails: 14
    // green dots, 6 red rings (each over a white dot, with a cross).
    let circles = |colour: &str| {
        svg.lines()
            .filter(|l| l.starts_with("<circle") && l.contains(colour))
            .count()
    };
    assert_eq!(circles("fill=\"#2F855A\""), 14, "{svg}");
    assert_eq!(circles("stroke=\"#C53030\""), 6, "{svg}");
}
