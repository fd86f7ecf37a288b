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
    /// Every tag (`Tags[].{Key,Value}`), in file order; subnet discovery reads
    /// `kubernetes.io/role/cni` ([`crate::subnet::CNI_ROLE_TAG`]).
    pub tags: Vec<(String, String)>,
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
        let what = format!("Subnets[{i}] ({})", r.subnet_id);
        let zone = match r.availability_zone {
            None => String::new(),
            Some(z) => check_zone(&z)
                .map(|()| z)
                .map_err(|m| ImportError::Invalid {
                    file: file.to_string(),
                    message: format!("{what}: AvailabilityZone {m}"),
                })?,
        };
        let tags = check_tags(r.tags.as_deref().unwrap_or_default()).map_err(|m| {
            ImportError::Invalid {
                file: file.to_string(),
                message: format!(
                    "{what}: {m}; export with `aws ec2 describe-subnets --output json`"
                ),
            }
        })?;
        out.push(ExportedSubnet {
            name: tag(r.tags.as_deref(), "Name").map(str::to_string),
            id: r.subnet_id,
            cidr,
            vpc: r.vpc_id.unwrap_or_default(),
            zone,
            available: r.available_ip_address_count,
            tags,
        });
    }
    Ok(out)
}

/// A zone name as EC2 writes it (`us-west-2a`, `us-west-2-lax-1a`): one line, not empty.
/// A subnet without the field is alone in a zone of its own, as a scenario subnet without
/// `availability_zone` is.
fn check_zone(zone: &str) -> Result<(), String> {
    if zone.trim().is_empty() {
        return Err("is empty; export with `aws ec2 describe-subnets --output json`".into());
    }
    if zone.chars().any(char::is_control) || zone.len() > 64 {
        return Err(format!(
            "{zone:?} is not a zone name (a control character, or over 64 bytes)"
        ));
    }
    Ok(())
}

/// The tags in file order, checked as EC2 holds them (`CreateTags`): a key is 1–128
/// characters and appears once per resource, a value 0–256; neither holds a line break.
fn check_tags(tags: &[Tag]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(tags.len());
    for (j, t) in tags.iter().enumerate() {
        let (k, v) = (&t.key, &t.value);
        if k.is_empty() || k.chars().count() > 128 || k.chars().any(char::is_control) {
            return Err(format!(
                "Tags[{j}]: key {k:?} is empty, over 128 characters or has a control character"
            ));
        }
        if v.chars().count() > 256 || v.chars().any(char::is_control) {
            return Err(format!(
                "Tags[{j}]: {k:?} = {v:?} is over 256 characters or has a control character"
            ));
        }
        if out.iter().any(|(seen, _)| seen == k) {
            return Err(format!("Tags[{j}]: tag {k:?} is given twice"));
        }
        out.push((k.clone(), v.clone()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(subnet: &str) -> Result<Vec<ExportedSubnet>, String> {
        let text = format!(r#"{{"Subnets": [{subnet}]}}"#);
        let obj: Map<String, Value> = serde_json::from_str(&text).unwrap();
        read(&obj, "subnets.json").map_err(|e| e.to_string())
    }

    const ID: &str = r#""SubnetId": "subnet-1", "CidrBlock": "10.0.0.0/24", "VpcId": "vpc-1""#;

    #[test]
    fn the_zone_and_every_tag_are_read_in_file_order() {
        let s = parse(&format!(
            r#"{{{ID}, "AvailabilityZone": "us-west-2a", "Tags": [
                {{"Key": "kubernetes.io/role/cni", "Value": "1"}},
                {{"Key": "Name", "Value": "pods-2a"}},
                {{"Key": "aws:cloudformation:stack-name", "Value": ""}}]}}"#
        ))
        .unwrap();
        assert_eq!(s[0].zone, "us-west-2a");
        assert_eq!(s[0].name.as_deref(), Some("pods-2a"));
        let tags: Vec<(&str, &str)> = s[0]
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            tags,
            [
                ("kubernetes.io/role/cni", "1"),
                ("Name", "pods-2a"),
                ("aws:cloudformation:stack-name", "")
            ]
        );
        // Neither field: no zone (alone in one of its own), no tags.
        let s = parse(&format!("{{{ID}}}")).unwrap();
        assert_eq!((s[0].zone.as_str(), s[0].tags.len()), ("", 0));
    }

    #[test]
    fn a_bad_zone_or_tag_names_the_file_the_subnet_and_the_tag() {
        let err = |extra: &str| parse(&format!("{{{ID}, {extra}}}")).unwrap_err();
        let e = err(r#""AvailabilityZone": " ""#);
        assert_eq!(
            e,
            "subnets.json: Subnets[0] (subnet-1): AvailabilityZone is empty; export with `aws ec2 describe-subnets --output json`"
        );
        assert!(err(r#""AvailabilityZone": "us-west-2a\n""#).contains("not a zone name"));
        let e = err(r#""Tags": [{"Key": "a", "Value": "1"}, {"Value": "1"}]"#);
        assert!(
            e.starts_with("subnets.json: Subnets[0] (subnet-1): Tags[1]: key \"\" is empty"),
            "{e}"
        );
        let e = err(r#""Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]"#);
        assert!(e.contains("Tags[1]: tag \"a\" is given twice"), "{e}");
        let e = err(r#""Tags": [{"Key": "a", "Value": "x\ty"}]"#);
        assert!(e.contains("Tags[0]: \"a\" = \"x\\ty\""), "{e}");
        let long = "k".repeat(129);
        assert!(
            err(&format!(r#""Tags": [{{"Key": "{long}", "Value": ""}}]"#)).contains("over 128")
        );
        let e = err(r#""Tags": [{"Key": 5, "Value": "1"}]"#);
        assert!(e.starts_with("subnets.json: Subnets[0]: "), "{e}");
    }
}
