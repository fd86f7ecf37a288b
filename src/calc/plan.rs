//! `ipamsim calc`: the steady state of every row under ipamd's real policy, the totals against
//! the subnet's usable addresses, and what the workbook would have said instead, with the
//! reasons for the difference.

use serde::Serialize;

use super::spreadsheet::{self, Sheet, Workbook};
use super::steady_state::{self, NodeState};
use super::{InstanceRow, SubnetSpec};
use crate::catalog::{self, CniVersion, InstanceType, MaxPodsOptions};
use crate::ipamd::config::CniConfig;

/// The aws-node settings a plan was made with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[allow(non_snake_case)]
pub struct Settings {
    /// `ENABLE_PREFIX_DELEGATION`.
    pub ENABLE_PREFIX_DELEGATION: bool,
    /// `WARM_ENI_TARGET`.
    pub WARM_ENI_TARGET: u32,
    /// `WARM_PREFIX_TARGET`.
    pub WARM_PREFIX_TARGET: u32,
    /// `WARM_IP_TARGET` (0 = unset).
    pub WARM_IP_TARGET: u32,
    /// `MINIMUM_IP_TARGET` (0 = unset).
    pub MINIMUM_IP_TARGET: u32,
    /// `MAX_ENI` (unset = the type's limit).
    pub MAX_ENI: Option<u32>,
    /// `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG`.
    pub AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: bool,
    /// Host-network pods per node (count against max pods, take no pod address).
    pub host_network_pods: u32,
    /// CNI version given to the max-pods calculator.
    pub cni_version: String,
}

/// One row of the plan, per node unless the name says otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SteadyRow {
    /// Instance type.
    pub instance_type: String,
    /// Nodes.
    pub count: u32,
    /// Workload pods asked for per node.
    pub pods_per_node: u32,
    /// Of those, pods that run with an address.
    pub pods_placed_per_node: u32,
    /// `"secondary-ip"` or `"prefix"`.
    pub mode: &'static str,
    /// ENIs, the primary included.
    pub enis_per_node: u32,
    /// Secondary IPs (secondary-IP mode).
    pub secondary_ips_per_node: u32,
    /// /28 prefixes (prefix mode).
    pub prefixes_per_node: u32,
    /// Pod-assignable addresses: secondary IPs or 16 × prefixes.
    pub pod_ips_per_node: u32,
    /// Subnet addresses: ENI primaries + pod addresses.
    pub ips_per_node: u32,
    /// Subnet addresses for all nodes of the row.
    pub ips_total: u64,
    /// The node's max pods (the max-pods calculator for these settings).
    pub max_pods: u32,
    /// ENIs ipamd may attach.
    pub max_eni: u32,
    /// Every pod scheduled (max pods, host-network pods included) and given an address.
    pub fits: bool,
    /// Why not: `"max-pods"`, `"eni-limit"` or `"minimum-ip-target"`.
    pub limit: Option<&'static str>,
    /// ipamd keeps growing and releasing; the figures are the larger pool.
    pub flapping: bool,
    /// What the workbook counts per node for this row (host-network IPs included).
    pub workbook_ips_per_node: u64,
}

/// What the workbook says for the same rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkbookView {
    /// The sheet the settings map to: WarmIP when a WARM_IP/MINIMUM_IP target is set.
    pub sheet: &'static str,
    /// Its target.
    pub target: u32,
    /// 2^(32−p) − 2.
    pub subnet_ips: u64,
    /// Its used figure.
    pub ips_used: u64,
    /// Its remaining figure.
    pub ips_remaining: i64,
}

/// One reason for the difference, with its share of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Addresses this accounts for in `ips_remaining` (ipamd − workbook).
    pub addresses: i64,
    /// What it is.
    pub reason: String,
}

/// ipamd minus the workbook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// Addresses used, ipamd − workbook.
    pub ips_used: i64,
    /// Addresses remaining, ipamd − workbook: the sum of the reasons.
    pub ips_remaining: i64,
    /// The reasons, largest share first within each kind.
    pub reasons: Vec<Reason>,
}

