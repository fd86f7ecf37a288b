//! Instance types: per-type ENI and IPv4 limits, embedded from `data/instance-types.csv`.
//!
//! The table is upstream ipamd's own (`pkg/vpc/vpc_ip_resource_limit.go` in
//! aws/amazon-vpc-cni-k8s, see `data/instance-types.SOURCE.txt`): `max_enis` is `ENILimit`
//! (interfaces on the default network card) and `ipv4_per_eni` is `IPv4Limit` (addresses per
//! ENI, the ENI's primary address included). It is parsed once, on first use.

use std::sync::OnceLock;

/// The embedded CSV, exactly as shipped in `data/instance-types.csv`.
pub const INSTANCE_TYPES_CSV: &str = include_str!("../data/instance-types.csv");

/// Hypervisor of an instance type, as the table names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hypervisor {
    /// AWS Nitro: prefix delegation is supported.
    Nitro,
    /// Xen (previous generations): no prefix delegation.
    Xen,
    /// Bare metal and a few others: ipamd treats them as not Nitro for the max-pods formula.
    Unknown,
}

impl Hypervisor {
    /// The name as written in the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Hypervisor::Nitro => "nitro",
            Hypervisor::Xen => "xen",
            Hypervisor::Unknown => "unknown",
        }
    }
}

/// One row of the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceType {
    /// EC2 name, e.g. `m5.large`.
    pub name: String,
    /// `ENILimit`: ENIs on the default network card.
    pub max_enis: u32,
    /// `IPv4Limit`: IPv4 addresses per ENI, primary included.
    pub ipv4_per_eni: u32,
    /// Hypervisor.
    pub hypervisor: Hypervisor,
    /// Bare-metal type.
    pub bare_metal: bool,
    /// Number of network cards.
    pub network_cards: u32,
    /// Index of the default network card.
    pub default_network_card_index: u32,
    /// vCPUs, where known (14 types have none in the sources).
    pub vcpus: Option<u32>,
}

/// An instance-type lookup that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// No such type in the table.
    #[error("unknown instance type {name:?}{}", suggest(.suggestions))]
    UnknownType {
        /// The name asked for.
        name: String,
        /// Close known names, best first.
        suggestions: Vec<String>,
    },
}

fn suggest(s: &[String]) -> String {
    if s.is_empty() {
        " (run `ipamsim instance-types` to list the known types)".into()
    } else {
        format!("; did you mean {}?", s.join(", "))
    }
}

/// All instance types, sorted by name.
pub fn all() -> &'static [InstanceType] {
    static TABLE: OnceLock<Vec<InstanceType>> = OnceLock::new();
    TABLE.get_or_init(|| parse(INSTANCE_TYPES_CSV))
}

/// The instance type called `name` (exact match, case-insensitive), or an error naming the
/// closest known names.
pub fn lookup(name: &str) -> Result<&'static InstanceType, CatalogError> {
    let want = name.trim().to_ascii_lowercase();
    let table = all();
    match table.binary_search_by(|t| t.name.as_str().cmp(want.as_str())) {
        Ok(i) => Ok(&table[i]),
        Err(_) => Err(CatalogError::UnknownType {
            name: name.to_string(),
            suggestions: closest(&want, 3),
        }),
    }
}

/// Up to `n` known names closest to `name` (edit distance, then name order).
pub fn closest(name: &str, n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = all()
        .iter()
        .map(|t| (edit_distance(name, &t.name), t.name.as_str()))
        .collect();
    scored.sort();
    let limit = (name.len() / 2).max(2);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(n)
        .map(|(_, s)| s.to_string())
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn parse(text: &str) -> Vec<InstanceType> {
    // The file is part of the binary and checked by a unit test: a malformed row is a build
    // defect, so it panics with the row rather than being skipped silently.
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut out: Vec<InstanceType> = rdr
        .records()
        .map(|rec| {
            let r = rec.expect("embedded instance-types.csv is well-formed");
            let num = |i: usize| -> u32 {
                r[i].parse()
                    .unwrap_or_else(|_| panic!("bad number in column {i} of {:?}", r))
            };
            InstanceType {
                name: r[0].to_string(),
                max_enis: num(1),
                ipv4_per_eni: num(2),
                hypervisor: match &r[3] {
                    "nitro" => Hypervisor::Nitro,
                    "xen" => Hypervisor::Xen,
                    _ => Hypervisor::Unknown,
                },
                bare_metal: &r[4] == "true",
                network_cards: num(5),
                default_network_card_index: num(6),
                vcpus: r[7].parse().ok(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_every_row() {
        let rows = INSTANCE_TYPES_CSV.lines().count() - 1;
        assert_eq!(all().len(), rows);
        assert_eq!(rows, 1391);
    }

    #[test]
    fn spec_examples() {
        // spec/ipamd-policy.md §1 table.
        for (name, enis, ipv4) in [
            ("t3.small", 3, 4),
            ("t3.medium", 3, 6),
            ("t3.large", 3, 12),
            ("m5.large", 3, 10),
            ("c5.large", 3, 10),
            ("m5.xlarge", 4, 15),
            ("m5.2xlarge", 4, 15),
            ("m5.4xlarge", 8, 30),
            ("p3dn.24xlarge", 15, 50),
        ] {
            let t = lookup(name).unwrap();
            assert_eq!((t.max_enis, t.ipv4_per_eni), (enis, ipv4), "{name}");
        }
        assert_eq!(lookup("M5.Large").unwrap().name, "m5.large");
    }

    #[test]
    fn unknown_type_suggests_close_names() {
        let err = lookup("m5.lrage").unwrap_err();
        let CatalogError::UnknownType { suggestions, .. } = &err;
        assert_eq!(suggestions.first().map(String::as_str), Some("m5.large"));
        assert!(err.to_string().contains("did you mean m5.large"));
    }
}
