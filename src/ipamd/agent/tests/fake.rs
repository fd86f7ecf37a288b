//! A scripted control plane: fixed latencies, an address counter per subnet, optional
//! capacity limits, injected failures, and a log of every call.

use std::collections::{BTreeMap, VecDeque};

use crate::ec2::{Action, Cidr, Ec2Error, EniId, NewEni, Request, Response, SubnetId};
use crate::ipamd::control::ControlPlane;
use crate::subnet::CniRole;
use crate::time::Millis;

#[derive(Clone, Debug)]
pub struct Fake {
    pub latency: BTreeMap<Action, Millis>,
    /// The next call of that action fails with that error.
    pub failures: VecDeque<(Action, Ec2Error)>,
    /// Every action of this kind fails (e.g. a subnet out of /28s).
    pub always_fail: Vec<(Action, Ec2Error)>,
    /// (time, action, ok) of every call.
    pub log: Vec<(Millis, Action, bool)>,
    /// Free single addresses per subnet (None = unlimited).
    pub free_ips: Vec<Option<u32>>,
    /// The subnet of every `CreateNetworkInterface`, in order, failed ones included.
    pub created_in: Vec<SubnetId>,
    /// What `DescribeSubnets` answers (None: the node's own subnet, untagged).
    pub subnet_list: Option<Vec<(SubnetId, CniRole)>>,
    /// (seed, per mille): calls fail at random, as a pure function of the call's ordinal.
    pub chaos: Option<(u64, u64)>,
    next_eni: u32,
    next_ip: Vec<u32>,
    next_prefix: Vec<u32>,
    enis: BTreeMap<EniId, (u32, Vec<Cidr>, SubnetId)>,
    /// When each ENI was last detached.
    detached: BTreeMap<EniId, Millis>,
}

impl Fake {
    pub fn new() -> Self {
        let latency = [
            (Action::AssignPrivateIpAddresses, 500),
            (Action::UnassignPrivateIpAddresses, 300),
            (Action::CreateNetworkInterface, 1_000),
            (Action::AttachNetworkInterface, 5_000),
            (Action::DetachNetworkInterface, 2_000),
            (Action::DeleteNetworkInterface, 500),
            (Action::DescribeNetworkInterfaces, 200),
            (Action::DescribeInstances, 200),
            (Action::DescribeSubnets, 100),
            (Action::ModifyNetworkInterfaceAttribute, 200),
            (Action::CreateTags, 100),
        ]
        .into_iter()
        .collect();
        Fake {
            latency,
            failures: VecDeque::new(),
            always_fail: Vec::new(),
            log: Vec::new(),
            free_ips: vec![None; 4],
            chaos: None,
            subnet_list: None,
            next_eni: 0,
            next_ip: vec![0x0a00_0000, 0x0a10_0000, 0x0a20_0000, 0x0a30_0000],
            next_prefix: vec![0x0a08_0000, 0x0a18_0000, 0x0a28_0000, 0x0a38_0000],
            created_in: Vec::new(),
            enis: BTreeMap::new(),
            detached: BTreeMap::new(),
        }
    }

    /// Calls of `action` so far.
    pub fn calls(&self, action: Action) -> usize {
        self.log.iter().filter(|c| c.1 == action).count()
    }

    /// The actions called in `[from, to)`, in order.
    pub fn actions(&self, from: Millis, to: Millis) -> Vec<Action> {
        self.log
            .iter()
            .filter(|c| c.0 >= from && c.0 < to)
            .map(|c| c.1)
            .collect()
    }

