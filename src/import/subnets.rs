//! `aws ec2 describe-subnets` (spec/real-inputs.md §3).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ImportError, Tag, from_item, tag};
use crate::subnet::Ipv4Cidr;

/// One subnet of the export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedSubnet {
    /// `SubnetId`.
    pub id: String,
    /// `CidrBlock`; `None` for an IPv6-only subnet.
    pub cidr: Option<Ipv4Cidr>,
    /// `VpcId`.
    pub vpc: String,
    /// `AvailabilityZone`.
    pub zone: String,
    /// `AvailableIpAddressCount`.
    pub available: Option<u32>,
    /// The `Name` tag.
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Raw {
    subnet_id: String,
    #[serde(default)]
    cidr_block: Option<String>,
    #[serde(default)]
    vpc_id: Option<String>,
    #[serde(default)]
    availability_zone: Option<String>,
    #[serde(default)]
    available_ip_address_count: Option<u32>,
    #[serde(default)]
    tags: Option<Vec<Tag>>,
}

/// The subnets of one file, in file order.
pub fn read(obj: &Map<String, Value>, file: &str) -> Result<Vec<ExportedSubnet>, ImportError> {
    let list = obj.get("Subnets").and_then(Value::as_array);
    let mut out = Vec::new();
    for (i, item) in list.into_iter().flatten().enumerate() {
        let r: Raw = from_item(item, file, &format!("Subnets[{i}]"))?;
        let cidr = match &r.cidr_block {
            None => None,
            Some(c) => Some(Ipv4Cidr::parse_subnet(c).map_err(|e| ImportError::Invalid {
                file: file.to_string(),
                message: format!("{}: CidrBlock {c}: {e}", r.subnet_id),
            })?),
        };
        out.push(ExportedSubnet {
            name: tag(r.tags.as_deref(), "Name").map(str::to_string),
            id: r.subnet_id,
            cidr,
            vpc: r.vpc_id.unwrap_or_default(),
            zone: r.availability_zone.unwrap_or_default(),
            available: r.available_ip_address_count,
        });
    }
    Ok(out)
}
