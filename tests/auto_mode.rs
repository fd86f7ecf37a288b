//! EKS Auto Mode networking (issue 10, item 4): on a subnet whose whole /28 blocks run out,
//! Auto Mode falls back to secondary IPs and no pod waits for lack of a /28 while single
//! addresses are free; the VPC CNI in prefix mode on the same subnet does make pods wait.

use std::path::Path;

use ipamsim::engine::{RunOptions, run_with};
use ipamsim::report::{RunOutput, WaitReason};
use ipamsim::scenario::Scenario;

fn run(overrides: &[&str]) -> RunOutput {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/auto-mode.toml");
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    let s = Scenario::load(&path, &overrides).unwrap_or_else(|e| panic!("{e}"));
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    run_with(&s, options).unwrap()
}

fn waited_for_a_prefix(out: &RunOutput) -> usize {
    out.pod_waits
        .iter()
        .filter(|w| w.reason == WaitReason::InsufficientCidrCooldown)
        .count()
}

#[test]
fn auto_mode_falls_back_to_single_addresses_and_the_vpc_cni_does_not() {
    for seed in ["seed=11", "seed=1", "seed=2", "seed=3"] {
        let auto = run(&[seed]);
        let s = &auto.summary;
        // EC2 did run out of /28 blocks, and single addresses were left all along.
        assert!(s.insufficient_cidr_blocks > 0, "{seed}");
        assert!(s.subnet_free_min > 100, "{seed}");
        assert_eq!(waited_for_a_prefix(&auto), 0, "{seed}");
        assert_eq!(s.insufficient_free_addresses, 0, "{seed}");
        assert!(
            auto.pod_waits.iter().all(|w| w.ip_s.is_some()),
            "{seed}: every waiting pod got an address"
        );
        // The fallback addresses are there, beside the prefixes.
        assert!(auto.nodes.iter().any(|n| n.secondary_ips > 0), "{seed}");
        assert!(auto.nodes.iter().any(|n| n.prefixes > 0), "{seed}");

        let cni = run(&[
            seed,
            "model.networking=vpc-cni",
            "ENABLE_PREFIX_DELEGATION=true",
        ]);
        assert!(cni.summary.subnet_free_min > 100, "{seed}");
        assert!(waited_for_a_prefix(&cni) > 0, "{seed}");
        assert!(cni.nodes.iter().all(|n| n.secondary_ips == 0), "{seed}");
    }
}

/// `[model] networking` is validated like every key; Auto Mode ignores `[cni]` with a
/// warning rather than silently.
#[test]
fn networking_is_checked_and_cni_settings_are_named_as_ignored() {
    let text =
        "duration = \"1h\"\n[subnet]\ncidr = \"10.0.0.0/24\"\n[model]\nnetworking = \"auto\"\n";
    let e = Scenario::from_toml(text, "x.toml", Path::new("."), &[])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("x.toml:5:"), "{e}");
    assert!(e.contains("auto-mode"), "{e}");
    let text = "duration = \"1h\"\n[subnet]\ncidr = \"10.0.0.0/24\"\n[cni]\nWARM_IP_TARGET = 3\n";
    let s = Scenario::from_toml(
        text,
        "x.toml",
        Path::new("."),
        &["model.networking=auto-mode".into()],
    )
    .unwrap();
    assert!(s.cni.enable_prefix_delegation && !s.cni.enable_subnet_discovery);
    assert_eq!((s.cni.warm_ip_target, s.cni.warm_prefix_target), (0, 1));
    assert!(
        s.warnings.iter().any(|w| w.contains("WARM_IP_TARGET")),
        "{:?}",
        s.warnings
    );
    let e = Scenario::from_toml(
        text,
        "x.toml",
        Path::new("."),
        &["model.networking=eks".into()],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("model.networking=eks"), "{e}");
}
