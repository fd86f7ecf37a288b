//! Subnet discovery across tagged subnets and the per-subnet results (issue 10, items 1–2):
//! `subnets.csv` adds up to `summary.csv`, and secondary ENIs land only where
//! `createENI` may put them.

mod common;

use std::path::Path;

use ipamsim::engine::run;
use ipamsim::report::{RunOutput, SubnetRow};
use ipamsim::scenario::Scenario;

fn shipped(name: &str, overrides: &[&str]) -> RunOutput {
    run(&common::shipped(name, overrides)).unwrap()
}

fn sum(rows: &[SubnetRow], f: impl Fn(&SubnetRow) -> u64) -> u64 {
    rows.iter().map(f).sum()
}

/// Every subnets.csv column that has a total in summary.csv adds up to it; the earliest
/// per-subnet `InsufficientCidrBlocks` is no later than the run's first.
#[test]
fn subnet_rows_add_up_to_the_summary() {
    for (name, overrides) in [
        ("default", &[][..]),
        ("custom-networking", &[]),
        ("secondary-subnet", &[]),
        ("secondary-subnet", &["ENABLE_SUBNET_DISCOVERY=false"]),
        ("warm-ip", &[]),
        ("karpenter", &[]),
    ] {
        let out = shipped(name, overrides);
        let (s, rows) = (&out.summary, &out.subnets);
        let at = format!("{name} {overrides:?}");
        assert_eq!(sum(rows, |r| r.usable), s.subnet_usable, "{at}");
        assert_eq!(sum(rows, |r| r.used_final), s.subnet_used_final, "{at}");
        assert_eq!(
            sum(rows, |r| r.free_prefix_blocks_final),
            s.free_prefix_blocks_final,
            "{at}"
        );
        assert_eq!(
            sum(rows, |r| r.insufficient_cidr_blocks),
            s.insufficient_cidr_blocks,
            "{at}"
        );
        assert_eq!(
            sum(rows, |r| r.insufficient_free_addresses),
            s.insufficient_free_addresses,
            "{at}"
        );
        assert_eq!(sum(rows, |r| r.enis_final), s.enis_final, "{at}");
        assert!(sum(rows, |r| r.used_peak) >= s.subnet_used_peak, "{at}");
        assert!(sum(rows, |r| r.free_min) <= s.subnet_free_min, "{at}");
        // The time series: one row per subnet and sample, summing to timeseries.csv.
        assert_eq!(
            out.subnet_timeseries.len(),
            out.timeseries.len() * rows.len(),
            "{at}"
        );
        for (i, t) in out.timeseries.iter().enumerate() {
            let per = &out.subnet_timeseries[i * rows.len()..(i + 1) * rows.len()];
            assert!(per.iter().all(|p| p.time_s == t.time_s), "{at}");
            let used: u64 = per.iter().map(|p| u64::from(p.used)).sum();
            let free: u64 = per.iter().map(|p| u64::from(p.free)).sum();
            assert_eq!((used, free), (t.subnet_used, t.subnet_free), "{at}");
        }
    }
}

fn row<'a>(out: &'a RunOutput, name: &str) -> &'a SubnetRow {
    out.subnets.iter().find(|r| r.name == name).unwrap()
}

/// The worked scenario: secondary ENIs go to the tagged CGNAT subnet of the nodes' zone,
/// never to the untagged one beside it or to the tagged one of another zone; with
/// discovery off they never leave the node subnet, which then runs out.
#[test]
fn secondary_enis_go_only_to_tagged_subnets_of_the_zone() {
    let on = shipped("secondary-subnet", &[]);
    assert!(row(&on, "pods-cgnat").enis_final > 0);
    assert_eq!(row(&on, "primary").enis_final, 20, "the primary ENIs only");
    for idle in ["shared", "other-az"] {
        assert_eq!(row(&on, idle).enis_final, 0, "{idle}");
        assert_eq!(row(&on, idle).used_peak, 0, "{idle}");
    }
    assert_eq!(on.summary.insufficient_free_addresses, 0);

    let off = shipped("secondary-subnet", &["ENABLE_SUBNET_DISCOVERY=false"]);
    for idle in ["pods-cgnat", "shared", "other-az"] {
        assert_eq!(row(&off, idle).used_peak, 0, "{idle}");
    }
    assert!(row(&off, "primary").insufficient_free_addresses > 0);
    assert!(off.summary.ip_wait_p99_s > on.summary.ip_wait_p99_s);
}

/// A node subnet tagged `kubernetes.io/role/cni = "0"` with discovery on would exclude the
/// nodes' ENIs from pod addresses, which is not modelled: refused with the line.
#[test]
fn an_excluded_node_subnet_under_discovery_is_refused_with_its_line() {
    let text = r#"
duration = "1h"
[[subnets]]
name = "a"
cidr = "10.0.0.0/24"
tags = { "kubernetes.io/role/cni" = "0" }
[[nodegroup]]
instance_type = "m5.large"
count = 1
subnet = "a"
[[workload]]
kind = "deployment"
steps = [ { at = "0s", replicas = 1 } ]
"#;
    let e = Scenario::from_toml(text, "x.toml", Path::new("."), &[])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("x.toml:10:"), "{e}");
    assert!(e.contains("ENABLE_SUBNET_DISCOVERY"), "{e}");
    let ok = Scenario::from_toml(
        text,
        "x.toml",
        Path::new("."),
        &["ENABLE_SUBNET_DISCOVERY=false".into()],
    );
    assert!(ok.is_ok());
    let e = Scenario::from_toml(
        &text.replace("name = \"a\"\n", "name = \"a\"\navailability_zone = \"\"\n"),
        "x.toml",
        Path::new("."),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("availability_zone is empty"), "{e}");
}
