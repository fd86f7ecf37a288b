//! The shell shared by `report.html` and `sweep.html`: one inline style sheet (system fonts,
//! no external resource), the page frame, headline cards, and number formats for people.

use std::fmt::Write;

use super::format::escape;
use super::format::{group_thousands, human_time};

/// The shared style sheet of `report.html` and `sweep.html`.
pub(crate) const STYLE: &str = r#"
:root { --ink:#1f2933; --muted:#52606d; --line:#e4e7eb; --bg:#f5f7fa; --accent:#2b6cb0;
  --ok:#2f855a; --okbg:#f0fff4; --warn:#b7791f; --warnbg:#fffaf0; --bad:#c53030; --badbg:#fff5f5; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 28px 24px 48px; }
header { margin-bottom: 20px; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--accent);
  font-weight: 600; margin: 0; }
h1 { font-size: 28px; margin: 2px 0 4px; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
.meta { color: var(--muted); margin: 0; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.kpi { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px;
  border-top: 4px solid var(--accent); }
.kpi.ok { border-top-color: var(--ok); } .kpi.warn { border-top-color: var(--warn); }
.kpi.bad { border-top-color: var(--bad); }
.kpi .label { font-size: 12.5px; color: var(--muted); }
.kpi .value { font-size: 25px; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.25; }
.kpi .note { font-size: 12.5px; color: var(--muted); }
.callout { border-radius: 10px; padding: 12px 16px; margin: 14px 0; border: 1px solid; }
.callout.ok { background: var(--okbg); border-color: #c6f6d5; }
.callout.warn { background: var(--warnbg); border-color: #fbd38d; }
.callout.bad { background: var(--badbg); border-color: #fed7d7; }
.callout strong { display: block; margin-bottom: 2px; }
.callout p { margin: 2px 0; }
figure { margin: 14px 0; background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 8px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; padding: 4px 8px 2px; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13.5px;
  border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
th, td { padding: 6px 10px; text-align: left; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f0f4f8; font-weight: 600; font-size: 12.5px; }
tbody tr:last-child td { border-bottom: none; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.bad { color: var(--bad); font-weight: 600; }
tr.best td { background: var(--okbg); }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted); }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
@media (max-width: 760px) { .two { grid-template-columns: 1fr; } }
a { color: var(--accent); }
.wide { overflow-x: auto; border-radius: 10px; }
.wide table { font-size: 12.5px; }
.wide th, .wide td { padding: 5px 7px; white-space: nowrap; }
.wide th, .wide td.verdict { white-space: normal; }
table.compact td { padding: 4px 10px; }
details summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; }
footer a { color: var(--accent); }
.badge { display: inline-block; font-size: 11.5px; font-weight: 600; border-radius: 999px;
  padding: 1px 8px; margin-left: 6px; }
.badge.ok { background: #c6f6d5; color: #22543d; } .badge.bad { background: #fed7d7; color: #742a2a; }
.badge.warn { background: #feebc8; color: #7b341e; }
"#;

/// Wraps `body` in a complete page with the shared style sheet.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

/// An integer with thousands separators.
pub(crate) fn int(n: u64) -> String {
    group_thousands(&n.to_string())
}

/// A wait or latency for people: `0.25 s`, `12.5 s`, `2m 5s`.
pub(crate) fn wait(s: f64) -> String {
    if !s.is_finite() {
        return "–".into();
    }
    if s < 60.0 {
        let ms = (s * 1000.0).round() as u64;
        format!("{} s", crate::time::seconds(ms))
    } else {
        human_time(s)
    }
}

/// One headline figure.
pub(crate) struct Kpi {
    pub label: String,
    pub value: String,
    pub note: String,
    /// `""`, `"ok"`, `"warn"` or `"bad"`.
    pub tone: &'static str,
}

pub(crate) fn kpis(out: &mut String, cards: &[Kpi]) {
    out.push_str("<section class=\"kpis\">\n");
    for k in cards {
        let _ = writeln!(
            out,
            "<div class=\"kpi {}\"><div class=\"label\">{}</div><div class=\"value\">{}</div>\
             <div class=\"note\">{}</div></div>",
            k.tone,
            escape(&k.label),
            escape(&k.value),
            escape(&k.note)
        );
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_well() {
        assert_eq!(wait(0.25), "0.25 s");
        assert_eq!(wait(12.0), "12 s");
        assert_eq!(wait(125.0), "2m 5s");
    }

    #[test]
    fn the_page_loads_nothing() {
        let p = page("a <b>", "<p>x</p>");
        assert!(p.starts_with("<!DOCTYPE html>"));
        assert!(p.contains("<title>a &lt;b&gt;</title>"));
        for banned in ["<script", "<link", "url(", "@import", "http"] {
            assert!(!p.contains(banned), "{banned}");
        }
    }
}
