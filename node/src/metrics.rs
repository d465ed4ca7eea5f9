//! The node's Prometheus metrics: every name, help text and label in one place.
//!
//! Nothing here is counted twice. The figures live where `INFO` reads them (the store's
//! command statistics, hit and miss counters, replication state, the client registry, the
//! allocator), and a [`Collector`] registered in the node's own [`Registry`] reads the same
//! fields at scrape time, so `/metrics` and `INFO` always agree. The one thing `INFO` has no
//! field for, the distribution of command latencies, is kept as bucket counts in each
//! [`CommandStat`] next to `calls` and `usec`, so the histogram's `_count` is `calls` and its
//! `_sum` is `usec` in seconds.
//!
//! Served over HTTP by [`serve`] when the node runs with `--metrics-port`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use tokio::net::TcpListener;

use crate::keyspace::{CommandStat, LATENCY_BOUNDS_US, LATENCY_BUCKETS};
use crate::state::NodeState;

/// Content type of the exposition (OpenMetrics text, which Prometheus scrapes natively).
pub(crate) const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A fresh registry for one node, reading it through `node` at every scrape.
pub(crate) fn registry(node: Weak<NodeState>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(NodeCollector { node }));
    registry
}

/// Encodes `registry` as OpenMetrics text.
pub(crate) fn encode(registry: &Registry) -> String {
    let mut text = String::new();
    // Writing to a String cannot fail; a collector's error would only truncate the output.
    let _ = prometheus_client::encoding::text::encode(&mut text, registry);
    text
}

/// Serves `GET /metrics` for `node` on `listener` for as long as the node runs.
pub(crate) async fn serve(listener: TcpListener, node: Arc<NodeState>) {
    let registry = Arc::new(registry(Arc::downgrade(&node)));
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(registry);
    if let Err(err) = axum::serve(listener, app).await {
        tracing::warn!(%err, "metrics endpoint stopped");
    }
}

async fn metrics(
    axum::extract::State(registry): axum::extract::State<Arc<Registry>>,
) -> impl IntoResponse {
    // Encoding takes the store lock, which a running script holds: off the event loop.
    let text = tokio::task::spawn_blocking(move || encode(&registry))
        .await
        .unwrap_or_default();
    ([(CONTENT_TYPE, CONTENT_TYPE_OPENMETRICS)], text)
}

/// A family's name, help text and how to read its value from a row.
type Column<T> = (&'static str, &'static str, fn(&T) -> u64);

/// What one scrape reads, copied under the store lock and encoded after releasing it.
#[derive(Debug, Default)]
struct Snapshot {
    commands: Vec<(String, CommandStat)>,
    errors: Vec<(String, u64)>,
    commands_processed: u64,
    dbs: Vec<(u64, u64)>,
    expired_keys: u64,
    evicted_keys: u64,
    keyspace_hits: u64,
    keyspace_misses: u64,
    maxmemory: u64,
    blocked_clients: u64,
    is_standby: bool,
    link_up: Option<bool>,
    offset: u64,
    standbys: Vec<(String, u64)>,
    sync_full: u64,
    sync_partial_ok: u64,
    sync_partial_err: u64,
    epoch: u64,
}

impl Snapshot {
    fn read(node: &NodeState) -> Snapshot {
        let store = node.store.lock();
        let mut commands: Vec<(String, CommandStat)> = store
            .command_stats
            .iter()
            .map(|(name, stat)| {
                let stat = CommandStat {
                    histogram: None,
                    ..*stat
                };
                (name.clone(), stat)
            })
            .collect();
        commands.sort_by(|a, b| a.0.cmp(&b.0));
        let mut errors: Vec<(String, u64)> = store
            .error_stats
            .iter()
            .map(|(name, count)| (name.clone(), *count))
            .collect();
        errors.sort();
        let repl = &store.repl;
        Snapshot {
            commands,
            errors,
            commands_processed: store.commands_processed,
            dbs: store
                .dbs
                .iter()
                .map(|db| (db.len() as u64, db.expires_len() as u64))
                .collect(),
            expired_keys: store.expired_keys(),
            evicted_keys: store.evicted_keys,
            keyspace_hits: store.keyspace_hits,
            keyspace_misses: store.keyspace_misses,
            maxmemory: store.config.maxmemory,
            blocked_clients: store.blocking.len() as u64,
            is_standby: repl.is_replica(),
            link_up: repl
                .primary
                .as_ref()
                .map(|link| link.state == crate::replication::LinkState::Connected),
            offset: repl.offset,
            standbys: repl
                .replicas
                .values()
                .map(|r| (format!("{}:{}", r.ip, r.port), r.ack_offset))
                .collect(),
            sync_full: repl.sync_full,
            sync_partial_ok: repl.sync_partial_ok,
            sync_partial_err: repl.sync_partial_err,
            epoch: store.epoch,
        }
    }
}

