//! The cluster: nodes, pods and the scheduler.
//!
//! A node group is `count` nodes of one instance type. Each node has a max-pods limit (the
//! scenario's `max_pods`, else the max-pods calculator's value for the scenario's CNI
//! settings), a number of host-network pods (default 2: aws-node and kube-proxy) that count
//! against max pods but take no pod address, and its own ipamd.
//!
//! A node is Ready, and the scheduler may bind pods to it, only from the moment its first
//! ipamd init succeeded (spec/ipamd-policy.md §6.3, "Modelling choices" 1): until aws-node
//! has written the CNI config kubelet reports it NotReady and it carries the
//! `node.kubernetes.io/not-ready:NoSchedule` taint. Once Ready it stays Ready (nothing
//! removes the config), whatever its ipamd does later.
//!
//! The scheduler binds each new pod to the node with the fewest pods among the Ready nodes
//! under max pods, ties broken by the lowest node index — a stand-in for kube-scheduler's
//! `LeastAllocated` spreading that is deterministic and O(log n). Pods that fit nowhere queue
//! FIFO until a slot frees.
//!
//! [`Cluster`] owns all of it: the nodes, each pod's [`PodPhase`], the scheduler and the
//! unschedulable FIFO. It keeps no clock and no queue: every operation takes `now`, and what
//! must happen later (a CNI ADD retry, a node's ipamd wake-up, a node turning Ready) or is
//! worth recording goes to the engine through [`Effects`]. Nodes are added with
//! [`Cluster::add_node`] (the scenario's nodes at the start, [`Cluster::assemble`]; an
//! autoscaler's mid-run) and taken out, once empty, with [`Cluster::remove_node`].
//!
//! Layout: `node.rs` ([`Node`]), `scheduler.rs` ([`Scheduler`]), `pod.rs` ([`PodPhase`],
//! [`WaitReason`], [`PodCounts`]), `event.rs` ([`EventKind`], [`EventRecord`]),
//! `assemble.rs` (nodes from a scenario), `pods.rs` (bind, retry, delete, drain), `memo.rs`
//! (failed CNI ADDs remembered, [`CniRetry`]), `changed.rs` (the nodes the report's next
//! sample recomputes, [`ChangedNodes`]).

mod assemble;
mod autoscale;
mod changed;
mod event;
mod memo;
mod node;
mod pod;
mod pods;
mod scheduler;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};

use crate::ec2::Ec2;
use crate::ipamd::CallOrder;
use crate::start::Bound;
use crate::time::Millis;

pub use changed::ChangedNodes;
pub use event::{EventKind, EventRecord};
pub use memo::CniRetry;
pub use node::Node;
pub use pod::{PodCounts, PodPhase, WaitReason, WaitingPod};
pub use scheduler::Scheduler;

/// What the cluster asks of the engine around it. The engine implements it over its event
/// queue, its event log and its metrics; the cluster never allocates to call it.
pub trait Effects {
    /// kubelet retries a pod's CNI ADD at `at` ([`Cluster::retry`] then), in its place
    /// among the events of that millisecond ([`CniRetry::key`]).
    fn retry(&mut self, retry: CniRetry, at: Millis);
    /// The failure noted in node `node`'s epoch `epoch` of failed CNI ADDs stops holding at
    /// `at` ([`Cluster::memo_expired`] then, before the retries of that millisecond).
    fn memo_expires(&mut self, node: usize, epoch: u32, at: Millis);
    /// Node `node`'s ipamd runs at `at` ([`Cluster::take_wake`] then, with `generation`):
    /// the node's newly planned wake-up, earlier than any it had planned
    /// (`Cluster::plan_wake`). A wake-up queued before it is superseded.
    fn wake(&mut self, node: usize, at: Millis, generation: u32);
    /// Node `node`'s instance starts at `at` ([`Cluster::launch_node`] then).
    fn launch(&mut self, node: usize, at: Millis);
    /// Node `node` turns Ready at `at` ([`Cluster::node_ready`] then).
    fn ready(&mut self, node: usize, at: Millis);
    /// Whether [`Effects::record`] keeps anything (work done only to record is skipped
    /// otherwise).
    fn recording(&self) -> bool;
    /// Something happened (`events.csv`; see [`EventRecord`] for `a` and `b`).
    fn record(
        &mut self,
        now: Millis,
        kind: EventKind,
        pod: Option<u32>,
        node: Option<u32>,
        a: u32,
        b: u32,
    );
    /// `pod` became pending: no node had room for it (Karpenter's provisioner is triggered
    /// by such pods). Default: nothing.
    fn pending(&mut self, _pod: u32, _now: Millis) {}
    /// A pod was bound to node `node` or left it (Karpenter's `lastPodEventTime`). Default:
    /// nothing.
    fn pod_moved(&mut self, _node: usize, _now: Millis) {}
    /// A bound pod's wait for an address on node `node` ended at `until`: it got one
    /// (`got_ip`), or was deleted, or the run ended. `reason` is the one that held it up last.
    fn pod_waited(
        &mut self,
        pod: u32,
        node: u32,
        bound: Millis,
        until: Millis,
        got_ip: bool,
        reason: WaitReason,
    );
}

