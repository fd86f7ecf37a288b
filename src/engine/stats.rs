//! What the engine did in a run, by kind of event, and how long its queue was: `ipamsim run
//! --stats`. The queue's mean length at its pops is the figure to hold a bare binary heap to
//! (`../shared/tools/heapbench PENDING OPS`, issue 13): the same number of pending events is
//! the same cost per pop for a heap. Counted only when asked for ([`super::RunOptions`]).

use super::Kind;

/// Events of one run by kind, and the queue's length at its pops.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Pod adds from the workloads.
    pub pod_adds: u64,
    /// Pod deletes from the workloads.
    pub pod_deletes: u64,
    /// ipamd wake-ups that ran.
    pub wakes: u64,
    /// ipamd wake-ups superseded by an earlier one for the same node, dropped when they
    /// surfaced (each is still an event).
    pub superseded_wakes: u64,
    /// kubelet's CNI ADD retries taken from the queue.
    pub retries: u64,
    /// kubelet's CNI ADD retries that failed again while parked on their node, never queued
    /// (`cluster/memo.rs`): events of the run, but no work for the queue.
    pub parked_retries: u64,
    /// The engine's timers for parked retries (not events of the run).
    pub memo_expiries: u64,
    /// Launches, readiness and Karpenter's controllers.
    pub other: u64,
    /// Sum over the queue's pops of its length just before each.
    pending_sum: u128,
}

impl EngineStats {
    /// Every event of the run (the summary's `events`).
    pub fn events(&self) -> u64 {
        self.pod_adds + self.pod_deletes + self.queue_pops() - self.memo_expiries
            + self.parked_retries
    }

    /// Events taken from the queue: all but the pod adds and deletes and the parked retries,
    /// and the memo timers.
    pub fn queue_pops(&self) -> u64 {
        self.wakes + self.superseded_wakes + self.retries + self.other + self.memo_expiries
    }

    /// The queue's mean length at its pops (0 without pops).
    pub fn mean_pending(&self) -> f64 {
        match self.queue_pops() {
            0 => 0.0,
            pops => self.pending_sum as f64 / pops as f64,
        }
    }

    pub(super) fn pod_event(&mut self, add: bool) {
        match add {
            true => self.pod_adds += 1,
            false => self.pod_deletes += 1,
        }
    }

    /// The queue hands over `kind` while holding `pending` events (that one included);
    /// `current` tells a wake-up that will run from a superseded one.
    pub(super) fn queue_pop(&mut self, pending: usize, kind: Kind, current: bool) {
        self.pending_sum += pending as u128;
        match kind {
            Kind::Wake { .. } if current => self.wakes += 1,
            Kind::Wake { .. } => self.superseded_wakes += 1,
            Kind::Retry(_) => self.retries += 1,
            Kind::MemoExpiry { .. } => self.memo_expiries += 1,
            _ => self.other += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_is_over_the_queue_pops() {
        let mut s = EngineStats::default();
        assert_eq!(s.mean_pending(), 0.0);
        s.pod_event(true);
        s.pod_event(false);
        s.queue_pop(3, Kind::Batch, true);
        s.queue_pop(
            5,
            Kind::Wake {
                node: 0,
                generation: 1,
            },
            false,
        );
        s.queue_pop(4, Kind::MemoExpiry { node: 0, epoch: 1 }, true);
        s.parked_retries = 10;
        assert_eq!(s.mean_pending(), 4.0);
        assert_eq!(
            s.events(),
            4 + 10,
            "timers are not events, parked retries are"
        );
        assert_eq!((s.superseded_wakes, s.wakes, s.other), (1, 0, 1));
    }
}
