//! What `headroom` writes: `headroom.csv` (every probe × seed), `headroom.json` (the answer),
//! `headroom.html` (the answer, the probes plotted, a table) and `first-failing/`, the full
//! run folder of the first failing value in its failing seed, which the page links.

use std::fmt::Write;
use std::path::Path;

use super::{Headroom, Probe};
use crate::Error;
use crate::criteria;
use crate::report::format::escape;
use crate::report::page::{Kpi, int, kpis, page};
use crate::report::plot::{self, Frame, Mesh, axis};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// The folder (inside the output) holding the first failing run's report.
pub const FAILING_DIR: &str = "first-failing";

/// `headroom.csv`: `probe,value,seed,pass,failing_criterion`, then the summary columns; one
/// row per probe × seed, probes in the order they ran.
pub fn headroom_csv(h: &Headroom) -> String {
    crate::batch::runs_csv(
        &["probe", "value", "seed", "pass", "failing_criterion"],
        h.probes.iter().enumerate().flat_map(|(i, p)| {
            p.runs.iter().zip(&p.unmet).map(move |(s, unmet)| {
                (
                    vec![
                        (i + 1).to_string(),
                        p.value.to_string(),
                        s.seed.to_string(),
                        if unmet.is_none() { "pass" } else { "fail" }.to_string(),
                        unmet.clone().unwrap_or_default(),
                    ],
                    s,
                )
            })
        }),
    )
}

#[derive(serde::Serialize)]
struct Json<'a> {
    key: &'a str,
    start: u64,
    answer: Option<u64>,
    first_failing: Option<u64>,
    failing_criterion: Option<&'a str>,
    seeds: &'a [u64],
    failing_seed: Option<u64>,
    failure: Option<&'a str>,
    passed_above_failure: Option<u64>,
    stopped: Option<&'a str>,
    until: String,
    probes: usize,
    scenario: &'a str,
    sentence: String,
}

/// `headroom.json`: `{"key", "start", "answer", "first_failing", "failing_criterion",
/// "seeds", …}` (numbers as JSON numbers, `null` where there is none).
pub fn headroom_json(h: &Headroom) -> String {
    let j = Json {
        key: &h.key,
        start: h.start,
        answer: h.answer,
        first_failing: h.first_failing,
        failing_criterion: h.failing_criterion.as_deref(),
        seeds: &h.seeds,
        failing_seed: h.failing_seed,
        failure: h.failure.as_deref(),
        passed_above_failure: h.passed_above_failure,
        stopped: h.stopped.as_deref(),
        until: h.until.to_string(),
        probes: h.probes.len(),
        scenario: &h.name,
        sentence: h.sentence(),
    };
    let mut s = serde_json::to_string_pretty(&j).unwrap_or_default();
    s.push('\n');
    s
}

const PASS: &str = "#2f855a";
const FAIL: &str = "#c53030";

/// One panel: every probe × seed at (value, `column`), green passing and red failing, with
/// the answer and the first failure marked. The x axis spans the probed values (not from
/// 0), the y axis from 0 to the largest value or the limit.
pub(super) fn probe_plot(
    h: &Headroom,
    column: &str,
    title: &str,
    limit: Option<(f64, &str)>,
) -> String {
    let (width, height) = (960, 300);
    let points: Vec<(u64, f64, bool)> = h
        .probes
        .iter()
        .flat_map(|p| {
            p.runs.iter().zip(&p.unmet).map(move |(s, u)| {
                (
                    p.value,
                    criteria::value(s, column).unwrap_or(0.0),
                    u.is_none(),
                )
            })
        })
        .collect();
    let xmin = points.iter().map(|p| p.0).min().unwrap_or(0) as f64;
    let xmax = points.iter().map(|p| p.0).max().unwrap_or(1) as f64;
    let ymax = points
        .iter()
        .map(|p| p.1)
        .chain(limit.map(|l| l.0))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let integer = column != "ip_wait_p99_s";
    let frame = Frame {
        x: axis::span_axis(xmin, xmax, true, &h.key, 6),
        y: axis::value_axis(ymax * 1.1, integer, column),
    };
    plot::draw((width, height), title, |root| {
        root.draw_text(title, &plot::bold(14.0, plot::TITLE), (16, 10))?;
        let area = root.clone().shrink((16, 36), (width - 16, height - 36));
        let mut chart = frame.build(&area, (74, 44), (4, 24))?;
        frame.mesh(&mut chart, Mesh::SERIES)?;
        if let Some((v, label)) = limit {
            plot::hline(&mut chart, &frame, v, "#718096", (5, 4))?;
            let style = plot::anchored(plot::font(11.0, plot::MUTED), HPos::Right, VPos::Bottom);
            chart.draw_series(std::iter::once(
                EmptyElement::at(frame.at(frame.x.max, v))
                    + Text::new(label.to_string(), (-4, -4), style),
            ))?;
        }
        let marks = [
            (
                h.answer,
                PASS,
                format!("answer {}", h.answer.map(int).unwrap_or_default()),
            ),
            (
                h.first_failing
                    .filter(|f| Some(*f) != h.answer.map(|a| a + 1)),
                FAIL,
                format!("fails {}", h.first_failing.map(int).unwrap_or_default()),
            ),
        ];
        for (v, colour, label) in marks {
            if let Some(v) = v {
                plot::vline(&mut chart, &frame, v as f64, colour, (3, 3))?;
                let style = plot::anchored(plot::bold(11.0, plot::INK), HPos::Left, VPos::Top);
                chart.draw_series(std::iter::once(
                    EmptyElement::at(frame.at(v as f64, frame.y.max))
                        + Text::new(label, (4, 2), style),
                ))?;
            }
        }
        let at = |v: u64, y: f64| frame.at(v as f64, frame.y.clamp(y));
        chart.draw_series(
            points
                .iter()
                .filter(|p| p.2)
                .map(|&(v, y, _)| Circle::new(at(v, y), 5, plot::rgb(PASS).filled())),
        )?;
        let red = plot::rgb(FAIL).stroke_width(2);
        chart.draw_series(points.iter().filter(|p| !p.2).map(|&(v, y, _)| {
            EmptyElement::at(at(v, y))
                + Circle::new((0, 0), 5, WHITE.filled())
                + Circle::new((0, 0), 5, plot::rgb(FAIL).stroke_width(1))
                + PathElement::new(vec![(-3, -3), (3, 3)], red)
                + PathElement::new(vec![(-3, 3), (3, -3)], red)
        }))?;
        Ok(())
    })
}

