//! Trace replay: a recorded list of pod adds and deletes.
//!
//! The file is CSV with the header `time_s,pod,event` or `time_s,pod,event,node`:
//! - `time_s`: seconds from the start of the run (fractions allowed, rounded to the
//!   millisecond), non-decreasing down the file;
//! - `pod`: the pod's name; an `add` of a name that is running is an error, a `delete` must
//!   name a running pod; a name may be added again after its delete (a new pod, as a
//!   StatefulSet's replacement is);
//! - `event`: `add` or `delete`;
//! - `node` (optional, may be empty): on an `add`, the node the pod must be bound to, by
//!   its scenario name `{nodegroup}-{i}`; ignored on a `delete`.
//!
//! Blank lines and lines starting with `#` are skipped. The whole file is checked even where
//! it runs past the scenario's duration; rows at or after the duration produce no events.
//! Every error names the file and line.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::{PodEvent, PodEventKind};
use crate::scenario::{MAX_PODS, ScenarioError};
use crate::time::Millis;

/// Where a replay writes.
pub(super) struct Sink<'a> {
    pub events: &'a mut Vec<PodEvent>,
    /// Id of this trace's first pod.
    pub first_pod: u32,
    /// Pod names, concatenated, with their end offsets.
    pub names: &'a mut String,
    pub name_ends: &'a mut Vec<usize>,
    /// Rows at or after this produce no events.
    pub duration: Millis,
    /// Pods live before the trace starts (a `[start]`'s), with their ids: a row may delete them.
    pub initial: &'a [(String, u32)],
}

/// What a replay produced besides events.
pub(super) struct Replayed {
    /// Pods created (ids `first_pod..first_pod + pods`).
    pub pods: u32,
    /// (pod, node name, line) for adds with a node.
    pub pins: Vec<(u32, String, u64)>,
}

/// Replays the trace at `path`.
pub(super) fn replay(path: &Path, sink: Sink<'_>) -> Result<Replayed, ScenarioError> {
    let file = std::fs::File::open(path).map_err(|e| ScenarioError::Trace {
        path: path.to_path_buf(),
        line: None,
        message: format!("cannot read the trace: {e}"),
    })?;
    replay_from(
        LineLimit {
            inner: std::io::BufReader::new(file),
            run: 0,
        },
        path,
        sink,
    )
}

/// The longest line a trace may have: a row is a time, a pod name, an event and a node name,
/// well under 1 KB; a longer line is not a trace (and would be buffered whole).
pub const MAX_TRACE_LINE_BYTES: usize = 64 << 10;

/// A reader that fails on a line longer than [`MAX_TRACE_LINE_BYTES`], so the CSV reader's
/// record buffer stays bounded whatever the file holds.
struct LineLimit<R> {
    inner: R,
    /// Bytes since the last line break.
    run: usize,
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.run = 0;
            } else {
                self.run += 1;
                if self.run > MAX_TRACE_LINE_BYTES {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "a line is longer than {} KiB; a trace row is time_s,pod,event[,node]",
                            MAX_TRACE_LINE_BYTES >> 10
                        ),
                    ));
                }
            }
        }
        Ok(n)
    }
}

const HEADER: &str = "time_s,pod,event[,node]";

