//! Where each pod's address is in a datastore: a hash table from pod to (ENI slot, CIDR slot,
//! offset), open addressing with linear probing and backward-shift deletion.
//!
//! Issue 13: this replaced a vector sorted by pod, whose binary search and `insert`/`remove`
//! (a memmove of half the node's pods) every CNI ADD and DEL paid, and whose every line the
//! engine's prefetch hint had to ask for, since the search could end in any of them. Here a
//! lookup reads the pod's home slot and, rarely, the next few; the hint asks for that one
//! line ([`PodTable::prefetch`]).
//!
//! Hand-written, not `std::collections::HashMap` or `hashbrown`: an entry is 8 bytes with the
//! pod as its own empty marker, the table header is 16 bytes inside the datastore's second
//! cache line (`oracle_tests::the_stats_are_the_first_cache_line`), the hash is fixed (no
//! per-process random state: the same run probes the same lines), and the hint needs the home
//! slot's address, which neither crate exposes. Nothing reads the table in its slot order but
//! the state checker and tests: the checkpoint sorts by pod ([`PodTable::sorted`]).

use crate::prefetch;

/// A pod and where its address is: ENI slot, CIDR slot, offset (8 bytes, eight to a cache
/// line). Slots fit a byte: a node has at most 15 ENIs on a card and an ENI at most 50 IPv4
/// slots (`ipv4_limit`), and a slot index stays below its map's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Loc {
    pub(super) pod: u32,
    pub(super) eni: u8,
    pub(super) cidr: u8,
    pub(super) offset: u8,
}

/// The pod number of an empty slot (pods are numbered from 0 by the workloads, far below).
const EMPTY: u32 = u32::MAX;
const VACANT: Loc = Loc {
    pod: EMPTY,
    eni: 0,
    cidr: 0,
    offset: 0,
};
/// The first table's slots: a node's first pods fit without growing.
const FIRST: usize = 16;
/// Fibonacci hashing's multiplier (2³² / φ): consecutive pod numbers land far apart.
const GOLDEN: u32 = 0x9E37_79B9;

/// Pod → [`Loc`], for the pods holding an address on one node. See the module docs.
#[derive(Clone, Debug, Default)]
pub(super) struct PodTable {
    /// A power of two of slots (none before the first pod), at most three quarters full.
    slots: Box<[Loc]>,
    len: u32,
}

