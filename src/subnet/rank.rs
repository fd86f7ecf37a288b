//! A bitmap set with rank/select in O(log n): the allocator's candidate sets.
//!
//! The set is a plain `u64` bitmap plus a Fenwick (binary indexed) tree over the per-word
//! popcounts. Inserting or removing any number of bits of one word is one O(log words) tree
//! update; finding the k-th member descends the tree in O(log words) and then selects inside
//! one word with broadword arithmetic (no loop over bits). A /16 has 1,024 words of addresses
//! (10 tree levels) and 64 words of /28 blocks (6 levels), whatever the fill: this is what
//! keeps uniformly random placement O(log n) at 99 % fill, where rejection sampling would
//! need ~100 draws per address.

/// A set of `u32` below a fixed universe, with O(log n) insert, remove, rank and select.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RankSet {
    bits: Vec<u64>,
    /// Fenwick tree over popcount(bits[w]), 1-based: `tree[i]` covers words
    /// `i − lowbit(i) .. i`.
    tree: Vec<u32>,
    len: u32,
    /// Highest power of two ≤ `bits.len()`, where select's descent starts.
    top: usize,
}

impl RankSet {
    /// The set whose members are the set bits of `bits`.
    pub(crate) fn from_bits(bits: Vec<u64>) -> RankSet {
        let n = bits.len();
        let mut tree = vec![0u32; n + 1];
        for (w, word) in bits.iter().enumerate() {
            tree[w + 1] = word.count_ones();
        }
        // Linear-time Fenwick construction: push each node's sum to its parent.
        for i in 1..=n {
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                tree[parent] += tree[i];
            }
        }
        let len = bits.iter().map(|w| w.count_ones()).sum();
        let top = if n == 0 { 0 } else { 1 << n.ilog2() };
        RankSet {
            bits,
            tree,
            len,
            top,
        }
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
    #[cfg(test)]
    pub(crate) fn contains(&self, i: u32) -> bool {
        self.bits[(i / 64) as usize] >> (i % 64) & 1 == 1
    }

    /// Adds `i`; returns whether it was absent.
    pub(crate) fn insert(&mut self, i: u32) -> bool {
        self.insert_mask((i / 64) as usize, 1 << (i % 64)) == 1
    }

    /// Removes `i`; returns whether it was present.
    pub(crate) fn remove(&mut self, i: u32) -> bool {
        self.remove_mask((i / 64) as usize, 1 << (i % 64)) == 1
    }

    /// Adds the bits of `mask` to word `w`; returns how many were absent.
    pub(crate) fn insert_mask(&mut self, w: usize, mask: u64) -> u32 {
        let added = (mask & !self.bits[w]).count_ones();
        if added != 0 {
            self.bits[w] |= mask;
            self.len += added;
            self.add(w, added, true);
        }
        added
    }

    /// Removes the bits of `mask` from word `w`; returns how many were present.
    pub(crate) fn remove_mask(&mut self, w: usize, mask: u64) -> u32 {
        let removed = (mask & self.bits[w]).count_ones();
        if removed != 0 {
            self.bits[w] &= !mask;
            self.len -= removed;
            self.add(w, removed, false);
        }
        removed
    }

    fn add(&mut self, w: usize, delta: u32, up: bool) {
        let mut i = w + 1;
        while i < self.tree.len() {
            if up {
                self.tree[i] += delta;
            } else {
                self.tree[i] -= delta;
            }
            i += i & i.wrapping_neg();
        }
    }

    /// The member of rank `k` (0 = smallest). `k` must be below [`RankSet::len`].
    pub(crate) fn select(&self, k: u32) -> u32 {
        debug_assert!(k < self.len, "select({k}) in a set of {}", self.len);
        let n = self.bits.len();
        let (mut pos, mut rem, mut step) = (0usize, k, self.top);
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= rem {
                pos = next;
                rem -= self.tree[next];
            }
            step >>= 1;
        }
        pos as u32 * 64 + select64(self.bits[pos], rem)
    }
}

const L8: u64 = 0x0101_0101_0101_0101;
const H8: u64 = 0x8080_8080_8080_8080;

