//! A VPC subnet's address space: who holds which address, and where EC2 puts the next one.
//!
//! The model (spec/ec2-subnet.md §1–4):
//! - a subnet is a /16 … /28; its first four addresses and its last are reserved by AWS and
//!   never handed out, so its first and last /28 can never be prefixes;
//! - addresses are held one at a time (an ENI's primary, a secondary IP, a background tenant)
//!   or sixteen at a time as an aligned /28 *prefix*;
//! - subnet CIDR reservations (`prefix` or `explicit`) never overlap and may cover addresses
//!   already in use (they stay held until freed). No single address is ever *placed* inside a
//!   reservation; prefixes come from prefix reservations first, then from the general pool;
//!   explicit reservations only take addresses asked for by value ([`Subnet::take_address`]);
//! - placement is `random` (uniform over the candidates, from the seeded stream
//!   `("subnet-placement", subnet index)`) or `lowest` (the lowest candidate).
//!
//! Representation: per 64 addresses, a held mask and a placeable mask side by side (a /16 is
//! 1,024 such words; smaller subnets use a prefix of the fixed arrays), block masks for the
//! reservations and prefixes, rank/select counts over the single-address candidates
//! (`rank.rs`: a radix-16 count tree, O(log n) select and update) and two sparse sets of candidate /28
//! blocks, inside prefix reservations and outside them (`sparse.rs`: O(1) uniform pick,
//! insert, remove and lowest member). Every allocation or release is O(log n) whatever the
//! fill, and every query O(1), except [`Subnet::block_map`].
//!
//! Counting (DESIGN.md §5): [`Subnet::used`] counts held addresses (not the five reserved);
//! [`Subnet::free`] = usable − used, like EC2's `AvailableIpAddressCount`, so free addresses
//! inside reservations count as free even though only prefixes (prefix reservations) or
//! explicit requests (explicit reservations) can take them; what automatic placement can
//! still hand out is [`Subnet::free_for_single_addresses`] and
//! [`Subnet::free_prefix_blocks`].

pub mod cidr;
pub mod config;
pub mod error;
#[cfg(test)]
mod proptests;
mod rank;
mod sparse;
mod summary;
#[cfg(test)]
mod tests;

use rand::RngExt as _;

pub use cidr::Ipv4Cidr;
pub use config::{
    Background, CNI_ROLE_TAG, CniRole, Placement, ReservationConfig, ReservationKind, SubnetConfig,
};
pub use error::SubnetError;
pub use summary::BlockState;

use crate::rng::{Rng, Streams};
use rank::{RankTree, WORDS};
use sparse::{BLOCKS, SparseSet};

/// Addresses per /28 prefix.
pub const PREFIX_SIZE: u32 = 16;
/// Addresses AWS reserves in every subnet (first four, last one).
pub const RESERVED_ADDRESSES: u32 = 5;

/// One subnet's address space. See the module docs.
#[derive(Clone, Debug)]
pub struct Subnet {
    name: String,
    cidr: Ipv4Cidr,
    placement: Placement,
    rng: Rng,
    reservations: Vec<(Ipv4Cidr, ReservationKind)>,
    background: u32,
    /// `availability_zone`, if the scenario gave one (else a zone of its own).
    zone: Option<String>,
    /// Its `kubernetes.io/role/cni` tag, for subnet discovery.
    cni_role: CniRole,
    /// Addresses in the subnet (16 … 65,536).
    size: u32,
    /// Per 64 addresses: which are held, which may be placed singly.
    addrs: Box<[AddrWord; WORDS]>,
    /// Bit per block (static): wholly inside a prefix reservation, no AWS-reserved address.
    preferred_ok: BlockBits,
    /// Bit per block (static): may be a prefix from the general pool (no AWS-reserved
    /// address, no explicitly reserved address, not wholly in a prefix reservation).
    general_ok: BlockBits,
    /// Bit per block (static): holds an explicitly reserved address.
    explicit_blocks: BlockBits,
    /// Bit per block: assigned as a prefix.
    prefixes: BlockBits,
    /// Counts of the single-address candidates, [`AddrWord::candidates`].
    singles: RankTree,
    /// Prefix candidates inside prefix reservations: `preferred_ok` and all 16 free.
    preferred: SparseSet,
    /// Prefix candidates in the general pool: `general_ok` and all 16 free.
    general: SparseSet,
    used_count: u32,
    prefix_count: u32,
    /// Blocks outside the two edge blocks, not prefixes, with all 16 addresses held.
    full_count: u32,
}