/// Why [`Cluster::remove_node`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RemoveNodeError {
    /// No node has that index.
    #[error("no node {0}")]
    NoSuchNode(usize),
    /// Pods are still bound to it (drain it first).
    #[error("node {node} still has {pods} pods")]
    NotEmpty {
        /// The node.
        node: usize,
        /// Pods bound to it.
        pods: u32,
    },
}

/// Nodes, pods and the scheduler (module docs).
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<Node>,
    scheduler: Scheduler,
    /// Each pod's phase, by pod id.
    pods: Vec<PodPhase>,
    /// When each pod waiting for an address ([`PodPhase::WaitingIp`]) was bound: a few
    /// thousand at a time at most, against millions of phases.
    bound_at: BTreeMap<u32, Millis>,
    /// Pods waiting for a node slot, FIFO; entries whose pod left are skipped lazily.
    unschedulable: VecDeque<u32>,
    /// Pinned node of a trace pod, if any (dense: `u32::MAX` = not pinned; empty when no
    /// pod is, which saves 4 bytes a pod: 80 MB on ultra-100k), read through
    /// [`Cluster::pin`].
    pins: Vec<u32>,
    /// Some pod is pinned (a trace's `node` column).
    any_pinned: bool,
    counts: PodCounts,
    /// kubelet's CNI ADD retry interval.
    cni_retry: Millis,
    /// The pods `[start]` binds at t=0, until [`Cluster::start`].
    imported_pods: Vec<Bound>,
    /// Nodes up at t=0 (their `start` is 0) not yet Ready, from [`Cluster::start`] on.
    starting: u32,
    /// When the cluster settled, once it has.
    settled_at: Option<Millis>,
    /// Retries that provably fail again, parked on their nodes (`memo.rs`).
    parking: memo::Parking,
    /// Retries that provably fail again are parked (`memo.rs`).
    memo_failed_adds: bool,
    /// Nodes that may have changed since the report's last sample (`changed.rs`).
    changed: ChangedNodes,
    /// Where the event being handled falls within its millisecond, for ipamd's CNI calls
    /// ([`Cluster::set_call_order`]).
    order: CallOrder,
}

impl Cluster {
    /// A cluster without nodes, for `pods` pods (ids `0..pods`, all absent), kubelet retrying
    /// a failed CNI ADD every `cni_retry`. `pin(p)` is the node pod `p` must go to, if any.
    pub fn new(pods: u32, cni_retry: Millis, pin: impl Fn(u32) -> Option<u32>) -> Self {
        let any_pinned = (0..pods).any(|p| pin(p).is_some());
        let pins = match any_pinned {
            true => (0..pods).map(|p| pin(p).unwrap_or(u32::MAX)).collect(),
            false => Vec::new(),
        };
        Cluster {
            any_pinned,
            nodes: Vec::new(),
            scheduler: Scheduler::new(0),
            pods: vec![PodPhase::Absent; pods as usize],
            bound_at: BTreeMap::new(),
            unschedulable: VecDeque::new(),
            pins,
            counts: PodCounts::default(),
            cni_retry,
            imported_pods: Vec::new(),
            starting: 0,
            settled_at: None,
            parking: memo::Parking::default(),
            changed: ChangedNodes::default(),
            memo_failed_adds: true,
            order: CallOrder::BeforeWakes,
        }
    }

