//! One secondary IP or prefix in the datastore: its addresses' records and `getUnusedIP`.
//!
//! Laid out for the hot path (issue 13): a record is one `u64`, a /32's record lives inside
//! its [`CidrState`] (no allocation of its own, one cache line fewer per assign and release),
//! and a [`CidrState`] is 32 bytes, two to a cache line.

use super::is_cooling;
use crate::ec2::Cidr;
use crate::time::Millis;

/// One address of a CIDR, in one word: *unused* (never handed out, or dropped once its
/// cooldown ended), *assigned* since a time, or *released* at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rec(u64);

/// Set on an assigned record's time.
const ASSIGNED: u64 = 1 << 63;

impl Rec {
    /// No record.
    pub(super) const UNUSED: Rec = Rec(u64::MAX);

    /// Held by a pod since `at` (times are far below 2⁶³ − 1 ms).
    pub(super) fn assigned(at: Millis) -> Rec {
        debug_assert!(at < ASSIGNED - 1);
        Rec(at | ASSIGNED)
    }

    /// Given back by a pod at `at`.
    pub(super) fn released(at: Millis) -> Rec {
        debug_assert!(at < ASSIGNED);
        Rec(at)
    }

    /// When a pod got it, if a pod holds it.
    pub(super) fn assigned_at(self) -> Option<Millis> {
        (self != Rec::UNUSED && self.0 & ASSIGNED != 0).then_some(self.0 & !ASSIGNED)
    }

    /// When a pod gave it back, if it is released.
    pub(super) fn released_at(self) -> Option<Millis> {
        (self.0 & ASSIGNED == 0).then_some(self.0)
    }

    /// Released at a time still cooling at `now`.
    fn cooling(self, now: Millis, cooldown: Millis) -> bool {
        self.released_at()
            .is_some_and(|at| is_cooling(at, now, cooldown))
    }
}

/// A CIDR's records: a /32's inline, a prefix's (16) on the heap.
#[derive(Clone, Debug)]
enum Recs {
    One(Rec),
    Many(Box<[Rec]>),
}

#[derive(Clone, Debug)]
pub(super) struct CidrState {
    pub(super) cidr: Cidr,
    pub(super) assigned: u8,
    /// Records that are not `Unused`.
    pub(super) recorded: u8,
    /// Whether `last_release_at` holds a release.
    released: bool,
    /// Latest release among the records (an upper bound once expired; see `pick_unused`).
    last_release_at: Millis,
    recs: Recs,
}

impl CidrState {
    pub(super) fn new(cidr: Cidr) -> Self {
        let recs = match cidr.size_u32() {
            1 => Recs::One(Rec::UNUSED),
            n => Recs::Many(vec![Rec::UNUSED; n as usize].into_boxed_slice()),
        };
        CidrState {
            cidr,
            assigned: 0,
            recorded: 0,
            released: false,
            last_release_at: 0,
            recs,
        }
    }

    /// Its records, lowest address first.
    pub(super) fn recs(&self) -> &[Rec] {
        match &self.recs {
            Recs::One(r) => std::slice::from_ref(r),
            Recs::Many(b) => b,
        }
    }

    /// Its records, mutably.
    pub(super) fn recs_mut(&mut self) -> &mut [Rec] {
        match &mut self.recs {
            Recs::One(r) => std::slice::from_mut(r),
            Recs::Many(b) => b,
        }
    }

    pub(super) fn size(&self) -> u32 {
        match &self.recs {
            Recs::One(_) => 1,
            Recs::Many(b) => b.len() as u32,
        }
    }

    /// Latest release among the records, if any was ever released.
    pub(super) fn last_release(&self) -> Option<Millis> {
        self.released.then_some(self.last_release_at)
    }

    /// Records that a pod released the address at `offset` at `now`.
    pub(super) fn release(&mut self, offset: usize, now: Millis) {
        self.recs_mut()[offset] = Rec::released(now);
        self.assigned -= 1;
        self.released = true;
        self.last_release_at = now;
    }

    pub(super) fn may_be_cooling(&self, now: Millis, cooldown: Millis) -> bool {
        self.released && is_cooling(self.last_release_at, now, cooldown)
    }

    /// Addresses a pod could get now: unused, or released and cooled down.
    pub(super) fn assignable(&self, now: Millis, cooldown: Millis) -> u32 {
        let unassigned = self.size() - u32::from(self.assigned);
        if !self.may_be_cooling(now, cooldown) {
            return unassigned;
        }
        let cooling = self
            .recs()
            .iter()
            .filter(|r| r.cooling(now, cooldown))
            .count() as u32;
        unassigned - cooling
    }

    pub(super) fn has_assignable(&self, now: Millis, cooldown: Millis) -> bool {
        if u32::from(self.recorded) < self.size() {
            return true;
        }
        self.recorded > self.assigned && self.assignable(now, cooldown) > 0
    }

    /// `getUnusedIP`: the first released record out of cooldown is reused, and every such
    /// record is dropped on the way; otherwise the lowest address without a record. (Which
    /// expired record comes "first" is Go map order over 16 addresses; we take the lowest —
    /// the choice inside one /28 changes no count.) A dropped record was out of cooldown, so
    /// `last_release` stays a valid bound: if it pointed at one, every record had expired.
    /// Returns the offset and how many records were dropped.
    pub(super) fn pick_unused(&mut self, now: Millis, cooldown: Millis) -> Option<(usize, u8)> {
        let mut reuse = None;
        let mut dropped = 0;
        if self.recorded > self.assigned {
            for (i, r) in self.recs_mut().iter_mut().enumerate() {
                if let Some(at) = r.released_at()
                    && !is_cooling(at, now, cooldown)
                {
                    reuse.get_or_insert(i);
                    *r = Rec::UNUSED;
                    dropped += 1;
                }
            }
            self.recorded -= dropped;
        }
        let at = reuse.or_else(|| self.recs().iter().position(|r| *r == Rec::UNUSED));
        at.map(|i| (i, dropped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_word_and_a_cidr_half_a_cache_line() {
        assert_eq!(size_of::<Rec>(), 8);
        assert!(size_of::<CidrState>() <= 32, "{}", size_of::<CidrState>());
        assert_eq!(size_of::<Option<CidrState>>(), size_of::<CidrState>());
    }

    #[test]
    fn records_round_trip() {
        for t in [0, 1, 30_000, 86_400_000 * 400] {
            assert_eq!(Rec::assigned(t).assigned_at(), Some(t));
            assert_eq!(Rec::assigned(t).released_at(), None);
            assert_eq!(Rec::released(t).released_at(), Some(t));
            assert_eq!(Rec::released(t).assigned_at(), None);
            assert_ne!(Rec::assigned(t), Rec::UNUSED);
            assert_ne!(Rec::released(t), Rec::UNUSED);
        }
        assert_eq!(Rec::UNUSED.assigned_at(), None);
        assert_eq!(Rec::UNUSED.released_at(), None);
    }
}
