//! Collecting a run's metrics as it goes: samples every `sample_interval`, pod waits, peaks,
//! and the end-of-run tables.
//!
//! Definitions (DESIGN.md §5, made precise here):
//! - *pods*: live pods (added, not yet deleted), whether running, waiting for an address, or
//!   unschedulable. `pods_peak` is exact (tracked at every add); `pods_unschedulable` counts
//!   pods that ever waited for a node slot.
//! - *IP wait* statistics cover the pods with a row in `pod_waits.csv`: every pod bound to a
//!   node whose first CNI ADD failed. A pod that never got an address (deleted while waiting,
//!   or still waiting at the end) waits until that moment. Percentiles are nearest-rank.
//! - subnet and IP peaks and minima (`total_ips_peak`, `subnet_used_peak`, `subnet_free_min`,
//!   `free_prefix_blocks_min`, `fragmentation_score_max`) are taken over the samples, the
//!   final state included.

mod sums;

use crate::cluster::{ChangedNodes, Node, PodCounts};
use crate::ec2::{Action, Ec2};
use crate::report::{
    BlockMap, Ec2Row, NodeRow, PodWait, RunOutput, Sample, SubnetRow, SubnetSample, Summary,
    WaitReason,
};
use crate::scenario::Scenario;
use crate::time::Millis;
use crate::workload::Workloads;
use sums::NodeSums;

/// One pod's wait for an address as the run records it: numbers only, no names, so that an
/// event allocates nothing; [`Collector::finish`] makes the [`PodWait`] rows.
#[derive(Clone, Copy, Debug)]
struct Wait {
    pod: u32,
    node: u32,
    got_ip: bool,
    reason: WaitReason,
    bound: Millis,
    until: Millis,
}

impl Wait {
    /// How long the pod waited (ms).
    fn ms(&self) -> Millis {
        self.until - self.bound
    }
}

/// `ec2_calls.csv` rows from EC2's plain counters, in [`Action::ALL`] order.
fn ec2_rows(ec2: &Ec2) -> Vec<Ec2Row> {
    Action::ALL
        .iter()
        .map(|a| {
            let c = ec2.counters(*a);
            Ec2Row {
                action: a.name().to_string(),
                calls: c.calls,
                succeeded: c.succeeded,
                failed: c.failed,
                throttled: c.throttled,
                insufficient_cidr_blocks: c.insufficient_cidr_blocks,
                insufficient_free_addresses: c.insufficient_free_addresses,
            }
        })
        .collect()
}

/// Subnet-wide figures at one moment, summed over the scenario's subnets.
#[derive(Clone, Copy, Debug, Default)]
struct SubnetTotals {
    used: u64,
    free: u64,
    free_blocks: u64,
    score: u32,
}

/// Per-subnet peaks and minima over the samples, for `subnets.csv`.
#[derive(Clone, Copy, Debug)]
struct SubnetExtremes {
    used_peak: u32,
    free_min: u32,
    free_blocks_min: u32,
    score_max: u32,
}

impl Default for SubnetExtremes {
    fn default() -> Self {
        SubnetExtremes {
            used_peak: 0,
            free_min: u32::MAX,
            free_blocks_min: u32::MAX,
            score_max: 0,
        }
    }
}

/// The subnets' totals at `at`; each subnet's own figures go to `series` (one
/// [`SubnetSample`] each) and `extremes`.
fn subnet_totals(
    ec2: &Ec2,
    at: Millis,
    series: &mut Vec<SubnetSample>,
    extremes: &mut [SubnetExtremes],
) -> SubnetTotals {
    let (mut used, mut free, mut free_blocks, mut frag, mut full) = (0, 0, 0, 0, 0);
    for (i, (s, x)) in ec2.subnets().iter().zip(extremes.iter_mut()).enumerate() {
        let (u, f, b, score) = (
            s.used(),
            s.free(),
            s.free_prefix_blocks(),
            s.fragmentation_score(),
        );
        used += u64::from(u);
        free += u64::from(f);
        free_blocks += u64::from(b);
        frag += s.fragmented_blocks() as u64;
        full += s.full_blocks() as u64;
        x.used_peak = x.used_peak.max(u);
        x.free_min = x.free_min.min(f);
        x.free_blocks_min = x.free_blocks_min.min(b);
        x.score_max = x.score_max.max(score);
        series.push(SubnetSample {
            time_s: at as f64 / 1000.0,
            subnet: i as u32,
            used: u,
            free: f,
            free_prefix_blocks: b,
            fragmentation_score: score,
        });
    }
    let denom = free_blocks + frag + full;
    let score = if denom == 0 {
        0
    } else {
        (100 * (frag + full)).div_ceil(denom) as u32
    };
    SubnetTotals {
        used,
        free,
        free_blocks,
        score,
    }
}

