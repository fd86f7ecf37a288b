//! Sweep parallelism: the same 8 equal cells with `--jobs 1` and `--jobs 2`. Cells vary
//! only the scenario's `name`, so every cell does identical work and the ratio of the two
//! measurements is the speedup of spreading whole runs over threads (DESIGN.md §3: rayon
//! across cells, never inside a run).
//!
//! `cargo bench --bench sweep -- --warm-up-time 1 --measurement-time 10`
//!
//! Measured on the 2-core build machine with little else running (load average < 0.5):
//! jobs=1 217 ms, jobs=2 107 ms, a 2.0× speedup; at load average ~1 it was 1.7×, and with
//! other builds saturating the cores (load ~5) 1.1× — the cores, not the sweep, are the limit.

use criterion::{Criterion, criterion_group, criterion_main};
use ipamsim::engine;
use ipamsim::scenario::ScenarioText;
use ipamsim::sweep::{self, Vary};

const SCENARIO: &str = r#"
name = "sweep-bench"
seed = 3
duration = "12h"
sample_interval = "1m"

[subnet]
cidr = "10.0.0.0/20"
background = { addresses = 300 }

[cni]
WARM_IP_TARGET = 5
MINIMUM_IP_TARGET = 10

[[nodegroup]]
name = "ng"
instance_type = "m5.xlarge"
count = 12

[[workload]]
kind = "deployment"
name = "web"
steps = [ { at = "0s", replicas = 150 }, { at = "2h", replicas = 400 }, { at = "8h", replicas = 200 } ]

[[workload]]
kind = "poisson"
name = "jobs"
rate_per_min = 30
lifetime = { mean = "5m" }
"#;

fn bench(c: &mut Criterion) {
    let text = ScenarioText {
        text: SCENARIO.to_string(),
        source: "<bench>".to_string(),
        base_dir: ".".into(),
    };
    let varies: Vec<Vary> = vec!["name=a,b,c,d,e,f,g,h".parse().unwrap()];
    let mut group = c.benchmark_group("sweep_8_equal_cells");
    group.sample_size(10);
    for jobs in [1, 2] {
        group.bench_function(format!("jobs={jobs}"), |b| {
            b.iter(|| {
                let out = sweep::sweep(&text, &[], &varies, 1, jobs, false, engine::run).unwrap();
                assert_eq!(out.runs.len(), 8);
                out
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
