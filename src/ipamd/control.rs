//! The EC2 calls a node's ipamd makes, as one small interface.
//!
//! The agent is written against [`ControlPlane`] so that its tests can script latencies and
//! errors call by call; the simulation always passes the real [`Ec2`], whose methods this
//! forwards to unchanged.

use crate::ec2::{Action, Cidr, Ec2, Ec2Error, EniId, NewEni, Request, Response, SubnetId};
use crate::subnet::CniRole;
use crate::time::Millis;

/// The subset of [`Ec2`] ipamd uses (same signatures).
pub(crate) trait ControlPlane {
    /// [`Ec2::launch_primary_eni`].
    fn launch_primary_eni(&mut self, subnet: SubnetId, slots: u32) -> Result<NewEni, Ec2Error>;
    /// [`Ec2::create_network_interface`].
    fn create_network_interface(
        &mut self,
        now: Millis,
        subnet: SubnetId,
        slots: u32,
        req: Request,
    ) -> Response<NewEni>;
    /// [`Ec2::assign_private_ip_addresses`].
    fn assign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        req: Request,
    ) -> Response<Vec<Cidr>>;
    /// [`Ec2::unassign_private_ip_addresses`].
    fn unassign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        cidrs: &[Cidr],
    ) -> Response<()>;
    /// [`Ec2::attach_network_interface`].
    fn attach_network_interface(
        &mut self,
        now: Millis,
        eni: EniId,
        attached: u32,
        max_enis: u32,
    ) -> Response<()>;
    /// [`Ec2::detach_network_interface`].
    fn detach_network_interface(&mut self, now: Millis, eni: EniId) -> Response<()>;
    /// [`Ec2::describe_leaked_enis`].
    fn describe_leaked_enis(&mut self, now: Millis, min_age: Millis) -> Response<Vec<EniId>>;
    /// [`Ec2::delete_network_interface`].
    fn delete_network_interface(&mut self, now: Millis, eni: EniId) -> Response<()>;
    /// [`Ec2::describe_subnets`], with each subnet's `kubernetes.io/role/cni` tag.
    fn describe_subnets(
        &mut self,
        now: Millis,
        subnet: SubnetId,
    ) -> Response<Vec<(SubnetId, CniRole)>>;
    /// [`Ec2::request`].
    fn request(&mut self, now: Millis, action: Action) -> Response<()>;
    /// Requests sent so far by everyone, SDK retries included ([`Ec2::total_calls`]): the
    /// difference across a node's wake is what that node sent.
    fn attempts(&self) -> u64;
}

impl ControlPlane for Ec2 {
    fn launch_primary_eni(&mut self, subnet: SubnetId, slots: u32) -> Result<NewEni, Ec2Error> {
        Ec2::launch_primary_eni(self, subnet, slots)
    }
    fn create_network_interface(
        &mut self,
        now: Millis,
        subnet: SubnetId,
        slots: u32,
        req: Request,
    ) -> Response<NewEni> {
        Ec2::create_network_interface(self, now, subnet, slots, req)
    }
    fn assign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        req: Request,
    ) -> Response<Vec<Cidr>> {
        Ec2::assign_private_ip_addresses(self, now, eni, req)
    }
    fn unassign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        cidrs: &[Cidr],
    ) -> Response<()> {
        Ec2::unassign_private_ip_addresses(self, now, eni, cidrs)
    }
    fn attach_network_interface(
        &mut self,
        now: Millis,
        eni: EniId,
        attached: u32,
        max_enis: u32,
    ) -> Response<()> {
        Ec2::attach_network_interface(self, now, eni, attached, max_enis)
    }
    fn detach_network_interface(&mut self, now: Millis, eni: EniId) -> Response<()> {
        Ec2::detach_network_interface(self, now, eni)
    }
    fn describe_leaked_enis(&mut self, now: Millis, min_age: Millis) -> Response<Vec<EniId>> {
        Ec2::describe_leaked_enis(self, now, min_age)
    }
    fn delete_network_interface(&mut self, now: Millis, eni: EniId) -> Response<()> {
        Ec2::delete_network_interface(self, now, eni)
    }
    fn describe_subnets(
        &mut self,
        now: Millis,
        subnet: SubnetId,
    ) -> Response<Vec<(SubnetId, CniRole)>> {
        let r = Ec2::describe_subnets(self, now, subnet);
        let subnets = self.subnets();
        Response {
            result: r
                .result
                .map(|l| l.into_iter().map(|i| (i, subnets[i].cni_role())).collect()),
            latency: r.latency,
        }
    }
    fn request(&mut self, now: Millis, action: Action) -> Response<()> {
        Ec2::request(self, now, action)
    }
    fn attempts(&self) -> u64 {
        self.total_calls()
    }
}
