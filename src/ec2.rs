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

use rand::RngExt as _;

use crate::rng::{Rng, Streams};
use crate::subnet::Subnet;
use crate::time::{Millis, SECOND};

mod attachments;
mod config;
mod subnets;
pub use config::{BucketConfig, Ec2Config, Latency};
pub use subnets::SubnetCounters;

/// Index of a subnet in the scenario (order of `[[subnets]]`, or 0 for `[subnet]`).
pub type SubnetId = usize;

/// An ENI created by [`Ec2`]. Ids are dense and never reused within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EniId(pub u32);

/// An IPv4 CIDR held by an ENI besides its primary address: a /32 secondary IP or a /28
/// prefix. The project's one CIDR type ([`crate::subnet::Ipv4Cidr`]); `addr()` is the first
/// address as a `u32` (10.0.0.16 = `0x0a00_0010`).
pub use crate::subnet::Ipv4Cidr as Cidr;

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
    /// The instance already has its type's maximum number of ENIs attached.
    #[error("AttachmentLimitExceeded")]
    AttachmentLimitExceeded,
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

/// EC2 activity in one minute of simulated time: plain counts (the report draws `ec2.svg`).
///
/// The engine records one entry per minute in which any call was issued (minutes without
/// calls may be left out), in increasing `minute` order. Calls are counted exactly as in
/// `ec2_calls.csv` (every SDK attempt, throttled ones included), at the time they are issued.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ec2Minute {
    /// The minute: covers simulated seconds `[60 × minute, 60 × (minute + 1))`.
    pub minute: u32,
    /// Calls issued by action, indexed like [`crate::ec2::Action::ALL`].
    pub calls: [u64; Action::ALL.len()],
    /// Of those calls, how many failed (any error code).
    pub failed: u64,
    /// Of the failed calls, how many were `RequestLimitExceeded`.
    pub throttled: u64,
}

/// Per-action counters. Every *attempt* is a call: `calls = succeeded + failed`, and the
/// throttled and Insufficient* attempts are among the failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests sent (SDK retries included).
    pub calls: u64,
    /// Requests that succeeded.
    pub succeeded: u64,
    /// Requests that failed, for any reason.
    pub failed: u64,
    /// Requests refused with `RequestLimitExceeded`.
    pub throttled: u64,
    /// Requests refused with `InsufficientCidrBlocks`.
    pub insufficient_cidr_blocks: u64,
    /// Requests refused with `InsufficientFreeAddressesInSubnet`.
    pub insufficient_free_addresses: u64,
}

/// A token bucket in integer micro-tokens, refilled lazily from the clock.
#[derive(Clone, Debug)]
struct Bucket {
    capacity: u64,
    refill_per_ms: u64,
    tokens: u64,
    last: Millis,
}

const TOKEN: u64 = 1_000_000;

impl Bucket {
    fn new(c: BucketConfig) -> Self {
        let capacity = u64::from(c.capacity) * TOKEN;
        Bucket {
            capacity,
            refill_per_ms: (c.refill_per_s * TOKEN as f64 / 1000.0).round() as u64,
            tokens: capacity,
            last: 0,
        }
    }

    /// Takes one token at `now`. Time never runs backwards for a bucket: an attempt dated
    /// before the last refill (an SDK retry of an earlier call) just sees the current level.
    fn take(&mut self, now: Millis) -> bool {
        if now > self.last {
            let refill = (now - self.last).saturating_mul(self.refill_per_ms);
            self.tokens = self.tokens.saturating_add(refill).min(self.capacity);
            self.last = now;
        }
        if self.tokens >= TOKEN {
            self.tokens -= TOKEN;
            true
        } else {
            false
        }
    }
}

/// An ENI as EC2 knows it.
#[derive(Clone, Debug)]
struct EniRecord {
    subnet: SubnetId,
    primary: u32,
    /// Room for secondary IPs and prefixes (IPv4Limit − 1); each /32 or /28 takes one.
    slots: u32,
    cidrs: Vec<Cidr>,
    deleted: bool,
    /// Its `createdAt` tag.
    created: Millis,
}

/// SDK v2 standard retryer: attempts in all for a throttled call.
const MAX_ATTEMPTS: u32 = 3;
/// SDK v2 standard retryer: cap of the backoff between attempts.
const MAX_BACKOFF: Millis = 20 * SECOND;

