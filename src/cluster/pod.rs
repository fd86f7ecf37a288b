//! A pod's life in the cluster: its phase, why it waited for an address, and the live-pod
//! counts kept exact at every change of phase.

use crate::time::Millis;

/// Where a pod is in its life (one value per pod, kept by [`super::Cluster`]; the report's
/// live-pod counts are [`PodCounts`] over these phases).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    /// Not yet added, or deleted.
    Absent,
    /// Waiting in the FIFO for a node with room (kube-scheduler's `Unschedulable` condition).
    Unschedulable,
    /// Bound to `node`, no address yet; kubelet retries the CNI ADD. When it was bound is
    /// kept beside ([`super::Cluster::waiting_ip`]): a phase is 8 bytes, one per pod of the
    /// run (ultra-100k: 20 M pods, 160 MB less than with the time inside).
    WaitingIp {
        /// The node it is bound to.
        node: u32,
        /// Why its last CNI ADD failed.
        reason: WaitReason,
    },
    /// Bound to `node` with an address.
    Running {
        /// The node it runs on.
        node: u32,
    },
}

impl PodPhase {
    /// The node the pod is bound to, if it is.
    pub fn node(self) -> Option<u32> {
        match self {
            PodPhase::Running { node } | PodPhase::WaitingIp { node, .. } => Some(node),
            PodPhase::Absent | PodPhase::Unschedulable => None,
        }
    }
}

/// A pod still waiting for an address ([`super::Cluster::waiting_ip`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitingPod {
    /// The pod.
    pub pod: u32,
    /// The node it is bound to.
    pub node: u32,
    /// When it was bound.
    pub bound: Millis,
    /// Why its last CNI ADD failed.
    pub reason: WaitReason,
}

/// Live pods by phase, kept exact by [`super::Cluster`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodCounts {
    /// Pods with an address.
    pub running: u32,
    /// Bound pods without an address.
    pub waiting_ip: u32,
    /// Pods waiting for a node slot.
    pub unschedulable: u32,
    /// Pods that ever waited for a node slot.
    pub ever_unschedulable: u32,
    /// Pods that waited for a node slot once the cluster had settled (every node up at t=0
    /// Ready, [`super::Cluster::settled`]): those still queued at that moment and every one
    /// queued after. The capacity shortfall, without the start-up wait; see
    /// [`super::Cluster::counts`] for a cluster that never settles.
    pub unschedulable_settled: u32,
    /// Most live pods at any moment.
    pub peak: u32,
}

impl PodCounts {
    /// Live pods.
    pub fn live(&self) -> u32 {
        self.running + self.waiting_ip + self.unschedulable
    }

    /// A pod left `phase`.
    pub fn leave(&mut self, phase: PodPhase) {
        match phase {
            PodPhase::Running { .. } => self.running -= 1,
            PodPhase::WaitingIp { .. } => self.waiting_ip -= 1,
            PodPhase::Unschedulable => self.unschedulable -= 1,
            PodPhase::Absent => {}
        }
    }

    /// A pod entered `phase`.
    pub fn enter(&mut self, phase: PodPhase) {
        match phase {
            PodPhase::Running { .. } => self.running += 1,
            PodPhase::WaitingIp { .. } => self.waiting_ip += 1,
            PodPhase::Unschedulable => self.unschedulable += 1,
            PodPhase::Absent => {}
        }
        self.peak = self.peak.max(self.live());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_is_eight_bytes() {
        // One per pod of the run: 20 M on ultra-100k.
        assert_eq!(std::mem::size_of::<PodPhase>(), 8);
    }
}
