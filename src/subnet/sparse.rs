//! A sparse set (Briggs & Torczon, 1993) over a bitmap: the candidate /28 blocks.
//!
//! Members live in a dense array in no particular order, each with its position recorded,
//! so insert, remove (swap with the last) and "the k-th member of the array" are O(1): a
//! uniformly random member is `members[uniform(0..len)]`, whatever the fill. A bitmap with a
//! one-bit-per-word summary answers membership and the smallest member (for `lowest`
//! placement) in O(1). The universe is the 4,096 blocks of a /16 (smaller subnets use a
//! prefix of it), so every index is masked into a fixed-size array and needs no bounds
//! check. The array order depends on the history of inserts and removes, which is
//! deterministic, so a seed still fixes every draw.

/// Elements in the universe: the /28 blocks of a /16.
pub(crate) const BLOCKS: usize = 4096;

/// A set of `u32` below [`BLOCKS`] with O(1) insert, remove, uniform pick and smallest
/// member.
#[derive(Clone, Debug)]
pub(crate) struct SparseSet {
    bits: [u64; BLOCKS / 64],
    /// Bit `w` set iff `bits[w] != 0`.
    summary: u64,
    members: Box<[u16; BLOCKS]>,
    /// `pos[i]` = index of `i` in `members` when `i` is a member.
    pos: Box<[u16; BLOCKS]>,
    len: u32,
}

impl SparseSet {
    /// The set of the set bits of `bits` (members in ascending order at first).
    pub(crate) fn from_bits(bits: &[u64]) -> SparseSet {
        assert!(
            bits.len() <= BLOCKS / 64,
            "a sparse set holds at most a /16's blocks"
        );
        let mut set = SparseSet {
            bits: [0; BLOCKS / 64],
            summary: 0,
            members: Box::new([0; BLOCKS]),
            pos: Box::new([0; BLOCKS]),
            len: 0,
        };
        for (w, &word) in bits.iter().enumerate() {
            let mut rest = word;
            while rest != 0 {
                set.insert(w as u32 * 64 + rest.trailing_zeros());
                rest &= rest - 1;
            }
        }
        set
    }

    /// Number of members.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// The bitmap, one bit per element of the universe.
    #[cfg(test)]
    pub(crate) fn words(&self) -> &[u64] {
        &self.bits
    }

    /// Whether `i` is a member.
    #[inline]
    pub(crate) fn contains(&self, i: u32) -> bool {
        self.bits[word(i)] >> (i % 64) & 1 == 1
    }

    /// Adds `i`; returns whether it was absent.
    #[inline]
    pub(crate) fn insert(&mut self, i: u32) -> bool {
        if self.contains(i) {
            return false;
        }
        let w = word(i);
        self.bits[w] |= 1 << (i % 64);
        self.summary |= 1 << w;
        self.pos[i as usize % BLOCKS] = self.len as u16;
        self.members[self.len as usize % BLOCKS] = i as u16;
        self.len += 1;
        true
    }

    /// Removes `i`; returns whether it was present.
    #[inline]
    pub(crate) fn remove(&mut self, i: u32) -> bool {
        if !self.contains(i) {
            return false;
        }
        self.remove_member(i);
        true
    }

    /// Removes `i`, which must be a member.
    #[inline(always)]
    pub(crate) fn remove_member(&mut self, i: u32) {
        debug_assert!(self.contains(i));
        let w = word(i);
        self.bits[w] &= !(1 << (i % 64));
        if self.bits[w] == 0 {
            self.summary &= !(1 << w);
        }
        self.len -= 1;
        let at = self.pos[i as usize % BLOCKS];
        let last = self.members[self.len as usize % BLOCKS];
        // When `i` was last, this rewrites a slot past the end: harmless.
        self.members[at as usize % BLOCKS] = last;
        self.pos[last as usize % BLOCKS] = at;
    }

    /// The member at index `k < len` of the internal array: uniform over the members when
    /// `k` is uniform over `0..len`.
    #[inline]
    pub(crate) fn get(&self, k: u32) -> u32 {
        debug_assert!(k < self.len);
        u32::from(self.members[k as usize % BLOCKS])
    }

    /// The smallest member, if any.
    #[inline]
    pub(crate) fn first(&self) -> Option<u32> {
        if self.summary == 0 {
            return None;
        }
        let w = self.summary.trailing_zeros();
        Some(w * 64 + self.bits[w as usize].trailing_zeros())
    }
}

/// The word of element `i`.
#[inline]
fn word(i: u32) -> usize {
    (i / 64) as usize % (BLOCKS / 64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn starts_in_ascending_order() {
        let s = SparseSet::from_bits(&[0b1010, 0, 1 << 63]);
        assert_eq!(
            (0..s.len()).map(|k| s.get(k)).collect::<Vec<_>>(),
            [1, 3, 191]
        );
        assert_eq!(s.first(), Some(1));
        assert_eq!(SparseSet::from_bits(&[0; 2]).first(), None);
    }

    proptest! {
        #[test]
        fn agrees_with_a_btreeset(
            words in 1usize..=64,
            ops in proptest::collection::vec((any::<bool>(), any::<u32>()), 0..400),
        ) {
            let mut s = SparseSet::from_bits(&vec![0; words]);
            let mut model = BTreeSet::new();
            for (insert, i) in ops {
                let i = i % (words as u32 * 64);
                if insert {
                    prop_assert_eq!(s.insert(i), model.insert(i));
                } else {
                    prop_assert_eq!(s.remove(i), model.remove(&i));
                }
                prop_assert_eq!(s.len() as usize, model.len());
                prop_assert_eq!(s.first(), model.first().copied());
            }
            let listed: BTreeSet<u32> = (0..s.len()).map(|k| s.get(k)).collect();
            prop_assert_eq!(&listed, &model);
            for i in 0..words as u32 * 64 {
                prop_assert_eq!(s.contains(i), model.contains(&i));
            }
        }
    }
}
