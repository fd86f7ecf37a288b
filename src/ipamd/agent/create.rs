//! Creating an ENI (`tryAllocateENI` → `AllocENI` → `createENI`, spec §7.2 steps 1–2): where
//! it goes — the ENIConfig's subnet, the subnets subnet discovery finds, or the node's own —
//! and EKS Auto Mode's secondary-IP fallback when EC2 has no /28 left. The steps after the
//! create (attach, IMDS wait, setup) are in `pass.rs`.

use super::Ipamd;
use super::state::{Grown, Op};
use crate::ec2::{Request, Response, SubnetId};
use crate::ipamd::control::ControlPlane;
use crate::ipamd::policy;
use crate::subnet::CniRole;
use crate::time::Millis;

impl Ipamd {
    /// `tryAllocateENI` → `AllocENI` (§7.2): `DescribeSubnets` (not with custom networking),
    /// `CreateNetworkInterface` (in each discovered subnet until one works), `DescribeInstances`,
    /// `AttachNetworkInterface`, `ModifyNetworkInterfaceAttribute`, the IMDS wait, and with
    /// subnet discovery one more `DescribeSubnets` at setup.
    pub(super) fn new_eni(&mut self, now: Millis, ec2: &mut impl ControlPlane) {
        let count = policy::resources_for_new_eni(&self.s, &self.ds.stats(now));
        if count == 0 {
            // Nothing to allocate, yet upstream records a pool action.
            return self.grew(now, ec2);
        }
        let n = count.min(self.s.ipv4_limit.saturating_sub(1));
        if self.s.custom_networking {
            // `createENIUsingCustomCfg`: the ENIConfig's subnet, no discovery, no check.
            self.create(
                now,
                self.cfg.pod_subnet,
                self.request_of(n),
                Vec::new(),
                ec2,
            );
        } else {
            self.describe_subnets(now, false, n, ec2);
        }
    }

    fn describe_subnets(&mut self, now: Millis, second: bool, n: u32, ec2: &mut impl ControlPlane) {
        let r = ec2.describe_subnets(now, self.cfg.node_subnet);
        self.busy(
            now,
            r.latency,
            Op::SubnetsBeforeCreate { second, n, resp: r },
        );
    }

    /// `createENI` (upstream `pkg/awsutils/awsutils.go`, v1.23.1) after its `DescribeSubnets`:
    /// - subnet discovery on: `GetVpcSubnets` lists the subnets of the node's zone, most
    ///   `AvailableIpAddressCount` first; `isSubnetValidForENICreation` keeps the node's own
    ///   subnet unless tagged `kubernetes.io/role/cni=0` and any other only if tagged with a
    ///   value other than `0`; `CreateNetworkInterface` is tried in each, in order, until one
    ///   works (any error moves on; the last one is returned). None valid: an error, no call.
    ///   If that `DescribeSubnets` fails, `IsSubnetExcluded` makes a second one for the
    ///   node's subnet: if it fails too, or the subnet is excluded, creation fails; else the
    ///   ENI goes to the node's subnet;
    /// - discovery off: `IsSubnetExcluded` on the node's subnet (its errors ignored); an
    ///   excluded subnet fails creation, else the ENI goes there.
    ///
    /// `CLUSTER_NAME` is not modelled, so `ValidSubnetTagsMatchingClusterName` always holds.
    pub(super) fn subnets_done(
        &mut self,
        now: Millis,
        second: bool,
        n: u32,
        resp: Response<Vec<(SubnetId, CniRole)>>,
        ec2: &mut impl ControlPlane,
    ) {
        let own = self.cfg.node_subnet;
        let own_excluded = |list: &[(SubnetId, CniRole)]| {
            list.iter()
                .any(|&(i, role)| i == own && role == CniRole::Excluded)
        };
        match resp.result {
            Ok(list) if self.cfg.subnet_discovery && !second => {
                let mut valid = list.into_iter().filter_map(|(i, role)| {
                    let ok = match role {
                        CniRole::Excluded => false,
                        CniRole::Untagged => i == own,
                        CniRole::Included => true,
                    };
                    ok.then_some(i)
                });
                match valid.next() {
                    Some(first) => {
                        let rest = valid.collect();
                        self.create(now, first, self.request_of(n), rest, ec2)
                    }
                    // "no valid subnets available for ENI creation": no call, no back-off.
                    None => self.grown(now, Grown::Nothing, ec2),
                }
            }
            Ok(list) if own_excluded(&list) => self.grown(now, Grown::Nothing, ec2),
            Ok(_) => self.create(now, own, self.request_of(n), Vec::new(), ec2),
            Err(_) if !self.cfg.subnet_discovery => {
                self.create(now, own, self.request_of(n), Vec::new(), ec2)
            }
            Err(_) if !second => self.describe_subnets(now, true, n, ec2),
            Err(e) => self.eni_failed(now, e, ec2),
        }
    }

    pub(super) fn create(
        &mut self,
        now: Millis,
        subnet: SubnetId,
        req: Request,
        rest: Vec<SubnetId>,
        ec2: &mut impl ControlPlane,
    ) {
        let slots = self.s.ipv4_limit.saturating_sub(1);
        let r = ec2.create_network_interface(now, subnet, slots, req);
        self.busy(now, r.latency, Op::Create { req, rest, resp: r });
    }

    /// EKS Auto Mode's fallback when the subnet has no /28 left: the addresses `prefixes`
    /// /28s would have given, as secondary IPs, as many as the ENI has room for (each takes
    /// one of its IPv4 slots, as a prefix does). AWS documents the fallback, not its size.
    pub(super) fn fallback_ips(&self, prefixes: u32, free_slots: u32) -> Request {
        Request::Ips(
            (prefixes.max(1) * policy::IPS_PER_PREFIX)
                .min(free_slots)
                .max(1),
        )
    }
}