    fn outcome(&mut self, now: Millis, action: Action) -> (Result<(), Ec2Error>, Millis) {
        let latency = self.latency[&action];
        let scripted = self.failures.iter().position(|f| f.0 == action);
        let err = match scripted {
            Some(i) => self.failures.remove(i).map(|f| f.1),
            None => self.always_fail.iter().find(|f| f.0 == action).map(|f| f.1),
        };
        let err = err.or_else(|| {
            let (seed, per_mille) = self.chaos?;
            let h = mix(seed ^ (self.log.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            if h % 1_000 >= per_mille {
                return None;
            }
            let address = matches!(
                action,
                Action::AssignPrivateIpAddresses | Action::CreateNetworkInterface
            );
            Some(match (address, (h >> 20) % 3) {
                (true, 0) => Ec2Error::InsufficientFreeAddressesInSubnet,
                (true, 1) => Ec2Error::InsufficientCidrBlocks,
                _ => Ec2Error::RequestLimitExceeded,
            })
        });
        self.log.push((now, action, err.is_none()));
        (err.map_or(Ok(()), Err), latency)
    }

    fn carve(&mut self, subnet: SubnetId, req: Request) -> Result<Vec<Cidr>, Ec2Error> {
        match req {
            Request::Ips(n) => {
                if let Some(free) = &mut self.free_ips[subnet] {
                    if *free < n {
                        return Err(Ec2Error::InsufficientFreeAddressesInSubnet);
                    }
                    *free -= n;
                }
                Ok((0..n)
                    .map(|_| {
                        self.next_ip[subnet] += 1;
                        Cidr::host(self.next_ip[subnet])
                    })
                    .collect())
            }
            Request::Prefixes(n) => Ok((0..n)
                .map(|_| {
                    self.next_prefix[subnet] += 16;
                    Cidr::prefix28(self.next_prefix[subnet])
                })
                .collect()),
        }
    }

    /// The CIDRs EC2 holds on `eni`.
    pub fn eni_cidrs(&self, eni: EniId) -> Option<&Vec<Cidr>> {
        self.enis.get(&eni).map(|e| &e.1)
    }

    /// ENIs that exist.
    pub fn eni_count(&self) -> usize {
        self.enis.len()
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn respond<T>(result: Result<T, Ec2Error>, latency: Millis) -> Response<T> {
    Response { result, latency }
}

impl ControlPlane for Fake {
    /// The fake has no zones: the node's own subnet, untagged, unless `subnet_list` says.
    fn describe_subnets(
        &mut self,
        now: Millis,
        subnet: SubnetId,
    ) -> Response<Vec<(SubnetId, CniRole)>> {
        let (r, latency) = self.outcome(now, Action::DescribeSubnets);
        let list = self
            .subnet_list
            .clone()
            .unwrap_or_else(|| vec![(subnet, CniRole::Untagged)]);
        respond(r.map(|()| list), latency)
    }

    fn launch_primary_eni(&mut self, subnet: SubnetId, slots: u32) -> Result<NewEni, Ec2Error> {
        let primary = self.carve(subnet, Request::Ips(1))?[0].addr();
        let id = EniId(self.next_eni);
        self.next_eni += 1;
        self.enis.insert(id, (slots, Vec::new(), subnet));
        Ok(NewEni {
            id,
            primary,
            cidrs: Vec::new(),
        })
    }

    fn create_network_interface(
        &mut self,
        now: Millis,
        subnet: SubnetId,
        slots: u32,
        req: Request,
    ) -> Response<NewEni> {
        let (r, latency) = self.outcome(now, Action::CreateNetworkInterface);
        self.created_in.push(subnet);
        let result = r.and_then(|()| {
            let primary = self.carve(subnet, Request::Ips(1))?[0].addr();
            let cidrs = self.carve(subnet, req)?;
            let id = EniId(self.next_eni);
            self.next_eni += 1;
            self.enis.insert(id, (slots, cidrs.clone(), subnet));
            Ok(NewEni { id, primary, cidrs })
        });
        if result.is_err() {
            self.log.last_mut().unwrap().2 = false;
        }
        respond(result, latency)
    }

    fn assign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        req: Request,
    ) -> Response<Vec<Cidr>> {
        let (r, latency) = self.outcome(now, Action::AssignPrivateIpAddresses);
        let (slots, held, subnet) = self.enis[&eni].clone();
        let n = match req {
            Request::Ips(n) | Request::Prefixes(n) => n,
        };
        let result = r.and_then(|()| {
            if held.len() as u32 + n > slots {
                return Err(Ec2Error::PrivateIpAddressLimitExceeded);
            }
            let cidrs = self.carve(subnet, req)?;
            self.enis.get_mut(&eni).unwrap().1.extend(&cidrs);
            Ok(cidrs)
        });
        if result.is_err() {
            self.log.last_mut().unwrap().2 = false;
        }
        respond(result, latency)
    }

    fn unassign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        cidrs: &[Cidr],
    ) -> Response<()> {
        let (r, latency) = self.outcome(now, Action::UnassignPrivateIpAddresses);
        if r.is_ok() {
            self.enis
                .get_mut(&eni)
                .unwrap()
                .1
                .retain(|c| !cidrs.contains(c));
        }
        respond(r, latency)
    }

    fn attach_network_interface(
        &mut self,
        now: Millis,
        _eni: EniId,
        attached: u32,
        max_enis: u32,
    ) -> Response<()> {
        let (r, latency) = self.outcome(now, Action::AttachNetworkInterface);
        let r = r.and_then(|()| {
            if attached >= max_enis {
                if let Some(last) = self.log.last_mut() {
                    last.2 = false;
                }
                Err(Ec2Error::AttachmentLimitExceeded)
            } else {
                Ok(())
            }
        });
        respond(r, latency)
    }

    fn detach_network_interface(&mut self, now: Millis, eni: EniId) -> Response<()> {
        let (r, latency) = self.outcome(now, Action::DetachNetworkInterface);
        if r.is_ok() && self.enis.contains_key(&eni) {
            self.detached.insert(eni, now);
        }
        respond(r, latency)
    }

    /// Detached ENIs that still exist (the fake dates `createdAt` at the detach).
    fn describe_leaked_enis(&mut self, now: Millis, min_age: Millis) -> Response<Vec<EniId>> {
        let (r, latency) = self.outcome(now, Action::DescribeNetworkInterfaces);
        let found = self
            .detached
            .iter()
            .filter(|(id, t)| self.enis.contains_key(id) && **t + min_age <= now)
            .map(|(id, _)| *id)
            .collect();
        respond(r.map(|()| found), latency)
    }

    fn delete_network_interface(&mut self, now: Millis, eni: EniId) -> Response<()> {
        let (r, latency) = self.outcome(now, Action::DeleteNetworkInterface);
        if r.is_ok() {
            self.enis.remove(&eni);
        }
        respond(r, latency)
    }

    fn request(&mut self, now: Millis, action: Action) -> Response<()> {
        let (r, latency) = self.outcome(now, action);
        respond(r, latency)
    }

    fn attempts(&self) -> u64 {
        self.log.len() as u64
    }
}
