//! When the loop runs next: the 2.5 s sleeps, idle-tick skipping, the replay of skipped
//! reconciles' time stamps, and pull-backs on pod events (see the `agent` module docs).

use super::state::{Main, TickKind};
use super::{
    DECREASE_INTERVAL, HALF_TICK, INSUFFICIENT_CIDR_COOLDOWN, Ipamd, POOL_MONITOR_INTERVAL,
    RECONCILE_INTERVAL,
};
use crate::ipamd::policy;
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
        let mut next = now + POOL_MONITOR_INTERVAL;
        let mut skipped_from = None;
        if !self.pass.acted && started == now {
            let quiet = self.quiet_until(now);
            if quiet > next {
                let ticks = (quiet - now).div_ceil(POOL_MONITOR_INTERVAL);
                next = now.saturating_add(ticks.saturating_mul(POOL_MONITOR_INTERVAL));
                skipped_from = Some(now);
            }
        }
        self.main = Main::Tick {
            at: next,
            kind: TickKind::PoolCheck,
            skipped_from,
        };
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

    /// After an idle pool check at `now`: the earliest time the same check, with the same
    /// pods, could decide something (`u64::MAX`: only a pod event can change it).
    pub(super) fn quiet_until(&self, now: Millis) -> Millis {
        let st = self.ds.stats(now);
        let mut until = Millis::MAX;
        if policy::too_low(&self.s, &st) {
            if let Some(t) = self.timers.last_insufficient_cidr {
                until = until.min(t + INSUFFICIENT_CIDR_COOLDOWN + 1);
            }
        } else if policy::too_high(&self.s, &st)
            && let Some(t) = self.timers.last_decrease
        {
            until = until.min(t + DECREASE_INTERVAL + 1);
        }
        if policy::should_remove_extra_enis(&self.s, &st, || self.ds.freeable_eni_exists())
            && let Some(t) = self.ds.deletable_from(self.eni_targets())
        {
            until = until.min(t);
        }
        until
    }

    /// A pod event changed the datastore at `now`: if ticks are being skipped, the next
    /// pool check moves back to the first tick after `now`.
    pub(super) fn pull_back(&mut self, now: Millis) {
        if let Main::Tick {
            at,
            kind: TickKind::PoolCheck,
            skipped_from: Some(grid),
        } = &mut self.main
        {
            let ticks = now
                .saturating_sub(*grid)
                .div_ceil(POOL_MONITOR_INTERVAL)
                .max(1);
            let tick = *grid + ticks * POOL_MONITOR_INTERVAL;
            if tick < *at {
                *at = tick;
            }
        }
    }
}
