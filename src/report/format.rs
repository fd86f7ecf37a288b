//! How numbers, times and text are written for people in the report's pages and charts:
//! thousands grouped, times in the two largest units, text escaped for XML/HTML.
//!
//! Locale-free: the same value gives the same characters on every machine.

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

/// Escapes text for XML content and attribute values (HTML pages and SVG alike).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0; drop them.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_times_are_short() {
        assert_eq!(human_time(0.0), "0s");
        assert_eq!(human_time(12.5), "12.5s");
        assert_eq!(human_time(450.0), "7m 30s");
        assert_eq!(human_time(3600.0), "1h");
        assert_eq!(human_time(4510.5), "1h 15m");
        assert_eq!(human_time(7800.0), "2h 10m");
        assert_eq!(human_time(97_200.0), "1d 3h");
        assert_eq!(human_time(f64::NAN), "?");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands("0"), "0");
        assert_eq!(group_thousands("999"), "999");
        assert_eq!(group_thousands("1000"), "1,000");
        assert_eq!(group_thousands("-1234567.25"), "-1,234,567.25");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("a<b & \"c\" 'd'\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;"
        );
    }
}
