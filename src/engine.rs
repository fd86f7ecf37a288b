//! The discrete-event engine: one integer clock, one event queue, and the dispatch that ties
//! the workloads, the [`Cluster`] (nodes, pods, scheduler, each node's ipamd) and EC2
//! together. What a pod or node does is the cluster's; the engine decides only when.
//!
//! Time is milliseconds ([`Millis`]) owned here; models never read wall time. Events of one
//! millisecond go in this order, the same on every machine:
//! 1. workload events (pod adds and deletes), generated up front, each workload's in time
//!    order, and merged lazily ([`crate::workload::PodEvents`]) rather than pushed through
//!    the queue;
//! 2. ipamd wake-ups, by node index;
//! 3. everything else (launches, readiness, Karpenter's controllers, the memo timers below)
//!    by sequence number, the order in which they were scheduled;
//! 4. kubelet's CNI ADD retries, by pod ([`CniRetry::key`]).
//!
//! Wake-ups are ordered by node rather than by when they were scheduled because a loop that
//! skips idle ticks (spec "Modelling choices" 7) schedules its next tick at another moment
//! than a loop running every tick: with the sequence number, two nodes whose loops tick at
//! the same millisecond (their 5 s phases drawn equal) could call EC2 in the other order,
//! and skipping would change the run (found by `tests/skip_ticks.rs`; that case is now one
//! of its tests). Retries are ordered by pod for the same reason: a retry that provably fails
//! as the last one did is parked on its node, not queued, and goes back to the queue only
//! when something could change its answer (`cluster/memo.rs`); by pod, its place among the
//! retries of its millisecond is the same however late it was queued. kubelet's pod workers
//! retry independently, so no order of one millisecond's retries is truer than another. A
//! skipped due time of a parked retry still counts as an event, so the run's event count is
//! that of a run queueing every retry; the timer that ends a parking
//! ([`Effects::memo_expires`]) is not an event of the run. A wake-up also goes before a
//! retry of its time, as a tick scheduled 2.5 s ahead does before a retry scheduled 1 s
//! ahead. The cluster is told, event by event, whether it handles one of group 1 or of a
//! later one ([`crate::ipamd::CallOrder`]): a pool check that ipamd decided idle in advance
//! is past for a CNI call after the wake-ups of its millisecond and still ahead for one
//! before them. The queue (`engine/queue.rs`) is a timing wheel of 1 ms slots that pops in
//! exactly the order of a binary heap of `(time, rank, sequence)`, at O(1) a push and a
//! pop.
//!
//! Each node has at most one live wake-up in the queue. Its ipamd says when it next wants to
//! run (`Ipamd::next_wake`); when that is earlier than planned, the cluster bumps the node's
//! generation and hands the engine the new wake-up (`Cluster::plan_wake`,
//! [`Effects::wake`]), so the stale one is dropped when it surfaces
//! ([`Cluster::take_wake`]). The plan lives in the node's hot cache line, which the pod
//! event or wake-up reads anyway.
//! Nothing here allocates per event: the queue reuses its entries and all per-pod and
//! per-node tables are sized once.
//!
//! Samples for `timeseries.csv` are taken every `sample_interval`; the sample at time `t`
//! reflects every event at or before `t`.

mod autoscale;
mod events;
mod queue;
mod stats;

pub use crate::cluster::{EventKind, EventRecord};
pub use events::EventLog;
pub use queue::Queue;
pub use stats::EngineStats;

use crate::cluster::{Cluster, CniRetry, Effects, WaitReason};
use crate::ec2::Ec2;
use crate::error::Error;
use crate::ipamd::CallOrder;
use crate::report::RunOutput;
use crate::report::collect::Collector;
use crate::rng::Streams;
use crate::scenario::Scenario;
use crate::subnet::Subnet;
use crate::time::Millis;
use crate::workload::{PodEventKind, Workloads};