/// The steady-state plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SteadyPlan {
    /// Always `"steady-state"`.
    pub calculator: &'static str,
    /// The subnet.
    pub subnet: String,
    /// Usable addresses, 2^(32−p) − 5.
    pub subnet_ips: u64,
    /// Σ addresses per node × nodes.
    pub ips_used: u64,
    /// Σ pods per node × nodes, as asked.
    pub pods: u64,
    /// Pods that run with an address.
    pub pods_placed: u64,
    /// subnet_ips − ips_used (negative: the rows do not fit).
    pub ips_remaining: i64,
    /// Every row fits and the subnet holds them all.
    pub fits: bool,
    /// The settings.
    pub settings: Settings,
    /// Per row.
    pub rows: Vec<SteadyRow>,
    /// The workbook's figures.
    pub workbook: WorkbookView,
    /// ipamd − workbook, explained.
    pub difference: Difference,
    /// Things worth knowing about these settings.
    pub notes: Vec<String>,
}

/// Plans the rows under `cni` with `host` host-network pods per node.
pub fn steady_plan(
    subnet: &SubnetSpec,
    cni: &CniConfig,
    host: u32,
    rows: &[InstanceRow],
) -> SteadyPlan {
    let opts = MaxPodsOptions::for_cni(cni);
    let sheet = if cni.warm_ip_targets_defined() {
        Sheet::WarmIp(cni.warm_ip_target)
    } else {
        Sheet::WarmEni(cni.warm_eni_target)
    };
    let wb = spreadsheet::workbook(subnet, sheet, host, rows);
    let mut out_rows = Vec::with_capacity(rows.len());
    let mut row_reasons = Vec::new();
    for (r, w) in rows.iter().zip(&wb.rows) {
        let t = r.instance_type;
        let max_pods = catalog::max_pods(t, &opts);
        let schedulable = max_pods.saturating_sub(host).min(r.pods_per_node);
        let node = steady_state::settle(t, cni, max_pods, schedulable);
        let limit = if schedulable < r.pods_per_node {
            Some("max-pods")
        } else if node.pods_with_ip < schedulable {
            if node.enis >= node.max_eni {
                Some("eni-limit")
            } else {
                Some("minimum-ip-target")
            }
        } else {
            None
        };
        let row = SteadyRow {
            instance_type: t.name.clone(),
            count: r.count,
            pods_per_node: r.pods_per_node,
            pods_placed_per_node: node.pods_with_ip,
            mode: if node.prefix_mode {
                "prefix"
            } else {
                "secondary-ip"
            },
            enis_per_node: node.enis,
            secondary_ips_per_node: node.secondary_ips,
            prefixes_per_node: node.prefixes,
            pod_ips_per_node: node.pod_ips,
            ips_per_node: node.subnet_addresses,
            ips_total: u64::from(node.subnet_addresses) * u64::from(r.count),
            max_pods,
            max_eni: node.max_eni,
            fits: limit.is_none(),
            limit,
            flapping: node.flapping,
            workbook_ips_per_node: w.ips_per_node,
        };
        let wb_per_node = w.ips_per_node - u64::from(host);
        // The ENIs the workbook's totals count (WarmIP's visible "in use ENIs" may add one).
        let counted_enis = match sheet {
            Sheet::WarmEni(_) => w.enis_per_node,
            Sheet::WarmIp(_) => w.active_enis,
        };
        let delta = (wb_per_node as i64 - i64::from(node.subnet_addresses)) * i64::from(r.count);
        if delta != 0 {
            row_reasons.push(Reason {
                addresses: delta,
                reason: explain_row(cni, t, &row, &node, counted_enis, wb_per_node),
            });
        }
        out_rows.push(row);
    }
    let ips_used: u64 = out_rows.iter().map(|r| r.ips_total).sum();
    let subnet_ips = subnet.usable();
    let ips_remaining = subnet_ips as i64 - ips_used as i64;
    let nodes: u64 = rows.iter().map(|r| u64::from(r.count)).sum();
    let mut reasons = vec![Reason {
        addresses: subnet_ips as i64 - wb.subnet_ips as i64,
        reason: "EC2 reserves 5 addresses in every subnet; the workbook only 2".into(),
    }];
    if host > 0 && nodes > 0 {
        reasons.push(Reason {
            addresses: (u64::from(host) * nodes) as i64,
            reason: format!(
                "the workbook adds {host} host-network IPs per node ({nodes} nodes); \
                 host-network pods use the node's own address"
            ),
        });
    }
    row_reasons.sort_by_key(|r| std::cmp::Reverse(r.addresses.abs()));
    reasons.extend(row_reasons);
    let difference = Difference {
        ips_used: ips_used as i64 - wb.ips_used as i64,
        ips_remaining: ips_remaining - wb.ips_remaining,
        reasons,
    };
    debug_assert_eq!(
        difference.reasons.iter().map(|r| r.addresses).sum::<i64>(),
        difference.ips_remaining
    );
    SteadyPlan {
        calculator: "steady-state",
        subnet: subnet.cidr.to_string(),
        subnet_ips,
        ips_used,
        pods: wb.pods,
        pods_placed: out_rows
            .iter()
            .map(|r| u64::from(r.pods_placed_per_node) * u64::from(r.count))
            .sum(),
        ips_remaining,
        fits: ips_remaining >= 0 && out_rows.iter().all(|r| r.fits),
        settings: settings(cni, host),
        notes: notes(cni, rows, &out_rows),
        rows: out_rows,
        workbook: view(&wb, sheet),
        difference,
    }
}

