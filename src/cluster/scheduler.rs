//! The scheduler: the node with the fewest pods among the Ready nodes with room.

/// A node's entry while it has no room (not Ready, at max pods, or taken out): in no set.
const NO_ROOM: u32 = u32::MAX;

/// A pod count's entry while no node with room holds that many pods: no set.
const NO_SET: u32 = u32::MAX;

/// Picks the node with the fewest pods among those with room, ties by lowest index.
///
/// The nodes with room are kept in one set per pod count, each a bitset over node indices
/// with summary levels above it (a bit per word below that is not zero; 64 words per word, so
/// three levels for 100,000 nodes and four for the 1,000,000 a scenario may hold). The pick is
/// the lowest pod count that has a set, then the lowest index in that set: one
/// `trailing_zeros` per level. An update moves the node from its old count's set to its new
/// one: a bit cleared and a bit set, each touching a level above only when a word turns
/// empty or stops being empty. Both are a few dozen instructions, where a min tree over
/// `(pods, node)` keys spent a few hundred per update on its climb (`benches/HISTORY.md`
/// item 39).
///
/// Pod counts are small and nodes crowd round a few of them (the scheduler fills the
/// emptiest node first), so the sets in use at once are few and their words stay in cache. A
/// set whose last node leaves goes to a free list and serves the next count that needs one,
/// so memory is (most distinct pod counts among nodes with room at once) × nodes / 8 bytes,
/// and an update allocates only when that high-water mark rises.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// Each node's pod count while it has room, else [`NO_ROOM`] (one entry per node known).
    pods: Vec<u32>,
    /// Where each level of a set starts among its words, leaves first; the last level is one
    /// word. Every set has this layout.
    levels: Vec<usize>,
    /// Words per set: the node indices a set covers (a multiple of 64) are `64 × levels[1]`.
    stride: usize,
    /// The sets' words, set `s` at `s × stride ..`.
    words: Vec<u64>,
    /// Nodes in each set.
    sizes: Vec<u32>,
    /// Sets that hold no node, to reuse.
    free: Vec<u32>,
    /// Each pod count's set, [`NO_SET`] while no node with room holds that many pods.
    set_of: Vec<u32>,
    /// The pod counts that have a set, as bits (to find the next lowest when one empties).
    held: Vec<u64>,
    /// The lowest pod count that has a set, [`NO_ROOM`] while no node has room.
    lowest: u32,
}

/// The layout of a set covering `capacity` node indices: each level's first word, and the
/// words in all (see [`Scheduler::levels`]).
fn layout(capacity: usize) -> (Vec<usize>, usize) {
    let mut levels = Vec::new();
    let mut words = 0;
    let mut width = capacity.div_ceil(64).max(1);
    loop {
        levels.push(words);
        words += width;
        if width == 1 {
            return (levels, words);
        }
        width = width.div_ceil(64);
    }
}

impl Scheduler {
    /// A scheduler over `n` nodes, all initially without room.
    pub fn new(n: usize) -> Self {
        let (levels, stride) = layout(n);
        Scheduler {
            pods: vec![NO_ROOM; n],
            levels,
            stride,
            words: Vec::new(),
            sizes: Vec::new(),
            free: Vec::new(),
            set_of: Vec::new(),
            held: Vec::new(),
            lowest: NO_ROOM,
        }
    }

    /// Nodes known.
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    /// Whether it knows no node.
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// Node indices a set covers.
    fn capacity(&self) -> usize {
        64 * self.levels.get(1).copied().unwrap_or(1)
    }

    /// Adds one node, without room, as index [`Scheduler::len`]; the sets double when full
    /// (the only time this allocates).
    pub fn add_node(&mut self) -> usize {
        let node = self.pods.len();
        if node == self.capacity() {
            let (levels, stride) = layout(2 * node);
            let old = std::mem::replace(self, Scheduler::new(0));
            *self = Scheduler {
                levels,
                stride,
                words: vec![0; old.sizes.len() * stride],
                ..old
            };
            for (n, &pods) in self.pods.iter().enumerate() {
                if pods != NO_ROOM {
                    let s = self.set_of[pods as usize] as usize;
                    Self::insert(&mut self.words[s * stride..], &self.levels, n);
                }
            }
        }
        self.pods.push(NO_ROOM);
        node
    }