/// Knobs that change how a run is executed, never what it computes.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Let idle ipamd loops skip ticks that provably change nothing (spec "Modelling
    /// choices" 7). Off only in the tests that prove the equivalence.
    pub skip_idle_ticks: bool,
    /// Run the state checker ([`crate::invariants`]) after every batch of same-time events,
    /// and check each sample's running sums against a sum over every node
    /// ([`Collector::check_sums`]); a broken invariant panics. On by default in debug
    /// builds; tests turn it on in release.
    pub check_invariants: bool,
    /// Park kubelet's CNI ADD retries that provably fail as the pod's last one did, neither
    /// queued nor asking ipamd (`cluster/memo.rs`). Off only in the tests that prove the
    /// equivalence.
    pub memo_failed_adds: bool,
    /// Count the events by kind and the queue's length at its pops ([`EngineStats`], `run
    /// --stats`).
    pub engine_stats: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            skip_idle_ticks: true,
            check_invariants: cfg!(debug_assertions),
            memo_failed_adds: true,
            engine_stats: false,
        }
    }
}

/// Runs a scenario to completion.
pub fn run(scenario: &Scenario) -> Result<RunOutput, Error> {
    run_with(scenario, RunOptions::default())
}

/// Runs a scenario with explicit [`RunOptions`].
pub fn run_with(scenario: &Scenario, options: RunOptions) -> Result<RunOutput, Error> {
    run_observed(scenario, options, false, &mut |_| {}).map(|r| r.output)
}

/// A finished run: its output, its events if recorded, the engine's statistics if asked for.
#[derive(Debug)]
pub struct Observed {
    /// What the report is made of.
    pub output: RunOutput,
    /// Every event, when recorded.
    pub events: Option<EventLog>,
    /// The engine's counts, with [`RunOptions::engine_stats`].
    pub stats: Option<EngineStats>,
}

/// Where a run is, told to an observer ([`run_observed`]). The engine never reads a clock;
/// an observer may (`run --stats` times the event loop alone, as heapbench times its hold
/// loop alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The event loop is at simulated time `t`: first at its first event, then about 200
    /// times along the run.
    At(Millis),
    /// The event loop has ended (the run's output is not yet assembled).
    LoopEnded,
}

