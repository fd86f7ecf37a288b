//! The discrete-event engine: one integer clock, one event queue, and the dispatch that ties
//! workloads, the scheduler, each node's ipamd and EC2 together.
//!
//! Time is milliseconds ([`Millis`]) owned here; models never read wall time. Events are
//! ordered by `(time, sequence)`: the sequence number is the order in which events were
//! scheduled, so ties are broken the same way on every machine. Workload events (pod adds
//! and deletes) are generated up front, already sorted, and merged from a cursor rather than
//! pushed through the queue; at equal times a workload event goes first. The queue
//! (`engine/queue.rs`) is a timing wheel of 1 ms slots that pops in exactly the order of a
//! binary heap of `(time, sequence)`, at O(1) a push and a pop.
//!
//! Each node has at most one live wake-up in the queue. Its ipamd says when it next wants to
//! run (`Ipamd::next_wake`); after a pod call makes that earlier, the engine schedules a new
//! wake-up and bumps the node's generation, so the stale one is dropped when it surfaces.
//! Nothing here allocates per event: the queue reuses its entries and all per-pod and
//! per-node tables are sized once.
//!
//! Samples for `timeseries.csv` are taken every `sample_interval`; the sample at time `t`
//! reflects every event at or before `t`.

mod events;
mod queue;

pub use events::{EventKind, EventLog, EventRecord};

use std::collections::VecDeque;

use crate::catalog;
use crate::cluster::WaitReason;
use crate::cluster::{Node, Scheduler};
use crate::ec2::Ec2;
use crate::error::Error;
use crate::ipamd::Ipamd;
use crate::report::RunOutput;
use crate::report::collect::{Collector, PodCounts};
use crate::rng::Streams;
use crate::scenario::Scenario;
use crate::subnet::Subnet;
use crate::time::Millis;
use crate::workload::{PodEventKind, Workloads};

use queue::Queue;

/// Knobs that change how a run is executed, never what it computes.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Let idle ipamd loops skip ticks that provably change nothing (spec "Modelling
    /// choices" 7). Off only in the tests that prove the equivalence.
    pub skip_idle_ticks: bool,
    /// Run the state checker ([`crate::invariants`]) after every batch of same-time events;
    /// a broken invariant panics. On by default in debug builds; tests turn it on in release.
    pub check_invariants: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            skip_idle_ticks: true,
            check_invariants: cfg!(debug_assertions),
        }
    }
}

/// Runs a scenario to completion.
pub fn run(scenario: &Scenario) -> Result<RunOutput, Error> {
    run_with(scenario, RunOptions::default())
}

/// Runs a scenario with explicit [`RunOptions`].
pub fn run_with(scenario: &Scenario, options: RunOptions) -> Result<RunOutput, Error> {
    run_observed(scenario, options, false, &mut |_| {}).map(|(out, _)| out)
}

/// Runs a scenario, recording every event when `record_events` (for `events.csv`) and
/// calling `progress` with the simulated time about 200 times along the run.
pub fn run_observed(
    scenario: &Scenario,
    options: RunOptions,
    record_events: bool,
    progress: &mut dyn FnMut(Millis),
) -> Result<(RunOutput, Option<EventLog>), Error> {
    let mut sim = Sim::new(scenario, options)?;
    if record_events {
        sim.log = Some(Vec::new());
    }
    sim.run(progress);
    Ok(sim.finish())
}

/// Where a pod is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not yet added, or deleted.
    Absent,
    /// Waiting in the FIFO for a node with room.
    Unschedulable,
    /// Bound to `node`, no address yet since `bound`; kubelet retries the CNI ADD.
    WaitingIp {
        node: u32,
        bound: Millis,
        reason: WaitReason,
    },
    /// Bound to `node` with an address.
    Running { node: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Node `node`'s ipamd asked to run now (valid only if `generation` is current).
    Wake { node: u32, generation: u32 },
    /// kubelet retries the CNI ADD of `pod`.
    Retry { pod: u32 },
    /// Node `node` joins the cluster (its group's `start`).
    Launch { node: u32 },
    /// Node `node` turns Ready (its first ipamd init succeeded, §6.3).
    Ready { node: u32 },
}

