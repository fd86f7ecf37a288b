//! The time-series plots of a run: `ips.svg` and `subnet.svg` here, `ec2.svg` in
//! [`super::ec2_plot`] (DESIGN.md §5). Drawn with plotters through [`super::plot`].
//!
//! Each function is a pure function of its data: same data, same bytes.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::format::{group_thousands, human_time};
use super::plot::axis::{self, thin};
use super::plot::{self, Area, Chart, Drawn, Frame, Key, Mesh};
use super::{RunOutput, Sample};

/// Width of every plot, px.
pub const WIDTH: u32 = 900;
/// Left edge of the plotting area (the y labels sit left of it), px.
pub const LEFT: i32 = 84;
/// Free space right of the plotting area, px.
pub const RIGHT: u32 = 28;
/// Left edge of the titles, px.
pub const MARGIN: i32 = 24;
/// Width of the y label area, px.
const Y_AREA: u32 = (LEFT - MARGIN) as u32;
/// Width of the plotting area, px (the columns curves are thinned to).
pub const PLOT_W: u32 = WIDTH - LEFT as u32 - RIGHT;

const ASSIGNED: &str = "#2b6cb0";
const WARM: &str = "#f6ad55";
const TOTAL: &str = "#1a202c";
const USED: &str = "#2b6cb0";
/// Red marks limits and failures (never a series).
pub const LIMIT: &str = "#c53030";
const FREE_BLOCKS: &str = "#2f855a";

/// Colours of the second and later curves of a panel (one per subnet): no red, no green.
const CURVES: [&str; 8] = [
    "#dd6b20", "#805ad5", "#319795", "#d69e2e", "#b83280", "#4a5568", "#3182ce", "#975a16",
];

/// End of the time axis: the scenario duration, or the last sample if later.
pub fn end_time(run: &RunOutput) -> f64 {
    let last = run.timeseries.last().map_or(0.0, |s| s.time_s);
    run.summary.duration_s.max(last)
}

/// The part of `root` from `y` down to `y + h`, from the titles' left margin.
pub fn band<'a>(root: &Area<'a>, y: i32, h: i32) -> Area<'a> {
    root.clone()
        .shrink((MARGIN, y), (WIDTH - MARGIN as u32, h.max(1) as u32))
}

/// A time-series chart on `area`: y labels left of [`LEFT`], `x_area` px of x labels.
pub fn series_chart<'a, 'b>(
    area: &'a Area<'b>,
    frame: &Frame,
    x_area: u32,
) -> Result<Chart<'a, 'b>, plot::DrawError> {
    frame.build(area, (Y_AREA, x_area), (4, RIGHT))
}

fn points(ts: &[Sample], frame: &Frame, f: fn(&Sample) -> u64) -> Vec<(i64, i64)> {
    thin(ts.iter().map(|s| (s.time_s, f(s) as f64)), &frame.x, PLOT_W)
        .into_iter()
        .map(|(x, y)| frame.at(x, y))
        .collect()
}

/// `ips.svg`: addresses held by the nodes over time — assigned to pods, warm (cooling
/// included), and their sum, the total, with its peak marked.
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
    let frame = Frame {
        x: axis::time_axis(end_time(run)),
        y: axis::value_axis(peak as f64 * 1.08, true, "IP addresses"),
    };
    let height = 400;
    plot::draw(
        (WIDTH, height),
        "Pod IP addresses held by the nodes over time",
        |root| {
            let y = plot::header(root, MARGIN, "IP addresses held by the nodes", &[&subtitle])?;
            let y = y + plot::legend(
                root,
                (LEFT, y),
                PLOT_W as i32,
                &[
                    (Key::Swatch(ASSIGNED), "Assigned to pods"),
                    (Key::Swatch(WARM), "Warm (unassigned, cooling included)"),
                    (Key::Line(TOTAL), "Total held (assigned + warm)"),
                ],
            )?;
            let body = band(root, y, height as i32 - y);
            let mut chart = series_chart(&body, &frame, 44)?;
            frame.mesh(&mut chart, Mesh::SERIES)?;
            if ts.is_empty() {
                return plot::centred_note(
                    &chart.plotting_area().strip_coord_spec(),
                    "No samples were recorded.",
                );
            }
            let base = frame.y.key(0.0);
            chart.draw_series(AreaSeries::new(
                points(ts, &frame, |s| s.total_ips),
                base,
                plot::rgb(WARM).mix(0.8),
            ))?;
            chart.draw_series(AreaSeries::new(
                points(ts, &frame, |s| s.assigned_ips),
                base,
                plot::rgb(ASSIGNED).mix(0.85),
            ))?;
            chart.draw_series(LineSeries::new(
                points(ts, &frame, |s| s.total_ips),
                plot::rgb(TOTAL).stroke_width(2),
            ))?;
            // The peak of the total (the first of equal peaks).
            if let Some(p) = ts.iter().enumerate().max_by(|a, b| {
                a.1.total_ips
                    .cmp(&b.1.total_ips)
                    .then_with(|| b.0.cmp(&a.0))
            }) {
                let label = format!(
                    "peak {} at {}",
                    group_thousands(&p.1.total_ips.to_string()),
                    human_time(p.1.time_s)
                );
                let at = frame.at(p.1.time_s, p.1.total_ips as f64);
                marker_label(&mut chart, &frame, at, label)?;
            }
            Ok(())
        },
    )
}

