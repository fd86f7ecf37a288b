//! The provisioner's batching window (kubernetes-sigs/karpenter
//! `pkg/controllers/provisioning/batcher.go`, `Batcher.Trigger` / `Batcher.Wait`).
//!
//! `Wait` blocks until a first trigger, then returns at whichever comes first: the max
//! timer ([`BATCH_MAX_DURATION`] from that first trigger) or the idle timer
//! ([`BATCH_IDLE_DURATION`], reset by every trigger of an element not yet in the window).
//! Upstream dedups triggers by pod UID within a window; here each trigger is one pod
//! becoming pending (or re-triggering after [`super::POD_REQUEUE`]), which the engine sends
//! once per pod and window.

use super::{BATCH_IDLE_DURATION, BATCH_MAX_DURATION};
use crate::time::Millis;

/// One open window, or none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Batcher {
    /// (first trigger, last trigger) of the open window.
    window: Option<(Millis, Millis)>,
}

impl Batcher {
    /// A trigger at `now`: opens a window, or extends the open one's idle timer. Returns
    /// true when it opened a window (the engine then schedules a look at [`Self::deadline`]).
    pub fn trigger(&mut self, now: Millis) -> bool {
        match &mut self.window {
            Some((_, last)) => {
                *last = now;
                false
            }
            None => {
                self.window = Some((now, now));
                true
            }
        }
    }

    /// When the open window closes as things stand: the earlier of its max and idle timers.
    pub fn deadline(&self) -> Option<Millis> {
        self.window
            .map(|(first, last)| (first + BATCH_MAX_DURATION).min(last + BATCH_IDLE_DURATION))
    }

    /// Whether the window is open.
    pub fn is_open(&self) -> bool {
        self.window.is_some()
    }

    /// Closes the window if its deadline has come: true when the batch is to be scheduled
    /// now. (Upstream's `Wait` returns and `Reconcile` schedules every pending pod.)
    pub fn close_if_due(&mut self, now: Millis) -> bool {
        match self.deadline() {
            Some(d) if d <= now => {
                self.window = None;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECOND;

    #[test]
    fn a_lone_pod_waits_the_idle_second() {
        let mut b = Batcher::default();
        assert!(b.trigger(5 * SECOND));
        assert_eq!(b.deadline(), Some(6 * SECOND));
        assert!(!b.close_if_due(6 * SECOND - 1));
        assert!(b.close_if_due(6 * SECOND));
        assert!(!b.is_open());
    }

    #[test]
    fn triggers_extend_the_window_up_to_ten_seconds() {
        let mut b = Batcher::default();
        assert!(b.trigger(0));
        // A pod every 900 ms keeps the idle timer from firing…
        for i in 1..=20u64 {
            let t = i * 900;
            if t >= 10 * SECOND {
                break;
            }
            assert!(!b.trigger(t));
        }
        // …until the max timer closes the window 10 s after it opened.
        assert_eq!(b.deadline(), Some(10 * SECOND));
        assert!(b.close_if_due(10 * SECOND));
    }

    #[test]
    fn a_gap_longer_than_idle_closes_the_window() {
        let mut b = Batcher::default();
        b.trigger(0);
        b.trigger(500);
        assert_eq!(b.deadline(), Some(1_500));
        assert!(b.close_if_due(1_500));
        assert!(b.trigger(2_000), "a later pod opens a new window");
    }
}
