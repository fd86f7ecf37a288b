//! Nodes, node groups and the scheduler.
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

use crate::catalog::InstanceType;
use crate::ipamd::Ipamd;
use crate::time::Millis;

/// One EKS node.
#[derive(Debug)]
pub struct Node {
    /// `{nodegroup}-{i}`.
    pub name: String,
    /// Index of its node group in the scenario.
    pub nodegroup: usize,
    /// Its instance type.
    pub instance: &'static InstanceType,
    /// Max pods (host-network pods included).
    pub max_pods: u32,
    /// Host-network pods: count against max pods, take no pod address.
    pub host_network_pods: u32,
    /// Pods bound to the node (with or without an address), host-network pods excluded.
    pub pods: u32,
    /// The node's ipamd.
    pub ipamd: Ipamd,
    /// The instance is running (its group's `start` has come and its primary ENI found an
    /// address).
    pub joined: bool,
    /// The node is Ready (§6.3): pods may be bound to it.
    pub ready: bool,
    /// Its readiness has been handed to the engine ([`Node::take_ready_time`]).
    pub ready_scheduled: bool,
    /// Not cordoned (an imported node that was cordoned or not Ready keeps its pods and
    /// ipamd but gets no new pods, spec/real-inputs.md §6).
    pub schedulable: bool,
}

impl Node {
    /// A node that has not joined yet.
    pub fn new(
        name: String,
        nodegroup: usize,
        instance: &'static InstanceType,
        max_pods: u32,
        host_network_pods: u32,
        ipamd: Ipamd,
    ) -> Self {
        Node {
            name,
            nodegroup,
            instance,
            max_pods,
            host_network_pods,
            pods: 0,
            ipamd,
            joined: false,
            ready: false,
            ready_scheduled: false,
            schedulable: true,
        }
    }

    /// Whether the node is Ready and one more pod fits under max pods.
    pub fn has_room(&self) -> bool {
        self.ready && self.schedulable && self.pods + self.host_network_pods < self.max_pods
    }

    /// When the node becomes Ready, the first time this is asked after its ipamd's first
    /// successful init (the engine then schedules [`Node::become_ready`] for that time).
    pub fn take_ready_time(&mut self) -> Option<Millis> {
        if self.ready_scheduled {
            return None;
        }
        let t = self.ipamd.ready_at()?;
        self.ready_scheduled = true;
        Some(t)
    }

    /// The node turns Ready: the scheduler may bind pods to it from now on. Returns its
    /// pod count if it has room, for [`Scheduler::update`].
    pub fn become_ready(&mut self) -> Option<u32> {
        self.ready = true;
        self.has_room().then_some(self.pods)
    }
}

/// Picks the node with the fewest pods among those with room, ties by lowest index.
///
/// A min segment tree over `(pods, node)` keys; a node without room holds `u32::MAX`.
/// Updates and queries are O(log n) and never allocate.
#[derive(Debug, Clone)]
pub struct Scheduler {
    leaves: usize,
    tree: Vec<(u32, u32)>,
}

const FULL: u32 = u32::MAX;

impl Scheduler {
    /// A scheduler over `n` nodes, all initially without room.
    pub fn new(n: usize) -> Self {
        let leaves = n.next_power_of_two().max(1);
        let mut tree = vec![(FULL, u32::MAX); 2 * leaves];
        for i in 0..n {
            tree[leaves + i] = (FULL, i as u32);
        }
        let mut s = Scheduler { leaves, tree };
        for i in (1..leaves).rev() {
            s.tree[i] = s.tree[2 * i].min(s.tree[2 * i + 1]);
        }
        s
    }

    /// Records node `node`'s pod count, or that it has no room (`None`).
    pub fn update(&mut self, node: usize, pods_if_room: Option<u32>) {
        let mut i = self.leaves + node;
        self.tree[i] = (pods_if_room.unwrap_or(FULL), node as u32);
        while i > 1 {
            i /= 2;
            self.tree[i] = self.tree[2 * i].min(self.tree[2 * i + 1]);
        }
    }

    /// The node to bind the next pod to, if any has room.
    pub fn pick(&self) -> Option<usize> {
        let (pods, node) = self.tree[1];
        (pods != FULL).then_some(node as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn picks_fewest_pods_then_lowest_index() {
        let mut s = Scheduler::new(3);
        assert_eq!(s.pick(), None);
        s.update(2, Some(0));
        s.update(1, Some(0));
        assert_eq!(s.pick(), Some(1));
        s.update(1, Some(1));
        assert_eq!(s.pick(), Some(2));
        s.update(2, None);
        assert_eq!(s.pick(), Some(1));
    }

    proptest! {
        #[test]
        fn matches_a_linear_scan(n in 1usize..40, ops in prop::collection::vec((0usize..40, prop::option::of(0u32..5)), 0..200)) {
            let mut s = Scheduler::new(n);
            let mut state = vec![None; n];
            for (node, v) in ops {
                let node = node % n;
                s.update(node, v);
                state[node] = v;
                let want = state
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| p.map(|p| (p, i)))
                    .min()
                    .map(|(_, i)| i);
                prop_assert_eq!(s.pick(), want);
            }
        }
    }
}

/// Why a bound pod waited for an address (`pod_waits.csv` `reason`, `events.csv` `pod_ip_wait`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// The node's pool had no address at all.
    NoIp,
    /// Spare addresses existed but all were in `IP_COOLDOWN_PERIOD`.
    Cooling,
    /// The node could not grow: every ENI slot is used and full.
    EniLimit,
    /// EC2 answered `InsufficientFreeAddressesInSubnet`.
    SubnetExhausted,
    /// ipamd was in its 120 s back-off after `InsufficientCidrBlocks`.
    InsufficientCidrCooldown,
    /// EC2 throttled ipamd's calls.
    Throttled,
    /// The pool reached max pods (ipamd's growth ceiling) without a free address.
    MaxPodsCeiling,
}

impl WaitReason {
    /// Its name in `pod_waits.csv` and `events.csv` (the serde name).
    pub fn name(self) -> &'static str {
        match self {
            WaitReason::NoIp => "no_ip",
            WaitReason::Cooling => "cooling",
            WaitReason::EniLimit => "eni_limit",
            WaitReason::SubnetExhausted => "subnet_exhausted",
            WaitReason::InsufficientCidrCooldown => "insufficient_cidr_cooldown",
            WaitReason::Throttled => "throttled",
            WaitReason::MaxPodsCeiling => "max_pods_ceiling",
        }
    }
}