    /// Records node `node`'s pod count, or that it has no room (`None`).
    /// (Always inlined, as PGO does: `benches/HISTORY.md` item 42.)
    #[inline(always)]
    pub fn update(&mut self, node: usize, pods_if_room: Option<u32>) {
        let new = pods_if_room.unwrap_or(NO_ROOM);
        debug_assert!(
            new != NO_ROOM || pods_if_room.is_none(),
            "a count of u32::MAX pods"
        );
        let old = std::mem::replace(&mut self.pods[node], new);
        if old == new {
            return;
        }
        if old != NO_ROOM {
            self.leave(old, node);
        }
        if new != NO_ROOM {
            self.join(new, node);
        }
    }

    /// Node `node` enters the set of count `pods`.
    #[inline(always)]
    fn join(&mut self, pods: u32, node: usize) {
        let mut s = self.set_of.get(pods as usize).copied().unwrap_or(NO_SET);
        if s == NO_SET {
            s = self.open(pods);
        }
        self.sizes[s as usize] += 1;
        let at = s as usize * self.stride;
        Self::insert(&mut self.words[at..], &self.levels, node);
    }

    /// A set for count `pods`, which has none: a free one, else a new one. (Out of line: a
    /// set opens or closes on about one update in six in ultra-100k, where counts spread.)
    #[inline(never)]
    fn open(&mut self, pods: u32) -> u32 {
        let c = pods as usize;
        if c >= self.set_of.len() {
            self.set_of.resize(c + 1, NO_SET);
            self.held.resize(c / 64 + 1, 0);
        }
        let s = self.free.pop().unwrap_or_else(|| {
            self.words.resize(self.words.len() + self.stride, 0);
            self.sizes.push(0);
            (self.sizes.len() - 1) as u32
        });
        self.set_of[c] = s;
        self.held[c / 64] |= 1 << (c % 64);
        self.lowest = self.lowest.min(pods);
        s
    }

    /// Node `node` leaves the set of count `pods`.
    #[inline(always)]
    fn leave(&mut self, pods: u32, node: usize) {
        let s = self.set_of[pods as usize];
        let at = s as usize * self.stride;
        Self::remove(&mut self.words[at..], &self.levels, node);
        self.sizes[s as usize] -= 1;
        if self.sizes[s as usize] == 0 {
            self.close(pods, s);
        }
    }

    /// Set `s`, of count `pods`, has emptied: it goes to the free list.
    #[inline(never)]
    fn close(&mut self, pods: u32, s: u32) {
        let c = pods as usize;
        self.free.push(s);
        self.set_of[c] = NO_SET;
        self.held[c / 64] &= !(1 << (c % 64));
        if pods == self.lowest {
            self.lowest = self.next_held(c);
        }
    }

    /// The lowest pod count above `c` that has a set, [`NO_ROOM`] if none.
    fn next_held(&self, c: usize) -> u32 {
        let mut w = c / 64;
        let mut bits = self.held[w] & (!1u64).wrapping_shl((c % 64) as u32);
        while bits == 0 {
            w += 1;
            match self.held.get(w) {
                Some(&b) => bits = b,
                None => return NO_ROOM,
            }
        }
        (w * 64) as u32 + bits.trailing_zeros()
    }

    /// Sets `node`'s bit in the set whose words start `set`, and the levels' bits above it
    /// that turn on.
    #[inline(always)]
    fn insert(set: &mut [u64], levels: &[usize], node: usize) {
        let mut i = node;
        for &start in levels {
            let w = &mut set[start + i / 64];
            let was = *w;
            *w = was | 1 << (i % 64);
            if was != 0 {
                break;
            }
            i /= 64;
        }
    }

    /// Clears `node`'s bit in the set whose words start `set`, and the levels' bits above it
    /// whose words turn empty.
    #[inline(always)]
    fn remove(set: &mut [u64], levels: &[usize], node: usize) {
        let mut i = node;
        for &start in levels {
            let w = &mut set[start + i / 64];
            *w &= !(1 << (i % 64));
            if *w != 0 {
                break;
            }
            i /= 64;
        }
    }

