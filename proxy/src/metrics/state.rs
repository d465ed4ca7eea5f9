//! Figures read at scrape time: what the health probes saw of each node, the committed
//! topology, the slot table and the client counters. Nothing is copied ahead of a scrape
//! except the primaries' offset history that replication lag in seconds is derived from.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::backend::info::Role;
use crate::backend::Health;
use crate::control::topology::SharedTopology;
use crate::metrics::stats::ProxyStats;
use crate::routing::slot_table::SlotTable;

/// Offsets kept per group: at one sample per probe interval (100 ms by default), a minute.
const HISTORY: usize = 600;

/// One group's primary and when it was first seen at each offset, oldest first.
type PrimaryOffsets = (SocketAddr, VecDeque<(Instant, u64)>);

/// When each group's primary was first seen at each offset, sampled from the probes, to tell
/// how old the oldest byte a standby lacks is.
#[derive(Debug, Default)]
pub(crate) struct OffsetHistory {
    groups: Mutex<HashMap<String, PrimaryOffsets>>,
}

impl OffsetHistory {
    /// Records `offset` of `primary`, group `group`'s primary, seen at `now`. A new primary
    /// starts a new history.
    pub(crate) fn record(&self, group: &str, primary: SocketAddr, offset: u64, now: Instant) {
        let mut groups = self.groups.lock();
        let (node, history) = groups
            .entry(group.to_string())
            .or_insert_with(|| (primary, VecDeque::new()));
        if *node != primary {
            *node = primary;
            history.clear();
        }
        if history.back().is_some_and(|&(_, last)| last >= offset) {
            return;
        }
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back((now, offset));
    }

    /// Seconds since the primary of `group` first had a byte past `offset`: 0 when a standby at
    /// `offset` has everything the primary had at the last sample. A lower bound, by up to one
    /// probe interval (the byte was written between two samples).
    pub(crate) fn lag_seconds(&self, group: &str, offset: u64, now: Instant) -> f64 {
        let groups = self.groups.lock();
        let Some((_, history)) = groups.get(group) else {
            return 0.0;
        };
        history
            .iter()
            .find(|&&(_, primary)| primary > offset)
            .map_or(0.0, |&(at, _)| {
                now.saturating_duration_since(at).as_secs_f64()
            })
    }
}

/// Reads the proxy's state at every scrape.
#[derive(Debug)]
pub(crate) struct StateCollector {
    /// Node health from the probes, by address.
    pub(crate) health: Arc<HashMap<SocketAddr, Arc<Health>>>,
    /// The committed topology.
    pub(crate) topology: Arc<SharedTopology>,
    /// Slot → group.
    pub(crate) slots: Arc<SlotTable>,
    /// Client counters.
    pub(crate) stats: Arc<ProxyStats>,
    /// Primaries' offsets over time.
    pub(crate) offsets: Arc<OffsetHistory>,
}

/// Samples every group's primary offset into `offsets` each `interval`, for as long as the
/// runtime runs.
pub(crate) async fn sample_offsets(
    topology: Arc<SharedTopology>,
    health: Arc<HashMap<SocketAddr, Arc<Health>>>,
    offsets: Arc<OffsetHistory>,
    interval: Duration,
) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        let now = Instant::now();
        for group in &topology.get().groups {
            if let Some(offset) = health.get(&group.primary).and_then(|h| h.offset()) {
                offsets.record(&group.id, group.primary, offset, now);
            }
        }
    }
}

fn gauge(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstGauge::new(value);
    metric.encode(e.encode_descriptor(name, help, unit, metric.metric_type())?)
}

