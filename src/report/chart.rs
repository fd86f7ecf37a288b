//! Chart scaffolding shared by every plot: axes with round ticks, a plot panel that maps data
//! to pixels and draws its frame and grid, a wrapping legend, and a curve thinner that keeps
//! long time series small without hiding their peaks.

use super::svg::{Anchor, Font, GRID, INK, MUTED, Svg, text_width};

/// A linear axis from `min` to `max`, with labelled ticks.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub min: f64,
    pub max: f64,
    /// Tick positions (data units) and their labels.
    pub ticks: Vec<(f64, String)>,
    /// Axis title with its unit, e.g. `Time since start (min)`.
    pub label: String,
}

/// A value axis from 0 to a round number at or above `max`, with 1-2-5 ticks (about five).
/// `integer` keeps ticks on whole numbers (counts).
pub fn value_axis(max: f64, integer: bool, label: &str) -> Axis {
    value_axis_ticks(max, integer, label, 5)
}

/// [`value_axis`] with about `intervals` ticks intervals (for short or narrow panels).
pub fn value_axis_ticks(max: f64, integer: bool, label: &str, intervals: u32) -> Axis {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let mut step = nice_step(max / f64::from(intervals.max(1)));
    if integer {
        step = step.max(1.0);
    }
    let top = (max / step - 1e-9).ceil().max(1.0) * step;
    let decimals = decimals_for(step);
    let n = (top / step).round() as usize;
    let ticks = (0..=n)
        .map(|i| {
            let v = i as f64 * step;
            (v, group_thousands(&format!("{v:.decimals$}")))
        })
        .collect();
    Axis {
        min: 0.0,
        max: top,
        ticks,
        label: label.to_string(),
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1e-9);
    // 10^floor(log10 raw) by exact steps of ×10 / ÷10 (no libm: same bytes everywhere).
    let mut mag = 1.0;
    while mag * 10.0 <= raw {
        mag *= 10.0;
    }
    while mag > raw {
        mag /= 10.0;
    }
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= raw * (1.0 - 1e-9) {
            return m * mag;
        }
    }
    10.0 * mag
}

fn decimals_for(step: f64) -> usize {
    let mut d = 0;
    while d < 6
        && ((step * 10f64.powi(d as i32)).round() - step * 10f64.powi(d as i32)).abs() > 1e-6
    {
        d += 1;
    }
    d
}

/// Inserts thousands separators into a formatted number (`12345.5` → `12,345.5`).
pub fn group_thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(s.len() + 4);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A time axis over `[0, end_s]` seconds, in the unit that suits the span (s, min, h or d),
/// with ticks at round multiples of that unit.
pub fn time_axis(end_s: f64) -> Axis {
    let end = if end_s.is_finite() && end_s > 0.0 {
        end_s
    } else {
        1.0
    };
    let (unit, name, steps): (f64, &str, &[f64]) = if end <= 180.0 {
        (1.0, "s", &[1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0])
    } else if end <= 3.0 * 3600.0 {
        (60.0, "min", &[1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0])
    } else if end <= 3.0 * 86400.0 {
        (3600.0, "h", &[0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 12.0, 24.0])
    } else {
        (86400.0, "d", &[1.0, 2.0, 5.0, 7.0, 14.0, 30.0, 60.0, 90.0])
    };
    let span = end / unit;
    let step = steps
        .iter()
        .copied()
        .find(|s| span / s <= 8.0)
        .unwrap_or_else(|| nice_step(span / 8.0));
    let decimals = decimals_for(step);
    let n = (span / step + 1e-9).floor() as usize;
    let ticks = (0..=n)
        .map(|i| {
            let v = i as f64 * step;
            (v * unit, format!("{v:.decimals$}"))
        })
        .collect();
    Axis {
        min: 0.0,
        max: end,
        ticks,
        label: format!("Time since start ({name})"),
    }
}

/// A time for people: `45s`, `12.5s`, `7m 30s`, `2h 10m`, `1d 3h` (rounded to the second
/// beyond a minute; at most two units).
pub fn human_time(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "?".into();
    }
    if s < 60.0 {
        let tenths = (s * 10.0).round() as u64;
        return if tenths.is_multiple_of(10) {
            format!("{}s", tenths / 10)
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        };
    }
    let total = s.round() as u64;
    let parts = [
        (total / 86_400, "d"),
        (total % 86_400 / 3600, "h"),
        (total % 3600 / 60, "m"),
        (total % 60, "s"),
    ];
    let first = parts.iter().position(|p| p.0 > 0).unwrap_or(3);
    let mut out = format!("{}{}", parts[first].0, parts[first].1);
    if first < 3 && parts[first + 1].0 > 0 {
        out.push_str(&format!(" {}{}", parts[first + 1].0, parts[first + 1].1));
    }
    out
}

