//! Restoring the checkpoint file's pod addresses at ipamd's init (spec/ipamd-policy.md §6.1
//! step 3), for nodes of a `[start]`.

use super::{Datastore, Loc, Rec};
use crate::ipamd::policy::Mode;
use crate::time::Millis;

impl Datastore {
    /// Restores a checkpoint entry (spec/ipamd-policy.md §6.1 step 3): `pod` holds `addr`
    /// since `now`. False (a stale entry, dropped) when `addr` is on no CIDR of the datastore,
    /// is already held, or the pod already has an address.
    pub fn restore(&mut self, pod: u32, addr: u32, now: Millis) -> bool {
        if self.pod_address(pod).is_some() {
            return false;
        }
        let mode = self.mode;
        let mut found = None;
        for (e, eni) in self.enis.iter() {
            for (c, st) in eni.cidrs.iter() {
                let base = st.cidr.addr();
                if addr >= base && addr - base < st.cidr.size_u32() {
                    found = Some((e, c, (addr - base) as usize));
                }
            }
        }
        let Some((eslot, cslot, offset)) = found else {
            return false;
        };
        let eni = self.enis.get_mut(eslot).expect("slot is live");
        let c = eni.cidrs.get_mut(cslot).expect("slot is live");
        // At init every record is unused: there is nothing cooling to account for.
        if c.recs[offset] != Rec::Unused {
            return false;
        }
        c.recs[offset] = Rec::Assigned { pod, at: now };
        c.recorded += 1;
        c.assigned += 1;
        if mode == Mode::PrefixDelegation && c.assigned == 1 {
            eni.free_prefixes -= 1;
            self.free_prefixes -= 1;
        }
        eni.assigned += 1;
        self.assigned += 1;
        let loc = Loc {
            eni: eslot as u16,
            cidr: cslot as u16,
            offset: offset as u8,
        };
        let at = self.pods.partition_point(|p| p.0 < pod);
        self.pods.insert(at, (pod, loc));
        true
    }
}