/// Position of the set bit of rank `k` in `x` (0 = lowest); `k < x.count_ones()`.
///
/// Vigna's broadword select ("Broadword implementation of rank/select queries", 2008):
/// byte popcounts by SWAR, their prefix sums by one multiply, the target byte by a parallel
/// comparison, then a table lookup inside that byte.
#[inline]
pub(crate) fn select64(x: u64, k: u32) -> u32 {
    debug_assert!(k < x.count_ones());
    let mut s = x - ((x >> 1) & 0x5555_5555_5555_5555);
    s = (s & 0x3333_3333_3333_3333) + ((s >> 2) & 0x3333_3333_3333_3333);
    s = (s + (s >> 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    let byte_sums = s.wrapping_mul(L8); // byte i = popcount of bytes 0..=i
    let k_step8 = u64::from(k) * L8;
    // Byte i's high bit is set iff byte_sums[i] <= k: the bytes wholly before the target.
    let geq = ((k_step8 | H8) - byte_sums) & H8;
    let place = (((geq >> 7).wrapping_mul(L8) >> 56) * 8) as u32;
    let before = ((byte_sums << 8) >> place) & 0xff;
    let byte = ((x >> place) & 0xff) as usize;
    place + u32::from(SELECT_IN_BYTE[byte][(u64::from(k) - before) as usize])
}

/// `SELECT_IN_BYTE[b][r]` = position of the set bit of rank `r` in byte `b`.
static SELECT_IN_BYTE: [[u8; 8]; 256] = {
    let mut table = [[0u8; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let (mut bit, mut rank) = (0, 0);
        while bit < 8 {
            if b >> bit & 1 == 1 {
                table[b][rank] = bit as u8;
                rank += 1;
            }
            bit += 1;
        }
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_select(x: u64, k: u32) -> u32 {
        (0..64).filter(|i| x >> i & 1 == 1).nth(k as usize).unwrap()
    }

    #[test]
    fn select64_edges() {
        assert_eq!(select64(1, 0), 0);
        assert_eq!(select64(1 << 63, 0), 63);
        assert_eq!(select64(u64::MAX, 63), 63);
        assert_eq!(select64(u64::MAX, 0), 0);
        assert_eq!(select64(0b1011_0000, 2), 7);
        for k in 0..64 {
            assert_eq!(select64(u64::MAX, k), k);
        }
    }

    #[test]
    fn select_walks_every_member_in_order() {
        for words in [1usize, 2, 3, 5, 64, 100] {
            let bits: Vec<u64> = (0..words as u64)
                .map(|w| w.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (w << 7))
                .collect();
            let set = RankSet::from_bits(bits.clone());
            let members: Vec<u32> = (0..words as u32 * 64)
                .filter(|&i| bits[(i / 64) as usize] >> (i % 64) & 1 == 1)
                .collect();
            assert_eq!(set.len() as usize, members.len());
            for (k, m) in members.iter().enumerate() {
                assert_eq!(set.select(k as u32), *m, "{words} words, rank {k}");
            }
        }
    }

    proptest! {
        #[test]
        fn select64_matches_naive(x in any::<u64>(), k in 0u32..64) {
            prop_assume!(k < x.count_ones());
            prop_assert_eq!(select64(x, k), naive_select(x, k));
        }

        #[test]
        fn updates_keep_the_tree_exact(
            words in 1usize..40,
            ops in proptest::collection::vec((any::<bool>(), any::<u32>(), any::<u64>()), 0..200),
        ) {
            let mut set = RankSet::from_bits(vec![0; words]);
            let mut model = vec![0u64; words];
            for (insert, at, mask) in ops {
                let w = at as usize % words;
                if insert {
                    let added = set.insert_mask(w, mask);
                    prop_assert_eq!(added, (mask & !model[w]).count_ones());
                    model[w] |= mask;
                } else {
                    let removed = set.remove_mask(w, mask);
                    prop_assert_eq!(removed, (mask & model[w]).count_ones());
                    model[w] &= !mask;
                }
            }
            // Same bits ⇒ same tree as a fresh build, and select agrees with a scan.
            prop_assert_eq!(&set, &RankSet::from_bits(model.clone()));
            let members: Vec<u32> = (0..words as u32 * 64)
                .filter(|&i| model[(i / 64) as usize] >> (i % 64) & 1 == 1)
                .collect();
            for (k, m) in members.iter().enumerate() {
                prop_assert_eq!(set.select(k as u32), *m);
                prop_assert!(set.contains(*m));
            }
        }
    }
}
