//! The Kubernetes audit log → a pod trace (spec/real-inputs.md §8).
//!
//! Input: JSON lines of `audit.k8s.io/v1` `Event`s; a CloudWatch Logs export to S3 (each line
//! `<timestamp> <event>`); or `aws logs filter-log-events --output json` (`events[].message`).
//! Only `ResponseComplete` events with a 2xx code on core `pods` count, each `auditID` once:
//! - *bind*: `create` of `pods/binding` (pod `objectRef.name`, node
//!   `requestObject.target.name`), or a `create` of `pods` that names its pod and has
//!   `spec.nodeName`;
//! - *create*: only host-network facts (controller pods use `generateName`, so below
//!   RequestResponse level their create names no pod: the bind is what names them);
//! - *end*: `delete` of `pods`, `create` of `pods/eviction`, a `patch`/`update` of
//!   `pods/status` to phase `Succeeded` or `Failed`.
//!
//! Events are walked in (`stageTimestamp`, file, line) order: a bind of a pod not live writes
//! `add`, an end of a live pod writes `delete`; host-network pods get no rows. `time_s` counts
//! from the first row's event, rounded to the millisecond (halves up).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::{ImportError, shown};

/// One trace row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Milliseconds since the first row.
    pub time_ms: u64,
    /// `namespace/name`.
    pub pod: String,
    /// `add` (true) or `delete`.
    pub add: bool,
    /// The node on an `add`, or empty.
    pub node: String,
}

/// A converted log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// Rows in time order.
    pub rows: Vec<Row>,
    /// Lines skipped (`FILE:LINE: …: skipped`).
    pub warnings: Vec<String>,
}

impl Trace {
    /// The trace as CSV (`time_s,pod,event,node`, DESIGN.md §4).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("time_s,pod,event,node\n");
        for r in &self.rows {
            let _ = writeln!(
                out,
                "{}.{:03},{},{},{}",
                r.time_ms / 1000,
                r.time_ms % 1000,
                csv_field(&r.pod),
                if r.add { "add" } else { "delete" },
                csv_field(&r.node)
            );
        }
        out
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// What the walk starts from.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Live pods at the start (pods.json), `namespace/name`.
    pub live: BTreeSet<String>,
    /// Pods known to be host-network (pods.json).
    pub host_network: BTreeSet<String>,
    /// With `--nodes` (or a `[start]`): the nodes an `add` may name; others are left empty.
    pub nodes: Option<BTreeSet<String>>,
}

#[derive(Clone, Debug)]
enum Fact {
    Bind { pod: String, node: String },
    End { pod: String },
    Host { pod: String },
}

/// Converts the logs at `paths`.
pub fn convert(paths: &[std::path::PathBuf], ctx: &Context) -> Result<Trace, ImportError> {
    let mut events: Vec<(i64, usize, usize, Fact)> = Vec::new();
    let mut warnings = Vec::new();
    let mut host = ctx.host_network.clone();
    let mut seen_ids = BTreeSet::new();
    for (fi, p) in paths.iter().enumerate() {
        let file = shown(p);
        let text = std::fs::read_to_string(p).map_err(|e| ImportError::Read {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let before = events.len();
        read_file(&text, &file, fi, &mut events, &mut warnings, &mut seen_ids)?;
        if events.len() == before && !has_any_event(&text) {
            return Err(ImportError::Invalid {
                file,
                message: "no audit event in the file; export the API server's audit log (JSON lines of audit.k8s.io/v1 Event)".into(),
            });
        }
    }
    for (_, _, _, f) in &events {
        if let Fact::Host { pod } = f {
            host.insert(pod.clone());
        }
    }
    events.sort_by_key(|a| (a.0, a.1, a.2));
    let mut live = ctx.live.clone();
    let mut rows = Vec::new();
    let mut t0: Option<i64> = None;
    for (t, _, _, f) in events {
        let (pod, row) = match f {
            Fact::Host { .. } => continue,
            Fact::Bind { pod, node } => {
                if host.contains(&pod) || !live.insert(pod.clone()) {
                    continue;
                }
                let node = match &ctx.nodes {
                    Some(known) if !known.contains(&node) => String::new(),
                    _ => node,
                };
                (pod, (true, node))
            }
            Fact::End { pod } => {
                if host.contains(&pod) || !live.remove(&pod) {
                    continue;
                }
                (pod, (false, String::new()))
            }
        };
        let start = *t0.get_or_insert(t);
        let us = (t - start).max(0) as u64;
        rows.push(Row {
            time_ms: (us + 500) / 1000,
            pod,
            add: row.0,
            node: row.1,
        });
    }
    Ok(Trace { rows, warnings })
}

fn has_any_event(text: &str) -> bool {
    text.contains("\"auditID\"")
}

/// The JSON texts of a file with their line numbers.
fn messages(text: &str) -> Vec<(usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // `aws logs filter-log-events --output json`: one document with events[].message.
    if text.trim_start().starts_with('{')
        && let Ok(Value::Object(o)) = serde_json::from_str::<Value>(text)
        && let Some(Value::Array(evs)) = o.get("events")
    {
        return evs
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((i + 1, e.get("message")?.as_str()?.to_string())))
            .collect();
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            // A CloudWatch S3 export puts a timestamp before the event.
            let body = match l.find('{') {
                Some(at) => &l[at..],
                None => l,
            };
            (i + 1, body.to_string())
        })
        .collect()
}