/// `headroom.html`: the answer, the probes plotted, every probe in a table.
pub fn headroom_html(h: &Headroom) -> String {
    let mut body = String::with_capacity(32 * 1024);
    let seeds = h.seeds.len();
    let _ = writeln!(
        body,
        "<header><p class=\"eyebrow\">ipamsim headroom</p><h1>{}</h1>\
         <p class=\"meta\">growing <code>{}</code> from {} · {} probe{} × {} seed{} · a run fails \
         unless <code>{}</code></p></header>",
        escape(&h.name),
        escape(&h.key),
        int(h.start),
        h.probes.len(),
        if h.probes.len() == 1 { "" } else { "s" },
        seeds,
        if seeds == 1 { "" } else { "s" },
        escape(&h.until.to_string()),
    );
    let sentence = escape(&h.sentence()).replace('`', "");
    let tone = if h.answer.is_some_and(|a| a >= h.start) {
        "ok"
    } else {
        "bad"
    };
    let link = if h.failing_run.is_some() {
        format!(
            "<p><a href=\"{FAILING_DIR}/report.html\">The full run report of {} in seed {}</a> \
             shows how it fails.</p>",
            h.first_failing.map(int).unwrap_or_default(),
            h.failing_seed.unwrap_or_default()
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        body,
        "<div class=\"callout {tone}\"><strong>{sentence}.</strong>{link}</div>"
    );
    let factor = match (h.answer, h.start) {
        (Some(a), s) if s > 0 => format!("{:.2}×", a as f64 / s as f64),
        _ => "–".into(),
    };
    kpis(
        &mut body,
        &[
            Kpi {
                label: "Scenario's value".into(),
                value: int(h.start),
                note: h.key.clone(),
                tone: "",
            },
            Kpi {
                label: "Largest value that passes".into(),
                value: h.answer.map_or("none".into(), int),
                note: format!("{factor} the scenario's, in every seed"),
                tone: if tone == "ok" { "ok" } else { "bad" },
            },
            Kpi {
                label: "Smallest failing value".into(),
                value: h.first_failing.map_or("none found".into(), int),
                note: h
                    .failing_criterion
                    .as_ref()
                    .map_or("–".into(), |c| format!("fails {c}")),
                tone: if h.first_failing.is_some() { "bad" } else { "" },
            },
        ],
    );
    if let Some(p) = h.passed_above_failure {
        let _ = writeln!(
            body,
            "<div class=\"callout warn\"><strong>Not monotone here.</strong><p>{} passed in \
             every seed although {} failed: in a stochastic model one more unit can shift later \
             draws. The answer is the largest value below the smallest failure seen.</p></div>",
            int(p),
            h.first_failing.map(int).unwrap_or_default()
        );
    }
    let column = h
        .failing_criterion
        .as_deref()
        .and_then(|c| c.split(['<', '>', '=', '!']).next())
        .unwrap_or("ip_wait_p99_s");
    let limit = h
        .until
        .0
        .iter()
        .find(|c| c.column == column)
        .and_then(|c| match c.bound {
            criteria::Bound::Value(v) if v > 0.0 => Some((v, "limit")),
            _ => None,
        });
    let usable = h
        .probes
        .first()
        .and_then(|p| p.runs.first())
        .map(|s| s.subnet_usable as f64);
    let _ = writeln!(
        body,
        "<h2>The probes</h2><p>The search doubles the value from the scenario's own until a \
         run fails, then bisects to adjacent values. Dots: seeds that passed; crosses: seeds \
         that failed.</p><figure>\n{}<figcaption>The figure behind the failure, per probe and \
         seed.</figcaption></figure>\n<figure>\n{}<figcaption>Addresses the subnet held at its \
         peak, against its usable addresses.</figcaption></figure>",
        probe_plot(h, column, &format!("{column} by value of {}", h.key), limit),
        probe_plot(
            h,
            "subnet_used_peak",
            "Peak subnet addresses used",
            usable.map(|u| (u, "usable"))
        ),
    );
    body.push_str(
        "<h2>Every probe</h2>\n<table><thead><tr><th class=\"num\">#</th><th class=\"num\">Value</th>\
         <th>Result</th><th class=\"num\">Peak IPs held</th><th class=\"num\">Subnet used, peak</th>\
         <th class=\"num\">p99 IP wait</th><th class=\"num\">Insufficient<wbr>CidrBlocks</th>\
         <th class=\"num\">Unschedulable</th></tr></thead><tbody>\n",
    );
    let mut order: Vec<(usize, &Probe)> = h.probes.iter().enumerate().collect();
    order.sort_by_key(|(_, p)| p.value);
    for (i, p) in order {
        let result = if p.passed() {
            "<span class=\"badge ok\">pass</span>".to_string()
        } else {
            // Seeds grouped by the criterion they failed: "seeds 11, 12: insufficient_..".
            let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
            for (s, u) in p.runs.iter().zip(&p.unmet) {
                if let Some(u) = u {
                    match groups.iter_mut().find(|g| g.0 == u.as_str()) {
                        Some(g) => g.1.push(s.seed.to_string()),
                        None => groups.push((u, vec![s.seed.to_string()])),
                    }
                }
            }
            let fails: Vec<String> = groups
                .iter()
                .map(|(u, seeds)| {
                    format!(
                        "seed{} {}: <code>{}</code>",
                        if seeds.len() == 1 { "" } else { "s" },
                        seeds.join(", "),
                        escape(u)
                    )
                })
                .collect();
            format!("<span class=\"badge bad\">fail</span> {}", fails.join("; "))
        };
        let range = |f: &dyn Fn(&crate::report::Summary) -> f64, wait: bool| {
            let lo = p.runs.iter().map(f).fold(f64::INFINITY, f64::min);
            let hi = p.runs.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
            let show = |x: f64| {
                if wait {
                    crate::report::page::wait(x)
                } else {
                    int(x as u64)
                }
            };
            if hi > lo {
                format!("{}–{}", show(lo), show(hi))
            } else {
                show(lo)
            }
        };
        let row_class = if Some(p.value) == h.answer {
            " class=\"best\""
        } else {
            ""
        };
        let _ = writeln!(
            body,
            "<tr{row_class}><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{result}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            i + 1,
            int(p.value),
            range(&|s| s.total_ips_peak as f64, false),
            range(&|s| s.subnet_used_peak as f64, false),
            range(&|s| s.ip_wait_p99_s, true),
            range(&|s| s.insufficient_cidr_blocks as f64, false),
            range(&|s| f64::from(s.pods_unschedulable), false),
        );
    }
    body.push_str("</tbody></table>\n");
    let _ = writeln!(
        body,
        "<p>Ranges are min–max over seeds. # is the order the probes ran.</p>\
         <footer>Data: <a href=\"headroom.csv\">headroom.csv</a> (one row per probe × seed), \
         <a href=\"headroom.json\">headroom.json</a>. Written by ipamsim {}; the same scenario, \
         key and seeds give this page byte for byte, whatever <code>--jobs</code>.</footer>",
        env!("CARGO_PKG_VERSION")
    );
    page(&format!("{} — ipamsim headroom", h.name), &body)
}

/// Writes the headroom folder at `out`, all or nothing (see
/// [`crate::report::write_folder`]).
pub fn write_headroom(out: &Path, h: &Headroom) -> Result<(), Error> {
    let files = vec![
        ("headroom.csv".to_string(), headroom_csv(h).into_bytes()),
        ("headroom.json".to_string(), headroom_json(h).into_bytes()),
        ("headroom.html".to_string(), headroom_html(h).into_bytes()),
    ];
    crate::report::write_folder(out, &files, |dir| match &h.failing_run {
        None => Ok(()),
        Some(run) => crate::report::folder::write_run_into(&dir.join(FAILING_DIR), run),
    })
}
