//! When the loop runs next: the 2.5 s sleeps, idle-tick skipping, the replay of skipped
//! reconciles' time stamps, and pull-backs on pod events (see the `agent` module docs).

use super::state::{Main, TickKind};
use super::{
    DECREASE_INTERVAL, HALF_TICK, INSUFFICIENT_CIDR_COOLDOWN, Ipamd, POOL_MONITOR_INTERVAL,
    RECONCILE_INTERVAL,
};
use crate::ipamd::{CallOrder, policy};
use crate::time::Millis;

impl Ipamd {
    /// The pool check that started at `started` ended at `now`: sleep, then reconcile.
    /// While skipping, a reconcile without work is replayed lazily, and after an idle check
    /// whole ticks are skipped up to [`Ipamd::quiet_until`].
    pub(super) fn after_pool_check(&mut self, started: Millis, now: Millis) {
        let has_work = !self.held.attached.is_empty()
            || !self.held.drift.is_empty()
            || !self.held.returned.is_empty();
        if !self.cfg.skip_idle || has_work {
            self.sleep_until(now, TickKind::Reconcile);
            return;
        }
        self.timers.reconcile_from.get_or_insert(now + HALF_TICK);
        self.main = if !self.pass.acted && started == now {
            self.after_idle_check(now, self.quiet_until())
        } else {
            Main::Tick {
                at: now + POOL_MONITOR_INTERVAL,
                kind: TickKind::PoolCheck,
                skipped_from: None,
            }
        };
    }

    /// Where the loop goes after a pool check at `now` that decided nothing, while skipping:
    /// the first tick at or after `quiet` ([`Ipamd::quiet_until`]), or simply the next one.
    fn after_idle_check(&self, now: Millis, quiet: Millis) -> Main {
        let next = now + POOL_MONITOR_INTERVAL;
        if quiet == Millis::MAX {
            // Only a pod event can change the check: the grid's ticks past `now` saturate at
            // `Millis::MAX`, which the arithmetic below would reach through a division and
            // two saturating steps on nearly every pod event (issue 13).
            return Main::Tick {
                at: Millis::MAX,
                kind: TickKind::PoolCheck,
                skipped_from: Some(now),
            };
        }
        if quiet > next {
            let ticks = (quiet - now).div_ceil(POOL_MONITOR_INTERVAL);
            Main::Tick {
                at: now.saturating_add(ticks.saturating_mul(POOL_MONITOR_INTERVAL)),
                kind: TickKind::PoolCheck,
                skipped_from: Some(now),
            }
        } else {
            Main::Tick {
                at: next,
                kind: TickKind::PoolCheck,
                skipped_from: None,
            }
        }
    }

    /// Replays, before a pool check at `now`, the work-free reconciles of the ticks since
    /// `reconcile_from` (see [`Ipamd::last_pool_action_at`]).
    pub(super) fn replay_reconciles(&mut self, now: Millis) {
        if let Some(last_tick) = now.checked_sub(HALF_TICK) {
            self.timers.last_pool_action = self.last_pool_action_at(last_tick);
        }
        self.timers.reconcile_from = None;
    }

    /// `lastNodeIPPoolAction` as the reconciles of ticks up to `until` leave it, including
    /// those skipped and not yet replayed. Each stamps the time if more than 60 s passed
    /// since the last pool action; on the 5 s grid the first stamp is the first tick past
    /// `last + 60 s` and the next ones follow every 65 s.
    pub(super) fn last_pool_action_at(&self, until: Millis) -> Option<Millis> {
        let Some(first_tick) = self.timers.reconcile_from else {
            return self.timers.last_pool_action;
        };
        if until < first_tick {
            return self.timers.last_pool_action;
        }
        let first_stamp = match self.timers.last_pool_action {
            None => first_tick,
            Some(last) => {
                let due = last + RECONCILE_INTERVAL + 1;
                let k = due
                    .saturating_sub(first_tick)
                    .div_ceil(POOL_MONITOR_INTERVAL);
                first_tick + k * POOL_MONITOR_INTERVAL
            }
        };
        if first_stamp > until {
            return self.timers.last_pool_action;
        }
        let period = RECONCILE_INTERVAL + POOL_MONITOR_INTERVAL;
        Some(first_stamp + (until - first_stamp) / period * period)
    }

    /// After an idle pool check: the earliest time the same check, with the same pods, could
    /// decide something (`u64::MAX`: only a pod event can change it).
    pub(super) fn quiet_until(&self) -> Millis {
        self.quiet_from(&self.check_inputs())
    }