impl Subnet {
    /// The subnet a scenario describes, number `index` in the scenario: validates the CIDR
    /// and the reservations, then places the background tenants at t=0 with the subnet's
    /// placement policy, drawing from the stream `("subnet-placement", index)` that later
    /// placements continue.
    pub fn new(
        config: &SubnetConfig,
        streams: &Streams,
        index: usize,
    ) -> Result<Subnet, SubnetError> {
        let name = config.name.clone().unwrap_or_else(|| "default".to_string());
        let in_subnet = |error| SubnetError::InSubnet {
            subnet: name.clone(),
            error: Box::new(error),
        };
        let cidr = Ipv4Cidr::parse_subnet(&config.cidr).map_err(in_subnet)?;
        let rng = streams.stream("subnet-placement", index as u64);
        let mut subnet = Subnet::empty(name.clone(), cidr, config.placement, rng);
        subnet.zone = config.availability_zone.clone();
        subnet.cni_role = config.cni_role();
        for r in &config.reservations {
            let block = Ipv4Cidr::parse_block(&r.cidr).map_err(in_subnet)?;
            subnet.add_reservation(block, r.kind)?;
        }
        subnet.place_background(config.background.addresses)?;
        Ok(subnet)
    }

    /// An empty subnet with no reservations.
    pub fn empty(name: String, cidr: Ipv4Cidr, placement: Placement, rng: Rng) -> Subnet {
        let size = cidr.size() as u32;
        debug_assert!((16..=65_536).contains(&size), "{cidr} is not a /16…/28");
        let blocks = size / PREFIX_SIZE;
        let mut addrs = Box::new([AddrWord::default(); WORDS]);
        for off in RESERVED_ADDRESSES - 1..size - 1 {
            addrs[addr_word(off)].single_ok |= 1 << (off % 64);
        }
        let singles: Vec<u64> = addrs.iter().map(|a| a.candidates()).collect();
        let mut general_ok: BlockBits = [0; BLOCK_WORDS];
        for b in 1..blocks.saturating_sub(1) {
            general_ok[block_word(b)] |= 1 << (b % 64);
        }
        Subnet {
            name,
            cidr,
            placement,
            rng,
            reservations: Vec::new(),
            background: 0,
            zone: None,
            cni_role: CniRole::Untagged,
            size,
            addrs,
            singles: RankTree::from_bits(&singles),
            preferred_ok: [0; BLOCK_WORDS],
            general: SparseSet::from_bits(&general_ok),
            general_ok,
            explicit_blocks: [0; BLOCK_WORDS],
            prefixes: [0; BLOCK_WORDS],
            preferred: SparseSet::from_bits(&[]),
            used_count: 0,
            prefix_count: 0,
            full_count: 0,
        }
    }

    /// Adds a subnet CIDR reservation (`CreateSubnetCidrReservation`). It must lie inside
    /// the subnet and overlap no other; it may cover held addresses and prefixes, which stay
    /// held until freed and then become available only as the reservation allows.
    pub fn add_reservation(
        &mut self,
        block: Ipv4Cidr,
        kind: ReservationKind,
    ) -> Result<(), SubnetError> {
        if !self.cidr.covers(block) {
            return Err(SubnetError::ReservationOutside {
                subnet: self.name.clone(),
                cidr: self.cidr.to_string(),
                reservation: block.to_string(),
            });
        }
        if let Some((first, _)) = self.reservations.iter().find(|(r, _)| r.overlaps(block)) {
            return Err(SubnetError::ReservationOverlap {
                subnet: self.name.clone(),
                first: first.to_string(),
                second: block.to_string(),
            });
        }
        self.reservations.push((block, kind));
        let off = block.addr() - self.cidr.addr();
        let size = block.size() as u32;
        // Aligned power-of-two range: inside one word, or whole words.
        if size < 64 {
            let mask = (u64::MAX >> (64 - size)) << (off % 64);
            self.addrs[addr_word(off)].single_ok &= !mask;
        } else {
            let w = addr_word(off);
            for a in &mut self.addrs[w..w + (size / 64) as usize] {
                a.single_ok = 0;
            }
        }
        let first_block = off / PREFIX_SIZE;
        let last_block = (off + size - 1) / PREFIX_SIZE;
        for b in first_block..=last_block {
            let (w, bit) = (block_word(b), 1u64 << (b % 64));
            match kind {
                ReservationKind::Explicit => {
                    self.explicit_blocks[w] |= bit;
                    self.general_ok[w] &= !bit;
                }
                // A prefix reservation smaller than a /28 holds no prefix and leaves its
                // block in the general pool (spec §3 excludes only explicit reservations).
                ReservationKind::Prefix if size >= PREFIX_SIZE => {
                    if self.general_ok[w] & bit != 0 {
                        self.general_ok[w] &= !bit;
                        self.preferred_ok[w] |= bit;
                    }
                }
                ReservationKind::Prefix => {}
            }
        }
        self.rebuild_candidates();
        Ok(())
    }

