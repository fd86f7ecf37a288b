//! The event queue: a timing wheel of 1 ms slots in front of a ring of coarse buckets and a
//! binary heap, ordered exactly as a `BinaryHeap` of `(time, sequence)` would be.
//!
//! Nearly every event the engine schedules lies less than a minute ahead: kubelet's CNI
//! retries (`cni_retry`, 1 s), ipamd's 2.5 s sleeps, EC2 latencies, IMDS waits. Those go
//! straight into the slot of their millisecond. Events further ahead (an idle loop's long
//! sleep, which a pod event usually supersedes, the hourly cleanup, a group's launch) are
//! appended to a bucket of [`BUCKET`] ms, or, beyond the ring's 37 hours, pushed into a
//! heap; a bucket moves into the wheel when the clock comes within one bucket of it.
//!
//! **Why the order is the heap's.** The sequence number of an event is the order in which it
//! was pushed, so within one slot, appending keeps `(time, sequence)` order for free: a slot
//! is a FIFO. The wheel takes direct pushes only below its limit (the end of the bucket
//! after the current one); an event at or past the limit waits, and the limit only moves at
//! a pop, which first moves every waiting event below the new limit into the wheel. So a
//! waiting event of time `T` enters `T`'s slot before anything can be pushed there directly
//! (that needs `T` below the limit). Events of one time wait in one bucket, which holds them
//! in push order (the heap refills a bucket, in `(time, sequence)` order, before the bucket
//! can take a direct push), so they enter their slot in sequence order too. Slots are
//! visited in time order. A test drives random pushes and pops against `BinaryHeap` to hold
//! this to account.
//!
//! Costs: push and pop are O(1) in the wheel (a slot's FIFO is a linked list through a pool
//! of entries that are reused); finding the next busy slot scans a bitmap, 64 slots a word;
//! a far event costs one push into a bucket and one move. Nothing allocates per event once
//! the pool has grown to the run's largest number of pending events; a bucket's vector is
//! freed when it moves in and grows again when the ring comes back to it.
//! Like the heap it replaces, the queue never forgets an event: a superseded wake-up is
//! dropped by the engine when it surfaces.
//!
//! **Three ranks.** An event's rank within its time says where it goes: keyed events first
//! ([`Queue::push_first`]: ipamd's wake-ups, by node), then events in push order
//! ([`Queue::push`]), then late keyed events ([`Queue::push_last`]: kubelet's retries, by
//! pod). A keyed event's place does not depend on when it was pushed, so a model may push it
//! later than it would have been pushed event by event (the engine's parked retries) and
//! still find it in its place.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::Millis;

/// Slots in the wheel (each 1 ms): it holds events up to 65.536 s ahead.
const SPAN: usize = 1 << 16;
const MASK: u64 = (SPAN as u64) - 1;
const WORDS: usize = SPAN / 64;
/// Width of a far bucket: half the wheel, so the wheel's limit (the end of the bucket after
/// the current time's) is always less than a wheel span ahead.
pub const BUCKET: Millis = (SPAN / 2) as Millis;
/// Buckets in the ring (2^12 × 32.768 s ≈ 37.3 h); later events wait in a heap.
const BUCKETS: u64 = 1 << 12;
const NIL: u32 = u32::MAX;

/// The rank of an event pushed in order ([`Queue::push`]): this bit and its sequence number,
/// so after every keyed event of its time ([`Queue::push_first`]).
const IN_ORDER: u64 = 1 << 63;
/// The rank bits of a late event ([`Queue::push_last`]), with its key: after the in-order
/// events of its time (sequence numbers stay below 2^62).
const LAST: u64 = IN_ORDER | 1 << 62;

/// An event beyond the wheel's limit, ordered by `(time, rank, seq)`.
#[derive(Clone, Copy, Debug)]
struct Far<K> {
    time: Millis,
    rank: u64,
    seq: u64,
    kind: K,
}

impl<K> Far<K> {
    fn key(&self) -> (Millis, u64, u64) {
        (self.time, self.rank, self.seq)
    }
}

