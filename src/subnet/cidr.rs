//! IPv4 CIDR blocks, validated: the project's one CIDR type.
//!
//! [`Ipv4Cidr`] is a small newtype over [`ipnet::Ipv4Net`] that holds only networks (no host
//! bits set). It serves every CIDR of the project: subnets, subnet CIDR reservations, the
//! /32 secondary IPs and /28 prefixes EC2 hands to ENIs ([`crate::ec2::Cidr`] is this type),
//! `calc --subnet` and the report's block maps. Inside the subnet bitmap addresses stay `u32`
//! offsets (the hot path); this type is the boundary.
//!
//! Its [`FromStr`](std::str::FromStr) accepts only what EC2 accepts as a *subnet* (/16 to
//! /28), so `calc --subnet` and the scenario's `[subnet] cidr` share one parser and one set
//! of messages; [`Ipv4Cidr::parse_block`] accepts any prefix length, for subnet CIDR
//! reservations (which may be as small as a /32). The parser is ours, not `ipnet`'s, for its
//! messages: which part is wrong, and the network to write when host bits are set.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::error::SubnetError;

/// Smallest prefix length (largest subnet) EC2 accepts for a subnet.
pub const MIN_SUBNET_LEN: u8 = 16;
/// Largest prefix length (smallest subnet) EC2 accepts for a subnet.
pub const MAX_SUBNET_LEN: u8 = 28;

/// A validated IPv4 CIDR block: an [`Ipv4Net`] with no host bits set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr(Ipv4Net);

impl Ipv4Cidr {
    /// The block `addr/len`, or `None` if `len > 32` or host bits are set.
    pub fn new(addr: u32, len: u8) -> Option<Ipv4Cidr> {
        let net = Ipv4Net::new(Ipv4Addr::from(addr), len).ok()?;
        (net.trunc() == net).then_some(Ipv4Cidr(net))
    }

    /// A /32 (one secondary IP) at `addr`.
    pub fn host(addr: u32) -> Ipv4Cidr {
        Ipv4Cidr(Ipv4Net::from(Ipv4Addr::from(addr)))
    }

    /// The /28 prefix holding `addr` (host bits cleared).
    pub fn prefix28(addr: u32) -> Ipv4Cidr {
        Ipv4Cidr(Ipv4Net::new_assert(Ipv4Addr::from(addr), 28).trunc())
    }

    /// Parses any CIDR block (`/0` to `/32`), e.g. a subnet CIDR reservation. A bare
    /// address is not accepted: the length must be written.
    pub fn parse_block(text: &str) -> Result<Ipv4Cidr, SubnetError> {
        parse(text, "a CIDR block")
    }

    /// Parses an EC2 subnet CIDR: a block of length /16 to /28. Same as `text.parse()`.
    pub fn parse_subnet(text: &str) -> Result<Ipv4Cidr, SubnetError> {
        let cidr = parse(text, "a subnet")?;
        let len = cidr.prefix_len();
        if len > MAX_SUBNET_LEN {
            return Err(SubnetError::SubnetTooSmall {
                cidr: cidr.to_string(),
                len,
            });
        }
        if len < MIN_SUBNET_LEN {
            return Err(SubnetError::SubnetTooLarge {
                cidr: cidr.to_string(),
                len,
            });
        }
        Ok(cidr)
    }

    /// The `ipnet` network.
    pub fn net(self) -> Ipv4Net {
        self.0
    }

    /// The first address, as a `u32` (10.0.0.16 = `0x0a00_0010`).
    pub fn addr(self) -> u32 {
        u32::from(self.0.network())
    }

    /// The prefix length.
    pub fn prefix_len(self) -> u8 {
        self.0.prefix_len()
    }

    /// The number of addresses, `2^(32 − len)`.
    pub fn size(self) -> u64 {
        1u64 << (32 - u32::from(self.prefix_len()))
    }

    /// The number of addresses of a block no larger than a /1 (an ENI's /32 or /28, a
    /// subnet), as a `u32`.
    pub fn size_u32(self) -> u32 {
        u32::try_from(self.size()).unwrap_or(u32::MAX)
    }

    /// The last address.
    pub fn last(self) -> u32 {
        u32::from(self.0.broadcast())
    }

    /// Whether `addr` lies in this block.
    pub fn contains(self, addr: u32) -> bool {
        self.0.contains(&Ipv4Addr::from(addr))
    }

    /// Whether `other` lies wholly inside this block.
    pub fn covers(self, other: Ipv4Cidr) -> bool {
        self.0.contains(&other.0)
    }

    /// Whether the two blocks share an address (for CIDR blocks: one covers the other).
    pub fn overlaps(self, other: Ipv4Cidr) -> bool {
        self.covers(other) || other.covers(self)
    }
}

