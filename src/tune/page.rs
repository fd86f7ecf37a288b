//! What `tune` writes: `tune.csv` (every evaluated setting × seed), `tune.json` (winner,
//! runner-up, objective, constraints), `tune.html` (the answer, the `kubectl` line, the
//! Pareto front) and `winner/`, the winner's full run folder, which the page links.

use std::fmt::Write;
use std::path::Path;

use super::space::{DIMS, Setting};
use super::{Evaluated, Tune};
use crate::Error;
use crate::report::format::escape;
use crate::report::page::{Kpi, int, kpis, page, wait};
use crate::report::plot::{self, Frame, Mesh, axis};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// The folder (inside the output) holding the winner's run report.
pub const WINNER_DIR: &str = "winner";

/// `tune.csv`: `round,` the five aws-node variables, `feasible,unmet,` then the summary
/// columns; one row per evaluated setting × seed, in the order run.
pub fn tune_csv(t: &Tune) -> String {
    let lead: Vec<&str> = ["round"]
        .into_iter()
        .chain(DIMS)
        .chain(["feasible", "unmet"])
        .collect();
    crate::batch::runs_csv(
        &lead,
        t.evaluated.iter().enumerate().flat_map(|(i, e)| {
            e.runs.iter().zip(&t.unmet[i]).map(move |(s, unmet)| {
                let fields = std::iter::once(e.round.to_string())
                    .chain(e.setting.all().into_iter().map(|(_, v)| v))
                    .chain([t.feasible(i).to_string(), unmet.clone().unwrap_or_default()])
                    .collect();
                (fields, s)
            })
        }),
    )
}

#[derive(serde::Serialize)]
struct Vars {
    #[serde(rename = "ENABLE_PREFIX_DELEGATION")]
    pd: bool,
    #[serde(rename = "WARM_ENI_TARGET")]
    eni: u32,
    #[serde(rename = "WARM_IP_TARGET")]
    ip: u32,
    #[serde(rename = "MINIMUM_IP_TARGET")]
    min: u32,
    #[serde(rename = "WARM_PREFIX_TARGET")]
    prefix: u32,
}

impl From<&Setting> for Vars {
    fn from(s: &Setting) -> Vars {
        Vars {
            pd: s.prefix_delegation,
            eni: s.warm_eni,
            ip: s.warm_ip,
            min: s.min_ip,
            prefix: s.warm_prefix,
        }
    }
}

#[derive(serde::Serialize)]
struct Figures {
    objective: f64,
    total_ips_peak: f64,
    subnet_used_peak: f64,
    ip_wait_p99_s: f64,
    ec2_calls: f64,
}

fn figures(t: &Tune, e: &Evaluated) -> Figures {
    let r = |x: f64| (x * 1000.0).round() / 1000.0;
    Figures {
        objective: r(e.mean(|s| t.objective.of(s))),
        total_ips_peak: r(e.mean(|s| s.total_ips_peak as f64)),
        subnet_used_peak: r(e.mean(|s| s.subnet_used_peak as f64)),
        ip_wait_p99_s: r(e.mean(|s| s.ip_wait_p99_s)),
        ec2_calls: r(e.mean(|s| s.ec2_calls as f64)),
    }
}

#[derive(serde::Serialize)]
struct Json<'a> {
    winner: Option<Vars>,
    runner_up: Option<Vars>,
    objective: &'static str,
    constraints: Vec<String>,
    evaluated: usize,
    seeds: &'a [u64],
    rounds: u32,
    winner_figures: Option<Figures>,
    runner_up_figures: Option<Figures>,
    kubectl: Option<String>,
    scenario: &'a str,
}

/// `tune.json`: `{"winner": {VAR: value, ..}, "runner_up": {..}, "objective",
/// "constraints", "evaluated", …}`; the variables are all five the run used, with values as
/// `--set` takes them (0 = unset for `WARM_IP_TARGET` and `MINIMUM_IP_TARGET`); means over
/// seeds rounded to the millisecond/thousandth.
pub fn tune_json(t: &Tune) -> String {
    let pick = |i: Option<usize>| i.map(|i| &t.evaluated[i]);
    let j = Json {
        winner: pick(t.winner).map(|e| Vars::from(&e.setting)),
        runner_up: pick(t.runner_up).map(|e| Vars::from(&e.setting)),
        objective: t.objective.name(),
        constraints: t.constraints.0.iter().map(ToString::to_string).collect(),
        evaluated: t.evaluated.len(),
        seeds: &t.seeds,
        rounds: t.rounds,
        winner_figures: pick(t.winner).map(|e| figures(t, e)),
        runner_up_figures: pick(t.runner_up).map(|e| figures(t, e)),
        kubectl: pick(t.winner).map(|e| e.setting.kubectl()),
        scenario: &t.name,
    };
    let mut s = serde_json::to_string_pretty(&j).unwrap_or_default();
    s.push('\n');
    s
}