impl PodTable {
    /// Pods in the table.
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    /// The slot a pod's search starts at (the table has slots).
    #[inline]
    fn home(&self, pod: u32) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (pod.wrapping_mul(GOLDEN) >> (32 - bits)) as usize
    }

    /// Where `pod`'s address is, if it holds one.
    #[inline]
    pub(super) fn get(&self, pod: u32) -> Option<Loc> {
        if self.len == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(pod);
        loop {
            let l = self.slots[i];
            if l.pod == pod {
                return Some(l);
            }
            if l.pod == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// Records `loc` for its pod, which must not be in the table.
    pub(super) fn insert(&mut self, loc: Loc) {
        debug_assert!(loc.pod != EMPTY && self.get(loc.pod).is_none());
        if (self.len as usize + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        self.place(loc);
        self.len += 1;
    }

    /// Puts `loc` in the first empty slot from its home (there is one: the table is at most
    /// three quarters full).
    fn place(&mut self, loc: Loc) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(loc.pod);
        while self.slots[i].pod != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = loc;
    }

    #[cold]
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(FIRST);
        let old = std::mem::replace(&mut self.slots, vec![VACANT; size].into_boxed_slice());
        for &l in old.iter().filter(|l| l.pod != EMPTY) {
            self.place(l);
        }
    }

    /// Takes `pod` out of the table, returning where its address was. The entries after it
    /// in its run move back into the hole when their home allows, so no search ever has to
    /// step over a deleted slot.
    pub(super) fn remove(&mut self, pod: u32) -> Option<Loc> {
        if self.len == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut hole = self.home(pod);
        let found = loop {
            let l = self.slots[hole];
            if l.pod == pod {
                break l;
            }
            if l.pod == EMPTY {
                return None;
            }
            hole = (hole + 1) & mask;
        };
        let mut j = (hole + 1) & mask;
        loop {
            let l = self.slots[j];
            if l.pod == EMPTY {
                break;
            }
            // `l` may fill the hole if the hole lies on its probe path: from its home to `j`.
            let home = self.home(l.pod);
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                self.slots[hole] = l;
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.slots[hole] = VACANT;
        self.len -= 1;
        Some(found)
    }

    /// Every entry, in pod order (the checkpoint file's order).
    pub(super) fn sorted(&self) -> Vec<Loc> {
        let mut all: Vec<Loc> = self.iter().collect();
        all.sort_unstable_by_key(|l| l.pod);
        all
    }

    /// Every entry, in slot order.
    pub(super) fn iter(&self) -> impl Iterator<Item = Loc> + '_ {
        self.slots.iter().copied().filter(|l| l.pod != EMPTY)
    }

    /// Prefetch hints ([`crate::prefetch`]) for a lookup of `pod`: its home slot's line and
    /// the next one, where a probe or a removal's backward shift goes on (eight slots to a
    /// line; the table wraps).
    #[inline]
    pub(super) fn prefetch(&self, pod: u32) {
        if !self.slots.is_empty() {
            let home = self.home(pod);
            prefetch::element(&self.slots, home);
            prefetch::element(&self.slots, (home + 8) & (self.slots.len() - 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn loc(pod: u32) -> Loc {
        Loc {
            pod,
            eni: (pod % 15) as u8,
            cidr: (pod % 50) as u8,
            offset: (pod % 16) as u8,
        }
    }

    /// Every entry is reachable from its home without crossing an empty slot (what lookups
    /// and backward-shift deletion rely on).
    fn runs_unbroken(t: &PodTable) -> bool {
        let mask = t.slots.len().wrapping_sub(1);
        t.slots.iter().enumerate().all(|(i, l)| {
            l.pod == EMPTY || {
                let mut k = t.home(l.pod);
                while k != i && t.slots[k].pod != EMPTY {
                    k = (k + 1) & mask;
                }
                k == i
            }
        })
    }

    #[test]
    fn an_empty_table_finds_nothing_and_has_no_slots() {
        let mut t = PodTable::default();
        assert_eq!(t.get(7), None);
        assert_eq!(t.remove(7), None);
        assert_eq!(t.len(), 0);
        assert!(t.slots.is_empty());
        t.prefetch(7);
    }

    #[test]
    fn it_grows_at_three_quarters() {
        let mut t = PodTable::default();
        for pod in 0..12 {
            t.insert(loc(pod));
        }
        assert_eq!(t.slots.len(), 16);
        t.insert(loc(12));
        assert_eq!(t.slots.len(), 32);
        assert!((0..13).all(|p| t.get(p) == Some(loc(p))));
        assert_eq!(t.get(13), None);
    }

    #[test]
    fn colliding_pods_survive_a_removal_before_them() {
        // Two more pods with pod 0's home slot behind it; take pod 0 out: the others shift
        // back and stay reachable.
        let mut t = PodTable::default();
        t.insert(loc(0));
        let home = t.home(0);
        let same: Vec<u32> = (1..100_000)
            .filter(|&p| t.home(p) == home)
            .take(2)
            .collect();
        for &p in &same {
            t.insert(loc(p));
        }
        assert_eq!(t.remove(0), Some(loc(0)));
        assert!(runs_unbroken(&t));
        assert_eq!(t.slots[home], loc(same[0]));
        assert!(same.iter().all(|&p| t.get(p) == Some(loc(p))));
    }

    #[test]
    fn sorted_is_in_pod_order() {
        let mut t = PodTable::default();
        for pod in [90, 3, 41, 7, 12_000] {
            t.insert(loc(pod));
        }
        let pods: Vec<u32> = t.sorted().iter().map(|l| l.pod).collect();
        assert_eq!(pods, [3, 7, 41, 90, 12_000]);
    }

    proptest! {
        /// Against a `BTreeMap`: random inserts and removals over a few hundred pods (many
        /// collisions and wrap-arounds at every size) give the same answers, and every run
        /// stays unbroken.
        #[test]
        fn it_agrees_with_a_map(ops in prop::collection::vec((any::<bool>(), 0u32..300), 1..400)) {
            let mut t = PodTable::default();
            let mut m = BTreeMap::new();
            for (add, pod) in ops {
                if add && !m.contains_key(&pod) {
                    t.insert(loc(pod));
                    m.insert(pod, loc(pod));
                } else {
                    prop_assert_eq!(t.remove(pod), m.remove(&pod));
                }
                prop_assert_eq!(t.len(), m.len());
                prop_assert!(runs_unbroken(&t));
                prop_assert!(t.len() * 4 <= t.slots.len() * 3);
            }
            for pod in 0..300 {
                prop_assert_eq!(t.get(pod), m.get(&pod).copied());
            }
            let sorted: Vec<Loc> = m.values().copied().collect();
            prop_assert_eq!(t.sorted(), sorted);
        }
    }
}
