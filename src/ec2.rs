//! The simulated EC2 control plane that every node's ipamd calls.
//!
//! One [`Ec2`] per scenario (one account and region). It owns the subnets (their address
//! bitmaps, see [`crate::subnet`]), the ENIs it created, one token bucket per API action shared
//! by every node, per-action latencies, and counters by action × outcome.
//!
//! Semantics (spec/ec2-subnet.md):
//! - a call takes one token from its action's bucket *at issue time*; an empty bucket fails the
//!   attempt with `RequestLimitExceeded`. Like the AWS SDK v2 standard retryer that ipamd
//!   uses (spec/ipamd-policy.md "Modelling choices" 5), a throttled call is retried inside the
//!   same call: 3 attempts in all, waiting uniform(0, min(20 s, 2^attempt s)) between them;
//!   every attempt takes a token and is counted;
//! - address changes (carving an ENI's primary, secondary IPs or /28 prefixes) happen at issue
//!   time and are all-or-nothing; the caller applies the result to its datastore when the
//!   call completes, `latency` later;
//! - a failed call still counts as a call; failures are counted by action and error code.

use crate::rng::Streams;
use crate::subnet::Subnet;
use crate::time::Millis;

/// Index of a subnet in the scenario (order of `[[subnets]]`, or 0 for `[subnet]`).
pub type SubnetId = usize;

/// An ENI created by [`Ec2`]. Ids are dense and never reused within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EniId(pub u32);

/// An IPv4 CIDR held by an ENI besides its primary address: a /32 secondary IP or a /28
/// prefix. `addr` is the address as a `u32` (network byte order value, e.g. 10.0.0.16 =
/// `0x0a00_0010`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    /// First address.
    pub addr: u32,
    /// Prefix length: 32 (secondary IP) or 28 (prefix).
    pub len: u8,
}

impl Cidr {
    /// Number of addresses: 1 for a /32, 16 for a /28.
    pub fn size(self) -> u32 {
        1u32 << (32 - u32::from(self.len))
    }
}

/// What an `AssignPrivateIpAddresses` or `CreateNetworkInterface` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `SecondaryPrivateIpAddressCount = n`.
    Ips(u32),
    /// `Ipv4PrefixCount = n` (/28 prefixes).
    Prefixes(u32),
}

/// The EC2 API actions ipamd uses, by their API names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
pub enum Action {
    AssignPrivateIpAddresses,
    UnassignPrivateIpAddresses,
    CreateNetworkInterface,
    AttachNetworkInterface,
    ModifyNetworkInterfaceAttribute,
    DetachNetworkInterface,
    DeleteNetworkInterface,
    DescribeNetworkInterfaces,
    DescribeInstances,
    DescribeSubnets,
    CreateTags,
}

impl Action {
    /// Every action, in the order reports list them.
    pub const ALL: [Action; 11] = [
        Action::AssignPrivateIpAddresses,
        Action::UnassignPrivateIpAddresses,
        Action::CreateNetworkInterface,
        Action::AttachNetworkInterface,
        Action::ModifyNetworkInterfaceAttribute,
        Action::DetachNetworkInterface,
        Action::DeleteNetworkInterface,
        Action::DescribeNetworkInterfaces,
        Action::DescribeInstances,
        Action::DescribeSubnets,
        Action::CreateTags,
    ];

    /// The API name, as in `ec2_calls.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Action::AssignPrivateIpAddresses => "AssignPrivateIpAddresses",
            Action::UnassignPrivateIpAddresses => "UnassignPrivateIpAddresses",
            Action::CreateNetworkInterface => "CreateNetworkInterface",
            Action::AttachNetworkInterface => "AttachNetworkInterface",
            Action::ModifyNetworkInterfaceAttribute => "ModifyNetworkInterfaceAttribute",
            Action::DetachNetworkInterface => "DetachNetworkInterface",
            Action::DeleteNetworkInterface => "DeleteNetworkInterface",
            Action::DescribeNetworkInterfaces => "DescribeNetworkInterfaces",
            Action::DescribeInstances => "DescribeInstances",
            Action::DescribeSubnets => "DescribeSubnets",
            Action::CreateTags => "CreateTags",
        }
    }

    /// Position in [`Action::ALL`], for dense per-action arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// EC2 error codes the simulation produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
