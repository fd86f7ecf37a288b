//! Simulated time.
//!
//! The engine owns one integer clock counted in milliseconds ([`Millis`]); no model ever reads
//! wall time. Scenario files write durations as `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"` or
//! as a bare integer number of seconds; [`Duration`] parses both and is what the scenario
//! schema uses wherever a duration appears.

use std::fmt;

/// A point in, or a span of, simulated time: milliseconds since the start of the run.
pub type Millis = u64;

/// One second in [`Millis`].
pub const SECOND: Millis = 1_000;
/// One minute in [`Millis`].
pub const MINUTE: Millis = 60 * SECOND;
/// One hour in [`Millis`].
pub const HOUR: Millis = 60 * MINUTE;
/// One day in [`Millis`].
pub const DAY: Millis = 24 * HOUR;

/// The longest duration any scenario value may spell: 1,000 years (3.2·10¹³ ms). Far above
/// any run ([`crate::scenario::MAX_DURATION`] is one year), and small enough that a time in
/// the run plus a few such spans — or an exponential draw of up to ~40 times such a mean —
/// never overflows a [`Millis`].
pub const MAX_MILLIS: Millis = 1_000 * 365 * DAY;

/// A duration as written in a scenario: `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`, or an
/// integer number of seconds. Fractions are allowed (`"1.5s"`) and rounded to the
/// nearest millisecond.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub Millis);

impl Duration {
    /// The span in milliseconds.
    pub fn millis(self) -> Millis {
        self.0
    }
}

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {text:?}: {why} (write a non-negative number with a unit: \"500ms\", \"30s\", \"5m\", \"2h\", \"1d\", or an integer number of seconds)"
)]
pub struct DurationError {
    /// The text that failed to parse.
    pub text: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Parses a duration as written in a scenario (see [`Duration`]). Parts may be combined,
/// largest first or not (`"1h30m"`, `"1m30s"`), so everything [`format_duration`] prints
/// parses back.
pub fn parse_duration(text: &str) -> Result<Millis, DurationError> {
    let err = |why| DurationError {
        text: text.to_string(),
        why,
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(err("it is empty"));
    }
    if t.starts_with('-') {
        return Err(err("it is negative"));
    }
    let mut rest = t;
    let mut total = 0f64;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..split];
        rest = rest[split..].trim_start();
        let unit_end = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = rest[unit_end..].trim_start();
        if unit.is_empty() && (t.len() != num.len()) {
            return Err(err("a number in a combined duration has no unit"));
        }
        let scale: Millis = match unit {
            "ms" => 1,
            "" | "s" => SECOND,
            "m" | "min" => MINUTE,
            "h" => HOUR,
            "d" => DAY,
            _ => return Err(err("the unit is not one of ms, s, m, h, d")),
        };
        let value: f64 = num.parse().map_err(|_| err("it is not a number"))?;
        if !value.is_finite() {
            return Err(err("it is not a finite number"));
        }
        total += value * scale as f64;
    }
    let ms = total.round();
    if ms > MAX_MILLIS as f64 {
        return Err(err("it is too large (the most is 1000 years)"));
    }
    Ok(ms as Millis)
}

/// Formats milliseconds the way scenarios write them (`"90s"` → `"1m30s"`), for messages.
pub fn format_duration(ms: Millis) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [
        ("d", DAY),
        ("h", HOUR),
        ("m", MINUTE),
        ("s", SECOND),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{}", rest / size, unit));
            rest %= size;
        }
    }
    out
}

/// Formats milliseconds as seconds with up to three decimals and no trailing zeros, for CSV
/// output (`1500` → `"1.5"`, `2000` → `"2"`). Exact and locale-free.
pub fn seconds(ms: Millis) -> String {
    let mut out = String::with_capacity(24);
    push_seconds(ms, &mut out);
    out
}

