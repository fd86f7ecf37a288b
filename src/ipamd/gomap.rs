//! The order in which ipamd's Go maps are visited (spec/ipamd-policy.md §5.3 and "Modelling
//! choices" 3).
//!
//! ipamd keeps ENIs, and each ENI's secondary IPs or prefixes, in Go maps and picks "the first
//! one that fits" while ranging over them. Go randomises map iteration, but for a map that has
//! never held more than 8 entries both the old hashmap and the Swiss-table map store the
//! entries in one 8-slot group, an insert takes the **lowest empty slot** (a deleted entry's
//! slot is reused), and a `range` starts at a uniformly random slot of the 8 and wraps. So with
//! `n` entries in slots `0..n` the first-inserted entry is visited first with probability
//! `(9 − n)/8`. Bigger maps are modelled as a random rotation of the insertion order.
//!
//! [`Slots`] is that storage; [`visit`], [`visit_order`] and [`first_match`] are one `range`
//! loop over it under the scenario's [`IpPick`]: `go-map` (the model above), `first-fit`
//! (insertion order) or `random` (a uniformly random order).
//!
//! Draws: a loop over fewer than two entries, or one that cannot match anything, draws
//! nothing from the node's stream. This keeps idle pool checks free of draws, so skipping
//! them cannot shift the stream (see `agent.rs`).

use rand::RngExt as _;

use crate::ipamd::config::IpPick;
use crate::rng::NodeRng;

/// Slots of one 8-slot Go map group, as many as the map ever needed.
const GROUP: usize = 8;

/// Entries in insertion slots: an insert takes the lowest empty slot, like a Go map group.
#[derive(Clone, Debug)]
pub struct Slots<T> {
    slots: Vec<Option<T>>,
    live: usize,
}

impl<T> Slots<T> {
    /// Prefetch hints ([`crate::prefetch`]) for the slots (every line of each, up to eight
    /// slots: an ENI's counts and its release time span two lines).
    pub fn prefetch(&self) {
        for slot in self.slots.iter().take(8) {
            crate::prefetch::lines_of(slot);
        }
    }

    /// Prefetch hint ([`crate::prefetch`]) for one slot.
    pub fn prefetch_slot(&self, slot: usize) {
        crate::prefetch::element(&self.slots, slot);
    }
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            slots: Vec::new(),
            live: 0,
        }
    }
}

