//! Workloads: the pod arrivals and departures a scenario's `[[workload]]` entries produce.
//!
//! [`Workloads::generate`] turns the validated [`WorkloadSpec`]s into one time-sorted stream
//! of [`PodEvent`]s ([`PodEvents`], merged lazily from each workload's own stream: see
//! [`stream`]). Each workload draws from its own random stream,
//! `streams.stream("workload", index)`, so adding a workload never changes another's pods.
//!
//! - **deployment**: the replica count follows the steps. A scale-up adds pods with fresh
//!   ordinals (`{name}-{ordinal}`, ordinals never reused); a scale-down deletes the newest pods
//!   first, as a ReplicaSet's default downscale ranking does for pods of equal state
//!   (`kubernetes/pkg/controller/replicaset`: newer pods are deleted before older ones).
//! - **poisson**: arrivals in `[start, end)` with exponential inter-arrival times at
//!   `rate_per_min`; each pod lives an exponential (`mean`) or fixed lifetime.
//! - **trace**: a CSV replay (see [`trace`]).
//!
//! The run covers `[0, duration)`: events at or after `duration` are dropped (a pod whose
//! delete would fall after the end simply stays). Events are ordered by time, then by
//! generation order: workload index, then the order the workload produced them (for a
//! deployment step: its adds in ordinal order, or its deletes newest first).
//!
//! Pods are dense `u32` ids, each workload owning one contiguous range in workload order.
//! Names are computed on demand from (workload, ordinal) — only trace pods, whose names come
//! from the file, are stored (in one shared buffer).

pub mod stream;
pub mod trace;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use rand::RngExt as _;

use crate::rng::Streams;
use crate::scenario::{Lifetime, MAX_PODS, Scenario, ScenarioError, WorkloadSpec};
use crate::time::{MINUTE, Millis};

pub use stream::PodEvents;
use stream::{Deletes, PoissonEvents, SortedDeletes, Times};

/// What happens to a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PodEventKind {
    /// The pod is created and waits to be scheduled.
    Add,
    /// The pod is deleted.
    Delete,
}

/// One pod arrival or departure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodEvent {
    /// When.
    pub time: Millis,
    /// Which pod (see [`Workloads::pod_name`]).
    pub pod: u32,
    /// Add or delete.
    pub kind: PodEventKind,
}

/// The pods of one workload: ids `first..first + count`.
#[derive(Clone, Debug)]
struct PodRange {
    first: u32,
    count: u32,
    name: String,
    /// For a trace: index of its first pod's name in `Workloads::trace_name_ends`.
    trace_names: Option<usize>,
}

/// A trace pod pinned to a node by the trace's `node` column.
#[derive(Clone, Copy, Debug)]
struct Pin {
    pod: u32,
    /// Index into `Workloads::node_names`.
    node: u32,
}

/// Every pod event of a run, and the names of its pods.
#[derive(Clone, Debug, Default)]
pub struct Workloads {
    /// All pod events, in (time, generation order); only events before the scenario's
    /// duration.
    pub events: PodEvents,
    ranges: Vec<PodRange>,
    /// Trace pod names, concatenated; `trace_name_ends[i]` ends name i.
    trace_name_buf: String,
    trace_name_ends: Vec<usize>,
    /// Trace pods with a `node`, by increasing pod id.
    pins: Vec<Pin>,
    /// Distinct node names in traces, in order of first use; with the trace (workload index)
    /// and line that first named each, for messages.
    node_names: Vec<(String, usize, u64)>,
    /// `node_names` resolved to node indices by [`Workloads::resolve_nodes`].
    node_index: Vec<Option<u32>>,
}

impl Workloads {
    /// Generates the events of `specs` over `[0, duration)`.
    pub fn generate(
        specs: &[WorkloadSpec],
        duration: Millis,
        streams: &Streams,
    ) -> Result<Workloads, ScenarioError> {
        Workloads::generate_from(specs, duration, streams, &[])
    }

