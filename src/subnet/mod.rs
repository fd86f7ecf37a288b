//! A VPC subnet's address space (allocator to be written; the `[subnet]` schema is fixed).

pub mod config;

pub use config::{Background, Placement, ReservationConfig, ReservationKind, SubnetConfig};

/// A subnet's address space (placeholder until the allocator lands).
#[derive(Debug)]
pub struct Subnet;
