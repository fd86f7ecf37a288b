//! The time-series plots of a run: `ips.svg`, `subnet.svg` and `ec2.svg` (DESIGN.md §5).
//!
//! Each function is a pure function of the [`RunOutput`]: same data, same bytes.

use super::chart::{self, Axis, Mark, Panel, group_thousands, human_time};
use super::pl;
use super::svg::{Anchor, Font, Svg};
use super::{Ec2Minute, RunOutput, Sample};
use crate::ec2::Action;

/// Width of every plot, px.
pub const WIDTH: f64 = 900.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 28.0;

const ASSIGNED: &str = "#2b6cb0";
const WARM: &str = "#f6ad55";
const TOTAL: &str = "#1a202c";
const USED: &str = "#2b6cb0";
const LIMIT: &str = "#c53030";
const FREE_BLOCKS: &str = "#2f855a";
const FAILED_OTHER: &str = "#f56565";
const THROTTLED: &str = "#9b2c2c";

/// Colours of the EC2 actions, in [`Action::ALL`] order (no red: red marks failures).
const ACTION_COLOURS: [&str; Action::ALL.len()] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#bab0ac", "#86bcb6", "#d37295",
];

/// Title and subtitle; returns the y where the content may start.
fn header(svg: &mut Svg, title: &str, subtitle: &str) -> f64 {
    svg.text(LEFT - 60.0, 28.0, Anchor::Start, Font::bold(17.0), title);
    svg.text(
        LEFT - 60.0,
        48.0,
        Anchor::Start,
        Font::muted(12.5),
        subtitle,
    );
    62.0
}

/// End of the time axis: the scenario duration, or the last sample if later.
fn end_time(run: &RunOutput) -> f64 {
    let last = run.timeseries.last().map_or(0.0, |s| s.time_s);
    run.summary.duration_s.max(last)
}

fn no_data(svg: &mut Svg, panel: &Panel, what: &str) {
    svg.text(
        panel.x + panel.w / 2.0,
        panel.y + panel.h / 2.0,
        Anchor::Middle,
        Font::muted(13.0),
        what,
    );
}

fn series<F: Fn(&Sample) -> u64>(
    ts: &[Sample],
    f: F,
) -> impl Iterator<Item = (f64, f64)> + use<'_, F> {
    ts.iter().map(move |s| (s.time_s, f(s) as f64))
}

/// A closed area between a lower and an upper pixel path.
fn band(upper: &[(f64, f64)], lower: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut pts = upper.to_vec();
    pts.extend(lower.iter().rev());
    pts
}

