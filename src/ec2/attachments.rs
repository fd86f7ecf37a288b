//! Attaching and detaching ENIs, the instance's ENI limit, and the describe that finds
//! leaked (detached) ENIs across the VPC (ec2-subnet.md §8).

use super::{Action, Ec2, Ec2Error, EniId, Response};
use crate::time::Millis;

impl Ec2 {
    /// `AttachNetworkInterface` to an instance that has `attached` ENIs attached, of at most
    /// `max_enis` (its type's `max_enis`; ec2-subnet.md §8): refused with
    /// `AttachmentLimitExceeded` when full. The refused call takes its token and is counted.
    pub fn attach_network_interface(
        &mut self,
        now: Millis,
        eni: EniId,
        attached: u32,
        max_enis: u32,
    ) -> Response<()> {
        self.call(now, Action::AttachNetworkInterface, |ec2| {
            if attached >= max_enis {
                Err(Ec2Error::AttachmentLimitExceeded)
            } else {
                ec2.available.remove(&eni);
                Ok(())
            }
        })
    }

    /// `DetachNetworkInterface`: the ENI is `available` again, its addresses still taken.
    pub fn detach_network_interface(&mut self, now: Millis, eni: EniId) -> Response<()> {
        self.call(now, Action::DetachNetworkInterface, |ec2| {
            let rec = &ec2.enis[eni.0 as usize];
            if !rec.deleted {
                ec2.available.insert(eni, rec.created);
            }
            Ok(())
        })
    }

    /// The instance that has `enis` attached terminates (`TerminateInstances`, called by
    /// Karpenter, not ipamd: no token or count here). EC2 deletes each attached ENI with
    /// the instance (`DeleteOnTermination`: the launch's primary ENI by default, ipamd's
    /// secondary ENIs by its Modify at attach) and every address and prefix on it returns
    /// to its subnet. An ENI of the list that is `available` (not attached) or already
    /// deleted is left alone. Returns the ENIs deleted.
    pub fn terminate_instance(&mut self, enis: &[EniId]) -> Vec<EniId> {
        let mut deleted = Vec::new();
        for &eni in enis {
            let rec = &mut self.enis[eni.0 as usize];
            if rec.deleted || self.available.contains_key(&eni) {
                continue;
            }
            rec.deleted = true;
            let subnet = &mut self.subnets[rec.subnet];
            for c in rec.cidrs.drain(..) {
                super::release(subnet, c);
            }
            subnet.free_address(rec.primary);
            deleted.push(eni);
        }
        deleted
    }

    /// The leaked-ENI cleanup's `DescribeNetworkInterfaces` (`getLeakedENIs`, ipamd-policy
    /// §7.5): filtered on ipamd's tag key, status `available` and the VPC, so it lists every
    /// node's detached ENIs, of which those whose `createdAt` is at least `min_age` old.
    pub fn describe_leaked_enis(&mut self, now: Millis, min_age: Millis) -> Response<Vec<EniId>> {
        self.call(now, Action::DescribeNetworkInterfaces, |ec2| {
            Ok(ec2
                .available
                .iter()
                .filter(|(_, created)| **created + min_age <= now)
                .map(|(id, _)| *id)
                .collect())
        })
    }
}
