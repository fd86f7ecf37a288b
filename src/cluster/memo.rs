//! Failed CNI ADDs, remembered: kubelet's retries that provably fail again are repeated
//! without asking ipamd.
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
//!   epoch, so the node's waiting pods keep being only rescheduled instead of each asking
//!   ipamd once after every wake-up;
//! - the first failed CNI ADD at or after the end of the current epoch's memo starts a new
//!   epoch too, and notes until when that failure holds; every failure inside the epoch is
//!   stamped with it ([`Cluster::failed_add`]).
//!
//! A retry carrying the node's current epoch, due before the memo's end, therefore meets the
//! same ipamd state as the pod's last CNI ADD, at a time when the answer cannot have changed:
//! it fails with the reason the pod already holds. Its other effects are no-ops too: the pod's
//! phase is rewritten with the same value, and the node's wake-up request is one the engine
//! holds already (a failed ADD leaves ipamd's next wake-up as it was, and each wake-up hands
//! its next one to the engine itself at its end). The retry is then
//! only rescheduled, [`Cluster::retry`]'s fast path; it still is an event, at its own place in
//! the queue, so the run's order of events and its event count are unchanged. The proof is
//! `tests/retry_memo.rs`: whole runs with and without the memo give identical outputs, event
//! log included.
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

/// Per node: its epoch and until when the failure noted in it holds (module docs).
#[derive(Clone, Copy, Debug)]
pub(super) struct AddMemo {
    epoch: u32,
    /// Failed CNI ADDs in this epoch fail the same way before this time; 0 = none noted.
    until: Millis,
}

impl AddMemo {
    /// A new node's memo: nothing noted.
    pub(super) fn new() -> Self {
        AddMemo { epoch: 1, until: 0 }
    }

    fn next_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1).max(1);
    }
}

impl Cluster {
    /// Something other than a failed CNI ADD happened to node `n`: a new epoch.
    pub(super) fn touch(&mut self, n: usize) {
        let m = &mut self.memos[n];
        m.next_epoch();
        m.until = 0;
    }

    /// Whether node `n`'s epoch notes a failure that still holds at `now`: only then can a
    /// retry be repeated without asking ipamd, so only then does a change need a new epoch
    /// (once the failure has expired, the next failed ADD opens one anyway).
    pub(super) fn failure_noted(&self, n: usize, now: Millis) -> bool {
        now < self.memos[n].until
    }

    /// `pod`'s CNI ADD on node `n` failed at `now`: kubelet retries it `cni_retry` later,
    /// stamped with the node's epoch. Opens a new epoch, with the time the failure holds
    /// until, unless the current epoch's still holds.
    pub(super) fn failed_add(&mut self, pod: u32, n: usize, now: Millis, fx: &mut impl Effects) {
        let m = &mut self.memos[n];
        if now >= m.until {
            m.next_epoch();
            m.until = self.nodes[n].ipamd.failure_holds_until(now);
        }
        let retry = CniRetry {
            pod,
            node: n as u32,
            stamp: m.epoch,
        };
        fx.retry(retry, now + self.cni_retry);
    }

    /// Whether retry `r` at `now` fails exactly as the pod's last CNI ADD did (module docs).
    pub(super) fn fails_again(&self, r: CniRetry, now: Millis) -> bool {
        self.memo_failed_adds
            && self
                .memos
                .get(r.node as usize)
                .is_some_and(|m| m.epoch == r.stamp && now < m.until)
    }

    /// Whether retries that provably fail again are only rescheduled (on by default; off in
    /// the tests that prove it changes nothing).
    pub fn set_memo_failed_adds(&mut self, on: bool) {
        self.memo_failed_adds = on;
    }
}
