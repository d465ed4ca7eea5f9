//! The Raft control plane's figures in `/metrics`: `redoubt_proxy_raft_term`,
//! `redoubt_proxy_raft_leader` (1 on the leader), `redoubt_proxy_raft_applied_index`,
//! `redoubt_proxy_raft_writable` (1 while this proxy holds the write lease),
//! `redoubt_proxy_raft_leader_changes_total` and the histogram
//! `redoubt_proxy_raft_commit_duration_seconds` (topology commits made here).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::plane::RaftControlPlane;
use crate::control::ControlPlane;

/// Counters kept by the plane as things happen.
#[derive(Clone, Debug)]
pub(crate) struct Figures {
    /// Leaders seen (a new leader id known here).
    pub(crate) leader_changes: Counter,
    /// Topology commits' latency.
    pub(crate) commit_duration: Histogram,
}

impl Default for Figures {
    fn default() -> Figures {
        // 0.5 ms to about 1 s.
        let buckets = prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 12);
        Figures {
            leader_changes: Counter::default(),
            commit_duration: Histogram::new(buckets),
        }
    }
}

impl Figures {
    /// Records one commit's latency.
    pub(crate) fn commit(&self, elapsed: Duration) {
        self.commit_duration.observe(elapsed.as_secs_f64());
    }
}

/// Registers the figures of `plane` in `registry`.
pub(crate) fn register(plane: &Arc<RaftControlPlane>, registry: &mut Registry) {
    let figures = plane.figures();
    registry.register(
        "redoubt_proxy_raft_leader_changes",
        "Control-plane leaders seen by this proxy (a new leader id known here).",
        figures.leader_changes.clone(),
    );
    registry.register_with_unit(
        "redoubt_proxy_raft_commit_duration",
        "Time to commit a topology change through Raft, from this proxy (the leader).",
        Unit::Seconds,
        figures.commit_duration.clone(),
    );
    registry.register_collector(Box::new(State {
        plane: plane.clone(),
    }));
}

#[derive(Debug)]
struct State {
    plane: Arc<RaftControlPlane>,
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(e.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for State {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let Some(status) = self.plane.status() else {
            return Ok(());
        };
        let e = &mut encoder;
        gauge(
            e,
            "redoubt_proxy_raft_term",
            "Current Raft term of the control plane.",
            status.term as i64,
        )?;
        gauge(
            e,
            "redoubt_proxy_raft_leader",
            "1 if this proxy is the control plane's leader.",
            i64::from(status.leader == Some(status.id)),
        )?;
        gauge(
            e,
            "redoubt_proxy_raft_applied_index",
            "Index of the last control-plane log entry applied here.",
            status.applied_index.unwrap_or(0) as i64,
        )?;
        gauge(
            e,
            "redoubt_proxy_raft_writable",
            "1 while this proxy reaches a quorum of proxies and takes writes.",
            i64::from(status.writable),
        )
    }
}