pub enum Ec2Error {
    /// A prefix was asked for and no aligned free /28 exists.
    #[error("InsufficientCidrBlocks")]
    InsufficientCidrBlocks,
    /// Fewer free addresses than the request needs (all-or-nothing).
    #[error("InsufficientFreeAddressesInSubnet")]
    InsufficientFreeAddressesInSubnet,
    /// The ENI would exceed its per-ENI address limit.
    #[error("PrivateIpAddressLimitExceeded")]
    PrivateIpAddressLimitExceeded,
    /// The action's token bucket was empty on every attempt.
    #[error("RequestLimitExceeded")]
    RequestLimitExceeded,
}

/// The outcome of one ipamd-level call: its result and how long it took (SDK retry waits
/// included). The caller applies the result at `issue time + latency`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response<T> {
    /// What EC2 answered.
    pub result: Result<T, Ec2Error>,
    /// Simulated time from issue to completion.
    pub latency: Millis,
}

/// A network interface as returned by `CreateNetworkInterface` (or at instance launch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEni {
    /// Its id.
    pub id: EniId,
    /// Its primary private address.
    pub primary: u32,
    /// The secondary IPs (/32) or prefixes (/28) it was created with.
    pub cidrs: Vec<Cidr>,
}

/// The `[ec2]` table of a scenario: latency and throttling overrides by action name.
/// (Filled in by the EC2 model's owner.)
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2Config {}

/// The simulated control plane. See the module docs.
#[derive(Debug)]
pub struct Ec2 {
    subnets: Vec<Subnet>,
}

impl Ec2 {
    /// A control plane over `subnets` (already holding their background tenants), with the
    /// scenario's `[ec2]` overrides, drawing latency jitter and SDK retry waits from streams
    /// named `"ec2-latency"` and `"ec2-retry"`.
    pub fn new(config: &Ec2Config, subnets: Vec<Subnet>, streams: &Streams) -> Self {
        let _ = (config, streams);
        Ec2 { subnets }
    }

    /// The primary ENI a node gets at launch (part of RunInstances: no API call, no token,
    /// no latency). `slots` = IPv4Limit − 1, the ENI's room for secondary IPs/prefixes.
    pub fn launch_primary_eni(&mut self, subnet: SubnetId, slots: u32) -> Result<NewEni, Ec2Error> {
        let _ = (subnet, slots);
        todo!("issue 3")
    }

    /// `CreateNetworkInterface` in `subnet` pre-loaded with `req`; `slots` = IPv4Limit − 1.
    pub fn create_network_interface(
        &mut self,
        now: Millis,
        subnet: SubnetId,
        slots: u32,
        req: Request,
    ) -> Response<NewEni> {
        let _ = (now, subnet, slots, req);
        todo!("issue 3")
    }

    /// `AssignPrivateIpAddresses` on `eni`.
    pub fn assign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        req: Request,
    ) -> Response<Vec<Cidr>> {
        let _ = (now, eni, req);
        todo!("issue 3")
    }

    /// `UnassignPrivateIpAddresses` on `eni` (all /32s, or all /28s, of one call).
    pub fn unassign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        cidrs: &[Cidr],
    ) -> Response<()> {
        let _ = (now, eni, cidrs);
        todo!("issue 3")
    }

    /// `DeleteNetworkInterface`: returns its primary and every CIDR to the subnet.
    pub fn delete_network_interface(&mut self, now: Millis, eni: EniId) -> Response<()> {
        let _ = (now, eni);
        todo!("issue 3")
    }

    /// A call that does not change the address space (Describe*, Attach, Detach,
    /// ModifyNetworkInterfaceAttribute, CreateTags): token, latency and counting only.
    pub fn request(&mut self, now: Millis, action: Action) -> Response<()> {
        let _ = (now, action);
        todo!("issue 3")
    }

    /// The subnets, by [`SubnetId`].
    pub fn subnets(&self) -> &[Subnet] {
        &self.subnets
    }
}
