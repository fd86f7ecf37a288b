//! What a subnet reports: address counts, /28 block counts, the fragmentation score and the
//! block map (DESIGN.md §5).
//!
//! Block classes follow DESIGN.md §5 and the AWS Support subnet-fragmentation analyzer:
//! blocks holding an AWS-reserved address (the subnet's first and last /28) and blocks
//! assigned as prefixes are left out; of the rest a block is *free* when none of its 16
//! addresses is held or explicitly reserved, *full* when all 16 are held, *fragmented*
//! otherwise. A block touching an explicit reservation is therefore never free (no prefix can
//! land there): it counts as fragmented, or full when all 16 are held, although
//! [`Subnet::block_map`] draws it as `Reserved`.

use super::{PREFIX_SIZE, RESERVED_ADDRESSES, Subnet};

/// State of one /28 block of a subnet, for `blocks.svg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockState {
    /// None of its 16 addresses used or reserved.
    Free,
    /// Some, not all, addresses used.
    Fragmented,
    /// All 16 used by single addresses.
    Full,
    /// Assigned as a /28 prefix.
    Prefix,
    /// Holds a subnet-reserved address or lies in an explicit reservation.
    Reserved,
}

impl Subnet {
    /// Addresses that can ever be held: 2^(32−len) − 5.
    pub fn usable(&self) -> u32 {
        self.size - RESERVED_ADDRESSES
    }

    /// Addresses held: ENI primaries, secondary IPs, 16 per prefix, background tenants.
    pub fn used(&self) -> u32 {
        self.used_count
    }

    /// `usable − used` (EC2's `AvailableIpAddressCount`), reservations included.
    pub fn free(&self) -> u32 {
        self.usable() - self.used_count
    }

    /// Free addresses automatic placement may hand out singly: outside every reservation.
    pub fn free_for_single_addresses(&self) -> u32 {
        self.singles.len()
    }

    /// Free /28 blocks: the prefix candidates, in prefix reservations or not.
    pub fn free_prefix_blocks(&self) -> u32 {
        self.preferred.len() + self.general.len()
    }

    /// Free /28 blocks inside prefix reservations (taken before the general pool).
    pub fn free_reserved_prefix_blocks(&self) -> u32 {
        self.preferred.len()
    }

    /// /28 blocks assigned as prefixes.
    pub fn prefix_blocks(&self) -> u32 {
        self.prefix_count
    }

    /// Blocks all of whose 16 addresses are held singly.
    pub fn full_blocks(&self) -> u32 {
        self.full_count
    }

    /// Blocks neither free nor full nor left out (see the module docs).
    pub fn fragmented_blocks(&self) -> u32 {
        self.scored_blocks() - self.free_prefix_blocks() - self.full_count
    }

    /// Blocks the score considers: neither edge blocks nor prefixes.
    fn scored_blocks(&self) -> u32 {
        (self.size / PREFIX_SIZE).saturating_sub(2) - self.prefix_count
    }

    /// ceil(100 × (fragmented + full) / (free + fragmented + full)); 0 when no block counts.
    pub fn fragmentation_score(&self) -> u32 {
        let total = self.scored_blocks();
        if total == 0 {
            return 0;
        }
        (100 * (total - self.free_prefix_blocks())).div_ceil(total)
    }

    /// One state per /28 in address order, for `blocks.svg`: `Prefix` for assigned prefixes,
    /// `Reserved` for the edge blocks and blocks touching an explicit reservation, else
    /// `Free`, `Full` or `Fragmented` by how many of its addresses are held.
    pub fn block_map(&self) -> Vec<BlockState> {
        (0..self.size / PREFIX_SIZE)
            .map(|b| {
                let explicit = self.explicit_blocks[super::block_word(b)] >> (b % 64) & 1 == 1;
                if self.is_prefix(b) {
                    BlockState::Prefix
                } else if explicit || self.is_edge(b) {
                    BlockState::Reserved
                } else {
                    match self.lane(b) {
                        0 => BlockState::Free,
                        0xffff => BlockState::Full,
                        _ => BlockState::Fragmented,
                    }
                }
            })
            .collect()
    }
}