fn counter(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(value);
    metric.encode(e.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// One node as a scrape sees it.
struct Member<'a> {
    group: &'a str,
    node: String,
    health: Option<&'a Health>,
    /// Primary in the committed topology.
    primary: bool,
    /// Bytes and seconds behind the primary (standbys whose offsets are known).
    lag: Option<(u64, f64)>,
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let e = &mut encoder;
        let topology = self.topology.get();
        let now = Instant::now();
        let mut members = Vec::new();
        for group in &topology.groups {
            let primary_offset = self.health.get(&group.primary).and_then(|h| h.offset());
            for addr in std::iter::once(group.primary).chain(group.standbys.iter().copied()) {
                let health = self.health.get(&addr).map(|h| &**h);
                let is_primary = addr == group.primary;
                let offset = health.and_then(|h| h.offset());
                let lag = match (is_primary, primary_offset, offset, health.map(|h| h.role())) {
                    (false, Some(p), Some(o), Some(Role::Standby)) => Some((
                        p.saturating_sub(o),
                        self.offsets.lag_seconds(&group.id, o, now),
                    )),
                    _ => None,
                };
                members.push(Member {
                    group: &group.id,
                    node: addr.to_string(),
                    health,
                    primary: is_primary,
                    lag,
                });
            }
        }
        let labels = |m: &Member| [("group", m.group.to_string()), ("node", m.node.clone())];

        gauge(
            e,
            "redoubt_proxy_connected_clients",
            "Client connections open now.",
            None,
            self.stats.connected_clients.load(Ordering::Relaxed) as i64,
        )?;
        counter(
            e,
            "redoubt_proxy_client_connections",
            "Client connections accepted.",
            self.stats.connections_received.load(Ordering::Relaxed),
        )?;

        type Traffic = fn(&crate::backend::health::BackendTraffic) -> u64;
        let traffic: [(&str, &str, Traffic); 3] = [
            (
                "redoubt_proxy_backend_requests",
                "Requests sent to each node that completed, with a reply or an error.",
                |t| t.requests.sum(),
            ),
            (
                "redoubt_proxy_backend_errors",
                "Requests to each node that failed other than by timeout: node unavailable, connection lost, malformed reply.",
                |t| t.errors.load(Ordering::Relaxed),
            ),
            (
                "redoubt_proxy_backend_timeouts",
                "Requests to each node with no reply within the request timeout.",
                |t| t.timeouts.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in traffic {
            let mut family = e.encode_descriptor(name, help, None, MetricType::Counter)?;
            for m in &members {
                let n = m.health.map_or(0, |h| value(&h.traffic));
                ConstCounter::new(n).encode(family.encode_family(&labels(m))?)?;
            }
        }

        {
            let mut family = e.encode_descriptor(
                "redoubt_proxy_node_up",
                "1 while the health probes reach the node, 0 once they fail repeatedly.",
                None,
                MetricType::Gauge,
            )?;
            for m in &members {
                let up = m.health.is_some_and(|h| h.is_healthy());
                ConstGauge::new(i64::from(up)).encode(family.encode_family(&labels(m))?)?;
            }
        }
        {
            let mut family = e.encode_descriptor(
                "redoubt_proxy_node_role",
                "1 for the role the node reports to the probes (primary, standby, unknown), 0 for the others.",
                None,
                MetricType::Gauge,
            )?;
            for m in &members {
                let reported = m.health.map_or(Role::Unknown, |h| h.role());
                for (role, is) in [
                    ("primary", Role::Primary),
                    ("standby", Role::Standby),
                    ("unknown", Role::Unknown),
                ] {
                    let [group, node] = labels(m);
                    let set = [group, node, ("role", role.to_string())];
                    ConstGauge::new(i64::from(reported == is))
                        .encode(family.encode_family(&set)?)?;
                }
            }
        }
        {
            let mut family = e.encode_descriptor(
                "redoubt_proxy_node_topology_primary",
                "1 for the node the committed topology routes the group's writes to, 0 for its standbys.",
                None,
                MetricType::Gauge,
            )?;
            for m in &members {
                ConstGauge::new(i64::from(m.primary)).encode(family.encode_family(&labels(m))?)?;
            }
        }
        {
            let mut family = e.encode_descriptor(
                "redoubt_proxy_node_latency",
                "Average round trip to the node (probes and requests, exponentially weighted).",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?;
            for m in &members {
                let seconds = m.health.map_or(0, |h| h.latency_us()) as f64 / 1e6;
                ConstGauge::new(seconds).encode(family.encode_family(&labels(m))?)?;
            }
        }
        {
            let mut family = e.encode_descriptor(
                "redoubt_proxy_node_replication_offset",
                "Replication offset the node reported to the last good probe.",
                Some(&Unit::Bytes),
                MetricType::Gauge,
            )?;
            for m in &members {
                if let Some(offset) = m.health.and_then(|h| h.offset()) {
                    ConstGauge::new(offset as i64).encode(family.encode_family(&labels(m))?)?;
                }
            }
        }
        {
            let mut family = e.encode_descriptor(
                "redoubt_proxy_replication_lag",
                "Bytes a standby is behind its primary: the primary's offset minus the standby's, as last probed.",
                Some(&Unit::Bytes),
                MetricType::Gauge,
            )?;
            for m in &members {
                if let Some((bytes, _)) = m.lag {
                    ConstGauge::new(bytes as i64).encode(family.encode_family(&labels(m))?)?;
                }
            }
        }
        {
            let mut family = e.encode_descriptor(
                "redoubt_proxy_replication_lag",
                "Age of the oldest byte a standby lacks: time since the probes first saw the primary past the standby's offset (0 when caught up; resolution one probe interval).",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?;
            for m in &members {
                if let Some((_, seconds)) = m.lag {
                    ConstGauge::new(seconds).encode(family.encode_family(&labels(m))?)?;
                }
            }
        }

        let shares = self.slots.shares(topology.groups.len());
        type PerGroup<'a> = (&'a str, &'a str, &'a dyn Fn(usize) -> i64);
        let per_group: [PerGroup; 2] = [
            (
                "redoubt_proxy_group_epoch",
                "The group's configuration epoch in the committed topology (raised by every promotion).",
                &|index| topology.groups[index].epoch as i64,
            ),
            (
                "redoubt_proxy_group_slots",
                "Hash slots the group owns.",
                &|index| shares[index] as i64,
            ),
        ];
        for (name, help, value) in per_group {
            let mut family = e.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (index, group) in topology.groups.iter().enumerate() {
                ConstGauge::new(value(index))
                    .encode(family.encode_family(&[("group", group.id.as_str())])?)?;
            }
        }
        Ok(())
    }
}
