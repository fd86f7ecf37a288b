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
//!
//! Modelling details (our choices where the spec is silent):
//! - "issue time" of a retried call is the admitted attempt's time (`now` + the SDK waits);
//!   addresses are carved then, and the response's latency is the waits plus one draw of the
//!   action's latency. A throttled attempt answers at once (no latency of its own), so a call
//!   throttled three times returns after the two waits alone;
//! - Insufficient* and PrivateIpAddressLimitExceeded answers take the action's full latency
//!   and are not retried (the SDK retries throttling and transient errors only);
//! - the SDK's client-side retry quota is not modelled (it only matters after hundreds of
//!   consecutive failures);
//! - counters count *attempts*: `calls = succeeded + failed`, and `throttled` is the number of
//!   attempts that met an empty bucket (ipamd's own Prometheus counter sees one call per
//!   ipamd-level call; ours is EC2's view, which is what the bucket meters);
//! - latencies and retry waits come from one stream per action (`"ec2-latency"` and
//!   `"ec2-retry"`, indexed by [`Action::index`]);
//! - `[ec2]` overrides: see [`config`] for the format and the defaults.

pub mod config;
mod throttle;

use crate::report::Ec2Row;
use crate::rng::{Rng, Streams};
use crate::subnet::Subnet;
use crate::time::Millis;
use throttle::{MAX_ATTEMPTS, TokenBucket, backoff};

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

pub use config::{Bucket, Ec2Config, Latency, Throttle};

/// An ENI as EC2 knows it (what `DescribeNetworkInterfaces` would return).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eni {
    /// The subnet it was created in.
    pub subnet: SubnetId,
    /// Room for secondary IPs and prefixes: IPv4Limit − 1 (each /32 or /28 takes one).
    pub slots: u32,
    /// Its primary private address.
    pub primary: u32,
    /// Its secondary IPs and prefixes, in the order they were assigned.
    pub cidrs: Vec<Cidr>,
}

/// Counts for one action, by outcome. Every attempt (SDK retries included) is one call and
/// is exactly one of `succeeded` or `failed`; failures are further split by error code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActionCounters {
    /// Attempts.
    pub calls: u64,
    /// Attempts that succeeded.
    pub succeeded: u64,
    /// Attempts that failed, whatever the error.
    pub failed: u64,
    /// Failed with `RequestLimitExceeded`.
    pub throttled: u64,
    /// Failed with `InsufficientCidrBlocks`.
    pub insufficient_cidr_blocks: u64,
    /// Failed with `InsufficientFreeAddressesInSubnet`.
    pub insufficient_free_addresses: u64,
    /// Failed with `PrivateIpAddressLimitExceeded`.
    pub private_ip_address_limit_exceeded: u64,
}

impl ActionCounters {
    fn add(&mut self, other: &ActionCounters) {
        self.calls += other.calls;
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.throttled += other.throttled;
        self.insufficient_cidr_blocks += other.insufficient_cidr_blocks;
        self.insufficient_free_addresses += other.insufficient_free_addresses;
        self.private_ip_address_limit_exceeded += other.private_ip_address_limit_exceeded;
    }

    fn count(&mut self, result: Result<(), Ec2Error>) {
        self.calls += 1;
        match result {
            Ok(()) => self.succeeded += 1,
            Err(e) => {
                self.failed += 1;
                match e {
                    Ec2Error::RequestLimitExceeded => self.throttled += 1,
                    Ec2Error::InsufficientCidrBlocks => self.insufficient_cidr_blocks += 1,
                    Ec2Error::InsufficientFreeAddressesInSubnet => {
                        self.insufficient_free_addresses += 1
                    }
                    Ec2Error::PrivateIpAddressLimitExceeded => {
                        self.private_ip_address_limit_exceeded += 1
                    }
                }
            }
        }
    }
}

/// One action's model: its bucket, latency, random streams and counters.
#[derive(Clone, Debug)]
struct ActionModel {
    bucket: TokenBucket,
    latency: Latency,
    latency_rng: Rng,
    retry_rng: Rng,
    counters: ActionCounters,
}

/// The simulated control plane. See the module docs.
#[derive(Debug)]
pub struct Ec2 {
    subnets: Vec<Subnet>,
    /// By [`EniId`]; `None` once deleted.
    enis: Vec<Option<Eni>>,
    /// By [`Action::index`].
    actions: Vec<ActionModel>,
    first_insufficient_cidr_blocks: Option<Millis>,
}

