//! The exposition's names, labels and figures, read back from the encoded text.

use std::time::{Duration, Instant};

use super::state::OffsetHistory;
use super::*;
use crate::backend::BackendError;
use crate::state::Shared;
use crate::ProxyConfig;

fn shared() -> Shared {
    let config = ProxyConfig::parse(
        "listen = \"127.0.0.1:0\"\n\
         [[groups]]\nid = \"g0\"\nprimary = \"127.0.0.1:7001\"\nstandbys = [\"127.0.0.1:7002\"]\n\
         [[groups]]\nid = \"g1\"\nprimary = \"127.0.0.1:7003\"\nstandbys = []\n",
    )
    .expect("valid configuration");
    Shared::new(config)
}

/// A request's command, resolved as a session does.
fn command(name: &[u8]) -> Option<Resolved> {
    redoubt_protocol::command_table::resolve(&[bytes::Bytes::copy_from_slice(name)])
}

/// The value of the sample `series` (name and labels exactly as encoded).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
}

#[test]
fn requests_by_command_group_and_outcome() {
    let shared = shared();
    let metrics = &shared.metrics;
    let get = command(b"GET");
    let set = command(b"set");
    let bogus = command(b"nosuchcommand");
    let ms = Duration::from_millis(1);
    metrics.record_request(get.as_ref(), Target::Group(0), false, ms);
    metrics.record_request(get.as_ref(), Target::Group(0), false, ms);
    metrics.record_request(get.as_ref(), Target::Group(1), true, ms);
    metrics.record_request(
        set.as_ref(),
        Target::Multi,
        false,
        Duration::from_micros(70),
    );
    metrics.record_request(bogus.as_ref(), Target::Proxy, true, ms);
    let text = metrics.encode();
    for (series, value) in [
        (
            "redoubt_proxy_requests_total{command=\"get\",group=\"g0\",outcome=\"ok\"}",
            2.0,
        ),
        (
            "redoubt_proxy_requests_total{command=\"get\",group=\"g1\",outcome=\"error\"}",
            1.0,
        ),
        (
            "redoubt_proxy_requests_total{command=\"set\",group=\"multi\",outcome=\"ok\"}",
            1.0,
        ),
        (
            "redoubt_proxy_requests_total{command=\"unknown\",group=\"proxy\",outcome=\"error\"}",
            1.0,
        ),
        (
            "redoubt_proxy_request_duration_seconds_count{command=\"get\"}",
            3.0,
        ),
        (
            "redoubt_proxy_request_duration_seconds_bucket{le=\"0.0001\",command=\"set\"}",
            1.0,
        ),
        (
            "redoubt_proxy_request_duration_seconds_bucket{le=\"0.0005\",command=\"get\"}",
            0.0,
        ),
        (
            "redoubt_proxy_request_duration_seconds_bucket{le=\"+Inf\",command=\"get\"}",
            3.0,
        ),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
    }
    let sum = sample(
        &text,
        "redoubt_proxy_request_duration_seconds_sum{command=\"get\"}",
    )
    .expect("a sum");
    assert!((sum - 0.003).abs() < 1e-9, "{sum}");
    assert!(text.contains("# TYPE redoubt_proxy_request_duration_seconds histogram"));
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn state_read_at_scrape_time() {
    let shared = shared();
    shared
        .stats
        .connected_clients
        .store(3, std::sync::atomic::Ordering::Relaxed);
    let node: std::net::SocketAddr = "127.0.0.1:7002".parse().unwrap();
    let traffic = &shared.health[&node].traffic;
    traffic.record(&Ok(bytes::Bytes::from_static(b"+OK\r\n")));
    traffic.record(&Err(BackendError::Timeout(node)));
    traffic.record(&Err(BackendError::ConnectionLost(node)));
    shared.metrics.failovers.planned("g1");
    let text = shared.metrics.encode();
    let g0 = "group=\"g0\",node=\"127.0.0.1:7002\"";
    for (series, value) in [
        ("redoubt_proxy_connected_clients".to_string(), 3.0),
        ("redoubt_proxy_client_connections_total".to_string(), 0.0),
        (format!("redoubt_proxy_backend_requests_total{{{g0}}}"), 3.0),
        (format!("redoubt_proxy_backend_errors_total{{{g0}}}"), 1.0),
        (format!("redoubt_proxy_backend_timeouts_total{{{g0}}}"), 1.0),
        (format!("redoubt_proxy_node_up{{{g0}}}"), 1.0),
        (
            format!("redoubt_proxy_node_role{{{g0},role=\"unknown\"}}"),
            1.0,
        ),
        (
            format!("redoubt_proxy_node_role{{{g0},role=\"primary\"}}"),
            0.0,
        ),
        (format!("redoubt_proxy_node_topology_primary{{{g0}}}"), 0.0),
        (
            "redoubt_proxy_node_topology_primary{group=\"g0\",node=\"127.0.0.1:7001\"}".into(),
            1.0,
        ),
        (format!("redoubt_proxy_node_latency_seconds{{{g0}}}"), 0.0),
        ("redoubt_proxy_group_epoch{group=\"g1\"}".into(), 0.0),
        (
            "redoubt_proxy_failovers_total{group=\"g1\",reason=\"planned\"}".into(),
            1.0,
        ),
        (
            "redoubt_proxy_failovers_total{group=\"g0\",reason=\"automatic\"}".into(),
            0.0,
        ),
    ] {
        assert_eq!(sample(&text, &series), Some(value), "{series} in\n{text}");
    }
    let g0_slots = sample(&text, "redoubt_proxy_group_slots{group=\"g0\"}").unwrap();
    let g1_slots = sample(&text, "redoubt_proxy_group_slots{group=\"g1\"}").unwrap();
    assert_eq!(g0_slots + g1_slots, 16384.0);
    for family in [
        "# TYPE redoubt_proxy_replication_lag_bytes gauge",
        "# TYPE redoubt_proxy_replication_lag_seconds gauge",
        "# TYPE redoubt_proxy_node_replication_offset_bytes gauge",
        "# HELP redoubt_proxy_node_up ",
    ] {
        assert!(text.contains(family), "{family} in\n{text}");
    }
}

#[test]
fn proxies_keep_their_own_figures() {
    let (a, b) = (shared(), shared());
    let get = command(b"get");
    a.metrics
        .record_request(get.as_ref(), Target::Group(0), false, Duration::ZERO);
    let series = "redoubt_proxy_requests_total{command=\"get\",group=\"g0\",outcome=\"ok\"}";
    assert_eq!(sample(&a.metrics.encode(), series), Some(1.0));
    assert_eq!(sample(&b.metrics.encode(), series), None);
}

#[test]
fn lag_seconds_is_the_age_of_the_oldest_missing_byte() {
    let history = OffsetHistory::default();
    let primary = "127.0.0.1:7001".parse().unwrap();
    let start = Instant::now();
    let at = |ms| start + Duration::from_millis(ms);
    history.record("g0", primary, 100, at(0));
    history.record("g0", primary, 100, at(100));
    history.record("g0", primary, 250, at(200));
    history.record("g0", primary, 400, at(300));
    let lag = |offset| history.lag_seconds("g0", offset, at(1000));
    assert_eq!(lag(400), 0.0);
    assert!((lag(300) - 0.7).abs() < 1e-9);
    assert!((lag(100) - 0.8).abs() < 1e-9);
    assert!((lag(50) - 1.0).abs() < 1e-9);
    assert_eq!(history.lag_seconds("g9", 0, at(1000)), 0.0);
    // A new primary starts a new history.
    history.record("g0", "127.0.0.1:7002".parse().unwrap(), 500, at(900));
    assert!((lag(400) - 0.1).abs() < 1e-9);
}
