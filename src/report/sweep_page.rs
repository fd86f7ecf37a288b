//! The sweep's pictures and page: `sweep.svg` (every cell side by side on the four measures,
//! with the spread across seeds) and `sweep.html` (the answer first, the rule it follows,
//! the plot, and a table of every cell). The judging lives in [`super::comparison`].

use std::fmt::Write;

use super::chart::{self, Axis, Panel, human_time};
use super::comparison::{
    Cell, MEASURES, Measure, SweepRun, cells, mean_str, recommend, wait_tolerance,
};
use super::page::{Kpi, int, kpis, page, wait};
use super::svg::{Anchor, Font, GRID, INK, MUTED, Svg, escape, text_width};

/// Where a panel's axis ends: at the largest value, unless a few cells are far beyond the
/// rest (a setting under which pods never get an address), then at 3 × the median cell's
/// largest value so that the other cells stay readable; the outliers are drawn at the edge.
fn axis_cap(maxes: &[f64]) -> f64 {
    let top = maxes.iter().copied().fold(0.0, f64::max);
    let mut sorted = maxes.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    if median > 0.0 && top > 4.0 * median {
        3.0 * median
    } else {
        top
    }
}

const OK_COLOUR: &str = "#2f855a";
const BAD_COLOUR: &str = "#c53030";
const DOT_COLOUR: &str = "#2b6cb0";