    /// The engine says where the events it hands over next fall within their millisecond:
    /// a pod event of the workloads comes before the ipamd wake-ups due then, anything the
    /// queue delivers after them ([`CallOrder`]).
    pub fn set_call_order(&mut self, order: CallOrder) {
        self.order = order;
    }

    /// Prefetch hints ([`crate::prefetch`]) for an event of `pod` to come, in three steps
    /// each a few events apart, each reading what the one before fetched: the pod's phase;
    /// then its node's state, returning the node; then the node's datastore tables.
    pub fn prefetch_pod(&self, pod: u32) {
        crate::prefetch::element(&self.pods, pod as usize);
    }

    /// The second step of [`Cluster::prefetch_pod`]: the node `pod` is on, if any (its
    /// state and its scheduler key).
    pub fn prefetch_node_of(&self, pod: u32) {
        if let Some(n) = self.node_of(pod) {
            self.prefetch_node(n);
            self.scheduler.prefetch(n);
        }
    }

    /// Prefetch hints for an event on node `n` to come: its state (its memo and planned
    /// wake-up included).
    pub fn prefetch_node(&self, n: usize) {
        if let Some(node) = self.nodes.get(n) {
            node.prefetch();
        }
    }

    /// Prefetch hints for a wake-up of node `n` to come ([`Node::prefetch_wake`]).
    pub fn prefetch_wake(&self, n: usize) {
        if let Some(node) = self.nodes.get(n) {
            node.prefetch_wake();
        }
    }

    /// The third step of [`Cluster::prefetch_pod`].
    pub fn prefetch_tables_of(&self, pod: u32) {
        if let Some(n) = self.node_of(pod) {
            self.nodes[n].ipamd.datastore().prefetch_data(pod);
        }
    }

    /// The fourth step of [`Cluster::prefetch_pod`], for a pod to be deleted: the CIDR entry
    /// its address is in.
    pub fn prefetch_release_of(&self, pod: u32) {
        if let Some(n) = self.node_of(pod) {
            self.nodes[n].ipamd.datastore().prefetch_release(pod);
        }
    }

    /// The node `pod` is on, if any (for the prefetch steps).
    fn node_of(&self, pod: u32) -> Option<usize> {
        let n = self.pods.get(pod as usize)?.node()? as usize;
        (n < self.nodes.len()).then_some(n)
    }

    /// The node `pod` is pinned to (`u32::MAX`: none).
    fn pin(&self, pod: u32) -> u32 {
        self.pins.get(pod as usize).copied().unwrap_or(u32::MAX)
    }

    /// Whether the cluster has settled: every node up at t=0 has been Ready (nodes joining
    /// later and Karpenter's launches do not count). Before that, pods created with the
    /// cluster wait for their nodes' aws-node to start (the `node.kubernetes.io/not-ready`
    /// taint), which is start-up, not a lack of capacity. A cluster whose starting nodes
    /// never all become Ready never settles, and then every pod that waited for a slot
    /// counts as a shortfall ([`PodCounts::unschedulable_settled`] is read with that in
    /// mind by the report).
    pub fn settled(&self) -> bool {
        self.settled_at.is_some()
    }

    /// When the cluster settled ([`Cluster::settled`]): the moment its last starting node
    /// turned Ready, 0 without starting nodes; `None` if it never did.
    pub fn settled_at(&self) -> Option<Millis> {
        self.settled_at
    }

    /// The nodes, by index (removed ones included).
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Node `n`.
    pub fn node(&self, n: usize) -> &Node {
        &self.nodes[n]
    }

    /// Live pods by phase. Until the cluster has [`settled`](Cluster::settled), every pod
    /// that waited for a slot counts in [`PodCounts::unschedulable_settled`]: a start that
    /// never completes is no excuse.
    pub fn counts(&self) -> PodCounts {
        let mut c = self.counts;
        if !self.settled() {
            c.unschedulable_settled = c.ever_unschedulable;
        }
        c
    }

    /// Pod `pod`'s phase.
    pub fn phase(&self, pod: u32) -> PodPhase {
        self.pods[pod as usize]
    }

