//! `--subnet` parsing: an IPv4 CIDR that EC2 would accept as a subnet (/16 to /28, no host
//! bits), by the same rules and words as the simulator's subnets ([`Ipv4Cidr`]).

use super::SubnetSpec;
use crate::subnet::Ipv4Cidr;

/// Parses `ADDRESS/PREFIX` into a subnet, or says (without the flag name) what is wrong.
pub(crate) fn parse_subnet(text: &str) -> Result<SubnetSpec, String> {
    let cidr = Ipv4Cidr::parse_subnet(text.trim()).map_err(|e| e.to_string())?;
    Ok(SubnetSpec { cidr })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_subnets_16_to_28() {
        let s = parse_subnet("10.0.0.0/23").unwrap();
        assert_eq!(
            (s.cidr.to_string(), s.prefix_len()),
            ("10.0.0.0/23".into(), 23)
        );
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
        assert!(e("10.0.0.0/29").contains("a /29 is too small: EC2 subnets are /16 to /28"));
        assert!(e("10.0.0.0/8").contains("a /8 is too large: EC2 subnets are /16 to /28"));
        for bad in [
            "10.0.0.0",
            "10.0.0/20",
            "10.0.0.0/33",
            "10.0.0.0/x",
            "10.0.0.0/+20",
        ] {
            assert!(e(bad).contains("10.0.0.0/20"), "{bad}: {}", e(bad));
        }
    }
}
