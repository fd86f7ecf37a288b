//! The nodes' figures in a sample, summed as the run goes: only the nodes that may have
//! changed since the last sample are read again (issue 13).

use crate::cluster::{ChangedNodes, Node};
use crate::time::Millis;

/// One node's figures in a [`crate::report::Sample`], or their sums over the nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct NodeFigures {
    pub(super) ready: u64,
    pub(super) assigned_ips: u64,
    pub(super) warm_ips: u64,
    pub(super) cooling_ips: u64,
    pub(super) total_ips: u64,
    pub(super) enis: u64,
    pub(super) prefixes: u64,
}

impl NodeFigures {
    fn of(n: &Node, at: Millis) -> Self {
        let st = n.ipamd.stats(at);
        NodeFigures {
            ready: u64::from(n.ready),
            assigned_ips: u64::from(st.assigned_ips),
            warm_ips: u64::from(st.warm_ips),
            cooling_ips: u64::from(st.cooling_ips),
            total_ips: u64::from(st.total_ips),
            enis: u64::from(st.enis),
            prefixes: u64::from(st.prefixes),
        }
    }

    /// `self` with `old` replaced by `new` among what it sums.
    fn replace(&mut self, old: &NodeFigures, new: &NodeFigures) {
        self.ready = self.ready - old.ready + new.ready;
        self.assigned_ips = self.assigned_ips - old.assigned_ips + new.assigned_ips;
        self.warm_ips = self.warm_ips - old.warm_ips + new.warm_ips;
        self.cooling_ips = self.cooling_ips - old.cooling_ips + new.cooling_ips;
        self.total_ips = self.total_ips - old.total_ips + new.total_ips;
        self.enis = self.enis - old.enis + new.enis;
        self.prefixes = self.prefixes - old.prefixes + new.prefixes;
    }
}

/// The nodes' figures as of the last sample, and their sums, kept up to date by recomputing
/// only the nodes that may have changed ([`ChangedNodes`]: the cluster marks the nodes it
/// changed, this marks those whose cooling count falls with the clock). The sums are of
/// integers, so they equal a sum over every node whatever the order.
#[derive(Debug, Default)]
pub(super) struct NodeSums {
    /// Per node, its figures at the last sample.
    figures: Vec<NodeFigures>,
    /// Their sums.
    sums: NodeFigures,
    /// The nodes to recompute at a sample, in node order (kept for its capacity).
    visit: Vec<u32>,
    /// Check the sums against a sum over every node at each sample (the engine's invariant
    /// checking, [`super::Collector::check_sums`]).
    pub(super) check: bool,
}

impl NodeSums {
    /// The sums at `at`: the figures of the `changed` nodes (every node when `None`) and of
    /// nodes added since the last sample recomputed, and the marks taken.
    pub(super) fn update(
        &mut self,
        at: Millis,
        nodes: &[Node],
        changed: Option<&mut ChangedNodes>,
    ) -> NodeFigures {
        /// How many nodes ahead the loop asks for the lines it reads ([`Node::prefetch_stats`]).
        const AHEAD: usize = 8;
        let mut visit = std::mem::take(&mut self.visit);
        visit.clear();
        let known = self.figures.len();
        self.figures.resize(nodes.len(), NodeFigures::default());
        let mut changed = match changed {
            None => {
                visit.extend(0..nodes.len() as u32);
                None
            }
            Some(changed) => {
                changed.take_into(&mut visit);
                visit.retain(|&n| (n as usize) < known);
                visit.extend(known as u32..nodes.len() as u32);
                Some(changed)
            }
        };
        for (i, &n) in visit.iter().enumerate() {
            if let Some(&ahead) = visit.get(i + AHEAD) {
                nodes[ahead as usize].prefetch_stats();
                crate::prefetch::element(&self.figures, ahead as usize);
            }
            // Half as far ahead, the cooling queue's oldest entry, found through the
            // datastore's line asked for above.
            if let Some(&ahead) = visit.get(i + AHEAD / 2) {
                nodes[ahead as usize]
                    .ipamd
                    .datastore()
                    .prefetch_oldest_release(at);
            }
            let new = NodeFigures::of(&nodes[n as usize], at);
            let old = std::mem::replace(&mut self.figures[n as usize], new);
            self.sums.replace(&old, &new);
            if new.cooling_ips > 0
                && let Some(c) = changed.as_deref_mut()
            {
                // Its cooling count falls as the clock moves, unmarked: look again next time.
                c.mark(n as usize);
            }
        }
        self.visit = visit;
        if self.check {
            let mut all = NodeFigures::default();
            for n in nodes {
                all.replace(&NodeFigures::default(), &NodeFigures::of(n, at));
            }
            // A node changed without a mark: a simulator bug, like the engine's checks.
            assert_eq!(self.sums, all, "the sample's running sums at {at} ms");
        }
        self.sums
    }
}
