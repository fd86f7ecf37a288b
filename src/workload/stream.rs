//! The run's pod events as one stream, merged lazily from per-workload streams.
//!
//! The events' order is defined as a stable sort of all events by time, ties in generation
//! order (workload index, then the order the workload produced them: see the module docs of
//! [`crate::workload`]). Instead of materializing and sorting every event up front (two
//! 16-byte events per pod: 640 MB for `ultra-100k.toml`'s 20 M pods, plus the sort's
//! scratch), each workload keeps its events in a compact form already in that order, and
//! [`PodEvents`] merges them as the engine asks:
//!
//! - a *list* (deployments, traces, a `[start]`'s unbound pods): the workload's own events,
//!   stably sorted by time, i.e. in (time, generation order);
//! - a *Poisson* workload: its arrival times (pod `first + k` arrives at `arrivals[k]`,
//!   non-decreasing in `k`) and its deletes. Its generation order is add(0),
//!   delete(0), add(1), delete(1), …, which is (pod, add before delete); so its (time,
//!   generation order) is (time, pod, add before delete). A pending delete is of a pod that
//!   already arrived, so of a smaller pod than the next arrival: at equal times the delete
//!   goes first. Deletes of a fixed lifetime follow the arrivals' order; exponential ones are
//!   radix-sorted by (time, pod) once generated. The workload's stream is the two-way merge
//!   of its arrivals and its deletes on (time, pod, add before delete).
//!
//! [`PodEvents`] takes the stream whose next event is earliest, ties to the lowest workload
//! index: the k-way merge of streams each in (time, generation order) is the stable sort
//! (proved against the sort by the tests beside this module).
//!
//! Times are stored as `u32` when the run is at most `u32::MAX` ms (49.7 days; every stored
//! time is before the run's end), else as `u64`: 4 bytes per arrival and 8 per exponential
//! delete (`ultra-100k.toml`: about 210 MB in all).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;

use super::{PodEvent, PodEventKind};
use crate::time::Millis;

/// How far ahead of the times and deletes it reads a workload asks for their lines (bytes).
/// They are read front to back, but slowly (a pod event now and then among hundreds of
/// other lines): without the hint the next delete was a miss at each new line, a fifth of
/// the merge's time in scale-5k.
const READ_AHEAD: usize = 256;

/// Prefetch hint for the element [`READ_AHEAD`] bytes after `v[i]`.
#[inline]
fn read_ahead<T>(v: &[T], i: usize) {
    crate::prefetch::element(v, i + READ_AHEAD / size_of::<T>());
}

/// Times before a run's end, as `u32` when the run's duration allows.
#[derive(Clone, Debug)]
pub(super) enum Times {
    Narrow(Vec<u32>),
    Wide(Vec<Millis>),
}

impl Times {
    /// Empty, for times before `duration`; room for `n`.
    pub(super) fn with_capacity(duration: Millis, n: usize) -> Times {
        if duration <= Millis::from(u32::MAX) {
            Times::Narrow(Vec::with_capacity(n))
        } else {
            Times::Wide(Vec::with_capacity(n))
        }
    }