/// A ringed point at `at` with a bold label above it, on the side with room.
fn marker_label(chart: &mut Chart, frame: &Frame, at: (i64, i64), label: String) -> Drawn {
    let right_half = at.0 - frame.x.key(frame.x.min)
        > (frame.x.key(frame.x.max) - frame.x.key(frame.x.min)) * 6 / 10;
    let style = plot::anchored(
        plot::bold(11.5, TOTAL),
        if right_half { HPos::Right } else { HPos::Left },
        VPos::Bottom,
    );
    chart
        .draw_series(std::iter::once(
            EmptyElement::at(at)
                + Circle::new((0, 0), 3, plot::rgb(TOTAL).stroke_width(2))
                + Text::new(label, (if right_half { -7 } else { 7 }, -6), style),
        ))
        .map(|_| ())
}

/// A named curve: (time s, value) points in time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curve {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// What `subnet.svg` shows. Each panel takes any number of curves — the whole subnet, or
/// one per subnet (the first curve of the upper panel is also filled: the total, or the
/// only subnet); curve `i` has the same colour in both panels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubnetChart {
    pub subtitle: String,
    /// End of the time axis, s.
    pub end_s: f64,
    /// Addresses used (ENI primaries, secondary IPs, prefixes, other tenants).
    pub used: Vec<Curve>,
    /// Usable addresses: the limit drawn as a dashed line (off the scale below 25 % use).
    pub usable: u64,
    /// Free aligned /28 blocks (room for prefixes).
    pub free_blocks: Vec<Curve>,
    /// Sample intervals (from, to) in s during which `InsufficientCidrBlocks` happened.
    pub insufficient: Vec<(f64, f64)>,
    /// The first `InsufficientCidrBlocks`, s: a dashed line through both panels.
    pub first_insufficient_s: Option<f64>,
}

impl SubnetChart {
    /// The run's whole-subnet curves (all subnets together, as `timeseries.csv` has them).
    pub fn of_run(run: &RunOutput) -> SubnetChart {
        let ts = &run.timeseries;
        let s = &run.summary;
        let curve = |name: &str, f: fn(&Sample) -> u64| Curve {
            name: name.to_string(),
            points: ts.iter().map(|s| (s.time_s, f(s) as f64)).collect(),
        };
        let mut insufficient = Vec::new();
        let (mut prev, mut prev_t) = (0, 0.0);
        for smp in ts {
            if smp.insufficient_cidr_blocks > prev {
                insufficient.push((prev_t, smp.time_s));
            }
            prev = smp.insufficient_cidr_blocks;
            prev_t = smp.time_s;
        }
        SubnetChart {
            subtitle: format!(
                "{} of {} usable addresses used at peak; fragmentation score {} at the end, {} at most (0–24 healthy, 100 exhausted).",
                group_thousands(&s.subnet_used_peak.to_string()),
                group_thousands(&s.subnet_usable.to_string()),
                s.fragmentation_score_final,
                s.fragmentation_score_max,
            ),
            end_s: end_time(run),
            used: if ts.is_empty() {
                vec![]
            } else {
                vec![curve(
                    "Used (nodes' ENIs, IPs, prefixes and other tenants)",
                    |s| s.subnet_used,
                )]
            },
            usable: s.subnet_usable,
            free_blocks: if ts.is_empty() {
                vec![]
            } else {
                vec![curve("Free aligned /28 blocks (room for prefixes)", |s| {
                    s.free_prefix_blocks
                })]
            },
            insufficient,
            first_insufficient_s: s.first_insufficient_cidr_s,
        }
    }
}

fn peak(curves: &[Curve]) -> f64 {
    curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
}