/// Accumulates a run's metrics.
#[derive(Debug)]
pub struct Collector {
    interval: Millis,
    next_sample: Millis,
    samples: Vec<Sample>,
    /// Every pod wait, in the order they ended: `pod_waits.csv`'s rows and the wait
    /// percentiles, all and after the cluster settled.
    waits: Vec<Wait>,
    first_insufficient: Option<(Millis, Vec<BlockMap>)>,
    total_ips_peak: u64,
    subnet_used_peak: u64,
    subnet_free_min: u64,
    free_blocks_min: u64,
    score_max: u32,
    subnet_samples: Vec<SubnetSample>,
    subnet_extremes: Vec<SubnetExtremes>,
    node_sums: NodeSums,
}

impl Collector {
    /// A collector for `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        let interval = scenario.sample_interval.max(1);
        Collector {
            interval,
            next_sample: 0,
            // Grows with the run: nothing reserved for the worst case (issue 14).
            samples: Vec::new(),
            waits: Vec::new(),
            first_insufficient: None,
            total_ips_peak: 0,
            subnet_used_peak: 0,
            subnet_free_min: u64::MAX,
            free_blocks_min: u64::MAX,
            score_max: 0,
            subnet_samples: Vec::new(),
            subnet_extremes: vec![SubnetExtremes::default(); scenario.subnets.len()],
            node_sums: NodeSums::default(),
        }
    }

    /// Checks, at every sample, the running sums of the nodes' figures against a sum over
    /// every node (for the engine's invariant checking: a node that changed without a mark
    /// in [`ChangedNodes`] panics).
    pub fn check_sums(&mut self, on: bool) {
        self.node_sums.check = on;
    }

    /// Whether a sample is due strictly before `t`: [`Collector::sample_before`] has work.
    /// The engine asks before every event, and gathers the sample's inputs only then.
    #[inline]
    pub fn sample_due(&self, t: Millis) -> bool {
        self.next_sample < t
    }

    /// Takes every sample due strictly before `t` (so a sample reflects all events at or
    /// before its own time). `changed` holds every node that may have changed since the
    /// last sample (and is cleared by it); the others' figures are the last sample's.
    #[inline]
    pub fn sample_before(
        &mut self,
        t: Millis,
        nodes: &[Node],
        changed: &mut ChangedNodes,
        ec2: &Ec2,
        pods: PodCounts,
    ) {
        while self.next_sample < t {
            let at = self.next_sample;
            self.sample(at, nodes, Some(&mut *changed), ec2, pods);
            self.next_sample += self.interval;
        }
    }

    fn sample(
        &mut self,
        at: Millis,
        nodes: &[Node],
        changed: Option<&mut ChangedNodes>,
        ec2: &Ec2,
        pods: PodCounts,
    ) {
        let f = self.node_sums.update(at, nodes, changed);
        let mut s = Sample {
            time_s: at as f64 / 1000.0,
            pods_running: pods.running,
            pods_waiting_ip: pods.waiting_ip,
            pods_unschedulable: pods.unschedulable,
            nodes_ready: f.ready as u32,
            assigned_ips: f.assigned_ips,
            warm_ips: f.warm_ips,
            cooling_ips: f.cooling_ips,
            total_ips: f.total_ips,
            enis: f.enis,
            prefixes: f.prefixes,
            ..Sample::default()
        };
        let sub = subnet_totals(ec2, at, &mut self.subnet_samples, &mut self.subnet_extremes);
        s.subnet_used = sub.used;
        s.subnet_free = sub.free;
        s.free_prefix_blocks = sub.free_blocks;
        s.fragmentation_score = sub.score;
        s.ec2_calls = ec2.total_calls();
        s.insufficient_cidr_blocks = ec2.insufficient_cidr_blocks_total();
        self.total_ips_peak = self.total_ips_peak.max(s.total_ips);
        self.subnet_used_peak = self.subnet_used_peak.max(sub.used);
        self.subnet_free_min = self.subnet_free_min.min(sub.free);
        self.free_blocks_min = self.free_blocks_min.min(sub.free_blocks);
        self.score_max = self.score_max.max(sub.score);
        self.samples.push(s);
    }

    /// Records pod `pod`'s wait for an address on node `node`: bound at `bound`, waited
    /// until `until`, and got an address then (`got_ip`) or never did.
    pub fn pod_waited(
        &mut self,
        pod: u32,
        node: u32,
        bound: Millis,
        until: Millis,
        got_ip: bool,
        reason: WaitReason,
    ) {
        debug_assert!(
            until >= bound,
            "pod {pod} waited from {bound} until {until}"
        );
        self.waits.push(Wait {
            pod,
            node,
            got_ip,
            reason,
            bound,
            until,
        });
    }

    /// Keeps the block maps of the first `InsufficientCidrBlocks`.
    pub fn snapshot_first_insufficient(&mut self, now: Millis, ec2: &Ec2) {
        if self.first_insufficient.is_none() {
            self.first_insufficient = Some((now, block_maps(ec2, now)));
        }
    }

    /// Builds the run's output at its end; `workloads` name the pods, `settled_at` is when
    /// the cluster settled ([`crate::cluster::Cluster::settled_at`]).
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        mut self,
        s: &Scenario,
        workloads: &Workloads,
        nodes: &[Node],
        ec2: &Ec2,
        events: u64,
        pods: PodCounts,
        settled_at: Option<Millis>,
    ) -> RunOutput {
        let end = s.duration;
        // The final sample, at the end time exactly, unless one was already taken there.
        if self
            .samples
            .last()
            .is_none_or(|l| l.time_s * 1000.0 < end as f64)
        {
            // (Nothing changes after the last event: every node is recomputed all the same.)
            self.sample(end, nodes, None, ec2, pods);
        }
        let last = self.samples.last().cloned().unwrap_or_default();
        let mut wait_ms: Vec<Millis> = self.waits.iter().map(Wait::ms).collect();
        wait_ms.sort_unstable();
        let pct = |p: u64| nearest_rank(&wait_ms, p);
        // The waits of pods bound after the cluster settled (all of them if it never did):
        // pods created with the cluster are bound the moment their node turns Ready, to a
        // warm pool still filling — start-up, not the steady state a planner sizes for.
        let mut after_ready: Vec<Millis> = match settled_at {
            Some(t) => {
                let after = self.waits.iter().filter(|w| w.bound > t);
                after.map(Wait::ms).collect()
            }
            None => wait_ms.clone(),
        };
        after_ready.sort_unstable();
        let node_rows: Vec<NodeRow> = nodes
            .iter()
            .map(|n| {
                let st = n.ipamd.stats(end);
                NodeRow {
                    node: n.name.clone(),
                    nodegroup: match n.pool {
                        Some(p) => s.nodepools[p].name.clone(),
                        None => s.nodegroups[n.nodegroup].name.clone(),
                    },
                    instance_type: n.instance.name.clone(),
                    max_pods: n.max_pods,
                    pods: n.pods,
                    enis: st.enis,
                    secondary_ips: st.secondary_ips,
                    prefixes: st.prefixes,
                    total_ips: st.total_ips,
                    assigned_ips: st.assigned_ips,
                    warm_ips: st.warm_ips,
                    cooling_ips: st.cooling_ips,
                    total_ips_peak: st.total_ips_peak,
                    ec2_calls: st.ec2_calls,
                    ready_s: ready_or_was(n, end).map(|t| t as f64 / 1000.0),
                    ipamd_restarts: n.ipamd.restarts(),
                    launched_s: (n.start <= end).then(|| n.start as f64 / 1000.0),
                    terminated_s: n.terminated.map(|t| t as f64 / 1000.0),
                }
            })
            .collect();
        let ec2_rows = ec2_rows(ec2);
        // Nodes whose group's start came but that never joined: no primary address.
        let nodes_launch_failed =
            nodes.iter().filter(|n| !n.joined && n.start <= end).count() as u32;
        // Time from each node's start to Ready, over nodes Ready by the end (and nodes
        // Karpenter removed after they had been Ready).
        let mut ready_ms: Vec<Millis> = nodes
            .iter()
            .filter_map(|n| Some(ready_or_was(n, end)? - n.start))
            .collect();
        let nodes_ready_final = nodes.iter().filter(|n| ready_at(n, end).is_some()).count() as u32;
        let nodes_launched = nodes.iter().filter(|n| n.pool.is_some()).count() as u32;
        let nodes_terminated = nodes
            .iter()
            .filter(|n| n.joined && n.terminated.is_some())
            .count() as u32;
        ready_ms.sort_unstable();
        let ready_pct = |p: u64| -> Option<f64> {
            let n = ready_ms.len() as u64;
            let rank = (p * n).div_ceil(100).max(1);
            ready_ms
                .get((rank - 1) as usize)
                .map(|m| *m as f64 / 1000.0)
        };
        let summary = Summary {
            scenario: s.name.clone(),
            seed: s.seed,
            duration_s: end as f64 / 1000.0,
            nodes: nodes.len() as u32,
            pods_peak: pods.peak,
            pods_final: pods.live(),
            pods_unschedulable: pods.ever_unschedulable,
            pods_waited_for_ip: self.waits.len() as u32,
            ip_wait_p50_s: pct(50),
            ip_wait_p99_s: pct(99),
            ip_wait_max_s: wait_ms.last().map_or(0.0, |m| *m as f64 / 1000.0),
            assigned_ips_final: last.assigned_ips,
            warm_ips_final: last.warm_ips,
            cooling_ips_final: last.cooling_ips,
            total_ips_final: last.total_ips,
            total_ips_peak: self.total_ips_peak,
            enis_final: last.enis,
            prefixes_final: last.prefixes,
            subnet_usable: ec2.subnets().iter().map(|s| s.usable() as u64).sum(),
            subnet_used_final: last.subnet_used,
            subnet_used_peak: self.subnet_used_peak,
            subnet_free_min: self.subnet_free_min,
            free_prefix_blocks_final: last.free_prefix_blocks,
            free_prefix_blocks_min: self.free_blocks_min,
            insufficient_cidr_blocks: ec2.insufficient_cidr_blocks_total(),
            insufficient_free_addresses: ec2.insufficient_free_addresses_total(),
            first_insufficient_cidr_s: self
                .first_insufficient
                .as_ref()
                .map(|(t, _)| *t as f64 / 1000.0),
            fragmentation_score_final: last.fragmentation_score,
            fragmentation_score_max: self.score_max,
            ec2_calls: ec2.total_calls(),
            ec2_throttled: ec2.total_throttled(),
            events,
            nodes_launch_failed,
            nodes_ready_final,
            node_ready_p50_s: ready_pct(50),
            node_ready_max_s: ready_ms.last().map(|m| *m as f64 / 1000.0),
            nodes_launched,
            nodes_terminated,
            // With node pools, every pod that waited for an address on a Ready node waited
            // unseen by Karpenter: it was scheduled, so it triggered no launch.
            ip_waits_unseen_by_karpenter: if s.nodepools.is_empty() {
                0
            } else {
                self.waits.len() as u32
            },
            pods_unschedulable_after_ready: pods.unschedulable_settled,
            ip_wait_p99_after_ready_s: nearest_rank(&after_ready, 99),
        };
        let subnets = subnet_rows(ec2, nodes, &self.subnet_extremes);
        RunOutput {
            summary,
            nodes: node_rows,
            timeseries: self.samples,
            ec2_calls: ec2_rows,
            pod_waits: self
                .waits
                .iter()
                .map(|w| PodWait {
                    pod: workloads.pod_name(w.pod).into_owned(),
                    node: nodes[w.node as usize].name.clone(),
                    bound_s: w.bound as f64 / 1000.0,
                    ip_s: w.got_ip.then_some(w.until as f64 / 1000.0),
                    wait_s: w.ms() as f64 / 1000.0,
                    reason: w.reason,
                })
                .collect(),
            blocks_final: block_maps(ec2, end),
            blocks_first_insufficient: self.first_insufficient.map(|(_, b)| b),
            settings: settings(s),
            ec2_per_minute: ec2.per_minute().to_vec(),
            subnets,
            subnet_timeseries: self.subnet_samples,
        }
    }
}

