//! A node of a `[start]` (spec/real-inputs.md §9): its ipamd starts over ENIs it already
//! holds, as after a restart (spec/ipamd-policy.md §6.4).

use super::Ipamd;
use crate::ec2::{Cidr, EniId};
use crate::time::Millis;

impl Ipamd {
    /// The node of a `[start]` is up at `now` with ENIs it already holds: its ipamd starts
    /// as after a restart — node init (`rebuild_from_ec2_and_checkpoint`) over `enis` (EC2
    /// ids, primary flag, carries ipamd's instance-id tag, CIDRs; every ENI's age starts at
    /// init), the bound pods' addresses `checkpoint` (pod, address) restored after they are
    /// set up, no cooling records. `TagENI` runs for the primary ENI if it lacks the tag.
    /// `unmanaged` attached ENIs (trunk, EFA-only, `no_manage`, card > 0) count against
    /// `maxENI` (`hasRoomForEni`: maxENI − unmanagedENIs).
    pub fn launch_imported(
        &mut self,
        now: Millis,
        enis: Vec<(EniId, bool, bool, Vec<Cidr>)>,
        checkpoint: Vec<(u32, u32)>,
        unmanaged: u32,
    ) {
        self.s.max_eni = self.s.max_eni.saturating_sub(unmanaged).max(1);
        self.primary_untagged = false;
        for (id, primary, tagged, cidrs) in enis {
            if primary && !tagged {
                self.primary_untagged = true;
            }
            self.attach_existing(id, primary, now, cidrs);
        }
        self.checkpoint = checkpoint
            .into_iter()
            .map(|(pod, addr)| (pod, addr, now))
            .collect();
        self.start_container(now);
    }
}
