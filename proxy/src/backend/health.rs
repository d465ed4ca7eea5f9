//! Health probes: each node is asked `INFO replication` every probe interval, with a deadline;
//! the result (reachability, latency, role, replication offset) is kept for read routing.
//!
//! Latency is an exponentially weighted moving average over probe round trips and request
//! round trips, so `least-latency` reacts to what clients see as well as to idle probes.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use redoubt_protocol::request::encode_request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::connection::{BackendError, BackendReply, ReplyDecoder};

/// Weight of a new sample in the latency average (1/8, as TCP's SRTT).
const EWMA_SHIFT: u32 = 3;

/// The role a node reports in `INFO replication`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Not probed successfully yet.
    Unknown,
    /// `role:master`.
    Primary,
    /// `role:slave`.
    Standby,
}

/// What the last probes saw of one node; updated by the probe task, read by routing.
#[derive(Debug)]
pub struct Health {
    healthy: AtomicBool,
    latency_us: AtomicU64,
    role: AtomicI64,
    /// `master_repl_offset` (primary) or `slave_repl_offset` (standby); -1 when unknown.
    offset: AtomicI64,
    /// Consecutive failed probes.
    failures: AtomicU64,
    /// Requests every worker sent the node, for the metrics.
    pub traffic: BackendTraffic,
    /// Requests sent to the node by any worker and not yet answered or given up on.
    pub in_flight: AtomicU64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            healthy: AtomicBool::new(true),
            latency_us: AtomicU64::new(0),
            role: AtomicI64::new(0),
            offset: AtomicI64::new(-1),
            failures: AtomicU64::new(0),
            traffic: Default::default(),
            in_flight: AtomicU64::new(0),
        }
    }
}

/// Requests, errors and timeouts one node was sent, counted by every worker.
#[derive(Debug, Default)]
pub struct BackendTraffic {
    /// Requests that completed (with a reply or an error).
    pub requests: AtomicU64,
    /// Requests that failed other than by timeout: node unavailable, connection lost,
    /// malformed reply.
    pub errors: AtomicU64,
    /// Requests with no reply within the request timeout.
    pub timeouts: AtomicU64,
}

impl BackendTraffic {
    /// Counts one completed request.
    pub fn record(&self, reply: &BackendReply) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match reply {
            Ok(_) => {}
            Err(BackendError::Timeout(_)) => {
                self.timeouts.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Consecutive failed probes after which a node is taken out of read rotation.
pub const FAILURES_TO_DOWN: u64 = 3;

impl Health {
    /// True unless the last [`FAILURES_TO_DOWN`] probes failed.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Average round trip in microseconds (0 before the first sample).
    pub fn latency_us(&self) -> u64 {
        self.latency_us.load(Ordering::Relaxed)
    }

    /// Role reported by the last good probe.
    pub fn role(&self) -> Role {
        match self.role.load(Ordering::Relaxed) {
            1 => Role::Primary,
            2 => Role::Standby,
            _ => Role::Unknown,
        }
    }

    /// Replication offset reported by the last good probe, if any.
    pub fn offset(&self) -> Option<u64> {
        u64::try_from(self.offset.load(Ordering::Relaxed)).ok()
    }

    /// Folds one round-trip time into the latency average.
    pub fn record_latency(&self, rtt: Duration) {
        let sample = rtt.as_micros().min(u128::from(u32::MAX)) as u64;
        let old = self.latency_us.load(Ordering::Relaxed);
        let new = if old == 0 {
            sample
        } else {
            old - (old >> EWMA_SHIFT) + (sample >> EWMA_SHIFT)
        };
        self.latency_us.store(new.max(1), Ordering::Relaxed);
    }

    fn record_probe(&self, result: Option<ProbeResult>) {
        match result {
            Some(probe) => {
                self.failures.store(0, Ordering::Relaxed);
                self.healthy.store(true, Ordering::Relaxed);
                self.record_latency(probe.rtt);
                self.role.store(
                    match probe.role {
                        Role::Primary => 1,
                        Role::Standby => 2,
                        Role::Unknown => 0,
                    },
                    Ordering::Relaxed,
                );
                self.offset
                    .store(probe.offset.map_or(-1, |o| o as i64), Ordering::Relaxed);
            }
            None => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                if failures >= FAILURES_TO_DOWN {
                    self.healthy.store(false, Ordering::Relaxed);
                }
            }
        }
    }
}

/// One probe's findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeResult {
    /// Round trip of the probe.
    pub rtt: Duration,
    /// Reported role.
    pub role: Role,
    /// Reported replication offset.
    pub offset: Option<u64>,
}

/// Parses the `role`, `master_repl_offset` and `slave_repl_offset` fields of `INFO replication`.
pub fn parse_replication_info(text: &str) -> (Role, Option<u64>) {
    let mut role = Role::Unknown;
    let (mut master_offset, mut slave_offset) = (None, None);
    for line in text.lines() {
        let Some((key, value)) = line.trim_end().split_once(':') else {
            continue;
        };
        match key {
            "role" if value == "master" => role = Role::Primary,
            "role" if value == "slave" => role = Role::Standby,
            "master_repl_offset" => master_offset = value.parse().ok(),
            "slave_repl_offset" => slave_offset = value.parse().ok(),
            _ => {}
        }
    }
    let offset = if role == Role::Standby {
        slave_offset
    } else {
        master_offset
    };
    (role, offset)
}

/// Receives every probe's outcome (the failover controller).
pub type ProbeSink =
    tokio::sync::mpsc::UnboundedSender<(SocketAddr, Option<ReplicationInfo>, Instant)>;

/// Everything the failover core needs from `INFO replication`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationInfo {
    /// `role`.
    pub role: Option<Role>,
    /// `master_repl_offset` or, on a standby, `slave_repl_offset`.
    pub offset: Option<u64>,
    /// `master_link_status:up`.
    pub link_up: bool,
    /// `master_host` and `master_port`.
    pub following: Option<(String, u16)>,
    /// `redoubt_epoch`.
    pub epoch: u64,
}

