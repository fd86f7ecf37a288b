//! A node of a `[start]` (spec/real-inputs.md §9): its ipamd starts over ENIs it already
//! holds, and leaked ENIs of the snapshot are handed to its cleanup.

use super::{Cleanup, HeldEni, Ipamd, Main};
use crate::ec2::{Action, Cidr, EniId};
use crate::ipamd::control::ControlPlane;
use crate::time::Millis;

/// What a restart finds outside the process (spec/ipamd-policy.md §6.4).
#[derive(Clone, Debug, Default)]
pub(super) struct ImportedInit {
    /// The checkpoint file: (pod, address).
    pub checkpoint: Vec<(u32, u32)>,
    /// Managed ENIs without the `node.k8s.amazonaws.com/instance_id` tag.
    pub untagged: Vec<EniId>,
}

impl Ipamd {
    /// The node of a `[start]` is up at `now` with ENIs it already holds (spec/real-inputs.md
    /// §9): its ipamd starts as after a restart (spec/ipamd-policy.md §6.4) — node init over
    /// `enis` (EC2 ids, primary flag, CIDRs, carries ipamd's instance-id tag; every ENI's age
    /// starts at `now`), the bound pods'
    /// addresses `checkpoint` (pod, address) restored after they are adopted, no cooling
    /// records. `unmanaged` attached ENIs (trunk, EFA-only, `no_manage`, card > 0) count
    /// against `maxENI` (`hasRoomForEni`: maxENI − unmanagedENIs).
    ///
    /// Built on today's init (`start_init`: DescribeNetworkInterfaces, adopt, Modify per ENI,
    /// pre-scaling) with `restore_imported` after the adoption; the `fidelity`
    /// branch's restart semantics (§6.4) may take these steps over.
    pub fn launch_imported(
        &mut self,
        now: Millis,
        enis: Vec<(EniId, bool, bool, Vec<Cidr>)>,
        checkpoint: Vec<(u32, u32)>,
        unmanaged: u32,
    ) {
        self.s.max_eni = self.s.max_eni.saturating_sub(unmanaged).max(1);
        let mut untagged = Vec::new();
        for (id, primary, tagged, cidrs) in enis {
            if !tagged {
                untagged.push(id);
            }
            self.attached.push(HeldEni {
                id,
                primary,
                born: now,
                cidrs,
            });
        }
        self.imported = Some(Box::new(ImportedInit {
            checkpoint,
            untagged,
        }));
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

    /// After node init adopted a `[start]` node's ENIs (spec/ipamd-policy.md §6.1 steps 2–4):
    /// one `CreateTags` per managed ENI without ipamd's instance-id tag and, with subnet
    /// discovery, one `DescribeSubnets` per ENI (`setupENI`); the checkpoint's pod addresses
    /// restored (entries on no adopted address are dropped as stale); the mode clean-up
    /// releasing the CIDRs of the other mode that no pod holds (`UnassignPrivateIpAddresses`
    /// per ENI). These calls are issued at `now` and their latency is not waited for (a
    /// simplification: init goes on at once). CIDRs of the other mode a pod holds stay on the
    /// ENI, outside the datastore: that pod runs until it is deleted, and its address returns
    /// only with its ENI.
    pub(super) fn restore_imported(
        &mut self,
        now: Millis,
        held: &[HeldEni],
        ec2: &mut impl ControlPlane,
    ) {
        let Some(init) = self.imported.take() else {
            return;
        };
        for _ in &init.untagged {
            let _ = ec2.request(now, Action::CreateTags);
        }
        if self.subnet_discovery {
            for _ in held {
                let _ = ec2.request(now, Action::DescribeSubnets);
            }
        }
        let mut other_mode: Vec<(EniId, Vec<Cidr>)> = held
            .iter()
            .map(|h| {
                let kept: Vec<Cidr> = self
                    .ds
                    .eni(h.id)
                    .map_or(Vec::new(), |e| e.cidrs().collect());
                let rejected = h
                    .cidrs
                    .iter()
                    .copied()
                    .filter(|c| !kept.contains(c))
                    .collect();
                (h.id, rejected)
            })
            .collect();
        for &(pod, addr) in &init.checkpoint {
            if !self.ds.restore(pod, addr, now) {
                // Held on a CIDR of the other mode: that CIDR stays.
                for (_, cidrs) in &mut other_mode {
                    cidrs.retain(|c| !c.contains(addr));
                }
            }
        }
        for (eni, cidrs) in other_mode {
            if !cidrs.is_empty() {
                let _ = ec2.unassign_private_ip_addresses(now, eni, &cidrs);
            }
        }
    }
}