/// The Pareto front of the choices: among the feasible settings (all settings when none is
/// feasible), those no other one beats on all three of peak IPs, p99 wait and EC2 calls
/// (means; lower is better), in evaluation order.
pub fn pareto(t: &Tune) -> Vec<usize> {
    let feasible: Vec<usize> = (0..t.evaluated.len()).filter(|&i| t.feasible(i)).collect();
    let pool = if feasible.is_empty() {
        (0..t.evaluated.len()).collect()
    } else {
        feasible
    };
    let front = non_dominated(
        &pool
            .iter()
            .map(|&i| t.evaluated[i].clone())
            .collect::<Vec<_>>(),
    );
    front.into_iter().map(|k| pool[k]).collect()
}

/// The settings no other setting beats on all three of peak IPs, p99 wait and EC2 calls.
fn non_dominated(evaluated: &[Evaluated]) -> Vec<usize> {
    let m = |e: &Evaluated| {
        [
            e.mean(|s| s.total_ips_peak as f64),
            e.mean(|s| s.ip_wait_p99_s),
            e.mean(|s| s.ec2_calls as f64),
        ]
    };
    let all: Vec<[f64; 3]> = evaluated.iter().map(m).collect();
    (0..all.len())
        .filter(|&i| {
            // Equal figures: the first stands for them all.
            !all[..i].contains(&all[i])
                && !all.iter().any(|o| {
                    o.iter().zip(&all[i]).all(|(a, b)| a <= b)
                        && o.iter().zip(&all[i]).any(|(a, b)| a < b)
                })
        })
        .collect()
}

const WIN: &str = "#2f855a";
const FRONT: &str = "#2b6cb0";
const OTHER: &str = "#a0aec0";
const BAD: &str = "#e53e3e";

/// Peak IPs (x) against p99 pod IP wait (y), EC2 calls as the dot's size; the Pareto front
/// blue, the winner green, infeasible settings red rings; waits far above the rest are
/// pinned to the top edge under a red triangle.
pub(super) fn pareto_svg(t: &Tune, front: &[usize]) -> String {
    let (width, height) = (960, 460);
    let pts: Vec<(f64, f64, f64)> = t
        .evaluated
        .iter()
        .map(|e| {
            (
                e.mean(|s| s.total_ips_peak as f64),
                e.mean(|s| s.ip_wait_p99_s),
                e.mean(|s| s.ec2_calls as f64),
            )
        })
        .collect();
    let xmax = pts.iter().map(|p| p.0).fold(0.0, f64::max);
    // The wait axis ends at 3 × the front's largest wait when outliers (settings under which
    // pods starve) run far beyond it; they are pinned to the top edge.
    let front_wait = front.iter().map(|&i| pts[i].1).fold(0.0, f64::max);
    let all_wait = pts.iter().map(|p| p.1).fold(0.0, f64::max);
    let ycap = if all_wait > 3.0 * front_wait.max(1.0) {
        3.0 * front_wait.max(1.0)
    } else {
        all_wait.max(1.0)
    };
    let cmax = pts.iter().map(|p| p.2).fold(1.0, f64::max);
    let frame = Frame {
        x: axis::value_axis(
            xmax * 1.05,
            true,
            "Peak IPs held by the nodes (mean over seeds)",
        ),
        y: axis::value_axis(ycap * 1.1, false, "p99 pod IP wait, s (mean)"),
    };
    plot::draw(
        (width, height),
        "Pareto front: peak IPs, p99 pod IP wait, EC2 calls",
        |root| {
            let top = plot::header(
                root,
                16,
                "Every setting evaluated: peak IPs held against p99 pod IP wait",
                &[
                    "Dot area: EC2 calls. Blue: Pareto front of the feasible settings (none better on all three). Green: winner.",
                    "Red ring: breaks a constraint in some seed. ▲ at the top edge: a wait off the scale (pods that never got an address).",
                ],
            )?;
            let area = root
                .clone()
                .shrink((16, top), (width - 16, height - top as u32));
            let mut chart = frame.build(&area, (64, 44), (12, 24))?;
            frame.mesh(&mut chart, Mesh::SERIES)?;
            let mut order: Vec<usize> = (0..pts.len()).collect();
            // Draw others first, then the front, then the winner on top.
            order.sort_by_key(|&i| (Some(i) == t.winner, front.contains(&i)));
            for i in order {
                let (x, y, c) = pts[i];
                let at = frame.at(x, frame.y.clamp(y));
                // sqrt is exact (IEEE 754), so the radius is the same everywhere.
                let r = (3.0 + 7.0 * (c / cmax).sqrt()).round() as u32;
                let fill = if Some(i) == t.winner {
                    WIN
                } else if front.contains(&i) {
                    FRONT
                } else {
                    OTHER
                };
                let ring = if t.feasible(i) {
                    TRANSPARENT.stroke_width(0)
                } else {
                    plot::rgb(BAD).stroke_width(2)
                };
                chart.draw_series(std::iter::once(
                    EmptyElement::at(at)
                        + Circle::new((0, 0), r, plot::rgb(fill).filled())
                        + Circle::new((0, 0), r, ring),
                ))?;
                if y > frame.y.max {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at(at)
                            + Polygon::new(
                                vec![
                                    (-4, -(r as i32) - 2),
                                    (0, -(r as i32) - 8),
                                    (4, -(r as i32) - 2),
                                ],
                                plot::rgb(BAD).filled(),
                            ),
                    ))?;
                }
            }
            if let Some(w) = t.winner {
                let (x, y, _) = pts[w];
                // Label on the side with room.
                let right = x > (frame.x.min + frame.x.max) / 2.0;
                let style = plot::anchored(
                    plot::bold(12.0, plot::INK),
                    if right { HPos::Right } else { HPos::Left },
                    VPos::Bottom,
                );
                chart.draw_series(std::iter::once(
                    EmptyElement::at(frame.at(x, frame.y.clamp(y)))
                        + Text::new(
                            format!("winner: {}", t.evaluated[w].setting.label()),
                            (if right { -12 } else { 12 }, -8),
                            style,
                        ),
                ))?;
            }
            Ok(())
        },
    )
}

