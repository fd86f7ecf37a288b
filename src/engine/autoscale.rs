//! Karpenter in the run (`[[nodepool]]`): the engine's events for the provisioner's batch,
//! the pods' re-trigger, the subnet refresh, the disruption poll and its validation, and
//! the state Karpenter keeps between them. The decisions are [`crate::karpenter`]'s; the
//! cluster changes are [`Cluster::launch_booting`] and [`Cluster::terminate_node`].
//!
//! A scenario without node pools has none of this: no event is queued, and the two
//! [`Effects`] callbacks Karpenter listens to ([`Effects::pending`], [`Effects::pod_moved`])
//! return at once.

use super::{Kind, Sim};
use crate::catalog;
use crate::cluster::Node;
use crate::ipamd::Ipamd;
use crate::karpenter::batcher::Batcher;
use crate::karpenter::disruption::{self, Command, NodeView, PoolView};
use crate::karpenter::provision::{self, Launch, Offer};
use crate::karpenter::subnets::{self, SubnetProvider};
use crate::karpenter::{
    COMMAND_VALIDATION_DELAY, DISRUPTION_POLLING_PERIOD, POD_REQUEUE, SUBNET_REFRESH_INTERVAL,
    pod_event,
};
use crate::rng::Streams;
use crate::scenario::{MAX_NODES, Scenario};
use crate::time::Millis;

/// One pool as Karpenter tracks it.
struct Pool {
    /// Its instance types, in preference order, as the planner sees them.
    offers: Vec<Offer>,
    /// Its nodes now (launching ones included).
    live: u32,
    /// Nodes it ever launched (names its next node).
    launched: u32,
}

/// What Karpenter keeps between events.
pub(super) struct Autoscaler {
    pools: Vec<Pool>,
    policies: Vec<PoolView>,
    batcher: Batcher,
    provider: SubnetProvider,
    /// Each subnet's zone.
    zone_of: Vec<u32>,
    /// Per node: its NodeClaim's `lastPodEventTime` (read for pool nodes only).
    last_pod_event: Vec<Option<Millis>>,
    /// A disruption command waiting for its validation.
    command: Option<Command>,
    /// A re-trigger of the pending pods is queued.
    requeue_planned: bool,
    node_boot: Millis,
    streams: Streams,
    views: Vec<NodeView>,
    launches: Vec<Launch>,
}

/// The zone of each subnet. Until subnets carry an `availability_zone`, each subnet is its
/// own zone (issue 10 item 1's default).
pub(super) fn zones(s: &Scenario) -> Vec<u32> {
    (0..s.subnets.len() as u32).collect()
}

impl Autoscaler {
    /// Karpenter for scenario `s`, if it has node pools.
    pub(super) fn new(s: &Scenario) -> Option<Autoscaler> {
        if s.nodepools.is_empty() {
            return None;
        }
        let options = catalog::MaxPodsOptions::for_cni(&s.cni);
        let pools = s
            .nodepools
            .iter()
            .map(|p| Pool {
                offers: p
                    .instance_types
                    .iter()
                    .map(|t| {
                        let max_pods = p.max_pods.unwrap_or_else(|| catalog::max_pods(t, &options));
                        Offer {
                            max_pods,
                            room: max_pods.saturating_sub(p.host_network_pods),
                        }
                    })
                    .collect(),
                live: 0,
                launched: 0,
            })
            .collect();
        let policies = s
            .nodepools
            .iter()
            .map(|p| PoolView {
                policy: p.consolidation_policy,
                consolidate_after: p.consolidate_after,
            })
            .collect();
        let provider = SubnetProvider::new(
            s.subnets.len(),
            s.nodepools.iter().map(|p| p.subnets.clone()).collect(),
        );
        Some(Autoscaler {
            pools,
            policies,
            batcher: Batcher::default(),
            provider,
            zone_of: zones(s),
            last_pod_event: Vec::new(),
            command: None,
            requeue_planned: false,
            node_boot: s.model.node_boot.millis(),
            streams: Streams::new(s.seed),
            views: Vec::new(),
            launches: Vec::new(),
        })
    }

    /// A pod became pending at `now`: the provisioner's trigger. Returns the time to look at
    /// the batch when this opened a window.
    pub(super) fn pending(&mut self, now: Millis) -> Option<Millis> {
        self.batcher
            .trigger(now)
            .then(|| self.batcher.deadline())
            .flatten()
    }

