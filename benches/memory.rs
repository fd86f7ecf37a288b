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
//! Where a line is matters as much as how many: a line's address must be translated, and a
//! virtual machine translates twice (the guest's page tables, then the host's). Three more
//! patterns tell the two costs apart:
//!
//! - `prefetch16-4per4KiB`: as `prefetch16`, but each four reads in a row fall in one random
//!   4 KiB page (four lines, one translation).
//! - `prefetch16-4per2MiB`: each four in one random 2 MiB page, in different 4 KiB pages
//!   (one of the guest's huge pages: one translation if the host backs it with a 2 MiB page
//!   too, four if it backs it with 4 KiB pages).
//! - `prefetch16-4per32KiB`: each four in different 4 KiB pages of one random 32 KiB block,
//!   whose eight pages' host entries share one cache line of the host's page table: how
//!   much cheaper a walk is when the walk before it loaded that line (item 42 of
//!   `benches/HISTORY.md`: some 40 % of a random page's extra cost on this machine).
//! - `chase-sparse` (768 MiB only): a random cycle through one line in every 64 KiB. The
//!   12,288 lines (768 KiB) stay in the cache, so each link costs what finding its page
//!   does: nearly nothing where the TLB covers 768 MiB, a page walk where it does not.
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

/// `READS` random line indices below `n`, each four in a row inside one random block of
/// `block` lines (64: a 4 KiB page; 512: 32 KiB; 32,768: a 2 MiB page); in a block of more
/// than one page, in four different pages.
fn grouped(n: usize, block: usize, seed: u64) -> Vec<u32> {
    const PAGE: usize = 64;
    let mut rng = Streams::new(42).stream("memory-floor-grouped", seed);
    let blocks = n / block;
    let mut out = Vec::with_capacity(READS);
    while out.len() < READS {
        let base = rng.random_range(0..blocks) * block;
        let mut pages = [usize::MAX; 4];
        for i in 0..4 {
            let line = loop {
                let line = rng.random_range(0..block);
                if block == PAGE || !pages[..i].contains(&(line / PAGE)) {
                    break line;
                }
            };
            pages[i] = line / PAGE;
            out.push((base + line) as u32);
        }
    }
    out
}

/// Relinks `lines` into a random cycle through one line in every `stride` lines (the line
/// within each stride varied, so the cycle's lines spread over the cache's sets); returns a
/// line on it.
fn link_sparse(lines: &mut [Line], stride: usize) -> u32 {
    let mut rng = Streams::new(42).stream("memory-floor-sparse", stride as u64);
    let mut order: Vec<u32> = (0..lines.len() / stride)
        .map(|k| (k * stride + (k * 7) % 64) as u32)
        .collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.random_range(0..i));
    }
    for (i, &at) in order.iter().enumerate() {
        lines[at as usize].next = order[(i + 1) % order.len()];
    }
    order[0]
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
        let (mut lines, random) = setup(mib);
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
        for (name, block) in [
            ("prefetch16-4per4KiB", 64),
            ("prefetch16-4per32KiB", 512),
            ("prefetch16-4per2MiB", 32_768),
        ] {
            let random = grouped(lines.len(), block, mib as u64);
            group.bench_function(BenchmarkId::new(name, format!("{mib}MiB")), |b| {
                b.iter(|| prefetched(black_box(&lines), black_box(&random)))
            });
        }
        if mib == 768 {
            // The last use of these lines: this relinks them.
            let mut at = link_sparse(&mut lines, 1024);
            group.bench_function(BenchmarkId::new("chase-sparse", format!("{mib}MiB")), |b| {
                b.iter(|| {
                    at = chase(black_box(&lines), at);
                    at
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_memory);
criterion_main!(benches);