    /// Prefetch hints ([`crate::prefetch`]) for an update of `node` to come: its entry (the
    /// sets' words it moves between are few and shared with many nodes, so stay cached).
    pub fn prefetch(&self, node: usize) {
        crate::prefetch::element(&self.pods, node);
    }

    /// The node to bind the next pod to, if any has room.
    #[inline]
    pub fn pick(&self) -> Option<usize> {
        if self.lowest == NO_ROOM {
            return None;
        }
        let s = self.set_of[self.lowest as usize] as usize;
        let set = &self.words[s * self.stride..];
        let mut i = 0;
        for &start in self.levels.iter().rev() {
            i = i * 64 + set[start + i].trailing_zeros() as usize;
        }
        Some(i)
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

    /// Every record agrees with `state`: each node with room is in its count's set and in
    /// no other, a set's size is its nodes, each summary bit says whether its word below is
    /// not zero, the counts with a set are those held, and the lowest is the least of them.
    fn consistent(s: &Scheduler, state: &[Option<u32>]) -> bool {
        let bit = |set: usize, level: usize, i: usize| {
            s.words[set * s.stride + s.levels[level] + i / 64] >> (i % 64) & 1 == 1
        };
        let top = s.levels.len() - 1;
        let mut held: Vec<u32> = Vec::new();
        for (c, &set) in s.set_of.iter().enumerate() {
            let set_bit = s.held[c / 64] >> (c % 64) & 1 == 1;
            if set_bit != (set != NO_SET) {
                return false;
            }
            if set == NO_SET {
                continue;
            }
            held.push(c as u32);
            let set = set as usize;
            let members: Vec<usize> = (0..s.capacity()).filter(|&n| bit(set, 0, n)).collect();
            let expected: Vec<usize> = (0..state.len())
                .filter(|&n| state[n] == Some(c as u32))
                .collect();
            if members != expected || s.sizes[set] as usize != expected.len() {
                return false;
            }
            for level in 1..=top {
                let below = s.levels[level] - s.levels[level - 1];
                for i in 0..below {
                    let word = s.words[set * s.stride + s.levels[level - 1] + i];
                    if bit(set, level, i) != (word != 0) {
                        return false;
                    }
                }
            }
        }
        let free_empty = s.free.iter().all(|&f| {
            s.sizes[f as usize] == 0
                && s.words[f as usize * s.stride..][..s.stride]
                    .iter()
                    .all(|&w| w == 0)
        });
        let sets_accounted = held.len() + s.free.len() == s.sizes.len();
        let pods_match = (0..state.len()).all(|n| s.pods[n] == state[n].unwrap_or(NO_ROOM));
        free_empty
            && sets_accounted
            && pods_match
            && s.lowest == held.first().copied().unwrap_or(NO_ROOM)
    }

    /// Applies `ops` (node, pods if room) to `s` and to a plain record, holding the pick to
    /// a linear scan after each, and the records to [`consistent`] after each (`every`) or
    /// at the end.
    fn replay(
        mut s: Scheduler,
        ops: &[(usize, Option<u32>)],
        every: bool,
    ) -> Result<(), TestCaseError> {
        let mut state = vec![None; s.len()];
        for &(node, v) in ops {
            let node = node % s.len();
            s.update(node, v);
            state[node] = v;
            prop_assert_eq!(s.pick(), linear_pick(&state));
            prop_assert!(!every || consistent(&s, &state));
        }
        prop_assert!(consistent(&s, &state));
        Ok(())
    }

    proptest! {
        #[test]
        fn matches_a_linear_scan(n in 1usize..600, ops in prop::collection::vec((0usize..600, prop::option::of(0u32..5)), 0..300)) {
            replay(Scheduler::new(n), &ops, true)?;
        }

        /// Sets with three levels (over 4,096 nodes) and pod counts spread over several words
        /// of `held`, so the lowest count often moves a long way.
        #[test]
        fn three_levels_and_spread_counts_match_a_linear_scan(n in 4_097usize..9_000, ops in prop::collection::vec((0usize..9_000, prop::option::of(0u32..300)), 0..80)) {
            let s = Scheduler::new(n);
            prop_assert_eq!(s.levels.len(), 3);
            replay(s, &ops, false)?;
        }

        /// Nodes added one by one (an autoscaler's) through several growths of the sets.
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
                prop_assert!(consistent(&s, &state));
            }
        }
    }
}