    /// A pod was bound to node `node` or left it.
    pub(super) fn pod_moved(&mut self, node: usize, now: Millis) {
        if let Some(last) = self.last_pod_event.get_mut(node) {
            *last = pod_event(*last, now);
        }
    }
}

impl Sim<'_> {
    /// Karpenter's first moves at t = 0: the subnets listed, the refresh and the
    /// disruption poll planned.
    pub(super) fn start_autoscaler(&mut self) {
        let available: Vec<u32> = self.ec2.subnets().iter().map(|s| s.free()).collect();
        let Some(k) = &mut self.hooks.karpenter else {
            return;
        };
        k.provider.refresh(&available);
        k.last_pod_event.resize(self.cluster.nodes().len(), None);
        self.hooks
            .push(SUBNET_REFRESH_INTERVAL, Kind::SubnetRefresh);
        self.hooks.push(DISRUPTION_POLLING_PERIOD, Kind::Disruption);
    }

    /// The batch's deadline has come, or moved: schedule the batch, or look again later.
    pub(super) fn batch(&mut self, now: Millis) {
        let Some(k) = &mut self.hooks.karpenter else {
            return;
        };
        if k.batcher.close_if_due(now) {
            self.provision(now);
        } else if let Some(d) = k.batcher.deadline() {
            self.hooks.push(d, Kind::Batch);
        }
    }

    /// Pods still pending re-trigger the provisioner ([`POD_REQUEUE`]).
    pub(super) fn requeue(&mut self, now: Millis) {
        let pending = self.cluster.pending_pods();
        let Some(k) = &mut self.hooks.karpenter else {
            return;
        };
        k.requeue_planned = false;
        if pending > 0
            && let Some(d) = k.pending(now)
        {
            self.hooks.push(d, Kind::Batch);
        }
    }

    /// The provisioner's round: nodes for the pending pods that the pools' launching nodes
    /// will not take.
    fn provision(&mut self, now: Millis) {
        let pending = self.cluster.pending_pods();
        let in_flight: u32 = self
            .cluster
            .nodes()
            .iter()
            .filter(|n| n.pool.is_some() && n.joined && !n.ready && !n.removed)
            .map(|n| n.max_pods.saturating_sub(n.host_network_pods + n.pods))
            .sum();
        let mut rest = pending.saturating_sub(in_flight);
        let k = self
            .hooks
            .karpenter
            .as_mut()
            .expect("provisioning needs Karpenter");
        let mut launches = std::mem::take(&mut k.launches);
        for pool in 0..self.scenario.nodepools.len() {
            if rest == 0 {
                break;
            }
            let k = self.hooks.karpenter.as_mut().expect("Karpenter");
            let p = &k.pools[pool];
            let room_in_run = MAX_NODES.saturating_sub(self.cluster.nodes().len() as u64);
            let limit = self.scenario.nodepools[pool]
                .limit_nodes
                .unwrap_or(u32::MAX)
                .min(
                    p.live
                        .saturating_add(room_in_run.min(u64::from(u32::MAX)) as u32),
                );
            launches.clear();
            rest = provision::plan(rest, &p.offers, p.live, Some(limit), &mut launches);
            // EC2 Fleet fails a launch whose subnet has no address for the primary ENI (the
            // provider then reads that subnet as 0). Nothing frees an address within this
            // instant, so once every subnet of the pool has failed, Fleet would fail the
            // rest of the batch alike: those launches are not made (the pods stay pending).
            let subnets = &self.scenario.nodepools[pool].subnets;
            let mut failed: Vec<usize> = Vec::new();
            for l in &launches {
                match self.launch(pool, *l, now) {
                    Some(s) if !failed.contains(&s) => failed.push(s),
                    _ => {}
                }
                if failed.len() == subnets.len() {
                    break;
                }
            }
        }
        let k = self.hooks.karpenter.as_mut().expect("Karpenter");
        k.launches = launches;
        if pending > 0 && !k.requeue_planned {
            k.requeue_planned = true;
            self.hooks.push(now + POD_REQUEUE, Kind::Requeue);
        }
    }

    /// One node of `pool` for `l`: its subnet chosen by the subnet provider, the instance
    /// launched at `now` and booting. The subnet, when the launch failed there (no address
    /// for the primary ENI).
    fn launch(&mut self, pool: usize, l: Launch, now: Millis) -> Option<usize> {
        let s = self.scenario;
        let np = &s.nodepools[pool];
        let k = self.hooks.karpenter.as_mut().expect("Karpenter");
        let subnet = subnets::place(&mut k.provider, pool, &k.zone_of, l.min_pods)?;
        let instance = np.instance_types[l.instance];
        let offer = k.pools[pool].offers[l.instance];
        let index = self.cluster.nodes().len() as u64;
        let mut ipamd = Ipamd::new(
            &s.cni,
            &s.model,
            instance,
            offer.max_pods,
            subnet,
            subnet,
            k.streams.node_stream("node", index),
        );
        ipamd.set_skip_idle_ticks(self.skip_idle_ticks);
        let name = np.node_name(k.pools[pool].launched);
        k.pools[pool].launched += 1;
        let mut node = Node::new(
            name,
            0,
            instance,
            offer.max_pods,
            np.host_network_pods,
            ipamd,
        );
        node.pool = Some(pool);
        let boot = k.node_boot;
        let (n, ok) = self
            .cluster
            .launch_booting(node, now, boot, &mut self.ec2, &mut self.hooks);
        let k = self.hooks.karpenter.as_mut().expect("Karpenter");
        k.last_pod_event.resize(n + 1, None);
        if ok {
            k.pools[pool].live += 1;
        } else {
            // Fleet's InsufficientFreeAddressesInSubnet: the subnet reads 0 until the next
            // refresh (`UpdateICEdSubnet`).
            k.provider.update_iced_subnet(subnet);
        }
        (!ok).then_some(subnet)
    }

    /// The nodeclass subnet reconciler: `AvailableIpAddressCount` read again.
    pub(super) fn subnet_refresh(&mut self, now: Millis) {
        let available: Vec<u32> = self.ec2.subnets().iter().map(|s| s.free()).collect();
        if let Some(k) = &mut self.hooks.karpenter {
            k.provider.refresh(&available);
            self.hooks
                .push(now + SUBNET_REFRESH_INTERVAL, Kind::SubnetRefresh);
        }
    }

    /// What consolidation sees: every running pool node, and the free slots of the other
    /// Ready nodes.
    fn views(&mut self) -> u64 {
        let k = self.hooks.karpenter.as_mut().expect("Karpenter");
        k.views.clear();
        let mut elsewhere = 0u64;
        for (i, n) in self.cluster.nodes().iter().enumerate() {
            if n.removed || !n.joined {
                continue;
            }
            let room = if n.ready && n.schedulable {
                n.max_pods.saturating_sub(n.host_network_pods + n.pods)
            } else {
                0
            };
            match n.pool {
                Some(pool) => k.views.push(NodeView {
                    node: i,
                    pool,
                    initialized: if n.ready { n.ipamd.ready_at() } else { None },
                    last_pod_event: k.last_pod_event.get(i).copied().flatten(),
                    pods: n.pods,
                    room,
                }),
                None => elsewhere += u64::from(room),
            }
        }
        elsewhere
    }

    /// The disruption controller's poll.
    pub(super) fn disruption(&mut self, now: Millis) {
        if self.hooks.karpenter.is_none() {
            return;
        }
        let elsewhere = self.views();
        let k = self.hooks.karpenter.as_mut().expect("Karpenter");
        match disruption::compute(&k.views, &k.policies, elsewhere, now) {
            Some(cmd) => {
                k.command = Some(cmd);
                self.hooks
                    .push(now + COMMAND_VALIDATION_DELAY, Kind::Validate);
            }
            None => self
                .hooks
                .push(now + DISRUPTION_POLLING_PERIOD, Kind::Disruption),
        }
    }

    /// The command's validation, then its nodes removed; the controller polls again.
    pub(super) fn validate(&mut self, now: Millis) {
        let Some(cmd) = self.hooks.karpenter.as_mut().and_then(|k| k.command.take()) else {
            return;
        };
        let elsewhere = self.views();
        let k = self.hooks.karpenter.as_mut().expect("Karpenter");
        let nodes = disruption::validate(&cmd, &k.views, &k.policies, elsewhere, now);
        for &n in &nodes {
            let pool = self.cluster.node(n).pool.expect("a pool node");
            self.cluster
                .terminate_node(n, now, &mut self.ec2, &mut self.hooks);
            let k = self.hooks.karpenter.as_mut().expect("Karpenter");
            k.pools[pool].live -= 1;
        }
        // Upstream requeues at once after a disruption, and after a poll that found
        // nothing waits its polling period.
        let next = if nodes.is_empty() {
            now + DISRUPTION_POLLING_PERIOD
        } else {
            now
        };
        self.hooks.push(next, Kind::Disruption);
    }
}
