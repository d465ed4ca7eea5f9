//! The standby link task, above dispatch: connect to the primary, handshake (`PING`, `AUTH`, `REPLCONF`,
//! `PSYNC`), load a snapshot or continue, then apply the stream and ack every batch.

pub(crate) mod applier;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use redoubt_protocol::RequestParser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tracing::info;

use crate::replication::{snapshot, LinkState};
use crate::state::NodeState;

/// Deadline of connecting and of each handshake step.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between connection attempts.
const RETRY: Duration = Duration::from_millis(100);
/// Acks are sent after every applied batch and at least this often.
const ACK_EVERY: Duration = Duration::from_millis(500);

/// Runs the link task of each primary this node is told to follow: waits for
/// [`Replication::follow`]'s signal and starts a task for the link it recorded. Runs for the
/// node's lifetime.
///
/// [`Replication::follow`]: crate::replication::Replication::follow
pub(crate) async fn supervise(node: Arc<NodeState>) {
    let wanted = node.lock_store().await.repl.link_wanted.clone();
    let mut started: Option<Arc<Notify>> = None;
    loop {
        wanted.notified().await;
        let current = node
            .store
            .lock()
            .repl
            .primary
            .as_ref()
            .map(|l| (l.host.clone(), l.port, l.stop.clone(), l.reconnect.clone()));
        let Some((host, port, stop, reconnect)) = current else {
            continue;
        };
        // Two signals may arrive for one link: start its task once.
        if started.as_ref().is_some_and(|s| Arc::ptr_eq(s, &stop)) {
            continue;
        }
        started = Some(stop.clone());
        tokio::spawn(link(node.clone(), host, port, stop, reconnect));
    }
}

async fn link(
    node: Arc<NodeState>,
    host: String,
    port: u16,
    stop: Arc<Notify>,
    reconnect: Arc<Notify>,
) {
    loop {
        let stopped = stop.notified();
        tokio::pin!(stopped);
        stopped.as_mut().enable();
        if !is_current(&node, &stop) {
            return;
        }
        tokio::select! {
            () = &mut stopped => return,
            result = run_once(&node, &host, port, &stop) => {
                if let Err(err) = result {
                    info!(%host, port, %err, "link to primary down");
                }
            }
            () = reconnect.notified() => info!(%host, port, "link to primary dropped on request"),
        }
        set_state(&node, &stop, LinkState::Connect);
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}

fn is_current(node: &NodeState, stop: &Arc<Notify>) -> bool {
    node.store
        .lock()
        .repl
        .primary
        .as_ref()
        .is_some_and(|l| Arc::ptr_eq(&l.stop, stop))
}

fn set_state(node: &NodeState, stop: &Arc<Notify>, state: LinkState) {
    let mut store = node.store.lock();
    if let Some(link) = store
        .repl
        .primary
        .as_mut()
        .filter(|l| Arc::ptr_eq(&l.stop, stop))
    {
        link.state = state;
        link.last_io = Instant::now();
    }
}

struct Conn {
    socket: TcpStream,
    input: BytesMut,
}

impl Conn {
    async fn command(&mut self, args: &[&[u8]]) -> std::io::Result<String> {
        let mut out = BytesMut::new();
        snapshot::encode_command(&mut out, args);
        self.socket.write_all(&out).await?;
        tokio::time::timeout(HANDSHAKE_TIMEOUT, self.line())
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "primary did not answer")
            })?
    }

    /// One CRLF-terminated line (without it).
    async fn line(&mut self) -> std::io::Result<String> {
        loop {
            if let Some(end) = self.input.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.input[..end]).into_owned();
                self.input.advance(end + 2);
                return Ok(line);
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        self.input.reserve(64 * 1024);
        if self.socket.read_buf(&mut self.input).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "primary closed the link",
            ));
        }
        Ok(())
    }
}

