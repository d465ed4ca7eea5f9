//! The admin HTTP endpoint: `GET /healthz`, `GET /topology` (JSON: each group's id, epoch,
//! primary, and members with address, role, health, replication offset and lag), and
//! `POST /failover/{group}` (a planned switchover; JSON report with the write pause in ms),
//! and `GET /metrics` (Prometheus, OpenMetrics text; see [`crate::metrics`]).
//!
//! With several proxies: `GET /raft` (this proxy's view of the Raft group, also under `raft` in
//! `/topology` and `/healthz`), and the calls between proxies, each refused without the cluster
//! password in `x-redoubt-auth` when one is set: `POST /raft/append`, `/raft/vote`,
//! `/raft/snapshot` (Raft RPCs, JSON) and `/raft/report` (a proxy's probe view; refused with
//! 403 from a proxy that is not a member, so a removed proxy loses its write lease).
//! `POST /proxies/add` (JSON `{"id": 4, "admin": "host:port"}`) and `POST /proxies/remove`
//! (`{"id": 2}`) change the membership online and answer the new `/raft` view. A planned
//! switchover or a membership change asked of a follower is forwarded to the leader.

use std::sync::atomic::Ordering;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;

use std::sync::Arc;

use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};

use crate::backend::info::Role;
use crate::control::raft::membership::{AddProxy, RemoveProxy};
use crate::control::raft::network::AUTH_HEADER;
use crate::control::raft::plane::{RaftControlPlane, ReportBody, ReportReply};
use crate::control::raft::TypeConfig;
use crate::control::Report;
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
    /// The Raft group, when several proxies share the control plane.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) raft: Option<crate::control::RaftStatus>,
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
    TopologyView {
        groups,
        raft: shared.control.status(),
    }
}

/// Serves the admin endpoint on `listener` for as long as the process runs.
pub(crate) async fn serve(listener: TcpListener, shared: Shared) {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/topology", get(topology))
        .route("/failover/:group", post(failover))
        .route("/metrics", get(metrics))
        .route("/raft", get(raft_status))
        .route("/raft/append", post(raft_append))
        .route("/raft/vote", post(raft_vote))
        .route("/raft/snapshot", post(raft_snapshot))
        .route("/raft/report", post(raft_report))
        .route("/proxies/add", post(add_proxy))
        .route("/proxies/remove", post(remove_proxy))
        .with_state(shared);
    if let Err(err) = axum::serve(listener, app).await {
        tracing::warn!(%err, "admin endpoint stopped");
    }
}

async fn healthz(State(shared): State<Shared>) -> Response {
    let clients = shared.stats.connected_clients.load(Ordering::Relaxed);
    let raft = shared.control.status();
    Json(serde_json::json!({ "status": "ok", "connected_clients": clients, "raft": raft }))
        .into_response()
}

async fn raft_status(State(shared): State<Shared>) -> Response {
    match shared.control.status() {
        Some(status) => Json(status).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "this proxy runs alone (no proxies configured)",
        ),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// The Raft member, if the caller presents the cluster password (when one is set).
fn member(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<Arc<RaftControlPlane>, (StatusCode, &'static str)> {
    let Some(raft) = shared.raft.clone() else {
        return Err((StatusCode::NOT_FOUND, "this proxy runs alone"));
    };
    if let Some(password) = raft.password() {
        let given = headers.get(AUTH_HEADER).map(|v| v.as_bytes());
        if given != Some(password.as_bytes()) {
            return Err((
                StatusCode::UNAUTHORIZED,
                "wrong or missing cluster password",
            ));
        }
    }
    Ok(raft)
}

async fn raft_append(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(request): Json<AppendEntriesRequest<TypeConfig>>,
) -> Response {
    let raft = match member(&shared, &headers) {
        Ok(raft) => raft,
        Err((status, why)) => return error(status, why),
    };
    // No contact is counted here for the write lease: the commit index a leader sends a
    // follower that was cut off can be older than what it committed meanwhile, so only the
    // reports (which carry what each side applied) count.
    Json(raft.raft().append_entries(request).await).into_response()
}

async fn raft_vote(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(request): Json<VoteRequest<u64>>,
) -> Response {
    match member(&shared, &headers) {
        Ok(raft) => Json(raft.raft().vote(request).await).into_response(),
        Err((status, why)) => error(status, why),
    }
}

async fn raft_snapshot(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(request): Json<InstallSnapshotRequest<TypeConfig>>,
) -> Response {
    match member(&shared, &headers) {
        Ok(raft) => Json(raft.raft().install_snapshot(request).await).into_response(),
        Err((status, why)) => error(status, why),
    }
}

async fn raft_report(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(report): Json<ReportBody>,
) -> Response {
    let raft = match member(&shared, &headers) {
        Ok(raft) => raft,
        Err((status, why)) => return error(status, why),
    };
    if !raft.is_member(report.from) {
        return error(
            StatusCode::FORBIDDEN,
            &format!("proxy {} is not a member", report.from),
        );
    }
    if let (true, Some(controller)) = (raft.is_voter(report.from), shared.controller.get()) {
        controller.report(Report {
            from: report.from,
            down: report.down,
        });
    }
    Json(ReportReply {
        epochs: raft.epochs(),
    })
    .into_response()
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
    if !shared.control.is_leader() {
        return forward_failover(&shared, &group).await;
    }
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

/// Forwards a planned switchover to the Raft leader, which alone decides.
async fn forward_failover(shared: &Shared, group: &str) -> Response {
    let path = format!("/failover/{group}");
    forward(shared, &path, &(), std::time::Duration::from_secs(10)).await
}

/// How long a forwarded membership change may take (the new proxy catching up included).
const MEMBERSHIP_LIMIT: std::time::Duration = std::time::Duration::from_secs(15);

async fn add_proxy(State(shared): State<Shared>, Json(body): Json<AddProxy>) -> Response {
    let Some(raft) = shared.raft.clone() else {
        return error(StatusCode::NOT_FOUND, "this proxy runs alone");
    };
    if !shared.control.is_leader() {
        return forward(&shared, "/proxies/add", &body, MEMBERSHIP_LIMIT).await;
    }
    match raft.add_proxy(body.id, body.admin).await {
        Ok(()) => Json(shared.control.status()).into_response(),
        Err(why) => error(StatusCode::CONFLICT, &why),
    }
}

async fn remove_proxy(State(shared): State<Shared>, Json(body): Json<RemoveProxy>) -> Response {
    let Some(raft) = shared.raft.clone() else {
        return error(StatusCode::NOT_FOUND, "this proxy runs alone");
    };
    if !shared.control.is_leader() {
        return forward(&shared, "/proxies/remove", &body, MEMBERSHIP_LIMIT).await;
    }
    match raft.remove_proxy(body.id).await {
        Ok(()) => Json(shared.control.status()).into_response(),
        Err(why) => error(StatusCode::CONFLICT, &why),
    }
}

/// Forwards an admin request to the Raft leader and passes its answer back.
async fn forward<B: Serialize>(
    shared: &Shared,
    path: &str,
    body: &B,
    timeout: std::time::Duration,
) -> Response {
    let (Some(raft), Some(leader)) = (shared.raft.as_ref(), shared.control.leader_admin()) else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no control plane leader is known",
        );
    };
    match raft
        .network()
        .post::<_, serde_json::Value>(&leader, path, body, timeout)
        .await
    {
        Ok(answer) => Json(answer).into_response(),
        Err(err) => error(StatusCode::CONFLICT, &format!("leader {leader}: {err}")),
    }
}
