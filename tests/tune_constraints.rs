//! Property: on any small scenario, the setting `tune` returns meets every constraint in
//! every seed — checked by running the winner again from its `tune.json` variables, apart
//! from the search, and judging those runs against the fastest setting tune saw — and it is
//! never one the aws-node entrypoint refuses.

use ipamsim::criteria::Criteria;
use ipamsim::engine;
use ipamsim::scenario::ScenarioText;
use ipamsim::tune::{self, Objective, space::Space};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Small {
    nodes: u32,
    prefix_len: u8,
    replicas: u32,
    at_min: u32,
    rate: u32,
    seed: u64,
    objective: Objective,
}

fn text(s: &Small) -> ScenarioText {
    let mut t = format!(
        "name = \"small\"\nseed = {}\nduration = \"15m\"\n[subnet]\ncidr = \"10.1.0.0/{}\"\n\
         [[nodegroup]]\nname = \"w\"\ninstance_type = \"m5.large\"\ncount = {}\n\
         [[workload]]\nkind = \"deployment\"\nname = \"app\"\n\
         steps = [ {{ at = \"{}m\", replicas = {} }} ]\n",
        s.seed, s.prefix_len, s.nodes, s.at_min, s.replicas
    );
    if s.rate > 0 {
        t.push_str(&format!(
            "[[workload]]\nkind = \"poisson\"\nname = \"jobs\"\nrate_per_min = {}\n\
             lifetime = {{ mean = \"2m\" }}\n",
            s.rate
        ));
    }
    ScenarioText {
        text: t,
        source: "small.toml".into(),
        base_dir: ".".into(),
    }
}

fn small() -> impl Strategy<Value = Small> {
    (
        1u32..=3,
        24u8..=26,
        0u32..=40,
        0u32..=8,
        0u32..=4,
        any::<u64>(),
        prop_oneof![
            Just(Objective::PeakIps),
            Just(Objective::SubnetUsedPeak),
            Just(Objective::Ec2Calls)
        ],
    )
        .prop_map(
            |(nodes, prefix_len, replicas, at_min, rate, seed, objective)| Small {
                nodes,
                prefix_len,
                replicas,
                at_min,
                rate,
                seed: seed % 1000,
                objective,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_winner_meets_every_constraint_in_every_seed(s in small()) {
        let text = text(&s);
        let constraints = Criteria::tune_defaults();
        let req = tune::Request {
            // Narrower than the default, for speed; still every regime.
            space: Space::parse("WARM_IP_TARGET=unset,1-8;MINIMUM_IP_TARGET=unset,1-24").unwrap(),
            objective: s.objective,
            constraints: constraints.clone(),
            sets: vec![],
            seeds: 2,
            threads: 2,
            progress: false,
        };
        let t = tune::tune(&text, &req).unwrap();
        let Some(w) = t.winner else {
            // Nothing feasible: then no evaluated setting may be.
            prop_assert!((0..t.evaluated.len()).all(|i| !t.feasible(i)));
            return Ok(());
        };
        let setting = t.evaluated[w].setting;
        prop_assert!(!(setting.prefix_delegation && !setting.targets() && setting.warm_prefix == 0));
        // The JSON's variables reproduce the winner's runs.
        let json: serde_json::Value =
            serde_json::from_str(&tune::page::tune_json(&t)).unwrap();
        let sets: Vec<String> = json["winner"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let scenario = text.build(&sets).unwrap();
        let fixed = Criteria(
            constraints
                .0
                .iter()
                .filter(|c| matches!(c.bound, ipamsim::criteria::Bound::Value(_)))
                .cloned()
                .collect(),
        );
        for (k, &seed) in t.seeds.iter().enumerate() {
            let mut sc = scenario.clone();
            sc.seed = seed;
            let run = engine::run(&sc).unwrap().summary;
            prop_assert_eq!(&run, &t.evaluated[w].runs[k]);
            prop_assert_eq!(run.ec2_throttled, 0);
            prop_assert_eq!(run.insufficient_cidr_blocks, 0);
            prop_assert_eq!(run.insufficient_free_addresses, 0);
            // The fastest choosable setting in this seed, recomputed here.
            let seed_runs: Vec<_> = t.evaluated.iter().filter_map(|e| e.runs.get(k)).collect();
            let ok = seed_runs
                .iter()
                .filter(|r| fixed.first_unmet(r, |_| 0.0).is_none())
                .map(|r| r.ip_wait_p99_s)
                .fold(f64::INFINITY, f64::min);
            let fastest = if ok.is_finite() {
                ok
            } else {
                seed_runs.iter().map(|r| r.ip_wait_p99_s).fold(f64::INFINITY, f64::min)
            };
            prop_assert!(run.ip_wait_p99_s <= fastest + 2.0 + 1e-9,
                "seed {seed}: p99 {} vs fastest {fastest}", run.ip_wait_p99_s);
        }
    }
}
