//! `--subnet` parsing: an IPv4 CIDR that EC2 would accept as a subnet (/16 to /28, no host
//! bits). Private to the planners for now; the messages match `subnet::Ipv4Cidr`'s so the two
//! can be folded together.

use std::net::Ipv4Addr;

use super::SubnetSpec;

/// Parses `ADDRESS/PREFIX` into a subnet, or says (without the flag name) what is wrong.
pub(crate) fn parse_subnet(text: &str) -> Result<SubnetSpec, String> {
    let t = text.trim();
    let Some((addr, len)) = t.split_once('/') else {
        return Err(format!(
            "{t:?} is not a CIDR: write ADDRESS/PREFIX, e.g. 10.0.0.0/20"
        ));
    };
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("{t:?} is not a CIDR: {addr:?} is not an IPv4 address"))?;
    let len: u8 = match len.parse() {
        Ok(n) if n <= 32 && !len.starts_with('+') => n,
        _ => {
            return Err(format!(
                "{t:?} is not a CIDR: the prefix length must be 0 to 32"
            ));
        }
    };
    if !(16..=28).contains(&len) {
        return Err(format!("{t} is a /{len}: EC2 subnets are /16 to /28"));
    }
    let bits = u32::from(addr);
    let mask = u32::MAX << (32 - u32::from(len));
    if bits & !mask != 0 {
        let base = Ipv4Addr::from(bits & mask);
        return Err(format!(
            "{t} is not a subnet: host bits are set; did you mean {base}/{len}?"
        ));
    }
    Ok(SubnetSpec {
        cidr: format!("{addr}/{len}"),
        prefix_len: len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_subnets_16_to_28() {
        let s = parse_subnet("10.0.0.0/23").unwrap();
        assert_eq!((s.cidr.as_str(), s.prefix_len), ("10.0.0.0/23", 23));
        assert_eq!((s.size(), s.usable()), (512, 507));
        assert_eq!(parse_subnet(" 10.1.0.0/16 ").unwrap().usable(), 65_531);
        assert_eq!(parse_subnet("192.168.7.240/28").unwrap().usable(), 11);
        assert_eq!(parse_subnet("10.0.0.0/24").unwrap().usable(), 251);
    }

    #[test]
    fn says_what_is_wrong() {
        let e = |s: &str| parse_subnet(s).unwrap_err();
        assert_eq!(
            e("10.0.0.1/20"),
            "10.0.0.1/20 is not a subnet: host bits are set; did you mean 10.0.0.0/20?"
        );
        assert_eq!(
            e("10.0.0.0/29"),
            "10.0.0.0/29 is a /29: EC2 subnets are /16 to /28"
        );
        assert_eq!(
            e("10.0.0.0/8"),
            "10.0.0.0/8 is a /8: EC2 subnets are /16 to /28"
        );
        assert!(e("10.0.0.0").contains("ADDRESS/PREFIX"));
        assert!(e("10.0.0/20").contains("not an IPv4 address"));
        assert!(e("10.0.0.0/33").contains("0 to 32"));
        assert!(e("10.0.0.0/x").contains("0 to 32"));
        assert!(e("10.0.0.0/+20").contains("0 to 32"));
    }
}