impl Ec2 {
    /// A control plane over `subnets` (already holding their background tenants), with the
    /// scenario's `[ec2]` overrides, drawing latency jitter and SDK retry waits from streams
    /// named `"ec2-latency"` and `"ec2-retry"`.
    ///
    /// Each action draws from its own stream of those names, indexed by
    /// [`Action::index`], so one action's traffic never shifts another's draws.
    pub fn new(config: &Ec2Config, subnets: Vec<Subnet>, streams: &Streams) -> Self {
        let actions = Action::ALL
            .iter()
            .map(|&a| ActionModel {
                bucket: TokenBucket::new(config.throttle_of(a)),
                latency: config.latency_of(a),
                latency_rng: streams.stream("ec2-latency", a.index() as u64),
                retry_rng: streams.stream("ec2-retry", a.index() as u64),
                counters: ActionCounters::default(),
            })
            .collect();
        Ec2 {
            subnets,
            enis: Vec::new(),
            actions,
            first_insufficient_cidr_blocks: None,
        }
    }

    /// The primary ENI a node gets at launch (part of RunInstances: no API call, no token,
    /// no latency). `slots` = IPv4Limit − 1, the ENI's room for secondary IPs/prefixes.
    ///
    /// Fails with `InsufficientFreeAddressesInSubnet` when the subnet has no address left
    /// for it; that failure is not an API call and is not counted.
    pub fn launch_primary_eni(&mut self, subnet: SubnetId, slots: u32) -> Result<NewEni, Ec2Error> {
        let primary = self.subnets[subnet]
            .alloc_address()
            .ok_or(Ec2Error::InsufficientFreeAddressesInSubnet)?;
        Ok(self.add_eni(subnet, slots, primary, Vec::new()))
    }

    /// `CreateNetworkInterface` in `subnet` pre-loaded with `req`; `slots` = IPv4Limit − 1.
    ///
    /// The primary address is placed first (it may land in, and spoil, a free /28), then the
    /// secondary IPs or prefixes; if any part cannot be placed nothing is held. Errors:
    /// `PrivateIpAddressLimitExceeded` when `req` asks for more than `slots`,
    /// `InsufficientFreeAddressesInSubnet` (primary or IPs), `InsufficientCidrBlocks`
    /// (prefixes), `RequestLimitExceeded`.
    pub fn create_network_interface(
        &mut self,
        now: Millis,
        subnet: SubnetId,
        slots: u32,
        req: Request,
    ) -> Response<NewEni> {
        let action = Action::CreateNetworkInterface;
        let at = match self.admit(now, action) {
            Ok(at) => at,
            Err(throttled) => return throttled,
        };
        let result = self.carve_new_eni(subnet, slots, req);
        self.complete(action, now, at, result)
    }

    fn carve_new_eni(
        &mut self,
        subnet: SubnetId,
        slots: u32,
        req: Request,
    ) -> Result<NewEni, Ec2Error> {
        if count(req) > slots {
            return Err(Ec2Error::PrivateIpAddressLimitExceeded);
        }
        let s = &mut self.subnets[subnet];
        let primary = match req {
            Request::Ips(n) if s.free_for_single_addresses() < n.saturating_add(1) => None,
            _ => s.alloc_address(),
        };
        let Some(primary) = primary else {
            return Err(Ec2Error::InsufficientFreeAddressesInSubnet);
        };
        match carve(s, req) {
            Ok(cidrs) => Ok(self.add_eni(subnet, slots, primary, cidrs)),
            Err(e) => {
                s.free_address(primary);
                Err(e)
            }
        }
    }

