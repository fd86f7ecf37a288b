//! Which nodes consolidation removes (kubernetes-sigs/karpenter `pkg/controllers/disruption`).
//!
//! Every [`DISRUPTION_POLLING_PERIOD`](super::DISRUPTION_POLLING_PERIOD) the controller runs
//! its methods in order and stops at the first that finds something:
//!
//! 1. **Emptiness** (`emptiness.go`, every policy): candidates are initialized nodes that
//!    are *consolidatable* — no pod event for `consolidate_after` (`nodeclaim/disruption/
//!    consolidation.go`: `lastPodEventTime`, else the time the node was initialized, plus
//!    `consolidateAfter`) — and empty (DaemonSet pods do not count). As many as each pool's
//!    budget allows are taken at once.
//! 2. **Underutilized**, for `WhenEmptyOrUnderutilized` pools (`multinodeconsolidation.go`,
//!    `singlenodeconsolidation.go`): consolidatable nodes whose pods fit elsewhere. Upstream
//!    simulates rescheduling the candidates' pods on the remaining nodes and may replace
//!    them with one cheaper node; the simulator has no prices, so only *deletion* is
//!    modelled (no replacement), and since a pod is one slot of max pods, "the pods fit" is
//!    "the candidates' pods ≤ the free slots of the Ready nodes that stay". Candidates are
//!    ordered by disruption cost — with every pod's eviction cost equal, by pod count, then
//!    node number — and the command takes the longest such prefix within the budgets
//!    (upstream binary-searches the prefix; it is built here one node at a time and stops
//!    at the first that does not fit, so it is never longer than upstream's and equal when
//!    fitting is monotone along the order, which it is for deletions).
//!
//! A command is re-validated [`COMMAND_VALIDATION_DELAY`](super::COMMAND_VALIDATION_DELAY)
//! later (`validation.go`): an emptiness candidate that took a pod meanwhile, or stopped
//! being consolidatable, drops out (the rest go ahead); an underutilized command is
//! abandoned whole if any candidate changed or the pods no longer fit.
//!
//! The budget (`helpers.go`, `BuildDisruptionBudgetMapping`) is per pool: the default
//! budget's [`DEFAULT_BUDGET_PERCENT`](super::DEFAULT_BUDGET_PERCENT) of its initialized
//! nodes, rounded up, less those NotReady or being deleted. Removal is immediate in the
//! model once validated (no drain time, no instance shutdown time), so only a command's
//! own candidates consume budget.

use crate::scenario::ConsolidationPolicy;
use crate::time::Millis;

/// What consolidation knows of one node of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// The engine's node number.
    pub node: usize,
    /// Its pool.
    pub pool: usize,
    /// When it became Ready (its NodeClaim's `Initialized`); `None` while it is not.
    pub initialized: Option<Millis>,
    /// Its `lastPodEventTime`.
    pub last_pod_event: Option<Millis>,
    /// Pods bound to it (host-network pods excluded).
    pub pods: u32,
    /// Pods it could still take (max pods less host-network and bound pods).
    pub room: u32,
}

/// What consolidation knows of one pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolView {
    /// `disruption.consolidation_policy`.
    pub policy: ConsolidationPolicy,
    /// `disruption.consolidate_after`; `None` = `Never`.
    pub consolidate_after: Option<Millis>,
}

/// Why a command removes its nodes (Karpenter's disruption reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `Empty`.
    Empty,
    /// `Underutilized`.
    Underutilized,
}

/// Nodes to remove, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// Why.
    pub reason: Reason,
    /// The engine's node numbers, in the order chosen.
    pub nodes: Vec<usize>,
}

/// Whether `n` has had no pod event for its pool's `consolidate_after` (the
/// `Consolidatable` condition). Never while it is not initialized, or with `Never`.
pub fn consolidatable(n: &NodeView, pool: &PoolView, now: Millis) -> bool {
    let (Some(after), Some(init)) = (pool.consolidate_after, n.initialized) else {
        return false;
    };
    now >= n.last_pod_event.unwrap_or(init).saturating_add(after)
}

/// The default budget of a pool with `initialized` nodes, `disrupting` of them already
/// NotReady or being deleted.
pub fn budget(initialized: u32, disrupting: u32) -> u32 {
    (initialized * super::DEFAULT_BUDGET_PERCENT)
        .div_ceil(100)
        .saturating_sub(disrupting)
}

