//! What the engine asks of a datastore beside the model: prefetch hints for the events to
//! come ([`crate::prefetch`]), and the state checker's look at every record.

use super::{Datastore, is_cooling};
use crate::prefetch;
use crate::time::Millis;

impl Datastore {
    /// Prefetch hints for every line of the struct (two): the counts [`Datastore::stats`]
    /// reads, and the headers of the tables a CNI call reads (the pod table's, the ENI
    /// table's, the cooling queue's), which the next stage's hints
    /// ([`Datastore::prefetch_data`]) read to find the tables.
    pub fn prefetch_struct(&self) {
        prefetch::lines_of(self);
    }

    /// Prefetch hint for [`Datastore::cooling_ips`]'s first read at `now`, the oldest release
    /// still remembered, if it reads one: not when the newest release has cooled (the
    /// releases stay remembered until the next assign prunes them, and a hint into the
    /// node's slab costs a page walk however useless). The struct's second line, with the
    /// queue's header and the newest release, must be cached or in flight by now.
    pub fn prefetch_oldest_release(&self, now: Millis) {
        if !is_cooling(self.newest_release, now, self.cooldown) {
            return;
        }
        if let Some(front) = self.cooling.front() {
            prefetch::line(front);
        }
    }

    /// Prefetch hints ([`crate::prefetch`]) for an event of `pod` to come: its entry in the
    /// pod table and the ENI table (their headers, in this struct, must be cached or in
    /// flight by now).
    pub fn prefetch_data(&self, pod: u32) {
        self.pods.prefetch(pod);
        self.enis.prefetch();
        if let Some(back) = self.cooling.back() {
            prefetch::line(back);
        }
    }

    /// Whether every CIDR's summary of its records (which are unused, which released, how
    /// many are recorded) says what the records do, the pod table holds one entry per
    /// assigned address, and the count of non-primary ENIs without a pod is theirs: for the
    /// state checker ([`crate::invariants`]), which reads every record.
    pub fn records_agree(&self) -> bool {
        let idle = self.enis().filter(|e| e.is_idle()).count();
        self.pods.len() == self.assigned as usize
            && usize::from(self.idle_enis) == idle
            && self
                .enis
                .iter()
                .all(|(_, e)| e.cidrs.iter().all(|(_, c)| c.masks_agree()))
    }

    /// The second step of [`Datastore::prefetch_data`] for `pod`'s release, once the pod table
    /// and the ENI table are cached: the entry of the CIDR its address is in.
    pub fn prefetch_release(&self, pod: u32) {
        if let Some(loc) = self.pods.get(pod)
            && let Some(eni) = self.enis.get(usize::from(loc.eni))
        {
            eni.cidrs.prefetch_slot(usize::from(loc.cidr));
        }
    }
}