/// `sweep.svg`: one row per cell, one panel per measure; each row shows every seed (rings),
/// the mean (dot) and the min–max spread (bar). Red marks a cell that breaks the condition
/// the measure stands for; the recommended row is shaded green.
pub fn sweep_svg(keys: &[String], runs: &[SweepRun]) -> String {
    let cells = cells(runs);
    let (verdicts, best) = recommend(&cells);
    let width = 1000.0;
    let row_h = 26.0;
    let key_font = Font::bold(12.0);
    let val_font = Font::plain(12.0);
    // One label column per varied key.
    let col_w: Vec<f64> = keys
        .iter()
        .enumerate()
        .map(|(k, name)| {
            cells
                .iter()
                .map(|c| text_width(&c.values[k], val_font))
                .fold(text_width(name, key_font), f64::max)
                .min(220.0)
                + 16.0
        })
        .collect();
    let labels_w: f64 = 16.0 + col_w.iter().sum::<f64>();
    let gap = 36.0;
    let panel_w = ((width - labels_w - 16.0 - gap * 3.0) / 4.0).max(90.0);
    let width = labels_w + 4.0 * panel_w + 3.0 * gap + 16.0;
    let top = 96.0;
    let height = top + cells.len().max(1) as f64 * row_h + 66.0;
    let mut svg = Svg::new(width, height, "Sweep: settings compared side by side");
    let seeds = cells.first().map_or(0, |c| c.runs.len());
    svg.text(
        16.0,
        28.0,
        Anchor::Start,
        Font::bold(17.0),
        "Settings compared",
    );
    svg.text(
        16.0,
        48.0,
        Anchor::Start,
        Font::muted(12.5),
        &format!(
            "{} cells × {} seed{}. Rings: each seed; dot: mean; bar: min–max. Lower is better in every panel.",
            cells.len(),
            seeds,
            if seeds == 1 { "" } else { "s" }
        ),
    );

    // Key headers.
    let mut x = 16.0;
    for (k, name) in keys.iter().enumerate() {
        svg.text(x, top - 10.0, Anchor::Start, key_font, name);
        x += col_w[k];
    }
    // Row backgrounds and labels.
    for (i, c) in cells.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let fill = if Some(i) == best {
            Some("#e6f6ea")
        } else if i % 2 == 1 {
            Some("#f7f9fb")
        } else {
            None
        };
        if let Some(f) = fill {
            svg.rect(8.0, y, width - 16.0, row_h, f, None);
        }
        let mut x = 16.0;
        for (k, v) in c.values.iter().enumerate() {
            let font = if Some(i) == best {
                Font::bold(12.0)
            } else {
                val_font
            };
            svg.text(x, y + row_h / 2.0 + 4.0, Anchor::Start, font, v);
            x += col_w[k];
        }
    }

    for (p, m) in MEASURES.iter().enumerate() {
        let x0 = labels_w + p as f64 * (panel_w + gap);
        let maxes: Vec<f64> = cells.iter().map(|c| c.spread(*m).max).collect();
        let integer = *m != Measure::WaitP99;
        let mut xaxis = chart::value_axis(axis_cap(&maxes) * 1.05, integer, m.title());
        // Few ticks fit a narrow panel: keep every other one when crowded.
        if xaxis.ticks.len() > 4 {
            xaxis.ticks = xaxis
                .ticks
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, t)| t.clone())
                .collect();
        }
        let panel = Panel {
            x: x0,
            y: top,
            w: panel_w,
            h: cells.len().max(1) as f64 * row_h,
            xaxis,
            yaxis: Axis {
                min: 0.0,
                max: 1.0,
                ticks: vec![],
                label: String::new(),
            },
        };
        // Title, grid, ticks.
        svg.text(x0, top - 10.0, Anchor::Start, Font::bold(12.5), m.title());
        for (v, label) in &panel.xaxis.ticks {
            let x = panel.px(*v);
            svg.line(x, panel.y, x, panel.y + panel.h, GRID, 1.0, None);
            svg.text(
                x,
                panel.y + panel.h + 16.0,
                Anchor::Middle,
                Font::muted(10.5),
                label,
            );
        }
        svg.line(x0, panel.y, x0, panel.y + panel.h, INK, 1.0, None);
        for (i, c) in cells.iter().enumerate() {
            let cy = top + i as f64 * row_h + row_h / 2.0;
            let s = c.spread(*m);
            let bad = match m {
                Measure::IpsHeld => false,
                Measure::Ec2Calls => verdicts[i].throttled,
                Measure::WaitP99 => verdicts[i].slows_pods,
                Measure::Insufficient => s.max > 0.0,
            };
            let colour = if bad {
                BAD_COLOUR
            } else if Some(i) == best {
                OK_COLOUR
            } else {
                DOT_COLOUR
            };
            // Values beyond the axis are pinned to its end; an off-scale mean becomes an
            // arrow with its value.
            let edge = panel.xaxis.max;
            let px = |v: f64| panel.px(v.min(edge));
            if s.max > s.min {
                svg.line(px(s.min), cy, px(s.max), cy, "#a0aec0", 3.0, None);
            }
            for r in &c.runs {
                svg.circle(px(m.of(r)), cy, 3.5, "none", Some(MUTED));
            }
            if s.mean > edge {
                let x = panel.px(edge);
                svg.polygon(
                    &[(x - 4.0, cy - 6.0), (x + 6.0, cy), (x - 4.0, cy + 6.0)],
                    colour,
                    1.0,
                );
                let label = match m {
                    Measure::WaitP99 => wait(s.mean),
                    _ => mean_str(*m, s.mean),
                };
                svg.text(x - 9.0, cy + 4.0, Anchor::End, Font::bold(10.5), &label);
            } else {
                svg.circle(panel.px(s.mean), cy, 4.5, colour, None);
            }
        }
    }
    let note = match best {
        Some(b) => format!(
            "Green: fewest IPs held without slowing pods, throttling or subnet errors ({}).",
            cells[b].label(keys)
        ),
        None => {
            "No setting avoided slower pods, throttling and subnet errors together.".to_string()
        }
    };
    svg.text(16.0, height - 26.0, Anchor::Start, Font::muted(11.5), &note);
    svg.text(
        16.0,
        height - 10.0,
        Anchor::Start,
        Font::muted(11.5),
        "Red: throttled (EC2 calls), pods slower than the fastest setting allows (p99 wait), or InsufficientCidrBlocks.",
    );
    svg.finish()
}

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
    use crate::report::Summary;

    fn run(values: &[&str], ips: u64, p99: f64) -> SweepRun {
        SweepRun {
            values: values.iter().map(|v| v.to_string()).collect(),
            summary: Summary {
                total_ips_peak: ips,
                ip_wait_p99_s: p99,
                ..Summary::default()
            },
        }
    }

    fn keys() -> Vec<String> {
        vec!["WARM_IP_TARGET".into(), "MINIMUM_IP_TARGET".into()]
    }

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

    #[test]
    fn outliers_do_not_squash_the_axis() {
        assert_eq!(axis_cap(&[10.0, 12.0, 9.0, 1200.0]), 36.0);
        assert_eq!(axis_cap(&[10.0, 12.0, 40.0]), 40.0);
        assert_eq!(axis_cap(&[0.0, 0.0, 5.0]), 5.0);
        assert_eq!(axis_cap(&[]), 0.0);
        let runs = vec![
            run(&["0", "0"], 300, 1200.0),
            run(&["1", "0"], 40, 3.0),
            run(&["2", "0"], 40, 4.0),
        ];
        let svg = sweep_svg(&keys(), &runs);
        assert!(
            svg.contains(">1200 s</text>") || svg.contains(">20m</text>"),
            "{svg}"
        );
    }
}