/// The simulated control plane. See the module docs.
#[derive(Debug)]
pub struct Ec2 {
    subnets: Vec<Subnet>,
    enis: Vec<EniRecord>,
    buckets: Vec<Bucket>,
    latency: Vec<Latency>,
    counters: [Counters; Action::ALL.len()],
    latency_rng: Rng,
    retry_rng: Rng,
    first_insufficient_cidr_blocks: Option<Millis>,
    per_minute: Vec<Ec2Minute>,
    /// ENIs ipamd created that exist and are not attached (`available`), with their
    /// `createdAt`: what the leaked-ENI cleanup's filtered describe finds, VPC-wide.
    available: std::collections::BTreeMap<EniId, Millis>,
    /// Insufficient* answers by subnet, for `subnets.csv`.
    per_subnet: Vec<SubnetCounters>,
    /// When the attempt being answered was made (SDK retries are dated later than the call).
    attempt_at: Millis,
}

impl Ec2 {
    /// A control plane over `subnets` (already holding their background tenants), with the
    /// scenario's `[ec2]` overrides, drawing latency jitter and SDK retry waits from streams
    /// named `"ec2-latency"` and `"ec2-retry"`.
    pub fn new(config: &Ec2Config, subnets: Vec<Subnet>, streams: &Streams) -> Self {
        let subnets_len = subnets.len();
        Ec2 {
            subnets,
            enis: Vec::new(),
            buckets: Action::ALL
                .iter()
                .map(|a| Bucket::new(config.bucket(*a)))
                .collect(),
            latency: Action::ALL.iter().map(|a| config.latency(*a)).collect(),
            counters: [Counters::default(); Action::ALL.len()],
            latency_rng: streams.stream("ec2-latency", 0),
            retry_rng: streams.stream("ec2-retry", 0),
            first_insufficient_cidr_blocks: None,
            per_minute: Vec::new(),
            available: std::collections::BTreeMap::new(),
            per_subnet: vec![SubnetCounters::default(); subnets_len],
            attempt_at: 0,
        }
    }

    /// Runs one ipamd-level call of `action` issued at `now`: takes tokens (with the SDK's
    /// retries when throttled), then, if a token was had, performs `effect` at the time of
    /// that attempt. Counts every attempt.
    fn call<T>(
        &mut self,
        now: Millis,
        action: Action,
        effect: impl FnOnce(&mut Self) -> Result<T, Ec2Error>,
    ) -> Response<T> {
        let i = action.index();
        let mut at = now;
        for attempt in 1..=MAX_ATTEMPTS {
            self.counters[i].calls += 1;
            if self.buckets[i].take(at) {
                self.attempt_at = at;
                let result = effect(self);
                self.minute(at, i, result.is_err(), false);
                let c = &mut self.counters[i];
                match result {
                    Ok(_) => c.succeeded += 1,
                    Err(e) => {
                        c.failed += 1;
                        match e {
                            Ec2Error::InsufficientCidrBlocks => {
                                c.insufficient_cidr_blocks += 1;
                                self.first_insufficient_cidr_blocks.get_or_insert(at);
                            }
                            Ec2Error::InsufficientFreeAddressesInSubnet => {
                                c.insufficient_free_addresses += 1
                            }
                            _ => {}
                        }
                    }
                }
                let latency = self.latency[i].sample(&mut self.latency_rng);
                return Response {
                    result,
                    latency: at - now + latency,
                };
            }
            let c = &mut self.counters[i];
            c.failed += 1;
            c.throttled += 1;
            self.minute(at, i, true, true);
            if attempt < MAX_ATTEMPTS {
                let cap = MAX_BACKOFF.min(SECOND << attempt);
                at += self.retry_rng.random_range(0..=cap);
            }
        }
        Response {
            result: Err(Ec2Error::RequestLimitExceeded),
            latency: at - now,
        }
    }

    /// Counts one attempt of action `i` at `at` in its minute of `ec2_per_minute`.
    #[inline]
    fn minute(&mut self, at: Millis, i: usize, failed: bool, throttled: bool) {
        let minute = (at / 60_000) as u32;
        // Attempts arrive in time order except SDK retries dated ahead: the last minute first.
        let pos = match self.per_minute.last() {
            Some(m) if m.minute == minute => self.per_minute.len() - 1,
            _ => self.minute_slot(minute),
        };
        let m = &mut self.per_minute[pos];
        m.calls[i] += 1;
        m.failed += u64::from(failed);
        m.throttled += u64::from(throttled);
    }

    /// Where `minute`'s counts are in `per_minute`, added if new (at a minute's first
    /// attempt, or a retry dated into another minute).
    #[cold]
    fn minute_slot(&mut self, minute: u32) -> usize {
        match self.per_minute.binary_search_by_key(&minute, |m| m.minute) {
            Ok(p) => p,
            Err(p) => {
                self.per_minute.insert(
                    p,
                    Ec2Minute {
                        minute,
                        ..Ec2Minute::default()
                    },
                );
                p
            }
        }
    }

    /// Calls per minute by action, for `ec2.svg`.
    pub fn per_minute(&self) -> &[Ec2Minute] {
        &self.per_minute
    }

