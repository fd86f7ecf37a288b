//! The scheduler: the node with the fewest pods among the Ready nodes with room.

/// Keys per line: a group of siblings, one cache line.
const FANOUT: usize = 8;

/// One cache line of keys: a group of siblings in the tree.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct Line([u64; FANOUT]);

/// A line of padding keys (no node).
const EMPTY: Line = Line([u64::MAX; FANOUT]);

impl Line {
    #[inline]
    fn min(&self) -> u64 {
        self.0.iter().copied().fold(u64::MAX, u64::min)
    }
}

/// Picks the node with the fewest pods among those with room, ties by lowest index.
///
/// A min tree over `(pods, node)` keys, each packed in one `u64` (pods in the high half, so
/// the integer order is the pair's); a node without room holds `u32::MAX` pods. Each level
/// holds the minimum of each group of eight keys (`FANOUT`) below it, and a group is one
/// cache line, so an update reads one line per level: 5 levels for 5,000 nodes, 6 for
/// 100,000 (a binary tree has 13 and 17, each a dependent load). Updates and queries are
/// O(log n) and never allocate; an update stops climbing at the first level whose minimum it
/// does not change.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// Nodes known.
    len: usize,
    /// `levels[0]` holds the nodes' keys; `levels[k + 1][g / 8].0[g % 8]` the minimum of
    /// group `g` of `levels[k]`. The last level is one line.
    levels: Vec<Vec<Line>>,
}

const FULL: u32 = u32::MAX;

/// The key of `node` holding `pods`.
fn key(pods: u32, node: u32) -> u64 {
    (u64::from(pods) << 32) | u64::from(node)
}

impl Scheduler {
    /// A scheduler over `n` nodes, all initially without room.
    pub fn new(n: usize) -> Self {
        let mut leaves = vec![EMPTY; n.div_ceil(FANOUT).max(1)];
        for i in 0..n {
            leaves[i / FANOUT].0[i % FANOUT] = key(FULL, i as u32);
        }
        Scheduler::over(n, leaves)
    }

    /// A scheduler over `n` nodes whose keys are `leaves`: builds the levels above.
    fn over(n: usize, leaves: Vec<Line>) -> Self {
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|l| l.len() > 1) {
            let mut up = vec![EMPTY; below.len().div_ceil(FANOUT)];
            for (g, line) in below.iter().enumerate() {
                up[g / FANOUT].0[g % FANOUT] = line.min();
            }
            levels.push(up);
        }
        Scheduler { len: n, levels }
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
        if node == self.levels[0].len() * FANOUT {
            let mut leaves = std::mem::take(&mut self.levels[0]);
            leaves.resize(leaves.len() * 2, EMPTY);
            *self = Scheduler::over(node, leaves);
        }
        self.len += 1;
        self.update(node, None);
        node
    }

    /// Records node `node`'s pod count, or that it has no room (`None`).
    ///
    /// Climbing, one key of group `g` went from `old` to `new`. Keys are unique (the node is
    /// in them), so `old` was the group's minimum exactly when the slot above holds it. The
    /// group's minimum is then `new` if that is lower, the group's scan if `old` was the
    /// minimum and grew, and unchanged otherwise, which ends the climb: a pod delete usually
    /// climbs without a scan.
    pub fn update(&mut self, node: usize, pods_if_room: Option<u32>) {
        let mut g = node / FANOUT;
        let mut new = key(pods_if_room.unwrap_or(FULL), node as u32);
        let mut old = std::mem::replace(&mut self.levels[0][g].0[node % FANOUT], new);
        for k in 1..self.levels.len() {
            let was = self.levels[k][g / FANOUT].0[g % FANOUT];
            let min = if new < was {
                new
            } else if old == was {
                self.levels[k - 1][g].min()
            } else {
                was
            };
            if min == was {
                // Every level above holds minimums of groups that did not change.
                break;
            }
            self.levels[k][g / FANOUT].0[g % FANOUT] = min;
            (old, new) = (was, min);
            g /= FANOUT;
        }
    }

    /// Prefetch hints ([`crate::prefetch`]) for an update of `node` to come: its line on
    /// the three lowest levels (the levels above are shared with many nodes and stay cached).
    pub fn prefetch(&self, node: usize) {
        let mut g = node / FANOUT;
        for level in self.levels.iter().take(3) {
            crate::prefetch::element(level, g);
            g /= FANOUT;
        }
    }

    /// The node to bind the next pod to, if any has room.
    pub fn pick(&self) -> Option<usize> {
        let top = self.levels.last().expect("at least the leaves")[0].min();
        ((top >> 32) as u32 != FULL).then_some((top & u64::from(u32::MAX)) as usize)
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

    /// The node with the fewest pods among those with room, lowest index first, by a scan.
    fn linear_pick(state: &[Option<u32>]) -> Option<usize> {
        state
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (p, i)))
            .min()
            .map(|(_, i)| i)
    }

    /// Every slot above the leaves holds the minimum of the group below it.
    fn minimums_hold(s: &Scheduler) -> bool {
        s.levels.windows(2).all(|w| {
            w[0].iter()
                .enumerate()
                .all(|(g, line)| w[1][g / FANOUT].0[g % FANOUT] == line.min())
        })
    }

    proptest! {
        #[test]
        fn matches_a_linear_scan(n in 1usize..600, ops in prop::collection::vec((0usize..600, prop::option::of(0u32..5)), 0..300)) {
            let mut s = Scheduler::new(n);
            let mut state = vec![None; n];
            for (node, v) in ops {
                let node = node % n;
                s.update(node, v);
                state[node] = v;
                prop_assert_eq!(s.pick(), linear_pick(&state));
                prop_assert!(minimums_hold(&s));
            }
        }

        /// Nodes added one by one (an autoscaler's) through several growths of the tree.
        #[test]
        fn a_growing_scheduler_matches_a_linear_scan(ops in prop::collection::vec((any::<bool>(), 0usize..1_000, prop::option::of(0u32..5)), 0..400)) {
            let mut s = Scheduler::new(0);
            let mut state: Vec<Option<u32>> = Vec::new();
            for (add, node, v) in ops {
                if add || state.is_empty() {
                    prop_assert_eq!(s.add_node(), state.len());
                    state.push(None);
                }
                let node = node % state.len();
                s.update(node, v);
                state[node] = v;
                prop_assert_eq!(s.len(), state.len());
                prop_assert_eq!(s.pick(), linear_pick(&state));
                prop_assert!(minimums_hold(&s));
            }
        }
    }
}
