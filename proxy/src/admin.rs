//! The admin HTTP endpoint: `GET /healthz`, `GET /topology` (JSON: each group's id, epoch,
//! primary, and members with address, role, health, replication offset and lag), and
//! `POST /failover/{group}` (a planned switchover; JSON report with the write pause in ms),
//! and `GET /metrics` (Prometheus, OpenMetrics text; see [`crate::metrics`]).

use std::sync::atomic::Ordering;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::backend::info::Role;
use crate::state::Shared;

/// One member in `/topology`.
#[derive(Debug, Serialize)]
pub(crate) struct MemberView {
    /// Its address.
    pub(crate) address: String,
    /// `primary` or `standby` in the committed topology.
    pub(crate) role: &'static str,
    /// What the node itself reports: `primary`, `standby` or `unknown`.
    pub(crate) reported_role: &'static str,
    /// `up` or `down` by the health probes.
    pub(crate) health: &'static str,
    /// Replication offset the node reports.
    pub(crate) offset: Option<u64>,
    /// Bytes behind the primary (standbys).
    pub(crate) lag_bytes: Option<u64>,
    /// Average probe/request round trip in µs.
    pub(crate) latency_us: u64,
}

/// One group in `/topology`.
#[derive(Debug, Serialize)]
pub(crate) struct GroupView {
    /// Group id.
    pub(crate) id: String,
    /// Configuration epoch.
    pub(crate) epoch: u64,
    /// The primary's address.
    pub(crate) primary: String,
    /// Slots the group owns.
    pub(crate) slots: usize,
    /// Every member.
    pub(crate) members: Vec<MemberView>,
}

/// The whole `/topology` document.
#[derive(Debug, Serialize)]
pub(crate) struct TopologyView {
    /// The groups.
    pub(crate) groups: Vec<GroupView>,
}

/// Builds the `/topology` document from the committed topology and the probes' findings.
pub(crate) fn topology_view(shared: &Shared) -> TopologyView {
    let topology = shared.topology.get();
    let shares = shared.slots.shares(topology.groups.len());
    let groups = topology
        .groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            let primary_offset = shared.health.get(&group.primary).and_then(|h| h.offset());
            let members = std::iter::once(group.primary)
                .chain(group.standbys.iter().copied())
                .map(|addr| {
                    let health = shared.health.get(&addr);
                    let offset = health.and_then(|h| h.offset());
                    let is_primary = addr == group.primary;
                    let reported = health.map_or(Role::Unknown, |h| h.role());
                    MemberView {
                        address: addr.to_string(),
                        role: if is_primary { "primary" } else { "standby" },
                        reported_role: match reported {
                            Role::Primary => "primary",
                            Role::Standby => "standby",
                            Role::Unknown => "unknown",
                        },
                        health: if health.is_some_and(|h| h.is_healthy()) {
                            "up"
                        } else {
                            "down"
                        },
                        offset,
                        lag_bytes: match (is_primary, primary_offset, offset) {
                            (false, Some(p), Some(o)) if reported == Role::Standby => {
                                Some(p.saturating_sub(o))
                            }
                            _ => None,
                        },
                        latency_us: health.map_or(0, |h| h.latency_us()),
                    }
                })
                .collect();
            GroupView {
                id: group.id.clone(),
                epoch: group.epoch,
                primary: group.primary.to_string(),
                slots: shares[index],
                members,
            }
        })
        .collect();
    TopologyView { groups }
}

/// Serves the admin endpoint on `listener` for as long as the process runs.
pub(crate) async fn serve(listener: TcpListener, shared: Shared) {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/topology", get(topology))
        .route("/failover/:group", post(failover))
        .route("/metrics", get(metrics))
        .with_state(shared);
    if let Err(err) = axum::serve(listener, app).await {
        tracing::warn!(%err, "admin endpoint stopped");
    }
}

async fn healthz(State(shared): State<Shared>) -> Response {
    let clients = shared.stats.connected_clients.load(Ordering::Relaxed);
    Json(serde_json::json!({ "status": "ok", "connected_clients": clients })).into_response()
}

async fn metrics(State(shared): State<Shared>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE_OPENMETRICS,
        )],
        shared.metrics.encode(),
    )
        .into_response()
}

async fn topology(State(shared): State<Shared>) -> Json<TopologyView> {
    Json(topology_view(&shared))
}

async fn failover(State(shared): State<Shared>, Path(group): Path<String>) -> Response {
    let Some(index) = shared.config.groups.iter().position(|g| g.id == group) else {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": format!("no group '{group}'") })),
        )
            .into_response();
    };
    let Some(controller) = shared.controller.get() else {
        return (
            StatusCode::CONFLICT,
            Json(serde_json::json!({ "error": "failover is disabled" })),
        )
            .into_response();
    };
    match controller.switchover(index).await {
        Ok(report) => Json(report).into_response(),
        Err(error) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({ "error": error })),
        )
            .into_response(),
    }
}
