//! A node's stream in two cache lines (a draw reads one, 15 times in 16): the ChaCha8 words
//! of [`super::Rng`] for the same seed, buffered one 16-word block at a time instead of four.
//!
//! Issue 13: every ipamd owns a stream, and a CNI ADD draws from it (the Go map's iteration
//! start). `rand_chacha::ChaCha8Rng` buffers four blocks (256 bytes) beside its state, six
//! cache lines per node, which the engine's prefetch hint for a pod event had to ask for
//! whole, not knowing which word comes next. This type buffers one block (64 bytes, one
//! line) and keeps the key, counter and stream on the other: ultra-100k's 100,000 nodes
//! 20 MB smaller, a hint four lines shorter.
//!
//! Hand-written because no crate gives these blocks one at a time: `rand_chacha` (and the
//! `chacha20` crate's RNG under it) generates four at a time only, and `chacha20`'s ChaCha8
//! cipher is the IETF variant, a 32-bit block counter in word 12 and a 96-bit nonce in
//! words 13–15 where `rand_chacha` keeps a 64-bit counter (12–13) and a 64-bit stream
//! (14–15). Feeding the counter's high half and the stream in as the nonce gives the same
//! blocks, except the last of every 2³² (block 2³² − 1 is past the end of the IETF
//! keystream: the cipher refuses it, which the test `the_words_cross_a_2_32_block_boundary`
//! found when this file used it). The block function is Bernstein's ChaCha with 8 rounds,
//! the words laid out as `rand_chacha` documents; the tests hold every word, `u64` and byte
//! fill against `ChaCha8Rng`.

use std::convert::Infallible;

use rand::{SeedableRng, TryRng};

/// "expand 32-byte k".
const CONSTANTS: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];
/// Words per block.
const BLOCK: usize = 16;

/// A ChaCha8 stream with a one-block buffer: the same words as [`super::Rng`] (which is
/// `ChaCha8Rng`) from the same seed. See the module docs.
///
/// `#[repr(C)]`: the position and the block's first 15 words share the first line, so a
/// draw reads one line except for the block's last word and the refill after it (both in
/// the second line, with the key): a CNI ADD reads 1.125 lines on average, not 2, and the
/// prefetch hint asks for one ([`NodeRng::prefetch`]). A test pins the lines.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct NodeRng {
    /// The next word of `buf` to hand out (`BLOCK`: none left).
    index: u32,
    /// The current block's words.
    buf: [u32; BLOCK],
    key: [u32; 8],
    /// The counter of the block after `buf`'s.
    next_block: u64,
    stream: u64,
}

impl PartialEq for NodeRng {
    /// The same stream at the same word (as `ChaCha8Rng`'s equality: whatever the buffer
    /// still holds of words already drawn).
    fn eq(&self, other: &Self) -> bool {
        (self.key, self.stream, self.word_pos()) == (other.key, other.stream, other.word_pos())
    }
}
impl Eq for NodeRng {}

impl NodeRng {
    /// Prefetch hint ([`crate::prefetch`]) for a draw to come: the line of the position and
    /// of all but the block's last word.
    #[inline]
    pub fn prefetch(&self) {
        crate::prefetch::line(&self.index);
    }

    /// The next word's offset from the start of the stream.
    fn word_pos(&self) -> u128 {
        u128::from(self.next_block) * BLOCK as u128 - (BLOCK as u128 - u128::from(self.index))
    }

    /// The next word of the stream.
    #[inline]
    fn word(&mut self) -> u32 {
        if self.index as usize >= BLOCK {
            self.refill();
        }
        let w = self.buf[self.index as usize];
        self.index += 1;
        w
    }

    #[cold]
    fn refill(&mut self) {
        self.buf = block(&self.key, self.next_block, self.stream);
        self.next_block = self.next_block.wrapping_add(1);
        self.index = 0;
    }
}

/// One ChaCha8 block: 4 double rounds over (constants, key, counter, stream), added to its
/// input.
fn block(key: &[u32; 8], counter: u64, stream: u64) -> [u32; BLOCK] {
    let mut input = [0u32; BLOCK];
    input[..4].copy_from_slice(&CONSTANTS);
    input[4..12].copy_from_slice(key);
    input[12] = counter as u32;
    input[13] = (counter >> 32) as u32;
    input[14] = stream as u32;
    input[15] = (stream >> 32) as u32;
    let mut x = input;
    for _ in 0..4 {
        quarter(&mut x, 0, 4, 8, 12);
        quarter(&mut x, 1, 5, 9, 13);
        quarter(&mut x, 2, 6, 10, 14);
        quarter(&mut x, 3, 7, 11, 15);
        quarter(&mut x, 0, 5, 10, 15);
        quarter(&mut x, 1, 6, 11, 12);
        quarter(&mut x, 2, 7, 8, 13);
        quarter(&mut x, 3, 4, 9, 14);
    }
    for (w, i) in x.iter_mut().zip(input) {
        *w = w.wrapping_add(i);
    }
    x
}