/// `subnets.csv`'s rows at the end of the run.
fn subnet_rows(ec2: &Ec2, nodes: &[Node], extremes: &[SubnetExtremes]) -> Vec<SubnetRow> {
    let mut enis = vec![0u64; ec2.subnets().len()];
    for n in nodes {
        for e in n.ipamd.datastore().enis() {
            enis[ec2.eni_subnet(e.id())] += 1;
        }
    }
    ec2.subnets()
        .iter()
        .zip(extremes)
        .enumerate()
        .map(|(i, (s, x))| {
            let c = ec2.subnet_counters(i);
            SubnetRow {
                name: s.name().to_string(),
                cidr: s.cidr(),
                zone: s.zone().unwrap_or_default().to_string(),
                usable: u64::from(s.usable()),
                used_final: u64::from(s.used()),
                used_peak: u64::from(x.used_peak),
                free_min: u64::from(x.free_min),
                free_prefix_blocks_final: u64::from(s.free_prefix_blocks()),
                free_prefix_blocks_min: u64::from(x.free_blocks_min),
                insufficient_cidr_blocks: c.insufficient_cidr_blocks,
                insufficient_free_addresses: c.insufficient_free_addresses,
                first_insufficient_cidr_s: c
                    .first_insufficient_cidr_blocks
                    .map(|t| t as f64 / 1000.0),
                fragmentation_score_final: s.fragmentation_score(),
                fragmentation_score_max: x.score_max,
                enis_final: enis[i],
            }
        })
        .collect()
}

