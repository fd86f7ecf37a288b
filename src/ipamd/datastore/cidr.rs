//! One secondary IP or prefix in the datastore: its addresses' records and `getUnusedIP`.
//!
//! Laid out for the hot path (issue 13): a record is one `u64`, a /32's record lives inside
//! its [`CidrState`] (no allocation of its own, one cache line fewer per assign and release),
//! and a [`CidrState`] is 32 bytes, two to a cache line. A prefix's 16 records live on the
//! heap, a cache miss away in a large run; two bit masks beside them say which records are
//! unused and which released, so `getUnusedIP` reads the records only when some released
//! address may still be cooling (ultra-100k: that miss was 11 % of the run).

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

    /// Released (a time, no pod).
    fn is_released(self) -> bool {
        self.0 & ASSIGNED == 0
    }

    /// Released at a time still cooling at `now`.
    fn cooling(self, now: Millis, cooldown: Millis) -> bool {
        self.released_at()
            .is_some_and(|at| is_cooling(at, now, cooldown))
    }
}

/// Addresses in a prefix (a /28).
const PREFIX: usize = 16;

/// A CIDR's records: a /32's inline, a prefix's on the heap with two masks beside the
/// pointer, one bit per record: which are unused and which released. Every write goes
/// through [`Recs::set`], which keeps the masks.
#[derive(Clone, Debug)]
enum Recs {
    One(Rec),
    Many {
        recs: Box<[Rec; PREFIX]>,
        unused: u16,
        released: u16,
    },
}

impl Recs {
    fn get(&self) -> &[Rec] {
        match self {
            Recs::One(r) => std::slice::from_ref(r),
            Recs::Many { recs, .. } => &recs[..],
        }
    }

    /// Sets record `i`, keeping the masks.
    #[inline]
    fn set(&mut self, i: usize, rec: Rec) {
        match self {
            Recs::One(r) => *r = rec,
            Recs::Many {
                recs,
                unused,
                released,
            } => {
                recs[i] = rec;
                let bit = 1 << i;
                *unused = (*unused & !bit) | if rec == Rec::UNUSED { bit } else { 0 };
                *released = (*released & !bit) | if rec.is_released() { bit } else { 0 };
            }
        }
    }

    /// Bit `i`: record `i` is unused (read from the masks, or the inline record).
    #[inline]
    fn unused(&self) -> u16 {
        match self {
            Recs::One(r) => u16::from(*r == Rec::UNUSED),
            Recs::Many { unused, .. } => *unused,
        }
    }