    /// [`Workloads::generate`] after the live pods of a `[start]` (spec/real-inputs.md §7):
    /// `imported` are their names and whether each is unbound (an arrival at t=0); they are
    /// pods `0..imported.len()`, in a range named `imported`, and a trace or audit workload
    /// may delete them by name. (Every trace sees them live at its start.)
    pub fn generate_from(
        specs: &[WorkloadSpec],
        duration: Millis,
        streams: &Streams,
        imported: &[(String, bool)],
    ) -> Result<Workloads, ScenarioError> {
        let mut w = Workloads::default();
        let mut node_ids: HashMap<String, u32> = HashMap::new();
        let mut initial: Vec<(String, u32)> = Vec::with_capacity(imported.len());
        if !imported.is_empty() {
            let mut events = Vec::new();
            w.ranges.push(PodRange {
                first: 0,
                count: imported.len() as u32,
                name: "imported".into(),
                trace_names: Some(0),
            });
            for (i, (name, unbound)) in imported.iter().enumerate() {
                w.trace_name_buf.push_str(name);
                w.trace_name_ends.push(w.trace_name_buf.len());
                initial.push((name.clone(), i as u32));
                if *unbound {
                    events.push(PodEvent {
                        time: 0,
                        pod: i as u32,
                        kind: PodEventKind::Add,
                    });
                }
            }
            w.events.push_list(events);
        }
        for (index, spec) in specs.iter().enumerate() {
            let first = w.next_pod();
            let mut range = PodRange {
                first,
                count: 0,
                name: spec.name().to_string(),
                trace_names: None,
            };
            let count = match spec {
                WorkloadSpec::Deployment { steps, .. } => {
                    let mut events = Vec::new();
                    let created = deployment(&mut events, first, steps, duration);
                    w.events.push_list(events);
                    created
                }
                WorkloadSpec::Poisson {
                    rate_per_min,
                    lifetime,
                    start,
                    end,
                    ..
                } => {
                    let mut rng = streams.stream("workload", index as u64);
                    let p = Poisson {
                        rate_per_min: *rate_per_min,
                        lifetime: *lifetime,
                        start: *start,
                        end: (*end).min(duration),
                        duration,
                    };
                    let events = p.generate(first, || rng.random::<f64>())?;
                    let created = events.arrivals.len() as u32;
                    w.events.push_poisson(events);
                    created
                }
                WorkloadSpec::Trace { .. } | WorkloadSpec::Audit { .. } => {
                    range.trace_names = Some(w.trace_name_ends.len());
                    let mut events = Vec::new();
                    let sink = trace::Sink {
                        events: &mut events,
                        first_pod: first,
                        names: &mut w.trace_name_buf,
                        name_ends: &mut w.trace_name_ends,
                        duration,
                        initial: &initial,
                    };
                    let replayed = match spec {
                        WorkloadSpec::Audit { paths, csv, .. } => trace::replay_from(
                            csv.as_bytes(),
                            paths.first().map_or(std::path::Path::new("audit"), |p| p),
                            sink,
                        )?,
                        WorkloadSpec::Trace { path, .. } => trace::replay(path, sink)?,
                        _ => unreachable!("matched above"),
                    };
                    for (pod, node, line) in replayed.pins {
                        let next = node_ids.len() as u32;
                        let id = *node_ids.entry(node.clone()).or_insert_with(|| {
                            w.node_names.push((node, index, line));
                            next
                        });
                        w.pins.push(Pin { pod, node: id });
                    }
                    w.events.push_list(events);
                    replayed.pods
                }
            };
            range.count = count;
            if u64::from(first) + u64::from(count) > MAX_PODS {
                return Err(ScenarioError::TooManyPods {
                    pods: u64::from(first) + u64::from(count),
                    max: MAX_PODS,
                });
            }
            w.ranges.push(range);
        }
        w.node_index = vec![None; w.node_names.len()];
        Ok(w)
    }

    /// [`Workloads::generate`] for a scenario, with trace `node` names resolved against its
    /// node groups (an unknown node is an error naming the trace line).
    pub fn for_scenario(
        scenario: &Scenario,
        streams: &Streams,
    ) -> Result<Workloads, ScenarioError> {
        let imported: Vec<(String, bool)> = scenario.start.as_ref().map_or(Vec::new(), |st| {
            st.snapshot
                .pods
                .iter()
                .map(|p| (p.key.clone(), p.node.is_none()))
                .collect()
        });
        let mut w =
            Workloads::generate_from(&scenario.workloads, scenario.duration, streams, &imported)?;
        w.resolve_nodes(|name| scenario.node_index(name), scenario)?;
        Ok(w)
    }

