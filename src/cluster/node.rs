//! One EKS node: its max pods, its host-network pods, its ipamd, and whether it is Ready.

use super::memo::AddMemo;
use crate::catalog::InstanceType;
use crate::ipamd::Ipamd;
use crate::placement::Slab;
use crate::time::Millis;

/// One EKS node.
///
/// `#[repr(C)]` so that what every pod event and wake-up reads of the node itself (its pod
/// count, flags, CNI ADD memo, planned wake-up and slab) shares one cache line, the one after
/// the ipamd: the prefetch hint asks for that line (issue 13; a test pins it).
#[derive(Debug)]
#[repr(C)]
pub struct Node {
    /// The node's ipamd.
    pub ipamd: Ipamd,
    /// Max pods (host-network pods included).
    pub max_pods: u32,
    /// Host-network pods: count against max pods, take no pod address.
    pub host_network_pods: u32,
    /// Pods bound to the node (with or without an address), host-network pods excluded.
    pub pods: u32,
    /// Its epoch and failed-ADD memo (`memo.rs`).
    pub(super) memo: AddMemo,
    /// When its ipamd's next wake-up is planned (`Millis::MAX`: none;
    /// `Cluster::plan_wake`).
    pub(super) wake_at: Millis,
    /// The planned wake-up's generation: a queued one of another is superseded.
    pub(super) wake_generation: u32,
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
    /// Taken out of the cluster ([`super::Cluster::remove_node`]): it keeps its index, so
    /// queued events naming it stay valid, and never gets a pod again.
    pub removed: bool,
    /// Where its ipamd's small heap blocks go ([`crate::placement`]): the cluster enters it
    /// around every call into the ipamd, so it shares the hot line.
    pub(super) slab: Slab,
    /// `{nodegroup}-{i}`.
    pub name: String,
    /// Its instance type.
    pub instance: &'static InstanceType,
    /// Index of its node group in the scenario.
    pub nodegroup: usize,
    /// The `[[nodepool]]` that launched it (Karpenter), if one did; `nodegroup` is then
    /// meaningless.
    pub pool: Option<usize>,
    /// When its instance terminated (Karpenter's consolidation, or a launch that found no
    /// address); `None` while it runs.
    pub terminated: Option<Millis>,
    /// When the instance starts: its group's `start` (0 for imported nodes and nodes up
    /// from the beginning).
    pub start: Millis,
}

impl Node {
    /// Prefetch hints ([`crate::prefetch`]) for a pod event to come on this node (its own
    /// line: the pod count, the flags and the memo) and its ipamd's state.
    pub fn prefetch(&self) {
        crate::prefetch::line(&self.pods);
        self.ipamd.prefetch_state();
    }

    /// Prefetch hints for a wake-up to come on this node: [`Node::prefetch`]'s and the lines
    /// only a wake-up reads of its ipamd ([`Ipamd::prefetch_wake`]).
    pub fn prefetch_wake(&self) {
        self.prefetch();
        self.ipamd.prefetch_wake();
    }

    /// Prefetch hints for the per-minute sample: the node's flags and its datastore's counts
    /// (three lines of 17; the loop over 100,000 nodes otherwise waits for each in turn).
    pub fn prefetch_stats(&self) {
        crate::prefetch::line(&self.ready);
        self.ipamd.datastore().prefetch_struct();
    }

    /// Runs `f` on the node's ipamd with its slab entered: the blocks its datastore grows
    /// go to the node's own slab ([`crate::placement`]).
    #[inline]
    pub fn with_ipamd<R>(&mut self, f: impl FnOnce(&mut Ipamd) -> R) -> R {
        let _in = self.slab.enter();
        f(&mut self.ipamd)
    }

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
            start: 0,
            removed: false,
            pool: None,
            terminated: None,
            memo: AddMemo::new(),
            wake_at: Millis::MAX,
            wake_generation: 0,
            slab: Slab::new(),
        }
    }

    /// When its ipamd's next wake-up is planned (`Millis::MAX`: none), for the state checker.
    pub fn planned_wake(&self) -> Millis {
        self.wake_at
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
    /// pod count if it has room, for [`super::Scheduler::update`].
    pub fn become_ready(&mut self) -> Option<u32> {
        self.ready = true;
        self.has_room().then_some(self.pods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    /// What a pod event reads of the node itself is one line, the one its hint asks for.
    #[test]
    fn the_hot_fields_share_a_line() {
        let line = |at: usize| at / 64;
        let pods = line(offset_of!(Node, pods));
        assert_eq!(line(offset_of!(Node, memo)), pods);
        assert_eq!(
            line(offset_of!(Node, memo) + size_of::<AddMemo>() - 1),
            pods
        );
        for at in [
            offset_of!(Node, wake_at),
            offset_of!(Node, wake_generation),
            offset_of!(Node, max_pods),
            offset_of!(Node, host_network_pods),
            offset_of!(Node, ready),
            offset_of!(Node, schedulable),
            offset_of!(Node, removed),
            offset_of!(Node, slab),
        ] {
            assert_eq!(line(at), pods);
        }
        assert_eq!(size_of::<Node>(), 1088, "17 lines");
    }
}