/// `ips.svg`: addresses held by the nodes over time — assigned to pods, warm (cooling
/// included), and their sum, the total. Drawn with plotters (SVG backend, its built-in text
/// metrics, integer coordinates: milliseconds across, addresses up; ticks are explicit key
/// points from the report's own time and value axes, so no float tick search).
pub fn ips_svg(run: &RunOutput) -> String {
    let ts = &run.timeseries;
    let s = &run.summary;
    let subtitle = format!(
        "Peak {} IPs held by {} node{}; at the end {} assigned to pods, {} warm ({} cooling).",
        group_thousands(&s.total_ips_peak.to_string()),
        s.nodes,
        if s.nodes == 1 { "" } else { "s" },
        group_thousands(&s.assigned_ips_final.to_string()),
        group_thousands(&s.warm_ips_final.to_string()),
        group_thousands(&s.cooling_ips_final.to_string()),
    );
    let peak = ts
        .iter()
        .map(|s| s.total_ips.max(s.assigned_ips))
        .max()
        .unwrap_or(0);
    let xaxis = chart::time_axis(end_time(run));
    let yaxis = chart::value_axis(peak as f64 * 1.08, true, "IP addresses");
    pl::draw(
        (WIDTH as u32, 400),
        "Pod IP addresses held by the nodes over time",
        |root| {
            use plotters::prelude::*;
            use plotters::style::text_anchor::{HPos, Pos, VPos};
            let (head, body) = root.split_vertically(84);
            pl::header(&head, "IP addresses held by the nodes", &subtitle)?;
            pl::legend(
                &head,
                LEFT as i32,
                62,
                &[
                    (pl::Key::Swatch(ASSIGNED), "Assigned to pods"),
                    (pl::Key::Swatch(WARM), "Warm (unassigned, cooling included)"),
                    (pl::Key::Line(TOTAL), "Total held (assigned + warm)"),
                ],
            )?;
            let ms = |t: f64| (t * 1000.0).round() as i64;
            let xkeys: Vec<i64> = xaxis.ticks.iter().map(|(v, _)| ms(*v)).collect();
            let ykeys: Vec<i64> = yaxis.ticks.iter().map(|(v, _)| v.round() as i64).collect();
            let mut chart = ChartBuilder::on(&body)
                .margin_left(24)
                .margin_right(RIGHT as i32)
                .margin_top(10)
                .x_label_area_size(44)
                .y_label_area_size(60)
                .build_cartesian_2d(
                    (0..ms(xaxis.max)).with_key_points(xkeys),
                    (0..yaxis.max.round() as i64).with_key_points(ykeys),
                )?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .light_line_style(TRANSPARENT)
                .bold_line_style(pl::rgb("#e2e8f0"))
                .x_desc(xaxis.label.as_str())
                .y_desc(yaxis.label.as_str())
                .x_label_formatter(&|v| pl::tick_label(&xaxis, *v as f64 / 1000.0))
                .y_label_formatter(&|v| pl::tick_label(&yaxis, *v as f64))
                .label_style(pl::font(11.0, "#4a5568"))
                .axis_desc_style(pl::font(12.0, "#2d3748"))
                .draw()?;
            if ts.is_empty() {
                let (w, h) = body.dim_in_pixel();
                let centre = pl::font(13.0, "#718096").pos(Pos::new(HPos::Center, VPos::Center));
                return body.draw_text(
                    "No samples were recorded.",
                    &centre,
                    (w as i32 / 2, h as i32 / 2),
                );
            }
            let pts = |f: fn(&Sample) -> u64| -> Vec<(i64, i64)> {
                ts.iter().map(|s| (ms(s.time_s), f(s) as i64)).collect()
            };
            chart.draw_series(AreaSeries::new(
                pts(|s| s.total_ips),
                0,
                pl::rgb(WARM).mix(0.8),
            ))?;
            chart.draw_series(AreaSeries::new(
                pts(|s| s.assigned_ips),
                0,
                pl::rgb(ASSIGNED).mix(0.85),
            ))?;
            chart.draw_series(LineSeries::new(
                pts(|s| s.total_ips),
                pl::rgb(TOTAL).stroke_width(2),
            ))?;
            // The peak of the total (the first of equal peaks).
            if let Some(p) = ts.iter().enumerate().max_by(|a, b| {
                a.1.total_ips
                    .cmp(&b.1.total_ips)
                    .then_with(|| b.0.cmp(&a.0))
            }) {
                let at = (ms(p.1.time_s), p.1.total_ips as i64);
                let label = format!(
                    "peak {} at {}",
                    group_thousands(&p.1.total_ips.to_string()),
                    human_time(p.1.time_s)
                );
                let right_half = at.0 * 10 > ms(xaxis.max) * 6;
                let style = pl::bold(11.5, TOTAL).pos(Pos::new(
                    if right_half { HPos::Right } else { HPos::Left },
                    VPos::Bottom,
                ));
                chart.draw_series(std::iter::once(
                    EmptyElement::at(at)
                        + Circle::new((0, 0), 3, pl::rgb(TOTAL).stroke_width(2))
                        + Text::new(label, (if right_half { -7 } else { 7 }, -6), style),
                ))?;
            }
            Ok(())
        },
    )
}

