//! A counter every worker thread changes on each request, striped so the workers' cores do
//! not contend for one cache line.

use std::sync::atomic::{AtomicU64, Ordering};

/// Stripes of a [`Striped`] counter; threads beyond this many share them.
pub(crate) const STRIPES: usize = 8;

/// A counter every worker thread changes on each request: each thread adds to its own cache
/// line, so the workers do not contend for one, and a reader sums the stripes. Wrapping: a
/// thread may take away what another added, the sum is still exact.
#[derive(Debug, Default)]
pub(crate) struct Striped {
    stripes: [Stripe; STRIPES],
}

/// One stripe, alone on its cache lines (128 bytes: the prefetcher pulls lines in pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe(AtomicU64);

thread_local! {
    /// The calling thread's stripe; `usize::MAX` until first used.
    static STRIPE: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// The calling thread's stripe, below [`STRIPES`].
pub(crate) fn stripe() -> usize {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    STRIPE.with(|stripe| {
        if stripe.get() == usize::MAX {
            stripe.set((NEXT.fetch_add(1, Ordering::Relaxed) as usize) % STRIPES);
        }
        stripe.get()
    })
}

impl Striped {
    fn mine(&self) -> &AtomicU64 {
        &self.stripes[stripe()].0
    }

    /// Adds `n`.
    pub(crate) fn add(&self, n: u64) {
        self.mine().fetch_add(n, Ordering::SeqCst);
    }

    /// Takes `n` away.
    pub(crate) fn sub(&self, n: u64) {
        self.mine().fetch_sub(n, Ordering::SeqCst);
    }

    /// The total.
    pub(crate) fn sum(&self) -> u64 {
        self.stripes
            .iter()
            .fold(0u64, |sum, s| sum.wrapping_add(s.0.load(Ordering::SeqCst)))
    }
}

/// A Prometheus counter kept as a [`Striped`] one.
#[derive(Clone, Debug, Default)]
pub(crate) struct StripedCounter(std::sync::Arc<Striped>);

impl StripedCounter {
    /// Adds `n`.
    pub(crate) fn inc_by(&self, n: u64) {
        self.0.add(n);
    }

    /// The count.
    pub(crate) fn get(&self) -> u64 {
        self.0.sum()
    }
}

impl prometheus_client::metrics::TypedMetric for StripedCounter {
    const TYPE: prometheus_client::metrics::MetricType =
        prometheus_client::metrics::MetricType::Counter;
}

impl prometheus_client::encoding::EncodeMetric for StripedCounter {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::MetricEncoder,
    ) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&self.get(), None)
    }

    fn metric_type(&self) -> prometheus_client::metrics::MetricType {
        <Self as prometheus_client::metrics::TypedMetric>::TYPE
    }
}
