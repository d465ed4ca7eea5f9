//! Memory and CPU figures for `INFO`: the bytes the process has allocated, counted by the
//! global allocator as Redis's `zmalloc` counts them (`used_memory`, what `maxmemory` limits),
//! jemalloc's own statistics (the `allocator_*` fields), the process's RSS, system memory and
//! CPU time read from `/proc`.
//!
//! [`Allocator`] wraps jemalloc (the allocator Redis uses) and adds the size class of every
//! allocation to one of `STRIPES` cache-line padded counters, the one the allocating thread
//! picked on its first allocation, with relaxed atomic operations: threads rarely share a
//! counter's cache line, so counting costs an uncontended add per allocation. A free subtracts
//! from the freeing thread's counter, so a counter may go negative; [`used_memory`] sums them.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use tikv_jemallocator::Jemalloc;

/// Counters the allocations are spread over (threads pick one in turn).
const STRIPES: usize = 16;

/// One counter on its own cache line (128 bytes: adjacent-line prefetching pairs 64-byte lines).
#[repr(align(128))]
struct Stripe(AtomicI64);

static COUNTERS: [Stripe; STRIPES] = [const { Stripe(AtomicI64::new(0)) }; STRIPES];
/// The stripe the next thread to allocate takes.
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's stripe; `usize::MAX` until its first allocation. Const-initialised and
    /// without a destructor, so reading it never allocates (it is read inside the allocator).
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The counter of the calling thread.
fn counter() -> &'static AtomicI64 {
    let index = STRIPE
        .try_with(|stripe| {
            let mut index = stripe.get();
            if index == usize::MAX {
                index = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
                stripe.set(index);
            }
            index
        })
        .unwrap_or(0);
    &COUNTERS[index].0
}

/// Bytes jemalloc hands out for `layout`: its size class (what `nallocx` returns and
/// `malloc_usable_size` reports), from the size rounded up to the alignment. Classes: 8, then
/// multiples of 16 up to 128, then four per doubling (160, 192, 224, 256, 320, ...), the same
/// rule for small, large and huge sizes (`LG_QUANTUM` 4, `LG_SIZE_CLASS_GROUP` 2).
pub(crate) fn size_class(layout: Layout) -> usize {
    let size = layout.size().max(1);
    let align = layout.align();
    let size = if align > 16 || align > size {
        size.next_multiple_of(align)
    } else {
        size
    };
    if size <= 8 {
        return 8;
    }
    if size <= 128 {
        return size.next_multiple_of(16);
    }
    let lg = usize::BITS - 1 - (size - 1).leading_zeros();
    size.next_multiple_of(1 << (lg - 2))
}

/// The global allocator the binary installs (`#[global_allocator]`): jemalloc, counting the
/// bytes it hands out (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Allocator;

