//! What survives an ipamd restart on the node (spec §6.4): the checkpoint file of pod
//! assignments, written on every assign and release and read back by node init.

use super::{Datastore, Rec};
use crate::time::Millis;

impl Datastore {
    /// The checkpoint file (`/var/run/aws-node/ipam.json`, spec §6.4): one entry per
    /// assigned address, `(pod, address, assigned at)`, in pod order. It survives an ipamd
    /// restart; cooling records do not.
    pub fn checkpoint(&self) -> Vec<(u32, u32, Millis)> {
        self.pods
            .sorted()
            .into_iter()
            .map(|loc| {
                let c = self
                    .enis
                    .get(usize::from(loc.eni))
                    .and_then(|e| e.cidrs.get(usize::from(loc.cidr)))
                    .expect("pod's CIDR is live");
                let at = c.recs()[usize::from(loc.offset)].assigned_at().unwrap_or(0);
                (loc.pod, c.cidr.addr() + u32::from(loc.offset), at)
            })
            .collect()
    }

    /// Restores one checkpoint entry (`nodeInit` step 3, `ReadBackingStore` →
    /// `AssignPodIPv4Address` with the recorded address): `pod` holds `addr` again since
    /// `at`. False (a stale entry, dropped as upstream does) when no CIDR in the datastore
    /// holds `addr`, or the address or pod is already taken.
    pub fn restore(&mut self, pod: u32, addr: u32, at: Millis) -> bool {
        if self.pod_address(pod).is_some() {
            return false;
        }
        let found = self.enis.iter().find_map(|(e, eni)| {
            eni.cidrs
                .iter()
                .find(|(_, c)| addr >= c.cidr.addr() && addr - c.cidr.addr() < c.size())
                .map(|(c, _)| (e, c))
        });
        let Some((eslot, cslot)) = found else {
            return false;
        };
        let eni = self.enis.get_mut(eslot).expect("slot is live");
        let c = eni.cidrs.get_mut(cslot).expect("slot is live");
        let offset = (addr - c.cidr.addr()) as usize;
        let rec = c.recs()[offset];
        if rec.assigned_at().is_some() {
            return false;
        }
        if rec == Rec::UNUSED {
            c.recorded += 1;
            eni.recorded += 1;
        }
        self.mark_assigned(eslot, cslot, offset, pod, at);
        true
    }
}