    /// Adds a node and returns its index. A node already Ready (imported at t=0) with room
    /// takes pods at once; others wait for [`Cluster::node_ready`]. Starting it is the
    /// caller's: [`Cluster::start_node`] (or its ipamd was launched already).
    pub fn add_node(&mut self, node: Node) -> usize {
        let n = self.nodes.len();
        let room = node.has_room().then_some(node.pods);
        self.nodes.push(node);
        self.add_parking();
        let s = self.scheduler.add_node();
        debug_assert_eq!(s, n);
        self.scheduler.update(n, room);
        n
    }

    /// Takes an empty node out of the cluster (an autoscaler's consolidation): it gets no pod
    /// again and keeps its index. Its instance is not terminated here: giving its ENIs back
    /// to EC2 is the caller's.
    pub fn remove_node(&mut self, n: usize) -> Result<(), RemoveNodeError> {
        let node = self
            .nodes
            .get_mut(n)
            .ok_or(RemoveNodeError::NoSuchNode(n))?;
        if node.pods > 0 {
            return Err(RemoveNodeError::NotEmpty {
                node: n,
                pods: node.pods,
            });
        }
        node.removed = true;
        node.schedulable = false;
        self.scheduler.update(n, None);
        self.touch(n);
        Ok(())
    }

    /// Plans node `n`'s start: an instance up already (started at 0) has its first ipamd
    /// wake-up planned, a later one its launch at its `start`.
    pub fn start_node(&mut self, n: usize, fx: &mut impl Effects) {
        match self.nodes[n].start {
            0 => self.plan_wake(n, fx),
            start => fx.launch(n, start),
        }
    }

    /// Plans node `n`'s next ipamd wake-up if its ipamd now wants to run earlier than
    /// planned, and hands it to the engine ([`Effects::wake`]). Called after anything that
    /// may have made it earlier; a later time is ignored (ipamd runs only what is due, and
    /// each wake-up plans the next).
    pub(super) fn plan_wake(&mut self, n: usize, fx: &mut impl Effects) {
        let want = self.nodes[n].ipamd.next_wake();
        self.plan_wake_at(n, want, fx);
    }

    /// Plans node `n`'s wake-up at `want` if that is earlier than planned.
    #[inline]
    fn plan_wake_at(&mut self, n: usize, want: Millis, fx: &mut impl Effects) {
        let node = &mut self.nodes[n];
        if want < node.wake_at {
            node.wake_generation = node.wake_generation.wrapping_add(1);
            node.wake_at = want;
            fx.wake(n, want, node.wake_generation);
        }
    }

    /// [`Cluster::plan_wake`] after a CNI call on node `n` (a pod's ADD or DEL, or a
    /// kubelet retry). A call moves only the main loop's time (`Ipamd::loop_wake`), never the
    /// leaked-ENI cleanup's, and every plan since the cleanup's time last moved was made with
    /// it (each wake-up and launch ends with [`Cluster::plan_wake`]), so the planned time is
    /// at or before the cleanup's: the loop's time alone makes the same plan, without reading
    /// the cleanup's line (issue 13). Debug builds check that it is the same.
    #[inline]
    pub(super) fn plan_wake_after_call(&mut self, n: usize, fx: &mut impl Effects) {
        let node = &self.nodes[n];
        let want = node.ipamd.loop_wake();
        debug_assert!(
            node.ipamd.next_wake() >= want.min(node.wake_at),
            "node {n}: the cleanup is due before the planned wake-up"
        );
        self.plan_wake_at(n, want, fx);
    }

    /// The engine's wake-up of node `n` planned as `generation` has come: whether it is the
    /// node's current plan (else an earlier one superseded it and it does nothing). If it
    /// is, nothing is planned any more until the wake-up plans its next.
    pub fn take_wake(&mut self, n: usize, generation: u32) -> bool {
        let current = self.wake_is_current(n, generation);
        if current {
            self.nodes[n].wake_at = Millis::MAX;
        }
        current
    }

    /// Whether a wake-up of node `n` planned as `generation` is its current plan (for
    /// `--stats`).
    pub fn wake_is_current(&self, n: usize, generation: u32) -> bool {
        self.nodes[n].wake_generation == generation
    }