impl<T> Slots<T> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value` in the lowest empty slot and returns that slot.
    pub fn insert(&mut self, value: T) -> usize {
        self.live += 1;
        match self.slots.iter().position(Option::is_none) {
            Some(i) => {
                self.slots[i] = Some(value);
                i
            }
            None => {
                self.slots.push(Some(value));
                self.slots.len() - 1
            }
        }
    }

    /// Empties `slot`, returning what it held.
    pub fn remove(&mut self, slot: usize) -> Option<T> {
        let v = self.slots.get_mut(slot)?.take();
        if v.is_some() {
            self.live -= 1;
        }
        v
    }

    /// The entry in `slot`, if any.
    pub fn get(&self, slot: usize) -> Option<&T> {
        self.slots.get(slot)?.as_ref()
    }

    /// The entry in `slot`, if any, mutably.
    pub fn get_mut(&mut self, slot: usize) -> Option<&mut T> {
        self.slots.get_mut(slot)?.as_mut()
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Slots the map ever used (its high-water mark): more than 8 means Go has grown it past
    /// one group, and iteration is modelled as a random rotation.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Live entries in slots `start..`, in slot order.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = (usize, &T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .skip(start)
            .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
    }

    /// Live entries in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
    }
}

/// Fills `out` with the live slots of `map` in the order one `range` loop visits them.
///
/// `go-map`: for a map that never outgrew one group, start at a uniformly random slot of 8 and
/// wrap; otherwise start at a uniformly random live entry and wrap. `first-fit`: slot order.
/// `random`: a uniformly random permutation. Draws only when there are two or more entries.
pub fn visit_order<T>(map: &Slots<T>, pick: IpPick, rng: &mut NodeRng, out: &mut Vec<usize>) {
    out.clear();
    out.extend(map.iter().map(|(i, _)| i));
    match rotation_start(map, pick, rng) {
        Some(start) => {
            let k = out.partition_point(|&s| s < start);
            out.rotate_left(k);
        }
        None => {
            for i in (1..out.len()).rev() {
                let j = rng.random_range(0..=i);
                out.swap(i, j);
            }
        }
    }
}

/// The live entries of `map` in the order one Go `range` loop visits them ([`visit_order`],
/// same draws): a rotation read from the map itself, with no buffer (the pool check's
/// growth asks on most passes: no allocation an event, issue 13), or under `random` a
/// shuffled list of the slots.
pub fn visit<'a, T>(
    map: &'a Slots<T>,
    pick: IpPick,
    rng: &mut NodeRng,
) -> impl Iterator<Item = &'a T> + use<'a, T> {
    match rotation_start(map, pick, rng) {
        Some(start) => {
            let wrapped = map.iter().take_while(move |&(s, _)| s < start);
            Visit::Rotated(map.iter_from(start).chain(wrapped).map(|(_, v)| v))
        }
        None => {
            // (`rotation_start` drew nothing: `visit_order` draws the permutation.)
            let mut order = Vec::with_capacity(map.len());
            visit_order(map, pick, rng, &mut order);
            Visit::Shuffled(order.into_iter().map(|s| map.get(s).expect("live")))
        }
    }
}

/// [`visit`]'s two kinds of order as one iterator.
enum Visit<R, S> {
    Rotated(R),
    Shuffled(S),
}

impl<T, R: Iterator<Item = T>, S: Iterator<Item = T>> Iterator for Visit<R, S> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self {
            Visit::Rotated(r) => r.next(),
            Visit::Shuffled(s) => s.next(),
        }
    }
}

/// The first half of [`visit_order`], with its draws: `Some(start)` when the loop visits the
/// live slots from slot `start` on and then wraps (`first-fit`, `go-map`, and any map of
/// fewer than two entries), `None` under `random`, without drawing (the order is then a
/// permutation, which [`visit_order`] draws).
fn rotation_start<T>(map: &Slots<T>, pick: IpPick, rng: &mut NodeRng) -> Option<usize> {
    if map.len() < 2 {
        return Some(0);
    }
    match pick {
        IpPick::FirstFit => Some(0),
        IpPick::GoMap if map.slot_count() <= GROUP => Some(rng.random_range(0..GROUP)),
        IpPick::GoMap => {
            let k = rng.random_range(0..map.len());
            Some(map.iter().nth(k).expect("k < len").0)
        }
        IpPick::Random => None,
    }
}

/// The slot a `range` loop over `map` that stops at the first entry satisfying `want` ends
/// on, or `None` if no entry does. Same distribution as [`visit_order`] followed by a search,
/// without the buffer. Draws only when some entry matches and the map has two or more.
///
/// `want` is asked as few times as the answer needs (issue 13: in secondary-IP mode a scan
/// over a node's /32s is the assign hot path): the first match in slot order, then — only if
/// the drawn start lies past it — the first match from the start on. Only `random` counts
/// every match. The answer and the draws are those of the plain scan kept as the oracle in
/// the tests.
pub fn first_match<T>(
    map: &Slots<T>,
    pick: IpPick,
    rng: &mut NodeRng,
    want: impl Fn(&T) -> bool,
) -> Option<usize> {
    // The first match's slot and its rank among the live entries.
    let (rank, (first, _)) = map.iter().enumerate().find(|(_, (_, v))| want(v))?;
    if map.len() < 2 {
        return Some(first);
    }
    match pick {
        IpPick::FirstFit => Some(first),
        IpPick::GoMap if map.slot_count() <= GROUP => {
            let start = rng.random_range(0..GROUP);
            if start <= first {
                return Some(first);
            }
            let after = map.iter_from(start).find(|&(_, v)| want(v));
            Some(after.map_or(first, |(i, _)| i))
        }
        IpPick::GoMap => {
            let k = rng.random_range(0..map.len());
            if k <= rank {
                return Some(first);
            }
            let after = map.iter().skip(k).find(|&(_, v)| want(v));
            Some(after.map_or(first, |(i, _)| i))
        }
        IpPick::Random => {
            let matches = 1 + map.iter().skip(rank + 1).filter(|&(_, v)| want(v)).count();
            let k = rng.random_range(0..matches);
            if k == 0 {
                return Some(first);
            }
            let nth = map
                .iter()
                .skip(rank + 1)
                .filter(|&(_, v)| want(v))
                .nth(k - 1);
            nth.map(|(i, _)| i)
        }
    }
}

#[cfg(test)]
/// The plain scan `first_match` replaced: every entry asked, every match counted.
pub(crate) fn first_match_oracle<T>(
    map: &Slots<T>,
    pick: IpPick,
    rng: &mut NodeRng,
    want: impl Fn(&T) -> bool,
) -> Option<usize> {
    let mut matches = 0usize;
    let mut first = None;
    for (i, v) in map.iter() {
        if want(v) {
            matches += 1;
            first.get_or_insert(i);
        }
    }
    let first = first?;
    if map.len() < 2 || pick == IpPick::FirstFit {
        return Some(first);
    }
    match pick {
        IpPick::FirstFit => Some(first),
        IpPick::GoMap if map.slot_count() <= GROUP => {
            let start = rng.random_range(0..GROUP);
            let after = map.iter().find(|&(i, v)| i >= start && want(v));
            Some(after.map_or(first, |(i, _)| i))
        }
        IpPick::GoMap => {
            let k = rng.random_range(0..map.len());
            let after = map.iter().skip(k).find(|&(_, v)| want(v));
            Some(after.map_or(first, |(i, _)| i))
        }
        IpPick::Random => {
            let k = rng.random_range(0..matches);
            map.iter().filter(|&(_, v)| want(v)).nth(k).map(|(i, _)| i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;
    use proptest::prelude::{any, prop, prop_assert_eq, proptest};

    proptest! {
        /// On random maps (holes from removals, one group or grown) and random predicates,
        /// `first_match` answers and draws exactly as the plain scan.
        #[test]
        fn first_match_equals_the_plain_scan(
            n in 0usize..20,
            removed in prop::collection::vec(0usize..20, 0..10),
            wanted in prop::collection::vec(any::<bool>(), 20),
            pick in prop::sample::select(vec![IpPick::GoMap, IpPick::FirstFit, IpPick::Random]),
            seed in 0u64..1000,
        ) {
            let m = with_holes(n, removed);
            let want = |v: &usize| wanted[*v];
            let mut fast = Streams::new(seed).node_stream("gomap", 0);
            let mut slow = fast.clone();
            for _ in 0..8 {
                let a = first_match(&m, pick, &mut fast, want);
                let b = first_match_oracle(&m, pick, &mut slow, want);
                prop_assert_eq!(a, b);
                prop_assert_eq!(&fast, &slow);
            }
        }

        /// `visit` reads `visit_order`'s order off the map, with the same draws.
        #[test]
        fn visit_is_visit_order(
            n in 0usize..20,
            removed in prop::collection::vec(0usize..20, 0..12),
            pick in prop::sample::select(vec![IpPick::GoMap, IpPick::FirstFit, IpPick::Random]),
            seed in 0u64..1000,
        ) {
            let m = with_holes(n, removed);
            let mut read = Streams::new(seed).node_stream("gomap", 0);
            let mut listed = read.clone();
            let order: Vec<usize> = visit(&m, pick, &mut read).copied().collect();
            let mut slots = Vec::new();
            visit_order(&m, pick, &mut listed, &mut slots);
            let want: Vec<usize> = slots.iter().map(|&s| *m.get(s).unwrap()).collect();
            prop_assert_eq!(order, want);
            prop_assert_eq!(&read, &listed);
        }
    }

    /// Entries `0..n` in slots `0..n`, then the slots `removed` emptied.
    fn with_holes(n: usize, removed: Vec<usize>) -> Slots<usize> {
        let mut m = Slots::new();
        for i in 0..n {
            m.insert(i);
        }
        for r in removed {
            m.remove(r);
        }
        m
    }

    fn map(n: usize) -> Slots<usize> {
        let mut m = Slots::new();
        for i in 0..n {
            assert_eq!(m.insert(i), i);
        }
        m
    }

    #[test]
    fn insert_takes_the_lowest_empty_slot() {
        let mut m = map(4);
        assert_eq!(m.remove(1), Some(1));
        assert_eq!(m.remove(1), None);
        assert_eq!(m.len(), 3);
        assert_eq!(m.insert(9), 1, "a deleted entry's slot is reused first");
        assert_eq!(m.insert(10), 4);
        assert_eq!(m.slot_count(), 5);
        let order: Vec<_> = m.iter().map(|(_, v)| *v).collect();
        assert_eq!(order, [0, 9, 2, 3, 10]);
    }

    /// §5.3: with 3 entries the first-inserted one is visited first 6/8 of the time, the
    /// others 1/8 each; with the first one not matching, the second gets 7/8.
    #[test]
    fn go_map_first_visit_follows_the_eight_slot_rotation() {
        let m = map(3);
        let mut rng = Streams::new(1).node_stream("gomap", 0);
        let n = 80_000;
        let mut first = [0usize; 3];
        let mut skip0 = [0usize; 3];
        for _ in 0..n {
            first[first_match(&m, IpPick::GoMap, &mut rng, |_| true).unwrap()] += 1;
            skip0[first_match(&m, IpPick::GoMap, &mut rng, |&v| v != 0).unwrap()] += 1;
        }
        let frac = |c: usize| c as f64 / n as f64;
        assert!((frac(first[0]) - 0.75).abs() < 0.01, "{first:?}");
        assert!((frac(first[1]) - 0.125).abs() < 0.01, "{first:?}");
        assert!((frac(first[2]) - 0.125).abs() < 0.01, "{first:?}");
        assert_eq!(skip0[0], 0);
        assert!((frac(skip0[1]) - 0.875).abs() < 0.01, "{skip0:?}");
    }

    #[test]
    fn visit_order_is_a_rotation_under_go_map_and_a_permutation_under_random() {
        let m = map(5);
        let mut rng = Streams::new(2).node_stream("gomap", 0);
        let mut out = Vec::new();
        let mut starts = [0usize; 5];
        for _ in 0..4_000 {
            visit_order(&m, IpPick::GoMap, &mut rng, &mut out);
            let s = out[0];
            let expect: Vec<usize> = (0..5).map(|i| (s + i) % 5).collect();
            assert_eq!(out, expect);
            starts[s] += 1;
        }
        // start slot 0 covers random starts 0, 5, 6, 7: 4/8.
        assert!(
            (starts[0] as f64 / 4_000.0 - 0.5).abs() < 0.03,
            "{starts:?}"
        );
        visit_order(&m, IpPick::FirstFit, &mut rng, &mut out);
        assert_eq!(out, [0, 1, 2, 3, 4]);
        visit_order(&m, IpPick::Random, &mut rng, &mut out);
        let mut sorted = out.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn grown_maps_rotate_from_a_random_live_entry() {
        let m = map(12);
        let mut rng = Streams::new(3).node_stream("gomap", 0);
        let mut firsts = [0usize; 12];
        for _ in 0..12_000 {
            firsts[first_match(&m, IpPick::GoMap, &mut rng, |_| true).unwrap()] += 1;
        }
        for c in firsts {
            assert!(
                (c as f64 / 12_000.0 - 1.0 / 12.0).abs() < 0.015,
                "{firsts:?}"
            );
        }
    }

    #[test]
    fn no_draw_without_a_match_or_a_choice() {
        let m = map(3);
        let mut rng = Streams::new(4).node_stream("gomap", 0);
        let before = rng.clone();
        assert_eq!(first_match(&m, IpPick::GoMap, &mut rng, |_| false), None);
        assert_eq!(
            first_match(&map(1), IpPick::Random, &mut rng, |_| true),
            Some(0)
        );
        let mut out = Vec::new();
        visit_order(&map(1), IpPick::GoMap, &mut rng, &mut out);
        assert_eq!(rng, before);
    }
}
