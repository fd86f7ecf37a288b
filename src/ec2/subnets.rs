//! What EC2 knows of the subnets beyond their addresses: `DescribeSubnets` as subnet
//! discovery calls it (zones, free counts, tags), and the Insufficient* answers per subnet
//! for `subnets.csv`.

use super::{Action, Ec2, Ec2Error, EniId, Response, SubnetId};
use crate::time::Millis;

/// The Insufficient* answers EC2 gave about one subnet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubnetCounters {
    /// `InsufficientCidrBlocks` answers for requests in this subnet.
    pub insufficient_cidr_blocks: u64,
    /// `InsufficientFreeAddressesInSubnet` answers for requests in this subnet.
    pub insufficient_free_addresses: u64,
    /// When the first `InsufficientCidrBlocks` for this subnet was answered.
    pub first_insufficient_cidr_blocks: Option<Millis>,
}

impl Ec2 {
    /// `DescribeSubnets` with the filters `GetVpcSubnets` sets (the VPC and the zone of
    /// `subnet`, the node's own), sorted as `GetVpcSubnets` sorts them: by
    /// `AvailableIpAddressCount` ([`crate::subnet::Subnet::free`]) at the time of the call, most first, a
    /// stable sort over EC2's listing order, here the scenario's subnet order (upstream
    /// `pkg/awsutils/awsutils.go`, v1.23.1). A subnet without `availability_zone` is alone
    /// in its zone. The answer allocates; ENI creation is rare, not the hot path.
    pub fn describe_subnets(&mut self, now: Millis, subnet: SubnetId) -> Response<Vec<SubnetId>> {
        self.call(now, Action::DescribeSubnets, |ec2| {
            let own = &ec2.subnets[subnet];
            let mut list: Vec<SubnetId> = (0..ec2.subnets.len())
                .filter(|&i| i == subnet || own.same_zone(&ec2.subnets[i]))
                .collect();
            list.sort_by_key(|&i| std::cmp::Reverse(ec2.subnets[i].free()));
            Ok(list)
        })
    }

    /// The subnet ENI `eni` lives in.
    pub fn eni_subnet(&self, eni: EniId) -> SubnetId {
        self.enis[eni.0 as usize].subnet
    }

    /// Insufficient* answers about subnet `subnet` so far.
    pub fn subnet_counters(&self, subnet: SubnetId) -> SubnetCounters {
        self.per_subnet[subnet]
    }

    /// Counts an Insufficient* answer against `subnet`.
    pub(super) fn subnet_error(&mut self, subnet: SubnetId, e: Ec2Error) {
        let c = &mut self.per_subnet[subnet];
        match e {
            Ec2Error::InsufficientCidrBlocks => {
                c.insufficient_cidr_blocks += 1;
                c.first_insufficient_cidr_blocks
                    .get_or_insert(self.attempt_at);
            }
            Ec2Error::InsufficientFreeAddressesInSubnet => c.insufficient_free_addresses += 1,
            _ => {}
        }
    }
}