    /// Recomputes the candidate sets from the bitmaps (after the static masks changed).
    fn rebuild_candidates(&mut self) {
        let singles: Vec<u64> = self.addrs.iter().map(|a| a.candidates()).collect();
        self.singles = RankTree::from_bits(&singles);
        let free_blocks = self.free_block_bits();
        let pool = |ok: &BlockBits| -> Vec<u64> {
            ok.iter().zip(&free_blocks).map(|(o, f)| o & f).collect()
        };
        self.preferred = SparseSet::from_bits(&pool(&self.preferred_ok));
        self.general = SparseSet::from_bits(&pool(&self.general_ok));
    }

    /// Bit per block: none of its 16 addresses held.
    fn free_block_bits(&self) -> BlockBits {
        let mut bits = [0u64; BLOCK_WORDS];
        for b in 0..self.size / PREFIX_SIZE {
            if self.lane(b) == 0 {
                bits[block_word(b)] |= 1 << (b % 64);
            }
        }
        bits
    }

    /// Places `n` background addresses with the placement policy.
    fn place_background(&mut self, n: u32) -> Result<(), SubnetError> {
        if n > self.singles.len() {
            return Err(SubnetError::BackgroundTooLarge {
                subnet: self.name.clone(),
                cidr: self.cidr.to_string(),
                requested: n,
                available: self.singles.len(),
            });
        }
        for _ in 0..n {
            self.alloc_address();
        }
        self.background += n;
        Ok(())
    }

    /// Takes one address by the placement policy (an ENI primary, a secondary IP, a
    /// background tenant): `None` when no single-address candidate is left.
    pub fn alloc_address(&mut self) -> Option<u32> {
        let n = self.singles.len();
        if n == 0 {
            return None;
        }
        let k = match self.placement {
            Placement::Random => self.rng.random_range(0..n),
            Placement::Lowest => 0,
        };
        let addrs = &self.addrs;
        let off = self.singles.select(k, |w| addrs[w].candidates());
        self.hold(off);
        Some(self.cidr.addr() + off)
    }

    /// Takes a specific free address (a request naming its private IP). Any address of the
    /// subnet but the five reserved may be named, including one inside a reservation (that
    /// is what explicit reservations are for). Returns whether it was taken.
    pub fn take_address(&mut self, addr: u32) -> bool {
        match self.offset(addr) {
            Some(off) if !self.is_aws_reserved(off) && !self.is_used(off) => {
                self.hold(off);
                true
            }
            _ => false,
        }
    }

    /// Takes the aligned /28 starting at `addr` as a prefix, by value (an imported ENI's
    /// prefix, spec/real-inputs.md §4). All 16 addresses must be free and the block must not
    /// hold an AWS-reserved address; reservations do not stop it (the prefix may predate
    /// them). Returns whether it was taken.
    pub fn take_prefix(&mut self, addr: u32) -> bool {
        let Some(off) = self.offset(addr) else {
            return false;
        };
        let b = off / PREFIX_SIZE;
        if off % PREFIX_SIZE != 0 || self.is_edge(b) || self.lane(b) != 0 {
            return false;
        }
        let (bw_, bit) = (block_word(b), 1u64 << (b % 64));
        if self.preferred_ok[bw_] & bit != 0 {
            self.preferred.remove(b);
        } else if self.general_ok[bw_] & bit != 0 {
            self.general.remove(b);
        }
        let (w, shift) = (lane_word(b), (b % 4) * 16);
        let a = &mut self.addrs[w];
        a.used |= 0xffffu64 << shift;
        self.used_count += PREFIX_SIZE;
        self.singles.sub(w, lane_ones(a.single_ok >> shift));
        self.prefixes[bw_] |= bit;
        self.prefix_count += 1;
        true
    }

    /// Takes `addr` for a tenant that never gives it back (an imported background interface,
    /// spec/real-inputs.md §4): like [`Subnet::take_address`], counted as background.
    pub fn take_background(&mut self, addr: u32) -> bool {
        let ok = self.take_address(addr);
        self.background += u32::from(ok);
        ok
    }