struct Sim<'a> {
    scenario: &'a Scenario,
    ec2: Ec2,
    nodes: Vec<Node>,
    scheduler: Scheduler,
    workloads: Workloads,
    cursor: usize,
    queue: Queue<Kind>,
    /// Per node: generation of its live wake-up, and its time.
    wake_gen: Vec<u32>,
    wake_at: Vec<Millis>,
    pods: Vec<Phase>,
    /// Pods waiting for a node slot, FIFO; entries whose pod left are skipped lazily.
    unschedulable: VecDeque<u32>,
    /// Pinned node of a trace pod, if any (dense: `u32::MAX` = not pinned).
    pins: Vec<u32>,
    counts: PodCounts,
    collector: Collector,
    events: u64,
    /// Recorded events, when asked for.
    log: Option<Vec<EventRecord>>,
    /// Run [`crate::invariants::check`] between event batches.
    check_invariants: bool,
}

impl<'a> Sim<'a> {
    fn new(s: &'a Scenario, options: RunOptions) -> Result<Self, Error> {
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
        let max_pods_options = catalog::MaxPodsOptions::for_cni(&s.cni);

        let mut nodes = Vec::new();
        let bound = match &s.start {
            Some(st) => crate::start::nodes(s, st, &mut ec2, &streams, options, &mut nodes),
            None => Vec::new(),
        };
        let imported = nodes.len();
        for (g, group) in s.nodegroups.iter().enumerate() {
            let max_pods = group
                .max_pods
                .unwrap_or_else(|| catalog::max_pods(group.instance_type, &max_pods_options));
            for i in 0..group.count {
                let index = nodes.len() as u64;
                let mut ipamd = Ipamd::new(
                    &s.cni,
                    &s.model,
                    group.instance_type,
                    max_pods,
                    group.subnet,
                    group.pod_subnet,
                    streams.stream("node", index),
                );
                ipamd.set_skip_idle_ticks(options.skip_idle_ticks);
                let name = group.node_name(i);
                // Nodes launched at t=0 must fit: a subnet too small for the initial cluster
                // is bad input. Nodes joining later that find no address are counted instead.
                let joined = group.start == 0;
                if joined {
                    ipamd.launch(0, &mut ec2).map_err(|e| {
                        Error::Usage(format!(
                            "{}: subnet {:?} has no free address for node {name}'s primary ENI ({e}); use a larger subnet or fewer nodes",
                            s.source,
                            ec2.subnets()[group.subnet].name()
                        ))
                    })?;
                }
                let mut node = Node::new(
                    name,
                    g,
                    group.instance_type,
                    max_pods,
                    group.host_network_pods,
                    ipamd,
                );
                node.joined = joined;
                nodes.push(node);
            }
        }
        // No node is Ready before its ipamd's first init: the scheduler starts empty, but
        // for the imported nodes, Ready at t=0.
        let mut scheduler = Scheduler::new(nodes.len());
        for (i, n) in nodes.iter().enumerate().take(imported) {
            scheduler.update(i, n.has_room().then_some(n.pods));
        }
        let pod_count = workloads.pods() as usize;
        let pins = (0..pod_count as u32)
            .map(|p| workloads.pinned_node(p).unwrap_or(u32::MAX))
            .collect();
        let collector = Collector::new(s);
        let mut sim = Sim {
            scenario: s,
            ec2,
            wake_gen: vec![0; nodes.len()],
            wake_at: vec![Millis::MAX; nodes.len()],
            nodes,
            scheduler,
            workloads,
            cursor: 0,
            queue: Queue::new(),
            pods: vec![Phase::Absent; pod_count],
            unschedulable: VecDeque::new(),
            pins,
            counts: PodCounts::default(),
            collector,
            events: 0,
            log: None,
            check_invariants: options.check_invariants,
        };
        for n in 0..sim.nodes.len() {
            match s.nodegroups[sim.nodes[n].nodegroup].start {
                _ if n < imported => sim.reschedule_wake(n),
                0 => sim.reschedule_wake(n),
                start => sim.push(start, Kind::Launch { node: n as u32 }),
            }
        }
        for b in bound {
            sim.bind_imported(b);
        }
        Ok(sim)
    }