/// Appends [`seconds`]`(ms)` to `out`: one allocation at most, no formatting machinery
/// (every time of `pod_waits.csv` and `events.csv` goes through here).
pub fn push_seconds(ms: Millis, out: &mut String) {
    let (whole, frac) = (ms / 1000, ms % 1000);
    out.push_str(itoa::Buffer::new().format(whole));
    if frac != 0 {
        let digits = [frac / 100, frac / 10 % 10, frac % 10].map(|d| char::from(b'0' + d as u8));
        let shown = if frac % 100 == 0 {
            1
        } else if frac % 10 == 0 {
            2
        } else {
            3
        };
        out.push('.');
        out.extend(&digits[..shown]);
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl std::str::FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s).map(Duration)
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"500ms\", \"30s\", \"5m\", \"2h\", \"1d\" or an integer number of seconds")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map(Duration).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
                if v < 0 {
                    return Err(E::custom(format!("invalid duration {v}: it is negative")));
                }
                self.visit_u64(v as u64)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
                // Checked, never wrapped: 18446744073709555 s is an error, not 3.4 s.
                match v.checked_mul(SECOND).filter(|&ms| ms <= MAX_MILLIS) {
                    Some(ms) => Ok(Duration(ms)),
                    None => Err(E::custom(format!(
                        "invalid duration {v} seconds: it is too large (the most is 1000 years)"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(parse_duration("30s"), Ok(30_000));
        assert_eq!(parse_duration("5m"), Ok(300_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000));
        assert_eq!(parse_duration("1d"), Ok(86_400_000));
        assert_eq!(parse_duration("45"), Ok(45_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500));
        assert_eq!(parse_duration("1h30m"), Ok(90 * MINUTE));
    }

    #[test]
    fn formatted_durations_parse_back() {
        for ms in [
            0,
            1,
            999,
            1_000,
            90_000,
            HOUR + 1,
            DAY + 1_500,
            3 * DAY + 7 * HOUR,
        ] {
            assert_eq!(
                parse_duration(&format_duration(ms)),
                Ok(ms),
                "{}",
                format_duration(ms)
            );
        }
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "",
            "-5s",
            "5 parsecs",
            "abc",
            "1e400s",
            "1h30",
            "s",
            "366000d",
            "18446744073709555",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn integer_seconds_never_wrap() {
        use serde::Deserialize;
        #[derive(Deserialize)]
        struct T {
            d: Duration,
        }
        let ok: T = toml::from_str("d = 90").unwrap();
        assert_eq!(ok.d.millis(), 90_000);
        // Issue 14: 18446744073709555 s wrapped to 3.4 s.
        let err = toml::from_str::<T>("d = 18446744073709555").err().unwrap();
        assert!(err.message().contains("too large"), "{err}");
        assert!(toml::from_str::<T>("d = -1").is_err());
    }

    #[test]
    fn formats_for_messages_and_csv() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(90_000), "1m30s");
        assert_eq!(format_duration(DAY + 1_500), "1d1s500ms");
        assert_eq!(seconds(1_500), "1.5");
        assert_eq!(seconds(2_000), "2");
        assert_eq!(seconds(1_005), "1.005");
        assert_eq!(seconds(1_050), "1.05");
        assert_eq!(seconds(40), "0.04");
        assert_eq!(seconds(u64::MAX), "18446744073709551.615");
    }

    proptest::proptest! {
        /// The digits pushed by hand are the decimal text `format!` gives, trailing zeros
        /// of the fraction dropped.
        #[test]
        fn seconds_is_the_decimal_text(ms in proptest::prelude::any::<u64>(), frac in 0u64..1000) {
            for ms in [ms, ms / 1000 * 1000 + frac] {
                let (whole, frac) = (ms / 1000, ms % 1000);
                let expected = if frac == 0 {
                    whole.to_string()
                } else {
                    format!("{whole}.{}", format!("{frac:03}").trim_end_matches('0'))
                };
                proptest::prop_assert_eq!(seconds(ms), expected);
            }
        }
    }
}
