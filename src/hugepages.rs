//! Transparent huge pages for the simulation's memory (Linux).
//!
//! A large run's state (ultra-100k: 1 GB over 100,000 nodes) is read at random, one node per
//! event, and with 4 KiB pages nearly every such read misses the TLB as well as the cache.
//! Linux backs memory with 2 MiB pages where a program asks for it (`madvise(MADV_HUGEPAGE)`;
//! `/sys/kernel/mm/transparent_hugepage/enabled` is `madvise` on most distributions, this
//! project's machine included). glibc asks for it only under `GLIBC_TUNABLES=glibc.malloc.
//! hugetlb=1`, which a program cannot set for itself, so [`HugePages`] wraps the system
//! allocator and asks: for each large allocation (its own mapping), and for the heap each
//! time it grows. [`grow_heap_in_large_steps`] makes the heap grow 32 MiB at a time, so a
//! growth is advised before its pages are touched, and keeps every allocation below 32 MiB
//! on the heap (one mapping each above). ultra-100k: 44.2 s → 39.2 s wall, 866 of its
//! 983 MB in huge pages (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1` does as well: 39.0 s).
//!
//! It also places small blocks in the slab of the node being worked on ([`crate::placement`]).
//!
//! Only the speed changes: what is allocated, and every output, stay the same. Elsewhere
//! than Linux, and where the kernel refuses, the advice is a no-op.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::placement;

/// Allocations from this size on get their own mapping from glibc (`M_MMAP_THRESHOLD`,
/// set by [`grow_heap_in_large_steps`]: its largest value), advised one by one; smaller
/// ones come from the heap.
const LARGE: usize = 32 << 20;
/// The heap's growth step ([`grow_heap_in_large_steps`]).
const HEAP_STEP: usize = 32 << 20;
const HUGE_PAGE: usize = 2 << 20;

/// The system allocator, asking Linux for huge pages (module docs).
pub struct HugePages;

/// The end of the heap as far as advised.
static ADVISED: AtomicUsize = AtomicUsize::new(0);

/// Makes glibc grow the heap 32 MiB at a time (`M_TOP_PAD`), so each growth is
/// advised before the program touches it, and never give it back (`M_TRIM_THRESHOLD`): a run
/// frees its large tables (the generated workload's, a bucket's) and grows again, and each
/// regrowth after a trim faults fresh pages the kernel must zero, 2 MiB at a time (scale-5k:
/// 0.11 s of its 0.12 s of kernel time). Peak memory is the same; the heap is returned at
/// exit. Call once, first thing in `main`.
pub fn grow_heap_in_large_steps() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, HEAP_STEP as libc::c_int);
        libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE as libc::c_int);
        libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
    }
}

#[cfg(target_os = "linux")]
fn advise(start: usize, end: usize) {
    // Whole huge pages inside the range: advice on the rest would split no page anyway.
    let start = start.next_multiple_of(HUGE_PAGE);
    let end = end / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        // SAFETY: the range lies inside memory this process has mapped (a live allocation or
        // the heap below its break); MADV_HUGEPAGE changes no contents.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(target_os = "linux")]
fn after_alloc(p: *mut u8, size: usize) {
    if p.is_null() {
        return;
    }
    if size >= LARGE {
        advise(p as usize, p as usize + size);
        return;
    }
    // SAFETY: sbrk(0) only reads the current break.
    let brk = unsafe { libc::sbrk(0) } as usize;
    let advised = ADVISED.load(Ordering::Relaxed);
    if brk < advised {
        ADVISED.store(brk, Ordering::Relaxed); // trimmed: a regrowth is new memory
    } else if brk > advised && brk != usize::MAX {
        let from = if advised == 0 { p as usize } else { advised };
        advise(from, brk);
        ADVISED.store(brk, Ordering::Relaxed);
    }
}

#[cfg(not(target_os = "linux"))]
fn after_alloc(_: *mut u8, _: usize) {}

// SAFETY: a block `placement` hands out is one of its slabs' and goes back to it
// (`placement::owns` tells them apart); every other call is passed to `System` unchanged, and
// the advice only reads the result.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: `layout` as the caller's.
        let placed = unsafe { placement::alloc(layout) };
        if !placed.is_null() {
            return placed;
        }
        let p = unsafe { System.alloc(layout) };
        after_alloc(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: `layout` as the caller's; a placed block is zeroed here.
        let placed = unsafe { placement::alloc(layout) };
        if !placed.is_null() {
            unsafe { placed.write_bytes(0, layout.size()) };
            return placed;
        }
        let p = unsafe { System.alloc_zeroed(layout) };
        after_alloc(p, layout.size());
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if placement::owns(ptr) {
            // SAFETY: a placed block, given back with its layout.
            return unsafe { placement::dealloc(ptr, layout) };
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as the caller's; the closures are the system allocator's own calls.
        let moved = unsafe {
            placement::realloc(
                ptr,
                layout,
                new_size,
                |l| {
                    let p = System.alloc(l);
                    after_alloc(p, l.size());
                    p
                },
                |p, l| System.dealloc(p, l),
            )
        };
        if let Some(p) = moved {
            return p;
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        after_alloc(p, new_size);
        p
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The `VmFlags` line of the mapping that holds `addr`, from `/proc/self/smaps`.
    fn vm_flags(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let range = line.split_whitespace().next().unwrap_or("");
            if let Some((a, b)) = range.split_once('-')
                && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                inside = (a..b).contains(&addr);
            } else if inside && let Some(flags) = line.strip_prefix("VmFlags:") {
                return Some(flags.to_string());
            }
        }
        None
    }

    /// A large allocation is advised (`hg` in its mapping's flags) where the kernel offers
    /// huge pages on advice; the memory works as any other.
    #[test]
    fn a_large_allocation_asks_for_huge_pages() {
        let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        let layout = Layout::from_size_align(LARGE + HUGE_PAGE, 8).unwrap();
        // SAFETY: a non-zero size; freed below with the same layout.
        let p = unsafe { HugePages.alloc(layout) };
        assert!(!p.is_null());
        // SAFETY: inside the allocation.
        unsafe {
            p.write_bytes(7, layout.size());
            assert_eq!(*p.add(layout.size() - 1), 7);
        }
        let inner = (p as usize).next_multiple_of(HUGE_PAGE);
        let flags = vm_flags(inner).expect("the allocation is mapped");
        if mode.contains("[madvise]") || mode.contains("[always]") {
            assert!(flags.split_whitespace().any(|f| f == "hg"), "{flags}");
        }
        // SAFETY: allocated above with this layout.
        unsafe { HugePages.dealloc(p, layout) };
    }
}