    /// Bit `i`: record `i` is released.
    #[inline]
    fn released(&self) -> u16 {
        match self {
            Recs::One(r) => u16::from(r.is_released()),
            Recs::Many { released, .. } => *released,
        }
    }
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
            // Secondary IPs are /32s and prefixes /28s (spec/ec2-subnet.md §2).
            n => {
                assert_eq!(n as usize, PREFIX, "a datastore CIDR is a /32 or a /28");
                Recs::Many {
                    recs: Box::new([Rec::UNUSED; PREFIX]),
                    unused: u16::MAX,
                    released: 0,
                }
            }
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
        self.recs.get()
    }

    pub(super) fn size(&self) -> u32 {
        match &self.recs {
            Recs::One(_) => 1,
            Recs::Many { .. } => PREFIX as u32,
        }
    }

    /// Latest release among the records, if any was ever released.
    pub(super) fn last_release(&self) -> Option<Millis> {
        self.released.then_some(self.last_release_at)
    }

    /// Records that a pod released the address at `offset` at `now`.
    pub(super) fn release(&mut self, offset: usize, now: Millis) {
        self.recs.set(offset, Rec::released(now));
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
        let released = self.recs.released();
        let expired = if released == 0 {
            0
        } else if !self.may_be_cooling(now, cooldown) {
            // The newest release has cooled down, so every one has: the masks say which
            // records to drop without reading one (a prefix's are a cache miss away).
            released
        } else {
            let recs = self.recs.get();
            Bits(released)
                .filter(|&i| {
                    recs[i]
                        .released_at()
                        .is_some_and(|at| !is_cooling(at, now, cooldown))
                })
                .fold(0u16, |m, i| m | 1 << i)
        };
        for i in Bits(expired) {
            self.recs.set(i, Rec::UNUSED);
        }
        let dropped = expired.count_ones() as u8;
        self.recorded -= dropped;
        let free = if expired != 0 {
            expired
        } else {
            self.recs.unused()
        };
        (free != 0).then(|| (free.trailing_zeros() as usize, dropped))
    }

    /// A pod holds the address at `offset` since `at` (the record may have been unused or
    /// released; the caller keeps `recorded`).
    pub(super) fn set_assigned(&mut self, offset: usize, at: Millis) {
        self.recs.set(offset, Rec::assigned(at));
    }

    /// Whether the masks and the count of records say what the records do (the state
    /// checker's: it reads every record).
    pub(super) fn masks_agree(&self) -> bool {
        let (mut unused, mut released) = (0u16, 0u16);
        for (i, r) in self.recs().iter().enumerate() {
            if *r == Rec::UNUSED {
                unused |= 1 << i;
            } else if r.is_released() {
                released |= 1 << i;
            }
        }
        (unused, released) == (self.recs.unused(), self.recs.released())
            && u32::from(self.recorded) == self.size() - unused.count_ones()
    }
}

/// The set bits of a mask, lowest first.
struct Bits(u16);

impl Iterator for Bits {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let i = (self.0 != 0).then(|| self.0.trailing_zeros() as usize)?;
        self.0 &= self.0 - 1;
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subnet::Ipv4Cidr;
    use proptest::prelude::*;

    /// `getUnusedIP` as it was before the masks: a scan of every record.
    fn pick_by_scan(recs: &mut [Rec], now: Millis, cooldown: Millis) -> Option<(usize, u8)> {
        let mut reuse = None;
        let mut dropped = 0;
        for (i, r) in recs.iter_mut().enumerate() {
            if let Some(at) = r.released_at()
                && !is_cooling(at, now, cooldown)
            {
                reuse.get_or_insert(i);
                *r = Rec::UNUSED;
                dropped += 1;
            }
        }
        let at = reuse.or_else(|| recs.iter().position(|r| *r == Rec::UNUSED));
        at.map(|i| (i, dropped))
    }

    proptest! {
        /// Picks, assigns and releases on a prefix and on a /32, against the scan over plain
        /// records: the same address, the same drops, masks that agree.
        #[test]
        fn the_masks_pick_as_the_scan_does(
            prefix in any::<bool>(),
            cooldown in prop_oneof![Just(0u64), Just(30_000u64)],
            steps in prop::collection::vec((any::<bool>(), 0usize..16, 0u64..40_000), 1..80),
        ) {
            let cidr = Ipv4Cidr::new(0x0a00_0010, if prefix { 28 } else { 32 }).unwrap();
            let mut c = CidrState::new(cidr);
            let mut plain = vec![Rec::UNUSED; c.size() as usize];
            let mut now = 0;
            for (pick, i, dt) in steps {
                now += dt;
                let i = i % plain.len();
                if pick {
                    let want = pick_by_scan(&mut plain, now, cooldown);
                    let got = c.pick_unused(now, cooldown);
                    prop_assert_eq!(got, want);
                    if let Some((at, _)) = got {
                        c.recorded += 1;
                        c.set_assigned(at, now);
                        c.assigned += 1;
                        plain[at] = Rec::assigned(now);
                    }
                } else if plain[i].assigned_at().is_some() {
                    c.release(i, now);
                    plain[i] = Rec::released(now);
                }
                prop_assert_eq!(c.recs(), &plain[..]);
                prop_assert!(c.masks_agree());
            }
        }
    }

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
