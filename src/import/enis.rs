//! `aws ec2 describe-network-interfaces` (spec/real-inputs.md §4): the raw interfaces. Which
//! class each one is (node ENI, unmanaged attachment, leaked, background) is decided in
//! `snapshot.rs`, once the nodes are known.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ImportError, Tag, from_item, parse_ipv4, tag};
use crate::subnet::Ipv4Cidr;

/// One network interface of the export (IPv4 only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedEni {
    /// `NetworkInterfaceId`.
    pub id: String,
    /// `SubnetId`.
    pub subnet: String,
    /// `InterfaceType` (`interface`, `efa`, `trunk`, `nat_gateway`, …).
    pub interface_type: String,
    /// `Status` (`in-use`, `available`, …).
    pub status: String,
    /// `Description`.
    pub description: String,
    /// `PrivateIpAddress`.
    pub primary: u32,
    /// The other entries of `PrivateIpAddresses`, in file order.
    pub secondaries: Vec<u32>,
    /// `Ipv4Prefixes`, first addresses (checked /28 later).
    pub prefixes: Vec<Ipv4Cidr>,
    /// `Attachment`, if any.
    pub attachment: Option<Attachment>,
    /// `TagSet`.
    pub tags: Vec<(String, String)>,
}

/// `Attachment`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// `InstanceId` (absent for service-owned attachments).
    pub instance: Option<String>,
    /// `DeviceIndex`.
    pub device_index: u32,
    /// `NetworkCardIndex` (absent = 0).
    pub card: u32,
    /// `Status`.
    pub status: String,
}

impl ExportedEni {
    /// The tag `key`'s value.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Primary + secondaries + prefixes: the slots `ipv4_per_eni` limits.
    pub fn slots(&self) -> u32 {
        1 + (self.secondaries.len() + self.prefixes.len()) as u32
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Raw {
    network_interface_id: String,
    #[serde(default)]
    subnet_id: String,
    #[serde(default)]
    interface_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    private_ip_address: Option<String>,
    #[serde(default)]
    private_ip_addresses: Vec<RawAddress>,
    #[serde(default)]
    ipv4_prefixes: Option<Vec<RawPrefix>>,
    #[serde(default)]
    attachment: Option<RawAttachment>,
    #[serde(default)]
    tag_set: Option<Vec<Tag>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAddress {
    private_ip_address: String,
    #[serde(default)]
    primary: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawPrefix {
    ipv4_prefix: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAttachment {
    #[serde(default)]
    instance_id: Option<String>,
    #[serde(default)]
    device_index: u32,
    #[serde(default)]
    network_card_index: u32,
    #[serde(default)]
    status: Option<String>,
}

/// The interfaces of one file, in file order.
pub fn read(obj: &Map<String, Value>, file: &str) -> Result<Vec<ExportedEni>, ImportError> {
    let list = obj.get("NetworkInterfaces").and_then(Value::as_array);
    let mut out = Vec::new();
    for (i, item) in list.into_iter().flatten().enumerate() {
        let r: Raw = from_item(item, file, &format!("NetworkInterfaces[{i}]"))?;
        let bad = |message: String| ImportError::Invalid {
            file: file.to_string(),
            message: format!("{}: {message}", r.network_interface_id),
        };
        let Some(primary_text) = &r.private_ip_address else {
            return Err(bad("no PrivateIpAddress (IPv6-only interfaces are not modelled; export the IPv4 subnets)".into()));
        };
        let primary = parse_ipv4(primary_text).ok_or_else(|| {
            bad(format!(
                "PrivateIpAddress {primary_text:?} is not an IPv4 address"
            ))
        })?;
        let primaries: Vec<&RawAddress> = r
            .private_ip_addresses
            .iter()
            .filter(|a| a.primary)
            .collect();
        let listed_primary = match primaries.as_slice() {
            [] if r.private_ip_addresses.is_empty() => Some(primary),
            [one] => parse_ipv4(&one.private_ip_address),
            _ => None,
        };
        if listed_primary != Some(primary) {
            return Err(bad(format!(
                "PrivateIpAddress {primary_text} is not the one PrivateIpAddresses entry with Primary: true"
            )));
        }
        let mut secondaries = Vec::new();
        for a in r.private_ip_addresses.iter().filter(|a| !a.primary) {
            secondaries.push(parse_ipv4(&a.private_ip_address).ok_or_else(|| {
                bad(format!("{:?} is not an IPv4 address", a.private_ip_address))
            })?);
        }
        let mut prefixes = Vec::new();
        for p in r.ipv4_prefixes.iter().flatten() {
            prefixes.push(
                Ipv4Cidr::parse_block(&p.ipv4_prefix)
                    .map_err(|e| bad(format!("Ipv4Prefix {}: {e}", p.ipv4_prefix)))?,
            );
        }
        out.push(ExportedEni {
            tags: r
                .tag_set
                .iter()
                .flatten()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
            id: r.network_interface_id,
            subnet: r.subnet_id,
            interface_type: r.interface_type.unwrap_or_else(|| "interface".into()),
            status: r.status.unwrap_or_default(),
            description: r.description.unwrap_or_default(),
            primary,
            secondaries,
            prefixes,
            attachment: r.attachment.map(|a| Attachment {
                instance: a.instance_id,
                device_index: a.device_index,
                card: a.network_card_index,
                status: a.status.unwrap_or_default(),
            }),
        });
    }
    let _ = tag; // tags are kept whole here
    Ok(out)
}
