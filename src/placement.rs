//! Node-local placement: each node's small heap blocks in a 2 KiB slab of its own (Linux).
//!
//! A pod event reads a random node's datastore tables (its pod table, ENI and CIDR tables,
//! a prefix's records, its cooling queue), each a heap block of its own. malloc scatters a
//! node's blocks over the heap, each likely on a page of its own, and a page costs a translation:
//! on this project's machine the host backs the guest's memory with 4 KiB pages, whose
//! translations the TLB holds for some 8 MB, and a random page costs a page walk (`cargo
//! bench --bench memory`: four lines in one random 4 KiB page 5.7–6.8 ns each, in four pages
//! 10.6–11.9 ns). With the blocks in one slab a pod event reads one page for all of them:
//! ultra-100k 17.4–17.8 → 16.0–16.4 s user, 18.3–19.5 → 17.4–18.0 s wall, 752 → 839 MB in
//! alternating runs; scale-5k the same (`benches/HISTORY.md`, item 35).
//!
//! How: a node holds a [`Slab`]. While a [`Slab::enter`] guard lives, the binary's allocator
//! ([`crate::hugepages::HugePages`]) asks [`alloc`] first, which places a block of up to
//! 2 KiB in the slab (whole cache lines, a free list per size); a block that does not fit
//! goes to the system allocator as before. [`dealloc`] takes back any block of the region,
//! from any thread. A slab whose node has gone and whose blocks are all freed is reused.
//! The slabs live in one reserved stretch of address space that is never unmapped, so a
//! block that outlives its node stays valid.
//!
//! Only where blocks sit changes: what is allocated, and every output, stay the same.
//! Elsewhere than Linux, where the address space cannot be reserved, and for slabs beyond
//! [`MAX_SLABS`], placement is off and every block comes from the system allocator.
//!
//! Hand-written: std's containers take an allocator of their own only on nightly
//! (`allocator_api`), and the arena crates (bumpalo and the like) bring containers of their
//! own and free no single block. Placing by a scope under the global allocator keeps the
//! datastore's types plain `Vec`s and `Box`es.

use std::alloc::Layout;
use std::cell::{Cell, UnsafeCell};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Bytes of a slab, two to a 4 KiB page. In ultra-100k's day 1,793,777 of the 1,802,450
/// blocks its ipamds make fit their node's slab (`ipamsim run --stats`); 4 KiB slabs took
/// 1,037 MB and ran no quicker.
pub const SLAB: usize = 2048;
/// Cache lines of a slab.
const LINES: usize = SLAB / 64;
/// The most slabs at once: 8 GiB of address space (reserved, not memory), four runs of
/// 1,000,000 nodes (the scenario limit) side by side.
pub const MAX_SLABS: u32 = 1 << 22;
/// No slab: placement off.
const NONE: u32 = u32::MAX;

/// The region's start (0 until reserved, or if it could not be).
static BASE: AtomicUsize = AtomicUsize::new(0);
/// The slabs' headers, one per slab (null until reserved).
static HEADERS: AtomicUsize = AtomicUsize::new(0);
static RESERVE: Once = Once::new();
/// Slab ids never handed out start here.
static NEXT: AtomicU32 = AtomicU32::new(0);
/// Freed slab ids, a stack through [`Header::next_free`]: the top id in the low 32 bits,
/// a count of pops in the high 32 (so a pop that raced another cannot take a stale top).
static FREE: AtomicU64 = AtomicU64::new(NONE as u64);