    /// Resolves the trace `node` names with `index_of`; `scenario` supplies trace paths for
    /// messages.
    pub fn resolve_nodes(
        &mut self,
        index_of: impl Fn(&str) -> Option<u32>,
        scenario: &Scenario,
    ) -> Result<(), ScenarioError> {
        for (i, (name, workload, line)) in self.node_names.iter().enumerate() {
            match index_of(name) {
                Some(n) => self.node_index[i] = Some(n),
                None => {
                    let path = match scenario.workloads.get(*workload) {
                        Some(WorkloadSpec::Trace { path, .. }) => path.clone(),
                        _ => Default::default(),
                    };
                    return Err(ScenarioError::Trace {
                        path,
                        line: Some(*line),
                        message: format!(
                            "node {name:?} is not a node of this scenario; nodes are named {{nodegroup}}-{{i}}, i from 0 (e.g. {})",
                            scenario
                                .nodegroups
                                .iter()
                                .find(|g| g.count > 0)
                                .map_or("none: the scenario has no nodes".to_string(), |g| g
                                    .node_name(0))
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Number of pods (ids are `0..pods()`).
    pub fn pods(&self) -> u32 {
        self.next_pod()
    }

    fn next_pod(&self) -> u32 {
        self.ranges.last().map_or(0, |r| r.first + r.count)
    }

    /// Index of the pod range that owns `pod`: the workload's index in scenario order, after
    /// the `[start]`'s imported pods (range 0) when there are any.
    pub fn workload_of(&self, pod: u32) -> usize {
        self.ranges.partition_point(|r| r.first + r.count <= pod)
    }

    /// The pod's name: `{workload}-{ordinal}`, or its name in the trace.
    pub fn pod_name(&self, pod: u32) -> Cow<'_, str> {
        let r = &self.ranges[self.workload_of(pod)];
        let ordinal = (pod - r.first) as usize;
        match r.trace_names {
            Some(base) => Cow::Borrowed(self.trace_name(base + ordinal)),
            None => Cow::Owned(format!("{}-{ordinal}", r.name)),
        }
    }

    /// Appends the pod's name to `out` (no allocation once `out` has room).
    pub fn write_pod_name(&self, pod: u32, out: &mut String) {
        let r = &self.ranges[self.workload_of(pod)];
        let ordinal = (pod - r.first) as usize;
        match r.trace_names {
            Some(base) => out.push_str(self.trace_name(base + ordinal)),
            None => {
                let _ = write!(out, "{}-{ordinal}", r.name);
            }
        }
    }

    fn trace_name(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.trace_name_ends[i - 1]
        };
        &self.trace_name_buf[start..self.trace_name_ends[i]]
    }

    /// The node a trace pinned `pod` to, once resolved ([`Workloads::for_scenario`]).
    pub fn pinned_node(&self, pod: u32) -> Option<u32> {
        let pin = self.pin(pod)?;
        self.node_index.get(pin.node as usize).copied().flatten()
    }

    /// The node name a trace pinned `pod` to.
    pub fn pinned_node_name(&self, pod: u32) -> Option<&str> {
        let pin = self.pin(pod)?;
        Some(&self.node_names[pin.node as usize].0)
    }

    fn pin(&self, pod: u32) -> Option<&Pin> {
        self.pins
            .binary_search_by_key(&pod, |p| p.pod)
            .ok()
            .map(|i| &self.pins[i])
    }
}

/// A deployment's events; returns the pods it created.
fn deployment(
    events: &mut Vec<PodEvent>,
    first: u32,
    steps: &[(Millis, u32)],
    duration: Millis,
) -> u32 {
    let mut live: u32 = 0; // ordinals 0..created, the live ones are a stack of the newest
    let mut stack: Vec<u32> = Vec::new();
    let mut created: u32 = 0;
    for &(at, replicas) in steps.iter().take_while(|(at, _)| *at < duration) {
        while live < replicas {
            stack.push(created);
            events.push(PodEvent {
                time: at,
                pod: first + created,
                kind: PodEventKind::Add,
            });
            created += 1;
            live += 1;
        }
        while live > replicas {
            let ordinal = stack.pop().expect("live pods are on the stack");
            events.push(PodEvent {
                time: at,
                pod: first + ordinal,
                kind: PodEventKind::Delete,
            });
            live -= 1;
        }
    }
    created
}

/// `x.round()` (half away from zero), without the libm call `f64::round` is on a baseline
/// x86-64 target. Exact for `0 < x < 2^52`: the cast truncates, the fraction `x - i` is
/// representable (its bits are x's), so the comparison with ½ decides as `round` does; other
/// values (larger ones are already integers) take `f64::round`.
#[inline]
fn round(x: f64) -> f64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    if x > 0.0 && x < TWO_52 {
        let i = x as u64 as f64;
        if x - i >= 0.5 { i + 1.0 } else { i }
    } else {
        x.round()
    }
}

/// A Poisson workload, its window clipped to the run.
#[derive(Clone, Copy, Debug)]
struct Poisson {
    rate_per_min: f64,
    lifetime: Lifetime,
    /// Arrivals in `[start, end)`.
    start: Millis,
    end: Millis,
    /// Deletes before this.
    duration: Millis,
}

impl Poisson {
    /// The events of pods `first..`: their arrival and delete times (see [`stream`]).
    /// `uniform` draws from `[0, 1)`.
    fn generate(
        &self,
        first: u32,
        mut uniform: impl FnMut() -> f64,
    ) -> Result<PoissonEvents, ScenarioError> {
        let mean_gap = MINUTE as f64 / self.rate_per_min; // ms between arrivals, on average
        // Room for the expected count and then some (a guess: the vectors grow past it).
        let expected = (self.end.saturating_sub(self.start) as f64 / mean_gap).min(MAX_PODS as f64);
        let room = (expected + 6.0 * expected.sqrt() + 16.0) as usize;
        let mut arrivals = Times::with_capacity(self.duration, room);
        let mut deletes = match self.lifetime {
            Lifetime::Exponential { .. } => {
                Deletes::Exponential(SortedDeletes::with_capacity(self.duration, room))
            }
            Lifetime::Fixed(life) => Deletes::Fixed {
                life,
                duration: self.duration,
            },
        };
        // Exponential by inversion; 1 - u is in (0, 1], so the log is finite. The portable
        // logarithm keeps arrival times identical on every platform's libm. With an
        // exponential lifetime each arrival draws its gap and then its life: both are drawn
        // at once, and their logarithms taken together (`ln2`: the same values). The last
        // draw, past the window's end, goes unused; the stream is this workload's alone.
        let paired = matches!(self.lifetime, Lifetime::Exponential { .. });
        let mut t = self.start as f64;
        let mut created: u32 = 0;
        loop {
            let (gap, life_ln) = if paired {
                let [g, l] = crate::rng::ln2([1.0 - uniform(), 1.0 - uniform()]);
                (g, l)
            } else {
                (crate::rng::ln(1.0 - uniform()), 0.0)
            };
            t += -mean_gap * gap;
            let at = round(t);
            if at >= self.end as f64 {
                if let Deletes::Exponential(sorted) = &mut deletes {
                    sorted.sort();
                }
                return Ok(PoissonEvents {
                    first,
                    arrivals,
                    deletes,
                });
            }
            if u64::from(first) + u64::from(created) >= MAX_PODS {
                return Err(ScenarioError::TooManyPods {
                    pods: MAX_PODS + 1,
                    max: MAX_PODS,
                });
            }
            let at = at as Millis;
            created += 1;
            arrivals.push(at);
            // (A fixed lifetime's deletes are computed from the arrivals.)
            if let (Lifetime::Exponential { mean }, Deletes::Exponential(sorted)) =
                (self.lifetime, &mut deletes)
            {
                // At least 1 ms: a pod is deleted after it is added.
                let life = (round(-(mean as f64) * life_ln) as Millis).max(1);
                let gone = at.saturating_add(life);
                if gone < self.duration {
                    sorted.push(gone, created - 1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
