//! Rank/select over a bitmap in O(log n): the single-address candidates.
//!
//! [`RankTree`] covers the largest EC2 subnet, a /16: 65,536 bits in 1,024 `u64` words
//! (smaller subnets use a prefix of it). It holds only counts, a radix-16 tree over the
//! words: each word's popcount, the sum of each 16 words, the sum of each 256 words (4 of
//! them). The bitmap itself stays with its owner (the subnet derives the candidate word
//! from its held and placeable masks), so the hot path touches one less array. Changing any
//! bits of one word is three adds at fixed places; finding the k-th member scans at most
//! 4 + 16 + 16 counts, then selects inside one word with broadword arithmetic. (An early-exit
//! scan measured faster than a branch-free one: one mispredict per level costs less than
//! always adding all 16, and `lowest` placement predicts perfectly.) The
//! cost does not depend on the fill: this is what keeps uniformly random placement
//! O(log n) at 99 % fill, where rejection sampling would need ~100 draws per address.
//! Fixed sizes and masked indices let the compiler drop every bounds check on the hot path.

/// Words in the universe (a /16).
pub(crate) const WORDS: usize = 1024;
/// Fan-out of the count tree.
const RADIX: usize = 16;

/// Counts of set bits over 1,024 words, with O(log n) update and select.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RankTree {
    /// `words[g][j]` = popcount of word 16g + j (≤ 64: a byte keeps the tree in few lines).
    words: Box<[[u8; RADIX]; WORDS / RADIX]>,
    /// `groups[s][j]` = Σ words[16s + j].
    groups: [[u32; RADIX]; WORDS / RADIX / RADIX],
    /// `supers[s]` = Σ groups[s].
    supers: [u32; WORDS / RADIX / RADIX],
    len: u32,
}

impl RankTree {
    /// The counts of `bits` (at most [`WORDS`] words).
    pub(crate) fn from_bits(bits: &[u64]) -> RankTree {
        assert!(bits.len() <= WORDS, "a rank tree covers at most a /16");
        let mut tree = RankTree {
            words: Box::new([[0; RADIX]; WORDS / RADIX]),
            groups: [[0; RADIX]; WORDS / RADIX / RADIX],
            supers: [0; WORDS / RADIX / RADIX],
            len: 0,
        };
        for (w, word) in bits.iter().enumerate() {
            tree.add(w, word.count_ones());
        }
        tree
    }

    /// Set bits in all.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// Word `w` gained `n` set bits.
    #[inline]
    pub(crate) fn add(&mut self, w: usize, n: u32) {
        let w = w % WORDS;
        let (g, s) = (w / RADIX, w / RADIX / RADIX);
        self.words[g][w % RADIX] += n as u8;
        self.groups[s][g % RADIX] += n;
        self.supers[s] += n;
        self.len += n;
    }

    /// Word `w` lost `n` set bits.
    #[inline]
    pub(crate) fn sub(&mut self, w: usize, n: u32) {
        let w = w % WORDS;
        let (g, s) = (w / RADIX, w / RADIX / RADIX);
        self.words[g][w % RADIX] -= n as u8;
        self.groups[s][g % RADIX] -= n;
        self.supers[s] -= n;
        self.len -= n;
    }

    /// The set bit of rank `k` (0 = lowest) of the bitmap whose word `w` is `word(w)`.
    /// `k` must be below [`RankTree::len`] and the counts must match the bitmap.
    #[inline]
    pub(crate) fn select(&self, k: u32, word: impl Fn(usize) -> u64) -> u32 {
        debug_assert!(k < self.len, "select({k}) among {}", self.len);
        let (s, rem) = scan(&self.supers, k);
        let (g, rem) = scan(&self.groups[s % self.groups.len()], rem);
        let g = s * RADIX + g;
        let (w, rem) = scan(&self.words[g % self.words.len()], rem);
        let w = (g * RADIX + w) % WORDS;
        w as u32 * 64 + select64(word(w), rem)
    }
}

/// The child holding rank `rem` among `counts`, and the rank within it.
#[inline]
fn scan<T: Copy + Into<u32>, const N: usize>(counts: &[T; N], rem: u32) -> (usize, u32) {
    let mut rem = rem;
    for (i, &c) in counts.iter().enumerate() {
        let c = c.into();
        if rem < c {
            return (i, rem);
        }
        rem -= c;
    }
    (N - 1, rem)
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

    fn members(bits: &[u64]) -> Vec<u32> {
        (0..bits.len() as u32 * 64)
            .filter(|&i| bits[(i / 64) as usize] >> (i % 64) & 1 == 1)
            .collect()
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
            let tree = RankTree::from_bits(&bits);
            let members = members(&bits);
            assert_eq!(tree.len() as usize, members.len());
            for (k, m) in members.iter().enumerate() {
                assert_eq!(
                    tree.select(k as u32, |w| bits[w]),
                    *m,
                    "{words} words, rank {k}"
                );
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
        fn updates_keep_the_counts_exact(
            words in 1usize..=WORDS,
            ops in proptest::collection::vec((any::<bool>(), any::<u32>(), any::<u64>()), 0..200),
        ) {
            let mut tree = RankTree::from_bits(&vec![0; words]);
            let mut model = vec![0u64; words];
            for (set, at, mask) in ops {
                let w = at as usize % words;
                if set {
                    tree.add(w, (mask & !model[w]).count_ones());
                    model[w] |= mask;
                } else {
                    tree.sub(w, (mask & model[w]).count_ones());
                    model[w] &= !mask;
                }
            }
            prop_assert_eq!(&tree, &RankTree::from_bits(&model));
            for (k, m) in members(&model).iter().enumerate() {
                prop_assert_eq!(tree.select(k as u32, |w| model[w]), *m);
            }
        }
    }
}