/// Initialized nodes per pool: what the budgets are a share of.
fn budgets(nodes: &[NodeView], pools: usize) -> Vec<u32> {
    let mut count = vec![0u32; pools];
    for n in nodes.iter().filter(|n| n.initialized.is_some()) {
        count[n.pool] += 1;
    }
    count.into_iter().map(|c| budget(c, 0)).collect()
}

/// One poll of the disruption controller over every pool node (`nodes`, in node order).
/// `room_elsewhere` is the free slots of the Ready, schedulable nodes that are not in
/// `nodes` (node groups'). `None` when there is nothing to do.
pub fn compute(
    nodes: &[NodeView],
    pools: &[PoolView],
    room_elsewhere: u64,
    now: Millis,
) -> Option<Command> {
    let mut budget = budgets(nodes, pools.len());
    let empty: Vec<usize> = nodes
        .iter()
        .filter(|n| n.pods == 0 && consolidatable(n, &pools[n.pool], now))
        .filter(|n| take(&mut budget, n.pool))
        .map(|n| n.node)
        .collect();
    if !empty.is_empty() {
        return Some(Command {
            reason: Reason::Empty,
            nodes: empty,
        });
    }
    let mut candidates: Vec<&NodeView> = nodes
        .iter()
        .filter(|n| {
            let p = &pools[n.pool];
            n.pods > 0
                && p.policy == ConsolidationPolicy::WhenEmptyOrUnderutilized
                && consolidatable(n, p, now)
        })
        .collect();
    candidates.sort_by_key(|n| (n.pods, n.node));
    let chosen = fitting_prefix(&candidates, nodes, room_elsewhere, &mut budget);
    (!chosen.is_empty()).then_some(Command {
        reason: Reason::Underutilized,
        nodes: chosen,
    })
}

/// Takes one disruption from `pool`'s budget if it has any left.
fn take(budget: &mut [u32], pool: usize) -> bool {
    let left = &mut budget[pool];
    if *left == 0 {
        return false;
    }
    *left -= 1;
    true
}

/// The longest prefix of `candidates` within the budgets whose pods fit in the free slots
/// of the initialized nodes that stay.
fn fitting_prefix(
    candidates: &[&NodeView],
    nodes: &[NodeView],
    room_elsewhere: u64,
    budget: &mut [u32],
) -> Vec<usize> {
    let mut room: u64 = room_elsewhere
        + nodes
            .iter()
            .filter(|n| n.initialized.is_some())
            .map(|n| u64::from(n.room))
            .sum::<u64>();
    let mut pods: u64 = 0;
    let mut chosen = Vec::new();
    for c in candidates {
        let (r, p) = (room - u64::from(c.room), pods + u64::from(c.pods));
        if p > r || !take(budget, c.pool) {
            break;
        }
        (room, pods) = (r, p);
        chosen.push(c.node);
    }
    chosen
}