    /// `AssignPrivateIpAddresses` on `eni`.
    ///
    /// All or nothing. Errors: `PrivateIpAddressLimitExceeded` when the ENI's slots would
    /// overflow, `InsufficientFreeAddressesInSubnet`, `InsufficientCidrBlocks`,
    /// `RequestLimitExceeded`. Panics if `eni` was never created or was deleted (a caller
    /// bug: ipamd only assigns to ENIs it holds).
    pub fn assign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        req: Request,
    ) -> Response<Vec<Cidr>> {
        let action = Action::AssignPrivateIpAddresses;
        let at = match self.admit(now, action) {
            Ok(at) => at,
            Err(throttled) => return throttled,
        };
        let state = live(&mut self.enis, eni);
        let result = if state.cidrs.len() as u64 + u64::from(count(req)) > u64::from(state.slots) {
            Err(Ec2Error::PrivateIpAddressLimitExceeded)
        } else {
            carve(&mut self.subnets[state.subnet], req).inspect(|cidrs| {
                state.cidrs.extend_from_slice(cidrs);
            })
        };
        self.complete(action, now, at, result)
    }

    /// `UnassignPrivateIpAddresses` on `eni` (all /32s, or all /28s, of one call).
    ///
    /// Returns each CIDR to the subnet. A CIDR the ENI does not hold is a caller bug: it
    /// fails a debug assertion and is otherwise ignored.
    pub fn unassign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        cidrs: &[Cidr],
    ) -> Response<()> {
        let action = Action::UnassignPrivateIpAddresses;
        let at = match self.admit(now, action) {
            Ok(at) => at,
            Err(throttled) => return throttled,
        };
        let state = live(&mut self.enis, eni);
        let subnet = &mut self.subnets[state.subnet];
        for cidr in cidrs {
            let Some(i) = state.cidrs.iter().position(|c| c == cidr) else {
                debug_assert!(false, "{eni:?} does not hold {cidr:?}");
                continue;
            };
            state.cidrs.remove(i);
            release(subnet, *cidr);
        }
        self.complete(action, now, at, Ok(()))
    }

    /// `DeleteNetworkInterface`: returns its primary and every CIDR to the subnet.
    ///
    /// Deleting an ENI already deleted succeeds and changes nothing (ipamd treats EC2's
    /// `InvalidNetworkInterfaceID.NotFound` on delete as success).
    pub fn delete_network_interface(&mut self, now: Millis, eni: EniId) -> Response<()> {
        let action = Action::DeleteNetworkInterface;
        let at = match self.admit(now, action) {
            Ok(at) => at,
            Err(throttled) => return throttled,
        };
        if let Some(state) = self.enis.get_mut(eni.0 as usize).and_then(Option::take) {
            let subnet = &mut self.subnets[state.subnet];
            subnet.free_address(state.primary);
            for cidr in state.cidrs {
                release(subnet, cidr);
            }
        }
        self.complete(action, now, at, Ok(()))
    }

    /// A call that does not change the address space (Describe*, Attach, Detach,
    /// ModifyNetworkInterfaceAttribute, CreateTags): token, latency and counting only.
    pub fn request(&mut self, now: Millis, action: Action) -> Response<()> {
        let at = match self.admit(now, action) {
            Ok(at) => at,
            Err(throttled) => return throttled,
        };
        self.complete(action, now, at, Ok(()))
    }

    /// The subnets, by [`SubnetId`].
    pub fn subnets(&self) -> &[Subnet] {
        &self.subnets
    }

    /// A live ENI as EC2 sees it; `None` if never created or deleted.
    pub fn eni(&self, id: EniId) -> Option<&Eni> {
        self.enis.get(id.0 as usize).and_then(Option::as_ref)
    }

    /// Counters of one action.
    pub fn counters(&self, action: Action) -> &ActionCounters {
        &self.actions[action.index()].counters
    }

    /// Counters summed over every action.
    pub fn totals(&self) -> ActionCounters {
        let mut total = ActionCounters::default();
        for a in &self.actions {
            total.add(&a.counters);
        }
        total
    }

    /// `ec2_calls.csv`: one row per action, in [`Action::ALL`] order.
    pub fn ec2_rows(&self) -> Vec<Ec2Row> {
        Action::ALL
            .iter()
            .map(|&a| {
                let c = self.counters(a);
                Ec2Row {
                    action: a.name().to_string(),
                    calls: c.calls,
                    succeeded: c.succeeded,
                    failed: c.failed,
                    throttled: c.throttled,
                    insufficient_cidr_blocks: c.insufficient_cidr_blocks,
                    insufficient_free_addresses: c.insufficient_free_addresses,
                }
            })
            .collect()
    }

    /// Attempts over every action (`summary.csv` `ec2_calls`).
    pub fn calls_total(&self) -> u64 {
        self.actions.iter().map(|a| a.counters.calls).sum()
    }

    /// Throttled attempts over every action (`summary.csv` `ec2_throttled`).
    pub fn throttled_total(&self) -> u64 {
        self.actions.iter().map(|a| a.counters.throttled).sum()
    }

    /// `InsufficientCidrBlocks` answers so far, every action.
    pub fn insufficient_cidr_blocks_total(&self) -> u64 {
        self.actions
            .iter()
            .map(|a| a.counters.insufficient_cidr_blocks)
            .sum()
    }

    /// `InsufficientFreeAddressesInSubnet` answers so far, every action.
    pub fn insufficient_free_addresses_total(&self) -> u64 {
        self.actions
            .iter()
            .map(|a| a.counters.insufficient_free_addresses)
            .sum()
    }

    /// When the first `InsufficientCidrBlocks` was answered (the failing attempt's issue
    /// time), if one was.
    pub fn first_insufficient_cidr_blocks(&self) -> Option<Millis> {
        self.first_insufficient_cidr_blocks
    }

    fn add_eni(&mut self, subnet: SubnetId, slots: u32, primary: u32, cidrs: Vec<Cidr>) -> NewEni {
        let id = EniId(u32::try_from(self.enis.len()).expect("fewer than 2^32 ENIs per run"));
        self.enis.push(Some(Eni {
            subnet,
            slots,
            primary,
            cidrs: cidrs.clone(),
        }));
        NewEni { id, primary, cidrs }
    }

    /// Takes a token for `action`, retrying like the SDK: `Ok(t)` with the issue time of
    /// the admitted attempt, or the throttled response after the last attempt.
    fn admit<T>(&mut self, now: Millis, action: Action) -> Result<Millis, Response<T>> {
        let model = &mut self.actions[action.index()];
        let mut at = now;
        for attempt in 1..=MAX_ATTEMPTS {
            if model.bucket.take(at) {
                return Ok(at);
            }
            model.counters.count(Err(Ec2Error::RequestLimitExceeded));
            if attempt < MAX_ATTEMPTS {
                at += backoff(attempt, &mut model.retry_rng);
            }
        }
        Err(Response {
            result: Err(Ec2Error::RequestLimitExceeded),
            latency: at - now,
        })
    }

    /// Counts the admitted attempt issued at `at` and adds the action's latency.
    fn complete<T>(
        &mut self,
        action: Action,
        now: Millis,
        at: Millis,
        result: Result<T, Ec2Error>,
    ) -> Response<T> {
        let model = &mut self.actions[action.index()];
        model
            .counters
            .count(result.as_ref().map(|_| ()).map_err(|e| *e));
        if result.as_ref().err() == Some(&Ec2Error::InsufficientCidrBlocks) {
            self.first_insufficient_cidr_blocks.get_or_insert(at);
        }
        let latency = (at - now) + model.latency.sample(&mut model.latency_rng);
        Response { result, latency }
    }
}

