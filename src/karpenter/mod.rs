//! Karpenter's node autoscaling, as pure decisions the engine applies (`[[nodepool]]`).
//!
//! Upstream is two repositories: kubernetes-sigs/karpenter (the provisioner, its batcher,
//! disruption) and aws/karpenter-provider-aws (subnets, EC2). Every constant below names the
//! file and identifier it comes from. The model, in Karpenter's own order:
//!
//! 1. **Pending pods are batched** ([`batcher`]). A pod the scheduler cannot place
//!    triggers the provisioner; a window opens at the first trigger and closes after
//!    [`BATCH_IDLE_DURATION`] without a new pending pod or [`BATCH_MAX_DURATION`] after
//!    it opened. Pods still pending are triggered again every [`POD_REQUEUE`].
//! 2. **Nodes are planned for the batch** ([`provision`]). Every pending pod is
//!    considered, less the room of the pools' nodes still launching (Karpenter's scheduler
//!    puts pods on in-flight NodeClaims first). A pod's size is one slot of max pods: the
//!    simulator gives pods no CPU or memory, and max pods is what limits pods per node
//!    everywhere else in the model, so an instance type "fits" as many pods as its max
//!    pods less its host-network pods. Each new node takes the first type in the pool's
//!    order that holds the pods still to place (the largest one if none does), within
//!    `limits.nodes`.
//! 3. **Each node is placed** ([`subnets`]): Karpenter's subnet provider picks, per zone,
//!    the pool's subnet with the most available addresses, counting down the addresses
//!    it predicts its in-flight launches take (`ZonalSubnetsForLaunch`,
//!    `UpdateInflightIPs`); the node goes to the zone whose subnet has the most.
//! 4. **It boots** for `[model] node_boot`, then its aws-node starts and ipamd's init
//!    makes it Ready as for any node (spec/ipamd-policy.md §6.3).
//! 5. **Consolidation** ([`disruption`]) polls every [`DISRUPTION_POLLING_PERIOD`]:
//!    initialized nodes idle of pod events for `consolidate_after` that are empty (or,
//!    with `WhenEmptyOrUnderutilized`, whose pods fit on the other nodes) are chosen
//!    within the disruption budget, re-validated [`COMMAND_VALIDATION_DELAY`] later, and
//!    removed: their pods are evicted (and rescheduled, as their ReplicaSet would recreate
//!    them), the instance terminates and EC2 deletes its ENIs, every address going back to
//!    its subnet.
//!
//! Pods bound to a Ready node that wait for an address are *scheduled*: Karpenter never
//! sees them, and no node is launched for them, however long they wait.

pub mod batcher;
pub mod disruption;
pub mod provision;
pub mod subnets;

use crate::time::{Millis, SECOND};

/// `BATCH_IDLE_DURATION` (default 1 s): a batch closes after this long without a new
/// pending pod (kubernetes-sigs/karpenter `pkg/operator/options/options.go`,
/// `BatchIdleDuration`).
pub const BATCH_IDLE_DURATION: Millis = SECOND;

/// `BATCH_MAX_DURATION` (default 10 s): a batch closes this long after it opened, however
/// many pods keep arriving (same file, `BatchMaxDuration`).
pub const BATCH_MAX_DURATION: Millis = 10 * SECOND;

/// A pending pod re-triggers the provisioner this often while it stays provisionable
/// (kubernetes-sigs/karpenter `pkg/controllers/provisioning/controller.go`,
/// `PodController.Reconcile`: `RequeueAfter: 10 * time.Second`).
pub const POD_REQUEUE: Millis = 10 * SECOND;

/// The disruption controller looks for nodes to remove this often (kubernetes-sigs/karpenter
/// `pkg/controllers/disruption/controller.go`, `pollingPeriod`).
pub const DISRUPTION_POLLING_PERIOD: Millis = 10 * SECOND;

/// A disruption command is re-validated this long after it was computed; candidates that
/// took a pod meanwhile drop out (`pkg/controllers/disruption/consolidation.go`,
/// `commandValidationDelay`).
pub const COMMAND_VALIDATION_DELAY: Millis = 15 * SECOND;

/// A NodeClaim's `lastPodEventTime` is rewritten at most this often
/// (`pkg/controllers/nodeclaim/podevents/controller.go`, `dedupeTimeout`).
pub const POD_EVENT_DEDUPE: Millis = 10 * SECOND;

/// The default disruption budget: 10% of a pool's nodes at once, rounded up
/// (`pkg/apis/v1/nodepool.go`, `Budget.Nodes` `+kubebuilder:default:="10%"`, and
/// `GetAllowedDisruptions`' `GetScaledValueFromIntOrPercent(…, roundUp=true)`).
pub const DEFAULT_BUDGET_PERCENT: u32 = 10;

/// How often Karpenter re-reads the subnets' `AvailableIpAddressCount` from EC2
/// (aws/karpenter-provider-aws `pkg/operator/options/options.go`, `SUBNET_REFRESH_INTERVAL`,
/// default 1 m; `pkg/controllers/nodeclass/subnet.go` requeues after `time.Minute`). A
/// refresh also forgets the in-flight predictions (`pkg/providers/subnet/subnet.go`,
/// `List`: `delete(p.inflightIPs, …)`).
pub const SUBNET_REFRESH_INTERVAL: Millis = 60 * SECOND;

/// `lastPodEventTime` after a pod event at `now` (bound to, or leaving, the node): written
/// unless it was written less than [`POD_EVENT_DEDUPE`] ago (`podevents.Controller.Reconcile`).
pub fn pod_event(last: Option<Millis>, now: Millis) -> Option<Millis> {
    match last {
        Some(t) if now.saturating_sub(t) < POD_EVENT_DEDUPE => Some(t),
        _ => Some(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_events_are_deduplicated_for_ten_seconds() {
        assert_eq!(pod_event(None, 5_000), Some(5_000));
        assert_eq!(pod_event(Some(5_000), 14_999), Some(5_000));
        assert_eq!(pod_event(Some(5_000), 15_000), Some(15_000));
    }
}
