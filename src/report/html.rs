//! `report.html`: one self-contained page per run (DESIGN.md §5).
//!
//! The page carries everything inline — styles, and the plots as inline SVG — and loads
//! nothing: no scripts, fonts, images or style sheets from anywhere, so it reads the same
//! offline, attached to a ticket, or years later. Its only links are to the run's own CSV
//! files, relative, in the same folder. It is a pure function of the [`RunOutput`].

use std::fmt::Write;

mod summary;

use super::format::escape;
use super::format::human_time;
use super::page::{Kpi, int, kpis, page, wait};
use super::{PodWait, RunOutput, Summary, WaitReason, blocks, ec2_plot, plots};

fn figure(out: &mut String, svg: &str, caption: &str) {
    let _ = writeln!(
        out,
        "<figure>\n{svg}<figcaption>{}</figcaption>\n</figure>",
        escape(caption)
    );
}

/// Pods that waited longest: by wait (longest first), then bind time, then name.
pub fn worst_waits(waits: &[PodWait], n: usize) -> Vec<&PodWait> {
    let mut v: Vec<&PodWait> = waits.iter().collect();
    v.sort_by(|a, b| {
        b.wait_s
            .total_cmp(&a.wait_s)
            .then(a.bound_s.total_cmp(&b.bound_s))
            .then_with(|| natural_cmp(&a.pod, &b.pod))
    });
    v.truncate(n);
    v
}