fn colour(first: &'static str, i: usize) -> &'static str {
    if i == 0 {
        first
    } else {
        CURVES[(i - 1) % CURVES.len()]
    }
}

fn curve_points(c: &Curve, frame: &Frame) -> Vec<(i64, i64)> {
    thin(c.points.iter().copied(), &frame.x, PLOT_W)
        .into_iter()
        .map(|(x, y)| frame.at(x, y))
        .collect()
}

/// `subnet.svg`: addresses used in the subnet against its usable size (upper panel), and
/// the free aligned /28 blocks left for prefixes with the moments `InsufficientCidrBlocks`
/// happened (lower panel).
pub fn subnet_svg(run: &RunOutput) -> String {
    subnet_chart(&SubnetChart::of_run(run))
}

/// Draws a [`SubnetChart`].
pub fn subnet_chart(c: &SubnetChart) -> String {
    let height = 520;
    let x = axis::time_axis(c.end_s);
    let used_peak = peak(&c.used);
    let show_usable = c.usable > 0 && used_peak >= c.usable as f64 * 0.25;
    let usable = group_thousands(&c.usable.to_string());
    let usable_label = if show_usable {
        format!("Usable addresses ({usable})")
    } else {
        format!("Usable: {usable} (off the scale)")
    };
    let upper = Frame {
        x: x.clone(),
        y: axis::value_axis(
            if show_usable {
                c.usable as f64 * 1.05
            } else {
                used_peak * 1.1
            },
            true,
            "Addresses",
        ),
    };
    let lower = Frame {
        x,
        y: axis::value_axis(peak(&c.free_blocks) * 1.1, true, "Free /28 blocks"),
    };
    plot::draw(
        (WIDTH, height),
        "Subnet addresses used and free /28 blocks over time",
        |root| {
            let y = plot::header(
                root,
                MARGIN,
                "Subnet usage and free /28 blocks",
                &[&c.subtitle],
            )?;
            let mut entries: Vec<(Key, &str)> = c
                .used
                .iter()
                .enumerate()
                .map(|(i, u)| {
                    let k = colour(USED, i);
                    (
                        if i == 0 { Key::Swatch(k) } else { Key::Line(k) },
                        u.name.as_str(),
                    )
                })
                .collect();
            entries.push((Key::Dashed(LIMIT), &usable_label));
            let y = y + plot::legend(root, (LEFT, y), PLOT_W as i32, &entries)?;
            let upper_area = band(root, y, 172);
            let mut top = series_chart(&upper_area, &upper, 8)?;
            upper.mesh(
                &mut top,
                Mesh {
                    x_labels: false,
                    ..Mesh::SERIES
                },
            )?;

            let y = y + 172 + 12;
            let mut entries: Vec<(Key, &str)> = c
                .free_blocks
                .iter()
                .enumerate()
                .map(|(i, f)| (Key::Line(colour(FREE_BLOCKS, i)), f.name.as_str()))
                .collect();
            entries.push((
                Key::Swatch(LIMIT),
                "InsufficientCidrBlocks during the interval",
            ));
            let y = y + plot::legend(root, (LEFT, y), PLOT_W as i32, &entries)?;
            let lower_area = band(root, y, height as i32 - y);
            let mut bottom = series_chart(&lower_area, &lower, 44)?;
            lower.mesh(&mut bottom, Mesh::SERIES)?;

            if c.used.is_empty() {
                return plot::centred_note(
                    &top.plotting_area().strip_coord_spec(),
                    "No samples were recorded.",
                );
            }
            for (i, u) in c.used.iter().enumerate() {
                let pts = curve_points(u, &upper);
                let k = plot::rgb(colour(USED, i));
                if i == 0 {
                    top.draw_series(AreaSeries::new(pts.clone(), upper.y.key(0.0), k.mix(0.3)))?;
                }
                top.draw_series(LineSeries::new(pts, k.stroke_width(2)))?;
            }
            if show_usable {
                plot::hline(&mut top, &upper, c.usable as f64, LIMIT, (6, 4))?;
            }
            // The intervals with InsufficientCidrBlocks: a red rug at the bottom, at least
            // 2 px wide.
            let min_w = (lower.x.max - lower.x.min) * 2.0 / f64::from(PLOT_W);
            let rug = (lower.y.max - lower.y.min) * 0.06;
            bottom.draw_series(c.insufficient.iter().map(|&(a, b)| {
                let a = a.min(b - min_w).max(lower.x.min);
                Rectangle::new(
                    [lower.at(a, 0.0), lower.at(b, rug)],
                    plot::rgb(LIMIT).filled(),
                )
            }))?;
            for (i, f) in c.free_blocks.iter().enumerate() {
                bottom.draw_series(LineSeries::new(
                    curve_points(f, &lower),
                    plot::rgb(colour(FREE_BLOCKS, i)).stroke_width(2),
                ))?;
            }
            if let Some(t) = c.first_insufficient_s {
                plot::vline(&mut top, &upper, t, LIMIT, (3, 3))?;
                plot::vline(&mut bottom, &lower, t, LIMIT, (3, 3))?;
                let right = t > upper.x.min + (upper.x.max - upper.x.min) * 0.6;
                let style = plot::anchored(
                    plot::bold(11.5, TOTAL),
                    if right { HPos::Right } else { HPos::Left },
                    VPos::Top,
                );
                top.draw_series(std::iter::once(
                    EmptyElement::at(upper.at(t, upper.y.max))
                        + Text::new(
                            format!("first InsufficientCidrBlocks at {}", human_time(t)),
                            (if right { -6 } else { 6 }, 4),
                            style,
                        ),
                ))?;
            }
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plot::tests::check_svg;

    fn run() -> RunOutput {
        RunOutput {
            timeseries: (0..=360u32)
                .map(|i| Sample {
                    time_s: f64::from(i) * 60.0,
                    assigned_ips: u64::from(i % 50),
                    total_ips: 60 + u64::from(i % 7),
                    subnet_used: 100 + u64::from(i),
                    free_prefix_blocks: 40 - u64::from(i / 10),
                    insufficient_cidr_blocks: u64::from(i / 100),
                    ..Sample::default()
                })
                .collect(),
            ..RunOutput::default()
        }
    }

    #[test]
    fn ips_is_well_formed_byte_stable_and_labelled() {
        let run = run();
        let a = ips_svg(&run);
        assert_eq!(a, ips_svg(&run), "same data, same bytes");
        let texts = check_svg(&a);
        for want in [
            "IP addresses held by the nodes",
            "Assigned to pods",
            "Time since start (h)",
            "IP addresses",
            "peak 66 at 6m",
            "6",
        ] {
            assert!(texts.iter().any(|t| t == want), "{want:?} not in {texts:?}");
        }
        // Areas for warm and assigned, the total's line (legend lines are separate).
        assert_eq!(a.matches("<polygon").count(), 2, "{a}");
        let empty = ips_svg(&RunOutput::default());
        check_svg(&empty);
        assert!(empty.contains("No samples were recorded."));
    }

    #[test]
    fn the_subnet_chart_draws_one_curve_per_series() {
        let run = run();
        let one = SubnetChart::of_run(&run);
        let svg = subnet_chart(&one);
        assert_eq!(svg, subnet_svg(&run));
        assert_eq!(svg, subnet_chart(&one), "same data, same bytes");
        let texts = check_svg(&svg);
        assert!(
            texts
                .iter()
                .any(|t| t == "Used (nodes' ENIs, IPs, prefixes and other tenants)")
        );
        assert!(texts.iter().any(|t| t == "Free /28 blocks"));
        // The three InsufficientCidrBlocks intervals: red rectangles (and the legend's).
        assert_eq!(one.insufficient.len(), 3);
        assert_eq!(svg.matches("fill=\"#C53030\"").count(), 1 + 3, "{svg}");
        let lines = svg.matches("<polyline").count();

        // Per-subnet curves: one more line per curve in each panel, each in the legend.
        let mut three = one.clone();
        for name in ["a", "b"] {
            let mut u = one.used[0].clone();
            u.name = format!("subnet {name}");
            three.used.push(u);
            let mut f = one.free_blocks[0].clone();
            f.name = format!("subnet {name} free /28s");
            three.free_blocks.push(f);
        }
        let svg3 = subnet_chart(&three);
        let texts = check_svg(&svg3);
        for want in ["subnet a", "subnet b", "subnet b free /28s"] {
            assert!(texts.iter().any(|t| t == want), "{want:?}");
        }
        // Each added curve: a data line and a legend line.
        assert_eq!(svg3.matches("<polyline").count(), lines + 4 * 2, "{svg3}");
        assert!(svg3.contains("stroke=\"#DD6B20\"") && svg3.contains("stroke=\"#805AD5\""));
    }

    #[test]
    fn the_usable_line_and_the_first_insufficient_marker() {
        let mut c = SubnetChart::of_run(&run());
        c.usable = 500;
        c.first_insufficient_s = Some(6000.0);
        let svg = subnet_chart(&c);
        let texts = check_svg(&svg);
        assert!(
            texts.iter().any(|t| t == "Usable addresses (500)"),
            "{texts:?}"
        );
        assert!(
            texts
                .iter()
                .any(|t| t == "first InsufficientCidrBlocks at 1h 40m")
        );
        assert!(
            texts.iter().any(|t| t == "600"),
            "the axis reaches the usable size"
        );
        c.usable = 100_000;
        let texts = check_svg(&subnet_chart(&c));
        assert!(texts.iter().any(|t| t == "Usable: 100,000 (off the scale)"));
        assert!(!texts.iter().any(|t| t == "100,000"), "no tick that far");
    }
}