    /// A `[start]` pod bound at t=0 (spec/real-inputs.md §9): with its address it runs (its
    /// ipamd restores the address from the checkpoint at init); without one its CNI ADD is
    /// retried until the node's ipamd is up and has an address.
    fn bind_imported(&mut self, b: crate::start::Bound) {
        let phase = if b.has_ip {
            Phase::Running { node: b.node }
        } else {
            self.push(
                self.scenario.model.cni_retry.millis(),
                Kind::Retry { pod: b.pod },
            );
            Phase::WaitingIp {
                node: b.node,
                bound: 0,
                reason: WaitReason::NoIp,
            }
        };
        self.set_phase(b.pod, phase);
    }

    fn push(&mut self, time: Millis, kind: Kind) {
        self.queue.push(time, kind);
    }

    /// Schedules node `n`'s wake-up if its ipamd now wants to run earlier than planned.
    fn reschedule_wake(&mut self, n: usize) {
        let want = self.nodes[n].ipamd.next_wake();
        // A wake-up later than the planned one is harmless: ipamd runs only what is due.
        if want < self.wake_at[n] {
            self.wake_gen[n] = self.wake_gen[n].wrapping_add(1);
            self.wake_at[n] = want;
            self.push(
                want,
                Kind::Wake {
                    node: n as u32,
                    generation: self.wake_gen[n],
                },
            );
        }
    }

    /// Records an event when recording.
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

    fn run(&mut self, progress: &mut dyn FnMut(Millis)) {
        let end = self.scenario.duration;
        let step = (end / 200).max(1);
        let mut next_progress = 0;
        let mut batch = 0;
        loop {
            let next_workload = self
                .workloads
                .events
                .get(self.cursor)
                .map_or(Millis::MAX, |e| e.time);
            let next_queued = self.queue.peek_time().unwrap_or(Millis::MAX);
            let t = next_workload.min(next_queued);
            if t > end {
                break;
            }
            if self.check_invariants && t != batch {
                self.check(batch);
                batch = t;
            }
            if t >= next_progress {
                progress(t);
                next_progress = t + step;
            }
            self.collector
                .sample_before(t, &self.nodes, &self.ec2, self.counts);
            self.events += 1;
            if next_workload <= next_queued {
                let e = self.workloads.events[self.cursor];
                self.cursor += 1;
                match e.kind {
                    PodEventKind::Add => self.add_pod(e.pod, t),
                    PodEventKind::Delete => self.delete_pod(e.pod, t),
                }
            } else {
                let (_, kind) = self.queue.pop().expect("peeked");
                match kind {
                    Kind::Wake { node, generation } => self.wake(node as usize, generation, t),
                    Kind::Retry { pod } => self.retry(pod, t),
                    Kind::Launch { node } => self.launch(node as usize, t),
                    Kind::Ready { node } => self.node_ready(node as usize, t),
                }
            }
        }
        if self.check_invariants {
            self.check(batch);
        }
        self.collector
            .sample_before(end + 1, &self.nodes, &self.ec2, self.counts);
    }

    /// The state checker, after the batch of events at `t`: a violation is a simulator bug.
    fn check(&self, t: Millis) {
        if let Err(v) = crate::invariants::check(&self.ec2, &self.nodes) {
            panic!(
                "{v} (after the events at t = {} s)",
                crate::time::seconds(t)
            );
        }
    }

