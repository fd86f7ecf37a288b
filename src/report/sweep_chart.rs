//! `sweep.svg`: every cell of a sweep side by side on the four measures, with the spread
//! across seeds. Drawn with plotters through [`super::plot`]: one row per cell, one panel per
//! measure; row backgrounds and labels in pixels, each panel a chart of its own.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::comparison::{MEASURES, Measure, SweepRun, cells, mean_str, recommend};
use super::page::wait;
use super::plot::{self, Axis, Frame, INK, MUTED, Mesh, axis};

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
const SPREAD: &str = "#a0aec0";

const ROW_H: i32 = 26;
const TOP: i32 = 96;
const GAP: i32 = 36;
/// Height of a panel's tick labels below the rows.
const TICKS_H: i32 = 22;

/// `sweep.svg`: one row per cell, one panel per measure; each row shows every seed (rings),
/// the mean (dot) and the min–max spread (bar). Red marks a cell that breaks the condition
/// the measure stands for; the recommended row is shaded green. A mean beyond the axis is an
/// arrow at its edge, its value written above the arrow (clear of the row's marks).
pub fn sweep_svg(keys: &[String], runs: &[SweepRun]) -> String {
    let cells = cells(runs);
    let (verdicts, best) = recommend(&cells);
    let key_font = plot::bold(12.0, INK);
    let val_font = plot::font(12.0, INK);
    // One label column per varied key. plotters' naive metrics (0.56 em a character) suit
    // mixed text; keys are capitals and underscores, a quarter wider in common fonts.
    let wide = |t: &str| plot::text_width(t, &key_font) * 5 / 4;
    let col_w: Vec<i32> = keys
        .iter()
        .enumerate()
        .map(|(k, name)| {
            cells
                .iter()
                .map(|c| wide(&c.values[k]))
                .fold(wide(name), i32::max)
                .min(240)
                + 16
        })
        .collect();
    let labels_w: i32 = 16 + col_w.iter().sum::<i32>();
    let panel_w = ((1000 - labels_w - 16 - GAP * 3) / 4).max(90);
    let width = labels_w + 4 * panel_w + 3 * GAP + 16;
    let rows = cells.len().max(1) as i32;
    let height = TOP + rows * ROW_H + 66;
    let seeds = cells.first().map_or(0, |c| c.runs.len());
    let subtitle = format!(
        "{} cells × {} seed{}. Rings: each seed; dot: mean; bar: min–max. Lower is better in every panel.",
        cells.len(),
        seeds,
        if seeds == 1 { "" } else { "s" }
    );
    let note = match best {
        Some(b) => format!(
            "Green: fewest IPs held without slowing pods, throttling or subnet errors ({}).",
            cells[b].label(keys)
        ),
        None => {
            "No setting avoided slower pods, throttling and subnet errors together.".to_string()
        }
    };
    // Rows from the top: row i is centred on y key 2·rows − 2i − 1 of a 0..2·rows axis.
    let rows_axis = Axis {
        min: 0.0,
        max: f64::from(2 * rows) / axis::KEYS_PER_UNIT,
        ticks: vec![],
        label: String::new(),
    };
    let row_key = |i: usize| i64::from(2 * rows - 2 * i as i32 - 1);
    plot::draw(
        (width as u32, height as u32),
        "Sweep: settings compared side by side",
        |root| {
            plot::header(root, 16, "Settings compared", &[&subtitle])?;
            let mut x = 16;
            for (k, name) in keys.iter().enumerate() {
                root.draw_text(name, &key_font, (x, TOP - 22))?;
                x += col_w[k];
            }
            for (i, c) in cells.iter().enumerate() {
                let y = TOP + i as i32 * ROW_H;
                let fill = if Some(i) == best {
                    Some("#e6f6ea")
                } else if i % 2 == 1 {
                    Some("#f7f9fb")
                } else {
                    None
                };
                if let Some(f) = fill {
                    root.draw(&Rectangle::new(
                        [(8, y), (width - 8, y + ROW_H)],
                        plot::rgb(f).filled(),
                    ))?;
                }
                let font = if Some(i) == best {
                    &key_font
                } else {
                    &val_font
                };
                let font = plot::anchored(font.clone(), HPos::Left, VPos::Center);
                let mut x = 16;
                for (k, v) in c.values.iter().enumerate() {
                    root.draw_text(v, &font, (x, y + ROW_H / 2))?;
                    x += col_w[k];
                }
            }
            for (p, m) in MEASURES.iter().enumerate() {
                let x0 = labels_w + p as i32 * (panel_w + GAP);
                root.draw_text(m.title(), &plot::bold(12.5, INK), (x0, TOP - 22))?;
                let maxes: Vec<f64> = cells.iter().map(|c| c.spread(*m).max).collect();
                let integer = *m != Measure::WaitP99;
                let mut x = axis::value_axis(axis_cap(&maxes) * 1.05, integer, "");
                // Few ticks fit a narrow panel: keep every other one when crowded.
                if x.ticks.len() > 4 {
                    x = x.every_other_tick();
                }
                let frame = Frame {
                    x,
                    y: rows_axis.clone(),
                };
                let area = root
                    .clone()
                    .shrink((x0, TOP), (panel_w as u32, (rows * ROW_H + TICKS_H) as u32));
                let mut chart = frame.build(&area, (0, TICKS_H as u32), (0, 0))?;
                frame.mesh(
                    &mut chart,
                    Mesh {
                        x_grid: true,
                        y_grid: false,
                        x_labels: true,
                        y_labels: false,
                    },
                )?;
                root.draw(&PathElement::new(
                    [(x0, TOP), (x0, TOP + rows * ROW_H)],
                    plot::rgb(INK),
                ))?;
                let edge = frame.x.max;
                let px = |v: f64| frame.x.key(frame.x.clamp(v));
                for (i, c) in cells.iter().enumerate() {
                    let cy = row_key(i);
                    let s = c.spread(*m);
                    let bad = match m {
                        Measure::IpsHeld => false,
                        Measure::Ec2Calls => verdicts[i].throttled,
                        Measure::WaitP99 => verdicts[i].slows_pods,
                        Measure::Insufficient => s.max > 0.0,
                    };
                    let colour = plot::rgb(if bad {
                        BAD_COLOUR
                    } else if Some(i) == best {
                        OK_COLOUR
                    } else {
                        DOT_COLOUR
                    });
                    if s.max > s.min {
                        chart.draw_series(std::iter::once(PathElement::new(
                            [(px(s.min), cy), (px(s.max), cy)],
                            plot::rgb(SPREAD).stroke_width(3),
                        )))?;
                    }
                    chart.draw_series(c.runs.iter().map(|r| {
                        Circle::new((px(m.of(r)), cy), 4, plot::rgb(MUTED).stroke_width(1))
                    }))?;
                    if s.mean > edge {
                        let label = match m {
                            Measure::WaitP99 => wait(s.mean),
                            _ => mean_str(*m, s.mean),
                        };
                        let style =
                            plot::anchored(plot::bold(10.5, INK), HPos::Right, VPos::Bottom);
                        chart.draw_series(std::iter::once(
                            EmptyElement::at((frame.x.key(edge), cy))
                                + Polygon::new(vec![(-4, -6), (6, 0), (-4, 6)], colour.filled())
                                + Text::new(label, (6, -7), style),
                        ))?;
                    } else {
                        chart.draw_series(std::iter::once(Circle::new(
                            (px(s.mean), cy),
                            5,
                            colour.filled(),
                        )))?;
                    }
                }
            }
            let muted = plot::font(11.5, MUTED);
            root.draw_text(&note, &muted, (16, height - 38))?;
            root.draw_text(
                "Red: throttled (EC2 calls), pods slower than the fastest setting allows (p99 wait), or InsufficientCidrBlocks.",
                &muted,
                (16, height - 20),
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plot::tests::check_svg;
    use crate::report::sweep_fixture::{keys, run};

    #[test]
    fn outliers_do_not_squash_the_axis() {
        assert_eq!(axis_cap(&[10.0, 12.0, 9.0, 1200.0]), 36.0);
        assert_eq!(axis_cap(&[10.0, 12.0, 40.0]), 40.0);
        assert_eq!(axis_cap(&[0.0, 0.0, 5.0]), 5.0);
        assert_eq!(axis_cap(&[]), 0.0);
    }

    #[test]
    fn every_cell_is_a_row_and_an_off_scale_mean_is_labelled_above_its_arrow() {
        let runs = vec![
            run(&["0", "0"], 300, 1200.0),
            run(&["1", "0"], 40, 3.0),
            run(&["2", "0"], 40, 4.0),
        ];
        let svg = sweep_svg(&keys(), &runs);
        assert_eq!(svg, sweep_svg(&keys(), &runs), "same data, same bytes");
        let texts = check_svg(&svg);
        for want in [
            "WARM_IP_TARGET",
            "Peak IPs held by nodes",
            "0",
            "1",
            "2",
            "20m",
        ] {
            assert!(texts.iter().any(|t| t == want), "{want:?} not in {texts:?}");
        }
        // One mean dot per cell and measure, but an off-scale mean is an arrow: the first
        // cell's 300 IPs (more than 4 × the median) and its 20 min wait (red: slower pods).
        assert_eq!(svg.matches("<polygon").count(), 2, "{svg}");
        assert_eq!(
            svg.matches("<circle").count(),
            4 * 3 - 2 + 4 * 3,
            "dots and rings"
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let arrow = doc
            .descendants()
            .find(|n| n.has_tag_name("polygon") && n.attribute("fill") == Some("#C53030"))
            .unwrap();
        let tip_y: Vec<i64> = arrow
            .attribute("points")
            .unwrap()
            .split_whitespace()
            .map(|p| p.split_once(',').unwrap().1.parse().unwrap())
            .collect();
        let label = doc
            .descendants()
            .find(|n| n.has_tag_name("text") && n.text().is_some_and(|t| t.trim() == "20m"))
            .unwrap();
        let y: i64 = label.attribute("y").unwrap().parse().unwrap();
        // The label's baseline is above the arrow's top: they cannot overlap.
        assert!(
            y < *tip_y.iter().min().unwrap(),
            "label at {y}, arrow {tip_y:?}"
        );
        assert_eq!(label.attribute("dy"), Some("-0.5ex"));
    }
}
