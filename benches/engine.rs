//! The event loop: whole runs, measured in simulated events per second (criterion's
//! throughput), so a regression in dispatch, the queue, ipamd's ticks or sampling shows up
//! as a drop.
//!
//! - `sip-100-nodes-2h`, `pd-100-nodes-2h`: small clusters, one /16;
//! - `scale-{1k,5k,20k}-30m`: `scenarios/scale-5k.toml` resized to 1,000, 5,000 and 20,000
//!   nodes (one /16 per 2,500 nodes, zone a's mix of instance types in each, load in
//!   proportion; the same family as `benches/scaling.py`) for its first 30 minutes: the
//!   launch against EC2's default throttles, where the engine works hardest.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipamsim::engine;
use ipamsim::scenario::Scenario;

fn small(nodes: u32, hours: u32, rate_per_min: u32, prefix: bool) -> Scenario {
    let text = format!(
        r#"
name = "bench"
seed = 1
duration = "{hours}h"
sample_interval = "1m"

[subnet]
cidr = "10.0.0.0/16"
background = {{ addresses = 2000 }}

[cni]
ENABLE_PREFIX_DELEGATION = {prefix}

[[nodegroup]]
name = "ng"
instance_type = "m5.xlarge"
count = {nodes}

[[workload]]
kind = "deployment"
name = "web"
steps = [ {{ at = "0s", replicas = {base} }}, {{ at = "1h", replicas = {peak} }} ]

[[workload]]
kind = "poisson"
name = "batch"
rate_per_min = {rate_per_min}
lifetime = {{ mean = "10m" }}
"#,
        base = nodes * 10,
        peak = nodes * 20,
    );
    Scenario::from_toml(&text, "bench.toml", Path::new("."), &[]).expect("bench scenario is valid")
}

/// `scenarios/scale-5k.toml` at `nodes` nodes (a multiple of 1,000): one /16 per 2,500
/// nodes (at least one), the same mix of instance types, load in proportion.
fn scaled(nodes: u32, duration: &str) -> Scenario {
    let base = include_str!("../scenarios/scale-5k.toml");
    let k = f64::from(nodes) / 5000.0;
    let mut text = String::new();
    // The scenario's header and settings, up to the first subnet.
    let head = &base[..base.find("[[subnets]]").expect("scale-5k has subnets")];
    text.push_str(&head.replace("duration = \"24h\"", &format!("duration = \"{duration}\"")));
    let subnets = (nodes / 2500).max(1);
    for s in 0..subnets {
        text.push_str(&format!(
            "[[subnets]]\nname = \"s{s}\"\ncidr = \"10.{s}.0.0/16\"\nplacement = \"random\"\nbackground = {{ addresses = 2000 }}\n\n"
        ));
    }
    text.push_str("[cni]\nWARM_IP_TARGET = 3\nMINIMUM_IP_TARGET = 10\n\n");
    // Per 2,500 nodes: 1,000 m5.large, 800 m5.xlarge, 500 c5.2xlarge, 200 r5.xlarge.
    let mix = [
        ("m5.large", 0.4),
        ("m5.xlarge", 0.32),
        ("c5.2xlarge", 0.2),
        ("r5.xlarge", 0.08),
    ];
    for s in 0..subnets {
        let share = f64::from(nodes) / f64::from(subnets);
        for (t, f) in mix {
            text.push_str(&format!(
                "[[nodegroup]]\nname = \"s{s}-{}\"\ninstance_type = \"{t}\"\ncount = {}\nsubnet = \"s{s}\"\n\n",
                t.replace('.', "-"),
                (share * f).round() as u32
            ));
        }
    }
    let scale = |n: f64| (n * k).round() as u64;
    text.push_str(&format!(
        r#"[[workload]]
kind = "deployment"
name = "services"
steps = [ {{ at = "0s", replicas = {} }}, {{ at = "6h", replicas = {} }}, {{ at = "9h", replicas = {} }}, {{ at = "17h", replicas = {} }}, {{ at = "21h", replicas = {} }} ]

[[workload]]
kind = "deployment"
name = "workers"
steps = [ {{ at = "0s", replicas = {} }}, {{ at = "8h", replicas = {} }}, {{ at = "510m", replicas = {} }}, {{ at = "14h", replicas = {} }}, {{ at = "870m", replicas = {} }} ]

[[workload]]
kind = "poisson"
name = "jobs"
rate_per_min = {}
lifetime = {{ mean = "8m" }}

[[workload]]
kind = "poisson"
name = "cron"
rate_per_min = {}
lifetime = {{ fixed = "1h" }}
"#,
        scale(12000.0),
        scale(18000.0),
        scale(24000.0),
        scale(18000.0),
        scale(13000.0),
        scale(3000.0),
        scale(6000.0),
        scale(3000.0),
        scale(6000.0),
        scale(3000.0),
        scale(600.0),
        scale(100.0),
    ));
    Scenario::from_toml(&text, "scaled.toml", Path::new("."), &[])
        .expect("scaled scenario is valid")
}

fn bench_engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    for (name, s) in [
        ("sip-100-nodes-2h", small(100, 2, 60, false)),
        ("pd-100-nodes-2h", small(100, 2, 60, true)),
        ("scale-1k-30m", scaled(1000, "30m")),
        ("scale-5k-30m", scaled(5000, "30m")),
        ("scale-20k-30m", scaled(20000, "30m")),
    ] {
        let events = engine::run(&s).expect("runs").summary.events;
        group.throughput(Throughput::Elements(events));
        group.bench_function(name, |b| b.iter(|| engine::run(&s).expect("runs")));
    }
    group.finish();
}

criterion_group!(benches, bench_engine);
criterion_main!(benches);
