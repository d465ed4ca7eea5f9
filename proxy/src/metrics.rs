//! The proxy's Prometheus metrics: every name, help text and label in one place, in one
//! [`Registry`] per proxy (held by [`crate::state::Shared`], so several proxies in one process
//! keep separate figures).
//!
//! Two kinds of figures:
//! - **Counted on the request path**: requests by command, group and outcome, and the latency
//!   histogram by command. Workers share them, so the path is kept to atomic adds: the
//!   per-command series are created once (the first time a command is seen) and then found by
//!   the command's index in the command table, with no lock, allocation or formatting.
//!   Histograms are [`LatencyHistogram`]s (atomic buckets) rather than the crate's
//!   mutex-guarded `Histogram`. Backend requests, errors and timeouts are plain atomics in each
//!   node's [`Health`](crate::backend::Health) ([`BackendTraffic`](crate::backend::health::BackendTraffic)).
//! - **Read at scrape time** by [`state::StateCollector`] from what the proxy already keeps: node
//!   health, roles and offsets from the probes, the committed topology (epochs, primaries),
//!   the slot table, the client counters.
//!
//! Failovers are counted by the failover controller through
//! [`Failovers`], registered here; held node connections by their owners through
//! [`PinnedConnections`], registered here.

pub(crate) mod state;
pub(crate) mod stats;
pub(crate) mod striped;

use striped::StripedCounter;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};
use redoubt_protocol::command_table::{command_index_count, Resolved};

use crate::backend::held::PinnedConnections;
use crate::control::failover::count::Failovers;

/// Content type of the exposition (OpenMetrics text, which Prometheus scrapes natively).
pub(crate) const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the request latency histogram; a last `+Inf` bucket follows.
pub(crate) const LATENCY_BOUNDS: [f64; 16] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0,
];

/// `group` label of requests the proxy answered itself (errors, `PING`, `HELLO`...).
pub(crate) const GROUP_PROXY: &str = "proxy";
/// `group` label of requests split over several groups (`MGET`, `DEL` of many keys...).
pub(crate) const GROUP_MULTI: &str = "multi";
/// `command` label of requests naming no known command.
pub(crate) const COMMAND_UNKNOWN: &str = "unknown";

/// A latency histogram with atomic buckets: observing is three atomic adds, no lock.
#[derive(Clone, Debug, Default)]
pub(crate) struct LatencyHistogram {
    cells: Arc<HistogramCells>,
}

/// The histogram's cells, one set per [stripe](striped::stripe): each worker thread adds to
/// its own, a reader sums them.
#[derive(Debug, Default)]
struct HistogramCells {
    stripes: [HistogramStripe; striped::STRIPES],
}

#[derive(Debug, Default)]
#[repr(align(128))]
struct HistogramStripe {
    buckets: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    sum_ns: AtomicU64,
}

impl HistogramCells {
    /// Observations in bucket `i`.
    fn bucket(&self, i: usize) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.buckets[i].load(Ordering::Relaxed))
            .sum()
    }

    /// Observations in every bucket.
    fn count(&self) -> u64 {
        (0..=LATENCY_BOUNDS.len()).map(|i| self.bucket(i)).sum()
    }

    /// Sum of the observations, nanoseconds.
    fn sum_ns(&self) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.sum_ns.load(Ordering::Relaxed))
            .sum()
    }
}

impl LatencyHistogram {
    /// Counts `count` requests that each took `elapsed`.
    pub(crate) fn observe_many(&self, elapsed: Duration, count: u64) {
        let seconds = elapsed.as_secs_f64();
        let bucket = LATENCY_BOUNDS.partition_point(|&bound| bound < seconds);
        let cells = &self.cells.stripes[striped::stripe()];
        cells.buckets[bucket].fetch_add(count, Ordering::Relaxed);
        cells.sum_ns.fetch_add(
            (elapsed.as_nanos() as u64).saturating_mul(count),
            Ordering::Relaxed,
        );
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let mut buckets = [(0.0, 0u64); LATENCY_BOUNDS.len() + 1];
        let mut count = 0;
        for (i, bucket) in buckets.iter_mut().enumerate() {
            let n = self.cells.bucket(i);
            count += n;
            *bucket = (LATENCY_BOUNDS.get(i).copied().unwrap_or(f64::INFINITY), n);
        }
        let sum = self.cells.sum_ns() as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// Labels of `redoubt_proxy_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    /// Command name, lower case (`unknown` for unknown commands).
    pub(crate) command: &'static str,
    /// Group id, `proxy` or `multi`.
    pub(crate) group: String,
    /// `ok` or `error` (an error reply, the node's or the proxy's).
    pub(crate) outcome: &'static str,
}

/// Labels of `redoubt_proxy_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CommandLabels {
    /// Command name, lower case.
    pub(crate) command: &'static str,
}

/// Where a request went, for its `group` label: a slot of [`ProxyMetrics`]'s per-command table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// One group, by index.
    Group(usize),
    /// Answered by the proxy.
    Proxy,
    /// Split over several groups.
    Multi,
}

/// One command's series, created on first use.
#[derive(Debug, Default)]
struct CommandSeries {
    /// Per target slot (groups, then proxy, then multi), per outcome (ok, error).
    requests: Vec<[OnceLock<StripedCounter>; 2]>,
    latency: OnceLock<LatencyHistogram>,
    /// The full name (`client|list`), for `INFO commandstats`.
    name: OnceLock<String>,
}

/// One command's figures for `INFO commandstats`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CommandStat {
    /// Full name, lower case (`client|list`).
    pub(crate) name: String,
    /// Requests.
    pub(crate) calls: u64,
    /// Total time, microseconds.
    pub(crate) usec: u64,
    /// Requests answered with an error.
    pub(crate) failed: u64,
}