/// Runs a scenario, recording every event when `record_events` (for `events.csv`) and
/// telling `progress` where the run is ([`Progress`]).
pub fn run_observed(
    scenario: &Scenario,
    options: RunOptions,
    record_events: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Observed, Error> {
    let mut sim = Sim::new(scenario, options, record_events)?;
    sim.run(progress);
    Ok(sim.finish())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Node `node`'s ipamd asked to run now (valid only if `generation` is current).
    Wake { node: u32, generation: u32 },
    /// kubelet retries a pod's CNI ADD.
    Retry(CniRetry),
    /// The failure noted in node `node`'s epoch `epoch` of failed CNI ADDs stops holding:
    /// its parked retries go back to the queue (`cluster/memo.rs`). Not an event of the
    /// model: the run's event count leaves it out.
    MemoExpiry { node: u32, epoch: u32 },
    /// Node `node` joins the cluster (its group's `start`).
    Launch { node: u32 },
    /// Node `node` turns Ready (its first ipamd init succeeded, §6.3).
    Ready { node: u32 },
    /// Karpenter: the provisioner's batch window may close.
    Batch,
    /// Karpenter: pods still pending re-trigger the provisioner.
    Requeue,
    /// Karpenter: the subnets' available addresses are read again.
    SubnetRefresh,
    /// Karpenter: the disruption controller polls.
    Disruption,
    /// Karpenter: a disruption command is validated and carried out.
    Validate,
}

/// The engine's half of [`Effects`]: the event queue, the event log and the metrics. Kept
/// apart from the [`Cluster`] so both can be borrowed at once.
struct Hooks {
    queue: Queue<Kind>,
    /// The pod events, for pod names.
    workloads: Workloads,
    collector: Collector,
    /// Recorded events, when asked for.
    log: Option<Vec<EventRecord>>,
    /// Karpenter, when the scenario has node pools.
    karpenter: Option<autoscale::Autoscaler>,
    /// The queue entry the last hint was for ([`Hooks::prefetch_queued`]).
    hinted: u32,
}

impl Hooks {
    fn push(&mut self, time: Millis, kind: Kind) {
        self.queue.push(time, kind);
    }

    /// Prefetch hints for the pod events a few places ahead ([`crate::prefetch`]): the pod's
    /// phase fifteen events ahead, its node's state eleven ahead (the phase has come by then),
    /// the node's datastore tables seven ahead and, for a delete, the CIDR entry of its
    /// address three ahead. Each step reads what the one before asked for; with four events
    /// between steps ultra-100k ran some 2–3 % quicker than with two (7/5/3/1) in alternating
    /// runs (issue 13). Hints only: nothing changes.
    #[inline]
    fn prefetch_ahead(&self, cluster: &Cluster) {
        let ahead = &self.workloads.events;
        if let Some(e) = ahead.ahead(15) {
            cluster.prefetch_pod(e.pod);
        }
        if let Some(e) = ahead.ahead(11) {
            cluster.prefetch_node_of(e.pod);
        }
        if let Some(e) = ahead.ahead(7) {
            cluster.prefetch_tables_of(e.pod);
        }
        if let Some(e) = ahead.ahead(3)
            && e.kind == PodEventKind::Delete
        {
            cluster.prefetch_release_of(e.pod);
        }
    }

    /// Prefetch hints for the queue's next event, once per event: a wake-up's or a retry's
    /// node state. Asked while pod events run before it (or others of its millisecond), so
    /// its misses overlap them. Hints only: nothing changes.
    #[inline]
    fn prefetch_queued(&mut self, cluster: &Cluster) {
        let Some((i, &kind)) = self.queue.peek_hint() else {
            return;
        };
        if i == self.hinted {
            return;
        }
        self.hinted = i;
        match kind {
            Kind::Wake { node, .. } => cluster.prefetch_wake(node as usize),
            Kind::Retry(r) => cluster.prefetch_node(r.node as usize),
            _ => {}
        }
    }
}

impl Effects for Hooks {
    /// Retries go after everything else of their millisecond, by their key.
    fn retry(&mut self, retry: CniRetry, at: Millis) {
        self.queue.push_last(at, retry.key(), Kind::Retry(retry));
    }

    fn memo_expires(&mut self, n: usize, epoch: u32, at: Millis) {
        let kind = Kind::MemoExpiry {
            node: n as u32,
            epoch,
        };
        self.push(at, kind);
    }

    /// Wake-ups of one time go first, by node (see the module docs).
    fn wake(&mut self, n: usize, at: Millis, generation: u32) {
        let kind = Kind::Wake {
            node: n as u32,
            generation,
        };
        self.queue.push_first(at, n as u32, kind);
    }

    fn launch(&mut self, n: usize, at: Millis) {
        self.push(at, Kind::Launch { node: n as u32 });
    }

    fn ready(&mut self, n: usize, at: Millis) {
        self.push(at, Kind::Ready { node: n as u32 });
    }

    fn recording(&self) -> bool {
        self.log.is_some()
    }

    fn pending(&mut self, _pod: u32, now: Millis) {
        if let Some(k) = &mut self.karpenter
            && let Some(at) = k.pending(now)
        {
            self.push(at, Kind::Batch);
        }
    }

    fn pod_moved(&mut self, node: usize, now: Millis) {
        if let Some(k) = &mut self.karpenter {
            k.pod_moved(node, now);
        }
    }

    fn record(
        &mut self,
        time: Millis,
        kind: EventKind,
        pod: Option<u32>,
        node: Option<u32>,
        a: u32,
        b: u32,
    ) {
        if let Some(log) = &mut self.log {
            log.push(EventRecord {
                time,
                kind,
                pod,
                node,
                a,
                b,
            });
        }
    }

    fn pod_waited(
        &mut self,
        pod: u32,
        node: u32,
        bound: Millis,
        until: Millis,
        got_ip: bool,
        reason: WaitReason,
    ) {
        self.collector
            .pod_waited(pod, node, bound, until, got_ip, reason);
    }
}

struct Sim<'a> {
    scenario: &'a Scenario,
    ec2: Ec2,
    cluster: Cluster,
    hooks: Hooks,
    events: u64,
    /// Run [`crate::invariants::check`] between event batches.
    check_invariants: bool,
    /// Idle-tick skipping for the ipamds of nodes launched during the run.
    skip_idle_ticks: bool,
    /// The engine's counts, when asked for.
    stats: Option<Box<EngineStats>>,
}

