//! Memory and CPU figures for `INFO`: bytes allocated and resident, read from jemalloc (the
//! allocator the `redoubt` binary installs, as Redis uses), system memory and CPU time read from
//! `/proc`.

use std::sync::atomic::{AtomicU64, Ordering};

/// The global allocator type the binary installs (`#[global_allocator]`).
pub type Allocator = tikv_jemallocator::Jemalloc;

/// Allocator figures, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryStats {
    /// Bytes allocated by the process (INFO `used_memory`).
    pub allocated: u64,
    /// Bytes in physically resident allocator pages (INFO `used_memory_rss`).
    pub resident: u64,
}

/// Current allocator figures; zeros if jemalloc cannot report them.
pub fn stats() -> MemoryStats {
    use tikv_jemalloc_ctl::{epoch, stats};
    // jemalloc caches its statistics; advancing the epoch refreshes them.
    if epoch::advance().is_err() {
        return MemoryStats::default();
    }
    MemoryStats {
        allocated: stats::allocated::read().unwrap_or(0) as u64,
        resident: stats::resident::read().unwrap_or(0) as u64,
    }
}

static PEAK: AtomicU64 = AtomicU64::new(0);

/// The highest `allocated` figure seen so far, including `current`.
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
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
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
