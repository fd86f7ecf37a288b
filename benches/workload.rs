//! Workload generation for the scale scenario: about a million pod arrivals over 24 h.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use ipamsim::rng::Streams;
use ipamsim::scenario::Scenario;
use ipamsim::workload::Workloads;

fn scale_5k(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/scale-5k.toml");
    let s = Scenario::load(&path, &[]).expect("scale-5k loads");
    let mut g = c.benchmark_group("workload");
    g.sample_size(10);
    g.bench_function("generate scale-5k (24 h, ~1 M arrivals)", |b| {
        b.iter(|| {
            Workloads::for_scenario(&s, &Streams::new(s.seed))
                .unwrap()
                .events
                .len()
        })
    });
    // What a run pays: the events are merged lazily as the engine takes them.
    g.bench_function("generate and take every event, scale-5k", |b| {
        b.iter(|| {
            Workloads::for_scenario(&s, &Streams::new(s.seed))
                .unwrap()
                .events
                .map(|e| e.time)
                .fold(0, u64::wrapping_add)
        })
    });
    g.bench_function("load scale-5k.toml", |b| {
        b.iter(|| Scenario::load(&path, &[]).unwrap().node_count())
    });
    g.finish();
}

criterion_group!(benches, scale_5k);
criterion_main!(benches);
