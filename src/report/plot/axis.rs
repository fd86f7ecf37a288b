//! The charts' axes as explicit key points: round 1-2-2.5-5 ticks (or round time units)
//! chosen here with exact arithmetic, labelled here with Rust's locale-free formatting, and
//! handed to plotters as integer key points, so plotters never searches for float ticks and
//! never formats a number (the same bytes on every machine).
//!
//! Coordinates given to plotters are integers: data values × [`KEYS_PER_UNIT`] (a value
//! axis in thousandths, a time axis in milliseconds). plotters maps them to pixels with one
//! float division and writes integer pixels.

use plotters::coord::combinators::{BindKeyPoints as _, WithKeyPoints};
use plotters::coord::types::RangedCoordi64;

use crate::report::format::group_thousands;

/// Integer coordinate units per data unit (thousandths; milliseconds of seconds).
pub const KEYS_PER_UNIT: f64 = 1000.0;

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

impl Axis {
    /// The integer coordinate of data value `v` (non-finite values at 0).
    pub fn key(&self, v: f64) -> i64 {
        if v.is_finite() {
            (v * KEYS_PER_UNIT).round() as i64
        } else {
            0
        }
    }

    /// `v` held inside the axis.
    pub fn clamp(&self, v: f64) -> f64 {
        if v.is_finite() {
            v.clamp(self.min, self.max)
        } else {
            self.min
        }
    }

    /// The plotters range of the axis, with its ticks as the only key points.
    pub fn range(&self) -> WithKeyPoints<RangedCoordi64> {
        let keys: Vec<i64> = self.ticks.iter().map(|(v, _)| self.key(*v)).collect();
        let (lo, hi) = (self.key(self.min), self.key(self.max));
        // A range of one value maps everything to the middle: never hand plotters one.
        let hi = if hi > lo { hi } else { lo + 1 };
        RangedCoordi64::from(lo..hi).with_key_points(keys)
    }

    /// The label of the tick at integer coordinate `key`; empty off the ticks.
    pub fn label_at(&self, key: i64) -> String {
        self.ticks
            .iter()
            .find(|(v, _)| self.key(*v) == key)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }

    /// Keeps every other tick (a narrow panel).
    pub fn every_other_tick(mut self) -> Axis {
        self.ticks = self.ticks.into_iter().step_by(2).collect();
        self
    }
}

/// A value axis from 0 to a round number at or above `max`, with 1-2-5 ticks (about five).
/// `integer` keeps ticks on whole numbers (counts).
pub fn value_axis(max: f64, integer: bool, label: &str) -> Axis {
    value_axis_ticks(max, integer, label, 5)
}

/// [`value_axis`] with about `intervals` tick intervals (for short or narrow panels).
pub fn value_axis_ticks(max: f64, integer: bool, label: &str, intervals: u32) -> Axis {
    span_axis(0.0, max, integer, label, intervals)
}