/// A rectangle of the drawing mapped to data coordinates.
#[derive(Clone, Debug)]
pub struct Panel {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub xaxis: Axis,
    pub yaxis: Axis,
}

impl Panel {
    /// Pixel x of data value `v`.
    pub fn px(&self, v: f64) -> f64 {
        let span = (self.xaxis.max - self.xaxis.min).max(1e-12);
        self.x + (v - self.xaxis.min) / span * self.w
    }

    /// Pixel y of data value `v`.
    pub fn py(&self, v: f64) -> f64 {
        let span = (self.yaxis.max - self.yaxis.min).max(1e-12);
        self.y + self.h - (v - self.yaxis.min) / span * self.h
    }

    /// Draws grid lines, the axes, tick labels and axis titles. `x_labels` = false leaves the
    /// x tick labels and title out (a panel stacked above another with the same x axis).
    pub fn draw_axes(&self, svg: &mut Svg, x_labels: bool) {
        let tick_font = Font::muted(11.0);
        for (v, label) in &self.yaxis.ticks {
            let y = self.py(*v);
            svg.line(self.x, y, self.x + self.w, y, GRID, 1.0, None);
            svg.text(self.x - 6.0, y + 4.0, Anchor::End, tick_font, label);
        }
        for (v, label) in &self.xaxis.ticks {
            let x = self.px(*v);
            svg.line(
                x,
                self.y + self.h,
                x,
                self.y + self.h + 4.0,
                MUTED,
                1.0,
                None,
            );
            if x_labels {
                svg.text(x, self.y + self.h + 17.0, Anchor::Middle, tick_font, label);
            }
        }
        svg.line(
            self.x,
            self.y + self.h,
            self.x + self.w,
            self.y + self.h,
            INK,
            1.0,
            None,
        );
        svg.line(self.x, self.y, self.x, self.y + self.h, INK, 1.0, None);
        if x_labels {
            svg.text(
                self.x + self.w / 2.0,
                self.y + self.h + 36.0,
                Anchor::Middle,
                Font::plain(12.0),
                &self.xaxis.label,
            );
        }
        let widest = self
            .yaxis
            .ticks
            .iter()
            .map(|(_, l)| text_width(l, tick_font))
            .fold(0.0, f64::max);
        svg.text_vertical(
            self.x - widest - 18.0,
            self.y + self.h / 2.0,
            Font::plain(12.0),
            &self.yaxis.label,
        );
    }

