//! The machine's memory floor: how fast one core reads cache lines at random from memory the
//! size of a run's state, the other floor beside `../shared/tools/heapbench`'s (issue 13).
//!
//! A pod event in a large run reads a few lines of a random node's state (its phase, its
//! ipamd, its datastore's tables, its memo, its wake-up slot) that left the cache since that
//! node's last event. Whatever the engine does, such an event costs at least its lines at
//! the rate the memory system serves random lines. Two rates bound it:
//!
//! - `chase`: every read's address comes from the read before (a random cycle through every
//!   line): the latency of one miss, what a chain of dependent loads pays per link.
//! - `prefetch16`: independent random lines, each asked for ([`ipamsim::prefetch::line`]) 16
//!   reads before it is read: as many misses in flight as the core allows, the best a
//!   program can do.
//!
//! Sizes: 64 MiB (about `scenarios/scale-5k.toml`'s 56 MB peak) and 768 MiB
//! (`scenarios/ultra-100k.toml`'s 760 MB), allocated as the binary allocates (huge pages on
//! advice, [`ipamsim::hugepages`]). The README divides a run's time per event by these.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ipamsim::rng::Streams;
use rand::RngExt as _;

#[global_allocator]
static ALLOC: ipamsim::hugepages::HugePages = ipamsim::hugepages::HugePages;

/// Line reads per measured iteration.
const READS: usize = 1 << 20;
/// How many reads ahead `prefetch16` asks for a line.
const AHEAD: usize = 16;

/// One cache line: the next line's index (for `chase`) and padding.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line {
    next: u32,
    _pad: [u32; 15],
}

/// `mib` MiB of lines linked into one random cycle (Sattolo's shuffle), and `READS` random
/// line indices.
fn setup(mib: usize) -> (Vec<Line>, Vec<u32>) {
    let n = mib << 20 >> 6;
    let mut rng = Streams::new(42).stream("memory-floor", mib as u64);
    let mut order: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.random_range(0..i));
    }
    let mut lines = vec![
        Line {
            next: 0,
            _pad: [0; 15]
        };
        n
    ];
    for (i, &at) in order.iter().enumerate() {
        lines[at as usize].next = order[(i + 1) % n];
    }
    let random = (0..READS).map(|_| rng.random_range(0..n as u32)).collect();
    (lines, random)
}

/// Follows the cycle for `READS` links from `start`; returns where it ends.
fn chase(lines: &[Line], start: u32) -> u32 {
    let mut at = start;
    for _ in 0..READS {
        at = lines[at as usize].next;
    }
    at
}

/// Reads the lines `random` names, each asked for `AHEAD` reads earlier.
fn prefetched(lines: &[Line], random: &[u32]) -> u64 {
    let mut sum = 0u64;
    for (i, &at) in random.iter().enumerate() {
        if let Some(&ahead) = random.get(i + AHEAD) {
            ipamsim::prefetch::line(&lines[ahead as usize]);
        }
        sum += u64::from(lines[at as usize].next);
    }
    sum
}

fn bench_memory(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory");
    group.sample_size(10);
    group.throughput(Throughput::Elements(READS as u64));
    for mib in [64, 768] {
        let (lines, random) = setup(mib);
        let mut at = 0;
        group.bench_function(BenchmarkId::new("chase", format!("{mib}MiB")), |b| {
            b.iter(|| {
                at = chase(black_box(&lines), at);
                at
            })
        });
        group.bench_function(BenchmarkId::new("prefetch16", format!("{mib}MiB")), |b| {
            b.iter(|| prefetched(black_box(&lines), black_box(&random)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_memory);
criterion_main!(benches);
