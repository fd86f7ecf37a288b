//! (to be written)

/// A subnet's address space (placeholder until the allocator lands).
#[derive(Debug)]
pub struct Subnet;
