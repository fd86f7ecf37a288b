//! The report's "Summary" section: every `summary.csv` column, labelled, in contract order.

use std::fmt::Write;

use crate::report::format::{escape, human_time};
use crate::report::page::{int, wait};
use crate::report::{Summary, csv};

/// The summary rows shown in the report: (column, label, display value), contract order.
fn rows(s: &Summary) -> Vec<(&'static str, &'static str, String)> {
    let first = s.first_insufficient_cidr_s.map_or("none".to_string(), |t| {
        format!("{} s ({})", csv::secs(t), human_time(t))
    });
    vec![
        ("scenario", "Scenario", s.scenario.clone()),
        ("seed", "Seed", s.seed.to_string()),
        ("duration_s", "Simulated duration", human_time(s.duration_s)),
        ("nodes", "Nodes", int(s.nodes.into())),
        ("pods_peak", "Pods, peak", int(s.pods_peak.into())),
        ("pods_final", "Pods at the end", int(s.pods_final.into())),
        (
            "pods_unschedulable",
            "Pods unschedulable",
            int(s.pods_unschedulable.into()),
        ),
        (
            "pods_waited_for_ip",
            "Pods that waited for an IP",
            int(s.pods_waited_for_ip.into()),
        ),
        ("ip_wait_p50_s", "IP wait, median", wait(s.ip_wait_p50_s)),
        (
            "ip_wait_p99_s",
            "IP wait, 99th percentile",
            wait(s.ip_wait_p99_s),
        ),
        ("ip_wait_max_s", "IP wait, longest", wait(s.ip_wait_max_s)),
        (
            "assigned_ips_final",
            "IPs assigned to pods at the end",
            int(s.assigned_ips_final),
        ),
        (
            "warm_ips_final",
            "Warm IPs at the end",
            int(s.warm_ips_final),
        ),
        (
            "cooling_ips_final",
            "Cooling IPs at the end",
            int(s.cooling_ips_final),
        ),
        (
            "total_ips_final",
            "IPs held by nodes at the end",
            int(s.total_ips_final),
        ),
        (
            "total_ips_peak",
            "IPs held by nodes, peak",
            int(s.total_ips_peak),
        ),
        ("enis_final", "ENIs at the end", int(s.enis_final)),
        (
            "prefixes_final",
            "Prefixes at the end",
            int(s.prefixes_final),
        ),
        (
            "subnet_usable",
            "Subnet usable addresses",
            int(s.subnet_usable),
        ),
        (
            "subnet_used_final",
            "Subnet addresses used at the end",
            int(s.subnet_used_final),
        ),
        (
            "subnet_used_peak",
            "Subnet addresses used, peak",
            int(s.subnet_used_peak),
        ),
        (
            "subnet_free_min",
            "Subnet free addresses, lowest",
            int(s.subnet_free_min),
        ),
        (
            "free_prefix_blocks_final",
            "Free /28 blocks at the end",
            int(s.free_prefix_blocks_final),
        ),
        (
            "free_prefix_blocks_min",
            "Free /28 blocks, lowest",
            int(s.free_prefix_blocks_min),
        ),
        (
            "insufficient_cidr_blocks",
            "InsufficientCidrBlocks errors",
            int(s.insufficient_cidr_blocks),
        ),
        (
            "insufficient_free_addresses",
            "InsufficientFreeAddressesInSubnet errors",
            int(s.insufficient_free_addresses),
        ),
        (
            "first_insufficient_cidr_s",
            "First InsufficientCidrBlocks",
            first,
        ),
        (
            "fragmentation_score_final",
            "Fragmentation score at the end (0–100)",
            s.fragmentation_score_final.to_string(),
        ),
        (
            "fragmentation_score_max",
            "Fragmentation score, highest (0–100)",
            s.fragmentation_score_max.to_string(),
        ),
        ("ec2_calls", "EC2 calls", int(s.ec2_calls)),
        ("ec2_throttled", "EC2 calls throttled", int(s.ec2_throttled)),
        ("events", "Simulated events", int(s.events)),
        (
            "nodes_launch_failed",
            "Nodes that could not join (no address)",
            int(u64::from(s.nodes_launch_failed)),
        ),
        (
            "nodes_ready_final",
            "Nodes Ready at the end",
            int(s.nodes_ready_final.into()),
        ),
        (
            "node_ready_p50_s",
            "Node start to Ready, median",
            s.node_ready_p50_s.map_or("none".to_string(), wait),
        ),
        (
            "node_ready_max_s",
            "Node start to Ready, longest",
            s.node_ready_max_s.map_or("none".to_string(), wait),
        ),
        (
            "nodes_launched",
            "Nodes Karpenter launched",
            int(s.nodes_launched.into()),
        ),
        (
            "nodes_terminated",
            "Nodes Karpenter's consolidation terminated",
            int(s.nodes_terminated.into()),
        ),
        (
            "ip_waits_unseen_by_karpenter",
            "Pods that waited for an IP unseen by Karpenter",
            int(s.ip_waits_unseen_by_karpenter.into()),
        ),
        (
            "pods_unschedulable_after_ready",
            "Pods that found no node slot once the starting nodes were Ready",
            int(s.pods_unschedulable_after_ready.into()),
        ),
        (
            "ip_wait_p99_after_ready_s",
            "p99 IP wait of pods bound once the starting nodes were Ready",
            wait(s.ip_wait_p99_after_ready_s),
        ),
    ]
}

/// The "Summary" section: every column of `summary.csv`, with a label.
pub(super) fn table(out: &mut String, s: &Summary) {
    out.push_str(
        "<h2>Summary</h2>\n<p>Every column of <a href=\"summary.csv\">summary.csv</a>.</p>\n\
         <table class=\"compact\"><thead><tr><th>Measure</th><th>Column</th>\
         <th class=\"num\">Value</th></tr></thead><tbody>\n",
    );
    for (col, label, value) in rows(s) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{col}</code></td><td class=\"num\">{}</td></tr>",
            escape(label),
            escape(&value)
        );
    }
    out.push_str("</tbody></table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_table_lists_every_contract_column_in_order() {
        let rows = rows(&Summary::default());
        let cols: Vec<&str> = rows.iter().map(|r| r.0).collect();
        assert_eq!(cols, crate::report::csv::columns::<Summary>());
    }
}
