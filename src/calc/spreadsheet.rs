//! The EKS best-practices subnet-calculator workbook, exactly, quirks included.
//!
//! The workbook (`latest/bpg/networking/subnet-calc/subnet-calc.xlsx` in
//! aws/aws-eks-best-practices) has two sheets, one per warm-pool mode, and the same inputs on
//! both: the subnet's prefix length, a target, and rows of instance type, node count and
//! workload pods per node. With `k` the type's IPv4 addresses per ENI (its primary included),
//! `p` the pods per node, `n` the nodes and `h` the host-network addresses per node (2):
//!
//! * subnet IPs = 2^(32−prefix) − 2 (it reserves network and broadcast only; EC2 reserves 5);
//! * **WarmENI** sheet, target `W`: per node (⌈p/k⌉ + W)·k + h — every ENI, the warm ones
//!   included, is counted full, and an ENI is taken to give pods all `k` of its addresses;
//! * **WarmIP** sheet, target `T`: per node ⌈p/k⌉·k + h — still whole ENIs, and this hidden
//!   column is what the totals add up. The visible columns differ: "Warm ENIs Needed" is 1
//!   when the spare addresses on the in-use ENIs (⌈p/k⌉·k − p) are fewer than `T`, else 0;
//!   "in use ENIs" = ⌈p/k⌉ + that; "Used IPs" = in-use ENIs × k, without `h`. Both are
//!   reported as the workbook shows them ([`WorkbookRow::used_ips_shown`]);
//! * used = Σ per node × n, pods = Σ p·n, remaining = subnet IPs − used (negative when the
//!   rows do not fit). ENIs are not capped at the type's limit.
//!
//! Its shipped example (/23, target 1, m5.12xlarge ×2 @100 + c5.2xlarge ×1 @30) gives 510
//! subnet IPs, 351 used, 230 pods, 159 remaining on WarmENI and 510, 276, 230, 234 on WarmIP;
//! the tests below check both.

use serde::Serialize;

use super::{InstanceRow, SubnetSpec};

/// A sheet of the workbook and its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sheet {
    /// The WarmENI sheet, `WARM_ENI_TARGET`.
    WarmEni(u32),
    /// The WarmIP sheet, `WARM_IP_TARGET` (informational only).
    WarmIp(u32),
}

impl Sheet {
    /// The sheet's name in the workbook.
    pub fn name(self) -> &'static str {
        match self {
            Sheet::WarmEni(_) => "WarmENI",
            Sheet::WarmIp(_) => "WarmIP",
        }
    }
}

/// One row of a sheet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkbookRow {
    /// Instance type.
    pub instance_type: String,
    /// Nodes.
    pub count: u32,
    /// Workload pods per node.
    pub pods_per_node: u32,
    /// `k`: IPv4 addresses per ENI, primary included.
    pub ipv4_per_eni: u32,
    /// The workbook's MaxENI (its `maxENI` sheet; not capping anything).
    pub max_enis: u32,
    /// The workbook's max pods (its `maxPods` sheet); `None` is the `#N/A` it shows where
    /// that sheet has no row (no total depends on it).
    pub max_pods: Option<u32>,
    /// Max IPv4 addresses: MaxENI × k.
    pub max_ipv4: u64,
    /// ENIs holding pods, ⌈p/k⌉.
    pub active_enis: u64,
    /// Warm ENIs per node as the sheet shows them: `W` on WarmENI; on WarmIP its "Warm ENIs
    /// Needed", 1 when ⌈p/k⌉·k − p < `T`, else 0 (not in the totals).
    pub warm_enis: u64,
    /// Warm IPs per node: `W·k` on WarmENI, `T` on WarmIP (informational).
    pub warm_ips: u64,
    /// ENIs per node as the sheet shows them ("in use ENIs"): active + warm.
    pub enis_per_node: u64,
    /// Subnet IPs per node, the column the totals add: (active + `W`) × k + h on WarmENI,
    /// active × k + h on WarmIP (the sheet's hidden column).
    pub ips_per_node: u64,
    /// The visible "Used IPs" column: the same as `ips_per_node` on WarmENI; on WarmIP
    /// `enis_per_node` × k, without the host-network IPs.
    pub used_ips_shown: u64,
    /// Subnet IPs for all nodes of the row.
    pub ips_total: u64,
}

