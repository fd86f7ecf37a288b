//! Pods through the cluster: added, bound (or queued as unschedulable), their CNI ADD
//! retried until they have an address, deleted; the unschedulable FIFO drained whenever a
//! slot may have freed.

use super::{Cluster, CniRetry, Effects, EventKind, PodPhase, WaitReason};
use crate::start::Bound;
use crate::time::Millis;

impl Cluster {
    /// Moves `pod` to `phase`, keeping the live-pod counts exact; returns its old phase.
    pub(super) fn set_phase(&mut self, pod: u32, phase: PodPhase) -> PodPhase {
        let old = std::mem::replace(&mut self.pods[pod as usize], phase);
        self.counts.leave(old);
        self.counts.enter(phase);
        old
    }

    /// A `[start]` pod bound at t=0 (spec/real-inputs.md §9): with its address it runs (its
    /// ipamd restores the address from the checkpoint at init); without one its CNI ADD is
    /// retried until the node's ipamd is up and has an address. Its node already counts it.
    pub fn bind_imported(&mut self, b: Bound, fx: &mut impl Effects) {
        let phase = if b.has_ip {
            PodPhase::Running { node: b.node }
        } else {
            // Stamp 0: no CNI ADD yet, the first retry asks ipamd.
            let retry = CniRetry {
                pod: b.pod,
                node: b.node,
                stamp: 0,
            };
            fx.retry(retry, self.cni_retry);
            self.bound_at.insert(b.pod, 0);
            PodPhase::WaitingIp {
                node: b.node,
                reason: WaitReason::NoIp,
            }
        };
        self.set_phase(b.pod, phase);
    }

    /// A pod is created: bound to a node with room, else queued as unschedulable.
    pub fn add_pod(&mut self, pod: u32, now: Millis, fx: &mut impl Effects) {
        fx.record(now, EventKind::PodAdd, Some(pod), None, 0, 0);
        match self.pick_node(pod) {
            Some(n) => self.bind(pod, n, now, fx),
            None => {
                fx.record(now, EventKind::PodUnschedulable, Some(pod), None, 0, 0);
                self.queue_unschedulable(pod);
                fx.pending(pod, now);
            }
        }
    }

    /// Queues `pod` for a node slot (kube-scheduler's `Unschedulable`), counting it.
    pub(super) fn queue_unschedulable(&mut self, pod: u32) {
        self.set_phase(pod, PodPhase::Unschedulable);
        self.counts.ever_unschedulable += 1;
        if self.settled() {
            self.counts.unschedulable_settled += 1;
        }
        self.unschedulable.push_back(pod);
    }

    /// The node a pod goes to: its pinned node if it has room, else the scheduler's pick.
    fn pick_node(&self, pod: u32) -> Option<usize> {
        match self.pin(pod) {
            u32::MAX => self.scheduler.pick(),
            pin => self
                .nodes
                .get(pin as usize)
                .filter(|n| n.has_room())
                .map(|_| pin as usize),
        }
    }

    /// Binds `pod` to node `n` and makes its first CNI ADD; on failure kubelet retries.
    /// (Always inlined, as PGO does: `benches/HISTORY.md` item 42.)
    #[inline(always)]
    fn bind(&mut self, pod: u32, n: usize, now: Millis, fx: &mut impl Effects) {
        // The ADD's first read, the pod table's line for `pod`, asked for before the
        // scheduler's update and the records (the node is the scheduler's pick, known only now).
        self.nodes[n].ipamd.datastore().prefetch_data(pod);
        let node = &mut self.nodes[n];
        node.pods += 1;
        let room = node.has_room().then_some(node.pods);
        self.scheduler.update(n, room);
        fx.record(now, EventKind::PodBound, Some(pod), Some(n as u32), 0, 0);
        fx.pod_moved(n, now);
        let added = self.nodes[n].with_ipamd(|i| i.assign_pod_ordered(pod, now, self.order));
        let phase = match added {
            Ok(ip) => {
                self.touch(n);
                fx.record(now, EventKind::PodIp, Some(pod), Some(n as u32), ip, 0);
                PodPhase::Running { node: n as u32 }
            }
            Err(reason) => {
                let kind = EventKind::PodIpWait(reason);
                fx.record(now, kind, Some(pod), Some(n as u32), 0, 0);
                self.failed_add(pod, n, now, fx);
                self.bound_at.insert(pod, now);
                PodPhase::WaitingIp {
                    node: n as u32,
                    reason,
                }
            }
        };
        self.set_phase(pod, phase);
        self.plan_wake_after_call(n, fx);
    }