    /// Data points → pixels, thinned to at most a few points per pixel column.
    pub fn path(&self, points: impl IntoIterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
        thin(points.into_iter().map(|(x, y)| (self.px(x), self.py(y))))
    }
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug)]
pub enum Mark {
    /// A filled square (areas, bars, grid cells).
    Swatch(&'static str),
    /// A short line (curves).
    Line(&'static str),
    /// A dashed line (reference levels).
    Dashed(&'static str),
}

/// Draws a legend starting at (`x`, `y`) (top-left), wrapping within `width`. Returns the
/// height used.
pub fn legend(svg: &mut Svg, x: f64, y: f64, width: f64, entries: &[(Mark, String)]) -> f64 {
    let font = Font::plain(12.0);
    let row_h = 18.0;
    let (mut cx, mut cy) = (x, y);
    for (mark, label) in entries {
        let w = 22.0 + text_width(label, font) + 18.0;
        if cx > x && cx + w > x + width {
            cx = x;
            cy += row_h;
        }
        let mid = cy + 9.0;
        match *mark {
            Mark::Swatch(c) => svg.rect(cx, mid - 6.0, 14.0, 12.0, c, None),
            Mark::Line(c) => svg.line(cx, mid, cx + 16.0, mid, c, 2.5, None),
            Mark::Dashed(c) => svg.line(cx, mid, cx + 16.0, mid, c, 1.5, Some("4 3")),
        }
        svg.text(cx + 22.0, mid + 4.0, Anchor::Start, font, label);
        cx += w;
    }
    cy + row_h - y
}

/// Thins a pixel-space curve: consecutive points falling in the same pixel column are
/// reduced to the first, lowest, highest and last of them, in their original order. The
/// drawn shape is unchanged at screen resolution (peaks and troughs survive) while a day of
/// 10 s samples shrinks from 8,640 points to a few per column.
pub fn thin(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut bucket: Vec<(f64, f64)> = Vec::new();
    let mut col = i64::MIN;
    let flush = |bucket: &mut Vec<(f64, f64)>, out: &mut Vec<(f64, f64)>| {
        if bucket.is_empty() {
            return;
        }
        let first = 0;
        let last = bucket.len() - 1;
        // In pixel space smaller y is higher on screen.
        let (mut hi, mut lo) = (0, 0);
        for (i, p) in bucket.iter().enumerate() {
            if p.1 < bucket[hi].1 {
                hi = i;
            }
            if p.1 > bucket[lo].1 {
                lo = i;
            }
        }
        let mut keep = [first, hi, lo, last];
        keep.sort_unstable();
        let mut prev = usize::MAX;
        for k in keep {
            if k != prev {
                out.push(bucket[k]);
                prev = k;
            }
        }
        bucket.clear();
    };
    for p in points {
        let c = p.0.floor() as i64;
        if c != col {
            flush(&mut bucket, &mut out);
            col = c;
        }
        bucket.push(p);
    }
    flush(&mut bucket, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_1_2_2_5_5_times_a_power_of_ten() {
        for (raw, want) in [
            (7.0, 10.0),
            (0.3, 0.5),
            (1234.0, 2000.0),
            (1000.0, 1000.0),
            (2.2, 2.5),
            (45.0, 50.0),
        ] {
            assert!(
                (nice_step(raw) - want).abs() < 1e-9 * want,
                "{raw}: {}",
                nice_step(raw)
            );
        }
    }

    #[test]
    fn value_axis_has_round_ticks_covering_the_data() {
        let a = value_axis(437.0, true, "IPs");
        assert_eq!(a.max, 500.0);
        let labels: Vec<&str> = a.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0", "100", "200", "300", "400", "500"]);

        let a = value_axis(3.0, true, "calls");
        assert_eq!(a.max, 3.0);
        assert_eq!(a.ticks.len(), 4);

        let a = value_axis(0.0, true, "x");
        assert_eq!((a.min, a.max), (0.0, 1.0));

        let a = value_axis(1.2, false, "s");
        assert!(a.max >= 1.2 && a.max <= 1.5, "{a:?}");
        assert_eq!(a.ticks[1].1, "0.25");

        let a = value_axis_ticks(4.0, true, "failed", 2);
        let labels: Vec<&str> = a.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0", "2", "4"]);

        let a = value_axis(65_531.0, true, "addresses");
        assert_eq!(a.ticks.last().unwrap().1, "80,000");
    }

    #[test]
    fn time_axis_picks_a_readable_unit() {
        let a = time_axis(6.0 * 3600.0);
        assert_eq!(a.label, "Time since start (h)");
        let labels: Vec<&str> = a.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0", "1", "2", "3", "4", "5", "6"]);

        let a = time_axis(30.0 * 60.0);
        assert_eq!(a.label, "Time since start (min)");
        let labels: Vec<&str> = a.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0", "5", "10", "15", "20", "25", "30"]);
        assert_eq!(a.ticks[1].0, 300.0);

        let a = time_axis(90.0);
        assert_eq!(a.label, "Time since start (s)");
        assert!(a.ticks.len() <= 9);
    }

    #[test]
    fn human_times_are_short() {
        assert_eq!(human_time(0.0), "0s");
        assert_eq!(human_time(12.5), "12.5s");
        assert_eq!(human_time(450.0), "7m 30s");
        assert_eq!(human_time(3600.0), "1h");
        assert_eq!(human_time(4510.5), "1h 15m");
        assert_eq!(human_time(7800.0), "2h 10m");
        assert_eq!(human_time(97_200.0), "1d 3h");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands("0"), "0");
        assert_eq!(group_thousands("999"), "999");
        assert_eq!(group_thousands("1000"), "1,000");
        assert_eq!(group_thousands("-1234567.25"), "-1,234,567.25");
    }

    #[test]
    fn thinning_keeps_extremes_and_order() {
        let pts: Vec<(f64, f64)> = (0..1000)
            .map(|i| {
                (
                    i as f64 / 100.0,
                    if i == 537 { -50.0 } else { (i % 7) as f64 },
                )
            })
            .collect();
        let t = thin(pts.iter().copied());
        assert!(t.len() <= 40, "{} points", t.len());
        assert!(t.contains(&(5.37, -50.0)), "the spike survives");
        assert_eq!(t.first(), pts.first());
        assert_eq!(t.last(), pts.last());
        assert!(t.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