fn settings(cni: &CniConfig, host: u32) -> Settings {
    Settings {
        ENABLE_PREFIX_DELEGATION: cni.enable_prefix_delegation,
        WARM_ENI_TARGET: cni.warm_eni_target,
        WARM_PREFIX_TARGET: cni.warm_prefix_target,
        WARM_IP_TARGET: cni.warm_ip_target,
        MINIMUM_IP_TARGET: cni.minimum_ip_target,
        MAX_ENI: cni.max_eni,
        AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: cni.custom_network_cfg,
        host_network_pods: host,
        cni_version: CniVersion::LATEST.to_string(),
    }
}

fn view(wb: &Workbook, sheet: Sheet) -> WorkbookView {
    WorkbookView {
        sheet: wb.sheet,
        target: match sheet {
            Sheet::WarmEni(t) | Sheet::WarmIp(t) => t,
        },
        subnet_ips: wb.subnet_ips,
        ips_used: wb.ips_used,
        ips_remaining: wb.ips_remaining,
    }
}

/// Why ipamd and the workbook size one row differently.
fn explain_row(
    cni: &CniConfig,
    t: &InstanceType,
    row: &SteadyRow,
    node: &NodeState,
    wb_enis: u64,
    wb_per_node: u64,
) -> String {
    let k = t.ipv4_per_eni.max(2);
    let p = row.pods_per_node;
    let mut why: Vec<String> = Vec::new();
    if node.prefix_mode {
        why.push(format!(
            "prefix delegation: ipamd holds {} /28 prefixes ({} addresses); the workbook has no prefix mode",
            node.prefixes, node.pod_ips
        ));
    } else if cni.warm_ip_targets_defined() {
        why.push(format!(
            "ipamd keeps pods + WARM_IP_TARGET={} addresses (at least MINIMUM_IP_TARGET={}), not whole ENIs",
            cni.warm_ip_target, cni.minimum_ip_target
        ));
    } else {
        if cni.enable_prefix_delegation {
            why.push(format!("{} is not Nitro: secondary IPs", t.name));
        }
        if p.div_ceil(k) != p.div_ceil(k - 1) {
            why.push(format!(
                "an ENI gives pods {} addresses, not {k}: its primary address is no pod slot",
                k - 1
            ));
        }
        if cni.warm_eni_target == 0 {
            why.push("with WARM_ENI_TARGET=0 ipamd attaches an ENI only when none is free".into());
        }
    }
    if cni.custom_network_cfg {
        why.push(
            "custom networking: the primary ENI holds no pods and is in the node's subnet".into(),
        );
    }
    if u64::from(node.enis) >= u64::from(node.max_eni) && wb_enis > u64::from(node.max_eni) {
        why.push(format!(
            "ipamd stops at {} ENIs; the workbook does not cap them",
            node.max_eni
        ));
    }
    if node.at_max_pods_ceiling {
        why.push(format!(
            "ipamd stops growing at max pods ({})",
            row.max_pods
        ));
    }
    if row.pods_placed_per_node < p {
        why.push(format!(
            "only {} of the {p} pods get an address",
            row.pods_placed_per_node
        ));
    }
    if node.flapping {
        why.push("the pool flaps; this is its larger size".into());
    }
    let enis = |n: u64| {
        if n == 1 {
            "1 ENI".to_string()
        } else {
            format!("{n} ENIs")
        }
    };
    format!(
        "{} ×{}: ipamd holds {} addresses per node ({} + {} pod addresses), the workbook counts {} ({} × {k}): {}",
        row.instance_type,
        row.count,
        row.ips_per_node,
        match row.ips_per_node - row.pod_ips_per_node {
            1 => "1 ENI primary".to_string(),
            n => format!("{n} ENI primaries"),
        },
        row.pod_ips_per_node,
        wb_per_node,
        enis(wb_enis),
        why.join("; ")
    )
}