fn setting_row(t: &Tune, i: usize, tag: &str) -> String {
    let e = &t.evaluated[i];
    let first_unmet = t.unmet[i]
        .iter()
        .zip(&t.seeds)
        .find_map(|(u, seed)| u.as_ref().map(|u| format!("seed {seed}: {u}")));
    let verdict = match first_unmet {
        None => "<span class=\"badge ok\">feasible</span>".to_string(),
        Some(u) => format!(
            "<span class=\"badge bad\">breaks</span> <code>{}</code>",
            escape(&u)
        ),
    };
    format!(
        "<tr{}><td>{tag}{}</td><td>{verdict}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        if Some(i) == t.winner {
            " class=\"best\""
        } else {
            ""
        },
        escape(&e.setting.label()),
        int(e.mean(|s| s.total_ips_peak as f64).round() as u64),
        int(e.mean(|s| s.subnet_used_peak as f64).round() as u64),
        wait(e.mean(|s| s.ip_wait_p99_s)),
        int(e.mean(|s| s.ec2_calls as f64).round() as u64),
    )
}

const TABLE_HEAD: &str = "<table><thead><tr><th>Setting</th><th>Constraints</th>\
    <th class=\"num\">Peak IPs held</th><th class=\"num\">Subnet used, peak</th>\
    <th class=\"num\">p99 IP wait</th><th class=\"num\">EC2 calls</th></tr></thead><tbody>\n";