impl<'a> Sim<'a> {
    fn new(s: &'a Scenario, options: RunOptions, record_events: bool) -> Result<Self, Error> {
        let streams = Streams::new(s.seed);
        let mut subnets = s
            .subnets
            .iter()
            .enumerate()
            .map(|(i, c)| Subnet::new(c, &streams, i))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(st) = &s.start {
            crate::start::place_background(&st.snapshot, &mut subnets);
        }
        let mut ec2 = Ec2::new(&s.ec2, subnets, &streams);
        let workloads = Workloads::for_scenario(s, &streams)?;
        let mut cluster =
            Cluster::assemble(s, &workloads, &mut ec2, &streams, options.skip_idle_ticks)?;
        cluster.set_memo_failed_adds(options.memo_failed_adds);
        let mut hooks = Hooks {
            queue: Queue::new(),
            workloads,
            collector: Collector::new(s),
            log: record_events.then(Vec::new),
            karpenter: autoscale::Autoscaler::new(s),
            hinted: u32::MAX,
        };
        hooks.collector.check_sums(options.check_invariants);
        cluster.start(&mut hooks);
        let mut sim = Sim {
            scenario: s,
            ec2,
            cluster,
            hooks,
            events: 0,
            check_invariants: options.check_invariants,
            skip_idle_ticks: options.skip_idle_ticks,
            stats: options.engine_stats.then(Box::default),
        };
        sim.start_autoscaler();
        Ok(sim)
    }

    fn run(&mut self, progress: &mut dyn FnMut(Progress)) {
        let end = self.scenario.duration;
        let step = (end / 200).max(1);
        let mut next_progress = 0;
        let mut batch = 0;
        loop {
            let next_workload = self.hooks.workloads.events.next_time();
            let next_queued = self.hooks.queue.peek_time().unwrap_or(Millis::MAX);
            let t = next_workload.min(next_queued);
            if t > end {
                break;
            }
            if self.check_invariants && t != batch {
                self.check(batch);
                batch = t;
            }
            if t >= next_progress {
                progress(Progress::At(t));
                next_progress = t + step;
            }
            let (cluster, fx) = (&mut self.cluster, &mut self.hooks);
            if fx.collector.sample_due(t) {
                let counts = cluster.counts();
                let (nodes, changed) = cluster.nodes_changed();
                fx.collector
                    .sample_before(t, nodes, changed, &self.ec2, counts);
            }
            self.events += 1;
            if next_workload <= next_queued {
                cluster.set_call_order(CallOrder::BeforeWakes);
                let e = fx.workloads.events.pop().expect("peeked");
                if let Some(st) = self.stats.as_deref_mut() {
                    st.pod_event(e.kind == PodEventKind::Add);
                }
                fx.prefetch_ahead(cluster);
                fx.prefetch_queued(cluster);
                match e.kind {
                    PodEventKind::Add => cluster.add_pod(e.pod, t, fx),
                    PodEventKind::Delete => cluster.delete_pod(e.pod, t, fx),
                }
                if cluster.has_unparked() {
                    cluster.take_unparked(t, None, fx);
                }
            } else {
                cluster.set_call_order(CallOrder::AfterWakes);
                let pending = self.stats.as_ref().map_or(0, |_| fx.queue.len());
                let (_, kind) = fx.queue.pop_at(t);
                fx.prefetch_queued(cluster);
                if let Some(st) = self.stats.as_deref_mut() {
                    let current = match kind {
                        Kind::Wake { node, generation } => {
                            cluster.wake_is_current(node as usize, generation)
                        }
                        _ => true,
                    };
                    st.queue_pop(pending, kind, current);
                }
                let mut after = None;
                match kind {
                    Kind::Wake { node, generation } => self.wake(node as usize, generation, t),
                    Kind::Retry(r) => {
                        after = Some(r.key());
                        cluster.retry(r, t, fx);
                    }
                    Kind::MemoExpiry { node, epoch } => {
                        self.events -= 1; // the engine's timer, not an event of the run
                        cluster.memo_expired(node as usize, epoch);
                    }
                    Kind::Launch { node } => {
                        cluster.launch_node(node as usize, t, &mut self.ec2, fx)
                    }
                    Kind::Ready { node } => cluster.node_ready(node as usize, t, fx),
                    Kind::Batch => self.batch(t),
                    Kind::Requeue => self.requeue(t),
                    Kind::SubnetRefresh => self.subnet_refresh(t),
                    Kind::Disruption => self.disruption(t),
                    Kind::Validate => self.validate(t),
                }
                if self.cluster.has_unparked() {
                    self.cluster.take_unparked(t, after, &mut self.hooks);
                }
            }
        }
        if self.check_invariants {
            self.check(batch);
        }
        let counts = self.cluster.counts();
        let (nodes, changed) = self.cluster.nodes_changed();
        self.hooks
            .collector
            .sample_before(end + 1, nodes, changed, &self.ec2, counts);
        progress(Progress::LoopEnded);
    }

