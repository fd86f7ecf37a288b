//! Allocator throughput: one alloc + free pair per iteration in a /16 held at a fixed fill.
//!
//! `address/<placement>/<fill>`: the subnet is filled with single addresses to `fill` of its
//! usable space, then each iteration places one address and frees it again.
//! `prefix/<placement>/<fill>`: the subnet's interior /28 blocks are filled with prefixes to
//! `fill`, then each iteration takes one /28 and frees it again.
//!
//! Targets (issue #3): ≥ 50 M prefix pairs/s at 50 % fill; random single-address placement
//! at 99 % fill no slower than 3× its speed at 10 % fill. Run briefly with
//! `cargo bench --bench allocator -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ipamsim::rng::Streams;
use ipamsim::subnet::{Background, Placement, Subnet, SubnetConfig};

const FILLS: [u32; 4] = [10, 50, 90, 99];

fn slash16(placement: Placement) -> Subnet {
    let config = SubnetConfig {
        name: Some("bench".into()),
        cidr: "10.0.0.0/16".into(),
        placement,
        background: Background::default(),
        reservations: Vec::new(),
        tags: Default::default(),
        availability_zone: None,
    };
    Subnet::new(&config, &Streams::new(1), 0).expect("a /16 is a valid subnet")
}

fn policies() -> [(&'static str, Placement); 2] {
    [("random", Placement::Random), ("lowest", Placement::Lowest)]
}

fn address(c: &mut Criterion) {
    let mut group = c.benchmark_group("address");
    group.throughput(Throughput::Elements(1));
    for (name, placement) in policies() {
        for fill in FILLS {
            let mut s = slash16(placement);
            for _ in 0..s.usable() * fill / 100 {
                s.alloc_address().expect("room below 100 %");
            }
            group.bench_function(BenchmarkId::new(name, fill), |b| {
                b.iter(|| {
                    let a = s.alloc_address().expect("room below 100 %");
                    black_box(s.free_address(black_box(a)))
                })
            });
        }
    }
    group.finish();
}

fn prefix(c: &mut Criterion) {
    let mut group = c.benchmark_group("prefix");
    group.throughput(Throughput::Elements(1));
    for (name, placement) in policies() {
        for fill in FILLS {
            let mut s = slash16(placement);
            for _ in 0..s.free_prefix_blocks() * fill / 100 {
                s.alloc_prefix().expect("room below 100 %");
            }
            group.bench_function(BenchmarkId::new(name, fill), |b| {
                b.iter(|| {
                    let p = s.alloc_prefix().expect("room below 100 %");
                    black_box(s.free_prefix(black_box(p)))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, address, prefix);
criterion_main!(benches);