    /// The primary ENI a node gets at launch (part of RunInstances: no API call, no token,
    /// no latency). `slots` = IPv4Limit − 1, the ENI's room for secondary IPs/prefixes.
    pub fn launch_primary_eni(&mut self, subnet: SubnetId, slots: u32) -> Result<NewEni, Ec2Error> {
        self.new_eni(subnet, slots, Request::Ips(0), 0)
    }

    /// An ENI that exists before the run (spec/real-inputs.md §4, §9: an imported node's ENI
    /// or a leaked one), holding exactly `primary` and `cidrs` (/32s and /28s) in `subnet`.
    /// No API call. The addresses must be free (the importer checked them); one that is not
    /// is left out of the record rather than held twice.
    pub fn adopt_eni(
        &mut self,
        subnet: SubnetId,
        primary: u32,
        slots: u32,
        cidrs: &[Cidr],
    ) -> EniId {
        let s = &mut self.subnets[subnet];
        let took = s.take_address(primary);
        debug_assert!(took, "imported primary {primary:#x} was not free");
        let kept: Vec<Cidr> = cidrs
            .iter()
            .copied()
            .filter(|c| {
                if c.prefix_len() == 28 {
                    s.take_prefix(c.addr())
                } else {
                    s.take_address(c.addr())
                }
            })
            .collect();
        debug_assert_eq!(kept.len(), cidrs.len(), "an imported address was not free");
        let id = EniId(self.enis.len() as u32);
        self.enis.push(EniRecord {
            subnet,
            primary,
            slots,
            cidrs: kept,
            deleted: false,
            created: 0,
        });
        id
    }

    /// A leaked ENI of a `[start]` (detached, ipamd's tags; spec/real-inputs.md §4): like
    /// [`Ec2::adopt_eni`], and `available` for the leaked-ENI cleanup of any node. Its
    /// `createdAt` is taken as t=0 (the spec says "older than 5 min": the cleanup may find
    /// it up to 5 min later than that).
    pub fn adopt_leaked_eni(&mut self, subnet: SubnetId, primary: u32, cidrs: &[Cidr]) -> EniId {
        let id = self.adopt_eni(subnet, primary, u32::MAX, cidrs);
        self.available.insert(id, 0);
        id
    }

    /// `CreateNetworkInterface` in `subnet` pre-loaded with `req`; `slots` = IPv4Limit − 1.
    pub fn create_network_interface(
        &mut self,
        now: Millis,
        subnet: SubnetId,
        slots: u32,
        req: Request,
    ) -> Response<NewEni> {
        self.call(now, Action::CreateNetworkInterface, |ec2| {
            let eni = ec2.new_eni(subnet, slots, req, now).inspect_err(|e| {
                ec2.subnet_error(subnet, *e);
            })?;
            ec2.available.insert(eni.id, now);
            Ok(eni)
        })
    }