/// When node `n` became Ready, if it did by `end` (and still is).
fn ready_at(n: &Node, end: Millis) -> Option<Millis> {
    n.ipamd.ready_at().filter(|&t| n.ready && t <= end)
}

/// When node `n` became Ready, if it did by `end`, whether it still is or Karpenter has
/// removed it since.
fn ready_or_was(n: &Node, end: Millis) -> Option<Millis> {
    n.ipamd
        .ready_at()
        .filter(|&t| (n.ready || n.terminated.is_some()) && t <= end)
}

fn block_maps(ec2: &Ec2, at: Millis) -> Vec<BlockMap> {
    ec2.subnets()
        .iter()
        .map(|s| BlockMap {
            subnet: s.name().to_string(),
            cidr: s.ipv4_cidr(),
            time_s: at as f64 / 1000.0,
            blocks: s.block_map(),
        })
        .collect()
}

/// The scenario's key settings, for the report.
fn settings(s: &Scenario) -> Vec<(String, String)> {
    let c = &s.cni;
    let mut out = vec![
        ("scenario".to_string(), s.name.clone()),
        ("source".to_string(), s.source.clone()),
        ("seed".to_string(), s.seed.to_string()),
        (
            "duration".to_string(),
            crate::time::format_duration(s.duration),
        ),
    ];
    for sub in &s.subnets {
        out.push((
            format!("subnet {}", sub.name.as_deref().unwrap_or("default")),
            format!(
                "{} ({:?} placement, {} background addresses, {} reservations)",
                sub.cidr,
                sub.placement,
                sub.background.addresses,
                sub.reservations.len()
            )
            .to_lowercase(),
        ));
    }
    let mode = if c.enable_prefix_delegation {
        "prefix delegation"
    } else {
        "secondary IPs"
    };
    out.push(("mode".to_string(), mode.to_string()));
    for (k, v) in [
        ("WARM_ENI_TARGET", c.warm_eni_target.to_string()),
        ("WARM_IP_TARGET", c.warm_ip_target.to_string()),
        ("MINIMUM_IP_TARGET", c.minimum_ip_target.to_string()),
        ("WARM_PREFIX_TARGET", c.warm_prefix_target.to_string()),
        (
            "MAX_ENI",
            c.max_eni.map_or("unset".to_string(), |m| m.to_string()),
        ),
        (
            "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG",
            c.custom_network_cfg.to_string(),
        ),
        ("IP_COOLDOWN_PERIOD", format!("{}s", c.ip_cooldown_period_s)),
    ] {
        out.push((k.to_string(), v));
    }
    for g in &s.nodegroups {
        out.push((
            format!("nodegroup {}", g.name),
            format!("{} × {}", g.count, g.instance_type.name),
        ));
    }
    out
}

/// The `p`th percentile of sorted `ms`, nearest rank, in seconds (0 when empty).
fn nearest_rank(ms: &[Millis], p: u64) -> f64 {
    if ms.is_empty() {
        return 0.0;
    }
    let rank = (p * ms.len() as u64).div_ceil(100).max(1);
    ms[(rank - 1) as usize] as f64 / 1000.0
}
