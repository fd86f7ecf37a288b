//! The report's "Nodes Ready and pods" table: Ready nodes next to pods over time, each
//! sample's Ready count out of the nodes up at that moment.
//!
//! A node is *up* from its launch (`nodes.csv` `launched_s`) until Karpenter terminates it
//! (`terminated_s`, exclusive); a node whose launch found no address for its primary ENI never
//! joined and is never up (a Karpenter launch that failed is terminated at its launch; a node
//! group's is left without ENIs and without a Ready time). So a pool that grew to 60 nodes and
//! shrank back to 5 reads "5 of 5" at the end, not "5 of 67".

use std::fmt::Write;

use super::format::{escape, human_time};
use super::page::int;
use super::{NodeRow, RunOutput};

/// How many nodes are up at a time, from the launch and termination times of `nodes.csv`:
/// O(log n) per question.
pub(crate) struct NodesUp {
    launched: Vec<f64>,
    terminated: Vec<f64>,
}

impl NodesUp {
    pub(crate) fn new(nodes: &[NodeRow]) -> NodesUp {
        let joined = |n: &&NodeRow| n.terminated_s.is_some() || n.enis > 0 || n.ready_s.is_some();
        let mut launched: Vec<f64> = nodes
            .iter()
            .filter(joined)
            .filter_map(|n| n.launched_s)
            .collect();
        let mut terminated: Vec<f64> = nodes
            .iter()
            .filter(joined)
            .filter(|n| n.launched_s.is_some())
            .filter_map(|n| n.terminated_s)
            .collect();
        launched.sort_by(f64::total_cmp);
        terminated.sort_by(f64::total_cmp);
        NodesUp {
            launched,
            terminated,
        }
    }

    /// Nodes launched at or before `t` and not terminated by then.
    pub(crate) fn at(&self, t: f64) -> u32 {
        let launched = self.launched.partition_point(|&x| x <= t);
        let gone = self.terminated.partition_point(|&x| x <= t);
        launched.saturating_sub(gone) as u32
    }
}

/// A dozen evenly spaced samples, and the first one with every node up Ready.
pub(super) fn readiness_table(out: &mut String, run: &RunOutput) {
    let ts = &run.timeseries;
    out.push_str("<h2>Nodes Ready and pods</h2>\n");
    if ts.is_empty() {
        out.push_str("<p>No samples were recorded.</p>\n");
        return;
    }
    let up = NodesUp::new(&run.nodes);
    let mut picks: Vec<usize> = (0..12).map(|k| k * (ts.len() - 1) / 11).collect();
    if let Some(i) = ts.iter().position(|x| {
        let n = up.at(x.time_s);
        n > 0 && x.nodes_ready >= n
    }) {
        picks.push(i);
    }
    picks.sort_unstable();
    picks.dedup();
    out.push_str(
        "<p>A node takes pods only once Ready: after its first ipamd init succeeded. Pods \
         that fit on no Ready node wait unschedulable. Nodes Ready are counted out of the \
         nodes up at that time (launched, not yet terminated).</p>\n<div class=\"wide\"><table><thead><tr>\
         <th class=\"num\">Time</th><th class=\"num\">Nodes Ready</th><th class=\"num\">Pods running</th>\
         <th class=\"num\">Waiting for an IP</th><th class=\"num\">Unschedulable</th></tr></thead><tbody>\n",
    );
    for i in picks {
        let x = &ts[i];
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{} of {}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&human_time(x.time_s)),
            int(x.nodes_ready.into()),
            int(up.at(x.time_s).into()),
            int(x.pods_running.into()),
            int(x.pods_waiting_ip.into()),
            int(x.pods_unschedulable.into())
        );
    }
    out.push_str("</tbody></table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Sample;

    fn node(launched: Option<f64>, terminated: Option<f64>, enis: u32) -> NodeRow {
        NodeRow {
            launched_s: launched,
            terminated_s: terminated,
            enis,
            ready_s: launched.filter(|_| enis > 0).map(|l| l + 30.0),
            ..NodeRow::default()
        }
    }

    #[test]
    fn nodes_are_up_from_launch_until_terminated() {
        let nodes = [
            node(Some(0.0), None, 2),          // up all along
            node(Some(0.0), Some(600.0), 0),   // terminated at 10 min
            node(Some(300.0), None, 1),        // launched at 5 min
            node(Some(300.0), Some(300.0), 0), // a Karpenter launch that failed
            node(Some(900.0), None, 0),        // a node group's launch that failed
            node(None, None, 0),               // starts after the run
        ];
        let up = NodesUp::new(&nodes);
        let at: Vec<u32> = [0.0, 299.0, 300.0, 599.0, 600.0, 1000.0]
            .iter()
            .map(|&t| up.at(t))
            .collect();
        assert_eq!(at, [2, 2, 3, 3, 2, 2]);
    }

    #[test]
    fn the_table_counts_ready_nodes_out_of_the_nodes_up_then() {
        // Five nodes at the start, up to 60 at 1 h, back to 5 at 2 h: 67 nodes in all.
        let mut nodes: Vec<NodeRow> = (0..5).map(|_| node(Some(0.0), None, 1)).collect();
        nodes.extend((0..62).map(|k| node(Some(600.0 + k as f64), Some(5000.0), 1)));
        let sample = |t: f64, ready: u32| Sample {
            time_s: t,
            nodes_ready: ready,
            ..Sample::default()
        };
        let run = RunOutput {
            timeseries: vec![sample(0.0, 0), sample(3600.0, 60), sample(7200.0, 5)],
            nodes,
            ..RunOutput::default()
        };
        let mut html = String::new();
        readiness_table(&mut html, &run);
        let cells: Vec<&str> = html
            .split("<td class=\"num\">")
            .filter_map(|c| c.split_once("</td>").map(|(v, _)| v))
            .filter(|v| v.contains(" of "))
            .collect();
        assert_eq!(cells, ["0 of 5", "60 of 67", "5 of 5"], "{html}");
    }
}
