//! The primary's side of a standby link: answer `PSYNC`, send a snapshot or the backlog tail,
//! then stream every new byte and record the standby's acks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use redoubt_protocol::RequestParser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{info, warn};

use super::{snapshot, ReplicaInfo};
use crate::client::ClientHandle;
use crate::state::{unix_ms, NodeState};

/// Largest piece of stream sent in one write (bytes).
const SEND_CHUNK: usize = 1024 * 1024;

/// Bytes a standby link holds while writing them, counted in the replication's
/// [`super::Replication::sending`] from creation until dropped (written, or the link failed).
struct Sending {
    counter: Arc<AtomicU64>,
    bytes: u64,
}

impl Sending {
    fn new(counter: &Arc<AtomicU64>, bytes: usize) -> Sending {
        let bytes = bytes as u64;
        counter.fetch_add(bytes, Ordering::Relaxed);
        Sending {
            counter: Arc::clone(counter),
            bytes,
        }
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        self.counter.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// What a standby asked for with `PSYNC replid offset` (`?`/-1 for "anything").
#[derive(Clone, Debug)]
pub(crate) struct PsyncRequest {
    /// Replication id the standby last followed.
    pub(crate) replid: String,
    /// First stream byte it needs.
    pub(crate) offset: i64,
    /// The standby's address as seen by the primary.
    pub(crate) ip: String,
    /// The port it announced with `REPLCONF listening-port`.
    pub(crate) listening_port: u16,
}

enum Plan {
    Continue {
        replid: String,
        from: u64,
    },
    Full {
        replid: String,
        offset: u64,
        dbs: Vec<crate::keyspace::db::Db>,
        /// The primary's function libraries and loaded scripts.
        scripts: snapshot::ScriptsSnapshot,
    },
}

/// Serves a standby on `socket` until it disconnects or falls out of the backlog.
/// `input` holds whatever the standby sent after `PSYNC`.
pub(crate) async fn serve_replica(
    node: Arc<NodeState>,
    mut socket: TcpStream,
    client: Arc<ClientHandle>,
    request: PsyncRequest,
    mut input: BytesMut,
) {
    let client_id = client.id;
    let plan = {
        let mut store = node.lock_store().await;
        let store = &mut *store;
        let repl = &mut store.repl;
        let wanted = u64::try_from(request.offset).ok();
        let state;
        let plan = match wanted.filter(|&from| repl.can_continue(&request.replid, from)) {
            Some(from) => {
                repl.sync_partial_ok += 1;
                state = "online";
                Plan::Continue {
                    replid: repl.replid.clone(),
                    from,
                }
            }
            None => {
                if request.replid != "?" {
                    repl.sync_partial_err += 1;
                }
                repl.sync_full += 1;
                repl.ensure_backlog();
                // The stream after the snapshot must say which database it writes to.
                repl.stream_db = None;
                state = "send_bulk";
                Plan::Full {
                    replid: repl.replid.clone(),
                    offset: repl.offset,
                    dbs: store.dbs.clone(),
                    scripts: scripts_snapshot(&node),
                }
            }
        };
        let ack_offset = match &plan {
            Plan::Continue { from, .. } => from.saturating_sub(1),
            Plan::Full { .. } => 0,
        };
        store.repl.replicas.insert(
            client_id,
            ReplicaInfo {
                ip: request.ip.clone(),
                port: request.listening_port,
                state,
                ack_offset,
                last_ack: Instant::now(),
            },
        );
        plan
    };
    let result = tokio::select! {
        result = stream_to(&node, &mut socket, client_id, plan, &mut input) => result,
        () = client.kill.notified() => Ok(()),
    };
    if let Err(err) = result {
        info!(replica = %request.ip, port = request.listening_port, %err, "standby link closed");
    }
    let mut store = node.lock_store().await;
    store.repl.replicas.remove(&client_id);
    store.repl.acked.notify_waiters();
}

async fn stream_to(
    node: &Arc<NodeState>,
    socket: &mut TcpStream,
    client_id: u64,
    plan: Plan,
    input: &mut BytesMut,
) -> std::io::Result<()> {
    let sending = Arc::clone(&node.lock_store().await.repl.sending);
    let mut next = match plan {
        Plan::Continue { replid, from } => {
            socket
                .write_all(format!("+CONTINUE {replid}\r\n").as_bytes())
                .await?;
            from
        }
        Plan::Full {
            replid,
            offset,
            dbs,
            scripts,
        } => {
            socket
                .write_all(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes())
                .await?;
            let started = Instant::now();
            let id = replid.clone();
            let payload: Bytes = tokio::task::spawn_blocking(move || {
                snapshot::encode(&scripts, &dbs, &id, offset, unix_ms())
            })
            .await
            .map_err(std::io::Error::other)?;
            socket
                .write_all(format!("${}\r\n", payload.len()).as_bytes())
                .await?;
            let _sending = Sending::new(&sending, payload.len());
            socket.write_all(&payload).await?;
            info!(
                bytes = payload.len(),
                ms = started.elapsed().as_millis() as u64,
                "snapshot sent to standby"
            );
            if let Some(replica) = node.lock_store().await.repl.replicas.get_mut(&client_id) {
                replica.state = "online";
            }
            offset + 1
        }
    };
    let grew = node.lock_store().await.repl.stream_grew.clone();
    let mut parser = RequestParser::default();
    loop {
        let notified = grew.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let chunk = {
            let store = node.lock_store().await;
            match &store.repl.backlog {
                // Counted while the store is locked, so no eviction sees the copy uncounted.
                Some(backlog) => backlog
                    .read_from(next, SEND_CHUNK)
                    .map(|chunk| (Sending::new(&sending, chunk.capacity()), chunk)),
                None => None,
            }
        };
        let Some((_sending, chunk)) = chunk else {
            warn!("standby fell out of the backlog; it must resync");
            return Ok(());
        };
        if !chunk.is_empty() {
            socket.write_all(&chunk).await?;
            next += chunk.len() as u64;
            continue;
        }
        input.reserve(4096);
        tokio::select! {
            () = &mut notified => {
                // Let the writes of this moment gather, to send them in one piece.
                tokio::task::yield_now().await;
            }
            read = socket.read_buf(input) => {
                if read? == 0 {
                    return Ok(());
                }
                record_acks(node, client_id, &mut parser, input);
            }
        }
    }
}

/// Applies every `REPLCONF ACK <offset>` the standby sent.
fn record_acks(node: &NodeState, client_id: u64, parser: &mut RequestParser, input: &mut BytesMut) {
    let mut acked = None;
    while let Ok(Some(args)) = parser.parse(input) {
        let is_ack = args.len() >= 3
            && args[0].eq_ignore_ascii_case(b"replconf")
            && args[1].eq_ignore_ascii_case(b"ack");
        if is_ack {
            if let Some(offset) = std::str::from_utf8(&args[2])
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            {
                acked = Some(acked.map_or(offset, |a: u64| a.max(offset)));
            }
        }
    }
    if let Some(offset) = acked {
        let mut store = node.store.lock();
        if let Some(replica) = store.repl.replicas.get_mut(&client_id) {
            replica.ack_offset = replica.ack_offset.max(offset);
            replica.last_ack = Instant::now();
        }
        store.repl.acked.notify_waiters();
    }
}

/// The function libraries and the scripts loaded with `SCRIPT LOAD` that a full resync
/// carries; a standby that gets none clears its own, as a primary with none has none.
fn scripts_snapshot(node: &NodeState) -> snapshot::ScriptsSnapshot {
    let scripting = node.scripting.lock();
    snapshot::ScriptsSnapshot {
        functions: scripting.functions.dump(),
        scripts: scripting.eval.loaded_bodies(),
    }
}