/// `subnet.svg`: addresses used in the subnet (every tenant: ENI primaries, secondary IPs,
/// prefixes, background) against its usable size, and the free aligned /28 blocks left for
/// prefixes, with the moments `InsufficientCidrBlocks` happened.
pub fn subnet_svg(run: &RunOutput) -> String {
    let ts = &run.timeseries;
    let s = &run.summary;
    let height = 520.0;
    let mut svg = Svg::new(
        WIDTH,
        height,
        "Subnet addresses used and free /28 blocks over time",
    );
    let subtitle = format!(
        "{} of {} usable addresses used at peak; fragmentation score {} at the end, {} at most (0–24 healthy, 100 exhausted).",
        group_thousands(&s.subnet_used_peak.to_string()),
        group_thousands(&s.subnet_usable.to_string()),
        s.fragmentation_score_final,
        s.fragmentation_score_max,
    );
    let top = header(&mut svg, "Subnet usage and free /28 blocks", &subtitle);
    let xaxis = chart::time_axis(end_time(run));
    let w = WIDTH - LEFT - RIGHT;

    // Upper panel: used addresses against the usable size.
    let used_peak = ts.iter().map(|s| s.subnet_used).max().unwrap_or(0);
    let usable = s.subnet_usable;
    let show_usable = usable > 0 && used_peak as f64 >= usable as f64 * 0.25;
    let usable_label = if show_usable {
        format!(
            "Usable addresses ({})",
            group_thousands(&usable.to_string())
        )
    } else {
        format!(
            "Usable: {} (off the scale)",
            group_thousands(&usable.to_string())
        )
    };
    let entries = [
        (
            Mark::Swatch(USED),
            "Used (nodes' ENIs, IPs, prefixes and other tenants)".to_string(),
        ),
        (Mark::Dashed(LIMIT), usable_label),
    ];
    let lh = chart::legend(&mut svg, LEFT, top, w, &entries);
    let ymax = if show_usable {
        usable as f64 * 1.05
    } else {
        used_peak as f64 * 1.1
    };
    let upper = Panel {
        x: LEFT,
        y: top + lh + 10.0,
        w,
        h: 160.0,
        xaxis: xaxis.clone(),
        yaxis: chart::value_axis(ymax, true, "Addresses"),
    };
    upper.draw_axes(&mut svg, false);

    // Lower panel: free /28 blocks and InsufficientCidrBlocks moments.
    let ly = upper.y + upper.h + 22.0;
    let entries = [
        (
            Mark::Line(FREE_BLOCKS),
            "Free aligned /28 blocks (room for prefixes)".to_string(),
        ),
        (
            Mark::Swatch(LIMIT),
            "InsufficientCidrBlocks during the interval".to_string(),
        ),
    ];
    let lh2 = chart::legend(&mut svg, LEFT, ly, w, &entries);
    let free_peak = ts.iter().map(|s| s.free_prefix_blocks).max().unwrap_or(0);
    let lower = Panel {
        x: LEFT,
        y: ly + lh2 + 10.0,
        w,
        h: height - (ly + lh2 + 10.0) - 52.0,
        xaxis,
        yaxis: chart::value_axis(free_peak as f64 * 1.1, true, "Free /28 blocks"),
    };
    lower.draw_axes(&mut svg, true);
    if ts.is_empty() {
        no_data(&mut svg, &upper, "No samples were recorded.");
        return svg.finish();
    }

    let used = upper.path(series(ts, |s| s.subnet_used));
    let base = upper.path(ts.iter().map(|s| (s.time_s, 0.0)));
    svg.polygon(&band(&used, &base), USED, 0.3);
    svg.polyline(&used, USED, 1.8);
    if show_usable {
        let y = upper.py(usable as f64);
        svg.line(upper.x, y, upper.x + upper.w, y, LIMIT, 1.5, Some("6 4"));
    }

    // Sample intervals in which InsufficientCidrBlocks happened: a red rug at the bottom.
    let mut prev = 0;
    let mut prev_t = 0.0;
    for smp in ts {
        if smp.insufficient_cidr_blocks > prev {
            let (x0, x1) = (lower.px(prev_t), lower.px(smp.time_s));
            let x0 = x0.min(x1 - 1.5);
            svg.rect(x0, lower.y + lower.h - 10.0, x1 - x0, 10.0, LIMIT, None);
        }
        prev = smp.insufficient_cidr_blocks;
        prev_t = smp.time_s;
    }
    svg.polyline(
        &lower.path(series(ts, |s| s.free_prefix_blocks)),
        FREE_BLOCKS,
        2.0,
    );

    if let Some(t) = s.first_insufficient_cidr_s {
        let x = lower.px(t);
        svg.line(x, upper.y, x, lower.y + lower.h, LIMIT, 1.2, Some("3 3"));
        let label = format!("first InsufficientCidrBlocks at {}", human_time(t));
        let (lx, anchor) = if x > upper.x + upper.w * 0.6 {
            (x - 6.0, Anchor::End)
        } else {
            (x + 6.0, Anchor::Start)
        };
        svg.text(lx, upper.y + 14.0, anchor, Font::bold(11.5), &label);
    }
    svg.finish()
}

/// One bar of `ec2.svg`: calls by action and failures in `bin` minutes.
#[derive(Clone, Debug, Default, PartialEq)]
struct Bin {
    calls: [u64; Action::ALL.len()],
    failed: u64,
    throttled: u64,
}

/// Minutes per bar: one bar per minute up to 3 h, then wider bars (at most 180).
fn bin_minutes(minutes: u64) -> u64 {
    [1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720, 1440]
        .into_iter()
        .find(|b| minutes.div_ceil(*b) <= 180)
        .unwrap_or_else(|| minutes.div_ceil(180))
}