    /// Takes the /28 at `addr` for a tenant that never gives it back (an imported background
    /// interface's prefix): like [`Subnet::take_prefix`], its 16 addresses counted as
    /// background.
    pub fn take_background_prefix(&mut self, addr: u32) -> bool {
        let ok = self.take_prefix(addr);
        self.background += if ok { PREFIX_SIZE } else { 0 };
        ok
    }

    /// Returns a single address taken by [`Subnet::alloc_address`] or
    /// [`Subnet::take_address`]. Returns `false`, changing nothing, if `addr` is not a held
    /// single address (outside the subnet, free, or part of a prefix).
    pub fn free_address(&mut self, addr: u32) -> bool {
        let Some(off) = self.offset(addr) else {
            return false;
        };
        let b = off / PREFIX_SIZE;
        if !self.is_used(off) || self.is_prefix(b) {
            return false;
        }
        let (w, bit) = (addr_word(off), 1u64 << (off % 64));
        let was_full = self.lane(b) == 0xffff;
        let a = &mut self.addrs[w];
        a.used &= !bit;
        self.used_count -= 1;
        if a.single_ok & bit != 0 {
            self.singles.add(w, 1);
        }
        if was_full && !self.is_edge(b) {
            self.full_count -= 1;
        }
        if self.lane(b) == 0 {
            self.block_became_free(b);
        }
        true
    }

    /// Takes one aligned /28 by the placement policy, from a prefix reservation if one has a
    /// free block, else from the general pool. Returns its first address, or `None` when no
    /// candidate block exists (EC2's `InsufficientCidrBlocks`).
    pub fn alloc_prefix(&mut self) -> Option<u32> {
        let preferred = self.preferred.len() > 0;
        let pool = if preferred {
            &mut self.preferred
        } else {
            &mut self.general
        };
        let n = pool.len();
        if n == 0 {
            return None;
        }
        let b = match self.placement {
            Placement::Random => pool.get(self.rng.random_range(0..n)),
            Placement::Lowest => pool.first()?,
        };
        pool.remove_member(b);
        let (w, shift) = (lane_word(b), (b % 4) * 16);
        let mask = 0xffffu64 << shift;
        let a = &mut self.addrs[w];
        debug_assert_eq!(a.used & mask, 0, "block {b} is a candidate but not free");
        a.used |= mask;
        self.used_count += PREFIX_SIZE;
        self.singles.sub(w, lane_ones(a.single_ok >> shift));
        self.prefixes[block_word(b)] |= 1 << (b % 64);
        self.prefix_count += 1;
        Some(self.cidr.addr() + b * PREFIX_SIZE)
    }

    /// Returns a /28 taken by [`Subnet::alloc_prefix`], by its first address. Returns
    /// `false`, changing nothing, if no prefix starts there.
    pub fn free_prefix(&mut self, addr: u32) -> bool {
        let Some(off) = self.offset(addr) else {
            return false;
        };
        let b = off / PREFIX_SIZE;
        if off % PREFIX_SIZE != 0 || !self.is_prefix(b) {
            return false;
        }
        let (w, shift) = (lane_word(b), (b % 4) * 16);
        let mask = 0xffffu64 << shift;
        let a = &mut self.addrs[w];
        a.used &= !mask;
        self.used_count -= PREFIX_SIZE;
        self.singles.add(w, lane_ones(a.single_ok >> shift));
        self.prefixes[block_word(b)] &= !(1 << (b % 64));
        self.prefix_count -= 1;
        self.block_became_free(b);
        true
    }

    /// Marks a free address held (any caller: placement, by value).
    fn hold(&mut self, off: u32) {
        let (w, bit) = (addr_word(off), 1u64 << (off % 64));
        let b = off / PREFIX_SIZE;
        let was_free_block = self.lane(b) == 0;
        let a = &mut self.addrs[w];
        debug_assert_eq!(a.used & bit, 0);
        a.used |= bit;
        self.used_count += 1;
        if a.single_ok & bit != 0 {
            self.singles.sub(w, 1);
        }
        if was_free_block {
            let (bw, bbit) = (block_word(b), 1u64 << (b % 64));
            if self.preferred_ok[bw] & bbit != 0 {
                self.preferred.remove(b);
            } else if self.general_ok[bw] & bbit != 0 {
                self.general.remove(b);
            }
        }
        if self.lane(b) == 0xffff && !self.is_edge(b) {
            self.full_count += 1;
        }
    }