/// Reads a node's state at every scrape.
#[derive(Debug)]
struct NodeCollector {
    node: Weak<NodeState>,
}

/// Encodes one unlabelled metric.
fn single(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    metric: &impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    single(encoder, name, help, None, &ConstCounter::new(value))
}

fn byte_counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    single(
        encoder,
        name,
        help,
        Some(&Unit::Bytes),
        &ConstCounter::new(value),
    )
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: i64,
) -> Result<(), std::fmt::Error> {
    single(encoder, name, help, unit, &ConstGauge::new(value))
}

impl Collector for NodeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(node) = self.node.upgrade() else {
            return Ok(());
        };
        let snap = Snapshot::read(&node);
        let e = &mut encoder;

        // Commands (INFO commandstats).
        let per_command: [Column<CommandStat>; 3] = [
            (
                "redoubt_commands",
                "Commands run, by command (INFO cmdstat calls).",
                |s| s.calls,
            ),
            (
                "redoubt_commands_failed",
                "Commands that ran and replied with an error (INFO cmdstat failed_calls).",
                |s| s.failed_calls,
            ),
            (
                "redoubt_commands_rejected",
                "Commands refused before running: arity, authentication, fencing, read-only (INFO cmdstat rejected_calls).",
                |s| s.rejected_calls,
            ),
        ];
        for (name, help, value) in per_command {
            let mut family = e.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (command, stat) in &snap.commands {
                let labels = [("command", command.as_str())];
                ConstCounter::new(value(stat)).encode(family.encode_family(&labels)?)?;
            }
        }
        {
            let mut family = e.encode_descriptor(
                "redoubt_command_duration",
                "Time commands took to run, by command; _count and _sum match INFO cmdstat calls and usec.",
                Some(&Unit::Seconds),
                MetricType::Histogram,
            )?;
            let mut buckets = [(0.0, 0u64); LATENCY_BUCKETS];
            for (command, stat) in &snap.commands {
                for (i, bucket) in buckets.iter_mut().enumerate() {
                    let bound = LATENCY_BOUNDS_US
                        .get(i)
                        .map_or(f64::INFINITY, |&us| us as f64 / 1e6);
                    *bucket = (bound, stat.latency_buckets[i]);
                }
                let labels = [("command", command.as_str())];
                family
                    .encode_family(&labels)?
                    .encode_histogram::<NoLabelSet>(
                        stat.usec as f64 / 1e6,
                        stat.calls,
                        &buckets,
                        None,
                    )?;
            }
        }
        counter(
            e,
            "redoubt_commands_processed",
            "Commands processed (INFO total_commands_processed).",
            snap.commands_processed,
        )?;
        {
            let mut family = e.encode_descriptor(
                "redoubt_errors",
                "Error replies by error prefix (INFO errorstats).",
                None,
                MetricType::Counter,
            )?;
            for (error, count) in &snap.errors {
                ConstCounter::new(*count)
                    .encode(family.encode_family(&[("error", error.as_str())])?)?;
            }
        }

        // Keyspace (INFO keyspace, stats).
        let keyspace: [Column<(u64, u64)>; 2] = [
            (
                "redoubt_db_keys",
                "Keys in each database (INFO keyspace keys).",
                |d| d.0,
            ),
            (
                "redoubt_db_keys_expiring",
                "Keys with a time to live in each database (INFO keyspace expires).",
                |d| d.1,
            ),
        ];
        for (name, help, value) in keyspace {
            let mut family = e.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (index, db) in snap.dbs.iter().enumerate() {
                let labels = [("db", format!("db{index}"))];
                ConstGauge::new(value(db) as i64).encode(family.encode_family(&labels)?)?;
            }
        }
        counter(
            e,
            "redoubt_expired_keys",
            "Keys removed because their time to live ran out (INFO expired_keys).",
            snap.expired_keys,
        )?;
        counter(
            e,
            "redoubt_evicted_keys",
            "Keys evicted to stay under maxmemory (INFO evicted_keys).",
            snap.evicted_keys,
        )?;
        counter(
            e,
            "redoubt_keyspace_hits",
            "Key lookups that found the key (INFO keyspace_hits).",
            snap.keyspace_hits,
        )?;
        counter(
            e,
            "redoubt_keyspace_misses",
            "Key lookups that found nothing (INFO keyspace_misses).",
            snap.keyspace_misses,
        )?;

        // Memory (INFO memory): process-wide figures, as the allocator counts them and as
        // the kernel reports the resident set.
        gauge(
            e,
            "redoubt_memory_used",
            "Bytes allocated by the node process (INFO used_memory).",
            Some(&Unit::Bytes),
            crate::memory::used_memory() as i64,
        )?;
        gauge(
            e,
            "redoubt_memory_rss",
            "Resident set size of the node process in bytes (INFO used_memory_rss).",
            Some(&Unit::Bytes),
            crate::memory::process_rss() as i64,
        )?;
        gauge(
            e,
            "redoubt_memory_max",
            "The maxmemory setting in bytes, 0 for no limit (INFO maxmemory).",
            Some(&Unit::Bytes),
            snap.maxmemory as i64,
        )?;

        // Clients (INFO clients, stats).
        gauge(
            e,
            "redoubt_connected_clients",
            "Client connections open now (INFO connected_clients).",
            None,
            node.clients.len() as i64,
        )?;
        gauge(
            e,
            "redoubt_blocked_clients",
            "Clients blocked on a key (INFO blocked_clients).",
            None,
            snap.blocked_clients as i64,
        )?;
        counter(
            e,
            "redoubt_connections_received",
            "Client connections accepted (INFO total_connections_received).",
            node.net.connections_received.load(Ordering::Relaxed),
        )?;
        byte_counter(
            e,
            "redoubt_net_input",
            "Bytes read from clients (INFO total_net_input_bytes).",
            node.net.input_bytes.load(Ordering::Relaxed),
        )?;
        byte_counter(
            e,
            "redoubt_net_output",
            "Bytes written to clients (INFO total_net_output_bytes).",
            node.net.output_bytes.load(Ordering::Relaxed),
        )?;
        gauge(
            e,
            "redoubt_uptime",
            "Seconds since the node started (INFO uptime_in_seconds).",
            Some(&Unit::Seconds),
            node.started.elapsed().as_secs() as i64,
        )?;

        // Replication (INFO replication, stats).
        {
            let mut family = e.encode_descriptor(
                "redoubt_replication_role",
                "1 for the role the node has now, 0 for the other (INFO role: master is primary, slave is standby).",
                None,
                MetricType::Gauge,
            )?;
            for (role, on) in [("primary", !snap.is_standby), ("standby", snap.is_standby)] {
                ConstGauge::new(i64::from(on)).encode(family.encode_family(&[("role", role)])?)?;
            }
        }
        gauge(
            e,
            "redoubt_replication_offset",
            "Replication stream offset (INFO master_repl_offset).",
            Some(&Unit::Bytes),
            snap.offset as i64,
        )?;
        gauge(
            e,
            "redoubt_replication_connected_standbys",
            "Standbys connected to this node (INFO connected_slaves).",
            None,
            snap.standbys.len() as i64,
        )?;
        {
            let mut family = e.encode_descriptor(
                "redoubt_replication_standby_acked_offset",
                "Highest offset each connected standby acknowledged (INFO slaveN offset).",
                Some(&Unit::Bytes),
                MetricType::Gauge,
            )?;
            for (standby, offset) in &snap.standbys {
                ConstGauge::new(*offset as i64)
                    .encode(family.encode_family(&[("standby", standby.as_str())])?)?;
            }
        }
        if let Some(up) = snap.link_up {
            gauge(
                e,
                "redoubt_replication_link_up",
                "On a standby: 1 while the link to its primary streams (INFO master_link_status).",
                None,
                i64::from(up),
            )?;
        }
        counter(
            e,
            "redoubt_replication_full_syncs",
            "Full resynchronisations served to standbys (INFO sync_full).",
            snap.sync_full,
        )?;
        counter(
            e,
            "redoubt_replication_partial_syncs",
            "Partial resynchronisations accepted (INFO sync_partial_ok).",
            snap.sync_partial_ok,
        )?;
        counter(
            e,
            "redoubt_replication_partial_syncs_refused",
            "Partial resynchronisations refused, answered by a full one (INFO sync_partial_err).",
            snap.sync_partial_err,
        )?;
        gauge(
            e,
            "redoubt_epoch",
            "Highest configuration epoch presented to the node (INFO redoubt_epoch).",
            None,
            snap.epoch as i64,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::keyspace::latency_bucket;

    #[test]
    fn buckets_by_upper_bound() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(10), 0);
        assert_eq!(latency_bucket(11), 1);
        assert_eq!(latency_bucket(1_000_000), LATENCY_BOUNDS_US.len() - 1);
        assert_eq!(latency_bucket(1_000_001), LATENCY_BOUNDS_US.len());
    }

    fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' '))
            .map(|value| value.parse().expect("a number"))
    }

    #[test]
    fn exposition_names_labels_and_values() {
        let config = Config {
            dir: std::env::temp_dir(),
            port: 0,
            ..Config::default()
        };
        let node = NodeState::new(config);
        {
            let mut store = node.store.lock();
            let stat = store.command_stats.entry("get".into()).or_default();
            stat.calls = 3;
            stat.usec = 120;
            stat.failed_calls = 1;
            stat.latency_buckets[latency_bucket(10)] += 2;
            stat.latency_buckets[latency_bucket(100)] += 1;
            store.keyspace_hits = 5;
            store.keyspace_misses = 2;
            store.error_stats.insert("WRONGTYPE".into(), 1);
        }
        let text = encode(&registry(Arc::downgrade(&node)));
        assert!(text.ends_with("# EOF\n"), "{text}");
        for (series, value) in [
            ("redoubt_commands_total{command=\"get\"}", 3.0),
            ("redoubt_commands_failed_total{command=\"get\"}", 1.0),
            ("redoubt_commands_rejected_total{command=\"get\"}", 0.0),
            (
                "redoubt_command_duration_seconds_count{command=\"get\"}",
                3.0,
            ),
            (
                "redoubt_command_duration_seconds_sum{command=\"get\"}",
                0.00012,
            ),
            (
                "redoubt_command_duration_seconds_bucket{le=\"0.00001\",command=\"get\"}",
                2.0,
            ),
            (
                "redoubt_command_duration_seconds_bucket{le=\"0.0001\",command=\"get\"}",
                3.0,
            ),
            (
                "redoubt_command_duration_seconds_bucket{le=\"+Inf\",command=\"get\"}",
                3.0,
            ),
            ("redoubt_errors_total{error=\"WRONGTYPE\"}", 1.0),
            ("redoubt_keyspace_hits_total", 5.0),
            ("redoubt_keyspace_misses_total", 2.0),
            ("redoubt_db_keys{db=\"db0\"}", 0.0),
            ("redoubt_db_keys_expiring{db=\"db15\"}", 0.0),
            ("redoubt_replication_role{role=\"primary\"}", 1.0),
            ("redoubt_replication_role{role=\"standby\"}", 0.0),
            ("redoubt_replication_offset_bytes", 0.0),
            ("redoubt_replication_connected_standbys", 0.0),
            ("redoubt_replication_full_syncs_total", 0.0),
            ("redoubt_replication_partial_syncs_total", 0.0),
            ("redoubt_expired_keys_total", 0.0),
            ("redoubt_evicted_keys_total", 0.0),
            ("redoubt_connected_clients", 0.0),
            ("redoubt_epoch", 0.0),
        ] {
            assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
        }
        assert!(
            sample(&text, "redoubt_memory_used_bytes").is_some(),
            "{text}"
        );
        for family in [
            "# TYPE redoubt_commands counter",
            "# TYPE redoubt_command_duration_seconds histogram",
            "# UNIT redoubt_command_duration_seconds seconds",
            "# TYPE redoubt_memory_used_bytes gauge",
            "# HELP redoubt_keyspace_hits Key lookups that found the key (INFO keyspace_hits).",
        ] {
            assert!(text.contains(family), "{family} in\n{text}");
        }
    }

    #[test]
    fn every_node_keeps_its_own_figures() {
        let config = || Config {
            dir: std::env::temp_dir(),
            port: 0,
            ..Config::default()
        };
        let (a, b) = (NodeState::new(config()), NodeState::new(config()));
        a.store.lock().keyspace_hits = 7;
        assert_eq!(
            sample(
                &encode(&registry(Arc::downgrade(&a))),
                "redoubt_keyspace_hits_total"
            ),
            Some(7.0)
        );
        assert_eq!(
            sample(
                &encode(&registry(Arc::downgrade(&b))),
                "redoubt_keyspace_hits_total"
            ),
            Some(0.0)
        );
    }
}
