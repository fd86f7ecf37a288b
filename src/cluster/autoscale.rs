//! What an autoscaler (Karpenter's `[[nodepool]]`, [`crate::karpenter`]) does to the
//! cluster: count the pods it may launch nodes for, add a node it launched, and take a node
//! out with its pods.

use super::{Cluster, Effects, EventKind, Node, PodPhase};
use crate::ec2::Ec2;
use crate::time::Millis;

impl Cluster {
    /// Pending pods Karpenter provisions for: unschedulable, and not pinned to a node (a
    /// trace pod bound by name is not provisionable). O(1) unless some pod is pinned.
    pub fn pending_pods(&self) -> u32 {
        if !self.any_pinned {
            return self.counts.unschedulable;
        }
        self.unschedulable
            .iter()
            .filter(|&&p| {
                self.pods[p as usize] == PodPhase::Unschedulable && self.pin(p) == u32::MAX
            })
            .count() as u32
    }

    /// Adds `node` (a pool's, not started) and launches its instance at `now`, booting for
    /// `boot` before its aws-node starts ([`crate::ipamd::Ipamd::launch_booting`]). Returns
    /// its index and whether the launch found an address for the primary ENI; a node that
    /// did not is out of the cluster at once (terminated at `now`, never joined).
    pub fn launch_booting(
        &mut self,
        node: Node,
        now: Millis,
        boot: Millis,
        ec2: &mut Ec2,
        fx: &mut impl Effects,
    ) -> (usize, bool) {
        let n = self.add_node(node);
        self.touch(n);
        let node = &mut self.nodes[n];
        node.start = now;
        match node.with_ipamd(|i| i.launch_booting(now, boot, ec2)) {
            Ok(()) => {
                node.joined = true;
                fx.record(now, EventKind::NodeLaunched, None, Some(n as u32), 0, 0);
                self.plan_wake(n, fx);
                (n, true)
            }
            Err(_) => {
                fx.record(now, EventKind::NodeLaunchFailed, None, Some(n as u32), 0, 0);
                node.terminated = Some(now);
                self.remove_node(n).expect("a new node is empty");
                (n, false)
            }
        }
    }

    /// Node `n` is consolidated at `now`: cordoned, its pods evicted — pending again, as
    /// their ReplicaSets would recreate them (the model keeps their ids) — taken out, and
    /// its instance terminated, EC2 deleting its ENIs ([`crate::ipamd::Ipamd::terminate`]).
    /// The pending pods then go to the nodes with room.
    pub fn terminate_node(&mut self, n: usize, now: Millis, ec2: &mut Ec2, fx: &mut impl Effects) {
        self.touch(n);
        self.nodes[n].schedulable = false;
        self.scheduler.update(n, None);
        if self.nodes[n].pods > 0 {
            // Pod ids are dense and few nodes are consolidated with pods: one scan.
            for pod in 0..self.pods.len() as u32 {
                match self.pods[pod as usize] {
                    PodPhase::Running { node } if node as usize == n => {}
                    PodPhase::WaitingIp { node, reason } if node as usize == n => {
                        // Its wait ends without an address; a retry still queued finds the
                        // pod pending (or bound anew, where it is one more CNI ADD).
                        let bound = self.take_bound_at(pod);
                        fx.pod_waited(pod, node, bound, now, false, reason);
                    }
                    _ => continue,
                }
                fx.record(now, EventKind::PodEvicted, Some(pod), Some(n as u32), 0, 0);
                self.queue_unschedulable(pod);
                fx.pending(pod, now);
            }
            fx.pod_moved(n, now);
            self.nodes[n].pods = 0;
        }
        self.remove_node(n).expect("emptied above");
        let node = &mut self.nodes[n];
        node.with_ipamd(|i| i.terminate(now, ec2));
        node.ready = false;
        node.terminated = Some(now);
        fx.record(now, EventKind::NodeTerminated, None, Some(n as u32), 0, 0);
        self.drain(now, fx);
    }
}
