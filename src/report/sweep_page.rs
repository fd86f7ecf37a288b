//! The sweep's page, `sweep.html`: the answer first, the rule it follows, the plot
//! (`sweep.svg`, drawn by [`super::sweep_chart`]), and a table of every cell. The judging
//! lives in [`super::comparison`].

use std::fmt::Write;

use super::comparison::{Cell, Measure, SweepRun, cells, mean_str, recommend, wait_tolerance};
use super::format::{escape, human_time};
use super::page::{Kpi, int, kpis, page, wait};
pub use super::sweep_chart::sweep_svg;

/// `sweep.html`: the answer first, then the comparison plot and a table of every cell.
pub fn sweep_html(scenario: &str, keys: &[String], runs: &[SweepRun]) -> String {
    let cells = cells(runs);
    let (verdicts, best) = recommend(&cells);
    let seeds = cells.first().map_or(0, |c| c.runs.len());
    let fastest = cells
        .iter()
        .map(|c| c.spread(Measure::WaitP99).mean)
        .fold(f64::INFINITY, f64::min);
    let mut body = String::with_capacity(64 * 1024);
    let varied = keys
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let mut vals: Vec<&str> = Vec::new();
            for c in &cells {
                if !vals.contains(&c.values[k].as_str()) {
                    vals.push(&c.values[k]);
                }
            }
            format!(
                "<code>{}</code> ∈ {{{}}}",
                escape(name),
                escape(&vals.join(", "))
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let _ = writeln!(
        body,
        "<header><p class=\"eyebrow\">ipamsim sweep report</p><h1>{}</h1>\
         <p class=\"meta\">{} cells × {} seed{} = {} runs · varied: {varied}</p></header>",
        escape(scenario),
        cells.len(),
        seeds,
        if seeds == 1 { "" } else { "s" },
        runs.len()
    );

    match best {
        Some(b) => {
            let c = &cells[b];
            let ips = c.spread(Measure::IpsHeld).mean;
            let most = cells
                .iter()
                .enumerate()
                .max_by(|x, y| {
                    x.1.spread(Measure::IpsHeld)
                        .mean
                        .total_cmp(&y.1.spread(Measure::IpsHeld).mean)
                        .then(y.0.cmp(&x.0))
                })
                .map(|(i, _)| i)
                .unwrap_or(b);
            let most_ips = cells[most].spread(Measure::IpsHeld).mean;
            let saving = if most_ips > 0.0 && most != b {
                format!(
                    " That is {}% fewer than the hungriest setting ({}: {}).",
                    ((1.0 - ips / most_ips) * 100.0).round(),
                    escape(&cells[most].label(keys)),
                    mean_str(Measure::IpsHeld, most_ips)
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                body,
                "<div class=\"callout ok\"><strong>Fewest IPs without slowing pods or troubling EC2: {}</strong>\
                 <p>Peak {} IPs held, p99 pod IP wait {}, {} EC2 calls, none throttled, no subnet errors \
                 (means over {} seed{}).{saving}</p></div>",
                escape(&c.label(keys)),
                mean_str(Measure::IpsHeld, ips),
                wait(c.spread(Measure::WaitP99).mean),
                mean_str(Measure::Ec2Calls, c.spread(Measure::Ec2Calls).mean),
                seeds,
                if seeds == 1 { "" } else { "s" },
            );
            kpis(
                &mut body,
                &[
                    Kpi {
                        label: "Peak IPs held".into(),
                        value: mean_str(Measure::IpsHeld, ips),
                        note: format!(
                            "hungriest setting: {}",
                            mean_str(Measure::IpsHeld, most_ips)
                        ),
                        tone: "ok",
                    },
                    Kpi {
                        label: "Pod IP wait, p99".into(),
                        value: wait(c.spread(Measure::WaitP99).mean),
                        note: format!("fastest setting: {}", wait(fastest)),
                        tone: "",
                    },
                    Kpi {
                        label: "EC2 calls".into(),
                        value: mean_str(Measure::Ec2Calls, c.spread(Measure::Ec2Calls).mean),
                        note: "none throttled".into(),
                        tone: "",
                    },
                ],
            );
        }
        None => {
            body.push_str(
                "<div class=\"callout bad\"><strong>No setting held IPs down without a cost.</strong>\
                 <p>Every cell slowed pods, was throttled, or hit subnet errors in some seed; the \
                 table says which.</p></div>\n",
            );
        }
    }
    let _ = writeln!(
        body,
        "<p>The rule: among settings whose mean p99 pod IP wait is within {} (2 s or 25 %, \
         whichever is larger) of the fastest setting's ({}), that were never throttled (RequestLimitExceeded) and never hit \
         InsufficientCidrBlocks or InsufficientFreeAddressesInSubnet in any seed, the one with the \
         lowest mean peak of IPs held by the nodes; ties go to fewer EC2 calls.</p>",
        wait(wait_tolerance(if fastest.is_finite() {
            fastest
        } else {
            0.0
        })),
        wait(if fastest.is_finite() { fastest } else { 0.0 }),
    );

    let _ = writeln!(
        body,
        "<figure>\n{}<figcaption>Each seed runs the same workload draws in every cell (common random \
         numbers), so differences between rows come from the settings.</figcaption>\n</figure>",
        sweep_svg(keys, runs)
    );

    body.push_str("<h2>Every cell</h2>\n<div class=\"wide\"><table><thead><tr>");
    for k in keys {
        // Let long keys break after `_` or `.` in a narrow column.
        let breakable = escape(k).replace('_', "_<wbr>").replace('.', ".<wbr>");
        let _ = write!(body, "<th>{breakable}</th>");
    }
    body.push_str(
        "<th>Verdict</th><th class=\"num\">Peak IPs held</th><th class=\"num\">p99 IP wait</th>\
         <th class=\"num\">EC2 calls</th><th class=\"num\">Throttled</th>\
         <th class=\"num\">Insufficient<wbr>CidrBlocks</th><th class=\"num\">First at</th>\
         </tr></thead><tbody>\n",
    );
    // The mean, then the min–max range in bare numbers (the mean carries the unit).
    let range = |c: &Cell<'_>, m: Measure| {
        let s = c.spread(m);
        let bare = |x: f64| match m {
            Measure::WaitP99 => super::csv::secs(x),
            _ => mean_str(m, x),
        };
        if c.runs.len() > 1 && s.max > s.min {
            format!(
                "{}<br><code>{}–{}</code>",
                mean_str(m, s.mean),
                bare(s.min),
                bare(s.max)
            )
        } else {
            mean_str(m, s.mean)
        }
    };
    for (i, c) in cells.iter().enumerate() {
        let v = &verdicts[i];
        let _ = write!(
            body,
            "<tr{}>",
            if Some(i) == best {
                " class=\"best\""
            } else {
                ""
            }
        );
        for val in c.values {
            let _ = write!(body, "<td>{}</td>", escape(val));
        }
        let throttled: u64 = c.runs.iter().map(|s| s.ec2_throttled).sum();
        let first = c
            .runs
            .iter()
            .filter_map(|s| s.first_insufficient_cidr_s)
            .fold(None, |a: Option<f64>, t| Some(a.map_or(t, |a| a.min(t))));
        let mut badges = String::new();
        if Some(i) == best {
            badges.push_str("<span class=\"badge ok\">recommended</span>");
        }
        if v.slows_pods {
            badges.push_str("<span class=\"badge warn\">slower pods</span>");
        }
        if v.throttled {
            badges.push_str("<span class=\"badge bad\">throttled</span>");
        }
        // Name the subnet error: the table's column counts InsufficientCidrBlocks only.
        let cidr_errors = c.max_of(|s| s.insufficient_cidr_blocks) > 0;
        if cidr_errors {
            badges.push_str("<span class=\"badge bad\">InsufficientCidrBlocks</span>");
        }
        if c.max_of(|s| s.insufficient_free_addresses) > 0 {
            badges.push_str("<span class=\"badge bad\">InsufficientFreeAddresses</span>");
        }
        if badges.is_empty() {
            badges.push_str("<span class=\"badge ok\">ok</span>");
        }
        let _ = writeln!(
            body,
            "<td class=\"verdict\">{badges}</td><td class=\"num\">{}</td><td class=\"num{}\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num{}\">{}</td><td class=\"num{}\">{}</td><td class=\"num\">{}</td></tr>",
            range(c, Measure::IpsHeld),
            if v.slows_pods { " bad" } else { "" },
            range(c, Measure::WaitP99),
            range(c, Measure::Ec2Calls),
            if throttled > 0 { " bad" } else { "" },
            int(throttled),
            if cidr_errors { " bad" } else { "" },
            range(c, Measure::Insufficient),
            first.map_or("–".to_string(), human_time),
        );
    }
    body.push_str("</tbody></table></div>\n");
    let _ = writeln!(
        body,
        "<p>Means over seeds, with the min–max range where seeds differ. Throttled: calls summed over \
         seeds. First at: the earliest InsufficientCidrBlocks of any seed.</p>\
         <footer>Data: <a href=\"sweep.csv\">sweep.csv</a> (one row per cell × seed). Written by ipamsim {}; \
         the same scenario, sweep and seeds give this page byte for byte, whatever <code>--jobs</code>.</footer>",
        env!("CARGO_PKG_VERSION")
    );
    page(&format!("{scenario} — ipamsim sweep"), &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sweep_fixture::{keys, run};

    #[test]
    fn the_verdict_names_which_subnet_error_a_cell_hit() {
        let mut free = run(&["0", "0"], 300, 1.0);
        free.summary.insufficient_free_addresses = 3;
        let mut cidr = run(&["1", "0"], 300, 1.0);
        cidr.summary.insufficient_cidr_blocks = 2;
        let html = sweep_html("s", &keys(), &[free, cidr]);
        let rows: Vec<&str> = html.split("<tr").skip(2).collect();
        assert!(
            rows[0].contains(">InsufficientFreeAddresses</span>"),
            "{}",
            rows[0]
        );
        assert!(!rows[0].contains(">InsufficientCidrBlocks</span>"));
        // No red zero in the InsufficientCidrBlocks column of a cell that never hit one.
        assert!(
            !rows[0].contains("<td class=\"num bad\">0</td>"),
            "{}",
            rows[0]
        );
        assert!(
            rows[1].contains(">InsufficientCidrBlocks</span>"),
            "{}",
            rows[1]
        );
        assert!(!rows[1].contains(">InsufficientFreeAddresses</span>"));
    }
}
