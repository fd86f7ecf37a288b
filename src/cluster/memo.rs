//! Failed CNI ADDs, remembered: kubelet's retries that provably fail again are parked on
//! their node, neither queued nor asking ipamd, until something could change their answer.
//!
//! A pod bound to a node whose pool has no address is retried every `cni_retry` (1 s) until
//! it gets one; in a busy run most events are such retries, and nearly all of them fail
//! exactly as the one before. Whether a CNI ADD succeeds, and why it fails, depends only on
//! the node's ipamd and on the time ([`crate::ipamd::Ipamd::failure_holds_until`]), never on
//! the pod. So each node keeps an *epoch*:
//!
//! - every operation of the cluster on a node except a failed CNI ADD (a bind that got an
//!   address, a retry that did, a pod deleted or evicted, a launch, a termination, Ready)
//!   starts a new epoch ([`Cluster::touch`]), and so does an ipamd wake-up that changed
//!   what a CNI ADD reads ([`crate::ipamd::Ipamd::add_key`]: the datastore, ipamd up or
//!   down, the last growth error, the last `InsufficientCidrBlocks`). A wake-up that did
//!   not (in a throttling storm nearly all: each growth call is throttled again) keeps the
//!   epoch, so the node's waiting pods stay parked (below) instead of each asking ipamd
//!   once after every wake-up;
//! - the first failed CNI ADD at or after the end of the current epoch's memo starts a new
//!   epoch too, and notes until when that failure holds; every failure inside the epoch is
//!   stamped with it ([`Cluster::failed_add`]).
//!
//! A retry carrying the node's current epoch, due before the memo's end, therefore meets the
//! same ipamd state as the pod's last CNI ADD, at a time when the answer cannot have changed:
//! it fails with the reason the pod already holds. Its other effects are no-ops too: the pod's
//! phase is rewritten with the same value, and the node's wake-up request is one the engine
//! holds already (a failed ADD leaves ipamd's next wake-up as it was, and each wake-up hands
//! its next one to the engine itself at its end).
//!
//! **Parked retries.** Such a retry is not even queued: it is *parked* on its node with the
//! time it is due ([`Cluster::failed_add`]), and so are the ones after it, every `cni_retry`,
//! for as long as the epoch lasts and its failure holds. The node's parked retries go back
//! to the engine ([`Cluster::take_unparked`]) when its epoch ends ([`Cluster::touch`], a
//! failed ADD after the memo's end) or when the failure stops holding (a timer the engine
//! keeps, [`Effects::memo_expires`]), each at its first due time after the event that ended
//! the parking: that event's own millisecond if the retry's place in it comes later
//! ([`CniRetry::key`]: kubelet's retries go after everything else of their millisecond, by
//! pod), else the next due time. Each due time skipped is a retry that failed as the last one
//! did without changing anything: it is counted as an event ([`Cluster::parked_retries`]) so
//! that the run's event count is the same as when every retry is asked.
//!
//! The proof is `tests/retry_memo.rs`: whole runs with and without the memo give identical
//! outputs, event count and event log included.
//!
//! Epochs are `u32` and wrap, skipping 0 (the stamp of a retry never evaluated: an imported
//! pod's first). A stale stamp could match only after 2³² new epochs on one node within one
//! retry interval, which a run cannot produce.

use super::{Cluster, Effects};
use crate::time::Millis;

/// One of kubelet's CNI ADD retries: the pod, the node of its last failed ADD, and the
/// node's epoch then (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CniRetry {
    /// The pod retried.
    pub pod: u32,
    /// The node its last CNI ADD failed on.
    pub node: u32,
    /// That node's epoch at the time (0: none yet).
    pub stamp: u32,
}

impl CniRetry {
    /// Its place among the other events of its millisecond: after every one the engine
    /// schedules in order, and among kubelet's retries by pod (then node: a pod evicted and
    /// bound again may still have its old node's retry queued). Kubelet's pod workers retry
    /// independently, so any fixed order of one millisecond's retries is as faithful as
    /// another; this one depends only on the retry, not on when it was queued, so a parked
    /// retry finds its place when it is queued again (module docs).
    pub fn key(&self) -> u64 {
        u64::from(self.pod) << 30 | u64::from(self.node & ((1 << 30) - 1))
    }
}

/// A retry parked on its node: it would fail as the last one did at `due` and every
/// `cni_retry` after, while the node's epoch lasts and its failure holds (module docs).
#[derive(Clone, Copy, Debug)]
struct Parked {
    retry: CniRetry,
    due: Millis,
}

/// The parked retries: per node, and those whose parking ended, until the engine takes them.
#[derive(Debug, Default)]
pub(super) struct Parking {
    by_node: Vec<Vec<Parked>>,
    ended: Vec<Parked>,
    /// Due times skipped so far: retries that failed again without being queued.
    skipped: u64,
}

/// Per node: its epoch and until when the failure noted in it holds (module docs).
#[derive(Clone, Copy, Debug)]
pub(super) struct AddMemo {
    epoch: u32,
    /// The epoch whose end of memo the engine has a timer for (0: none).
    timer: u32,
    /// Failed CNI ADDs in this epoch fail the same way before this time; 0 = none noted.
    until: Millis,
    /// Whether the node has parked retries: most epochs end with none, and this line is
    /// read anyway, the node's list of them (another) only when there are some.
    parked: bool,
}

impl AddMemo {
    /// A new node's memo: nothing noted.
    pub(super) fn new() -> Self {
        AddMemo {
            epoch: 1,
            timer: 0,
            until: 0,
            parked: false,
        }
    }

