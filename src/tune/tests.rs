use super::*;

fn eval(setting: Setting, runs: &[(u64, f64, u64)]) -> Evaluated {
    Evaluated {
        setting,
        point: [0; 5],
        round: 0,
        runs: runs
            .iter()
            .enumerate()
            .map(|(k, &(ips, p99, throttled))| Summary {
                seed: k as u64,
                total_ips_peak: ips,
                ip_wait_p99_s: p99,
                ec2_throttled: throttled,
                ec2_calls: 100,
                ..Summary::default()
            })
            .collect(),
    }
}

fn sip(warm_ip: u32) -> Setting {
    Setting {
        prefix_delegation: false,
        warm_eni: 1,
        warm_ip,
        min_ip: 0,
        warm_prefix: 1,
    }
}

#[test]
fn the_winner_is_the_leanest_setting_that_meets_every_constraint_in_every_seed() {
    let evaluated = vec![
        eval(sip(8), &[(300, 0.5, 0), (310, 0.4, 0)]),
        // Leaner, but 3 s slower than the fastest in seed 1.
        eval(sip(1), &[(100, 1.0, 0), (110, 3.5, 0)]),
        // Lean and fast, throttled in one seed.
        eval(sip(2), &[(150, 0.6, 0), (150, 0.6, 1)]),
        // Lean enough and within 2 s in both seeds.
        eval(sip(4), &[(200, 2.5, 0), (200, 2.4, 0)]),
        eval(sip(5), &[(200, 2.5, 0), (200, 2.4, 0)]),
    ];
    let c = Criteria::tune_defaults();
    let unmet = judge(&evaluated, &c);
    assert_eq!(unmet[1][1].as_deref(), Some("ip_wait_p99_s<=fastest+2"));
    assert_eq!(unmet[1][0], None);
    assert_eq!(unmet[2][1].as_deref(), Some("ec2_throttled=0"));
    let ranked = ranking(&evaluated, &unmet, Objective::PeakIps);
    // sip(4) and sip(5) tie on everything: the simpler (smaller) one first.
    assert_eq!(ranked, [3, 4, 0]);
}

#[test]
fn objectives_are_named_as_on_the_command_line() {
    use clap::ValueEnum;
    for o in Objective::value_variants() {
        let v = o.to_possible_value().unwrap();
        assert_eq!(v.get_name(), o.name());
        assert_eq!(Objective::from_str(o.name(), false), Ok(*o));
    }
    assert_eq!(
        Objective::value_variants()
            .iter()
            .map(|o| o.name())
            .collect::<Vec<_>>(),
        ["peak_ips", "subnet_used_peak", "ec2_calls"]
    );
}

#[test]
fn the_pareto_chart_sizes_dots_and_pins_starving_settings_under_a_triangle() {
    let mut evaluated = vec![
        eval(sip(8), &[(300, 0.5, 0)]),
        eval(sip(1), &[(100, 900.0, 0)]),
        eval(sip(2), &[(150, 0.6, 0)]),
    ];
    evaluated[0].runs[0].ec2_calls = 400;
    let t = Tune {
        name: "t".into(),
        objective: Objective::PeakIps,
        constraints: Criteria::tune_defaults(),
        seeds: vec![1],
        unmet: vec![
            vec![None],
            vec![Some("ip_wait_p99_s<=fastest+2".into())],
            vec![None],
        ],
        evaluated,
        winner: Some(2),
        runner_up: Some(0),
        rounds: 0,
        winner_run: None,
        warnings: vec![],
    };
    let front = page::pareto(&t);
    let svg = page::pareto_svg(&t, &front);
    assert_eq!(svg, page::pareto_svg(&t, &front), "same data, same bytes");
    let texts = crate::report::plot::tests::check_svg(&svg);
    assert!(texts.iter().any(|t| t.starts_with("winner: ")), "{texts:?}");
    // The 900 s wait is off the scale (3 × the front's 1 s floor): one triangle.
    assert_eq!(svg.matches("<polygon").count(), 1, "{svg}");
    // Dot radius grows with EC2 calls: 10 px for the busiest, 6 px for 100 of 400.
    assert!(
        svg.contains(" r=\"10\"") && svg.contains(" r=\"7\""),
        "{svg}"
    );
}