/// Re-validation of `cmd` [`COMMAND_VALIDATION_DELAY`](super::COMMAND_VALIDATION_DELAY)
/// after it was computed, on the nodes as they are now: the nodes to remove (possibly
/// none).
pub fn validate(
    cmd: &Command,
    nodes: &[NodeView],
    pools: &[PoolView],
    room_elsewhere: u64,
    now: Millis,
) -> Vec<usize> {
    let view = |id: usize| nodes.iter().find(|n| n.node == id);
    let mut budget = budgets(nodes, pools.len());
    match cmd.reason {
        Reason::Empty => cmd
            .nodes
            .iter()
            .filter_map(|&id| view(id))
            .filter(|n| n.pods == 0 && consolidatable(n, &pools[n.pool], now))
            .filter(|n| take(&mut budget, n.pool))
            .map(|n| n.node)
            .collect(),
        Reason::Underutilized => {
            let current: Vec<&NodeView> = cmd.nodes.iter().filter_map(|&id| view(id)).collect();
            let still = current.len() == cmd.nodes.len()
                && current
                    .iter()
                    .all(|n| n.pods > 0 && consolidatable(n, &pools[n.pool], now));
            if !still {
                return Vec::new();
            }
            let chosen = fitting_prefix(&current, nodes, room_elsewhere, &mut budget);
            if chosen.len() == cmd.nodes.len() {
                chosen
            } else {
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECOND;

    const EMPTY: PoolView = PoolView {
        policy: ConsolidationPolicy::WhenEmpty,
        consolidate_after: Some(30 * SECOND),
    };
    const UNDER: PoolView = PoolView {
        policy: ConsolidationPolicy::WhenEmptyOrUnderutilized,
        consolidate_after: Some(30 * SECOND),
    };

    fn node(node: usize, pods: u32, room: u32, last: Option<Millis>) -> NodeView {
        NodeView {
            node,
            pool: 0,
            initialized: Some(0),
            last_pod_event: last,
            pods,
            room,
        }
    }

    #[test]
    fn consolidatable_after_the_quiet_period() {
        let n = node(0, 0, 10, Some(100 * SECOND));
        assert!(!consolidatable(&n, &EMPTY, 129 * SECOND));
        assert!(consolidatable(&n, &EMPTY, 130 * SECOND));
        // Without pod events, from the time it was initialized.
        let fresh = NodeView {
            initialized: Some(50 * SECOND),
            ..node(0, 0, 10, None)
        };
        assert!(consolidatable(&fresh, &EMPTY, 80 * SECOND));
        let never = PoolView {
            consolidate_after: None,
            ..EMPTY
        };
        assert!(!consolidatable(&fresh, &never, u64::MAX));
        let launching = NodeView {
            initialized: None,
            ..fresh
        };
        assert!(!consolidatable(&launching, &EMPTY, u64::MAX));
    }

    #[test]
    fn budget_is_ten_percent_rounded_up() {
        assert_eq!(budget(0, 0), 0);
        assert_eq!(budget(1, 0), 1);
        assert_eq!(budget(10, 0), 1);
        assert_eq!(budget(11, 0), 2);
        assert_eq!(budget(60, 0), 6);
        assert_eq!(budget(60, 7), 0);
    }

    #[test]
    fn empty_nodes_go_within_the_budget() {
        // 20 nodes: budget 2. Nodes 3, 5, 7 are empty and quiet.
        let nodes: Vec<NodeView> = (0..20)
            .map(|i| {
                if [3, 5, 7].contains(&i) {
                    node(i, 0, 20, Some(0))
                } else {
                    node(i, 5, 15, Some(0))
                }
            })
            .collect();
        let cmd = compute(&nodes, &[EMPTY], 0, 60 * SECOND).unwrap();
        assert_eq!(
            cmd,
            Command {
                reason: Reason::Empty,
                nodes: vec![3, 5]
            }
        );
        // Node 5 took a pod before validation: only node 3 goes.
        let mut later = nodes.clone();
        later[5] = node(5, 1, 19, Some(70 * SECOND));
        assert_eq!(validate(&cmd, &later, &[EMPTY], 0, 75 * SECOND), vec![3]);
    }

    #[test]
    fn when_empty_never_moves_pods() {
        let nodes = vec![node(0, 1, 20, Some(0)), node(1, 1, 20, Some(0))];
        assert_eq!(compute(&nodes, &[EMPTY], 0, 60 * SECOND), None);
    }

    #[test]
    fn underutilized_nodes_go_when_their_pods_fit_elsewhere() {
        // Ten nodes of 20 slots: nine with 15 pods (5 free each), one with 3 pods.
        let mut nodes: Vec<NodeView> = (0..9).map(|i| node(i, 15, 5, Some(0))).collect();
        nodes.push(node(9, 3, 17, Some(0)));
        let cmd = compute(&nodes, &[UNDER], 0, 60 * SECOND).unwrap();
        // Node 9 goes first (fewest pods); then a 15-pod node would need 15 of the 45 − 5
        // slots left — but the budget (10% of 10 = 1) stops at one.
        assert_eq!(
            cmd,
            Command {
                reason: Reason::Underutilized,
                nodes: vec![9]
            }
        );
        assert_eq!(validate(&cmd, &nodes, &[UNDER], 0, 75 * SECOND), vec![9]);
        // Its pods no longer fit (the others filled up): the command is abandoned.
        let mut full = nodes.clone();
        for n in full.iter_mut().take(9) {
            *n = node(n.node, 20, 0, Some(0));
        }
        assert_eq!(
            validate(&cmd, &full, &[UNDER], 0, 75 * SECOND),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn pods_that_fit_nowhere_keep_their_node() {
        let nodes = vec![node(0, 10, 0, Some(0)), node(1, 10, 0, Some(0))];
        assert_eq!(compute(&nodes, &[UNDER], 5, 60 * SECOND), None);
        // With 10 free slots on a node group's nodes, one of them can go.
        let cmd = compute(&nodes, &[UNDER], 10, 60 * SECOND).unwrap();
        assert_eq!(cmd.nodes, vec![0]);
    }
}
