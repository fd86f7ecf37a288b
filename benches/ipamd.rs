//! A node's ipamd: the idle tick, a pod's ADD + DEL, and a fleet of nodes for a simulated
//! day under churn against the real EC2 model (a minimal engine: one heap of wake times).
//!
//! `IPAMSIM_BENCH_NODES` (default 1000) sets the fleet size: the target is 5,000 nodes × 24 h
//! well under a minute.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use criterion::{Criterion, criterion_group, criterion_main};
use ipamsim::catalog;
use ipamsim::ec2::{Ec2, Ec2Config};
use ipamsim::ipamd::Ipamd;
use ipamsim::ipamd::config::{CniConfig, ModelConfig};
use ipamsim::rng::Streams;
use ipamsim::subnet::{Subnet, SubnetConfig};
use ipamsim::time::{HOUR, MINUTE, Millis};
use rand::RngExt as _;

fn ec2(subnets: usize, seed: u64) -> Ec2 {
    let streams = Streams::new(seed);
    let subnets = (0..subnets)
        .map(|i| {
            let config: SubnetConfig =
                toml::from_str(&format!("cidr = \"10.{i}.0.0/16\"")).unwrap();
            Subnet::new(&config, &streams, i).unwrap()
        })
        .collect();
    Ec2::new(&Ec2Config::default(), subnets, &streams)
}

fn node(cni: &str, index: u64, subnet: usize) -> Ipamd {
    let cni: CniConfig = toml::from_str(cni).unwrap();
    let t = catalog::lookup("m5.large").unwrap();
    let rng = Streams::new(1).stream("node", index);
    Ipamd::new(&cni, &ModelConfig::default(), t, 29, subnet, subnet, rng)
}

/// Runs `n` until `t`.
fn run(n: &mut Ipamd, ec2: &mut Ec2, t: Millis) {
    while n.next_wake() <= t {
        let w = n.next_wake();
        n.wake(w, ec2);
    }
}

fn single_node(c: &mut Criterion) {
    let mut g = c.benchmark_group("ipamd");
    // An idle pool check, every tick simulated.
    let mut e = ec2(1, 1);
    let mut n = node("DISABLE_LEAKED_ENI_CLEANUP = true", 0, 0);
    n.set_skip_idle_ticks(false);
    n.launch(0, &mut e).unwrap();
    run(&mut n, &mut e, 60_000);
    g.bench_function("idle tick (no skipping)", |b| {
        b.iter(|| {
            let w = n.next_wake();
            n.wake(w, &mut e);
        })
    });
    // A pod's CNI ADD and DEL on a settled node (no cooldown, so the pool never runs dry).
    let mut e = ec2(1, 2);
    let mut n = node(
        "IP_COOLDOWN_PERIOD = 0\nDISABLE_LEAKED_ENI_CLEANUP = true",
        0,
        0,
    );
    n.launch(0, &mut e).unwrap();
    run(&mut n, &mut e, 60_000);
    let mut pod = 0u32;
    g.bench_function("assign_pod + release_pod", |b| {
        b.iter(|| {
            pod += 1;
            n.assign_pod(pod, 100_000).unwrap();
            n.release_pod(pod, 100_000);
        })
    });
    g.finish();
}

/// `nodes` m5.large nodes (SIP, manifest defaults) for 24 h, each with Poisson arrivals
/// (one per 7 min) of pods living 30 min on average: about 200 pods per node and day.
fn fleet_day(nodes: usize) -> (u64, u64) {
    let mut e = ec2(4, 3);
    let mut fleet: Vec<Ipamd> = (0..nodes).map(|i| node("", i as u64, i % 4)).collect();
    let mut events: Vec<(Millis, u32, u32, bool)> = Vec::new();
    let mut r = Streams::new(3).stream("bench-pods", 0);
    let mut pod = 0u32;
    for i in 0..nodes as u32 {
        let mut t = 0.0f64;
        loop {
            t += -(1.0 - r.random::<f64>()).ln() * 7.0 * MINUTE as f64;
            if t >= 24.0 * HOUR as f64 {
                break;
            }
            let life = -(1.0 - r.random::<f64>()).ln() * 30.0 * MINUTE as f64;
            events.push((t as Millis, i, pod, true));
            events.push(((t + life) as Millis, i, pod, false));
            pod += 1;
        }
    }
    events.sort_unstable();
    let mut heap: BinaryHeap<Reverse<(Millis, u32)>> = BinaryHeap::new();
    let mut due = vec![Millis::MAX; nodes];
    for (i, n) in fleet.iter_mut().enumerate() {
        n.launch(0, &mut e).unwrap();
        due[i] = n.next_wake();
        heap.push(Reverse((due[i], i as u32)));
    }
    let mut retries: BinaryHeap<Reverse<(Millis, u32, u32)>> = BinaryHeap::new();
    let mut wakes = 0u64;
    let end = 24 * HOUR;
    let mut next_event = 0;
    loop {
        let te = events.get(next_event).map_or(Millis::MAX, |e| e.0);
        let tr = retries.peek().map_or(Millis::MAX, |r| r.0.0);
        let tw = heap.peek().map_or(Millis::MAX, |w| w.0.0);
        let t = te.min(tr).min(tw);
        if t > end {
            break;
        }
        let node = if te == t {
            let (_, i, p, add) = events[next_event];
            next_event += 1;
            if add {
                if fleet[i as usize].assign_pod(p, t).is_err() {
                    retries.push(Reverse((t + 1_000, i, p)));
                }
            } else {
                fleet[i as usize].release_pod(p, t);
            }
            i
        } else if tr == t {
            let Reverse((_, i, p)) = retries.pop().unwrap();
            if fleet[i as usize].assign_pod(p, t).is_err() {
                retries.push(Reverse((t + 1_000, i, p)));
            }
            i
        } else {
            let Reverse((_, i)) = heap.pop().unwrap();
            if due[i as usize] != t {
                continue;
            }
            wakes += 1;
            fleet[i as usize].wake(t, &mut e);
            due[i as usize] = Millis::MAX;
            i
        };
        let nw = fleet[node as usize].next_wake();
        if nw < due[node as usize] {
            due[node as usize] = nw;
            heap.push(Reverse((nw, node)));
        }
    }
    (wakes, e.total_calls())
}

fn fleet(c: &mut Criterion) {
    let nodes: usize = std::env::var("IPAMSIM_BENCH_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let (wakes, calls) = fleet_day(nodes);
    eprintln!("{nodes} nodes × 24 h: {wakes} wakes, {calls} EC2 calls");
    let mut g = c.benchmark_group("ipamd");
    g.sample_size(10);
    g.bench_function(format!("{nodes} nodes × 24 h, ~200 pods/node"), |b| {
        b.iter(|| fleet_day(nodes))
    });
    g.finish();
}

criterion_group!(benches, single_node, fleet);
criterion_main!(benches);
