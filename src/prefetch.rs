//! Cache prefetch hints: the engine knows which pods its next workload events touch a few
//! events before it runs them, and asks for their state early.
//!
//! In a large run every pod event lands on a random node whose state has long left the cache
//! (ultra-100k: a node sees a pod event every 3.5 simulated minutes, 100,000 nodes), and its
//! handling is a chain of dependent loads: the pod's phase names the node, the node's
//! datastore points at its pod table, the table at the ENI and CIDR that hold the address.
//! Each link is a miss that the processor waits for. A hint issued some events ahead lets
//! those misses overlap the events in between. Hints change no value: a hint for an address
//! that turns out unused costs a cache line and nothing else.

/// Asks for the cache line holding `*r` (x86-64 `prefetcht0`; nothing elsewhere).
#[inline(always)]
pub fn line<T: ?Sized>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and cannot fault.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((r as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// Asks for every cache line `*r` spans (a struct whose fields the compiler places where it
/// likes).
#[inline(always)]
pub fn lines_of<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let start = (r as *const T).cast::<i8>();
        let size = std::mem::size_of::<T>();
        // The first byte of each line from the struct's start, then its last byte's line.
        let mut offset = 0;
        while offset < size {
            // SAFETY: a prefetch reads nothing the program sees and cannot fault; the address
            // lies inside `*r` (`wrapping_add` keeps the arithmetic defined regardless).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(offset)) };
            offset += 64;
        }
        if size > 0 {
            // SAFETY: as above.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(size - 1)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// Asks for the cache line holding element `i` of `s`, if there is one.
#[inline(always)]
pub fn element<T>(s: &[T], i: usize) {
    if let Some(x) = s.get(i) {
        line(x);
    }
}
