//! A bitmap set with rank/select in O(log n): the single-address candidates.
//!
//! The set covers the largest EC2 subnet, a /16: 65,536 bits in 1,024 `u64` words (smaller
//! subnets use a prefix of it). Beside the bitmap sits a radix-16 tree of counts: each word's
//! popcount, the sum of each 16 words, the sum of each 256 words (4 of them). Changing any
//! bits of one word is three adds at fixed places; finding the k-th member scans 4 + 16 + 16
//! counts without branching, then selects inside one word with broadword arithmetic. The
//! cost does not depend on the fill: this is what keeps uniformly random placement
//! O(log n) at 99 % fill, where rejection sampling would need ~100 draws per address.
//! Fixed sizes and masked indices let the compiler drop every bounds check on the hot path.

/// Words in the universe (a /16).
pub(crate) const WORDS: usize = 1024;
/// Fan-out of the count tree.
const RADIX: usize = 16;

/// A set of `u32` below 65,536 with O(log n) insert, remove, rank and select.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RankSet {
    bits: Box<[u64; WORDS]>,
    /// `words[g][j]` = popcount(bits[16g + j]) (≤ 64: a byte keeps the tree in few lines).
    words: Box<[[u8; RADIX]; WORDS / RADIX]>,
    /// `groups[s][j]` = Σ words[16s + j].
    groups: [[u32; RADIX]; WORDS / RADIX / RADIX],
    /// `supers[s]` = Σ groups[s].
    supers: [u32; WORDS / RADIX / RADIX],
    len: u32,
}

impl RankSet {
    /// The set whose members are the set bits of `bits` (at most [`WORDS`] words).
    pub(crate) fn from_bits(bits: &[u64]) -> RankSet {
        assert!(bits.len() <= WORDS, "a rank set holds at most a /16");
        let mut set = RankSet {
            bits: Box::new([0; WORDS]),
            words: Box::new([[0; RADIX]; WORDS / RADIX]),
            groups: [[0; RADIX]; WORDS / RADIX / RADIX],
            supers: [0; WORDS / RADIX / RADIX],
            len: 0,
        };
        for (w, &word) in bits.iter().enumerate() {
            set.insert_mask(w, word);
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
        &self.bits[..]
    }

    /// Whether `i` is a member.
    #[cfg(test)]
    pub(crate) fn contains(&self, i: u32) -> bool {
        self.bits[word(i)] >> (i % 64) & 1 == 1
    }

    /// Adds `i`; returns whether it was absent.
    pub(crate) fn insert(&mut self, i: u32) -> bool {
        self.insert_mask(word(i), 1 << (i % 64)) == 1
    }

    /// Removes `i`; returns whether it was present.
    pub(crate) fn remove(&mut self, i: u32) -> bool {
        self.remove_mask(word(i), 1 << (i % 64)) == 1
    }

    /// Adds the bits of `mask` to word `w`; returns how many were absent.
    #[inline]
    pub(crate) fn insert_mask(&mut self, w: usize, mask: u64) -> u32 {
        let w = w % WORDS;
        let added = (mask & !self.bits[w]).count_ones();
        self.bits[w] |= mask;
        self.add(w, added, true);
        added
    }

    /// Removes the bits of `mask` from word `w`; returns how many were present.
    #[inline]
    pub(crate) fn remove_mask(&mut self, w: usize, mask: u64) -> u32 {
        let w = w % WORDS;
        let removed = (mask & self.bits[w]).count_ones();
        self.bits[w] &= !mask;
        self.add(w, removed, false);
        removed
    }

    /// Adds the bits of `mask`, all absent and `n` in number, to word `w` (the caller
    /// knows the count: no popcount on the hot path).
    #[inline]
    pub(crate) fn insert_absent(&mut self, w: usize, mask: u64, n: u32) {
        let w = w % WORDS;
        debug_assert_eq!(mask & self.bits[w], 0);
        debug_assert_eq!(mask.count_ones(), n);
        self.bits[w] |= mask;
        self.add(w, n, true);
    }

    /// Removes the bits of `mask`, all present and `n` in number, from word `w`.
    #[inline]
    pub(crate) fn remove_present(&mut self, w: usize, mask: u64, n: u32) {
        let w = w % WORDS;
        debug_assert_eq!(mask & !self.bits[w], 0);
        debug_assert_eq!(mask.count_ones(), n);
        self.bits[w] &= !mask;
        self.add(w, n, false);
    }

    /// Adds (or subtracts) `n` to the counts above word `w < WORDS`.
    #[inline]
    fn add(&mut self, w: usize, n: u32, up: bool) {
        let (g, s) = (w / RADIX, w / RADIX / RADIX);
        let word = &mut self.words[g][w % RADIX];
        if up {
            *word += n as u8;
        } else {
            *word -= n as u8;
        }
        let cells = [
            &mut self.len,
            &mut self.groups[s][g % RADIX],
            &mut self.supers[s],
        ];
        for c in cells {
            if up {
                *c += n;
            } else {
                *c -= n;
            }
        }
    }

    /// The member of rank `k` (0 = smallest). `k` must be below [`RankSet::len`].
    #[inline]
    pub(crate) fn select(&self, k: u32) -> u32 {
        debug_assert!(k < self.len, "select({k}) in a set of {}", self.len);
        let (s, rem) = scan(&self.supers, k);
        let (g, rem) = scan(&self.groups[s % self.groups.len()], rem);
        let g = s * RADIX + g;
        let (w, rem) = scan(&self.words[g % self.words.len()], rem);
        let w = (g * RADIX + w) % WORDS;
        w as u32 * 64 + select64(self.bits[w], rem)
    }
}

/// The word of element `i`.
#[inline]
fn word(i: u32) -> usize {
    (i / 64) as usize % WORDS
}

/// Branch-free: the child holding rank `rem` among `counts`, and the rank within it.
#[inline]
fn scan<T: Copy + Into<u32>, const N: usize>(counts: &[T; N], rem: u32) -> (usize, u32) {
    let (mut acc, mut before, mut child) = (0u32, 0u32, 0usize);
    for &c in counts {
        acc += c.into();
        let skip = acc <= rem;
        child += usize::from(skip);
        before = if skip { acc } else { before };
    }
    (child, rem - before)
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
        for words in [1usize, 2, 3, 5, 16, 17, 64, 100, 257, 1000, 1024] {
            let bits: Vec<u64> = (0..words as u64)
                .map(|w| w.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (w << 7))
                .collect();
            let set = RankSet::from_bits(&bits);
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
            let mut set = RankSet::from_bits(&vec![0; words]);
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
            prop_assert_eq!(&set, &RankSet::from_bits(&model));
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