    /// The state checker, after the batch of events at `t`: a violation is a simulator bug.
    fn check(&self, t: Millis) {
        let nodes = self.cluster.nodes();
        let checked = crate::invariants::check(&self.ec2, nodes)
            .and_then(|()| crate::invariants::check_wakes(nodes));
        if let Err(v) = checked {
            panic!(
                "{v} (after the events at t = {} s)",
                crate::time::seconds(t)
            );
        }
    }

    /// Node `n`'s wake-up, unless an earlier one superseded it; keeps the subnets' block maps
    /// at the first `InsufficientCidrBlocks`.
    fn wake(&mut self, n: usize, generation: u32, now: Millis) {
        if !self.cluster.take_wake(n, generation) {
            return; // superseded by an earlier wake-up
        }
        let had_icb = self.ec2.first_insufficient_cidr_blocks().is_some();
        self.cluster
            .wake_node(n, now, &mut self.ec2, &mut self.hooks);
        if !had_icb && self.ec2.first_insufficient_cidr_blocks().is_some() {
            self.hooks
                .collector
                .snapshot_first_insufficient(now, &self.ec2);
        }
    }

    fn finish(mut self) -> Observed {
        let end = self.scenario.duration;
        // Retries that failed again while parked are events of the run too.
        let parked = self.cluster.parked_retries(end);
        self.events += parked;
        if let Some(st) = self.stats.as_deref_mut() {
            st.parked_retries = parked;
        }
        // Pods still waiting at the end get a row that says they never got an address.
        for w in self.cluster.waiting_ip() {
            self.hooks
                .pod_waited(w.pod, w.node, w.bound, end, false, w.reason);
        }
        let Hooks {
            workloads,
            collector,
            log,
            ..
        } = self.hooks;
        let output = collector.finish(
            self.scenario,
            &workloads,
            self.cluster.nodes(),
            &self.ec2,
            self.events,
            self.cluster.counts(),
            self.cluster.settled_at(),
        );
        let log = log.map(|records| EventLog {
            records,
            node_names: self
                .cluster
                .nodes()
                .iter()
                .map(|n| n.name.clone())
                .collect(),
            workloads,
        });
        Observed {
            output,
            events: log,
            stats: self.stats.map(|s| *s),
        }
    }
}