/// Bins per-minute counts. When the engine recorded none, falls back to all actions
/// together from the cumulative `ec2_calls` of the samples (returns `false`: by action and
/// failures unknown).
fn bins(run: &RunOutput, minutes: u64, width: u64) -> (Vec<Bin>, bool) {
    let n = minutes.div_ceil(width).max(1) as usize;
    let mut out = vec![Bin::default(); n];
    if !run.ec2_per_minute.is_empty() {
        for m in &run.ec2_per_minute {
            let Ec2Minute {
                minute,
                calls,
                failed,
                throttled,
            } = m;
            let i = ((u64::from(*minute) / width) as usize).min(n - 1);
            for (a, c) in calls.iter().enumerate() {
                out[i].calls[a] += c;
            }
            out[i].failed += failed;
            out[i].throttled += throttled;
        }
        return (out, true);
    }
    let mut prev = 0;
    for s in &run.timeseries {
        let delta = s.ec2_calls.saturating_sub(prev);
        prev = s.ec2_calls;
        // Calls counted at a sample happened during the interval before it.
        let minute = ((s.time_s - 1e-6).max(0.0) / 60.0).floor() as u64;
        let i = ((minute / width) as usize).min(n - 1);
        out[i].calls[0] += delta;
    }
    (out, false)
}