thread_local! {
    /// The slab this thread's small allocations go to ([`Slab::enter`]).
    static CURRENT: Cell<u32> = const { Cell::new(NONE) };
    /// This thread's blocks made in a scope: placed, and left to the system ([`counts`]).
    static COUNTS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// How many blocks made in a scope on this thread so far were placed in their node's slab,
/// and how many were left to the system allocator (the slab full, or the block larger
/// than a slab): what `ipamsim run --stats` prints. Both stay 0 where placement is off.
pub fn counts() -> (u64, u64) {
    COUNTS.try_with(Cell::get).unwrap_or_default()
}

fn count(placed: bool) {
    let _ = COUNTS.try_with(|c| {
        let (p, s) = c.get();
        c.set(if placed { (p + 1, s) } else { (p, s + 1) });
    });
}

/// One slab's bookkeeping, kept apart from the slab so a pod event's page holds blocks only;
/// one cache line (the headers' reservation counts 64 bytes a slab; a test pins it).
/// `lock` guards the rest; a line index is stored plus one (0: none).
#[repr(C, align(64))]
struct Header {
    lock: AtomicBool,
    state: UnsafeCell<State>,
    /// The next id on the free stack (valid while this slab is on it).
    next_free: AtomicU32,
}

struct State {
    /// A [`Slab`] holds it.
    owned: bool,
    /// Blocks handed out and not yet freed.
    live: u16,
    /// The first line never handed out (plus one).
    bump: u8,
    /// Per size in lines, the first free block's line (plus one); a free block's first byte
    /// holds the next.
    free: [u8; LINES + 1],
}

// SAFETY: `state` is only touched with `lock` held (`Header::with`).
unsafe impl Sync for Header {}

impl Header {
    /// Runs `f` on the state with the lock held.
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        while self
            .lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        // SAFETY: the lock is held, so no other reference to the state exists.
        let r = f(unsafe { &mut *self.state.get() });
        self.lock.store(false, Ordering::Release);
        r
    }
}

/// Whether the region and headers are reserved (on first use; never where they cannot be).
fn reserved() -> bool {
    RESERVE.call_once(|| {
        #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
        // SAFETY: fresh anonymous mappings; MAP_NORESERVE commits nothing until touched.
        unsafe {
            let map = |len: usize| {
                let p = libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                );
                (p != libc::MAP_FAILED).then_some(p)
            };
            let (region, headers) = (MAX_SLABS as usize * SLAB, MAX_SLABS as usize * 64);
            match (map(region), map(headers)) {
                (Some(base), Some(heads)) => {
                    // Huge pages where the kernel gives them: fewer guest page-table levels.
                    libc::madvise(base, region, libc::MADV_HUGEPAGE);
                    HEADERS.store(heads as usize, Ordering::Release);
                    BASE.store(base as usize, Ordering::Release);
                }
                (Some(base), None) => drop(libc::munmap(base, region)),
                (None, Some(heads)) => drop(libc::munmap(heads, headers)),
                (None, None) => {}
            }
        }
    });
    BASE.load(Ordering::Acquire) != 0
}

fn header(id: u32) -> &'static Header {
    let headers = HEADERS.load(Ordering::Acquire) as *const Header;
    debug_assert!(!headers.is_null() && id < MAX_SLABS);
    // SAFETY: `id` was handed out by `Slab::new`, so the headers are reserved and `id` is
    // below `MAX_SLABS`; zeroed memory is a valid, unlocked, unowned header.
    unsafe { &*headers.add(id as usize) }
}

/// A node's slab: placement for the allocations made inside [`Slab::enter`].
#[derive(Debug)]
pub struct Slab(u32);

impl Slab {
    /// A slab of its own (placement off if none can be had).
    pub fn new() -> Self {
        if !reserved() {
            return Slab(NONE);
        }
        let id = pop_free().unwrap_or_else(|| NEXT.fetch_add(1, Ordering::Relaxed));
        if id >= MAX_SLABS {
            return Slab(NONE);
        }
        // The first block at one of eight lines, so the blocks at the same place in each
        // node's slab spread over the cache's sets.
        let first = (id % 8) as u8 + 1;
        header(id).with(|s| {
            *s = State {
                owned: true,
                live: 0,
                bump: first,
                free: [0; LINES + 1],
            }
        });
        Slab(id)
    }

    /// Until the guard drops, this thread's small allocations go to this slab.
    pub fn enter(&self) -> Scope {
        Scope(CURRENT.with(|c| c.replace(self.0)))
    }
}

impl Default for Slab {
    fn default() -> Self {
        Slab::new()
    }
}

impl Drop for Slab {
    fn drop(&mut self) {
        if self.0 == NONE {
            return;
        }
        let empty = header(self.0).with(|s| {
            s.owned = false;
            s.live == 0
        });
        if empty {
            push_free(self.0);
        }
    }
}

/// Placement for the allocations of [`Slab::enter`]'s thread until dropped; then the one
/// before (scopes nest).
#[must_use]
pub struct Scope(u32);

impl Drop for Scope {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.0));
    }
}