async fn run_once(
    node: &Arc<NodeState>,
    host: &str,
    port: u16,
    stop: &Arc<Notify>,
) -> std::io::Result<()> {
    let addr = crate::replication::resolve(host, port)
        .ok_or_else(|| std::io::Error::other("cannot resolve the primary"))?;
    let socket = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    socket.set_nodelay(true)?;
    set_state(node, stop, LinkState::Connecting);
    let mut conn = Conn {
        socket,
        input: BytesMut::new(),
    };
    let (masterauth, my_port, replid, offset, has_history) = {
        let store = node.lock_store().await;
        (
            store.config.masterauth.clone(),
            store.config.port,
            store.repl.replid.clone(),
            store.repl.offset,
            store.repl.has_history,
        )
    };
    // Any answer proves the primary is there; a NOAUTH is answered by AUTH below.
    conn.command(&[b"PING"]).await?;
    if !masterauth.is_empty() {
        let reply = conn.command(&[b"AUTH", masterauth.as_bytes()]).await?;
        if !reply.starts_with('+') {
            return Err(std::io::Error::other(format!(
                "primary refused AUTH: {reply}"
            )));
        }
    }
    conn.command(&[
        b"REPLCONF",
        b"listening-port",
        my_port.to_string().as_bytes(),
    ])
    .await?;
    conn.command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        .await?;
    // A node with no history asks for anything, as Redis's `PSYNC ? -1`.
    let (replid, next) = if offset == 0 && !has_history {
        ("?".to_string(), "-1".to_string())
    } else {
        (replid, (offset + 1).to_string())
    };
    let reply = conn
        .command(&[b"PSYNC", replid.as_bytes(), next.as_bytes()])
        .await?;
    let mut words = reply.split_whitespace();
    match words.next() {
        Some("+FULLRESYNC") => {
            let new_replid = words.next().unwrap_or_default().to_string();
            let start: u64 = words.next().and_then(|o| o.parse().ok()).unwrap_or(0);
            set_state(node, stop, LinkState::Sync);
            let payload = read_snapshot(&mut conn).await?;
            load_snapshot(node, stop, &payload, new_replid, start)?;
        }
        Some("+CONTINUE") => {
            let mut store = node.lock_store().await;
            let repl = &mut store.repl;
            if let Some(new_replid) = words.next() {
                if new_replid != repl.replid {
                    repl.replid2 = std::mem::replace(&mut repl.replid, new_replid.to_string());
                    repl.second_offset = repl.offset as i64 + 1;
                }
            }
            repl.resyncs_partial += 1;
            repl.has_history = true;
            repl.ensure_backlog();
            info!(offset = repl.offset, "partial resync with primary");
        }
        _ => {
            return Err(std::io::Error::other(format!(
                "unexpected PSYNC reply: {reply}"
            )))
        }
    }
    set_state(node, stop, LinkState::Connected);
    apply_stream(node, stop, &mut conn).await
}

/// Reads a full resync's payload: `$<len>\r\n<bytes>`, or the diskless form a Redis primary
/// sends to a standby that announced `capa eof`: `$EOF:<40-byte mark>\r\n<bytes><mark>`
/// (nothing follows the mark until the standby's first `REPLCONF ACK`). Bare newlines before
/// the header are a primary's keep-alives while it prepares the payload.
async fn read_snapshot(conn: &mut Conn) -> std::io::Result<Bytes> {
    let header = loop {
        let line = conn.line().await?;
        let line = line.trim_start_matches('\n');
        if !line.is_empty() {
            break line.to_string();
        }
    };
    if let Some(mark) = header.strip_prefix("$EOF:") {
        let mark = mark.as_bytes().to_vec();
        if mark.len() != EOF_MARK_LEN {
            return Err(std::io::Error::other(format!(
                "bad snapshot header {header:?}"
            )));
        }
        while !conn.input.ends_with(&mark) {
            conn.fill().await?;
        }
        let len = conn.input.len() - mark.len();
        let payload = conn.input.split_to(len).freeze();
        conn.input.advance(mark.len());
        return Ok(payload);
    }
    let len: usize = header
        .strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad snapshot header {header:?}")))?;
    while conn.input.len() < len {
        conn.input.reserve(len - conn.input.len());
        conn.fill().await?;
    }
    Ok(conn.input.split_to(len).freeze())
}

/// Length of the end mark of a diskless payload (`RDB_EOF_MARK_SIZE` in Redis).
const EOF_MARK_LEN: usize = 40;

