//! `ec2.svg`: EC2 calls per minute (or per wider bin) stacked by action, with failed calls
//! (throttled ones apart) in a strip below (DESIGN.md §5). Drawn with plotters through
//! [`super::plot`]; a pure function of the run.

use plotters::prelude::*;

use super::format::{group_thousands, human_time};
use super::plot::{self, Axis, Frame, Key, Mesh, axis};
use super::plots::{LEFT, MARGIN, PLOT_W, WIDTH, band, end_time, series_chart};
use super::{Ec2Minute, RunOutput};
use crate::ec2::Action;

const FAILED_OTHER: &str = "#f56565";
const THROTTLED: &str = "#9b2c2c";

/// Colours of the EC2 actions, in [`Action::ALL`] order (no red: red marks failures).
const ACTION_COLOURS: [&str; Action::ALL.len()] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#bab0ac", "#86bcb6", "#d37295",
];

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
    let height = 500;
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
    let mut used = [false; Action::ALL.len()];
    for b in &bins {
        for (a, c) in b.calls.iter().enumerate() {
            used[a] |= *c > 0;
        }
    }
    let entries: Vec<(Key, &str)> = if by_action {
        Action::ALL
            .iter()
            .filter(|a| used[a.index()])
            .map(|a| (Key::Swatch(ACTION_COLOURS[a.index()]), a.name()))
            .collect()
    } else {
        vec![(Key::Swatch(ACTION_COLOURS[0]), "All actions")]
    };
    let bin_s = (width * 60) as f64;
    let x = Axis {
        max: bins.len() as f64 * bin_s,
        ..axis::time_axis(end)
    };
    let upper = Frame {
        x: x.clone(),
        y: axis::value_axis(
            busiest.0.max(1) as f64 * 1.05,
            true,
            &format!("Calls {per}"),
        ),
    };
    let fail_peak = bins.iter().map(|b| b.failed).max().unwrap_or(0);
    let lower = Frame {
        x,
        y: axis::value_axis_ticks(fail_peak as f64, true, "Failed", 2),
    };
    // One pixel between bars when they are at least 4 px wide.
    let bar_px = f64::from(PLOT_W) / bins.len() as f64;
    let gap = if bar_px >= 4.0 {
        bin_s / bar_px / 2.0
    } else {
        0.0
    };
    plot::draw(
        (WIDTH, height),
        "EC2 API calls per minute by action",
        |root| {
            let y = plot::header(root, MARGIN, &title, &[&subtitle])?;
            let y = y + plot::legend(root, (LEFT, y), PLOT_W as i32, &entries)?;
            let upper_h = height as i32 - y - 190;
            let upper_area = band(root, y, upper_h);
            let mut top = series_chart(&upper_area, &upper, 8)?;
            upper.mesh(
                &mut top,
                Mesh {
                    x_labels: false,
                    ..Mesh::SERIES
                },
            )?;
            let y = y + upper_h + 12;
            let y = y + plot::legend(
                root,
                (LEFT, y),
                PLOT_W as i32,
                &[
                    (Key::Swatch(THROTTLED), "Throttled (RequestLimitExceeded)"),
                    (
                        Key::Swatch(FAILED_OTHER),
                        "Other errors (InsufficientCidrBlocks, …)",
                    ),
                ],
            )?;
            let lower_area = band(root, y, height as i32 - y);
            let mut bottom = series_chart(&lower_area, &lower, 44)?;
            lower.mesh(&mut bottom, Mesh::SERIES)?;

            let up = &upper;
            let span = |i: usize| (i as f64 * bin_s + gap, (i + 1) as f64 * bin_s - gap);
            top.draw_series(bins.iter().enumerate().flat_map(|(i, b)| {
                let (x0, x1) = span(i);
                let mut acc = 0u64;
                b.calls
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0)
                    .map(move |(a, &c)| {
                        let r = Rectangle::new(
                            [up.at(x0, acc as f64), up.at(x1, (acc + c) as f64)],
                            plot::rgb(ACTION_COLOURS[a]).filled(),
                        );
                        acc += c;
                        r
                    })
            }))?;
            bottom.draw_series(
                bins.iter()
                    .enumerate()
                    .filter(|(_, b)| b.failed > 0)
                    .flat_map(|(i, b)| {
                        let (x0, x1) = span(i);
                        let thr = b.throttled.min(b.failed) as f64;
                        [
                            Rectangle::new(
                                [lower.at(x0, 0.0), lower.at(x1, thr)],
                                plot::rgb(THROTTLED).filled(),
                            ),
                            Rectangle::new(
                                [lower.at(x0, thr), lower.at(x1, b.failed as f64)],
                                plot::rgb(FAILED_OTHER).filled(),
                            ),
                        ]
                    }),
            )?;
            if total == 0 {
                plot::centred_note(
                    &top.plotting_area().strip_coord_spec(),
                    "No EC2 calls were made.",
                )?;
            }
            if !by_action {
                plot::centred_note(
                    &bottom.plotting_area().strip_coord_spec(),
                    "Failures per minute were not recorded.",
                )?;
            } else if failed == 0 {
                plot::centred_note(
                    &bottom.plotting_area().strip_coord_spec(),
                    "No call failed.",
                )?;
            }
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Sample;

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
    fn ec2_stacks_a_bar_per_action_and_fails_below() {
        let mut run = RunOutput::default();
        run.summary.duration_s = 600.0;
        let mut m = Ec2Minute {
            minute: 3,
            failed: 2,
            throttled: 1,
            ..Ec2Minute::default()
        };
        m.calls[0] = 5;
        m.calls[2] = 4;
        run.ec2_per_minute.push(m);
        let svg = ec2_svg(&run);
        assert_eq!(svg, ec2_svg(&run), "same data, same bytes");
        let texts = crate::report::plot::tests::check_svg(&svg);
        for want in [
            "EC2 API calls per minute",
            Action::ALL[0].name(),
            Action::ALL[2].name(),
            "Calls per minute",
            "Failed",
            "Time since start (min)",
        ] {
            assert!(texts.iter().any(|t| t == want), "{want:?} not in {texts:?}");
        }
        assert!(
            !texts.iter().any(|t| t == Action::ALL[1].name()),
            "unused actions stay out"
        );
        // Two action segments + one throttled + one other failure, and 2 + 2 legend swatches.
        assert_eq!(svg.matches("<rect").count(), 1 + 4 + 4, "{svg}");
        let quiet = ec2_svg(&RunOutput::default());
        crate::report::plot::tests::check_svg(&quiet);
        assert!(quiet.contains("No EC2 calls were made."));
    }
}