/// Replays a trace read from `reader`; `path` names it in messages.
pub(super) fn replay_from(
    reader: impl Read,
    path: &Path,
    sink: Sink<'_>,
) -> Result<Replayed, ScenarioError> {
    let err = |line: Option<u64>, message: String| ScenarioError::Trace {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(reader);
    let mut rec = csv::StringRecord::new();
    let read = |rdr: &mut csv::Reader<_>, rec: &mut csv::StringRecord| {
        rdr.read_record(rec).map_err(|e| {
            let line = e.position().map(|p| p.line());
            err(line, format!("not readable as CSV: {e}"))
        })
    };
    if !read(&mut rdr, &mut rec)? {
        return Err(err(
            None,
            format!("the trace is empty; its first line must be the header {HEADER}"),
        ));
    }
    let header_line = rec.position().map(|p| p.line());
    let fields: Vec<&str> = rec
        .iter()
        .map(|f| f.trim_start_matches('\u{feff}'))
        .collect();
    let columns = match fields.as_slice() {
        ["time_s", "pod", "event"] => 3,
        ["time_s", "pod", "event", "node"] => 4,
        _ => {
            return Err(err(
                header_line,
                format!("the header is {:?}; it must be {HEADER}", fields.join(",")),
            ));
        }
    };

    // name → (pod id if the add is inside the run, line of its add). Looked up, never
    // iterated, so its order cannot leak into results.
    let mut live: HashMap<String, (Option<u32>, u64)> = sink
        .initial
        .iter()
        .map(|(name, id)| (name.clone(), (Some(*id), 0)))
        .collect();
    let mut pins = Vec::new();
    let mut created: u32 = 0;
    let mut prev: Option<(Millis, f64)> = None;
    while read(&mut rdr, &mut rec)? {
        let line = rec.position().map_or(0, |p| p.line());
        let at = Some(line);
        if rec.len() < 3 {
            return Err(err(
                at,
                format!(
                    "this row has {} column(s); each row needs {HEADER}",
                    rec.len()
                ),
            ));
        }
        if rec.len() > columns {
            return Err(err(
                at,
                format!(
                    "this row has {} columns but the header has {columns}; each row needs {HEADER}",
                    rec.len()
                ),
            ));
        }
        let (time_text, pod, event) = (&rec[0], &rec[1], &rec[2]);
        let seconds: f64 = time_text
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s < 1e12)
            .ok_or_else(|| {
                err(
                    at,
                    format!("time_s {time_text:?} is not a number of seconds ≥ 0 (e.g. 12.5)"),
                )
            })?;
        let time = (seconds * 1000.0).round() as Millis;
        if let Some((prev_ms, prev_s)) = prev
            && time < prev_ms
        {
            return Err(err(
                at,
                format!(
                    "rows must be in time order: {seconds} s comes after a row at {prev_s} s; sort the trace by time_s"
                ),
            ));
        }
        prev = Some((time, seconds));
        if pod.is_empty() {
            return Err(err(at, "the pod name is empty".into()));
        }
        let inside = time < sink.duration;
        if event.eq_ignore_ascii_case("add") {
            if let Some((_, added)) = live.get(pod) {
                return Err(err(
                    at,
                    format!(
                        "pod {pod:?} is added again while running (added at line {added}); delete it first or rename it"
                    ),
                ));
            }
            let id = if inside {
                if u64::from(sink.first_pod) + u64::from(created) >= MAX_PODS {
                    return Err(ScenarioError::TooManyPods {
                        pods: MAX_PODS + 1,
                        max: MAX_PODS,
                    });
                }
                let id = sink.first_pod + created;
                created += 1;
                sink.names.push_str(pod);
                sink.name_ends.push(sink.names.len());
                sink.events.push(PodEvent {
                    time,
                    pod: id,
                    kind: PodEventKind::Add,
                });
                let node = rec.get(3).unwrap_or("");
                if !node.is_empty() {
                    pins.push((id, node.to_string(), line));
                }
                Some(id)
            } else {
                None
            };
            live.insert(pod.to_string(), (id, line));
        } else if event.eq_ignore_ascii_case("delete") {
            let Some((id, _)) = live.remove(pod) else {
                return Err(err(
                    at,
                    format!(
                        "delete of pod {pod:?}, which is not running (never added, or already deleted)"
                    ),
                ));
            };
            if let (Some(id), true) = (id, inside) {
                sink.events.push(PodEvent {
                    time,
                    pod: id,
                    kind: PodEventKind::Delete,
                });
            }
        } else {
            return Err(err(
                at,
                format!("unknown event {event:?}; use add or delete"),
            ));
        }
    }
    Ok(Replayed {
        pods: created,
        pins,
    })
}
