//! One secondary IP or prefix in the datastore: its addresses' records and `getUnusedIP`.

use super::is_cooling;
use crate::ec2::Cidr;
use crate::time::Millis;

/// One address of a CIDR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Rec {
    /// No record: never handed out, or dropped once its cooldown ended.
    Unused,
    /// Held by `pod` since `at`.
    Assigned { pod: u32, at: Millis },
    /// Given back by a pod at `at`.
    Released { at: Millis },
}

#[derive(Clone, Debug)]
pub(super) struct CidrState {
    pub(super) cidr: Cidr,
    pub(super) recs: Box<[Rec]>,
    pub(super) assigned: u8,
    /// Records that are not `Unused`.
    pub(super) recorded: u8,
    /// Latest release among the records (an upper bound once expired; see `pick_unused`).
    pub(super) last_release: Option<Millis>,
}

impl CidrState {
    pub(super) fn new(cidr: Cidr) -> Self {
        CidrState {
            cidr,
            recs: vec![Rec::Unused; cidr.size_u32() as usize].into_boxed_slice(),
            assigned: 0,
            recorded: 0,
            last_release: None,
        }
    }

    pub(super) fn size(&self) -> u32 {
        self.recs.len() as u32
    }

    pub(super) fn may_be_cooling(&self, now: Millis, cooldown: Millis) -> bool {
        self.last_release
            .is_some_and(|at| is_cooling(at, now, cooldown))
    }

    /// Addresses a pod could get now: unused, or released and cooled down.
    pub(super) fn assignable(&self, now: Millis, cooldown: Millis) -> u32 {
        let unassigned = self.size() - u32::from(self.assigned);
        if !self.may_be_cooling(now, cooldown) {
            return unassigned;
        }
        let cooling = self
            .recs
            .iter()
            .filter(|r| matches!(r, Rec::Released { at } if is_cooling(*at, now, cooldown)))
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
    pub(super) fn pick_unused(&mut self, now: Millis, cooldown: Millis) -> Option<usize> {
        let mut reuse = None;
        if self.recorded > self.assigned {
            for (i, r) in self.recs.iter_mut().enumerate() {
                if let Rec::Released { at } = *r
                    && !is_cooling(at, now, cooldown)
                {
                    reuse.get_or_insert(i);
                    *r = Rec::Unused;
                    self.recorded -= 1;
                }
            }
        }
        reuse.or_else(|| self.recs.iter().position(|r| *r == Rec::Unused))
    }
}
