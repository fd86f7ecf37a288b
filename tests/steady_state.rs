//! spec/ipamd-policy.md §4.5 end to end: a single-node scenario, pods arriving on a fresh
//! node, run through the whole simulator (scenario → engine → EC2 → subnet), settles where
//! the section's closed forms say, in both modes, for any settings below the caps.

use std::path::Path;

use ipamsim::catalog::{Hypervisor, lookup};
use ipamsim::engine;
use ipamsim::scenario::Scenario;
use proptest::prelude::*;

#[derive(Clone, Copy, Debug)]
struct Settings {
    prefix: bool,
    warm_eni: u32,
    warm_ip: u32,
    min_ip: u32,
    warm_prefix: u32,
    custom: bool,
}

/// §4.5, restated: (ENIs, secondary IPs or prefixes), or None where the forms do not apply
/// (a cap binds, or a documented flapping case).
fn closed_form(instance: &str, s: Settings, p: u32, max_pods: u32) -> Option<(u32, u32)> {
    let t = lookup(instance).unwrap();
    let m = t.ipv4_per_eni - 1;
    let pd = s.prefix && (t.hypervisor == Hypervisor::Nitro || t.bare_metal);
    let extra = u32::from(s.custom);
    let (enis, res, ips) = if s.warm_ip > 0 || s.min_ip > 0 {
        if s.warm_ip == 0 && p > s.min_ip {
            return None; // MINIMUM_IP_TARGET alone: pods beyond it starve (README upstream)
        }
        let ips = (p + s.warm_ip).max(s.min_ip);
        let res = if pd { ips.div_ceil(16) } else { ips };
        (
            extra + res.div_ceil(m).max(1),
            res,
            if pd { 16 * res } else { res },
        )
    } else if pd {
        let w = s.warm_prefix;
        if w == 0 && p.is_multiple_of(16) {
            return None; // flaps: grow one prefix, release it, grow…
        }
        let res = if w == 0 {
            p / 16 + 1
        } else {
            p.div_ceil(16) + w
        };
        (extra + res.div_ceil(m), res, 16 * res)
    } else {
        let w = s.warm_eni;
        if w == 0 && p.is_multiple_of(m) {
            return None; // flaps like the prefix case
        }
        let enis = if w == 0 { p / m + 1 } else { p.div_ceil(m) + w };
        (enis + extra, enis * m, enis * m)
    };
    (enis <= t.max_enis && ips <= max_pods && p + 2 <= max_pods).then_some((enis, res))
}

fn run(instance: &str, s: Settings, p: u32) -> ipamsim::report::NodeRow {
    let subnets = if s.custom {
        "[[subnets]]\nname = \"nodes\"\ncidr = \"10.0.0.0/24\"\n[[subnets]]\nname = \"pods\"\ncidr = \"10.1.0.0/20\"\n"
    } else {
        "[subnet]\ncidr = \"10.0.0.0/20\"\n"
    };
    let pod_subnet = if s.custom {
        "subnet = \"nodes\"\npod_subnet = \"pods\"\n"
    } else {
        ""
    };
    let text = format!(
        r#"
name = "steady"
seed = 1
duration = "25m"
{subnets}
[cni]
ENABLE_PREFIX_DELEGATION = {}
WARM_ENI_TARGET = {}
WARM_IP_TARGET = {}
MINIMUM_IP_TARGET = {}
WARM_PREFIX_TARGET = {}
AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = {}
[model]
ip_pick = "first-fit"
[[nodegroup]]
name = "ng"
instance_type = "{instance}"
count = 1
{pod_subnet}
[[workload]]
kind = "deployment"
name = "app"
steps = [ {{ at = "30s", replicas = {p} }} ]
"#,
        s.prefix, s.warm_eni, s.warm_ip, s.min_ip, s.warm_prefix, s.custom
    );
    let scenario = Scenario::from_toml(&text, "steady.toml", Path::new("."), &[]).expect("valid");
    engine::run(&scenario).expect("runs").nodes.remove(0)
}

#[test]
fn worked_figures() {
    let sip = Settings {
        prefix: false,
        warm_eni: 1,
        warm_ip: 0,
        min_ip: 0,
        warm_prefix: 1,
        custom: false,
    };
    // m5.large (M = 9), WARM_ENI_TARGET=1, 10 pods: ceil(10/9) + 1 = 3 ENIs, all full.
    let n = run("m5.large", sip, 10);
    assert_eq!((n.enis, n.secondary_ips), (3, 27));
    let pd = Settings {
        prefix: true,
        ..sip
    };
    let n = run("m5.large", pd, 17);
    assert_eq!((n.enis, n.prefixes, n.total_ips), (1, 3, 48));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn single_nodes_settle_where_section_4_5_says(
        instance in prop::sample::select(vec!["t3.medium", "t3.large", "m5.large", "m5.xlarge", "c5.4xlarge", "m5.8xlarge"]),
        prefix in any::<bool>(),
        warm_eni in 0u32..3,
        warm_ip in prop_oneof![3 => Just(0u32), 1 => 1u32..20],
        min_ip in prop_oneof![3 => Just(0u32), 1 => 1u32..60],
        warm_prefix in 0u32..3,
        custom in prop::bool::weighted(0.2),
        p in 0u32..120,
    ) {
        // The aws-node entrypoint refuses prefix delegation without any target (spec §2).
        prop_assume!(!(prefix && warm_ip == 0 && min_ip == 0 && warm_prefix == 0));
        let s = Settings { prefix, warm_eni, warm_ip, min_ip, warm_prefix, custom };
        let n = run(instance, s, p);
        if let Some((enis, res)) = closed_form(instance, s, p, n.max_pods) {
            prop_assert_eq!((n.enis, n.secondary_ips + n.prefixes), (enis, res), "{} {:?} p={} {:?}", instance, s, p, n);
        }
    }
}