/// `ec2.svg`: EC2 calls per minute stacked by action, with failed calls (throttled ones
/// apart) in a strip below.
pub fn ec2_svg(run: &RunOutput) -> String {
    let height = 500.0;
    let mut svg = Svg::new(WIDTH, height, "EC2 API calls per minute by action");
    let end = end_time(run);
    let minutes = ((end / 60.0).ceil() as u64).max(1);
    let width = bin_minutes(minutes);
    let (bins, by_action) = bins(run, minutes, width);
    let per = if width == 1 {
        "per minute".to_string()
    } else {
        format!("per {width} min")
    };
    let total: u64 = bins.iter().flat_map(|b| b.calls.iter()).sum();
    let failed: u64 = bins.iter().map(|b| b.failed).sum();
    let throttled: u64 = bins.iter().map(|b| b.throttled).sum();
    let busiest = bins
        .iter()
        .enumerate()
        .map(|(i, b)| (b.calls.iter().sum::<u64>(), i))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)))
        .unwrap_or((0, 0));
    let subtitle = if by_action {
        format!(
            "{} calls, {} failed ({} throttled); busiest: {} calls {per} at {}.",
            group_thousands(&total.to_string()),
            group_thousands(&failed.to_string()),
            group_thousands(&throttled.to_string()),
            group_thousands(&busiest.0.to_string()),
            human_time((busiest.1 as u64 * width * 60) as f64),
        )
    } else {
        format!(
            "{} calls (per-action counts were not recorded for this run).",
            group_thousands(&total.to_string())
        )
    };
    let title = format!("EC2 API calls {per}");
    let top = header(&mut svg, &title, &subtitle);
    let w = WIDTH - LEFT - RIGHT;

    let mut used = [false; Action::ALL.len()];
    for b in &bins {
        for (a, c) in b.calls.iter().enumerate() {
            used[a] |= *c > 0;
        }
    }
    let entries: Vec<(Mark, String)> = if by_action {
        Action::ALL
            .iter()
            .filter(|a| used[a.index()])
            .map(|a| {
                (
                    Mark::Swatch(ACTION_COLOURS[a.index()]),
                    a.name().to_string(),
                )
            })
            .collect()
    } else {
        vec![(Mark::Swatch(ACTION_COLOURS[0]), "All actions".to_string())]
    };
    let lh = chart::legend(&mut svg, LEFT, top, w, &entries);
    let xaxis = Axis {
        max: (bins.len() as u64 * width * 60) as f64,
        ..chart::time_axis(end)
    };
    let peak = busiest.0.max(1);
    let upper_y = top + lh + 10.0;
    let upper = Panel {
        x: LEFT,
        y: upper_y,
        w,
        h: height - upper_y - 52.0 - 140.0,
        xaxis: xaxis.clone(),
        yaxis: chart::value_axis(peak as f64 * 1.05, true, &format!("Calls {per}")),
    };
    upper.draw_axes(&mut svg, false);

    let ly = upper.y + upper.h + 20.0;
    let entries = [
        (
            Mark::Swatch(THROTTLED),
            "Throttled (RequestLimitExceeded)".to_string(),
        ),
        (
            Mark::Swatch(FAILED_OTHER),
            "Other errors (InsufficientCidrBlocks, …)".to_string(),
        ),
    ];
    let lh2 = chart::legend(&mut svg, LEFT, ly, w, &entries);
    let fail_peak = bins.iter().map(|b| b.failed).max().unwrap_or(0);
    let lower = Panel {
        x: LEFT,
        y: ly + lh2 + 8.0,
        w,
        h: height - (ly + lh2 + 8.0) - 52.0,
        xaxis,
        yaxis: chart::value_axis_ticks(fail_peak as f64, true, "Failed", 2),
    };
    lower.draw_axes(&mut svg, true);

    let bar_w = upper.w / bins.len() as f64;
    let gap = if bar_w >= 4.0 { 1.0 } else { 0.0 };
    for (i, b) in bins.iter().enumerate() {
        let x = upper.x + i as f64 * bar_w + gap / 2.0;
        let mut acc = 0u64;
        for (a, &c) in b.calls.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let (y0, y1) = (upper.py(acc as f64), upper.py((acc + c) as f64));
            svg.rect(x, y1, bar_w - gap, y0 - y1, ACTION_COLOURS[a], None);
            acc += c;
        }
        if b.failed > 0 {
            let thr = b.throttled.min(b.failed);
            let (y0, y1, y2) = (
                lower.py(0.0),
                lower.py(thr as f64),
                lower.py(b.failed as f64),
            );
            svg.rect(x, y1, bar_w - gap, y0 - y1, THROTTLED, None);
            svg.rect(x, y2, bar_w - gap, y1 - y2, FAILED_OTHER, None);
        }
    }
    if total == 0 {
        no_data(&mut svg, &upper, "No EC2 calls were made.");
    }
    if !by_action {
        no_data(&mut svg, &lower, "Failures per minute were not recorded.");
    } else if failed == 0 {
        no_data(&mut svg, &lower, "No call failed.");
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_minutes_until_three_hours() {
        assert_eq!(bin_minutes(30), 1);
        assert_eq!(bin_minutes(180), 1);
        assert_eq!(bin_minutes(181), 2);
        assert_eq!(bin_minutes(360), 2);
        assert_eq!(bin_minutes(1440), 10);
        assert_eq!(bin_minutes(100_000), 720);
        assert_eq!(bin_minutes(200_000), 1440);
        assert_eq!(bin_minutes(1_000_000), 5556);
    }

    #[test]
    fn minutes_are_summed_into_bins() {
        let mut run = RunOutput::default();
        let mut m = Ec2Minute {
            minute: 3,
            failed: 2,
            throttled: 1,
            ..Ec2Minute::default()
        };
        m.calls[0] = 5;
        run.ec2_per_minute.push(m.clone());
        m.minute = 4;
        m.calls[2] = 1;
        run.ec2_per_minute.push(m);
        let (b, by_action) = bins(&run, 10, 2);
        assert!(by_action);
        assert_eq!(b.len(), 5);
        assert_eq!(b[1].calls[0], 5);
        assert_eq!(b[2].calls[0], 5);
        assert_eq!(b[2].calls[2], 1);
        assert_eq!((b[1].failed, b[1].throttled), (2, 1));
    }

    #[test]
    fn without_per_minute_data_the_cumulative_samples_are_used() {
        let run = RunOutput {
            timeseries: (1..=12u32)
                .map(|i| Sample {
                    time_s: f64::from(i) * 10.0,
                    ec2_calls: u64::from(i) * 3,
                    ..Sample::default()
                })
                .collect(),
            ..RunOutput::default()
        };
        let (b, by_action) = bins(&run, 2, 1);
        assert!(!by_action);
        assert_eq!(b[0].calls[0], 18, "samples at 10..60 s belong to minute 0");
        assert_eq!(b[1].calls[0], 18);
    }

    #[test]
    fn ips_is_drawn_by_plotters_well_formed_and_byte_stable() {
        let run = RunOutput {
            timeseries: (0..=360u32)
                .map(|i| Sample {
                    time_s: f64::from(i) * 60.0,
                    assigned_ips: u64::from(i % 50),
                    total_ips: 60 + u64::from(i % 7),
                    ..Sample::default()
                })
                .collect(),
            ..RunOutput::default()
        };
        let a = ips_svg(&run);
        assert_eq!(a, ips_svg(&run), "same data, same bytes");
        let doc = roxmltree::Document::parse(&a).expect("well-formed SVG");
        let texts: Vec<&str> = doc
            .descendants()
            .filter_map(|n| n.text())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        for want in [
            "IP addresses held by the nodes",
            "Assigned to pods",
            "Time since start (h)",
            "peak 66 at 6m",
        ] {
            assert!(texts.contains(&want), "{want:?} not in {texts:?}");
        }
        // Integer coordinates only (plotters-svg), so no platform float formatting.
        assert!(!a.contains(" x=\"0.") && !a.contains("points=\"0."));
        let empty = ips_svg(&RunOutput::default());
        assert!(empty.contains("No samples were recorded."));
    }
}
