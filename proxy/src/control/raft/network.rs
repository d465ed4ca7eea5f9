//! Raft RPCs between proxies: each call is a `POST` of the request as JSON to the target's
//! admin endpoint (`/raft/append`, `/raft/vote`, `/raft/snapshot`), carrying the cluster
//! password in `x-redoubt-auth` when one is set, with the deadline openraft gives. The reply is
//! the target's `Result` as JSON.

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Member, ProxyId, TypeConfig};

/// Header carrying the cluster password on Raft and report calls.
pub(crate) const AUTH_HEADER: &str = "x-redoubt-auth";

/// Makes one [`Peer`] per target.
#[derive(Clone, Debug)]
pub(crate) struct Network {
    client: reqwest::Client,
    password: Option<String>,
}

impl Network {
    /// A network authenticating with `password`.
    pub(crate) fn new(password: Option<String>) -> Network {
        Network {
            client: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            password,
        }
    }

    /// POSTs `body` as JSON to `http://{addr}{path}` within `timeout` and decodes the reply.
    ///
    /// # Errors
    /// A sentence: the target unreachable, a non-success status, or a reply that does not parse.
    pub(crate) async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        addr: &str,
        path: &str,
        body: &B,
        timeout: std::time::Duration,
    ) -> Result<R, PostError> {
        let mut request = self
            .client
            .post(format!("http://{addr}{path}"))
            .timeout(timeout)
            .json(body);
        if let Some(password) = &self.password {
            request = request.header(AUTH_HEADER, password);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_connect() {
                PostError::Unreachable(e.to_string())
            } else {
                PostError::Refused(e.to_string())
            }
        })?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            return Err(PostError::Refused(format!("{status}: {text}")));
        }
        response
            .json()
            .await
            .map_err(|e| PostError::Refused(e.to_string()))
    }
}

/// Why a call to another proxy failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PostError {
    /// No connection (refused, no route): openraft backs off before calling it again.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// Connected, but no good answer in time (a timeout, an error status, garbage): a busy
    /// peer, called again at the next heartbeat.
    #[error("failed: {0}")]
    Refused(String),
}

/// Raft calls to one other proxy.
#[derive(Debug)]
pub(crate) struct Peer {
    network: Network,
    target: ProxyId,
    addr: String,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: ProxyId, node: &Member) -> Peer {
        Peer {
            network: self.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

impl Peer {
    async fn call<B, R, E>(
        &self,
        path: &str,
        body: &B,
        option: &RPCOption,
    ) -> Result<R, RPCError<ProxyId, Member, RaftError<ProxyId, E>>>
    where
        B: Serialize,
        R: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let reply: Result<R, RaftError<ProxyId, E>> = self
            .network
            .post(&self.addr, path, body, option.hard_ttl())
            .await
            .map_err(|e| match e {
                PostError::Unreachable(_) => RPCError::Unreachable(Unreachable::new(&e)),
                PostError::Refused(_) => RPCError::Network(NetworkError::new(&e)),
            })?;
        reply.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<ProxyId>, RPCError<ProxyId, Member, RaftError<ProxyId>>> {
        self.call("/raft/append", &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<ProxyId>,
        RPCError<ProxyId, Member, RaftError<ProxyId, InstallSnapshotError>>,
    > {
        self.call("/raft/snapshot", &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<ProxyId>,
        option: RPCOption,
    ) -> Result<VoteResponse<ProxyId>, RPCError<ProxyId, Member, RaftError<ProxyId>>> {
        self.call("/raft/vote", &rpc, &option).await
    }
}
