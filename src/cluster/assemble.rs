//! The scenario's nodes at the start of a run: the imported ones of `[start]` first (Ready at
//! t=0, spec/real-inputs.md §9), then every `[[nodegroup]]`'s, each with its own ipamd on the
//! node stream `("node", index)`.

use super::{Cluster, Effects, Node};
use crate::catalog;
use crate::ec2::Ec2;
use crate::error::Error;
use crate::ipamd::Ipamd;
use crate::rng::Streams;
use crate::scenario::Scenario;
use crate::workload::Workloads;

impl Cluster {
    /// The cluster of scenario `s` at t=0, for the pods of `workloads`: its nodes added (the
    /// ones up from the start with their primary ENI from `ec2`). Nothing is planned yet:
    /// [`Cluster::start`] does it, and binds the imported pods.
    ///
    /// A node launched at t=0 that finds no address for its primary ENI is bad input
    /// ([`Error::Usage`]): the subnet is too small for the initial cluster. A node joining
    /// later that finds none is counted instead.
    pub fn assemble(
        s: &Scenario,
        workloads: &Workloads,
        ec2: &mut Ec2,
        streams: &Streams,
        skip_idle_ticks: bool,
    ) -> Result<Cluster, Error> {
        let mut cluster = Cluster::new(workloads.pods(), s.model.cni_retry.millis(), |p| {
            workloads.pinned_node(p)
        });
        let mut imported = Vec::new();
        cluster.imported_pods = match &s.start {
            Some(st) => crate::start::nodes(s, st, ec2, streams, skip_idle_ticks, &mut imported),
            None => Vec::new(),
        };
        let count: usize = s.nodegroups.iter().map(|g| g.count as usize).sum();
        cluster.nodes.reserve(imported.len() + count);
        for node in imported {
            cluster.add_node(node);
        }
        let max_pods_options = catalog::MaxPodsOptions::for_cni(&s.cni);
        for (g, group) in s.nodegroups.iter().enumerate() {
            let max_pods = group
                .max_pods
                .unwrap_or_else(|| catalog::max_pods(group.instance_type, &max_pods_options));
            for i in 0..group.count {
                let index = cluster.nodes.len() as u64;
                let mut ipamd = Ipamd::new(
                    &s.cni,
                    &s.model,
                    group.instance_type,
                    max_pods,
                    group.subnet,
                    group.pod_subnet,
                    streams.node_stream("node", index),
                );
                ipamd.set_skip_idle_ticks(skip_idle_ticks);
                let joined = group.start == 0;
                let mut node = Node::new(
                    group.node_name(i),
                    g,
                    group.instance_type,
                    max_pods,
                    group.host_network_pods,
                    ipamd,
                );
                if joined {
                    // In the node's slab: the primary ENI's tables are what its pod events read.
                    node.with_ipamd(|i| i.launch(0, ec2)).map_err(|e| {
                        Error::Usage(format!(
                            "{}: subnet {:?} has no free address for node {}'s primary ENI ({e}); use a larger subnet or fewer nodes",
                            s.source,
                            ec2.subnets()[group.subnet].name(),
                            node.name
                        ))
                    })?;
                }
                node.joined = joined;
                node.start = group.start;
                cluster.add_node(node);
            }
        }
        Ok(cluster)
    }

    /// Plans the start of every node ([`Cluster::start_node`]), then binds the pods the
    /// snapshot of `[start]` had bound ([`Cluster::bind_imported`]).
    pub fn start(&mut self, fx: &mut impl Effects) {
        self.starting = self
            .nodes
            .iter()
            .filter(|n| n.start == 0 && !n.ready)
            .count() as u32;
        self.settled_at = (self.starting == 0).then_some(0);
        for n in 0..self.nodes.len() {
            self.start_node(n, fx);
        }
        for b in std::mem::take(&mut self.imported_pods) {
            self.bind_imported(b, fx);
        }
    }
}