    fn next_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1).max(1);
    }
}

impl Cluster {
    /// A new node's empty list of parked retries (its memo is the node's: [`super::Node`]).
    pub(super) fn add_parking(&mut self) {
        self.parking.by_node.push(Vec::new());
    }

    /// Something other than a failed CNI ADD happened to node `n`: a new epoch, and a mark
    /// for the report's next sample ([`super::ChangedNodes`]).
    #[inline]
    pub(super) fn touch(&mut self, n: usize) {
        self.changed.mark(n);
        let m = &mut self.nodes[n].memo;
        m.next_epoch();
        m.until = 0;
        self.unpark(n);
    }

    /// Node `n`'s parked retries may succeed from now on: they go back to the engine.
    #[inline]
    fn unpark(&mut self, n: usize) {
        if self.nodes[n].memo.parked {
            self.end_parking(n);
        }
    }

    /// [`Cluster::unpark`] of a node with retries parked. (Out of line: every pod event
    /// touches its node, and rarely finds retries parked there.)
    #[inline(never)]
    fn end_parking(&mut self, n: usize) {
        self.nodes[n].memo.parked = false;
        self.parking.ended.append(&mut self.parking.by_node[n]);
    }

    /// Whether node `n`'s epoch notes a failure that still holds at `now`: only then can a
    /// retry be repeated without asking ipamd, so only then does a change need a new epoch
    /// (once the failure has expired, the next failed ADD opens one anyway).
    pub(super) fn failure_noted(&self, n: usize, now: Millis) -> bool {
        now < self.nodes[n].memo.until
    }

    /// `pod`'s CNI ADD on node `n` failed at `now`: kubelet retries it `cni_retry` later,
    /// stamped with the node's epoch (parked if it would fail again then). Opens a new epoch,
    /// with the time the failure holds until, unless the current epoch's still holds.
    pub(super) fn failed_add(&mut self, pod: u32, n: usize, now: Millis, fx: &mut impl Effects) {
        let node = &mut self.nodes[n];
        if now >= node.memo.until {
            node.memo.next_epoch();
            node.memo.until = node.ipamd.failure_holds_until(now);
            self.unpark(n);
        }
        let retry = CniRetry {
            pod,
            node: n as u32,
            stamp: self.nodes[n].memo.epoch,
        };
        self.reschedule(retry, now + self.cni_retry, fx);
    }

    /// Queues `retry` at `at`, or parks it there if it would fail again then (module docs).
    pub(super) fn reschedule(&mut self, retry: CniRetry, at: Millis, fx: &mut impl Effects) {
        if !self.fails_again(retry, at) {
            fx.retry(retry, at);
            return;
        }
        let n = retry.node as usize;
        self.parking.by_node[n].push(Parked { retry, due: at });
        let m = &mut self.nodes[n].memo;
        m.parked = true;
        if m.timer != m.epoch && m.until != Millis::MAX {
            m.timer = m.epoch;
            fx.memo_expires(n, m.epoch, m.until);
        }
    }

    /// The engine's timer for node `n`'s memo of epoch `epoch` ([`Effects::memo_expires`]):
    /// if that epoch still lasts, its failure no longer holds and its parked retries go back.
    pub fn memo_expired(&mut self, n: usize, epoch: u32) {
        if self.nodes[n].memo.epoch == epoch {
            self.unpark(n);
        }
    }

    /// Whether some parked retries went back since the last [`Cluster::take_unparked`].
    #[inline]
    pub fn has_unparked(&self) -> bool {
        !self.parking.ended.is_empty()
    }

    /// Queues the retries whose parking ended during the event just handled, at `now`: each
    /// at its first due time after that event, whose place among the retries of `now` is
    /// `after` (`None`: before all of them), counting the due times skipped (module docs).
    pub fn take_unparked(&mut self, now: Millis, after: Option<u64>, fx: &mut impl Effects) {
        let step = self.cni_retry;
        for p in self.parking.ended.drain(..) {
            let mut at = p.due;
            if at < now {
                at += (now - at).div_ceil(step) * step;
            }
            if at == now && after.is_some_and(|k| p.retry.key() < k) {
                at += step;
            }
            self.parking.skipped += (at - p.due) / step;
            fx.retry(p.retry, at);
        }
    }

    /// Retries that failed as the last one did without being queued, up to `end` (the run's
    /// last moment): each is an event of the run (module docs).
    pub fn parked_retries(&self, end: Millis) -> u64 {
        let step = self.cni_retry;
        let still = self.parking.by_node.iter().flatten();
        self.parking.skipped
            + still
                .filter(|p| p.due <= end)
                .map(|p| (end - p.due) / step + 1)
                .sum::<u64>()
    }

    /// Whether retry `r` at `now` fails exactly as the pod's last CNI ADD did (module docs).
    #[inline]
    pub(super) fn fails_again(&self, r: CniRetry, now: Millis) -> bool {
        self.memo_failed_adds
            && self
                .nodes
                .get(r.node as usize)
                .is_some_and(|n| n.memo.epoch == r.stamp && now < n.memo.until)
    }

    /// Node `n`'s current epoch.
    #[cfg(test)]
    pub(super) fn epoch(&self, n: usize) -> u32 {
        self.nodes[n].memo.epoch
    }

    /// Whether retries that provably fail again are parked (on by default; off in
    /// the tests that prove it changes nothing).
    pub fn set_memo_failed_adds(&mut self, on: bool) {
        self.memo_failed_adds = on;
    }
}