fn push_free(id: u32) {
    let mut top = FREE.load(Ordering::Relaxed);
    loop {
        header(id).next_free.store(top as u32, Ordering::Relaxed);
        let new = (top & !0xFFFF_FFFF) | u64::from(id);
        match FREE.compare_exchange_weak(top, new, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return,
            Err(t) => top = t,
        }
    }
}

fn pop_free() -> Option<u32> {
    let mut top = FREE.load(Ordering::Acquire);
    loop {
        let id = top as u32;
        if id == NONE {
            return None;
        }
        let next = header(id).next_free.load(Ordering::Relaxed);
        let new = ((top >> 32).wrapping_add(1) << 32) | u64::from(next);
        match FREE.compare_exchange_weak(top, new, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => return Some(id),
            Err(t) => top = t,
        }
    }
}

/// Cache lines a block of `layout` takes in a slab, if it may go there.
fn lines(layout: Layout) -> Option<usize> {
    (layout.align() <= 64 && layout.size() <= SLAB).then(|| layout.size().div_ceil(64).max(1))
}

/// A block for `layout` in the current scope's slab, or null (no scope, too large, full).
///
/// # Safety
/// As [`std::alloc::GlobalAlloc::alloc`]: `layout` has a non-zero size.
#[inline]
pub unsafe fn alloc(layout: Layout) -> *mut u8 {
    let id = CURRENT.try_with(Cell::get).unwrap_or(NONE);
    if id == NONE {
        return std::ptr::null_mut();
    }
    let Some(n) = lines(layout) else {
        count(false);
        return std::ptr::null_mut();
    };
    let slab = BASE.load(Ordering::Relaxed) + id as usize * SLAB;
    let line = header(id).with(|s| {
        let line = match s.free[n] {
            0 => {
                let at = s.bump as usize;
                if at - 1 + n > LINES {
                    return None;
                }
                s.bump = (at + n) as u8;
                at
            }
            head => {
                // SAFETY: a free block of this slab; its first byte is the next one's line.
                s.free[n] = unsafe { *((slab + (head as usize - 1) * 64) as *const u8) };
                head as usize
            }
        };
        s.live += 1;
        Some(line)
    });
    count(line.is_some());
    line.map_or(std::ptr::null_mut(), |line| {
        (slab + (line - 1) * 64) as *mut u8
    })
}

/// Whether `ptr` is a block of the slabs' region.
#[inline]
pub fn owns(ptr: *mut u8) -> bool {
    let base = BASE.load(Ordering::Relaxed);
    let p = ptr as usize;
    base != 0 && p >= base && p < base + MAX_SLABS as usize * SLAB
}

/// Gives back a block of the region ([`owns`]).
///
/// # Safety
/// `ptr` came from [`alloc`] with this `layout` and is not used again.
pub unsafe fn dealloc(ptr: *mut u8, layout: Layout) {
    let off = ptr as usize - BASE.load(Ordering::Relaxed);
    let id = (off / SLAB) as u32;
    let line = (off % SLAB) / 64 + 1;
    let n = lines(layout).expect("a slab's block fits a slab");
    let empty = header(id).with(|s| {
        // SAFETY: the block is this slab's and free from now on: its first byte is ours.
        unsafe { *ptr = s.free[n] };
        s.free[n] = line as u8;
        s.live -= 1;
        s.live == 0 && !s.owned
    });
    if empty {
        push_free(id);
    }
}