fn notes(cni: &CniConfig, rows: &[InstanceRow], out: &[SteadyRow]) -> Vec<String> {
    let mut notes = Vec::new();
    if cni.enable_prefix_delegation {
        let mut fallback: Vec<&str> = rows
            .iter()
            .filter(|r| !steady_state::prefix_mode(r.instance_type, cni))
            .map(|r| r.instance_type.name.as_str())
            .collect();
        fallback.dedup();
        if !fallback.is_empty() {
            notes.push(format!(
                "prefix delegation needs a Nitro or bare-metal type; ipamd falls back to secondary IPs on {}",
                fallback.join(", ")
            ));
        }
    }
    if cni.warm_ip_targets_defined() {
        notes.push(
            "WARM_IP_TARGET/MINIMUM_IP_TARGET are set: they take precedence over WARM_ENI_TARGET and WARM_PREFIX_TARGET"
                .into(),
        );
        if cni.warm_ip_target == 0 {
            notes.push(format!(
                "MINIMUM_IP_TARGET={} without WARM_IP_TARGET: the pool stops at that size and pods beyond it get no address",
                cni.minimum_ip_target
            ));
        }
    }
    if out.iter().any(|r| r.flapping) {
        notes.push(
            "flapping rows: ipamd attaches and releases in turn at these pod counts; the figures are the larger pool"
                .into(),
        );
    }
    notes
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

    #[test]
    fn shipped_example_under_ipamd() {
        let rows = [row("m5.12xlarge", 2, 100), row("c5.2xlarge", 1, 30)];
        let p = steady_plan(&subnet(23), &CniConfig::default(), 2, &rows);
        // m5.12xlarge: M = 29, ⌈100/29⌉ + 1 = 5 ENIs, 145 IPs, 150 addresses.
        // c5.2xlarge: M = 14, ⌈30/14⌉ + 1 = 4 ENIs, 56 IPs, 60 addresses.
        assert_eq!((p.rows[0].enis_per_node, p.rows[0].ips_per_node), (5, 150));
        assert_eq!((p.rows[1].enis_per_node, p.rows[1].ips_per_node), (4, 60));
        assert_eq!(
            (p.subnet_ips, p.ips_used, p.pods, p.ips_remaining),
            (507, 360, 230, 147)
        );
        assert!(p.fits);
        assert_eq!(
            (
                p.workbook.sheet,
                p.workbook.ips_used,
                p.workbook.ips_remaining
            ),
            ("WarmENI", 351, 159)
        );
        assert_eq!(
            (p.difference.ips_used, p.difference.ips_remaining),
            (9, -12)
        );
        let shares: Vec<i64> = p.difference.reasons.iter().map(|r| r.addresses).collect();
        assert_eq!(shares, [-3, 6, -15]);
        assert!(
            p.difference.reasons[2]
                .reason
                .contains("primary address is no pod slot")
        );
    }

    #[test]
    fn warm_ip_targets_compare_with_the_warm_ip_sheet() {
        let c = CniConfig {
            warm_ip_target: 3,
            minimum_ip_target: 10,
            ..CniConfig::default()
        };
        let p = steady_plan(&subnet(24), &c, 2, &[row("m5.large", 4, 12)]);
        assert_eq!((p.workbook.sheet, p.workbook.target), ("WarmIP", 3));
        // 15 IPs on 2 ENIs: 17 addresses per node.
        assert_eq!(p.rows[0].ips_per_node, 17);
        assert!(p.notes.iter().any(|n| n.contains("take precedence")));
    }

    #[test]
    fn rows_that_do_not_fit_say_why() {
        let c = CniConfig::default();
        let p = steady_plan(
            &subnet(28),
            &c,
            2,
            &[row("t3.small", 1, 10), row("m5.large", 1, 20)],
        );
        assert_eq!(p.rows[0].limit, Some("max-pods"));
        assert_eq!(p.rows[0].pods_placed_per_node, 9);
        assert!(p.rows[1].fits);
        assert!(p.ips_remaining < 0 && !p.fits);
        let c = CniConfig {
            max_eni: Some(1),
            ..CniConfig::default()
        };
        // Max pods (1 × 9 + 2 = 11) assumes 2 host-network pods; with none, 11 pods schedule
        // and two of them find no address on the one ENI.
        let p = steady_plan(&subnet(24), &c, 0, &[row("m5.large", 1, 11)]);
        assert_eq!(p.rows[0].max_pods, 11);
        assert_eq!(
            (p.rows[0].limit, p.rows[0].pods_placed_per_node),
            (Some("eni-limit"), 9)
        );
        let c = CniConfig {
            enable_prefix_delegation: true,
            ..CniConfig::default()
        };
        let p = steady_plan(&subnet(24), &c, 2, &[row("m4.large", 1, 5)]);
        assert_eq!(p.rows[0].mode, "secondary-ip");
        assert!(p.notes[0].contains("falls back to secondary IPs on m4.large"));
    }

    proptest! {
        #[test]
        fn totals_add_up_and_reasons_explain_the_difference(
            prefix in 16u8..=28,
            pd: bool,
            warm_ip in prop_oneof![Just(0u32), 1u32..30],
            custom: bool,
            host in 0u32..4,
            rows in prop::collection::vec((0..all().len(), 0u32..20, 0u32..120), 0..5),
        ) {
            let c = CniConfig {
                enable_prefix_delegation: pd,
                warm_ip_target: warm_ip,
                custom_network_cfg: custom,
                ..CniConfig::default()
            };
            let input: Vec<InstanceRow> = rows
                .iter()
                .map(|&(i, n, p)| InstanceRow { instance_type: &all()[i], count: n, pods_per_node: p })
                .collect();
            let p = steady_plan(&subnet(prefix), &c, host, &input);
            let used: u64 = p.rows.iter().map(|r| u64::from(r.ips_per_node) * u64::from(r.count)).sum();
            prop_assert_eq!(p.ips_used, used);
            prop_assert_eq!(p.subnet_ips, (1u64 << (32 - prefix)) - 5);
            prop_assert_eq!(p.ips_remaining, p.subnet_ips as i64 - used as i64);
            let wb_remaining = p.workbook.ips_remaining;
            prop_assert_eq!(p.difference.ips_remaining, p.ips_remaining - wb_remaining);
            prop_assert_eq!(p.difference.reasons.iter().map(|r| r.addresses).sum::<i64>(), p.difference.ips_remaining);
            for r in &p.rows {
                prop_assert!(r.pods_placed_per_node + host <= r.max_pods || r.pods_placed_per_node == 0);
                prop_assert_eq!(r.fits, r.limit.is_none());
            }
        }
    }
}
