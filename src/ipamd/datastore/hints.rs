//! What the engine asks of a datastore beside the model: prefetch hints for the events to
//! come ([`crate::prefetch`]), and the state checker's look at every record.

use super::Datastore;
use crate::prefetch;

impl Datastore {
    /// Prefetch hint for [`Datastore::stats`]: every line of the struct (128 bytes aligned to
    /// 8, so two or three lines; the compiler places the counts and the cooling queue's header
    /// where it likes).
    pub fn prefetch_stats(&self) {
        prefetch::lines_of(self);
    }

    /// Prefetch hints ([`crate::prefetch`]) for a pod event to come: the pod index and the
    /// ENI table (their headers, in this struct, must be cached or in flight by now).
    pub fn prefetch_data(&self) {
        for i in (0..self.pods.len()).step_by(8) {
            prefetch::element(&self.pods, i);
        }
        self.enis.prefetch();
        if let Some(back) = self.cooling.back() {
            prefetch::line(back);
        }
    }

    /// Whether every CIDR's summary of its records (which are unused, which released, how
    /// many are recorded) says what the records do: for the state checker
    /// ([`crate::invariants`]), which reads every record.
    pub fn records_agree(&self) -> bool {
        self.enis
            .iter()
            .all(|(_, e)| e.cidrs.iter().all(|(_, c)| c.masks_agree()))
    }

    /// The second step of [`Datastore::prefetch_data`] for `pod`'s release, once the pod index
    /// and the ENI table are cached: the entry of the CIDR its address is in.
    pub fn prefetch_release(&self, pod: u32) {
        if let Some(i) = self.pod_index(pod) {
            let loc = self.pods[i];
            if let Some(eni) = self.enis.get(usize::from(loc.eni)) {
                eni.cidrs.prefetch_slot(usize::from(loc.cidr));
            }
        }
    }
}