/// An axis over the data range `[lo, hi]` (not from 0): from the round tick at or below
/// `lo` to the one at or above `hi`, about `intervals` intervals; a single value gets one
/// step either side (or from 0 when that is closer).
pub fn span_axis(lo: f64, hi: f64, integer: bool, label: &str, intervals: u32) -> Axis {
    let lo = if lo.is_finite() { lo.max(0.0) } else { 0.0 };
    let hi = if hi.is_finite() && hi > lo {
        hi
    } else if lo > 0.0 {
        lo + lo.max(1.0) * 0.1
    } else {
        1.0
    };
    let mut step = nice_step((hi - lo) / f64::from(intervals.max(1)));
    if integer {
        step = step.max(1.0);
    }
    let first = (lo / step + 1e-9).floor().max(0.0);
    let last = (hi / step - 1e-9).ceil().max(first + 1.0);
    let decimals = decimals_for(step);
    let ticks = (first as u64..=last as u64)
        .map(|i| {
            let v = i as f64 * step;
            (v, group_thousands(&format!("{v:.decimals$}")))
        })
        .collect();
    Axis {
        min: first * step,
        max: last * step,
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

/// Decimals a step needs (0.25 → 2), by multiplying (no `powi`).
fn decimals_for(step: f64) -> usize {
    let mut scaled = step;
    let mut d = 0;
    while d < 6 && (scaled.round() - scaled).abs() > 1e-6 {
        scaled *= 10.0;
        d += 1;
    }
    d
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

/// Thins a curve for a plot `columns` pixels wide on `axis`: consecutive points falling in
/// the same pixel column are reduced to the first, lowest, highest and last of them, in
/// their original order. The drawn shape is unchanged at screen resolution (peaks and
/// troughs survive) while a day of 10 s samples shrinks from 8,640 points to a few per
/// column.
pub fn thin(
    points: impl IntoIterator<Item = (f64, f64)>,
    axis: &Axis,
    columns: u32,
) -> Vec<(f64, f64)> {
    let span = (axis.max - axis.min).max(1e-12);
    let column = |x: f64| ((x - axis.min) / span * f64::from(columns)).floor() as i64;
    let mut out = Vec::new();
    let mut bucket: Vec<(f64, f64)> = Vec::new();
    let mut col = i64::MIN;
    let flush = |bucket: &mut Vec<(f64, f64)>, out: &mut Vec<(f64, f64)>| {
        if bucket.is_empty() {
            return;
        }
        let (mut hi, mut lo) = (0, 0);
        for (i, p) in bucket.iter().enumerate() {
            if p.1 > bucket[hi].1 {
                hi = i;
            }
            if p.1 < bucket[lo].1 {
                lo = i;
            }
        }
        let mut keep = [0, hi, lo, bucket.len() - 1];
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
        let c = column(p.0);
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

    fn labels(a: &Axis) -> Vec<&str> {
        a.ticks.iter().map(|(_, l)| l.as_str()).collect()
    }

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
        assert_eq!(decimals_for(0.25), 2);
        assert_eq!(decimals_for(5.0), 0);
    }

    #[test]
    fn value_axis_has_round_ticks_covering_the_data() {
        let a = value_axis(437.0, true, "IPs");
        assert_eq!(a.max, 500.0);
        assert_eq!(labels(&a), ["0", "100", "200", "300", "400", "500"]);
        let a = value_axis(3.0, true, "calls");
        assert_eq!(a.max, 3.0);
        assert_eq!(a.ticks.len(), 4);
        let a = value_axis(0.0, true, "x");
        assert_eq!((a.min, a.max), (0.0, 1.0));
        let a = value_axis(1.2, false, "s");
        assert!(a.max >= 1.2 && a.max <= 1.5, "{a:?}");
        assert_eq!(a.ticks[1].1, "0.25");
        let a = value_axis_ticks(4.0, true, "failed", 2);
        assert_eq!(labels(&a), ["0", "2", "4"]);
        let a = value_axis(65_531.0, true, "addresses");
        assert_eq!(a.ticks.last().unwrap().1, "80,000");
        let a = value_axis(f64::NAN, true, "x");
        assert_eq!((a.min, a.max), (0.0, 1.0));
    }

    #[test]
    fn a_span_axis_covers_the_data_not_zero() {
        let a = span_axis(320.0, 410.0, true, "replicas", 5);
        assert_eq!((a.min, a.max), (320.0, 420.0));
        assert_eq!(labels(&a), ["320", "340", "360", "380", "400", "420"]);
        let a = span_axis(40.0, 40.0, true, "n", 5);
        assert!(a.min <= 40.0 && a.max > 40.0 && a.min > 0.0, "{a:?}");
        let a = span_axis(10.0, 640.0, true, "n", 5);
        assert_eq!((a.min, a.max), (0.0, 800.0));
    }

    #[test]
    fn time_axis_picks_a_readable_unit() {
        let a = time_axis(6.0 * 3600.0);
        assert_eq!(a.label, "Time since start (h)");
        assert_eq!(labels(&a), ["0", "1", "2", "3", "4", "5", "6"]);
        let a = time_axis(30.0 * 60.0);
        assert_eq!(a.label, "Time since start (min)");
        assert_eq!(labels(&a), ["0", "5", "10", "15", "20", "25", "30"]);
        assert_eq!(a.ticks[1].0, 300.0);
        let a = time_axis(90.0);
        assert_eq!(a.label, "Time since start (s)");
        assert!(a.ticks.len() <= 9);
    }

    #[test]
    fn keys_are_exact_integers_and_label_their_ticks() {
        let a = value_axis(1.2, false, "s");
        assert_eq!(a.key(0.25), 250);
        assert_eq!(a.label_at(250), "0.25");
        assert_eq!(a.label_at(251), "");
        assert_eq!(a.key(f64::INFINITY), 0);
        assert_eq!(a.clamp(9.0), a.max);
        assert_eq!(
            value_axis(100.0, true, "n").every_other_tick().ticks.len(),
            3
        );
    }

    #[test]
    fn thinning_keeps_extremes_and_order() {
        let axis = value_axis(10.0, true, "x");
        let pts: Vec<(f64, f64)> = (0..1000)
            .map(|i| {
                (
                    i as f64 / 100.0,
                    if i == 537 { 50.0 } else { (i % 7) as f64 },
                )
            })
            .collect();
        let t = thin(pts.iter().copied(), &axis, 10);
        assert!(t.len() <= 44, "{} points", t.len());
        assert!(t.contains(&(5.37, 50.0)), "the spike survives");
        assert_eq!(t.first(), pts.first());
        assert_eq!(t.last(), pts.last());
        assert!(t.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
