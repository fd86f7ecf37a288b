//! The ipamd process (spec/ipamd-policy.md §6.4): its container starts, it exits, it is
//! restarted; and a node of a `[start]` (spec/real-inputs.md §9), whose ipamd starts over
//! ENIs it already holds, as after a restart.

use super::Ipamd;
use super::state::{Cleanup, HeldEni, Main, Stage};
use crate::ec2::{Cidr, EniId};
use crate::time::Millis;

impl Ipamd {
    /// The ipamd process ends at `now`: everything it held in memory is lost (§6.4). What
    /// survives (EC2's ENIs and addresses, the checkpoint) is read back by the next init.
    pub(super) fn exit(&mut self, _now: Millis) {
        self.initialised = false;
        self.timers.last_pool_action = None;
        self.gates.last_decrease = None;
        self.gates.last_insufficient_cidr = None;
        self.timers.growth_error = None;
        self.timers.reconcile_from = None;
        self.pass.free_after_modify = false;
        self.held.recon_cache.clear();
        self.held.returned.clear();
        self.stage = Stage::Init;
        self.main = Main::Down;
        self.op = None;
        self.cleanup = Cleanup::Off;
    }

    /// A new aws-node container starts at `at`; its ipamd `ipamd_start_delay` later, with a
    /// fresh leaked-ENI cleanup schedule.
    pub(super) fn start_container(&mut self, at: Millis) {
        self.timers.container_started = at;
        let start = at + self.cfg.start_delay;
        self.main = Main::Start { at: start };
        if self.cfg.leaked_eni_cleanup {
            self.cleanup = Cleanup::Wait {
                until: start + self.cleanup_delay(),
            };
        }
    }

    /// ipamd is restarted at `now` (a crash, a container restart, an upgrade): the process
    /// exits and a new one starts from scratch (spec §6.4). Meant for a loop between EC2
    /// calls; a call in flight is abandoned. A node that was Ready stays Ready.
    pub fn restart(&mut self, now: Millis) {
        self.exit(now);
        self.start_container(now);
    }

    /// An ENI already attached to the instance with `cidrs` (an imported node's, spec §6.4):
    /// the next init finds it in EC2 and sets it up like any other.
    pub fn attach_existing(&mut self, id: EniId, primary: bool, born: Millis, cidrs: Vec<Cidr>) {
        self.held.attached.push(HeldEni {
            id,
            primary,
            born,
            cidrs,
        });
    }

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
