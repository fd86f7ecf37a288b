//! The report's Karpenter section (`[[nodepool]]`): what the node pools did, and the pods
//! that waited for an address where Karpenter cannot see them.

use std::fmt::Write;

use super::RunOutput;
use super::page::int;

/// The section, for a run in which node pools launched nodes (nothing otherwise).
pub(super) fn karpenter_section(out: &mut String, run: &RunOutput) {
    let s = &run.summary;
    if s.nodes_launched == 0 && s.ip_waits_unseen_by_karpenter == 0 {
        return;
    }
    let peak = run
        .timeseries
        .iter()
        .map(|x| x.nodes_ready)
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "<h2>Karpenter</h2>\n<p>Node pools launched {} node{} (nodes Ready at most {} at once); \
         consolidation terminated {}, and EC2 deleted the ENIs attached to them, their addresses \
         going back to the subnets (an ENI a node had detached but not yet deleted stays until \
         another node's leaked-ENI cleanup). <a href=\"nodes.csv\">nodes.csv</a> keeps every node that ran, with \
         <code>launched_s</code> and <code>terminated_s</code>.</p>",
        int(s.nodes_launched.into()),
        if s.nodes_launched == 1 { "" } else { "s" },
        int(peak.into()),
        int(s.nodes_terminated.into()),
    );
    if s.ip_waits_unseen_by_karpenter > 0 {
        let _ = writeln!(
            out,
            "<p class=\"callout warn\">{} pod{} waited for an IP address on a Ready node. Karpenter does \
             not see such pods — they are scheduled, not pending — so no node was launched for \
             them: the wait is ipamd's (<a href=\"pod_waits.csv\">pod_waits.csv</a> says why).</p>",
            int(s.ip_waits_unseen_by_karpenter.into()),
            if s.ip_waits_unseen_by_karpenter == 1 {
                ""
            } else {
                "s"
            },
        );
    }
}