    /// `AssignPrivateIpAddresses` on `eni`.
    pub fn assign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        req: Request,
    ) -> Response<Vec<Cidr>> {
        self.call(now, Action::AssignPrivateIpAddresses, |ec2| {
            let rec = &ec2.enis[eni.0 as usize];
            let n = match req {
                Request::Ips(n) | Request::Prefixes(n) => n,
            };
            if rec.deleted || rec.cidrs.len() as u32 + n > rec.slots {
                return Err(Ec2Error::PrivateIpAddressLimitExceeded);
            }
            let subnet = rec.subnet;
            let cidrs = ec2
                .carve(subnet, req)
                .inspect_err(|e| ec2.subnet_error(subnet, *e))?;
            ec2.enis[eni.0 as usize].cidrs.extend_from_slice(&cidrs);
            Ok(cidrs)
        })
    }

    /// `UnassignPrivateIpAddresses` on `eni` (all /32s, or all /28s, of one call). Addresses
    /// the ENI does not hold are ignored.
    pub fn unassign_private_ip_addresses(
        &mut self,
        now: Millis,
        eni: EniId,
        cidrs: &[Cidr],
    ) -> Response<()> {
        self.call(now, Action::UnassignPrivateIpAddresses, |ec2| {
            let rec = &mut ec2.enis[eni.0 as usize];
            let subnet = &mut ec2.subnets[rec.subnet];
            for c in cidrs {
                if let Some(pos) = rec.cidrs.iter().position(|x| x == c) {
                    rec.cidrs.swap_remove(pos);
                    release(subnet, *c);
                }
            }
            Ok(())
        })
    }

    /// `DeleteNetworkInterface`: returns its primary and every CIDR to the subnet.
    pub fn delete_network_interface(&mut self, now: Millis, eni: EniId) -> Response<()> {
        self.call(now, Action::DeleteNetworkInterface, |ec2| {
            let rec = &mut ec2.enis[eni.0 as usize];
            if rec.deleted {
                return Ok(()); // NotFound is success for ipamd
            }
            rec.deleted = true;
            ec2.available.remove(&eni);
            let subnet = &mut ec2.subnets[rec.subnet];
            for c in rec.cidrs.drain(..) {
                release(subnet, c);
            }
            subnet.free_address(rec.primary);
            Ok(())
        })
    }

    /// A call that does not change the address space (Describe*, Attach, Detach,
    /// ModifyNetworkInterfaceAttribute, CreateTags): token, latency and counting only.
    pub fn request(&mut self, now: Millis, action: Action) -> Response<()> {
        self.call(now, action, |_| Ok(()))
    }

    /// The subnets, by [`SubnetId`].
    pub fn subnets(&self) -> &[Subnet] {
        &self.subnets
    }

    /// The ENIs EC2 holds (not deleted): id, subnet, primary address and CIDRs. For the
    /// invariant checker ([`crate::invariants`]).
    pub fn live_enis(&self) -> impl Iterator<Item = (EniId, SubnetId, u32, &[Cidr])> + '_ {
        self.enis
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.deleted)
            .map(|(i, e)| (EniId(i as u32), e.subnet, e.primary, e.cidrs.as_slice()))
    }

    /// Counters of `action`.
    pub fn counters(&self, action: Action) -> Counters {
        self.counters[action.index()]
    }

    fn sum(&self, f: impl Fn(&Counters) -> u64) -> u64 {
        self.counters.iter().map(f).sum()
    }

    /// Requests sent, all actions.
    pub fn total_calls(&self) -> u64 {
        self.sum(|c| c.calls)
    }

    /// Requests throttled, all actions.
    pub fn total_throttled(&self) -> u64 {
        self.sum(|c| c.throttled)
    }

    /// `InsufficientCidrBlocks` answers so far.
    pub fn insufficient_cidr_blocks_total(&self) -> u64 {
        self.sum(|c| c.insufficient_cidr_blocks)
    }

    /// `InsufficientFreeAddressesInSubnet` answers so far.
    pub fn insufficient_free_addresses_total(&self) -> u64 {
        self.sum(|c| c.insufficient_free_addresses)
    }

    /// When EC2 first answered `InsufficientCidrBlocks`.
    pub fn first_insufficient_cidr_blocks(&self) -> Option<Millis> {
        self.first_insufficient_cidr_blocks
    }

    /// Creates an ENI record with a primary address and `req`, all or nothing.
    fn new_eni(
        &mut self,
        subnet: SubnetId,
        slots: u32,
        req: Request,
        created: Millis,
    ) -> Result<NewEni, Ec2Error> {
        let n = match req {
            Request::Ips(n) | Request::Prefixes(n) => n,
        };
        if n > slots {
            return Err(Ec2Error::PrivateIpAddressLimitExceeded);
        }
        // Prefixes first: the primary must not take an address out of the last free block.
        let cidrs = self.carve(subnet, req)?;
        let Some(primary) = self.subnets[subnet].alloc_address() else {
            for c in &cidrs {
                release(&mut self.subnets[subnet], *c);
            }
            return Err(Ec2Error::InsufficientFreeAddressesInSubnet);
        };
        let id = EniId(self.enis.len() as u32);
        self.enis.push(EniRecord {
            subnet,
            primary,
            slots,
            cidrs: cidrs.clone(),
            deleted: false,
            created,
        });
        Ok(NewEni { id, primary, cidrs })
    }

    /// Takes `req` from the subnet, all or nothing.
    fn carve(&mut self, subnet: SubnetId, req: Request) -> Result<Vec<Cidr>, Ec2Error> {
        let s = &mut self.subnets[subnet];
        match req {
            Request::Ips(n) => {
                if s.free_for_single_addresses() < n {
                    return Err(Ec2Error::InsufficientFreeAddressesInSubnet);
                }
                Ok((0..n)
                    .map(|_| Cidr::host(s.alloc_address().expect("counted free")))
                    .collect())
            }
            Request::Prefixes(n) => {
                if s.free_prefix_blocks() < n {
                    return Err(Ec2Error::InsufficientCidrBlocks);
                }
                Ok((0..n)
                    .map(|_| Cidr::prefix28(s.alloc_prefix().expect("counted free")))
                    .collect())
            }
        }
    }
}

fn release(subnet: &mut Subnet, c: Cidr) {
    let ok = if c.prefix_len() == 28 {
        subnet.free_prefix(c.addr())
    } else {
        subnet.free_address(c.addr())
    };
    debug_assert!(ok, "released {c:?} that the subnet did not hold");
}

#[cfg(test)]
mod tests;