    /// Node `n`'s instance starts: its primary ENI, then ipamd's init. It takes pods once
    /// Ready. Without an address for the primary ENI it never joins.
    pub fn launch_node(&mut self, n: usize, now: Millis, ec2: &mut Ec2, fx: &mut impl Effects) {
        self.touch(n);
        let node = &mut self.nodes[n];
        if node.with_ipamd(|i| i.launch(now, ec2)).is_err() {
            fx.record(now, EventKind::NodeLaunchFailed, None, Some(n as u32), 0, 0);
            return;
        }
        node.joined = true;
        self.plan_wake(n, fx);
    }

    /// Node `n`'s ipamd runs what is due at `now`: its restarts and pool changes are
    /// recorded, and its readiness planned the first time its init has succeeded.
    ///
    /// A wake-up that leaves what a CNI ADD reads unchanged ([`Ipamd::add_key`]) keeps the
    /// node's record of failed ADDs (the module docs, "Failed CNI ADDs"); the key is read
    /// only while that record notes a failure that still holds.
    ///
    /// [`Ipamd::add_key`]: crate::ipamd::Ipamd::add_key
    pub fn wake_node(&mut self, n: usize, now: Millis, ec2: &mut Ec2, fx: &mut impl Effects) {
        self.changed.mark(n);
        let key = self
            .failure_noted(n, now)
            .then(|| self.nodes[n].ipamd.add_key());
        let node = &mut self.nodes[n];
        let before = fx.recording().then(|| node.ipamd.stats(now));
        // Read only when recording: the restart count's line is not a wake-up's otherwise.
        let restarts = fx.recording().then(|| node.ipamd.restarts());
        node.with_ipamd(|i| i.wake(now, ec2));
        if restarts.is_some_and(|r| r != node.ipamd.restarts()) {
            fx.record(now, EventKind::IpamdRestart, None, Some(n as u32), 0, 0);
        }
        if let Some(t) = node.take_ready_time() {
            fx.ready(n, t.max(now));
        }
        if let Some(b) = before {
            let a = node.ipamd.stats(now);
            if (a.total_ips, a.enis) != (b.total_ips, b.enis) {
                let kind = EventKind::Pool {
                    enis_before: b.enis as u8,
                    enis_after: a.enis as u8,
                };
                fx.record(now, kind, None, Some(n as u32), b.total_ips, a.total_ips);
            }
        }
        self.plan_wake(n, fx);
        if key.is_some_and(|k| self.nodes[n].ipamd.add_key() != k) {
            self.touch(n);
        }
    }

    /// Node `n` turns Ready: pods waiting for a slot may now go there.
    pub fn node_ready(&mut self, n: usize, now: Millis, fx: &mut impl Effects) {
        fx.record(now, EventKind::NodeReady, None, Some(n as u32), 0, 0);
        self.touch(n);
        let starting = self.nodes[n].start == 0 && !self.nodes[n].ready;
        let room = self.nodes[n].become_ready();
        self.scheduler.update(n, room);
        self.drain(now, fx);
        if starting && self.starting > 0 {
            self.starting -= 1;
            if self.starting == 0 {
                // The pods still queued now wait for capacity, not for start-up.
                self.counts.unschedulable_settled += self.counts.unschedulable;
                self.settled_at = Some(now);
            }
        }
    }

    /// Every pod still waiting for an address, by pod id (at the end of a run).
    pub fn waiting_ip(&self) -> impl Iterator<Item = WaitingPod> + '_ {
        self.bound_at
            .iter()
            .map(|(&pod, &bound)| match self.pods[pod as usize] {
                PodPhase::WaitingIp { node, reason } => WaitingPod {
                    pod,
                    node,
                    bound,
                    reason,
                },
                other => unreachable!("pod {pod} has a bind time but is {other:?}"),
            })
    }

    /// When `pod`, waiting for an address until now, was bound; it waits no more.
    fn take_bound_at(&mut self, pod: u32) -> Millis {
        self.bound_at
            .remove(&pod)
            .expect("a pod waiting for an address has a bind time")
    }

    /// Consumes the cluster, keeping its nodes.
    pub fn into_nodes(self) -> Vec<Node> {
        self.nodes
    }
}