/// A sheet, filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Workbook {
    /// Always `"spreadsheet"`.
    pub calculator: &'static str,
    /// `"WarmENI"` or `"WarmIP"`.
    pub sheet: &'static str,
    /// `W` on the WarmENI sheet.
    pub warm_eni_target: Option<u32>,
    /// `T` on the WarmIP sheet.
    pub warm_ip_target: Option<u32>,
    /// Host-network IPs per node, `h`.
    pub host_network_ips: u32,
    /// The subnet.
    pub subnet: String,
    /// 2^(32−prefix) − 2.
    pub subnet_ips: u64,
    /// Σ IPs per node × nodes.
    pub ips_used: u64,
    /// Σ pods per node × nodes.
    pub pods: u64,
    /// subnet_ips − ips_used; negative when the rows do not fit.
    pub ips_remaining: i64,
    /// The rows, in input order.
    pub rows: Vec<WorkbookRow>,
}

/// Fills in a sheet for these rows.
pub fn workbook(
    subnet: &SubnetSpec,
    sheet: Sheet,
    host_ips: u32,
    rows: &[InstanceRow],
) -> Workbook {
    let h = u64::from(host_ips);
    let rows: Vec<WorkbookRow> = rows
        .iter()
        .map(|r| {
            let book = super::lookup::lookup(&r.instance_type.name);
            let t = book.map_or(r.instance_type, |b| &b.instance_type);
            let k = u64::from(t.ipv4_per_eni);
            let p = u64::from(r.pods_per_node);
            let active = p.div_ceil(k);
            let (warm_enis, warm_ips, per_node) = match sheet {
                Sheet::WarmEni(w) => {
                    let w = u64::from(w);
                    (w, w * k, (active + w) * k + h)
                }
                Sheet::WarmIp(t) => {
                    let t = u64::from(t);
                    (u64::from(active * k - p < t), t, active * k + h)
                }
            };
            let enis = active + warm_enis;
            let used_ips_shown = match sheet {
                Sheet::WarmEni(_) => per_node,
                Sheet::WarmIp(_) => enis * k,
            };
            WorkbookRow {
                instance_type: r.instance_type.name.clone(),
                count: r.count,
                pods_per_node: r.pods_per_node,
                ipv4_per_eni: t.ipv4_per_eni,
                max_enis: t.max_enis,
                max_pods: book.and_then(|b| b.max_pods),
                max_ipv4: u64::from(t.max_enis) * k,
                active_enis: active,
                warm_enis,
                warm_ips,
                enis_per_node: enis,
                ips_per_node: per_node,
                used_ips_shown,
                ips_total: per_node * u64::from(r.count),
            }
        })
        .collect();
    let subnet_ips = subnet.size() - 2;
    let ips_used: u64 = rows.iter().map(|r| r.ips_total).sum();
    let pods = rows
        .iter()
        .map(|r| u64::from(r.pods_per_node) * u64::from(r.count))
        .sum();
    Workbook {
        calculator: "spreadsheet",
        sheet: sheet.name(),
        warm_eni_target: match sheet {
            Sheet::WarmEni(w) => Some(w),
            Sheet::WarmIp(_) => None,
        },
        warm_ip_target: match sheet {
            Sheet::WarmIp(t) => Some(t),
            Sheet::WarmEni(_) => None,
        },
        host_network_ips: host_ips,
        subnet: subnet.cidr.to_string(),
        subnet_ips,
        ips_used,
        pods,
        ips_remaining: subnet_ips as i64 - ips_used as i64,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{all, lookup};
    use proptest::prelude::*;

    fn subnet(prefix_len: u8) -> SubnetSpec {
        SubnetSpec {
            cidr: crate::subnet::Ipv4Cidr::new(0x0a00_0000, prefix_len).unwrap(),
        }
    }

    fn row(name: &str, count: u32, pods: u32) -> InstanceRow {
        InstanceRow {
            instance_type: lookup(name).unwrap(),
            count,
            pods_per_node: pods,
        }
    }

    fn shipped_example() -> Vec<InstanceRow> {
        vec![row("m5.12xlarge", 2, 100), row("c5.2xlarge", 1, 30)]
    }

    #[test]
    fn shipped_example_warm_eni() {
        let w = workbook(&subnet(23), Sheet::WarmEni(1), 2, &shipped_example());
        assert_eq!(
            (w.subnet_ips, w.ips_used, w.pods, w.ips_remaining),
            (510, 351, 230, 159)
        );
        assert_eq!(w.rows[0].enis_per_node, 5);
        assert_eq!(w.rows[0].ips_per_node, 152);
        assert_eq!(w.rows[1].ips_per_node, 47);
    }

    #[test]
    fn shipped_example_warm_ip() {
        let w = workbook(&subnet(23), Sheet::WarmIp(1), 2, &shipped_example());
        assert_eq!(
            (w.subnet_ips, w.ips_used, w.pods, w.ips_remaining),
            (510, 276, 230, 234)
        );
        // T changes no total.
        let w9 = workbook(&subnet(23), Sheet::WarmIp(9), 2, &shipped_example());
        assert_eq!(w9.ips_used, 276);
        assert_eq!(w9.rows[0].warm_ips, 9);
        // m5.12xlarge: k = 30, 100 pods on 4 ENIs leave 20 spare; c5.2xlarge: k = 15, 30
        // pods on 2 ENIs leave none. "Warm ENIs Needed" is 1 where spare < T.
        let shown = |w: &Workbook| -> Vec<(u64, u64, u64, u64)> {
            w.rows
                .iter()
                .map(|r| {
                    (
                        r.warm_enis,
                        r.enis_per_node,
                        r.used_ips_shown,
                        r.ips_per_node,
                    )
                })
                .collect()
        };
        assert_eq!(shown(&w), [(0, 4, 120, 122), (1, 3, 45, 32)]);
        assert_eq!(shown(&w9), [(0, 4, 120, 122), (1, 3, 45, 32)]);
        let w21 = workbook(&subnet(23), Sheet::WarmIp(21), 2, &shipped_example());
        assert_eq!(shown(&w21), [(1, 5, 150, 122), (1, 3, 45, 32)]);
        assert_eq!(w21.ips_used, 276);
        let w0 = workbook(&subnet(23), Sheet::WarmIp(0), 2, &shipped_example());
        assert_eq!(shown(&w0), [(0, 4, 120, 122), (0, 2, 30, 32)]);
    }

    #[test]
    fn remaining_goes_negative_and_enis_are_not_capped() {
        // t3.small has 3 ENIs of 4; 100 pods want 25 active ENIs, and the workbook says so.
        let w = workbook(
            &subnet(28),
            Sheet::WarmEni(0),
            2,
            &[row("t3.small", 1, 100)],
        );
        assert_eq!(w.rows[0].enis_per_node, 25);
        assert_eq!(w.ips_used, 102);
        assert_eq!(w.ips_remaining, 14 - 102);
    }

    /// Restatement: count ENIs one at a time until they hold the pods, in i128.
    fn by_hand(
        prefix: u8,
        sheet: Sheet,
        h: u32,
        rows: &[(usize, u32, u32)],
    ) -> (i128, i128, i128, i128) {
        let subnet_ips = 2i128.pow(32 - u32::from(prefix)) - 2;
        let (mut used, mut pods) = (0i128, 0i128);
        for &(i, n, p) in rows {
            let k = i128::from(all()[i].ipv4_per_eni);
            let mut enis = 0i128;
            while enis * k < i128::from(p) {
                enis += 1;
            }
            if let Sheet::WarmEni(w) = sheet {
                enis += i128::from(w);
            }
            used += (enis * k + i128::from(h)) * i128::from(n);
            pods += i128::from(p) * i128::from(n);
        }
        (subnet_ips, used, pods, subnet_ips - used)
    }

    proptest! {
        #[test]
        fn matches_the_formulas(
            prefix in 16u8..=28,
            warm_eni: bool,
            target in 0u32..20,
            h in 0u32..5,
            rows in prop::collection::vec((0..all().len(), 0u32..50, 0u32..800), 0..6),
        ) {
            let sheet = if warm_eni { Sheet::WarmEni(target) } else { Sheet::WarmIp(target) };
            let input: Vec<InstanceRow> = rows
                .iter()
                .map(|&(i, n, p)| InstanceRow { instance_type: &all()[i], count: n, pods_per_node: p })
                .collect();
            let w = workbook(&subnet(prefix), sheet, h, &input);
            let got = (
                i128::from(w.subnet_ips),
                i128::from(w.ips_used),
                i128::from(w.pods),
                i128::from(w.ips_remaining),
            );
            prop_assert_eq!(got, by_hand(prefix, sheet, h, &rows));
            prop_assert_eq!(w.rows.iter().map(|r| r.ips_total).sum::<u64>(), w.ips_used);
        }
    }
}
