//! Health probes: each node is asked `INFO replication` every probe interval over one kept
//! [`NodeClient`], with a deadline; the outcome goes to the node's [`Health`] (read routing)
//! and, when failover is on, to the failover controller.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::health::Health;
use super::info::{parse_replication_fields, ReplicationInfo};
use super::liveness::Liveness;
use super::node_client::{ConnectOptions, NodeClient, NodeError};

/// Receives every probe's outcome (the failover controller).
pub(crate) type ProbeSink =
    tokio::sync::mpsc::UnboundedSender<(SocketAddr, Option<ReplicationInfo>, Instant)>;

/// Probes `addr` every `interval` for as long as the process runs, keeping `health` current
/// (the node is down by the [`Liveness`] rule with `down_after`) and reporting each outcome to
/// `sink`. Each probe has a deadline of two intervals.
pub(crate) async fn probe_loop(
    addr: SocketAddr,
    password: Option<String>,
    interval: Duration,
    down_after: Duration,
    health: Arc<Health>,
    sink: Option<ProbeSink>,
) {
    let mut conn: Option<NodeClient> = None;
    let mut liveness = Liveness::new(true);
    let since = Instant::now();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let deadline = interval.max(Duration::from_millis(50)) * 2;
        let probe = match probe(addr, password.as_deref(), deadline, &mut conn).await {
            Ok(probe) => Some(probe),
            Err(_) => {
                conn = None;
                None
            }
        };
        let now = Instant::now();
        liveness.record(probe.is_some(), now);
        liveness.expire(now, since, down_after);
        health.record_probe(
            liveness.is_up(),
            probe.as_ref().map(|(rtt, info)| (*rtt, info)),
        );
        if let Some(sink) = &sink {
            let _ = sink.send((addr, probe.map(|(_, info)| info), Instant::now()));
        }
    }
}

/// One probe on the kept connection (connecting first when there is none), within `deadline`
/// for connecting and again for the exchange: the round trip and what the node reported.
async fn probe(
    addr: SocketAddr,
    password: Option<&str>,
    deadline: Duration,
    conn: &mut Option<NodeClient>,
) -> Result<(Duration, ReplicationInfo), NodeError> {
    if conn.is_none() {
        let options = ConnectOptions::plain(addr, password.map(str::to_string), deadline);
        *conn = Some(NodeClient::connect(&options).await?);
    }
    let client = conn.as_mut().expect("connected above");
    let started = Instant::now();
    let replies = client
        .request(&[&[b"INFO", b"replication"]], deadline)
        .await?;
    let rtt = started.elapsed();
    let text = String::from_utf8_lossy(&replies[0]);
    Ok((rtt, parse_replication_fields(&text)))
}