#[inline(always)]
fn quarter(x: &mut [u32; BLOCK], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

impl SeedableRng for NodeRng {
    type Seed = [u8; 32];

    /// The stream `ChaCha8Rng::from_seed(seed)` is: counter 0, stream 0.
    fn from_seed(seed: [u8; 32]) -> Self {
        let mut key = [0u32; 8];
        for (k, b) in key.iter_mut().zip(seed.chunks_exact(4)) {
            *k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        NodeRng {
            buf: [0; BLOCK],
            key,
            next_block: 0,
            stream: 0,
            index: BLOCK as u32,
        }
    }
}

impl From<super::Rng> for NodeRng {
    /// The same stream at the same position (tests build ipamds from `Streams::stream`).
    fn from(r: super::Rng) -> Self {
        let mut n = NodeRng::from_seed(r.get_seed());
        n.stream = r.get_stream();
        let pos = r.get_word_pos();
        n.next_block = (pos / BLOCK as u128) as u64;
        let offset = (pos % BLOCK as u128) as u32;
        if offset != 0 {
            n.refill();
            n.index = offset;
        }
        n
    }
}

impl TryRng for NodeRng {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.word())
    }

    /// Two words, the first the low half (as `BlockRng` takes them, across a block's end
    /// too).
    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let lo = self.word();
        let hi = self.word();
        Ok(u64::from(hi) << 32 | u64::from(lo))
    }

    /// Whole words, little-endian; a last partial word's other bytes are dropped.
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(4) {
            let w = self.word().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Rng, Streams};
    use proptest::prelude::*;
    use rand::Rng as _;

    #[test]
    fn two_cache_lines() {
        assert_eq!(size_of::<NodeRng>(), 128);
        assert_eq!(align_of::<NodeRng>(), 64);
    }

    /// A draw of any of the block's first 15 words reads only the position's line.
    #[test]
    fn the_position_shares_a_line_with_15_words() {
        use std::mem::offset_of;
        assert_eq!(offset_of!(NodeRng, index), 0);
        let word = |i: usize| offset_of!(NodeRng, buf) + 4 * i;
        assert!(word(14) + 3 < 64);
        assert!(word(15) >= 64);
    }

    /// `a` and the [`NodeRng`] made from it draw the same `draws` words (as `u64`s when
    /// `wide`) and end at the same position.
    fn follows(mut a: Rng, draws: usize, wide: bool) {
        let mut b = NodeRng::from(a.clone());
        for _ in 0..draws {
            if wide {
                assert_eq!(a.next_u64(), b.next_u64());
            } else {
                assert_eq!(a.next_u32(), b.next_u32());
            }
        }
        assert_eq!(b.word_pos(), a.get_word_pos());
    }

    #[test]
    fn the_words_are_chacha8rngs_over_many_blocks() {
        follows(Streams::new(7).stream("node", 3), 1_000, false);
    }

    #[test]
    fn a_stream_and_position_carry_over() {
        let mut a = Streams::new(9).stream("node", 0);
        a.set_stream(0x0123_4567_89ab_cdef);
        a.set_word_pos(37);
        follows(a, 100, true);
    }

    #[test]
    fn the_words_cross_a_2_32_block_boundary() {
        // Blocks 2³² − 1 and 2³²: the counter's high word starts to count.
        let mut a = Streams::new(5).stream("node", 1);
        a.set_stream(3);
        a.set_word_pos((1u128 << 36) - 21);
        follows(a, 100, false);
    }

    proptest! {
        /// Any mix of draws (words, `u64`s across block ends, byte fills of odd lengths,
        /// ranges) takes the same values as `ChaCha8Rng` and leaves both at the same word.
        #[test]
        fn every_draw_is_chacha8rngs(
            seed in any::<u64>(),
            ops in prop::collection::vec((0u8..4, 1usize..40), 1..120),
        ) {
            let mut a: Rng = Streams::new(seed).stream("node", seed % 7);
            let mut b = NodeRng::from(a.clone());
            for (op, n) in ops {
                match op {
                    0 => prop_assert_eq!(a.next_u32(), b.next_u32()),
                    1 => prop_assert_eq!(a.next_u64(), b.next_u64()),
                    2 => {
                        let (mut x, mut y) = (vec![0u8; n], vec![0u8; n]);
                        a.fill_bytes(&mut x);
                        b.fill_bytes(&mut y);
                        prop_assert_eq!(x, y);
                    }
                    _ => prop_assert_eq!(
                        a.random_range(0..n as u64 * 1_000_003),
                        b.random_range(0..n as u64 * 1_000_003)
                    ),
                }
            }
            prop_assert_eq!(b.word_pos(), a.get_word_pos());
            prop_assert_eq!(NodeRng::from(a), b);
        }
    }
}