    /// [`Ipamd::quiet_until`] from the rules' answers at the check.
    fn quiet_from(&self, c: &CheckInputs) -> Millis {
        let mut until = Millis::MAX;
        if c.low {
            if let Some(t) = self.gates.last_insufficient_cidr {
                until = until.min(t + INSUFFICIENT_CIDR_COOLDOWN + 1);
            }
        } else if c.high
            && let Some(t) = self.gates.last_decrease
        {
            until = until.min(t + DECREASE_INTERVAL + 1);
        }
        if c.remove
            && let Some(t) = self.ds.deletable_from(self.eni_targets())
        {
            until = until.min(t);
        }
        until
    }

    /// The pool rules' answers for a check with the pool as it is (at any time: the rules
    /// read no clock, [`crate::ipamd::datastore::Datastore::policy_stats`]).
    fn check_inputs(&self) -> CheckInputs {
        let st = self.ds.policy_stats();
        CheckInputs {
            low: policy::too_low(&self.s, &st),
            high: policy::too_high(&self.s, &st),
            remove: policy::should_remove_extra_enis(&self.s, &st, || {
                self.ds.freeable_eni_exists()
            }),
        }
    }

    /// A pod event changed the datastore at `now` (`order` within its millisecond): if ticks
    /// are being skipped, the next pool check moves back to the first tick after `now`.
    ///
    /// If that check provably decides nothing ([`Ipamd::check_is_idle`]), the loop goes
    /// straight where that idle check would send it ([`Ipamd::after_idle_check`]) and the
    /// tick costs no wake-up: most pod events leave the pool within its targets (issue 13:
    /// 21.3 M of ultra-100k's 21.7 M pool checks were such pulled-back idle ones). The
    /// check found idle becomes the grid's last check (`skipped_from`) and a later pod event
    /// that comes before it (an earlier time, or its millisecond before the wake-ups) asks
    /// again with the new pool. Leaving the check out leaves out only what an idle check does
    /// not change: the lazily replayed reconciles go on from the same `reconcile_from`
    /// (their closed form is the same) and `prune` is unobservable. An idle check followed
    /// by an unskipped tick is not decided in advance (the pod events before that tick
    /// could not ask again).
    pub(super) fn pull_back(&mut self, now: Millis, order: CallOrder) {
        let Main::Tick {
            at,
            kind: TickKind::PoolCheck,
            skipped_from: Some(last),
        } = self.main
        else {
            return;
        };
        // The first check this event comes before: `last` itself if it still lies ahead, else
        // the first tick after it at `now` or later; a tick of this very millisecond has run
        // already (or has been found idle) when the call comes after the wake-ups.
        let tick = if now < last || (now == last && order == CallOrder::BeforeWakes) {
            last
        } else {
            let since = now - last;
            let ticks = match order {
                CallOrder::BeforeWakes => since.div_ceil(POOL_MONITOR_INTERVAL).max(1),
                CallOrder::AfterWakes => since / POOL_MONITOR_INTERVAL + 1,
            };
            last + ticks * POOL_MONITOR_INTERVAL
        };
        if tick >= at {
            return; // the planned check comes first and sees this event
        }
        let c = self.check_inputs();
        if self.check_is_idle(&c, tick) {
            let next = self.after_idle_check(tick, self.quiet_from(&c));
            if matches!(
                next,
                Main::Tick {
                    skipped_from: Some(_),
                    ..
                }
            ) {
                self.main = next;
                return;
            }
        }
        self.main = Main::Tick {
            at: tick,
            kind: TickKind::PoolCheck,
            skipped_from: Some(last),
        };
    }

    /// Whether a pool check at `at` that finds `c`, with the datastore as it is now,
    /// provably decides nothing: [`Ipamd::pool_check`]'s branches, asked without acting or
    /// drawing. It grows
    /// only when too low and out of the Insufficient* back-off, unless no ENI can take more
    /// and none can be added; it shrinks only when too high with the 30 s gate open; it
    /// frees an ENI only when `shouldRemoveExtraENIs` and an ENI is deletable at `at`.
    /// `false` whenever the check could act (then it runs at its tick).
    pub(super) fn check_is_idle(&self, c: &CheckInputs, at: Millis) -> bool {
        if c.low {
            let stuck = !policy::has_room_for_eni(&self.s, self.ds.eni_count())
                && !self
                    .ds
                    .has_allocatable_eni(self.s.cidrs_per_eni(), self.s.custom_networking);
            if !stuck && !self.in_insufficient_cidr_cooldown(at) {
                return false;
            }
        } else if c.high && self.decrease_gate_open(at) {
            return false;
        }
        !(c.remove && self.ds.has_deletable_eni(at, self.eni_targets()))
    }
}

/// What a pool check at some time would find: too low, too high, extra ENIs to free
/// (`isDatastorePoolTooLow`, `isDatastorePoolTooHigh`, `shouldRemoveExtraENIs`).
pub(super) struct CheckInputs {
    low: bool,
    high: bool,
    remove: bool,
}