// SAFETY: every call is forwarded to jemalloc with the caller's arguments unchanged; the
// counting only reads the layouts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded under the caller's contract.
        let ptr = unsafe { Jemalloc.alloc(layout) };
        if !ptr.is_null() {
            counter().fetch_add(size_class(layout) as i64, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded under the caller's contract.
        let ptr = unsafe { Jemalloc.alloc_zeroed(layout) };
        if !ptr.is_null() {
            counter().fetch_add(size_class(layout) as i64, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded under the caller's contract.
        unsafe { Jemalloc.dealloc(ptr, layout) };
        counter().fetch_sub(size_class(layout) as i64, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded under the caller's contract.
        let new = unsafe { Jemalloc.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // SAFETY: `realloc`'s contract makes `new_size` with this alignment a valid layout.
            let grown = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            let delta = size_class(grown) as i64 - size_class(layout) as i64;
            counter().fetch_add(delta, Ordering::Relaxed);
        }
        new
    }
}

/// Bytes currently allocated through [`Allocator`], by size class (INFO `used_memory`, as
/// Redis's `zmalloc_used_memory`). Sums `STRIPES` relaxed loads: cheap enough to read before
/// every write command. 0 when [`Allocator`] is not the global allocator (the library's tests).
pub fn used_memory() -> u64 {
    let sum: i64 = COUNTERS
        .iter()
        .map(|stripe| stripe.0.load(Ordering::Relaxed))
        .sum();
    sum.max(0) as u64
}

/// jemalloc's statistics, in bytes (the `allocator_*` fields of INFO).
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryStats {
    /// Bytes in live allocations (`stats.allocated`; INFO `allocator_allocated`).
    pub allocated: u64,
    /// Bytes in active pages, allocations plus their pages' unused room (`stats.active`;
    /// INFO `allocator_active`).
    pub active: u64,
    /// Bytes in physically resident allocator pages, metadata included (`stats.resident`;
    /// INFO `allocator_resident`).
    pub resident: u64,
}

/// jemalloc's current statistics; zeros if it cannot report them (not the global allocator).
pub fn stats() -> MemoryStats {
    use tikv_jemalloc_ctl::{epoch, stats};
    // jemalloc caches its statistics; advancing the epoch refreshes them.
    if epoch::advance().is_err() {
        return MemoryStats::default();
    }
    MemoryStats {
        allocated: stats::allocated::read().unwrap_or(0) as u64,
        active: stats::active::read().unwrap_or(0) as u64,
        resident: stats::resident::read().unwrap_or(0) as u64,
    }
}

/// The process's resident set size in bytes (INFO `used_memory_rss`), from the `VmRSS` line
/// of `/proc/self/status`; 0 if unreadable.
pub fn process_rss() -> u64 {
    proc_kb_field("/proc/self/status", "VmRSS:")
}

static PEAK: AtomicU64 = AtomicU64::new(0);

/// The highest `used_memory` seen so far, including `current`.
pub fn peak(current: u64) -> u64 {
    PEAK.fetch_max(current, Ordering::Relaxed).max(current)
}

/// Allocator name and version (INFO `mem_allocator`).
pub fn allocator_name() -> String {
    let version = tikv_jemalloc_ctl::version::read().unwrap_or("unknown");
    let short = version.split('-').next().unwrap_or(version);
    format!("jemalloc-{short}")
}

/// Physical memory of the machine in bytes (INFO `total_system_memory`), from `/proc/meminfo`.
pub fn total_system_memory() -> u64 {
    proc_kb_field("/proc/meminfo", "MemTotal:")
}

/// The `<field> <n> kB` line of a `/proc` file, in bytes; 0 if unreadable.
fn proc_kb_field(path: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// User and system CPU seconds used by the process (INFO `used_cpu_user`, `used_cpu_sys`),
/// from `/proc/self/stat` (clock ticks of 1/100 s, Linux's `USER_HZ`).
pub fn cpu_seconds() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    // utime and stime are the 14th and 15th fields; `after` starts at the 3rd.
    (ticks(11), ticks(12))
}

/// Forgets the peak (`CONFIG RESETSTAT`); the next [`peak`] starts from its `current`.
pub(crate) fn reset_peak() {
    PEAK.store(0, Ordering::Relaxed);
}

/// Turns jemalloc's background threads on or off (`jemalloc-bg-thread`, on by default as in
/// Redis): they return freed pages to the system as they age (`dirty_decay_ms`), so RSS
/// follows `used_memory` down even while the node is idle. Only a change is written.
pub(crate) fn set_background_thread(on: bool) {
    static STATE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(2);
    if STATE.swap(u8::from(on), Ordering::Relaxed) != u8::from(on) {
        if let Err(err) = tikv_jemalloc_ctl::background_thread::write(on) {
            tracing::warn!(%err, "cannot set jemalloc background threads");
        }
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_are_jemallocs() {
        for align in [1, 8, 16, 64, 4096] {
            for size in (1..70_000)
                .step_by(7)
                .chain([1 << 20, (1 << 20) + 1, 3 << 22])
            {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a valid non-zero layout, freed below with the same layout.
                let ptr = unsafe { Jemalloc.alloc(layout) };
                assert!(!ptr.is_null());
                // SAFETY: `ptr` is a live jemalloc allocation.
                let usable = unsafe { tikv_jemallocator::usable_size(ptr) };
                assert_eq!(size_class(layout), usable, "size {size} align {align}");
                // SAFETY: allocated above with this layout.
                unsafe { Jemalloc.dealloc(ptr, layout) };
            }
        }
    }

    #[test]
    fn counting_balances() {
        let layout = Layout::from_size_align(1000, 8).unwrap();
        let before = counter().load(Ordering::Relaxed);
        // SAFETY: valid layouts; every block is freed with the layout it has.
        unsafe {
            let ptr = Allocator.alloc(layout);
            assert_eq!(counter().load(Ordering::Relaxed) - before, 1024);
            let ptr = Allocator.realloc(ptr, layout, 5000);
            assert_eq!(counter().load(Ordering::Relaxed) - before, 5120);
            Allocator.dealloc(ptr, Layout::from_size_align(5000, 8).unwrap());
        }
        assert_eq!(counter().load(Ordering::Relaxed), before);
    }
}