/// Addresses or prefixes a request asks for.
fn count(req: Request) -> u32 {
    match req {
        Request::Ips(n) | Request::Prefixes(n) => n,
    }
}

/// Places `req` in `subnet`, all or nothing.
fn carve(subnet: &mut Subnet, req: Request) -> Result<Vec<Cidr>, Ec2Error> {
    match req {
        Request::Ips(n) => {
            if subnet.free_for_single_addresses() < n {
                return Err(Ec2Error::InsufficientFreeAddressesInSubnet);
            }
            Ok((0..n)
                .map(|_| Cidr {
                    addr: subnet.alloc_address().expect("counted free above"),
                    len: 32,
                })
                .collect())
        }
        Request::Prefixes(n) => {
            if subnet.free_prefix_blocks() < n {
                return Err(Ec2Error::InsufficientCidrBlocks);
            }
            Ok((0..n)
                .map(|_| Cidr {
                    addr: subnet.alloc_prefix().expect("counted free above"),
                    len: 28,
                })
                .collect())
        }
    }
}

/// Returns a /32 or /28 to the subnet.
fn release(subnet: &mut Subnet, cidr: Cidr) {
    let freed = match cidr.len {
        28 => subnet.free_prefix(cidr.addr),
        _ => subnet.free_address(cidr.addr),
    };
    debug_assert!(freed, "{cidr:?} was not held in its subnet");
}

/// The live ENI `id`; panics on a caller bug (never created, or deleted).
fn live(enis: &mut [Option<Eni>], id: EniId) -> &mut Eni {
    enis.get_mut(id.0 as usize)
        .and_then(Option::as_mut)
        .unwrap_or_else(|| panic!("{id:?} does not exist (never created, or deleted)"))
}

#[cfg(test)]
mod tests;