impl<K> PartialEq for Far<K> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<K> Eq for Far<K> {}
impl<K> Ord for Far<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}
impl<K> PartialOrd for Far<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Pending events of kind `K`, popped in `(time, push order)` order. Times pushed must not
/// be earlier than the last time popped (the clock never goes back). Public for
/// `benches/queue.rs`, which holds it against `BinaryHeap`.
#[derive(Clone, Debug)]
pub struct Queue<K> {
    /// The time of the last pop: every wheel event is in `[base, limit)`.
    base: Millis,
    /// The wheel takes events before this (a multiple of [`BUCKET`], at most a span after
    /// `base`); later ones wait in `buckets` or `far`.
    limit: Millis,
    /// Every wheel event is at or after this (a cache for the bitmap scan).
    cursor: Millis,
    /// Per slot: first and last entry of its FIFO (`NIL` when empty).
    heads: Vec<u32>,
    tails: Vec<u32>,
    /// Per slot: its tail's rank, while it has one. Read beside `tails` at each append (the
    /// slots pushed into lie a few seconds ahead of the clock, so these stay in cache) where
    /// the tail entry's own rank was a miss.
    tail_ranks: Vec<u64>,
    /// One bit per slot: the slot holds events.
    busy: Vec<u64>,
    /// One bit per slot: its list is not in rank order (a keyed event was appended after a
    /// higher-ranked one); it is sorted when the clock reaches it.
    unsorted: Vec<u64>,
    /// Scratch for sorting a slot (kept for its capacity).
    sorting: Vec<(u64, u32, u32)>,
    /// The wheel's entries, one pending event each, in three parallel vectors: what it is,
    /// its rank among the events of its time, and the next entry of its slot. Apart, the
    /// links and ranks lie dense (12 bytes an entry where a whole entry took 32): a slot's
    /// sort chases its list through `next` alone and reads the ranks in parallel, where
    /// the chase through whole entries missed the cache at every link (issue 13: 95 % of
    /// `sort_slot`'s time in ultra-100k's launch).
    kinds: Vec<K>,
    ranks: Vec<u64>,
    next: Vec<u32>,
    /// Reusable entries, the last freed on top: taking one reads this vector's top, not an
    /// entry freed perhaps many thousand events before (the free list through the entries
    /// it replaced missed the cache there: 36 % of `append`'s samples in ultra-100k).
    free: Vec<u32>,
    in_wheel: usize,
    /// Unsorted far events by `time / BUCKET` (mod the ring), for the `BUCKETS` buckets from
    /// the limit's.
    buckets: Vec<Vec<Far<K>>>,
    in_buckets: usize,
    /// The earliest time in `buckets`, once [`Queue::peek_time`] has looked (`None`: not
    /// known). A push into a bucket lowers it, a move out of the buckets forgets it: without
    /// it, each peek while the wheel is empty scanned the ring for its first busy bucket and
    /// that bucket for its earliest event, 6 % of ultra-100k's instructions (issue 13).
    bucket_min: Option<Millis>,
    /// Events beyond the ring.
    far: BinaryHeap<Reverse<Far<K>>>,
    seq: u64,
}

