//! The scheduler: the node with the fewest pods among the Ready nodes with room.

/// Picks the node with the fewest pods among those with room, ties by lowest index.
///
/// A min segment tree over `(pods, node)` keys, each packed in one `u64` (pods in the high
/// half, so the integer order is the pair's); a node without room holds `u32::MAX` pods.
/// Updates and queries are O(log n) and never allocate; an update stops climbing at the
/// first ancestor whose minimum it does not change.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// Nodes known.
    len: usize,
    leaves: usize,
    tree: Vec<u64>,
}

const FULL: u32 = u32::MAX;

/// The key of `node` holding `pods`.
fn key(pods: u32, node: u32) -> u64 {
    (u64::from(pods) << 32) | u64::from(node)
}

impl Scheduler {
    /// A scheduler over `n` nodes, all initially without room.
    pub fn new(n: usize) -> Self {
        let leaves = n.next_power_of_two().max(1);
        let mut tree = vec![key(FULL, u32::MAX); 2 * leaves];
        for i in 0..n {
            tree[leaves + i] = key(FULL, i as u32);
        }
        let mut s = Scheduler {
            len: n,
            leaves,
            tree,
        };
        for i in (1..leaves).rev() {
            s.tree[i] = s.tree[2 * i].min(s.tree[2 * i + 1]);
        }
        s
    }

    /// Nodes known.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it knows no node.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds one node, without room, as index [`Scheduler::len`]; the tree doubles when full
    /// (the only time it allocates).
    pub fn add_node(&mut self) -> usize {
        let node = self.len;
        if node == self.leaves {
            let mut grown = Scheduler::new(node + 1);
            for i in 0..node {
                grown.tree[grown.leaves + i] = self.tree[self.leaves + i];
            }
            for i in (1..grown.leaves).rev() {
                grown.tree[i] = grown.tree[2 * i].min(grown.tree[2 * i + 1]);
            }
            *self = grown;
        } else {
            self.len += 1;
            self.update(node, None);
        }
        node
    }

    /// Records node `node`'s pod count, or that it has no room (`None`).
    pub fn update(&mut self, node: usize, pods_if_room: Option<u32>) {
        let mut i = self.leaves + node;
        self.tree[i] = key(pods_if_room.unwrap_or(FULL), node as u32);
        while i > 1 {
            i /= 2;
            let m = self.tree[2 * i].min(self.tree[2 * i + 1]);
            if self.tree[i] == m {
                // Every ancestor is the minimum of subtrees that did not change.
                break;
            }
            self.tree[i] = m;
        }
    }

    /// Prefetch hints ([`crate::prefetch`]) for an update of `node` to come: its leaf and the
    /// two levels above (the rest of the path is shared with many nodes and stays cached).
    pub fn prefetch(&self, node: usize) {
        let leaf = self.leaves + node;
        for i in [leaf, leaf / 4, leaf / 16] {
            crate::prefetch::element(&self.tree, i);
        }
    }

    /// The node to bind the next pod to, if any has room.
    pub fn pick(&self) -> Option<usize> {
        let k = self.tree[1];
        ((k >> 32) as u32 != FULL).then_some((k & u64::from(u32::MAX)) as usize)
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

    #[test]
    fn a_node_added_later_keeps_the_others() {
        let mut s = Scheduler::new(1);
        s.update(0, Some(3));
        assert_eq!(s.add_node(), 1);
        assert_eq!(s.len(), 2);
        assert_eq!(s.pick(), Some(0), "the new node has no room yet");
        s.update(1, Some(0));
        assert_eq!(s.pick(), Some(1));
        assert_eq!(s.add_node(), 2);
        assert_eq!(s.add_node(), 3);
        assert_eq!(s.pick(), Some(1), "growing the tree keeps every leaf");
        s.update(3, Some(0));
        s.update(1, None);
        assert_eq!(s.pick(), Some(3));
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
