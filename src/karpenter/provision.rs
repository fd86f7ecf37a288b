//! Which nodes a batch launches (kubernetes-sigs/karpenter
//! `pkg/controllers/provisioning/scheduling`, reduced to what the simulator's pods carry).
//!
//! A pod here has no CPU or memory request: its only size is one slot of a node's max
//! pods, which is what bounds pods per node everywhere else in the model (the scheduler,
//! ipamd's growth ceiling). So Karpenter's bin-packing becomes counting. Upstream's
//! scheduler first places pending pods on existing and in-flight nodes (the engine
//! subtracts the room of nodes still launching before calling [`plan`]), then opens
//! NodeClaims: pods are added to a NodeClaim while some instance type can still hold them
//! all, and the NodeClaim's options are every type that can; EC2 Fleet launches the
//! cheapest. The pool's `instance_types` order stands for price, so a node takes the
//! first type that holds the pods still to place, or — when none holds them all — the
//! type with the most room (the earliest of equals), filled. Its NodeClaim's options, for
//! the subnet provider's `minPods`, are the types with room for the pods it takes.
//!
//! `limits.nodes` caps the pool's nodes, launching ones included (upstream checks the
//! limits against the pool's usage plus what the scheduler has already opened in the
//! batch); pods beyond it stay pending, and are tried again at their next re-trigger.

/// One instance type of a pool, as the planner sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    /// kubelet max pods (`Capacity.Pods()` upstream).
    pub max_pods: u32,
    /// Pods it can take: max pods less the host-network pods.
    pub room: u32,
}

/// One node to launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Launch {
    /// Index of its instance type in the pool's `instance_types`.
    pub instance: usize,
    /// Pods it is launched for.
    pub pods: u32,
    /// The smallest max pods among its NodeClaim's instance-type options: what the subnet
    /// provider predicts it takes (`minPods`).
    pub min_pods: u32,
}

/// Plans nodes of one pool for `pods` pods, given its `offers` (in preference order),
/// its `nodes` (launching ones included) and its node `limit`. Appends the launches to
/// `out` and returns the pods left without a node.
pub fn plan(
    pods: u32,
    offers: &[Offer],
    mut nodes: u32,
    limit: Option<u32>,
    out: &mut Vec<Launch>,
) -> u32 {
    let Some(largest) = largest(offers) else {
        return pods;
    };
    let mut rest = pods;
    while rest > 0 && limit.is_none_or(|l| nodes < l) {
        let instance = offers
            .iter()
            .position(|o| o.room >= rest)
            .unwrap_or(largest);
        let take = rest.min(offers[instance].room);
        if take == 0 {
            break;
        }
        let min_pods = offers
            .iter()
            .filter(|o| o.room >= take)
            .map(|o| o.max_pods)
            .min()
            .unwrap_or(offers[instance].max_pods);
        out.push(Launch {
            instance,
            pods: take,
            min_pods,
        });
        rest -= take;
        nodes += 1;
    }
    rest
}

/// The offer with the most room, the earliest of equals.
fn largest(offers: &[Offer]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, o) in offers.iter().enumerate() {
        if best.is_none_or(|b| o.room > offers[b].room) {
            best = Some(i);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// m5.large (29 max pods), m5.xlarge (58), with 2 host-network pods.
    const OFFERS: [Offer; 2] = [
        Offer {
            max_pods: 29,
            room: 27,
        },
        Offer {
            max_pods: 58,
            room: 56,
        },
    ];

    #[test]
    fn the_first_type_that_holds_the_batch() {
        let mut out = Vec::new();
        assert_eq!(plan(20, &OFFERS, 0, None, &mut out), 0);
        assert_eq!(
            out,
            vec![Launch {
                instance: 0,
                pods: 20,
                min_pods: 29
            }]
        );
        out.clear();
        assert_eq!(plan(40, &OFFERS, 0, None, &mut out), 0);
        assert_eq!(
            out,
            vec![Launch {
                instance: 1,
                pods: 40,
                min_pods: 58
            }]
        );
    }

    #[test]
    fn a_large_batch_fills_the_largest_then_fits_the_rest() {
        let mut out = Vec::new();
        assert_eq!(plan(130, &OFFERS, 0, None, &mut out), 0);
        assert_eq!(
            out,
            vec![
                Launch {
                    instance: 1,
                    pods: 56,
                    min_pods: 58
                },
                Launch {
                    instance: 1,
                    pods: 56,
                    min_pods: 58
                },
                Launch {
                    instance: 0,
                    pods: 18,
                    min_pods: 29
                },
            ]
        );
    }

    #[test]
    fn the_node_limit_leaves_pods_pending() {
        let mut out = Vec::new();
        assert_eq!(plan(200, &OFFERS, 2, Some(4), &mut out), 200 - 112);
        assert_eq!(out.len(), 2);
        out.clear();
        assert_eq!(plan(5, &OFFERS, 4, Some(4), &mut out), 5);
        assert!(out.is_empty());
    }

    proptest! {
        #[test]
        fn every_pod_is_placed_once_within_the_limit(
            pods in 0u32..2_000,
            rooms in prop::collection::vec(0u32..120, 1..5),
            nodes in 0u32..10,
            limit in prop::option::of(0u32..40),
        ) {
            let offers: Vec<Offer> = rooms.iter().map(|&r| Offer { max_pods: r + 2, room: r }).collect();
            let mut out = Vec::new();
            let left = plan(pods, &offers, nodes, limit, &mut out);
            let placed: u32 = out.iter().map(|l| l.pods).sum();
            prop_assert_eq!(placed + left, pods);
            for l in &out {
                prop_assert!(l.pods >= 1 && l.pods <= offers[l.instance].room);
                prop_assert!(l.min_pods <= offers[l.instance].max_pods);
            }
            if let Some(limit) = limit {
                prop_assert!(out.is_empty() || nodes + out.len() as u32 <= limit);
            }
            // Pods are left only when the limit binds or no type has room.
            if left > 0 {
                let full = limit.is_some_and(|l| nodes + out.len() as u32 >= l);
                prop_assert!(full || rooms.iter().all(|&r| r == 0));
            }
        }
    }
}
