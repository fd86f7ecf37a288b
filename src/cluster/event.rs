//! What happens to pods and nodes, as the cluster reports it through
//! [`Effects::record`](super::Effects::record) (the rows of `events.csv`, written by
//! [`crate::engine::EventLog`]).

use super::WaitReason;
use crate::time::Millis;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A pod was created.
    PodAdd,
    /// No node had room for it.
    PodUnschedulable,
    /// Scheduled to a node.
    PodBound,
    /// Its first CNI ADD failed for this reason.
    PodIpWait(WaitReason),
    /// It got an address (`a`).
    PodIp,
    /// It was deleted.
    PodDelete,
    /// A node became Ready.
    NodeReady,
    /// A node's ipamd started again.
    IpamdRestart,
    /// A node of a group with a later `start` (or one Karpenter launched) found no address
    /// for its primary ENI.
    NodeLaunchFailed,
    /// Karpenter launched a node (`[[nodepool]]`).
    NodeLaunched,
    /// Karpenter's consolidation terminated a node.
    NodeTerminated,
    /// A pod of a node being consolidated was evicted (pending again).
    PodEvicted,
    /// A node's pool went from `a` to `b` total IPs (ENIs in `enis`).
    Pool {
        /// ENIs before.
        enis_before: u8,
        /// ENIs after.
        enis_after: u8,
    },
}

/// One event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// When.
    pub time: Millis,
    /// What.
    pub kind: EventKind,
    /// The pod, if the event has one.
    pub pod: Option<u32>,
    /// The node, if the event has one.
    pub node: Option<u32>,
    /// Address (`PodIp`) or total IPs before (`Pool`).
    pub a: u32,
    /// Total IPs after (`Pool`).
    pub b: u32,
}

#[cfg(test)]
mod tests {
    use super::EventRecord;

    #[test]
    fn records_stay_small() {
        // One push per event: `events.csv`'s module docs promise 40 bytes.
        assert_eq!(std::mem::size_of::<EventRecord>(), 40);
    }
}