    /// Block `b` has no held address any more: it is a prefix candidate if its pool allows.
    #[inline(always)]
    fn block_became_free(&mut self, b: u32) {
        let (w, bit) = (block_word(b), 1u64 << (b % 64));
        if self.preferred_ok[w] & bit != 0 {
            self.preferred.insert(b);
        } else if self.general_ok[w] & bit != 0 {
            self.general.insert(b);
        }
    }

    /// The 16 held-bits of block `b`.
    fn lane(&self, b: u32) -> u64 {
        (self.addrs[lane_word(b)].used >> ((b % 4) * 16)) & 0xffff
    }

    #[inline]
    fn offset(&self, addr: u32) -> Option<u32> {
        let off = addr.wrapping_sub(self.cidr.addr());
        (off < self.size).then_some(off)
    }

    fn is_used(&self, off: u32) -> bool {
        self.addrs[addr_word(off)].used >> (off % 64) & 1 == 1
    }

    fn is_prefix(&self, b: u32) -> bool {
        self.prefixes[block_word(b)] >> (b % 64) & 1 == 1
    }

    fn is_aws_reserved(&self, off: u32) -> bool {
        off < RESERVED_ADDRESSES - 1 || off == self.size - 1
    }

    /// The first and last /28 hold AWS-reserved addresses.
    fn is_edge(&self, b: u32) -> bool {
        b == 0 || b == self.size / PREFIX_SIZE - 1
    }

    /// Whether `addr` is held (singly or in a prefix).
    pub fn is_held(&self, addr: u32) -> bool {
        self.offset(addr).is_some_and(|off| self.is_used(off))
    }

    /// The subnet's name (`"default"` for an unnamed `[subnet]`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CIDR as written in reports, e.g. `"10.0.0.0/21"`.
    pub fn cidr(&self) -> String {
        self.cidr.to_string()
    }

    /// The CIDR as a value.
    pub fn ipv4_cidr(&self) -> Ipv4Cidr {
        self.cidr
    }

    /// The placement policy.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// The reservations, in the order they were made.
    pub fn reservations(&self) -> &[(Ipv4Cidr, ReservationKind)] {
        &self.reservations
    }

    /// Background addresses placed at t=0.
    pub fn background(&self) -> u32 {
        self.background
    }

    /// Its availability zone as the scenario names it (`None`: a zone of its own).
    pub fn zone(&self) -> Option<&str> {
        self.zone.as_deref()
    }

    /// Whether `other` is in the same availability zone (a subnet without a zone is alone
    /// in its own).
    pub fn same_zone(&self, other: &Subnet) -> bool {
        self.zone.is_some() && self.zone == other.zone
    }

    /// What its `kubernetes.io/role/cni` tag says.
    pub fn cni_role(&self) -> CniRole {
        self.cni_role
    }
}

/// popcount of a 16-bit lane by two lookups in a 256-byte table (the default x86-64
/// target has no `popcnt` instruction; this is cheaper than the software fallback).
#[inline(always)]
fn lane_ones(lane: u64) -> u32 {
    u32::from(BYTE_ONES[(lane & 0xff) as usize]) + u32::from(BYTE_ONES[(lane >> 8 & 0xff) as usize])
}

static BYTE_ONES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u32).count_ones() as u8;
        i += 1;
    }
    t
};

/// 64 addresses of a /16 (smaller subnets use a prefix of the array): two masks side by
/// side, so one cache line answers both on the hot path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct AddrWord {
    /// Held.
    used: u64,
    /// May be placed as a single address (static): not reserved by AWS, not in a
    /// reservation.
    single_ok: u64,
}

impl AddrWord {
    /// The single-address candidates: placeable and free.
    #[inline(always)]
    fn candidates(self) -> u64 {
        self.single_ok & !self.used
    }
}
/// A bit per /28 block of a /16.
type BlockBits = [u64; BLOCK_WORDS];
/// Words of a [`BlockBits`].
const BLOCK_WORDS: usize = BLOCKS / 64;

/// The address-bitmap word of offset `off` (masked: no bounds check).
#[inline(always)]
fn addr_word(off: u32) -> usize {
    (off / 64) as usize % WORDS
}

/// The block-bitmap word of block `b`.
#[inline(always)]
fn block_word(b: u32) -> usize {
    (b / 64) as usize % BLOCK_WORDS
}

/// The address-bitmap word holding block `b`'s 16 bits.
#[inline(always)]
fn lane_word(b: u32) -> usize {
    (b / 4) as usize % WORDS
}
