//! Named, seeded random streams.
//!
//! Every source of randomness in a run draws from its own `rand_chacha::ChaCha8Rng`, derived
//! from the scenario seed and a *stream name* plus an index (`("node", 17)`,
//! `("workload", 2)`, `("subnet-placement", 0)`, …). Streams are independent: adding a node
//! or a workload never shifts the draws of another stream, which is what makes sweeps use
//! common random numbers and keeps runs byte-identical across machines. Each node's ipamd
//! holds its stream as a [`NodeRng`]: the same ChaCha8 words, buffered a block at a time so
//! the node's state stays small (`rng/node.rs`).

use rand::SeedableRng;
pub use rand_chacha::ChaCha8Rng as Rng;

mod node;
pub use node::NodeRng;

/// The factory of all streams of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Streams {
    seed: u64,
}

impl Streams {
    /// Streams derived from the scenario seed.
    pub fn new(seed: u64) -> Self {
        Streams { seed }
    }

    /// The scenario seed these streams derive from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The stream called `name`, number `index`. Same (seed, name, index) ⇒ same stream, on
    /// every platform.
    pub fn stream(&self, name: &str, index: u64) -> Rng {
        Rng::from_seed(self.key(name, index))
    }

    /// [`Streams::stream`] as a [`NodeRng`]: the same words, in two cache lines (each node's
    /// ipamd holds one).
    pub fn node_stream(&self, name: &str, index: u64) -> NodeRng {
        NodeRng::from_seed(self.key(name, index))
    }

    /// The ChaCha key of stream `name`, number `index`.
    fn key(&self, name: &str, index: u64) -> [u8; 32] {
        // FNV-1a over the name, then splitmix64 to spread (seed, name, index) into a 256-bit
        // ChaCha key. Both are fixed, documented functions: no dependence on std's hasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut state = self.seed ^ h.rotate_left(17) ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        key
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Natural logarithm of `x` in (0, 1] from `+ − × ÷` alone, so an exponential draw is the
/// same on every platform (`f64::ln` comes from the platform's libm, which may differ in the
/// last bit): x = m·2^e with m in [√½, √2), then ln m = 2·atanh(s), s = (m−1)/(m+1),
/// |s| < 0.172, by its series to s^27 (below 1e-20 relative).
#[inline]
pub fn ln(x: f64) -> f64 {
    ln_lanes([x])[0]
}

/// [`ln`] of two values at once: the same operations lane by lane, so the same results, in
/// half the instructions where the compiler pairs them (the workload's arrival gap and
/// lifetime are drawn together).
#[inline]
pub fn ln2(x: [f64; 2]) -> [f64; 2] {
    ln_lanes(x)
}

/// [`ln`]'s operations on `N` values, lane by lane.
#[inline(always)]
fn ln_lanes<const N: usize>(x: [f64; N]) -> [f64; N] {
    let mut e = [0.0; N];
    let mut m = [0.0; N];
    for i in 0..N {
        debug_assert!(x[i] > 0.0 && x[i].is_finite());
        let bits = x[i].to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
        let mant = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | (1023 << 52));
        let big = mant > std::f64::consts::SQRT_2;
        m[i] = if big { mant / 2.0 } else { mant };
        e[i] = (exp + i64::from(big)) as f64;
    }
    let s: [f64; N] = std::array::from_fn(|i| (m[i] - 1.0) / (m[i] + 1.0));
    let s2: [f64; N] = std::array::from_fn(|i| s[i] * s[i]);
    let (mut term, mut sum) = (s, [0.0; N]);
    for k in 0..14 {
        let d = f64::from(2 * k + 1);
        for i in 0..N {
            sum[i] += term[i] / d;
            term[i] *= s2[i];
        }
    }
    std::array::from_fn(|i| e[i] * std::f64::consts::LN_2 + 2.0 * sum[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt as _;

    fn first(seed: u64, name: &str, idx: u64) -> u64 {
        Streams::new(seed).stream(name, idx).random::<u64>()
    }

    /// [`ln`] as first written, one value and a branch: the lanes must give its bits, or
    /// every Poisson workload's times would move.
    fn ln_scalar(x: f64) -> f64 {
        let bits = x.to_bits();
        let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
        let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | (1023 << 52));
        if m > std::f64::consts::SQRT_2 {
            m /= 2.0;
            e += 1;
        }
        let s = (m - 1.0) / (m + 1.0);
        let s2 = s * s;
        let (mut term, mut sum) = (s, 0.0);
        for k in 0..14 {
            sum += term / f64::from(2 * k + 1);
            term *= s2;
        }
        e as f64 * std::f64::consts::LN_2 + 2.0 * sum
    }

    #[test]
    fn ln_and_ln2_give_the_scalar_formula_bit_for_bit() {
        let mut r = Streams::new(3).stream("ln", 0);
        let edges = [
            1.0,
            f64::MIN_POSITIVE,
            0.5,
            std::f64::consts::FRAC_1_SQRT_2,
            1e-300,
        ];
        let drawn = (0..10_000).map(|_| 1.0 - r.random::<f64>());
        let xs: Vec<f64> = edges.into_iter().chain(drawn).collect();
        for pair in xs.chunks_exact(2) {
            let [a, b] = ln2([pair[0], pair[1]]);
            assert_eq!(a.to_bits(), ln_scalar(pair[0]).to_bits());
            assert_eq!(b.to_bits(), ln_scalar(pair[1]).to_bits());
            assert_eq!(ln(pair[0]).to_bits(), ln_scalar(pair[0]).to_bits());
        }
        assert!((ln(0.5) + std::f64::consts::LN_2).abs() < 1e-15);
    }

    #[test]
    fn same_name_same_stream() {
        let s = Streams::new(7);
        let (mut r1, mut r2) = (s.stream("node", 3), s.stream("node", 3));
        for _ in 0..16 {
            assert_eq!(r1.random::<u64>(), r2.random::<u64>());
        }
    }

    #[test]
    fn streams_differ_by_name_index_and_seed() {
        let base = first(7, "node", 3);
        assert_ne!(base, first(7, "node", 4));
        assert_ne!(base, first(7, "workload", 3));
        assert_ne!(base, first(8, "node", 3));
    }

    #[test]
    fn stream_is_pinned_across_platforms() {
        // A change to the derivation silently changes every run's output: pin one value.
        assert_eq!(
            format!("{:016x}", first(1, "subnet-placement", 0)),
            "45e8056585557b82"
        );
    }
}