    /// kubelet retries a pod's CNI ADD (nothing if it was deleted meanwhile). A retry that
    /// provably fails as the last one did is parked at its next due time (`memo.rs`).
    pub fn retry(&mut self, r: CniRetry, now: Millis, fx: &mut impl Effects) {
        if self.fails_again(r, now) {
            self.reschedule(r, now + self.cni_retry, fx);
            return;
        }
        let pod = r.pod;
        let PodPhase::WaitingIp { node, reason } = self.pods[pod as usize] else {
            return; // deleted while waiting
        };
        let n = node as usize;
        match self.nodes[n].with_ipamd(|i| i.assign_pod_ordered(pod, now, self.order)) {
            Ok(ip) => {
                self.touch(n);
                fx.record(now, EventKind::PodIp, Some(pod), Some(node), ip, 0);
                // The reason recorded is the one that held the pod up last.
                let bound = self.take_bound_at(pod);
                fx.pod_waited(pod, node, bound, now, true, reason);
                self.set_phase(pod, PodPhase::Running { node });
            }
            Err(reason) => {
                self.pods[pod as usize] = PodPhase::WaitingIp { node, reason };
                self.failed_add(pod, n, now, fx);
            }
        }
        self.plan_wake_after_call(n, fx);
    }

    /// A pod is deleted: its address goes back to its node's ipamd, its slot to the
    /// scheduler, and the unschedulable FIFO is drained.
    pub fn delete_pod(&mut self, pod: u32, now: Millis, fx: &mut impl Effects) {
        if fx.recording() {
            let node = self.pods[pod as usize].node();
            fx.record(now, EventKind::PodDelete, Some(pod), node, 0, 0);
        }
        let n = match self.set_phase(pod, PodPhase::Absent) {
            PodPhase::Absent | PodPhase::Unschedulable => return,
            PodPhase::Running { node } => {
                self.nodes[node as usize]
                    .with_ipamd(|i| i.release_pod_ordered(pod, now, self.order));
                node as usize
            }
            PodPhase::WaitingIp { node, reason } => {
                let bound = self.take_bound_at(pod);
                fx.pod_waited(pod, node, bound, now, false, reason);
                node as usize
            }
        };
        self.touch(n);
        fx.pod_moved(n, now);
        let node = &mut self.nodes[n];
        node.pods -= 1;
        let room = node.has_room().then_some(node.pods);
        self.scheduler.update(n, room);
        self.plan_wake_after_call(n, fx);
        self.drain(now, fx);
    }

    /// Binds queued pods, oldest first, while some node has room for them.
    #[inline]
    pub fn drain(&mut self, now: Millis, fx: &mut impl Effects) {
        if !self.unschedulable.is_empty() {
            self.drain_queued(now, fx);
        }
    }

    /// [`Cluster::drain`] with pods queued (out of line: every pod delete drains, and the
    /// queue is mostly empty).
    #[inline(never)]
    fn drain_queued(&mut self, now: Millis, fx: &mut impl Effects) {
        let mut i = 0;
        while i < self.unschedulable.len() {
            let pod = self.unschedulable[i];
            if self.pods[pod as usize] != PodPhase::Unschedulable {
                self.unschedulable.remove(i);
                continue;
            }
            match self.pick_node(pod) {
                Some(n) => {
                    self.unschedulable.remove(i);
                    self.bind(pod, n, now, fx);
                }
                None if self.pin(pod) == u32::MAX => break, // no room anywhere
                None => i += 1,                             // pinned to a full node
            }
        }
    }
}