impl<K: Copy> Default for Queue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Copy> Queue<K> {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        Queue {
            base: 0,
            limit: 2 * BUCKET,
            cursor: 0,
            heads: vec![NIL; SPAN],
            tails: vec![NIL; SPAN],
            tail_ranks: vec![0; SPAN],
            busy: vec![0; WORDS],
            unsorted: vec![0; WORDS],
            sorting: Vec::new(),
            kinds: Vec::new(),
            ranks: Vec::new(),
            next: Vec::new(),
            free: Vec::new(),
            in_wheel: 0,
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            in_buckets: 0,
            bucket_min: None,
            far: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Pending events.
    pub fn len(&self) -> usize {
        self.in_wheel + self.in_buckets + self.far.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Schedules `kind` at `time` (not earlier than the last time popped), after every event
    /// already pushed for that time.
    #[inline]
    pub fn push(&mut self, time: Millis, kind: K) {
        self.seq += 1;
        self.push_ranked(time, IN_ORDER | self.seq, kind);
    }

    /// Schedules `kind` at `time` ahead of the events [`Queue::push`]ed for that time, among
    /// the other keyed ones by `key` (equal keys in push order): an order that does not
    /// depend on when the events were pushed.
    #[inline]
    pub fn push_first(&mut self, time: Millis, key: u32, kind: K) {
        self.seq += 1;
        self.push_ranked(time, u64::from(key), kind);
    }

    /// Schedules `kind` at `time` behind every event [`Queue::push`]ed for that time, among
    /// the other late ones by `key` (below 2^62; equal keys in push order): like
    /// [`Queue::push_first`], an order that does not depend on when the events were pushed.
    #[inline]
    pub fn push_last(&mut self, time: Millis, key: u64, kind: K) {
        debug_assert!(key < 1 << 62, "a late key below 2^62");
        self.seq += 1;
        self.push_ranked(time, LAST | key, kind);
    }

    #[inline]
    fn push_ranked(&mut self, time: Millis, rank: u64, kind: K) {
        debug_assert!(time >= self.base, "the clock never goes back");
        if time < self.limit {
            self.append(time, rank, kind);
        } else {
            self.wait(Far {
                time,
                rank,
                seq: self.seq,
                kind,
            });
        }
    }

    /// Puts an event at or past the limit into its bucket, or the heap beyond the ring.
    fn wait(&mut self, f: Far<K>) {
        let b = f.time / BUCKET;
        if b < self.limit / BUCKET + BUCKETS {
            self.bucket_min = self.bucket_min.map(|t| t.min(f.time));
            self.buckets[(b % BUCKETS) as usize].push(f);
            self.in_buckets += 1;
        } else {
            self.far.push(Reverse(f));
        }
    }

    /// Appends an event to `time`'s slot; a rank lower than the tail's marks the slot
    /// unsorted (events pushed in order come in rank order: ranks grow with the sequence).
    /// (Always inlined, as PGO does: `benches/HISTORY.md` item 42.)
    #[inline(always)]
    fn append(&mut self, time: Millis, rank: u64, kind: K) {
        let i = match self.free.pop() {
            Some(i) => {
                let at = i as usize;
                self.kinds[at] = kind;
                self.ranks[at] = rank;
                self.next[at] = NIL;
                i
            }
            None => {
                self.kinds.push(kind);
                self.ranks.push(rank);
                self.next.push(NIL);
                (self.kinds.len() - 1) as u32
            }
        };
        let slot = (time & MASK) as usize;
        match self.tails[slot] {
            NIL => {
                self.heads[slot] = i;
                self.tails[slot] = i;
                self.busy[slot / 64] |= 1 << (slot % 64);
            }
            t => {
                if rank < self.tail_ranks[slot] {
                    self.unsorted[slot / 64] |= 1 << (slot % 64);
                }
                self.next[t as usize] = i;
                self.tails[slot] = i;
            }
        }
        self.tail_ranks[slot] = rank;
        self.in_wheel += 1;
        self.cursor = self.cursor.min(time);
    }

    /// The time of the next event, if any.
    #[inline]
    pub fn peek_time(&mut self) -> Option<Millis> {
        if self.in_wheel > 0 {
            self.cursor = self.next_busy();
            return Some(self.cursor);
        }
        if self.in_buckets > 0 {
            if self.bucket_min.is_none() {
                // The ring's first busy bucket holds its earliest events.
                let first = self.limit / BUCKET;
                self.bucket_min = (first..first + BUCKETS)
                    .map(|b| &self.buckets[(b % BUCKETS) as usize])
                    .find(|v| !v.is_empty())
                    .and_then(|v| v.iter().map(|f| f.time).min());
            }
            return self.bucket_min;
        }
        self.far.peek().map(|Reverse(f)| f.time)
    }

    /// The next event's entry and kind, for prefetch hints: the head of the slot that
    /// [`Queue::peek_time`] or [`Queue::pop_at`] last looked at, if that slot still holds
    /// events (`None` otherwise). The entry number tells one hint from the next; in a slot
    /// whose keyed events came out of order it may not be the slot's first event yet, which
    /// a hint does not mind.
    #[inline]
    pub fn peek_hint(&self) -> Option<(u32, &K)> {
        let i = *self.heads.get((self.cursor & MASK) as usize)?;
        (i != NIL).then(|| (i, &self.kinds[i as usize]))
    }

    /// The first busy slot's time at or after `cursor` (the wheel is not empty).
    fn next_busy(&self) -> Millis {
        let mut t = self.cursor;
        loop {
            let slot = (t & MASK) as usize;
            let bits = self.busy[slot / 64] >> (slot % 64);
            if bits != 0 {
                return t + u64::from(bits.trailing_zeros());
            }
            t += 64 - (slot % 64) as Millis;
        }
    }

    /// Takes the next event: its time and kind.
    #[cfg(test)]
    pub fn pop(&mut self) -> Option<(Millis, K)> {
        let time = self.peek_time()?;
        Some(self.pop_at(time))
    }

    /// Takes the next event, whose time `time` the caller has just read from
    /// [`Queue::peek_time`] (the engine does, before every event: this saves the second look).
    #[inline]
    pub fn pop_at(&mut self, time: Millis) -> (Millis, K) {
        debug_assert_eq!(self.peek_time(), Some(time));
        self.advance(time);
        // Every event of `time` is in its slot now.
        let slot = (time & MASK) as usize;
        if self.unsorted[slot / 64] & (1 << (slot % 64)) != 0 {
            self.sort_slot(slot);
        }
        let i = self.heads[slot];
        let (kind, next) = (self.kinds[i as usize], self.next[i as usize]);
        self.heads[slot] = next;
        if next == NIL {
            self.tails[slot] = NIL;
            self.busy[slot / 64] &= !(1 << (slot % 64));
        }
        self.free.push(i);
        self.in_wheel -= 1;
        (time, kind)
    }

    /// Puts `slot`'s list in rank order, equal ranks keeping their order (a stable sort of
    /// the entries, relinked): once per visit of a slot that took keyed events out of order,
    /// instead of a walk at every push.
    #[cold]
    fn sort_slot(&mut self, slot: usize) {
        self.unsorted[slot / 64] &= !(1 << (slot % 64));
        // (rank, place in the list, entry): sorting the triples is the stable sort by rank,
        // and compares without reading the entries again.
        let mut list = std::mem::take(&mut self.sorting);
        let mut i = self.heads[slot];
        while i != NIL {
            list.push((self.ranks[i as usize], list.len() as u32, i));
            i = self.next[i as usize];
        }
        list.sort_unstable();
        for w in list.windows(2) {
            self.next[w[0].2 as usize] = w[1].2;
        }
        // The slot's pops come next, one after the other: ask for every kind now, so their
        // misses overlap instead of each pop waiting for its own.
        for &(_, _, i) in &list {
            crate::prefetch::element(&self.kinds, i as usize);
        }
        if let (Some(&(_, _, first)), Some(&(rank, _, last))) = (list.first(), list.last()) {
            self.heads[slot] = first;
            self.tails[slot] = last;
            self.tail_ranks[slot] = rank;
            self.next[last as usize] = NIL;
        }
        list.clear();
        self.sorting = list;
    }

    /// Moves the clock to `time` (the next event's). When that moves the limit, the events
    /// waiting below the new limit join their slots (each bucket as it is, then the heap's
    /// in `(time, rank, seq)` order), before anything else can be pushed there, and the heap
    /// refills the ring's freed buckets.
    fn advance(&mut self, time: Millis) {
        self.base = time;
        self.cursor = self.cursor.max(time);
        let limit = (time / BUCKET + 2) * BUCKET;
        if limit == self.limit {
            return;
        }
        let (old, new) = (self.limit / BUCKET, limit / BUCKET);
        self.limit = limit;
        // Equal ranks (keyed events) must enter a slot in push order; the slot's lazy sort
        // by rank, which is stable, does the rest. Entered unsorted, they do (issue 13:
        // sorting each bucket, thousands of events every 32.768 s, was 3 % of ultra-100k's
        // instructions). A bucket holds, for each time, first the events the heap handed
        // it when that time entered the ring, in (time, rank, push) order, then those
        // pushed since, in push order, all later pushes. The heap's events below the new
        // limit are of times no bucket holds: a time enters the ring once, and the heap
        // hands over its events then. The buckets are of distinct times.
        if self.in_buckets > 0 {
            self.bucket_min = None;
            for b in old..new.min(old + BUCKETS) {
                // The ring comes back to this bucket 37 hours later: keep no capacity.
                let bucket = std::mem::take(&mut self.buckets[(b % BUCKETS) as usize]);
                self.in_buckets -= bucket.len();
                for f in bucket {
                    self.append(f.time, f.rank, f.kind);
                }
            }
        }
        while let Some(Reverse(f)) = self.far.peek() {
            if f.time >= limit {
                break;
            }
            let f = self.far.pop().expect("peeked").0;
            self.append(f.time, f.rank, f.kind);
        }
        while let Some(Reverse(f)) = self.far.peek() {
            if f.time / BUCKET >= new + BUCKETS {
                break;
            }
            let f = self.far.pop().expect("peeked").0;
            self.wait(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: a `BinaryHeap` of `(time, rank, seq)`, rank as the queue's.
    struct Reference {
        heap: BinaryHeap<Reverse<(Millis, u64, u64, u32)>>,
        seq: u64,
    }

    impl Reference {
        fn push(&mut self, time: Millis, kind: u32) {
            self.seq += 1;
            self.heap
                .push(Reverse((time, IN_ORDER | self.seq, self.seq, kind)));
        }
        fn push_first(&mut self, time: Millis, key: u32, kind: u32) {
            self.seq += 1;
            self.heap
                .push(Reverse((time, u64::from(key), self.seq, kind)));
        }
        fn push_last(&mut self, time: Millis, key: u64, kind: u32) {
            self.seq += 1;
            self.heap.push(Reverse((time, LAST | key, self.seq, kind)));
        }
        fn pop(&mut self) -> Option<(Millis, u32)> {
            self.heap.pop().map(|Reverse((t, _, _, k))| (t, k))
        }
    }

    /// With the wheel empty, a peek remembers the buckets' earliest time; an earlier far
    /// push after it is the next event, and so is a later one after the moves.
    #[test]
    fn a_far_push_after_a_peek_is_seen() {
        let mut q = Queue::new();
        q.push(200_000, 1);
        assert_eq!(q.peek_time(), Some(200_000));
        q.push(150_000, 2);
        assert_eq!(q.peek_time(), Some(150_000));
        q.push(180_000, 3);
        assert_eq!(q.peek_time(), Some(150_000));
        assert_eq!(q.pop(), Some((150_000, 2)));
        q.push(400_000, 4);
        assert_eq!(q.peek_time(), Some(180_000));
        assert_eq!(q.pop(), Some((180_000, 3)));
        assert_eq!(q.pop(), Some((200_000, 1)));
        assert_eq!(q.peek_time(), Some(400_000));
        q.push(300_000, 5);
        assert_eq!(q.peek_time(), Some(300_000));
    }

    #[test]
    fn keyed_events_go_first_by_key_then_in_push_order() {
        let mut q = Queue::new();
        q.push(10, 1);
        q.push_first(10, 7, 2);
        q.push_last(10, 0, 3);
        q.push_first(10, 3, 4);
        q.push_first(10, 7, 5);
        q.push(100_000, 6); // far
        q.push_first(100_000, 9, 7);
        q.push_first(100_000, 2, 8);
        for want in [4, 2, 5, 1, 3, 8, 7, 6] {
            assert_eq!(q.pop().map(|(_, k)| k), Some(want));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn ties_pop_in_push_order_and_far_events_keep_their_place() {
        let mut q = Queue::new();
        q.push(100_000, 1); // past the wheel's limit: a bucket
        q.push(5, 2);
        q.push(5, 3);
        assert_eq!(q.pop(), Some((5, 2)));
        q.push(100_000, 4); // still beyond: after 1
        assert_eq!(q.pop(), Some((5, 3)));
        q.push(40_000, 5);
        assert_eq!(q.pop(), Some((40_000, 5)));
        q.push(100_000, 6); // still waiting, after 1 and 4
        q.push(98_000, 7); // within the wheel's limit now
        assert_eq!(q.pop(), Some((98_000, 7)));
        assert_eq!(q.pop(), Some((100_000, 1)));
        assert_eq!(q.pop(), Some((100_000, 4)));
        assert_eq!(q.pop(), Some((100_000, 6)));
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
    }

    #[test]
    fn late_events_go_last_by_key_then_in_push_order() {
        let mut q = Queue::new();
        q.push_last(1_000, 9, 1);
        q.push(1_000, 2);
        q.push_last(1_000, 4, 3);
        q.push_first(1_000, 0, 4);
        q.push_last(1_000, 9, 5);
        q.push_last(100_000, 1, 6); // far: a bucket
        q.push(100_000, 7);
        for want in [4, 2, 3, 1, 5, 7, 6] {
            assert_eq!(q.pop().map(|(_, k)| k), Some(want));
        }
        // Pushed into the time being popped, a late event still finds its place.
        q.push_last(200_000, 5, 8);
        q.push_last(200_000, 7, 9);
        assert_eq!(q.pop(), Some((200_000, 8)));
        q.push_last(200_000, 6, 10);
        q.push(200_000, 11);
        for want in [11, 10, 9] {
            assert_eq!(q.pop().map(|(_, k)| k), Some(want));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn a_bucket_is_sorted_when_it_moves_in() {
        let mut q = Queue::new();
        q.push(100_000, 1);
        q.push(99_000, 2);
        q.push(100_000, 3);
        q.push(99_000, 4);
        assert_eq!(q.pop(), Some((99_000, 2)));
        assert_eq!(q.pop(), Some((99_000, 4)));
        assert_eq!(q.pop(), Some((100_000, 1)));
        assert_eq!(q.pop(), Some((100_000, 3)));
    }

    #[test]
    fn the_hint_names_an_event_of_the_next_time() {
        let mut q = Queue::new();
        assert_eq!(q.peek_hint(), None);
        q.push(20, 1);
        q.push(20, 2);
        q.push(30, 3);
        assert_eq!(q.peek_time(), Some(20));
        let (first, &k) = q.peek_hint().expect("20 is busy");
        assert_eq!(k, 1);
        assert_eq!(q.pop_at(20), (20, 1));
        // Still at 20: the slot's next event, another entry.
        let (second, &k) = q.peek_hint().expect("20 still busy");
        assert_eq!(k, 2);
        assert_ne!(first, second);
        assert_eq!(q.pop_at(20), (20, 2));
        // The slot is empty until the clock looks further.
        assert_eq!(q.peek_hint(), None);
        assert_eq!(q.peek_time(), Some(30));
        assert_eq!(q.peek_hint().map(|(_, &k)| k), Some(3));
    }

    #[test]
    fn a_slot_reused_a_lap_later_is_clean() {
        let mut q = Queue::new();
        for lap in 0..4u64 {
            let t = lap * SPAN as Millis + 7 + lap * BUCKET * BUCKETS;
            q.push(t, lap as u32);
            assert_eq!(q.pop(), Some((t, lap as u32)));
        }
        assert_eq!(q.len(), 0);
    }

    proptest! {
        /// Any interleaving of pushes (at or after the last pop, near or far) and pops gives
        /// the heap's order, ties included.
        #[test]
        fn pops_in_the_heaps_order(ops in prop::collection::vec(
            (any::<bool>(), prop_oneof![0u64..3, 0u64..2_000, 30_000u64..140_000, 0u64..400_000, 130_000_000u64..150_000_000], 0u32..4, prop_oneof![Just(None), (0u64..3, 0u64..4).prop_map(Some), (Just(1_000), 0u64..4).prop_map(Some)], prop_oneof![Just(None), (0u32..4).prop_map(Some)]),
            1..600,
        )) {
            let mut q = Queue::new();
            let mut r = Reference { heap: BinaryHeap::new(), seq: 0 };
            let mut now = 0;
            let mut kind = 0;
            for (pop, delay, pushes, late, keyed) in ops {
                if pop {
                    let got = q.pop();
                    prop_assert_eq!(got, r.pop());
                    if let Some((t, _)) = got {
                        now = t;
                    }
                }
                for _ in 0..pushes {
                    kind += 1;
                    q.push(now + delay, kind);
                    r.push(now + delay, kind);
                }
                // A keyed push: ahead of the in-order ones of its time.
                if let Some(key) = keyed {
                    kind += 1;
                    q.push_first(now + delay, key, kind);
                    r.push_first(now + delay, key, kind);
                }
                // A late keyed push: behind the in-order ones of its time.
                if let Some((d, key)) = late {
                    kind += 1;
                    q.push_last(now + d, key, kind);
                    r.push_last(now + d, key, kind);
                }
                prop_assert_eq!(q.len(), r.heap.len());
                prop_assert_eq!(q.peek_time(), r.heap.peek().map(|Reverse((t, _, _, _))| *t));
            }
            while let Some(e) = r.pop() {
                prop_assert_eq!(q.pop(), Some(e));
            }
            prop_assert_eq!(q.pop(), None);
        }
    }
}