fn read_file(
    text: &str,
    file: &str,
    fi: usize,
    out: &mut Vec<(i64, usize, usize, Fact)>,
    warnings: &mut Vec<String>,
    seen_ids: &mut BTreeSet<String>,
) -> Result<(), ImportError> {
    for (line, body) in messages(text) {
        let v: Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(e) => {
                let why = if e.is_eof() {
                    "not a complete audit event (the JSON ends early)".to_string()
                } else {
                    format!("not an audit event ({})", super::one_line(&e.to_string()))
                };
                warnings.push(format!("{file}:{line}: {why}: skipped"));
                continue;
            }
        };
        let s = |path: &[&str]| -> Option<&str> {
            let mut cur = &v;
            for k in path {
                cur = cur.get(*k)?;
            }
            cur.as_str()
        };
        if s(&["kind"]) != Some("Event") && v.get("auditID").is_none() {
            warnings.push(format!(
                "{file}:{line}: not an audit event (no auditID): skipped"
            ));
            continue;
        }
        if s(&["stage"]) != Some("ResponseComplete")
            || s(&["objectRef", "resource"]) != Some("pods")
        {
            continue;
        }
        if s(&["objectRef", "apiGroup"]).is_some_and(|g| !g.is_empty()) {
            continue;
        }
        let code = v
            .get("responseStatus")
            .and_then(|r| r.get("code"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if !(200..300).contains(&code) {
            continue;
        }
        let id = s(&["auditID"]).unwrap_or("").to_string();
        if !id.is_empty() && !seen_ids.insert(id) {
            continue;
        }
        let Some(t) = s(&["stageTimestamp"]).and_then(parse_rfc3339_us) else {
            warnings.push(format!(
                "{file}:{line}: no readable stageTimestamp: skipped"
            ));
            continue;
        };
        let ns = s(&["objectRef", "namespace"]).unwrap_or("");
        let key = |name: &str| format!("{ns}/{name}");
        let name = s(&["objectRef", "name"]).filter(|n| !n.is_empty());
        let sub = s(&["objectRef", "subresource"]).unwrap_or("");
        let verb = s(&["verb"]).unwrap_or("");
        let b = |path: &[&str]| -> bool {
            let mut cur = &v;
            for k in path {
                match cur.get(*k) {
                    Some(c) => cur = c,
                    None => return false,
                }
            }
            cur.as_bool() == Some(true)
        };
        let mut push = |f: Fact| out.push((t, fi, line, f));
        match (verb, sub) {
            ("create", "binding") => {
                if let (Some(n), Some(node)) = (name, s(&["requestObject", "target", "name"])) {
                    push(Fact::Bind {
                        pod: key(n),
                        node: node.to_string(),
                    });
                } else if let Some(n) = name {
                    push(Fact::Bind {
                        pod: key(n),
                        node: String::new(),
                    });
                }
            }
            ("create", "") => {
                let n = name.or_else(|| s(&["responseObject", "metadata", "name"]));
                if let Some(n) = n {
                    if b(&["requestObject", "spec", "hostNetwork"])
                        || b(&["responseObject", "spec", "hostNetwork"])
                    {
                        push(Fact::Host { pod: key(n) });
                    } else if let (Some(n), Some(node)) =
                        (name, s(&["requestObject", "spec", "nodeName"]))
                    {
                        push(Fact::Bind {
                            pod: key(n),
                            node: node.to_string(),
                        });
                    }
                }
            }
            ("delete", "") | ("create", "eviction") => {
                if let Some(n) = name {
                    push(Fact::End { pod: key(n) });
                }
            }
            ("patch" | "update", "status") => {
                let phase = s(&["requestObject", "status", "phase"]);
                if let (Some(n), Some("Succeeded" | "Failed")) = (name, phase) {
                    push(Fact::End { pod: key(n) });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// RFC 3339 (`2026-10-06T14:22:01.187402Z`, or with an offset) as µs since the epoch.
pub fn parse_rfc3339_us(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut frac_us = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        let mut us = String::from(digits);
        us.truncate(6);
        while us.len() < 6 {
            us.push('0');
        }
        frac_us = us.parse().ok()?;
    }
    let offset_s = match b.get(i) {
        Some(b'Z' | b'z') => 0,
        Some(&c @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let sign = if c == b'+' { 1 } else { -1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    Some(secs * 1_000_000 + frac_us)
}

/// `ipamsim import-trace`: the context from optional pods.json and nodes.json.
pub fn context_from(pods: Option<&Path>, nodes: Option<&Path>) -> Result<Context, ImportError> {
    use super::json::{Input, read};
    let mut ctx = Context::default();
    if let Some(p) = pods {
        let file = shown(p);
        let obj = read(p, &file, Input::Pods)?;
        for pod in super::pods::read(&obj, &file)? {
            if !pod.is_live() {
                continue;
            }
            if pod.host_network {
                ctx.host_network.insert(pod.key);
            } else {
                ctx.live.insert(pod.key);
            }
        }
    }
    if let Some(n) = nodes {
        let file = shown(n);
        let obj = read(n, &file, Input::Nodes)?;
        ctx.nodes = Some(
            super::nodes::read(&obj, &file)?
                .into_iter()
                .map(|n| n.name)
                .collect(),
        );
    }
    Ok(ctx)
}

/// Counts per pod for tests: adds and deletes.
pub fn counts(t: &Trace) -> BTreeMap<String, (u32, u32)> {
    let mut m: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for r in &t.rows {
        let e = m.entry(r.pod.clone()).or_default();
        if r.add {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_to_microseconds() {
        let a = parse_rfc3339_us("2026-10-06T14:22:01.187402Z").unwrap();
        let b = parse_rfc3339_us("2026-10-06T14:22:16.020113Z").unwrap();
        assert_eq!(b - a, 14_832_711);
        assert_eq!(parse_rfc3339_us("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(
            parse_rfc3339_us("2026-10-06T16:22:01.187402+02:00"),
            Some(a)
        );
        assert_eq!(parse_rfc3339_us("yesterday"), None);
    }

    #[test]
    fn the_spec_example_gives_its_two_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        std::fs::write(&p, concat!(
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"6f1c","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"pods","namespace":"store","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"stageTimestamp":"2026-10-06T14:22:01.187402Z"}"#, "\n",
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a7d2","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"pods","namespace":"store","name":"web-8b6f5d4c3-q2w8r","apiVersion":"v1","subresource":"binding"},"responseStatus":{"metadata":{},"status":"Success","code":201},"requestObject":{"kind":"Binding","apiVersion":"v1","metadata":{"name":"web-8b6f5d4c3-q2w8r","namespace":"store"},"target":{"kind":"Node","name":"ip-10-20-0-37.us-west-2.compute.internal"}},"stageTimestamp":"2026-10-06T14:22:01.544719Z"}"#, "\n",
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"c90e","stage":"ResponseComplete","verb":"delete","objectRef":{"resource":"pods","namespace":"store","name":"web-6d9f7c5b8-x2kqp","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"stageTimestamp":"2026-10-06T14:22:16.020113Z"}"#, "\n",
            r#"{"kind":"Event","auditID":"trunc","stage":"#, "\n",
        )).unwrap();
        let ctx = Context {
            live: ["store/web-6d9f7c5b8-x2kqp".to_string()].into(),
            ..Context::default()
        };
        let t = convert(&[p], &ctx).unwrap();
        assert_eq!(
            t.to_csv(),
            "time_s,pod,event,node\n0.000,store/web-8b6f5d4c3-q2w8r,add,ip-10-20-0-37.us-west-2.compute.internal\n14.475,store/web-6d9f7c5b8-x2kqp,delete,\n"
        );
        assert_eq!(t.warnings.len(), 1);
        assert!(
            t.warnings[0].ends_with(
                "audit.jsonl:4: not a complete audit event (the JSON ends early): skipped"
            ),
            "{:?}",
            t.warnings
        );
    }
}
