//! A node of a `[start]` (spec/real-inputs.md §9): its ipamd starts over ENIs it already
//! holds, and leaked ENIs of the snapshot are handed to its cleanup.

use super::{Cleanup, HeldEni, Ipamd, Main};
use crate::ec2::{Cidr, EniId};
use crate::time::Millis;

impl Ipamd {
    /// The node of a `[start]` is up at `now` with ENIs it already holds (spec/real-inputs.md
    /// §9): its ipamd starts as after a restart (spec/ipamd-policy.md §6.4) — node init over
    /// `enis` (EC2 ids, primary flag, CIDRs; every ENI's age starts at `now`), the bound pods'
    /// addresses `checkpoint` (pod, address) restored after they are adopted, no cooling
    /// records. `unmanaged` attached ENIs (trunk, EFA-only, `no_manage`, card > 0) count
    /// against `maxENI` (`hasRoomForEni`: maxENI − unmanagedENIs).
    ///
    /// Built on today's init (`start_init`: DescribeNetworkInterfaces, adopt, Modify per ENI,
    /// pre-scaling) plus the checkpoint restore and the mode clean-up in `adopt_attached`; the
    /// restart semantics of §6.4 (CreateTags, DescribeSubnets per ENI) are the `fidelity`
    /// branch's to refine.
    pub fn launch_imported(
        &mut self,
        now: Millis,
        enis: Vec<(EniId, bool, Vec<Cidr>)>,
        checkpoint: Vec<(u32, u32)>,
        unmanaged: u32,
    ) {
        self.s.max_eni = self.s.max_eni.saturating_sub(unmanaged).max(1);
        for (id, primary, cidrs) in enis {
            self.attached.push(HeldEni {
                id,
                primary,
                born: now,
                cidrs,
            });
        }
        self.checkpoint = checkpoint;
        let start = now + self.start_delay;
        self.main = Main::Start { at: start };
        if self.leaked_eni_cleanup {
            self.cleanup = Cleanup::Wait {
                until: start + self.cleanup_delay(),
            };
        }
    }

    /// A detached ENI of a `[start]` left by some node (spec/real-inputs.md §4, leaked): this
    /// ipamd's leaked-ENI cleanup deletes it (any node's would, ec2-subnet §8). Its
    /// `createdAt` counts as older than 5 min.
    pub fn adopt_leaked(&mut self, id: EniId, cidrs: Vec<Cidr>) {
        self.leaked.push(HeldEni {
            id,
            primary: false,
            born: super::background::IMPORTED_BIRTH,
            cidrs,
        });
    }
}