    fn wake(&mut self, n: usize, generation: u32, now: Millis) {
        if generation != self.wake_gen[n] {
            return; // superseded by an earlier wake-up
        }
        self.wake_at[n] = Millis::MAX;
        let had_icb = self.ec2.first_insufficient_cidr_blocks().is_some();
        let before = self.log.is_some().then(|| self.nodes[n].ipamd.stats(now));
        let restarts = self.nodes[n].ipamd.restarts();
        self.nodes[n].ipamd.wake(now, &mut self.ec2);
        if self.nodes[n].ipamd.restarts() != restarts {
            self.record(now, EventKind::IpamdRestart, None, Some(n as u32), 0, 0);
        }
        if let Some(t) = self.nodes[n].take_ready_time() {
            self.push(t.max(now), Kind::Ready { node: n as u32 });
        }
        if let Some(b) = before {
            let a = self.nodes[n].ipamd.stats(now);
            if (a.total_ips, a.enis) != (b.total_ips, b.enis) {
                let kind = EventKind::Pool {
                    enis_before: b.enis as u8,
                    enis_after: a.enis as u8,
                };
                self.record(now, kind, None, Some(n as u32), b.total_ips, a.total_ips);
            }
        }
        if !had_icb && self.ec2.first_insufficient_cidr_blocks().is_some() {
            self.collector.snapshot_first_insufficient(now, &self.ec2);
        }
        self.reschedule_wake(n);
    }

    /// A node of a group with a later `start` joins: its primary ENI, then ipamd's init.
    /// It takes pods once Ready.
    fn launch(&mut self, n: usize, now: Millis) {
        if self.nodes[n].ipamd.launch(now, &mut self.ec2).is_err() {
            self.record(now, EventKind::NodeLaunchFailed, None, Some(n as u32), 0, 0);
            return;
        }
        self.nodes[n].joined = true;
        self.reschedule_wake(n);
    }

    /// Node `n` turns Ready: pods waiting for a slot may now go there.
    fn node_ready(&mut self, n: usize, now: Millis) {
        self.record(now, EventKind::NodeReady, None, Some(n as u32), 0, 0);
        let room = self.nodes[n].become_ready();
        self.scheduler.update(n, room);
        self.drain_unschedulable(now);
    }

    /// Moves `pod` to `phase`, keeping the running / waiting / unschedulable counts exact.
    fn set_phase(&mut self, pod: u32, phase: Phase) -> Phase {
        let old = std::mem::replace(&mut self.pods[pod as usize], phase);
        self.counts.leave(pod_state(old));
        self.counts.enter(pod_state(phase));
        old
    }

    fn add_pod(&mut self, pod: u32, now: Millis) {
        self.record(now, EventKind::PodAdd, Some(pod), None, 0, 0);
        match self.pick_node(pod) {
            Some(n) => self.bind(pod, n, now),
            None => {
                self.record(now, EventKind::PodUnschedulable, Some(pod), None, 0, 0);
                self.set_phase(pod, Phase::Unschedulable);
                self.counts.ever_unschedulable += 1;
                self.unschedulable.push_back(pod);
            }
        }
    }

    /// The node a pod goes to: its pinned node if it has room, else the scheduler's pick.
    fn pick_node(&self, pod: u32) -> Option<usize> {
        match self.pins[pod as usize] {
            u32::MAX => self.scheduler.pick(),
            pin => self
                .nodes
                .get(pin as usize)
                .filter(|n| n.has_room())
                .map(|_| pin as usize),
        }
    }

    fn bind(&mut self, pod: u32, n: usize, now: Millis) {
        let node = &mut self.nodes[n];
        node.pods += 1;
        let room = node.has_room().then_some(node.pods);
        self.scheduler.update(n, room);
        self.record(now, EventKind::PodBound, Some(pod), Some(n as u32), 0, 0);
        let phase = match self.nodes[n].ipamd.assign_pod(pod, now) {
            Ok(ip) => {
                self.record(now, EventKind::PodIp, Some(pod), Some(n as u32), ip, 0);
                Phase::Running { node: n as u32 }
            }
            Err(reason) => {
                self.record(
                    now,
                    EventKind::PodIpWait(reason),
                    Some(pod),
                    Some(n as u32),
                    0,
                    0,
                );
                self.push(
                    now + self.scenario.model.cni_retry.millis(),
                    Kind::Retry { pod },
                );
                Phase::WaitingIp {
                    node: n as u32,
                    bound: now,
                    reason,
                }
            }
        };
        self.set_phase(pod, phase);
        self.reschedule_wake(n);
    }