/// Loads a full resync, an RDB file (from a Redoubt or a Redis primary): parsed before the
/// store is locked, so clients keep being served and a corrupt file changes nothing. The
/// primary's function libraries and loaded scripts replace the standby's.
fn load_snapshot(
    node: &Arc<NodeState>,
    stop: &Arc<Notify>,
    payload: &Bytes,
    replid: String,
    offset: u64,
) -> std::io::Result<()> {
    if !payload.starts_with(b"REDIS") {
        return Err(std::io::Error::other("snapshot in an unknown format"));
    }
    let started = Instant::now();
    let databases = node.store.lock().dbs.len();
    let parsed = crate::persist::parse(payload, databases, true, 0, |keys, percent| {
        info!(keys, percent, "loading the primary's RDB");
    })
    .map_err(|why| std::io::Error::other(format!("corrupt RDB from the primary: {why}")))?;
    let mut store = node.store.lock();
    ensure_current_link(&store, stop)?;
    crate::persist::install_scripting(
        &mut node.scripting.lock(),
        &parsed.functions,
        Some(&parsed.scripts),
    )
    .map_err(|why| std::io::Error::other(format!("RDB from the primary: {why}")))?;
    crate::persist::install(&mut store, parsed.dbs);
    // The primary's stream selects its database before its first write.
    adopt_primary_history(&mut store.repl, replid, offset, 0);
    info!(
        keys = parsed.loaded.keys,
        bytes = payload.len(),
        ms = started.elapsed().as_millis() as u64,
        "loaded the primary's RDB"
    );
    Ok(())
}

/// Fails when the link that is syncing was replaced (a new `REPLICAOF`) while it worked.
fn ensure_current_link(store: &crate::keyspace::Store, stop: &Arc<Notify>) -> std::io::Result<()> {
    let current = store
        .repl
        .primary
        .as_ref()
        .is_some_and(|l| Arc::ptr_eq(&l.stop, stop));
    if current {
        Ok(())
    } else {
        Err(std::io::Error::other("link replaced during sync"))
    }
}

/// After a full resync: the node's history is the primary's (see
/// [`crate::replication::Replication::take_history`]), and one more full resync is counted.
fn adopt_primary_history(
    repl: &mut crate::replication::Replication,
    replid: String,
    offset: u64,
    stream_db: usize,
) {
    repl.take_history(replid, offset, Some(stream_db));
    repl.resyncs_full += 1;
}

async fn apply_stream(
    node: &Arc<NodeState>,
    stop: &Arc<Notify>,
    conn: &mut Conn,
) -> std::io::Result<()> {
    let mut parser = RequestParser::new(redoubt_protocol::RequestLimits {
        max_bulk_len: usize::MAX / 4,
        max_query_buffer: usize::MAX / 4,
    });
    let mut applier = applier::PrimaryApplier::new(node);
    applier.set_db(node.lock_store().await.repl.stream_db.unwrap_or(0));
    let mut ack_timer = tokio::time::interval(ACK_EVERY);
    let mut offset = send_ack(node, conn).await?;
    loop {
        // Apply every whole command received, under one lock, then ack.
        if !conn.input.is_empty() {
            let mut store = node.lock_store().await;
            if !store
                .repl
                .primary
                .as_ref()
                .is_some_and(|l| Arc::ptr_eq(&l.stop, stop))
            {
                return Ok(());
            }
            let mut encoded = BytesMut::new();
            loop {
                match parser.parse(&mut conn.input) {
                    Ok(Some(args)) => {
                        applier.apply(&mut store, &args);
                        if store.blocking.has_ready() {
                            // Readers blocked on this standby (XREAD) see replicated entries.
                            crate::exec::blocked::serve_ready(
                                &mut store,
                                node,
                                crate::state::unix_ms(),
                            );
                        }
                        // The primary sends canonical multibulks, so re-encoding a command
                        // gives back exactly the bytes received, which keeps offsets equal.
                        encoded.clear();
                        let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
                        snapshot::encode_command(&mut encoded, &refs);
                        store.repl.append_stream(&encoded);
                        store.repl.stream_db = Some(applier.db());
                    }
                    Ok(None) => break,
                    Err(err) => {
                        return Err(std::io::Error::other(format!("corrupt stream: {err}")))
                    }
                }
            }
            if let Some(link) = store.repl.primary.as_mut() {
                link.last_io = Instant::now();
            }
        }
        let current = node.lock_store().await.repl.offset;
        if current != offset {
            offset = send_ack(node, conn).await?;
        }
        conn.input.reserve(64 * 1024);
        tokio::select! {
            read = conn.socket.read_buf(&mut conn.input) => {
                if read? == 0 {
                    return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "primary closed the link"));
                }
            }
            _ = ack_timer.tick() => {
                offset = send_ack(node, conn).await?;
            }
        }
    }
}

async fn send_ack(node: &NodeState, conn: &mut Conn) -> std::io::Result<u64> {
    let offset = node.lock_store().await.repl.offset;
    let mut out = BytesMut::new();
    snapshot::encode_command(
        &mut out,
        &[b"REPLCONF", b"ACK", offset.to_string().as_bytes()],
    );
    conn.socket.write_all(&out).await?;
    Ok(offset)
}
