//! The workbook's own lookup tables, embedded from `data/subnet-calc-lookup.csv` (a copy of
//! `../shared/data/subnet-calc-lookup.csv`; see `data/subnet-calc-lookup.SOURCE.txt`).
//!
//! `calc --spreadsheet` is parity mode: every row looks its type up here, as the workbook's
//! `VLOOKUP`s look it up in its `maxENI` sheet (MaxENI, IPv4addr) and `maxPods` sheet, not in
//! ipamd's table ([`crate::catalog`]). So the 13 types the workbook knows and ipamd's table
//! does not (g2, g3, p2, cc2.8xlarge, i3.metal, u-9tb1/u-12tb1.112xlarge) work there, and a
//! type missing from `maxENI` — a row the workbook shows as `#N/A` — is an error that says so
//! (spec/subnet-calc-workbook.md, "Sheets and inputs").
//!
//! The entries are [`InstanceType`]s so the calculators share one row type; only `name`,
//! `max_enis` and `ipv4_per_eni` come from the workbook. The rest are placeholders no
//! workbook formula reads (hypervisor `Unknown`, no vCPU count, one network card).

use std::sync::OnceLock;

use crate::catalog::{Hypervisor, InstanceType};

/// The embedded CSV: `instance_type,max_enis,ipv4_per_eni,max_pods`.
pub const SUBNET_CALC_LOOKUP_CSV: &str = include_str!("../../data/subnet-calc-lookup.csv");

/// One type of the workbook's `maxENI` sheet, with its `maxPods` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkbookType {
    /// Name, MaxENI and IPv4addr as the `maxENI` sheet has them.
    pub instance_type: InstanceType,
    /// The `maxPods` sheet's value; `None` where that sheet has no row (`#N/A`).
    pub max_pods: Option<u32>,
}

#[derive(Debug, serde::Deserialize)]
struct Line {
    instance_type: String,
    max_enis: u32,
    ipv4_per_eni: u32,
    max_pods: Option<u32>,
}

/// Every type of the `maxENI` sheet, sorted by name.
pub fn all() -> &'static [WorkbookType] {
    static TABLE: OnceLock<Vec<WorkbookType>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rdr = csv::Reader::from_reader(SUBNET_CALC_LOOKUP_CSV.as_bytes());
        let mut v: Vec<WorkbookType> = rdr
            .deserialize::<Line>()
            .map(|l| {
                let l = l.expect("the embedded lookup table is well-formed (tested)");
                WorkbookType {
                    instance_type: InstanceType {
                        name: l.instance_type.to_ascii_lowercase(),
                        max_enis: l.max_enis,
                        ipv4_per_eni: l.ipv4_per_eni,
                        hypervisor: Hypervisor::Unknown,
                        bare_metal: false,
                        network_cards: 1,
                        default_network_card_index: 0,
                        vcpus: None,
                    },
                    max_pods: l.max_pods,
                }
            })
            .collect();
        v.sort_by(|a, b| a.instance_type.name.cmp(&b.instance_type.name));
        v
    })
}

/// The workbook's entry for `name` (case-insensitive), or `None` where its rows show `#N/A`.
pub fn lookup(name: &str) -> Option<&'static WorkbookType> {
    let want = name.trim().to_ascii_lowercase();
    let t = all();
    t.binary_search_by(|w| w.instance_type.name.as_str().cmp(&want))
        .ok()
        .map(|i| &t[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    #[test]
    fn the_table_is_the_workbooks() {
        assert_eq!(all().len(), 497);
        let m5 = lookup("M5.large").unwrap();
        assert_eq!(
            (m5.instance_type.max_enis, m5.instance_type.ipv4_per_eni),
            (3, 10)
        );
        assert_eq!(m5.max_pods, Some(29));
        assert_eq!(all().iter().filter(|w| w.max_pods.is_none()).count(), 12);
        let names: Vec<&str> = all()
            .iter()
            .map(|w| w.instance_type.name.as_str())
            .collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "unique and sorted");
    }

    #[test]
    fn it_knows_thirteen_types_ipamds_table_lacks() {
        let only_here: Vec<&str> = all()
            .iter()
            .map(|w| w.instance_type.name.as_str())
            .filter(|n| catalog::lookup(n).is_err())
            .collect();
        assert_eq!(
            only_here,
            [
                "cc2.8xlarge",
                "g2.2xlarge",
                "g2.8xlarge",
                "g3.16xlarge",
                "g3.4xlarge",
                "g3.8xlarge",
                "g3s.xlarge",
                "i3.metal",
                "p2.16xlarge",
                "p2.8xlarge",
                "p2.xlarge",
                "u-12tb1.112xlarge",
                "u-9tb1.112xlarge",
            ]
        );
        assert_eq!(lookup("g3.4xlarge").unwrap().instance_type.ipv4_per_eni, 30);
    }
}
