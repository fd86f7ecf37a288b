//! Why a subnet, a CIDR, a reservation or a background load was rejected.

/// A bad subnet definition. Messages name the subnet and say what to write instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubnetError {
    /// Not an IPv4 CIDR at all.
    #[error("invalid CIDR {text:?}: {why} (write an IPv4 CIDR such as \"10.0.0.0/20\")")]
    CidrSyntax {
        /// The text as written.
        text: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Bits set past the prefix length (`10.0.0.1/20`).
    #[error("{text} is not {what}: host bits are set; did you mean {suggestion}?")]
    HostBitsSet {
        /// The text as written.
        text: String,
        /// `"a subnet"` or `"a CIDR block"`.
        what: &'static str,
        /// The network the text probably meant.
        suggestion: String,
    },
    /// A subnet longer than /28.
    #[error("{cidr}: a /{len} is too small: EC2 subnets are /16 to /28")]
    SubnetTooSmall {
        /// The CIDR.
        cidr: String,
        /// Its prefix length.
        len: u8,
    },
    /// A subnet shorter than /16.
    #[error("{cidr}: a /{len} is too large: EC2 subnets are /16 to /28")]
    SubnetTooLarge {
        /// The CIDR.
        cidr: String,
        /// Its prefix length.
        len: u8,
    },
    /// A reservation that is not wholly inside its subnet.
    #[error(
        "subnet {subnet:?} ({cidr}): reservation {reservation} is not inside the subnet (a subnet CIDR reservation must lie within {cidr})"
    )]
    ReservationOutside {
        /// Subnet name.
        subnet: String,
        /// Subnet CIDR.
        cidr: String,
        /// The reservation's CIDR.
        reservation: String,
    },
    /// Two reservations of one subnet share addresses.
    #[error(
        "subnet {subnet:?}: reservations {first} and {second} overlap (subnet CIDR reservations must not overlap; merge or shrink them)"
    )]
    ReservationOverlap {
        /// Subnet name.
        subnet: String,
        /// The reservation already in place.
        first: String,
        /// The one that overlaps it.
        second: String,
    },
    /// More background addresses than the subnet has room for.
    #[error(
        "subnet {subnet:?} ({cidr}): background = {{ addresses = {requested} }} does not fit: only {available} addresses can be placed (usable addresses outside reservations); lower `addresses` or widen the subnet"
    )]
    BackgroundTooLarge {
        /// Subnet name.
        subnet: String,
        /// Subnet CIDR.
        cidr: String,
        /// `background.addresses`.
        requested: u32,
        /// Single-address candidates after reservations.
        available: u32,
    },
    /// A CIDR written for a subnet (its own, or a reservation's) is bad; the inner error
    /// says how.
    #[error("subnet {subnet:?}: {error}")]
    InSubnet {
        /// Subnet name.
        subnet: String,
        /// What is wrong with the CIDR.
        error: Box<SubnetError>,
    },
}