/// Orders names as people do: digit runs by value (`web-2` before `web-10`).
pub(crate) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let n = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let m = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (p, q) = (&x[..n], &y[..m]);
                let trim = |s: &[u8]| {
                    let z = s.iter().take_while(|c| **c == b'0').count();
                    s[z..].to_vec()
                };
                let (tp, tq) = (trim(p), trim(q));
                let ord = tp.len().cmp(&tq.len()).then_with(|| tp.cmp(&tq));
                if ord != Ordering::Equal {
                    return ord;
                }
                x = &x[n..];
                y = &y[m..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn reason_counts(waits: &[PodWait]) -> Vec<(WaitReason, usize)> {
    let mut counts: Vec<(WaitReason, usize)> = Vec::new();
    for w in waits {
        match counts.iter_mut().find(|c| c.0 == w.reason) {
            Some(c) => c.1 += 1,
            None => counts.push((w.reason, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

fn headline(out: &mut String, s: &Summary) {
    let used_pct = if s.subnet_usable > 0 {
        format!(
            "{}% of {} usable",
            (s.subnet_used_peak * 100).div_ceil(s.subnet_usable),
            int(s.subnet_usable)
        )
    } else {
        String::new()
    };
    kpis(
        out,
        &[
            Kpi {
                label: "IPs held by nodes, peak".into(),
                value: int(s.total_ips_peak),
                note: format!(
                    "{} assigned, {} warm at the end",
                    int(s.assigned_ips_final),
                    int(s.warm_ips_final)
                ),
                tone: "",
            },
            Kpi {
                label: "Pod IP wait, p99".into(),
                value: wait(s.ip_wait_p99_s),
                note: format!(
                    "{} pods waited; longest {}",
                    int(s.pods_waited_for_ip.into()),
                    wait(s.ip_wait_max_s)
                ),
                tone: if s.pods_waited_for_ip == 0 { "ok" } else { "" },
            },
            Kpi {
                label: "Subnet used, peak".into(),
                value: int(s.subnet_used_peak),
                note: used_pct,
                tone: if s.subnet_free_min == 0 { "bad" } else { "" },
            },
            Kpi {
                label: "EC2 calls".into(),
                value: int(s.ec2_calls),
                note: format!("{} throttled", int(s.ec2_throttled)),
                tone: if s.ec2_throttled > 0 { "warn" } else { "ok" },
            },
            Kpi {
                label: "InsufficientCidrBlocks".into(),
                value: int(s.insufficient_cidr_blocks),
                note: match s.first_insufficient_cidr_s {
                    Some(t) => format!("first at {}", human_time(t)),
                    None => "never".into(),
                },
                tone: if s.insufficient_cidr_blocks > 0 {
                    "bad"
                } else {
                    "ok"
                },
            },
        ],
    );
}

fn callouts(out: &mut String, run: &RunOutput) {
    let s = &run.summary;
    match s.first_insufficient_cidr_s {
        Some(t) => {
            let _ = writeln!(
                out,
                "<div class=\"callout bad\"><strong>First InsufficientCidrBlocks at {} ({} s).</strong>\
                 <p>No free aligned /28 was left for a prefix although the subnet still had {} free \
                 addresses at its lowest. {} such errors in all; free /28 blocks fell to {}; \
                 fragmentation score up to {}.</p></div>",
                escape(&human_time(t)),
                super::csv::secs(t),
                int(s.subnet_free_min),
                int(s.insufficient_cidr_blocks),
                int(s.free_prefix_blocks_min),
                s.fragmentation_score_max,
            );
        }
        None => out.push_str(
            "<div class=\"callout ok\"><strong>No InsufficientCidrBlocks.</strong>\
             <p>Every prefix request found a free aligned /28.</p></div>\n",
        ),
    }
    if s.insufficient_free_addresses > 0 {
        let _ = writeln!(
            out,
            "<div class=\"callout bad\"><strong>The subnet ran out of addresses.</strong>\
             <p>EC2 answered InsufficientFreeAddressesInSubnet {} times.</p></div>",
            int(s.insufficient_free_addresses)
        );
    }
    if s.ec2_throttled > 0 {
        let _ = writeln!(
            out,
            "<div class=\"callout warn\"><strong>EC2 throttled {} of {} calls.</strong>\
             <p>RequestLimitExceeded: the account's token bucket for an action ran dry.</p></div>",
            int(s.ec2_throttled),
            int(s.ec2_calls)
        );
    }
    if s.pods_unschedulable > 0 {
        let _ = writeln!(
            out,
            "<div class=\"callout warn\"><strong>{} pods could not be scheduled.</strong>\
             <p>{}</p></div>",
            int(s.pods_unschedulable.into()),
            unschedulable_why(s)
        );
    }

    out.push_str("<h2>Pods that waited longest for an IP</h2>\n");
    if run.pod_waits.is_empty() {
        out.push_str("<p>No pod waited for an IP address.</p>\n");
        return;
    }
    let reasons = reason_counts(&run.pod_waits)
        .iter()
        .map(|(r, n)| format!("<code>{}</code> {}", r.name(), int(*n as u64)))
        .collect::<Vec<_>>()
        .join(", ");
    let never = run.pod_waits.iter().filter(|w| w.ip_s.is_none()).count();
    let never = match never {
        0 => String::new(),
        n => format!(
            " {} never got one (deleted while waiting, or still waiting at the end).",
            int(n as u64)
        ),
    };
    let _ = writeln!(
        out,
        "<p>{} pods waited for an IP (p50 {}, p99 {}).{never} By reason: {reasons}. \
         All waits: <a href=\"pod_waits.csv\">pod_waits.csv</a>.</p>",
        int(run.pod_waits.len() as u64),
        wait(s.ip_wait_p50_s),
        wait(s.ip_wait_p99_s),
    );
    out.push_str(
        "<table><thead><tr><th>Pod</th><th>Node</th><th class=\"num\">Bound at</th>\
         <th class=\"num\">Waited</th><th>Reason</th></tr></thead><tbody>\n",
    );
    for w in worst_waits(&run.pod_waits, 10) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td><code>{}</code></td></tr>",
            escape(&w.pod),
            escape(&w.node),
            escape(&human_time(w.bound_s)),
            escape(&match w.ip_s {
                Some(_) => wait(w.wait_s),
                None => format!("{}, no IP", wait(w.wait_s)),
            }),
            w.reason.name()
        );
    }
    out.push_str("</tbody></table>\n");
}

fn settings(out: &mut String, run: &RunOutput) {
    out.push_str("<h2>Key settings</h2>\n");
    if run.settings.is_empty() {
        out.push_str("<p>No settings were recorded.</p>\n");
        return;
    }
    out.push_str("<table><tbody>\n");
    for (k, v) in &run.settings {
        let _ = writeln!(
            out,
            "<tr><th style=\"width:38%\">{}</th><td>{}</td></tr>",
            escape(k),
            escape(v)
        );
    }
    out.push_str("</tbody></table>\n");
}

fn ec2_table(out: &mut String, run: &RunOutput) {
    if run.ec2_calls.is_empty() {
        return;
    }
    out.push_str(
        "<div class=\"wide\"><table><thead><tr><th>Action</th><th class=\"num\">Calls</th><th class=\"num\">Succeeded</th>\
         <th class=\"num\">Failed</th><th class=\"num\">Throttled</th>\
         <th class=\"num\">InsufficientCidrBlocks</th><th class=\"num\">InsufficientFreeAddresses</th>\
         </tr></thead><tbody>\n",
    );
    for r in &run.ec2_calls {
        let cell = |n: u64| {
            if n > 0 {
                format!("<td class=\"num bad\">{}</td>", int(n))
            } else {
                format!("<td class=\"num\">{}</td>", int(n))
            }
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}{}{}{}</tr>",
            escape(&r.action),
            int(r.calls),
            int(r.succeeded),
            cell(r.failed),
            cell(r.throttled),
            cell(r.insufficient_cidr_blocks),
            cell(r.insufficient_free_addresses)
        );
    }
    out.push_str("</tbody></table></div>\n");
}

fn nodes_table(out: &mut String, run: &RunOutput) {
    out.push_str("<h2>Nodes at the end</h2>\n");
    if run.nodes.is_empty() {
        out.push_str("<p>No nodes.</p>\n");
        return;
    }
    let long = run.nodes.len() > 20;
    if long {
        let _ = writeln!(
            out,
            "<details><summary>Show all {} nodes</summary>",
            run.nodes.len()
        );
    }
    // Columns that are zero on every node (secondary IPs in prefix mode, prefixes in
    // secondary-IP mode) are left out to keep the table readable; nodes.csv has them all.
    let secondary = run.nodes.iter().any(|n| n.secondary_ips > 0);
    let prefixes = run.nodes.iter().any(|n| n.prefixes > 0);
    out.push_str(
        "<div class=\"wide\"><table><thead><tr><th>Node</th><th>Group</th><th>Type</th>\
         <th class=\"num\">Max pods</th><th class=\"num\">Pods</th><th class=\"num\">ENIs</th>",
    );
    if secondary {
        out.push_str("<th class=\"num\">Secondary IPs</th>");
    }
    if prefixes {
        out.push_str("<th class=\"num\">Prefixes</th>");
    }
    out.push_str(
        "<th class=\"num\">IPs held</th><th class=\"num\">Assigned</th><th class=\"num\">Warm</th>\
         <th class=\"num\">Cooling</th><th class=\"num\">Peak held</th><th class=\"num\">EC2 calls</th>\
         </tr></thead><tbody>\n",
    );
    for n in &run.nodes {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            escape(&n.node),
            escape(&n.nodegroup),
            escape(&n.instance_type)
        );
        let mut cols = vec![n.max_pods, n.pods, n.enis];
        if secondary {
            cols.push(n.secondary_ips);
        }
        if prefixes {
            cols.push(n.prefixes);
        }
        cols.extend([
            n.total_ips,
            n.assigned_ips,
            n.warm_ips,
            n.cooling_ips,
            n.total_ips_peak,
        ]);
        for v in cols {
            let _ = write!(out, "<td class=\"num\">{}</td>", int(v.into()));
        }
        let _ = writeln!(out, "<td class=\"num\">{}</td></tr>", int(n.ec2_calls));
    }
    out.push_str("</tbody></table></div>\n");
    if long {
        out.push_str("</details>\n");
    }
}

/// `report.html` for a run.
pub fn report_html(run: &RunOutput) -> String {
    let s = &run.summary;
    let mut body = String::with_capacity(256 * 1024);
    let _ = writeln!(
        body,
        "<header><p class=\"eyebrow\">ipamsim run report</p><h1>{}</h1>\
         <p class=\"meta\">Seed {} · {} simulated · {} node{} · peak {} pods · {} events</p></header>",
        escape(&s.scenario),
        s.seed,
        escape(&human_time(s.duration_s)),
        int(s.nodes.into()),
        if s.nodes == 1 { "" } else { "s" },
        int(s.pods_peak.into()),
        int(s.events)
    );
    headline(&mut body, s);
    callouts(&mut body, run);
    settings(&mut body, run);
    super::readiness::readiness_table(&mut body, run);
    super::autoscale::karpenter_section(&mut body, run);

    body.push_str("<h2>IP addresses held</h2>\n");
    figure(
        &mut body,
        &plots::ips_svg(run),
        "Total = assigned + warm. Warm addresses are held by a node for pods yet to come; \
         cooling ones were just freed and wait out IP_COOLDOWN_PERIOD.",
    );
    body.push_str("<h2>Subnet</h2>\n");
    figure(
        &mut body,
        &plots::subnet_svg(run),
        "Used addresses include ENI primary addresses and other tenants of the subnet. A /28 \
         block is free when none of its 16 addresses is used or reserved.",
    );
    super::subnet_lines::subnets_table(&mut body, run);
    figure(
        &mut body,
        &blocks::blocks_svg(run),
        "Each row starts at the address on its left. Hover a block for its address and state \
         (subnets up to /18; larger grids are drawn without per-block labels).",
    );
    body.push_str("<h2>EC2 API calls</h2>\n");
    figure(
        &mut body,
        &ec2_plot::ec2_svg(run),
        "Calls by all nodes of the scenario, which share one token bucket per action. Every SDK \
         attempt counts as a call, throttled retries included.",
    );
    ec2_table(&mut body, run);
    nodes_table(&mut body, run);
    summary::table(&mut body, s);
    let _ = writeln!(
        body,
        "<footer>Data: <a href=\"summary.csv\">summary.csv</a> · <a href=\"nodes.csv\">nodes.csv</a> · \
         <a href=\"timeseries.csv\">timeseries.csv</a> · <a href=\"ec2_calls.csv\">ec2_calls.csv</a> · \
         <a href=\"pod_waits.csv\">pod_waits.csv</a>. Written by ipamsim {}; the same scenario \
         and seed give this page byte for byte.</footer>",
        env!("CARGO_PKG_VERSION")
    );
    page(&format!("{} — ipamsim report", s.scenario), &body)
}

/// Why pods waited for a node slot: Karpenter's launches, the start-up (nodes take pods only
/// once Ready), or a shortfall once every starting node was Ready
/// (`pods_unschedulable_after_ready`).
fn unschedulable_why(s: &Summary) -> String {
    let after = s.pods_unschedulable_after_ready;
    if s.nodes_launched > 0 {
        return "Pending pods are what node pools launch nodes for: they wait for \
                Karpenter's batch, the node's boot and its ipamd's init (see Karpenter below)."
            .to_string();
    }
    let startup = "nodes take pods only once their ipamd has initialised (see Nodes Ready and \
                   pods below)";
    if after == 0 {
        format!(
            "All of them arrived before the starting nodes were Ready: {startup}. Once they \
             were, every pod found a slot."
        )
    } else {
        format!(
            "{} of them found no Ready node with room under its max pods once every starting \
             node was Ready (<code>pods_unschedulable_after_ready</code>): a shortfall of node \
             slots, not start-up; the rest waited because {startup}.",
            int(after.into())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unschedulable_callout_says_start_up_shortfall_or_karpenter() {
        let mut s = Summary {
            pods_unschedulable: 10,
            ..Summary::default()
        };
        assert!(unschedulable_why(&s).starts_with("All of them arrived before"));
        s.pods_unschedulable_after_ready = 3;
        assert!(unschedulable_why(&s).starts_with("3 of them found no Ready node"));
        s.nodes_launched = 2;
        assert!(unschedulable_why(&s).starts_with("Pending pods are what node pools"));
    }

    fn w(pod: &str, bound: f64, wait_s: f64, reason: WaitReason) -> PodWait {
        PodWait {
            pod: pod.into(),
            node: "n".into(),
            bound_s: bound,
            ip_s: Some(bound + wait_s),
            wait_s,
            reason,
        }
    }

    #[test]
    fn worst_waits_are_longest_first_with_stable_ties() {
        let waits = vec![
            w("a", 5.0, 1.0, WaitReason::NoIp),
            w("b", 3.0, 9.0, WaitReason::Cooling),
            w("c", 1.0, 9.0, WaitReason::NoIp),
            w("d", 0.0, 2.0, WaitReason::NoIp),
        ];
        let names: Vec<&str> = worst_waits(&waits, 3)
            .iter()
            .map(|w| w.pod.as_str())
            .collect();
        assert_eq!(names, ["c", "b", "d"]);
        let counts = reason_counts(&waits);
        assert_eq!(counts, [(WaitReason::NoIp, 3), (WaitReason::Cooling, 1)]);
    }

    #[test]
    fn names_sort_naturally() {
        let mut v = vec!["web-10", "web-2", "web-1", "api-3", "web-02", "web"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["api-3", "web", "web-1", "web-02", "web-2", "web-10"]);
        let waits = vec![
            w("web-10", 0.0, 2.0, WaitReason::NoIp),
            w("web-9", 0.0, 2.0, WaitReason::NoIp),
        ];
        assert_eq!(worst_waits(&waits, 1)[0].pod, "web-9");
    }

    #[test]
    fn the_page_escapes_names_and_calls_out_insufficient_cidr_blocks() {
        let mut run = RunOutput::default();
        run.summary.scenario = "<script>alert(1)</script>".into();
        run.summary.first_insufficient_cidr_s = Some(4510.5);
        run.summary.insufficient_cidr_blocks = 7;
        run.pod_waits = vec![
            w("web-1", 4511.0, 33.0, WaitReason::InsufficientCidrCooldown),
            PodWait {
                ip_s: None,
                ..w("web-2", 4600.0, 1000.0, WaitReason::NoIp)
            },
        ];
        let html = report_html(&run);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("First InsufficientCidrBlocks at 1h 15m (4510.5 s)"));
        assert!(html.contains("<td>web-1</td>"));
        assert!(html.contains("<code>insufficient_cidr_cooldown</code> 1"));
        assert!(html.contains("1 never got one"));
        assert!(html.contains("16m 40s, no IP"));

        run.summary.first_insufficient_cidr_s = None;
        assert!(report_html(&run).contains("No InsufficientCidrBlocks."));
    }
}
