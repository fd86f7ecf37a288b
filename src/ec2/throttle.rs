//! Token buckets (EC2 API request throttling, spec/ec2-subnet.md §6) and the AWS SDK v2
//! standard retryer's backoff (spec/ipamd-policy.md "Modelling choices" 5).
//!
//! A bucket holds whole tokens in fixed point (10^6 units per token) so refills are exact
//! integer arithmetic: same calls, same outcome, on every platform. It refills lazily from
//! the time of the request; a request stamped before the bucket's last update (an SDK retry
//! of another node already ran "in the future") takes a token without refilling backwards.

use rand::RngExt as _;

use super::config::Bucket;
use crate::rng::Rng;
use crate::time::{Millis, SECOND};

/// Fixed-point units per token.
const UNIT: u64 = 1_000_000;

/// One action's token bucket.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    /// Units when full.
    capacity: u64,
    /// Units added per millisecond.
    per_ms: u64,
    /// Units now.
    level: u64,
    /// Time of the last refill.
    updated: Millis,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(bucket: Bucket) -> TokenBucket {
        let capacity = u64::from(bucket.capacity.max(1)) * UNIT;
        // refill_per_s tokens/s = refill_per_s × 10^6 units / 1000 ms.
        let per_ms = (bucket.refill_per_s.max(0.0) * (UNIT / 1_000) as f64).round() as u64;
        TokenBucket {
            capacity,
            per_ms,
            level: capacity,
            updated: 0,
        }
    }

    /// Takes one token at `now`; `false` when the bucket is empty (`RequestLimitExceeded`).
    pub(crate) fn take(&mut self, now: Millis) -> bool {
        if now > self.updated {
            let refill = (now - self.updated).saturating_mul(self.per_ms);
            self.level = self.level.saturating_add(refill).min(self.capacity);
            self.updated = now;
        }
        if self.level >= UNIT {
            self.level -= UNIT;
            true
        } else {
            false
        }
    }
}

/// Attempts per ipamd-level call: the SDK v2 standard retryer's `MaxAttempts`.
pub(crate) const MAX_ATTEMPTS: u32 = 3;
/// The retryer's `MaxBackoff`.
const MAX_BACKOFF: Millis = 20 * SECOND;

/// The wait after failed attempt number `attempt` (1-based): uniform over
/// `[0, min(20 s, 2^attempt s))`, whole milliseconds, as the SDK's
/// `ExponentialJitterBackoff` (`rand() × 2^attempt` seconds, capped).
pub(crate) fn backoff(attempt: u32, rng: &mut Rng) -> Millis {
    let cap = SECOND.saturating_mul(1 << attempt.min(20)).min(MAX_BACKOFF);
    rng.random_range(0..cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;

    fn bucket(capacity: u32, refill_per_s: f64) -> TokenBucket {
        TokenBucket::new(Bucket {
            capacity,
            refill_per_s,
        })
    }

    #[test]
    fn starts_full_and_empties() {
        let mut b = bucket(3, 0.0);
        assert!(b.take(0) && b.take(0) && b.take(0));
        assert!(!b.take(0));
        assert!(!b.take(1_000_000), "no refill at rate 0");
    }

    #[test]
    fn refills_at_its_rate_up_to_capacity() {
        let mut b = bucket(2, 5.0); // one token per 200 ms
        assert!(b.take(0) && b.take(0) && !b.take(0));
        assert!(!b.take(199));
        assert!(b.take(200));
        assert!(!b.take(200));
        // A long idle spell refills only to capacity.
        assert!(b.take(100_000) && b.take(100_000) && !b.take(100_000));
        // Fractional rates are exact: 0.5/s = one token per 2 s.
        let mut slow = bucket(1, 0.5);
        assert!(slow.take(0) && !slow.take(1_999) && slow.take(2_000));
    }

    #[test]
    fn an_earlier_stamp_does_not_refill_backwards() {
        let mut b = bucket(1, 1.0);
        assert!(b.take(10_000));
        // A request stamped earlier than the last update: no refill, no underflow.
        assert!(!b.take(5_000));
        assert!(!b.take(10_999));
        assert!(b.take(11_000));
    }

    #[test]
    fn backoff_is_capped_jitter() {
        let mut rng = Streams::new(1).stream("ec2-retry", 0);
        for (attempt, cap) in [
            (1, 2_000),
            (2, 4_000),
            (4, 16_000),
            (5, 20_000),
            (40, 20_000),
        ] {
            let waits: Vec<Millis> = (0..4_000).map(|_| backoff(attempt, &mut rng)).collect();
            assert!(waits.iter().all(|&w| w < cap), "attempt {attempt}");
            let max = *waits.iter().max().unwrap();
            assert!(max > cap * 9 / 10, "attempt {attempt}: max {max}");
        }
    }
}