    fn retry(&mut self, pod: u32, now: Millis) {
        let Phase::WaitingIp {
            node,
            bound,
            reason,
        } = self.pods[pod as usize]
        else {
            return; // deleted while waiting
        };
        let n = node as usize;
        match self.nodes[n].ipamd.assign_pod(pod, now) {
            Ok(ip) => {
                self.record(now, EventKind::PodIp, Some(pod), Some(node), ip, 0);
                // The reason recorded is the one that held the pod up last.
                self.collector.pod_waited(
                    &self.workloads.pod_name(pod),
                    &self.nodes[n].name,
                    bound,
                    now,
                    true,
                    reason,
                );
                self.set_phase(pod, Phase::Running { node });
            }
            Err(reason) => {
                self.pods[pod as usize] = Phase::WaitingIp {
                    node,
                    bound,
                    reason,
                };
                self.push(
                    now + self.scenario.model.cni_retry.millis(),
                    Kind::Retry { pod },
                );
            }
        }
        self.reschedule_wake(n);
    }

    fn delete_pod(&mut self, pod: u32, now: Millis) {
        if self.log.is_some() {
            let node = match self.pods[pod as usize] {
                Phase::Running { node } | Phase::WaitingIp { node, .. } => Some(node),
                Phase::Absent | Phase::Unschedulable => None,
            };
            self.record(now, EventKind::PodDelete, Some(pod), node, 0, 0);
        }
        let n = match self.set_phase(pod, Phase::Absent) {
            Phase::Absent | Phase::Unschedulable => return,
            Phase::Running { node } => {
                self.nodes[node as usize].ipamd.release_pod(pod, now);
                node as usize
            }
            Phase::WaitingIp {
                node,
                bound,
                reason,
            } => {
                let name = &self.nodes[node as usize].name;
                self.collector.pod_waited(
                    &self.workloads.pod_name(pod),
                    name,
                    bound,
                    now,
                    false,
                    reason,
                );
                node as usize
            }
        };
        let node = &mut self.nodes[n];
        node.pods -= 1;
        let room = node.has_room().then_some(node.pods);
        self.scheduler.update(n, room);
        self.reschedule_wake(n);
        self.drain_unschedulable(now);
    }

    /// Binds queued pods, oldest first, while some node has room for them.
    fn drain_unschedulable(&mut self, now: Millis) {
        let mut i = 0;
        while i < self.unschedulable.len() {
            let pod = self.unschedulable[i];
            if self.pods[pod as usize] != Phase::Unschedulable {
                self.unschedulable.remove(i);
                continue;
            }
            match self.pick_node(pod) {
                Some(n) => {
                    self.unschedulable.remove(i);
                    self.bind(pod, n, now);
                }
                None if self.pins[pod as usize] == u32::MAX => break, // no room anywhere
                None => i += 1,                                       // pinned to a full node
            }
        }
    }

    fn finish(mut self) -> (RunOutput, Option<EventLog>) {
        let end = self.scenario.duration;
        // Pods still waiting at the end get a row that says they never got an address.
        for pod in 0..self.pods.len() {
            if let Phase::WaitingIp {
                node,
                bound,
                reason,
            } = self.pods[pod]
            {
                let name = self.workloads.pod_name(pod as u32).into_owned();
                self.collector.pod_waited(
                    &name,
                    &self.nodes[node as usize].name,
                    bound,
                    end,
                    false,
                    reason,
                );
            }
        }
        let output = self.collector.finish(
            self.scenario,
            &self.nodes,
            &self.ec2,
            self.events,
            self.counts,
        );
        let log = self.log.map(|records| EventLog {
            records,
            node_names: self.nodes.iter().map(|n| n.name.clone()).collect(),
            workloads: self.workloads,
        });
        (output, log)
    }
}

fn pod_state(p: Phase) -> Option<crate::report::collect::PodState> {
    use crate::report::collect::PodState;
    match p {
        Phase::Absent => None,
        Phase::Unschedulable => Some(PodState::Unschedulable),
        Phase::WaitingIp { .. } => Some(PodState::WaitingIp),
        Phase::Running { .. } => Some(PodState::Running),
    }
}