/// The proxy's metrics.
#[derive(Debug)]
pub(crate) struct ProxyMetrics {
    /// The registry `/metrics` encodes.
    pub(crate) registry: Registry,
    requests: Family<RequestLabels, StripedCounter>,
    latency: Family<CommandLabels, LatencyHistogram>,
    /// Indexed by [`CommandIndex`](redoubt_protocol::command_table::CommandIndex), then one
    /// slot for unknown commands.
    series: Vec<CommandSeries>,
    group_ids: Vec<String>,
    /// Group index of every configured node.
    node_groups: HashMap<SocketAddr, usize>,
    /// Failovers, counted by the controller.
    pub(crate) failovers: Failovers,
    /// Backend connections held by one client each, counted by their owners.
    pub(crate) pinned: PinnedConnections,
}

impl ProxyMetrics {
    /// Metrics for a proxy with groups `group_ids`, whose nodes are `node_groups` (address →
    /// group index); `state` reads the rest at scrape time.
    pub(crate) fn new(
        group_ids: Vec<String>,
        node_groups: HashMap<SocketAddr, usize>,
        state: state::StateCollector,
    ) -> ProxyMetrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, StripedCounter>::default();
        registry.register(
            "redoubt_proxy_requests",
            "Client requests by command, group (a group id; proxy: answered by the proxy; multi: split over groups) and outcome (ok, error).",
            requests.clone(),
        );
        let latency = Family::<CommandLabels, LatencyHistogram>::default();
        registry.register_with_unit(
            "redoubt_proxy_request_duration",
            "Time from reading a request to its reply being ready, by command.",
            Unit::Seconds,
            latency.clone(),
        );
        let failovers = Failovers::default();
        registry.register(
            "redoubt_proxy_failovers",
            "Primaries replaced, by group and reason (automatic: the primary was down; planned: a switchover).",
            failovers.family(),
        );
        // Every group shows zero failovers from the start, so rates and increases have data.
        for group in &group_ids {
            for reason in ["automatic", "planned"] {
                failovers.touch(group, reason);
            }
        }
        let pinned = PinnedConnections::new();
        registry.register(
            "redoubt_proxy_pinned_connections",
            "Node connections held by one client each, by reason (blocking: a blocking command waits on it); released on completion, disconnect or timeout.",
            pinned.family(),
        );
        registry.register_collector(Box::new(state));
        let targets = group_ids.len() + 2;
        let series = (0..=command_index_count())
            .map(|_| CommandSeries {
                requests: (0..targets).map(|_| Default::default()).collect(),
                latency: OnceLock::new(),
                name: OnceLock::new(),
            })
            .collect();
        ProxyMetrics {
            registry,
            requests,
            latency,
            series,
            group_ids,
            node_groups,
            failovers,
            pinned,
        }
    }

    /// The group of the node at `addr`, if it is configured.
    pub(crate) fn group_of_node(&self, addr: SocketAddr) -> Option<usize> {
        self.node_groups.get(&addr).copied()
    }

    /// Counts one request (see [`ProxyMetrics::record_requests`]).
    #[cfg(test)]
    pub(crate) fn record_request(
        &self,
        command: Option<&Resolved>,
        target: Target,
        error: bool,
        elapsed: Duration,
    ) {
        self.record_requests(command, target, error, elapsed, 1);
    }

    /// Counts `count` requests alike: each to `command` (`None`: a command the table does not
    /// hold), sent to `target`, taking `elapsed`, ending in an error reply if `error`. The
    /// `command` label is the top-level name (`config` for `CONFIG GET`).
    pub(crate) fn record_requests(
        &self,
        command: Option<&Resolved>,
        target: Target,
        error: bool,
        elapsed: Duration,
        count: u64,
    ) {
        let index = command.map_or(self.series.len() - 1, |c| c.index.get());
        let Some(series) = self.series.get(index) else {
            return;
        };
        let name = command.map_or(COMMAND_UNKNOWN, Resolved::name);
        let groups = self.group_ids.len();
        let slot = match target {
            Target::Group(index) if index < groups => index,
            Target::Group(_) | Target::Multi => groups + 1,
            Target::Proxy => groups,
        };
        let outcome = usize::from(error);
        series.requests[slot][outcome]
            .get_or_init(|| {
                let group = match slot {
                    s if s < groups => self.group_ids[s].clone(),
                    s if s == groups => GROUP_PROXY.to_string(),
                    _ => GROUP_MULTI.to_string(),
                };
                let labels = RequestLabels {
                    command: name,
                    group,
                    outcome: if error { "error" } else { "ok" },
                };
                self.requests.get_or_create_owned(&labels)
            })
            .inc_by(count);
        if let Some(command) = command {
            series.name.get_or_init(|| command.to_string());
        }
        series
            .latency
            .get_or_init(|| {
                self.latency
                    .get_or_create_owned(&CommandLabels { command: name })
            })
            .observe_many(elapsed, count);
    }

    /// Every command seen so far, with its calls, time and failures (`INFO commandstats`).
    pub(crate) fn command_stats(&self) -> Vec<CommandStat> {
        self.series
            .iter()
            .filter_map(|series| {
                let name = series.name.get()?.clone();
                let cells = &series.latency.get()?.cells;
                let calls = cells.count();
                let usec = cells.sum_ns() / 1000;
                let failed = series
                    .requests
                    .iter()
                    .filter_map(|outcomes| outcomes[1].get())
                    .map(StripedCounter::get)
                    .sum();
                Some(CommandStat {
                    name,
                    calls,
                    usec,
                    failed,
                })
            })
            .collect()
    }

    /// The exposition, as OpenMetrics text.
    pub(crate) fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests;