    /// Appends `t`, a time before the duration.
    pub(super) fn push(&mut self, t: Millis) {
        match self {
            Times::Narrow(v) => v.push(u32::try_from(t).expect("a time before the duration")),
            Times::Wide(v) => v.push(t),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> Millis {
        match self {
            Times::Narrow(v) => Millis::from(v[i]),
            Times::Wide(v) => v[i],
        }
    }

    /// Prefetch hint for the time [`READ_AHEAD`] bytes after the `i`th.
    #[inline]
    fn prefetch_after(&self, i: usize) {
        match self {
            Times::Narrow(v) => read_ahead(v, i),
            Times::Wide(v) => read_ahead(v, i),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Times::Narrow(v) => v.len(),
            Times::Wide(v) => v.len(),
        }
    }
}

/// How a Poisson workload's pods leave.
#[derive(Clone, Debug)]
pub(super) enum Deletes {
    /// Pod `k` is deleted at `arrival + life` when that is before the run's end.
    Fixed { life: Millis, duration: Millis },
    /// The deletes within the run, sorted by (time, pod offset).
    Exponential(SortedDeletes),
}

/// (time, pod offset) pairs sorted by time, then pod offset.
#[derive(Clone, Debug)]
pub(super) enum SortedDeletes {
    /// `time << 32 | k`, when every time fits in 32 bits.
    Packed(Vec<u64>),
    Wide(Vec<(Millis, u32)>),
}

impl SortedDeletes {
    /// Empty, for times before `duration`; room for `n`.
    pub(super) fn with_capacity(duration: Millis, n: usize) -> SortedDeletes {
        if duration <= Millis::from(u32::MAX) {
            SortedDeletes::Packed(Vec::with_capacity(n))
        } else {
            SortedDeletes::Wide(Vec::with_capacity(n))
        }
    }

    /// Appends pod offset `k`'s delete at `time` (before the duration); `k` must grow from
    /// one push to the next.
    pub(super) fn push(&mut self, time: Millis, k: u32) {
        match self {
            SortedDeletes::Packed(v) => v.push(time << 32 | u64::from(k)),
            SortedDeletes::Wide(v) => v.push((time, k)),
        }
    }

    /// Sorts what was pushed by (time, pod offset).
    pub(super) fn sort(&mut self) {
        match self {
            // Pushed in pod order: a stable sort by time alone sorts by (time, pod).
            SortedDeletes::Packed(v) => sort_by_high_half(v),
            // Pod offsets are distinct, so the unstable sort has one result.
            SortedDeletes::Wide(v) => v.sort_unstable(),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> Option<(Millis, u32)> {
        match self {
            SortedDeletes::Packed(v) => {
                read_ahead(v, i);
                v.get(i).map(|&x| (x >> 32, x as u32))
            }
            SortedDeletes::Wide(v) => {
                read_ahead(v, i);
                v.get(i).copied()
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            SortedDeletes::Packed(v) => v.len(),
            SortedDeletes::Wide(v) => v.len(),
        }
    }
}

/// Stable LSD radix sort of `v` by the high 32 bits of each value (three passes of 11 bits;
/// a pass whose digit is the same for every value is skipped).
pub(super) fn sort_by_high_half(v: &mut Vec<u64>) {
    const BITS: u32 = 11;
    const RADIX: usize = 1 << BITS;
    const SHIFTS: [u32; 3] = [32, 32 + BITS, 32 + 2 * BITS];
    let digit = |x: u64, shift: u32| ((x >> shift) as usize) & (RADIX - 1);
    let mut counts = vec![[0usize; RADIX]; SHIFTS.len()];
    for &x in v.iter() {
        for (c, &shift) in counts.iter_mut().zip(&SHIFTS) {
            c[digit(x, shift)] += 1;
        }
    }
    let mut buf: Vec<u64> = Vec::new();
    for (c, &shift) in counts.iter_mut().zip(&SHIFTS) {
        if c.contains(&v.len()) {
            continue; // one digit (or no values): the pass would not move anything
        }
        let mut sum = 0;
        for n in c.iter_mut() {
            (*n, sum) = (sum, sum + *n);
        }
        buf.resize(v.len(), 0);
        for &x in v.iter() {
            let d = digit(x, shift);
            buf[c[d]] = x;
            c[d] += 1;
        }
        std::mem::swap(v, &mut buf);
    }
}

/// A Poisson workload's events, generated: see the module docs.
#[derive(Clone, Debug)]
pub(super) struct PoissonEvents {
    pub first: u32,
    pub arrivals: Times,
    pub deletes: Deletes,
}

impl PoissonEvents {
    /// The `i`th delete in (time, pod) order: (time, pod offset), if any.
    #[inline]
    fn delete(&self, i: usize) -> Option<(Millis, u32)> {
        match &self.deletes {
            Deletes::Fixed { life, duration } => {
                if i >= self.arrivals.len() {
                    return None;
                }
                self.arrivals.prefetch_after(i);
                let gone = self.arrivals.get(i).saturating_add(*life);
                (gone < *duration).then_some((gone, i as u32))
            }
            Deletes::Exponential(sorted) => sorted.get(i),
        }
    }

    /// Number of events.
    fn count(&self) -> usize {
        let deletes = match &self.deletes {
            Deletes::Fixed { .. } => {
                // Arrivals are non-decreasing, so the deletes within the run are a prefix.
                let (mut lo, mut hi) = (0, self.arrivals.len());
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if self.delete(mid).is_some() {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                lo
            }
            Deletes::Exponential(sorted) => sorted.len(),
        };
        self.arrivals.len() + deletes
    }
}

/// (time, pod offset) of a Poisson source's next arrival or delete; [`NONE`] when none is
/// left.
type Next = (Millis, u32);

/// No event left: after every event (times are before the run's end).
const NONE: Next = (Millis::MAX, u32::MAX);

/// One workload's events in (time, generation order), consumed from the front.
#[derive(Clone, Debug)]
enum Source {
    List {
        events: Vec<PodEvent>,
        next: usize,
    },
    /// The merge of the arrivals, (time, k), and the deletes, (time, k), by (time, k, add
    /// before delete).
    Poisson {
        p: PoissonEvents,
        /// Index of the next arrival, and it.
        next: usize,
        arrival: Next,
        /// Index of the next delete in (time, pod) order, and it.
        next_delete: usize,
        delete: Next,
    },
}

impl PoissonEvents {
    #[inline]
    fn arrival(&self, k: usize) -> Next {
        if k < self.arrivals.len() {
            self.arrivals.prefetch_after(k);
            (self.arrivals.get(k), k as u32)
        } else {
            NONE
        }
    }
}

impl Source {
    fn poisson(p: PoissonEvents) -> Source {
        let (arrival, delete) = (p.arrival(0), p.delete(0).unwrap_or(NONE));
        Source::Poisson {
            p,
            next: 0,
            arrival,
            next_delete: 0,
            delete,
        }
    }

    /// Time of the next event ([`Millis::MAX`]: none left; no event is at that time).
    #[inline]
    fn head(&self) -> Millis {
        match self {
            Source::List { events, next } => events.get(*next).map_or(Millis::MAX, |e| e.time),
            Source::Poisson {
                arrival, delete, ..
            } => arrival.0.min(delete.0),
        }
    }

    /// The next event, and the time of the one after ([`Millis::MAX`]: none); the source must
    /// not be exhausted.
    #[inline]
    fn pop(&mut self) -> (PodEvent, Millis) {
        match self {
            Source::List { events, next } => {
                let e = events[*next];
                *next += 1;
                let after = events.get(*next).map_or(Millis::MAX, |e| e.time);
                (e, after)
            }
            Source::Poisson {
                p,
                next,
                arrival,
                next_delete,
                delete,
            } => {
                // Add before delete of the same pod (same time only with a zero lifetime).
                let (e, kind) = if *delete < *arrival {
                    let e = *delete;
                    *next_delete += 1;
                    *delete = p.delete(*next_delete).unwrap_or(NONE);
                    (e, PodEventKind::Delete)
                } else {
                    debug_assert!(*arrival != NONE, "pop of an exhausted source");
                    let e = *arrival;
                    *next += 1;
                    *arrival = p.arrival(*next);
                    (e, PodEventKind::Add)
                };
                let event = PodEvent {
                    time: e.0,
                    pod: p.first + e.1,
                    kind,
                };
                (event, arrival.0.min(delete.0))
            }
        }
    }
}

/// Every pod event of a run, in (time, generation order), merged lazily: see the module docs.
#[derive(Clone, Debug)]
pub struct PodEvents {
    sources: Vec<Source>,
    /// (next time, source index) of every source with events left, smallest first.
    heads: BinaryHeap<Reverse<(Millis, u32)>>,
    /// Events not yet taken.
    remaining: usize,
    /// Time of the next event, [`Millis::MAX`] when none is left (the engine reads it before
    /// every event it runs).
    next_time: Millis,
    /// The next events, merged already (at least [`AHEAD`] once the first is taken), for the
    /// engine's prefetch hints ([`PodEvents::ahead`]).
    ahead: Window,
}

/// The merged events not yet taken: a vector read from `pos` on, the read ones dropped
/// from its front at each refill (at most [`AHEAD`] events moved, once per [`AHEAD`] + 1
/// taken). A `VecDeque`'s index wraps at every look; the engine looks four places ahead at
/// every event (issue 13).
#[derive(Clone, Debug)]
struct Window {
    events: Vec<PodEvent>,
    /// The next event's index in `events`.
    pos: usize,
}

impl Window {
    fn with_capacity(n: usize) -> Self {
        Window {
            events: Vec::with_capacity(n),
            pos: 0,
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.events.len() - self.pos
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&PodEvent> {
        self.events.get(self.pos + i)
    }

    #[inline]
    fn front(&self) -> Option<&PodEvent> {
        self.get(0)
    }

    #[inline]
    fn pop_front(&mut self) -> Option<PodEvent> {
        let e = *self.front()?;
        self.pos += 1;
        Some(e)
    }

    /// Drops the events taken, so that those left start the vector.
    fn compact(&mut self) {
        self.events.drain(..self.pos);
        self.pos = 0;
    }

    #[inline]
    fn push_back(&mut self, e: PodEvent) {
        self.events.push(e);
    }
}

/// Events merged ahead of the next one: the engine's first prefetch hint is for the
/// sixteenth (`Hooks::prefetch_ahead`).
pub const AHEAD: usize = 16;

/// Events [`PodEvents::refill`] merges ahead to, once fewer than [`AHEAD`] + 1 are left.
const REFILL: usize = 2 * AHEAD + 1;

impl Default for PodEvents {
    fn default() -> Self {
        PodEvents {
            sources: Vec::new(),
            heads: BinaryHeap::new(),
            remaining: 0,
            next_time: Millis::MAX,
            ahead: Window::with_capacity(REFILL),
        }
    }
}

impl PodEvents {
    /// Appends a workload's events, in the order it produced them; they are stably sorted by
    /// time (usually a no-op: deployments and traces produce them in time order).
    pub(super) fn push_list(&mut self, mut events: Vec<PodEvent>) {
        if !events.is_sorted_by_key(|e| e.time) {
            events.sort_by_key(|e| e.time); // stable: ties keep generation order
        }
        self.remaining += events.len();
        self.push(Source::List { events, next: 0 });
    }

    /// Appends a Poisson workload's events.
    pub(super) fn push_poisson(&mut self, p: PoissonEvents) {
        self.remaining += p.count();
        self.push(Source::poisson(p));
    }

    fn push(&mut self, s: Source) {
        debug_assert!(
            self.ahead.is_empty(),
            "sources come before the first event is taken"
        );
        let head = s.head();
        if head != Millis::MAX {
            self.heads.push(Reverse((head, self.sources.len() as u32)));
        }
        self.sources.push(s);
        self.next_time = self.peek_time().unwrap_or(Millis::MAX);
    }

    /// Time of the next event.
    #[inline]
    pub fn peek_time(&self) -> Option<Millis> {
        match self.ahead.front() {
            Some(e) => Some(e.time),
            None => self.heads.peek().map(|r| r.0.0),
        }
    }

    /// The event `i` places after the next one (`i` < [`AHEAD`]), once the first event has
    /// been taken: for prefetching what it will touch.
    #[inline]
    pub fn ahead(&self, i: usize) -> Option<&PodEvent> {
        self.ahead.get(i)
    }

    /// Time of the next event, [`Millis::MAX`] when none is left.
    #[inline]
    pub fn next_time(&self) -> Millis {
        self.next_time
    }

    /// Takes the next event.
    #[inline]
    pub fn pop(&mut self) -> Option<PodEvent> {
        if self.ahead.len() <= AHEAD {
            self.refill();
        }
        let e = self.ahead.pop_front()?;
        self.remaining -= 1;
        self.next_time = self.peek_time().unwrap_or(Millis::MAX);
        Some(e)
    }

    /// Merges the sources' next events into `ahead` until it holds [`REFILL`] (or every
    /// source is dry). The source with the earliest head gives events for as long as its
    /// next one stays before every other source's head (the heap root's children), then
    /// goes back into the heap once: one reordering a run, not one an event (a Poisson
    /// workload of many pods gives long runs).
    #[inline(never)]
    fn refill(&mut self) {
        self.ahead.compact();
        while self.ahead.len() < REFILL {
            // The smallest (time, source) among the other sources: in the max-heap of
            // `Reverse`s, the greater of the root's children.
            let others = self.heads.as_slice();
            let bound = match (others.get(1), others.get(2)) {
                (Some(a), Some(b)) => a.max(b).0,
                (Some(a), None) => a.0,
                _ => (Millis::MAX, u32::MAX),
            };
            let Some(mut top) = self.heads.peek_mut() else {
                return;
            };
            let index = top.0.1;
            let source = &mut self.sources[index as usize];
            loop {
                let (e, after) = source.pop();
                self.ahead.push_back(e);
                if after == Millis::MAX {
                    PeekMut::pop(top);
                    break;
                }
                if (after, index) > bound || self.ahead.len() >= REFILL {
                    top.0.0 = after;
                    drop(top); // restores the heap order
                    break;
                }
            }
        }
    }

    /// Events not yet taken.
    pub fn len(&self) -> usize {
        self.remaining
    }

    /// Whether every event has been taken.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    /// The events not yet taken, in order (a copy: for tests and tools, not the run).
    pub fn to_vec(&self) -> Vec<PodEvent> {
        self.clone().collect()
    }
}

impl Iterator for PodEvents {
    type Item = PodEvent;

    fn next(&mut self) -> Option<PodEvent> {
        self.pop()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for PodEvents {}

#[cfg(test)]
mod tests;