/// The current scope's slab for `new_size` bytes of `layout`'s alignment, the block moved
/// there from `ptr`; or, for a block of the region, where the system allocator gives it.
/// `None`: leave it to the system allocator (neither the block nor the new size is the
/// slabs').
///
/// # Safety
/// As [`std::alloc::GlobalAlloc::realloc`].
pub unsafe fn realloc(
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
    system: impl FnOnce(Layout) -> *mut u8,
    system_free: impl FnOnce(*mut u8, Layout),
) -> Option<*mut u8> {
    // SAFETY: the caller's promise: the new size, rounded to the alignment, fits `isize`.
    let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
    let mine = owns(ptr);
    if mine && lines(new) == lines(layout) {
        return Some(ptr); // the same lines hold it
    }
    // SAFETY: `new` has a non-zero size (realloc's contract).
    let placed = unsafe { alloc(new) };
    let to = match (placed.is_null(), mine) {
        (false, _) => placed,
        (true, true) => system(new),
        (true, false) => return None,
    };
    if !to.is_null() {
        // SAFETY: both blocks are live and distinct; the smaller size is inside both.
        unsafe {
            std::ptr::copy_nonoverlapping(ptr, to, layout.size().min(new_size));
            if mine {
                dealloc(ptr, layout);
            } else {
                system_free(ptr, layout);
            }
        }
    }
    Some(to)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::alloc::{GlobalAlloc, System};

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    /// The slab's address range.
    fn range(slab: &Slab) -> std::ops::Range<usize> {
        let start = BASE.load(Ordering::Relaxed) + slab.0 as usize * SLAB;
        start..start + SLAB
    }

    #[test]
    fn a_header_is_one_line() {
        assert_eq!(size_of::<Header>(), 64);
    }

    #[test]
    fn a_block_made_in_a_scope_is_the_slabs_and_comes_back_to_it() {
        let slab = Slab::new();
        assert_ne!(slab.0, NONE, "Linux reserves the region");
        // SAFETY: non-zero sizes; every block is freed with its layout.
        unsafe {
            assert!(alloc(layout(100)).is_null(), "no scope, no placement");
            let p = {
                let _in = slab.enter();
                alloc(layout(100))
            };
            assert!(!p.is_null() && owns(p) && range(&slab).contains(&(p as usize)));
            assert_eq!(p as usize % 64, 0, "blocks are whole lines");
            assert!(alloc(layout(100)).is_null(), "the scope ended");
            p.write_bytes(0xab, 100);
            dealloc(p, layout(100));
            let _in = slab.enter();
            assert_eq!(
                alloc(layout(100)),
                p,
                "the freed block is the next of its size"
            );
            dealloc(p, layout(100));
        }
    }

    #[test]
    fn scopes_nest_and_what_does_not_fit_is_left_to_the_system() {
        let (a, b) = (Slab::new(), Slab::new());
        // SAFETY: as above.
        unsafe {
            let _in_a = a.enter();
            {
                let _in_b = b.enter();
                let p = alloc(layout(64));
                assert!(range(&b).contains(&(p as usize)));
                dealloc(p, layout(64));
            }
            let p = alloc(layout(64));
            assert!(range(&a).contains(&(p as usize)), "back in a's scope");
            dealloc(p, layout(64));
            assert!(alloc(layout(SLAB + 1)).is_null(), "larger than a slab");
            let wide = Layout::from_size_align(64, 128).unwrap();
            assert!(alloc(wide).is_null(), "aligned beyond a line");
            // Fill the slab with lines: then it is full.
            let mut lines = Vec::new();
            loop {
                let p = alloc(layout(64));
                if p.is_null() {
                    break;
                }
                lines.push(p);
            }
            assert_eq!(lines.len(), LINES - (a.0 % 8) as usize);
            for p in lines {
                dealloc(p, layout(64));
            }
        }
    }

    #[test]
    fn a_block_outlives_its_slab_and_its_lines_are_not_handed_out_again() {
        let slab = Slab::new();
        // SAFETY: as above.
        let (first, p) = unsafe {
            let _in = slab.enter();
            (alloc(layout(64)), alloc(layout(SLAB / 2)))
        };
        // SAFETY: a live block of SLAB / 2 bytes.
        unsafe { p.write_bytes(7, SLAB / 2) };
        let at = p as usize..p as usize + SLAB / 2;
        drop(slab);
        // SAFETY: the first block, freed once: the slab still has `p`.
        unsafe { dealloc(first, layout(64)) };
        let others: Vec<Slab> = (0..64).map(|_| Slab::new()).collect();
        for s in &others {
            // SAFETY: as above.
            unsafe {
                let _in = s.enter();
                let q = alloc(layout(SLAB / 2));
                assert!(!at.contains(&(q as usize)), "a live block's lines reused");
                q.write_bytes(9, SLAB / 2);
                dealloc(q, layout(SLAB / 2));
            }
        }
        // SAFETY: still live; then freed, which frees its slab.
        unsafe {
            assert!(
                std::slice::from_raw_parts(p, SLAB / 2)
                    .iter()
                    .all(|&b| b == 7)
            );
            dealloc(p, layout(SLAB / 2));
        }
    }

    #[test]
    fn a_block_freed_on_another_thread_goes_back_to_its_slab() {
        let slab = Slab::new();
        // SAFETY: as above.
        let p = unsafe {
            let _in = slab.enter();
            alloc(layout(200))
        } as usize;
        // SAFETY: the block is handed to the other thread and freed there once.
        std::thread::spawn(move || unsafe { dealloc(p as *mut u8, layout(200)) })
            .join()
            .unwrap();
        // SAFETY: as above.
        unsafe {
            let _in = slab.enter();
            let q = alloc(layout(200));
            assert_eq!(q as usize, p);
            dealloc(q, layout(200));
        }
    }

    #[test]
    fn realloc_keeps_the_bytes_wherever_the_block_goes() {
        let slab = Slab::new();
        let system = |l: Layout| unsafe { System.alloc(l) };
        let system_free = |p: *mut u8, l: Layout| unsafe { System.dealloc(p, l) };
        // SAFETY: every block is live where it is used and freed once, by its owner.
        unsafe {
            let _in = slab.enter();
            let p = alloc(layout(100));
            p.write_bytes(1, 100);
            let same = realloc(p, layout(100), 120, system, system_free).unwrap();
            assert_eq!(same, p, "two lines hold 120 bytes too");
            let grown = realloc(p, layout(120), 1000, system, system_free).unwrap();
            assert!(range(&slab).contains(&(grown as usize)) && grown != p);
            assert!(
                std::slice::from_raw_parts(grown, 100)
                    .iter()
                    .all(|&b| b == 1)
            );
            let out = realloc(grown, layout(1000), 4 * SLAB, system, system_free).unwrap();
            assert!(!owns(out), "too large for a slab: the system's");
            assert!(std::slice::from_raw_parts(out, 100).iter().all(|&b| b == 1));
            // A system block grown in a scope moves into the slab.
            let sys = System.alloc(layout(16));
            sys.write_bytes(3, 16);
            let moved = realloc(sys, layout(16), 32, system, system_free).unwrap();
            assert!(range(&slab).contains(&(moved as usize)));
            assert!(
                std::slice::from_raw_parts(moved, 16)
                    .iter()
                    .all(|&b| b == 3)
            );
            dealloc(moved, layout(32));
            System.dealloc(out, layout(4 * SLAB));
        }
        let none = std::alloc::Layout::from_size_align(64, 8).unwrap();
        // SAFETY: a system block, outside any scope: left to the system.
        unsafe {
            let p = System.alloc(none);
            assert!(realloc(p, none, 128, system, system_free).is_none());
            System.dealloc(p, none);
        }
    }

    proptest! {
        /// Random allocations and frees in one slab: every block inside the slab, on whole
        /// lines, overlapping no live block, its bytes kept until it is freed.
        #[test]
        fn live_blocks_never_overlap(ops in prop::collection::vec((0usize..SLAB + 64, any::<bool>()), 1..200)) {
            let slab = Slab::new();
            let _in = slab.enter();
            let mut live: Vec<(usize, usize, u8)> = Vec::new();
            for (i, (size, free)) in ops.into_iter().enumerate() {
                if free && !live.is_empty() {
                    let (p, n, mark) = live.swap_remove(i % live.len());
                    // SAFETY: a live block of `n` bytes, freed once.
                    unsafe {
                        let bytes = std::slice::from_raw_parts(p as *const u8, n);
                        prop_assert!(bytes.iter().all(|&b| b == mark));
                        dealloc(p as *mut u8, layout(n));
                    }
                    continue;
                }
                let n = size.max(1);
                // SAFETY: a non-zero size.
                let p = unsafe { alloc(layout(n)) } as usize;
                if p == 0 {
                    continue; // full, or too large: the system's
                }
                prop_assert!(range(&slab).contains(&p) && p + n <= range(&slab).end);
                for &(q, m, _) in &live {
                    prop_assert!(p + n <= q || q + m <= p, "overlap");
                }
                let mark = i as u8;
                // SAFETY: the new block's `n` bytes.
                unsafe { (p as *mut u8).write_bytes(mark, n) };
                live.push((p, n, mark));
            }
            for (p, n, _) in live {
                // SAFETY: live blocks, freed once.
                unsafe { dealloc(p as *mut u8, layout(n)) };
            }
        }
    }
}
