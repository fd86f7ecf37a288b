//! The event loop: whole runs of small and mid-size clusters, measured in simulated events
//! per second (criterion's throughput), so a regression in dispatch, ipamd's idle ticks or
//! sampling shows up as a drop.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipamsim::engine;
use ipamsim::scenario::Scenario;

fn scenario(nodes: u32, hours: u32, rate_per_min: u32, prefix: bool) -> Scenario {
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

fn bench_engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    for (name, s) in [
        ("sip-100-nodes-2h", scenario(100, 2, 60, false)),
        ("pd-100-nodes-2h", scenario(100, 2, 60, true)),
        ("sip-1000-nodes-2h", scenario(1000, 2, 300, false)),
    ] {
        let events = engine::run(&s).expect("runs").summary.events;
        group.throughput(Throughput::Elements(events));
        group.bench_function(name, |b| b.iter(|| engine::run(&s).expect("runs")));
    }
    group.finish();
}

criterion_group!(benches, bench_engine);
criterion_main!(benches);
