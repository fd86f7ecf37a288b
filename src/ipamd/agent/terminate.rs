//! A Karpenter node's life at both ends: a launch whose aws-node starts after the boot, and
//! the instance's termination.

use super::Ipamd;
use super::state::{FreeStep, Main, Op};
use crate::ec2::{Ec2, Ec2Error, EniId};
use crate::time::Millis;

impl Ipamd {
    /// The instance is launched at `now` (EC2 Fleet's answer: its primary ENI takes its
    /// address then) and boots for `boot`: the aws-node container starts at `now + boot`,
    /// and ipamd `ipamd_start_delay` after that, as for [`Ipamd::launch`]. Err if the node
    /// subnet has no address for the primary ENI.
    pub fn launch_booting(
        &mut self,
        now: Millis,
        boot: Millis,
        ec2: &mut Ec2,
    ) -> Result<(), Ec2Error> {
        self.launch(now, ec2)?;
        self.start_container(now.saturating_add(boot));
        Ok(())
    }

    /// The ENIs attached to the instance as EC2 sees them: the datastore's, those held
    /// outside it (the primary before init, ENIs whose free failed before the detach), and
    /// the one a growth step is attaching. Created-but-not-attached and detached ENIs are
    /// not the instance's: they are `available` in EC2.
    fn instance_enis(&self) -> Vec<EniId> {
        let mut ids: Vec<EniId> = self.ds.enis().map(|e| e.id()).collect();
        ids.extend(self.held.attached.iter().map(|h| h.id));
        if let (Main::Busy { .. }, Some(op)) = (&self.main, &self.op) {
            match op {
                Op::Attach { eni, .. }
                | Op::Modify { eni, .. }
                | Op::Imds { eni }
                | Op::SubnetsAtSetup { eni, .. } => ids.push(eni.id),
                Op::Free {
                    held,
                    step: FreeStep::Describe | FreeStep::Detach(_),
                    ..
                } => ids.push(held.id),
                _ => {}
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The instance terminates at `now` (Karpenter's `TerminateInstances` after the drain):
    /// ipamd is gone with it, and EC2 deletes every ENI attached to it — ipamd attaches its
    /// ENIs with `DeleteOnTermination` (spec/ipamd-policy.md §7.2 step 5; the moment
    /// between the attach and that `ModifyNetworkInterfaceAttribute` is not modelled) —
    /// returning their primaries, secondary IPs and prefixes to the subnets. ENIs the
    /// node created but had not attached, or had detached but not yet deleted, stay in EC2
    /// as leaked ENIs for another node's leaked-ENI cleanup (§7.5), as in EC2. Returns the
    /// ENIs deleted. The node's peak and EC2 call counts are kept for its `nodes.csv` row.
    pub fn terminate(&mut self, now: Millis, ec2: &mut Ec2) -> Vec<EniId> {
        let ids = self.instance_enis();
        let deleted = ec2.terminate_instance(&ids);
        self.exit(now);
        self.ds.clear();
        self.held.attached.clear();
        self.held.drift.clear();
        self.pass.init_enis.clear();
        self.checkpoint.clear();
        self.initialised = false;
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::Node;
    use super::*;

    fn wake_to(n: &mut Node<Ec2>, t: Millis) {
        while n.ipamd.next_wake() <= t {
            let w = n.ipamd.next_wake();
            n.ipamd.wake(w, &mut n.ec2);
        }
    }

    fn used(n: &Node<Ec2>) -> u32 {
        n.ec2.subnets()[0].used()
    }

    #[test]
    fn the_boot_delays_ipamd_but_not_the_primary_address() {
        let mut n = Node::real("m5.large", "", 29, "cidr = \"10.0.0.0/24\"", 1);
        n.ipamd.launch_booting(1_000, 30_000, &mut n.ec2).unwrap();
        assert_eq!(used(&n), 1, "the primary ENI takes its address at launch");
        assert!(n.ipamd.next_wake() >= 31_000, "ipamd starts after the boot");
        wake_to(&mut n, 60_000);
        let ready = n.ipamd.ready_at().expect("Ready after init");
        assert!((31_000..60_000).contains(&ready), "{ready}");
    }

    #[test]
    fn termination_returns_every_address_of_the_node() {
        let mut n = Node::real("t3.small", "", 11, "cidr = \"10.0.0.0/24\"", 3);
        n.ipamd.launch(0, &mut n.ec2).unwrap();
        wake_to(&mut n, 2_000);
        for pod in 1..=5 {
            let _ = n.ipamd.assign_pod(pod, 2_000);
        }
        wake_to(&mut n, 40_000);
        assert!(n.ipamd.stats(40_000).enis >= 2);
        assert!(used(&n) > 4);
        let deleted = n.ipamd.terminate(40_000, &mut n.ec2);
        assert!(deleted.len() >= 2);
        assert_eq!(used(&n), 0, "every primary, IP and ENI back to the subnet");
        assert_eq!(n.ec2.live_enis().count(), 0, "EC2 holds no ENI of the node");
        let st = n.ipamd.stats(40_000);
        assert_eq!((st.enis, st.total_ips, st.assigned_ips), (0, 0, 0));
        assert!(st.total_ips_peak > 0, "the peak is kept for nodes.csv");
        assert_eq!(
            n.ipamd.next_wake(),
            Millis::MAX,
            "nothing runs on a gone instance"
        );
    }

    /// Terminated at any moment, the node leaves only ENIs that are not attached to it
    /// (created and not yet attached, or detached and not yet deleted): EC2's leaked ENIs.
    #[test]
    fn termination_mid_flight_leaves_only_unattached_enis() {
        for t in (0..120_000).step_by(700) {
            let mut n = Node::real("t3.small", "", 11, "cidr = \"10.0.0.0/24\"", t);
            n.ipamd.launch(0, &mut n.ec2).unwrap();
            for step in 0..=t / 1_000 {
                let now = step * 1_000;
                wake_to(&mut n, now);
                let pod = (step % 9) as u32;
                if step % 20 < 10 {
                    let _ = n.ipamd.assign_pod(pod, now);
                } else {
                    n.ipamd.release_pod(pod, now);
                }
            }
            wake_to(&mut n, t);
            n.ipamd.terminate(t, &mut n.ec2);
            let leaked = n.ec2.describe_leaked_enis(t, 0).result.unwrap();
            let live: Vec<EniId> = n.ec2.live_enis().map(|(id, ..)| id).collect();
            assert_eq!(live, leaked, "t = {t}: a live ENI that is still attached");
            let held: u64 = n
                .ec2
                .live_enis()
                .map(|(_, _, _, c)| 1 + c.iter().map(|c| c.size()).sum::<u64>())
                .sum();
            assert_eq!(u64::from(used(&n)), held, "t = {t}");
        }
    }
}
