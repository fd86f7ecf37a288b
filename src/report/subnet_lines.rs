//! The per-subnet view of a run with several subnets: one line per subnet (its used
//! addresses as a share of its usable size, and its free /28 blocks) from
//! `subnet_timeseries.csv`, and the `subnets.csv` table. A run with one subnet has neither:
//! `subnet.svg` already is that subnet's chart.

use std::fmt::Write as _;

use super::chart::{self, Mark, Panel};
use super::page::int;
use super::plots::WIDTH;
use super::svg::{Anchor, Font, Svg, escape};
use super::{RunOutput, SubnetSample};

const LEFT: f64 = 84.0;
const RIGHT: f64 = 28.0;

/// One colour per subnet, cycling (no red: red marks failures).
const COLOURS: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#bab0ac",
];

fn end_time(run: &RunOutput) -> f64 {
    let last = run.timeseries.last().map_or(0.0, |s| s.time_s);
    run.summary.duration_s.max(last)
}

/// Subnet `i`'s samples.
fn of(run: &RunOutput, i: usize) -> impl Iterator<Item = &SubnetSample> {
    let n = run.subnets.len().max(1);
    run.subnet_timeseries.iter().skip(i).step_by(n)
}

/// The per-subnet chart, or `None` with fewer than two subnets.
pub fn subnets_svg(run: &RunOutput) -> Option<String> {
    if run.subnets.len() < 2 {
        return None;
    }
    let height = 520.0;
    let mut svg = Svg::new(
        WIDTH,
        height,
        "Each subnet's used addresses and free /28 blocks over time",
    );
    svg.text(
        LEFT - 60.0,
        28.0,
        Anchor::Start,
        Font::bold(17.0),
        "Subnets, one line each",
    );
    svg.text(
        LEFT - 60.0,
        48.0,
        Anchor::Start,
        Font::muted(12.5),
        "Used addresses as a share of each subnet's usable size (top) and its free aligned /28 blocks (bottom).",
    );
    let w = WIDTH - LEFT - RIGHT;
    let entries: Vec<(Mark, String)> = run
        .subnets
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let zone = if r.zone.is_empty() {
                String::new()
            } else {
                format!(", {}", r.zone)
            };
            (
                Mark::Line(COLOURS[i % COLOURS.len()]),
                format!("{} ({}{zone})", r.name, r.cidr),
            )
        })
        .collect();
    let lh = chart::legend(&mut svg, LEFT, 62.0, w, &entries);
    let xaxis = chart::time_axis(end_time(run));
    let upper = Panel {
        x: LEFT,
        y: 62.0 + lh + 10.0,
        w,
        h: 170.0,
        xaxis: xaxis.clone(),
        yaxis: chart::value_axis(100.0, true, "% of usable used"),
    };
    upper.draw_axes(&mut svg, false);
    let blocks_peak = run
        .subnet_timeseries
        .iter()
        .map(|s| s.free_prefix_blocks)
        .max()
        .unwrap_or(0);
    let ly = upper.y + upper.h + 22.0;
    let lower = Panel {
        x: LEFT,
        y: ly,
        w,
        h: height - ly - 52.0,
        xaxis,
        yaxis: chart::value_axis(
            f64::from(blocks_peak).max(1.0) * 1.1,
            true,
            "Free /28 blocks",
        ),
    };
    lower.draw_axes(&mut svg, true);
    for (i, r) in run.subnets.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let usable = r.usable.max(1) as f64;
        let used = chart::thin(
            upper.path(of(run, i).map(|s| (s.time_s, 100.0 * f64::from(s.used) / usable))),
        );
        svg.polyline(&used, colour, 1.8);
        let free = chart::thin(
            lower.path(of(run, i).map(|s| (s.time_s, f64::from(s.free_prefix_blocks)))),
        );
        svg.polyline(&free, colour, 1.8);
    }
    Some(svg.finish())
}

/// The `subnets.csv` table.
pub fn subnets_table(out: &mut String, run: &RunOutput) {
    if run.subnets.len() < 2 {
        return;
    }
    out.push_str(
        "<p>Every subnet on its own (<a href=\"subnets.csv\">subnets.csv</a>, \
         <a href=\"subnet_timeseries.csv\">subnet_timeseries.csv</a>).</p>\n\
         <div class=\"wide\"><table><thead><tr><th>Subnet</th><th>CIDR</th><th>Zone</th>\
         <th class=\"num\">Usable</th><th class=\"num\">Used at peak</th><th class=\"num\">Used at end</th>\
         <th class=\"num\">Free /28 at least</th><th class=\"num\">ENIs at end</th>\
         <th class=\"num\">InsufficientCidrBlocks</th><th class=\"num\">InsufficientFreeAddresses</th>\
         </tr></thead><tbody>\n",
    );
    for r in &run.subnets {
        let cell = |n: u64| {
            let class = if n > 0 { "num bad" } else { "num" };
            format!("<td class=\"{class}\">{}</td>", int(n))
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}{}</tr>",
            escape(&r.name),
            escape(&r.cidr),
            escape(&r.zone),
            int(r.usable),
            int(r.used_peak),
            int(r.used_final),
            int(r.free_prefix_blocks_min),
            int(r.enis_final),
            cell(r.insufficient_cidr_blocks),
            cell(r.insufficient_free_addresses)
        );
    }
    out.push_str("</tbody></table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::SubnetRow;

    fn run(subnets: usize) -> RunOutput {
        let mut r = RunOutput::default();
        r.summary.duration_s = 20.0;
        for i in 0..subnets {
            r.subnets.push(SubnetRow {
                name: format!("s{i}"),
                cidr: "10.0.0.0/24".into(),
                usable: 251,
                ..SubnetRow::default()
            });
        }
        for t in 0..3u32 {
            for i in 0..subnets {
                r.subnet_timeseries.push(SubnetSample {
                    time_s: f64::from(t) * 10.0,
                    subnet: i as u32,
                    used: 10 * t + i as u32,
                    free: 251 - 10 * t,
                    free_prefix_blocks: 14 - t,
                    fragmentation_score: 0,
                });
            }
        }
        r
    }

    #[test]
    fn one_line_per_subnet_and_none_for_a_single_subnet() {
        assert!(subnets_svg(&run(1)).is_none());
        let svg = subnets_svg(&run(3)).unwrap();
        // Two curves (used share, free blocks) per subnet.
        assert_eq!(svg.matches("<polyline").count(), 6, "{svg}");
        for name in ["s0 (10.0.0.0/24)", "s2 (10.0.0.0/24)"] {
            assert!(svg.contains(name), "{name}");
        }
        let mut table = String::new();
        subnets_table(&mut table, &run(3));
        assert_eq!(table.matches("<tr><td>").count(), 3);
    }
}