fn parse(text: &str, what: &'static str) -> Result<Ipv4Cidr, SubnetError> {
    let t = text.trim();
    let syntax = |why: &'static str| SubnetError::CidrSyntax {
        text: text.to_string(),
        why,
    };
    let (ip, len) = t
        .split_once('/')
        .ok_or_else(|| syntax("the prefix length is missing"))?;
    let ip: Ipv4Addr = ip
        .parse()
        .map_err(|_| syntax("the address is not four dot-separated numbers 0-255"))?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax("the prefix length is not a number"));
    }
    let net = len
        .parse()
        .ok()
        .and_then(|len| Ipv4Net::new(ip, len).ok())
        .ok_or_else(|| syntax("the prefix length is larger than 32"))?;
    if net.trunc() != net {
        return Err(SubnetError::HostBitsSet {
            text: t.to_string(),
            what,
            suggestion: net.trunc().to_string(),
        });
    }
    Ok(Ipv4Cidr(net))
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for Ipv4Cidr {
    type Err = SubnetError;

    /// Parses an EC2 subnet CIDR (/16 to /28); see [`Ipv4Cidr::parse_block`] for any block.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ipv4Cidr::parse_subnet(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_subnets() {
        let c: Ipv4Cidr = "10.0.0.0/20".parse().unwrap();
        assert_eq!(
            (c.addr(), c.prefix_len(), c.size()),
            (0x0a00_0000, 20, 4096)
        );
        assert_eq!(c.last(), 0x0a00_0fff);
        assert_eq!(c.to_string(), "10.0.0.0/20");
        assert_eq!(" 192.168.1.0/24 ".parse::<Ipv4Cidr>().unwrap().size(), 256);
        for len in 16..=28 {
            let text = format!("10.0.0.0/{len}");
            assert_eq!(text.parse::<Ipv4Cidr>().unwrap().prefix_len(), len);
        }
    }

    #[test]
    fn host_bits_suggest_the_network() {
        let e = "10.0.0.1/20".parse::<Ipv4Cidr>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "10.0.0.1/20 is not a subnet: host bits are set; did you mean 10.0.0.0/20?"
        );
        let e = Ipv4Cidr::parse_block("10.0.8.4/21").unwrap_err();
        assert_eq!(
            e.to_string(),
            "10.0.8.4/21 is not a CIDR block: host bits are set; did you mean 10.0.8.0/21?"
        );
    }

    #[test]
    fn subnet_length_limits() {
        let e = "10.0.0.0/29".parse::<Ipv4Cidr>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "10.0.0.0/29: a /29 is too small: EC2 subnets are /16 to /28"
        );
        let e = "10.0.0.0/12".parse::<Ipv4Cidr>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "10.0.0.0/12: a /12 is too large: EC2 subnets are /16 to /28"
        );
        assert!(matches!(
            "10.0.0.0/32".parse::<Ipv4Cidr>(),
            Err(SubnetError::SubnetTooSmall { len: 32, .. })
        ));
        // Any length is a valid reservation block.
        assert_eq!(Ipv4Cidr::parse_block("10.0.0.7/32").unwrap().size(), 1);
        assert_eq!(Ipv4Cidr::parse_block("0.0.0.0/0").unwrap().size(), 1 << 32);
    }

    #[test]
    fn garbage_is_a_syntax_error() {
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0/20",
            "10.0.0.256/24",
            "10.0.0.0/",
            "10.0.0.0/x",
            "10.0.0.0/-1",
            "10.0.0.0/33",
            "10.0.0.0/99999999999",
            "ten/8",
            "10.0.0.0/20/3",
        ] {
            match bad.parse::<Ipv4Cidr>() {
                Err(SubnetError::CidrSyntax { text, .. }) => assert_eq!(text, bad),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        let e = "10.0.0.0".parse::<Ipv4Cidr>().unwrap_err().to_string();
        assert!(e.contains("prefix length is missing"), "{e}");
        assert!(e.contains("\"10.0.0.0/20\""), "{e}");
    }

    #[test]
    fn containment_and_overlap() {
        let s = Ipv4Cidr::parse_block("10.0.0.0/20").unwrap();
        let r = Ipv4Cidr::parse_block("10.0.8.0/21").unwrap();
        let outside = Ipv4Cidr::parse_block("10.0.16.0/28").unwrap();
        assert!(s.covers(r) && !r.covers(s));
        assert!(s.overlaps(r) && r.overlaps(s));
        assert!(!s.overlaps(outside) && !s.covers(outside));
        assert!(s.contains(0x0a00_0fff) && !s.contains(0x0a00_1000));
        assert_eq!(Ipv4Cidr::new(0x0a00_0001, 24), None);
        assert_eq!(Ipv4Cidr::new(0x0a00_0000, 33), None);
        assert_eq!(Ipv4Cidr::host(0x0a00_0007).to_string(), "10.0.0.7/32");
        assert_eq!(Ipv4Cidr::new(0x0a00_0010, 28).unwrap().size_u32(), 16);
        assert_eq!(
            Ipv4Cidr::new(0x0a00_0010, 28).unwrap().net(),
            "10.0.0.16/28".parse::<ipnet::Ipv4Net>().unwrap()
        );
    }
}