/// Parses the fields of `INFO replication` the proxy uses.
pub fn parse_replication_fields(text: &str) -> ReplicationInfo {
    let mut info = ReplicationInfo::default();
    let (mut master_offset, mut slave_offset, mut host, mut port) = (None, None, None, None);
    for line in text.lines() {
        let Some((key, value)) = line.trim_end().split_once(':') else {
            continue;
        };
        match key {
            "role" if value == "master" => info.role = Some(Role::Primary),
            "role" if value == "slave" => info.role = Some(Role::Standby),
            "master_repl_offset" => master_offset = value.parse().ok(),
            "slave_repl_offset" => slave_offset = value.parse().ok(),
            "master_link_status" => info.link_up = value == "up",
            "master_host" => host = Some(value.to_string()),
            "master_port" => port = value.parse().ok(),
            "redoubt_epoch" => info.epoch = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    info.offset = if info.role == Some(Role::Standby) {
        slave_offset
    } else {
        master_offset
    };
    if let (Some(host), Some(port)) = (host, port) {
        info.following = Some((host, port));
    }
    info
}

/// Probes `addr` every `interval` for as long as the process runs, keeping `health` current
/// and reporting each outcome to `sink`. Each probe has a deadline of two intervals.
pub async fn probe_loop(
    addr: SocketAddr,
    password: Option<String>,
    interval: Duration,
    health: Arc<Health>,
    sink: Option<ProbeSink>,
) {
    let mut conn: Option<(TcpStream, BytesMut)> = None;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let deadline = interval.max(Duration::from_millis(50)) * 2;
        let result =
            tokio::time::timeout(deadline, probe(addr, password.as_deref(), &mut conn)).await;
        let probe = match result {
            Ok(Ok(probe)) => Some(probe),
            _ => {
                conn = None;
                None
            }
        };
        if let Some(sink) = &sink {
            let info = probe.as_ref().map(|(_, info)| info.clone());
            let _ = sink.send((addr, info, Instant::now()));
        }
        health.record_probe(probe.map(|(result, _)| result));
    }
}

async fn probe(
    addr: SocketAddr,
    password: Option<&str>,
    conn: &mut Option<(TcpStream, BytesMut)>,
) -> std::io::Result<(ProbeResult, ReplicationInfo)> {
    if conn.is_none() {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut buf = BytesMut::with_capacity(4096);
        if let Some(pw) = password {
            stream
                .write_all(&encode_request(&[b"AUTH", pw.as_bytes()]))
                .await?;
            read_reply(&mut stream, &mut buf).await?;
        }
        *conn = Some((stream, buf));
    }
    let (stream, buf) = conn.as_mut().expect("connected above");
    let started = Instant::now();
    stream
        .write_all(&encode_request(&[b"INFO", b"replication"]))
        .await?;
    let reply = read_reply(stream, buf).await?;
    let rtt = started.elapsed();
    let text = String::from_utf8_lossy(&reply);
    if text.starts_with('-') {
        return Err(std::io::Error::other(text.trim().to_string()));
    }
    let (role, offset) = parse_replication_info(&text);
    Ok((
        ProbeResult { rtt, role, offset },
        parse_replication_fields(&text),
    ))
}

async fn read_reply(stream: &mut TcpStream, buf: &mut BytesMut) -> std::io::Result<bytes::Bytes> {
    let mut decoder = ReplyDecoder::default();
    loop {
        match decoder.next(buf) {
            Ok(Some(reply)) => return Ok(reply),
            Ok(None) => {}
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "malformed reply",
                ))
            }
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "node closed the connection",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_info_replication() {
        let primary =
            "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nmaster_repl_offset:1234\r\n";
        assert_eq!(parse_replication_info(primary), (Role::Primary, Some(1234)));
        let standby = "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nslave_repl_offset:1000\r\nmaster_repl_offset:1000\r\n";
        assert_eq!(parse_replication_info(standby), (Role::Standby, Some(1000)));
    }

    #[test]
    fn latency_is_a_moving_average() {
        let health = Health::default();
        health.record_latency(Duration::from_micros(800));
        assert_eq!(health.latency_us(), 800);
        for _ in 0..50 {
            health.record_latency(Duration::from_micros(100));
        }
        assert!(health.latency_us() < 150, "{}", health.latency_us());
    }

    #[test]
    fn down_after_consecutive_failures_up_after_one_success() {
        let health = Health::default();
        for _ in 0..FAILURES_TO_DOWN - 1 {
            health.record_probe(None);
        }
        assert!(health.is_healthy());
        health.record_probe(None);
        assert!(!health.is_healthy());
        health.record_probe(Some(ProbeResult {
            rtt: Duration::from_micros(5),
            role: Role::Primary,
            offset: Some(0),
        }));
        assert!(health.is_healthy());
    }
}
