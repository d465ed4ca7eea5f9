//! What the proxy knows of a node's health: reachability, role and replication offset from
//! its probes ([`super::probe`]), latency, and the traffic every worker sent it. Read routing,
//! the admin endpoint and the metrics read it.
//!
//! Latency is an exponentially weighted moving average over probe round trips and request
//! round trips, so `least-latency` reacts to what clients see as well as to idle probes.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use super::connection::{BackendError, BackendReply};
use super::info::{ReplicationInfo, Role};
use crate::metrics::striped::Striped;

/// Weight of a new sample in the latency average (1/8, as TCP's SRTT).
const EWMA_SHIFT: u32 = 3;

/// What the last probes saw of one node; updated by the probe task, read by routing.
#[derive(Debug)]
pub(crate) struct Health {
    healthy: AtomicBool,
    latency_us: AtomicU64,
    role: AtomicI64,
    /// `master_repl_offset` (primary) or `slave_repl_offset` (standby); -1 when unknown.
    offset: AtomicI64,
    /// Requests every worker sent the node, for the metrics.
    pub(crate) traffic: BackendTraffic,
    /// Requests sent to the node by any worker and not yet answered or given up on.
    pub(crate) in_flight: Striped,
    /// Bumped each time a committed topology takes the primary role away from the node;
    /// its connections watch it (see [`Health::replaced`]).
    replaced: tokio::sync::watch::Sender<u64>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            healthy: AtomicBool::new(true),
            latency_us: AtomicU64::new(0),
            role: AtomicI64::new(0),
            offset: AtomicI64::new(-1),
            traffic: Default::default(),
            in_flight: Striped::default(),
            replaced: tokio::sync::watch::channel(0).0,
        }
    }
}

/// Requests, errors and timeouts one node was sent, counted by every worker.
#[derive(Debug, Default)]
pub(crate) struct BackendTraffic {
    /// Requests that completed (with a reply or an error).
    pub(crate) requests: Striped,
    /// Requests that failed other than by timeout: node unavailable, connection lost,
    /// malformed reply.
    pub(crate) errors: AtomicU64,
    /// Requests with no reply within the request timeout.
    pub(crate) timeouts: AtomicU64,
}

impl BackendTraffic {
    /// Counts one completed request.
    pub(crate) fn record(&self, reply: &BackendReply) {
        self.requests.add(1);
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

impl Health {
    /// True while the node is up by the [`Liveness`](super::liveness::Liveness) rule its probe
    /// applies.
    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Average round trip in microseconds (0 before the first sample).
    pub(crate) fn latency_us(&self) -> u64 {
        self.latency_us.load(Ordering::Relaxed)
    }

    /// Role reported by the last good probe.
    pub(crate) fn role(&self) -> Role {
        match self.role.load(Ordering::Relaxed) {
            1 => Role::Primary,
            2 => Role::Standby,
            _ => Role::Unknown,
        }
    }

    /// Replication offset reported by the last good probe, if any.
    pub(crate) fn offset(&self) -> Option<u64> {
        u64::try_from(self.offset.load(Ordering::Relaxed)).ok()
    }

    /// Says that a committed topology no longer has the node as its group's primary (a
    /// failover replaced it): its connections stop waiting on requests it does not answer
    /// (see [`super::connection`]).
    pub(crate) fn replaced(&self) {
        self.replaced.send_modify(|count| *count += 1);
    }

    /// A receiver that changes each time [`Health::replaced`] is called.
    pub(crate) fn watch_replaced(&self) -> tokio::sync::watch::Receiver<u64> {
        self.replaced.subscribe()
    }

    /// Folds one round-trip time into the latency average.
    pub(crate) fn record_latency(&self, rtt: Duration) {
        let sample = rtt.as_micros().min(u128::from(u32::MAX)) as u64;
        let old = self.latency_us.load(Ordering::Relaxed);
        let new = if old == 0 {
            sample
        } else {
            old - (old >> EWMA_SHIFT) + (sample >> EWMA_SHIFT)
        };
        self.latency_us.store(new.max(1), Ordering::Relaxed);
    }

    /// Folds one probe's outcome in: whether the node is `up` now by the liveness rule, and
    /// the probe's round trip and what the node reported (`None` for a failed probe).
    pub(crate) fn record_probe(&self, up: bool, result: Option<(Duration, &ReplicationInfo)>) {
        self.healthy.store(up, Ordering::Relaxed);
        if let Some((rtt, info)) = result {
            self.record_latency(rtt);
            self.role.store(
                match info.role {
                    Role::Primary => 1,
                    Role::Standby => 2,
                    Role::Unknown => 0,
                },
                Ordering::Relaxed,
            );
            self.offset
                .store(info.offset.map_or(-1, |o| o as i64), Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