/// `tune.html`: the winner and runner-up, the command that applies the winner, the Pareto
/// front, and the link to the winner's run report.
pub fn tune_html(t: &Tune) -> String {
    let mut body = String::with_capacity(64 * 1024);
    let seeds = t.seeds.len();
    let _ = writeln!(
        body,
        "<header><p class=\"eyebrow\">ipamsim tune</p><h1>{}</h1><p class=\"meta\">{} settings \
         evaluated (coarse grid + {} refine round{}) × {} seed{} · minimising the mean {} · \
         constraints in every seed: <code>{}</code></p></header>",
        escape(&t.name),
        t.evaluated.len(),
        t.rounds,
        if t.rounds == 1 { "" } else { "s" },
        seeds,
        if seeds == 1 { "" } else { "s" },
        t.objective.title(),
        escape(&t.constraints.to_string()),
    );
    match t.winner {
        Some(w) => {
            let e = &t.evaluated[w];
            let _ = writeln!(
                body,
                "<div class=\"callout ok\"><strong>Winner: {}</strong><p>Mean {}: {}; p99 pod IP \
                 wait {}, {} EC2 calls; every constraint met in every seed.</p>\
                 <p><code>{}</code></p><p><a href=\"{WINNER_DIR}/report.html\">The winner's full \
                 run report</a> (seed {}).</p></div>",
                escape(&e.setting.label()),
                t.objective.title(),
                int(e.mean(|s| t.objective.of(s)).round() as u64),
                wait(e.mean(|s| s.ip_wait_p99_s)),
                int(e.mean(|s| s.ec2_calls as f64).round() as u64),
                escape(&e.setting.kubectl()),
                t.seeds[0],
            );
            let runner = t.runner_up.map(|r| &t.evaluated[r]);
            kpis(
                &mut body,
                &[
                    Kpi {
                        label: format!("Winner: {}", t.objective.title()),
                        value: int(e.mean(|s| t.objective.of(s)).round() as u64),
                        note: "mean over seeds".into(),
                        tone: "ok",
                    },
                    Kpi {
                        label: "Runner-up".into(),
                        value: runner.map_or("none".into(), |r| {
                            int(r.mean(|s| t.objective.of(s)).round() as u64)
                        }),
                        note: runner
                            .map_or("no other setting is feasible".into(), |r| r.setting.label()),
                        tone: "",
                    },
                    Kpi {
                        label: "Settings evaluated".into(),
                        value: int(t.evaluated.len() as u64),
                        note: format!("{} runs", int((t.evaluated.len() * seeds) as u64)),
                        tone: "",
                    },
                ],
            );
            if e.setting.prefix_delegation {
                body.push_str(
                    "<p>Switching to prefix delegation applies to ENIs attached after the change: \
                     replace the nodes (or roll the node group) for it to take effect everywhere.</p>\n",
                );
            }
        }
        None => body.push_str(
            "<div class=\"callout bad\"><strong>No setting met every constraint in every seed.\
             </strong><p>The table below says which constraint each setting broke; relax the \
             constraints or widen the space.</p></div>\n",
        ),
    }
    let front = pareto(t);
    let _ = writeln!(
        body,
        "<h2>The Pareto front</h2><figure>\n{}<figcaption>Means over seeds; each seed runs the \
         same workload draws for every setting (common random numbers).</figcaption></figure>",
        pareto_svg(t, &front)
    );
    body.push_str(
        "<h3>Settings on the front (feasible settings no other beats on all three)</h3>\n",
    );
    body.push_str(TABLE_HEAD);
    for &i in &front {
        body.push_str(&setting_row(t, i, ""));
        body.push('\n');
    }
    body.push_str("</tbody></table>\n");
    let mut ranked = super::ranking(&t.evaluated, &t.unmet, t.objective);
    ranked.truncate(10);
    if !ranked.is_empty() {
        body.push_str("<h2>Best feasible settings</h2>\n");
        body.push_str(TABLE_HEAD);
        for (k, &i) in ranked.iter().enumerate() {
            body.push_str(&setting_row(t, i, &format!("{}. ", k + 1)));
            body.push('\n');
        }
        body.push_str("</tbody></table>\n");
    }
    let _ = writeln!(
        body,
        "<p>How the search works: a coarse grid of every mode with each target at its ends and \
         on a geometric ladder, then a compass search around the {} best feasible settings, \
         halving the step when a round finds nothing better. Settings ipamd treats alike are \
         run once (WARM_ENI_TARGET is ignored once WARM_IP_TARGET or MINIMUM_IP_TARGET is set, \
         and in prefix mode); combinations the aws-node entrypoint refuses are left out.</p>\
         <footer>Data: <a href=\"tune.csv\">tune.csv</a> (one row per setting × seed), \
         <a href=\"tune.json\">tune.json</a>. Written by ipamsim {}; the same scenario, space \
         and seeds give this page byte for byte, whatever <code>--jobs</code>.</footer>",
        super::INCUMBENTS,
        env!("CARGO_PKG_VERSION")
    );
    page(&format!("{} — ipamsim tune", t.name), &body)
}

/// Writes the tune folder at `out`, all or nothing.
pub fn write_tune(out: &Path, t: &Tune) -> Result<(), Error> {
    let files = vec![
        ("tune.csv".to_string(), tune_csv(t).into_bytes()),
        ("tune.json".to_string(), tune_json(t).into_bytes()),
        ("tune.html".to_string(), tune_html(t).into_bytes()),
    ];
    crate::report::write_folder(out, &files, |dir| match &t.winner_run {
        None => Ok(()),
        Some(run) => crate::report::folder::write_run_into(&dir.join(WINNER_DIR), run),
    })
}

/// What `tune` prints: the winner and the runner-up with their figures, and the command
/// that applies the winner.
pub fn tune_text(t: &Tune) -> String {
    let line = |tag: &str, i: usize| {
        let e = &t.evaluated[i];
        format!(
            "{tag}: {}\n  mean {} {}, p99 pod IP wait {}, {} EC2 calls\n",
            e.setting.label(),
            t.objective.title(),
            int(e.mean(|s| t.objective.of(s)).round() as u64),
            wait(e.mean(|s| s.ip_wait_p99_s)),
            int(e.mean(|s| s.ec2_calls as f64).round() as u64),
        )
    };
    let mut out = String::new();
    match t.winner {
        Some(w) => {
            out.push_str(&line("winner", w));
            if let Some(r) = t.runner_up {
                out.push_str(&line("runner-up", r));
            }
            out.push_str(&format!(
                "apply it with:\n  {}\n",
                t.evaluated[w].setting.kubectl()
            ));
        }
        None => out.push_str(
            "no setting met every constraint in every seed; tune.html says which each broke\n",
        ),
    }
    out
}
