//! One client connection: read, parse every complete request, run the batch under one store
//! lock, encode the replies in request order, write, repeat.
//!
//! Malformed input gets `-ERR Protocol error: ...` and the connection closes after the replies
//! to the requests before it, as Redis does; other clients are unaffected.

mod blocked;
mod busy;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use redoubt_protocol::{Protocol, Reply, RequestLimits, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::debug;

use crate::blocking::BlockWait;
use crate::client::{ClientHandle, ScriptThread, Session, SessionAction};
use crate::cmd::Ctx;
use crate::keyspace::db::ExpiryMode;
use crate::replication::{self, primary::PsyncRequest};
use crate::state::{unix_ms, NodeState};

/// Requests run per lock acquisition; a longer pipeline is split so others get a turn.
const MAX_BATCH: usize = 512;
/// Read buffer growth step (bytes).
const READ_CHUNK: usize = 16 * 1024;
/// Buffers larger than this (bytes) are released once empty, so one huge request or reply
/// does not pin memory for the connection's lifetime.
const KEEP_BUFFER: usize = 1024 * 1024;

/// Reserves room for the next read in `input` and records in `peak` the largest room it has
/// had since it was last replaced (bytes). The room a `BytesMut` reports can be far smaller
/// than its allocation (a reserve that fits behind the consumed bytes reports only what was
/// asked for), so the peak, not the room, decides when an empty buffer is given back.
fn reserve_input(input: &mut BytesMut, peak: &mut usize) {
    input.reserve(READ_CHUNK);
    *peak = (*peak).max(input.capacity());
}

/// Answers a connection refused at `maxclients` with `error` and closes it.
pub(crate) async fn refuse(mut socket: TcpStream, error: &'static str) {
    let mut out = BytesMut::new();
    Reply::error(error).encode(Protocol::Resp2, &mut out);
    let _ = socket.write_all(&out).await;
}

/// Serves one client until it disconnects, sends `QUIT`, or sends malformed input.
/// `id` is the client id the accept loop gave the connection.
pub(crate) async fn serve(node: Arc<NodeState>, socket: TcpStream, addr: SocketAddr, id: u64) {
    let _ = socket.set_nodelay(true);
    let laddr = socket.local_addr().unwrap_or(addr);
    let handle = Arc::new(ClientHandle::new(id, addr, laddr));
    node.clients.add(handle.clone());
    let settings = node.conn_settings();
    let limits = RequestLimits {
        max_bulk_len: settings.max_bulk_len as usize,
        max_query_buffer: settings.max_query_buffer as usize,
    };
    let authenticated = settings.open;
    let conn = Conn {
        socket,
        session: Session::new(handle, authenticated),
        parser: RequestParser::new(limits),
        input: BytesMut::with_capacity(READ_CHUNK),
        output: BytesMut::with_capacity(READ_CHUNK),
    };
    let Some(conn) = run_conn(&node, conn).await else {
        return;
    };
    match node.script_runtime().cloned() {
        Some(runtime) => move_to_script_thread(runtime, node, conn),
        // No script thread: it goes on here (marked as moved, it does not ask again).
        None => drop(run_conn(&node, conn).await),
    }
}

/// A connection's socket and everything its session carries from one request to the next;
/// moved whole to the script thread ([`NodeState::script_runtime`]).
struct Conn {
    socket: TcpStream,
    session: Session,
    parser: RequestParser,
    input: BytesMut,
    output: BytesMut,
}

/// How a connection's session loop ended.
enum Ended {
    /// The connection is over.
    Closed,
    /// It became a standby's replication link (`PSYNC` replid offset).
    Psync(String, i64),
    /// It ran a script: the script thread serves it from now on.
    ToScriptThread,
}

/// Serves `conn` until it ends; returns it instead, marked as served by the script thread,
/// once it has run a script and its replies are out.
async fn run_conn(node: &Arc<NodeState>, mut conn: Conn) -> Option<Conn> {
    let result = session_loop(
        node,
        &mut conn.socket,
        &mut conn.session,
        &mut conn.parser,
        &mut conn.input,
        &mut conn.output,
    )
    .await;
    let Conn {
        socket,
        mut session,
        input,
        ..
    } = match result {
        Ok(Ended::ToScriptThread) => {
            conn.session.script_thread = ScriptThread::On;
            return Some(conn);
        }
        _ => conn,
    };
    let addr = session.handle.addr;
    forget_client(node, &mut session).await;
    match result {
        Ok(Ended::Psync(replid, offset)) => {
            let request = PsyncRequest {
                replid,
                offset,
                ip: addr.ip().to_string(),
                listening_port: session.listening_port,
            };
            session.handle.is_replica.store(true, Ordering::Relaxed);
            replication::primary::serve_replica(
                node.clone(),
                socket,
                session.handle.clone(),
                request,
                input,
            )
            .await;
        }
        Ok(_) => {}
        Err(err) => debug!(%addr, %err, "connection ended with an error"),
    }
    node.clients.remove(session.handle.id);
    None
}

/// A client that leaves while blocked must not be served later; its watches and
/// subscriptions go with it.
async fn forget_client(node: &NodeState, session: &mut Session) {
    let id = session.handle.id;
    let mut store = node.lock_store().await;
    store.blocking.remove(id);
    store.observe.monitors.remove(id);
    let mut ctx = Ctx {
        store: &mut store,
        session,
        node,
        now_ms: unix_ms(),
        command: None,
    };
    crate::cmd::transaction::unwatch_all(&mut ctx);
    crate::cmd::pubsub::unsubscribe_all(&mut ctx);
    ctx.store.tracking.disconnected(id);
}

/// Hands `conn` to the script thread (`runtime`), which serves it from then on.
fn move_to_script_thread(runtime: tokio::runtime::Handle, node: Arc<NodeState>, conn: Conn) {
    let Conn {
        socket,
        mut session,
        parser,
        input,
        output,
    } = conn;
    let socket = socket.into_std();
    runtime.spawn(async move {
        // Registered with the script thread's I/O driver from here on.
        match socket.and_then(TcpStream::from_std) {
            Ok(socket) => {
                let conn = Conn {
                    socket,
                    session,
                    parser,
                    input,
                    output,
                };
                run_conn(&node, conn).await;
            }
            Err(err) => {
                debug!(addr = %session.handle.addr, %err, "cannot move the connection");
                forget_client(&node, &mut session).await;
                node.clients.remove(session.handle.id);
            }
        }
    });
}

async fn session_loop(
    node: &NodeState,
    socket: &mut TcpStream,
    session: &mut Session,
    parser: &mut RequestParser,
    input: &mut BytesMut,
    output: &mut BytesMut,
) -> std::io::Result<Ended> {
    let mut batch: Vec<Vec<Bytes>> = Vec::with_capacity(16);
    let mut replies: Vec<(Reply, Protocol, bool)> = Vec::with_capacity(16);
    // The most room `input` has had since it was last replaced (see `reserve_input`).
    let mut input_peak = input.capacity();
    // Input after a protocol error is never parsed; the error is answered once the requests
    // before it have run (some may have blocked in between).
    let mut protocol_error = None;
    // The client closed its sending side (seen while writing replies).
    let mut peer_closed = false;
    loop {
        // Take every complete request buffered so far, up to a batch.
        while protocol_error.is_none() && batch.len() < MAX_BATCH {
            match parser.parse(input) {
                Ok(Some(args)) => batch.push(args),
                Ok(None) => break,
                Err(err) => protocol_error = Some(err),
            }
        }
        let full_batch = batch.len() == MAX_BATCH;
        let mut blocked = None;
        if !batch.is_empty() {
            wait_unpaused(node, &batch).await;
            let protocol = session.protocol;
            let mut acks = None;
            if let Some(store) =
                busy::lock_for_batch(node, protocol, &mut batch, &mut replies).await
            {
                // A script that runs for long hands this worker's other tasks to another
                // thread itself (`script::vm`), so no connection waits behind it.
                (blocked, acks) = run_batch(node, store, session, parser, &mut batch, &mut replies);
            }
            if let Some(acks) = acks {
                hold_for_acks(node, session, acks, &mut replies).await;
            }
            for (reply, protocol, _) in replies.drain(..) {
                reply.encode(protocol, output);
            }
        }
        let outbox = session.handle.outbox.clone();
        if outbox.is_closed() {
            // Cut off by `client-output-buffer-limit pubsub`.
            return Ok(Ended::Closed);
        }
        outbox.write_to(session.protocol, output);
        match session.action.take() {
            Some(SessionAction::Psync { replid, offset }) => {
                write_out(node, socket, output).await?;
                return Ok(Ended::Psync(replid, offset));
            }
            Some(SessionAction::Wait {
                replicas,
                timeout_ms,
            }) => {
                if !output.is_empty() {
                    write_out(node, socket, output).await?;
                }
                let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms));
                let acked = wait_for_acks(node, session.last_write_offset, replicas, timeout).await;
                Reply::Int(acked as i64).encode(session.protocol, output);
                continue;
            }
            None => {}
        }
        if let Some(wait) = blocked {
            // Later requests wait until this one is answered, as in Redis.
            if !output.is_empty() {
                write_out(node, socket, output).await?;
            }
            match wait_unblocked(node, socket, session, input, &mut input_peak, wait).await {
                Some(reply) => reply.encode(session.protocol, output),
                None => return Ok(Ended::Closed),
            }
            continue;
        }
        if let Some(err) = protocol_error {
            Reply::error_owned(format!("ERR {err}")).encode(session.protocol, output);
            write_out(node, socket, output).await?;
            return Ok(Ended::Closed);
        }
        if session.close_after_reply {
            write_out(node, socket, output).await?;
            return Ok(Ended::Closed);
        }
        if full_batch {
            continue;
        }
        if !output.is_empty() {
            let read_more = flush_while_reading(
                node,
                socket,
                output,
                (input, &mut input_peak),
                &mut peer_closed,
                &outbox,
            )
            .await?;
            if read_more {
                // Requests or messages arrived while replies were going out: serve them first.
                continue;
            }
        }
        if peer_closed {
            return Ok(Ended::Closed);
        }
        if session.script_thread == ScriptThread::Moving {
            // Its replies are out: the script thread reads what comes next.
            return Ok(Ended::ToScriptThread);
        }
        if input.is_empty() && input_peak > KEEP_BUFFER {
            *input = BytesMut::with_capacity(READ_CHUNK);
            input_peak = input.capacity();
        }
        reserve_input(input, &mut input_peak);
        let read = tokio::select! {
            read = socket.read_buf(input) => read?,
            () = session.handle.kill.notified() => return Ok(Ended::Closed),
            () = outbox.ready.notified() => continue,
        };
        if read == 0 {
            return Ok(Ended::Closed);
        }
        node.net
            .input_bytes
            .fetch_add(read as u64, Ordering::Relaxed);
    }
}

/// Waits while a `CLIENT PAUSE` holds `batch`: any batch under `ALL`, a batch with a write
/// or `PUBLISH` under `WRITE`. `CLIENT UNPAUSE` itself is never held, so a paused node can
/// always be resumed.
async fn wait_unpaused(node: &NodeState, batch: &[Vec<Bytes>]) {
    use redoubt_protocol::command_table::{resolve, CommandFlags};
    if node.clients.pause_in_force().is_none() {
        return;
    }
    loop {
        let changed = node.clients.pause_changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let Some(pause) = node.clients.pause_in_force() else {
            return;
        };
        let held = |args: &Vec<Bytes>| match resolve(args) {
            Some(r) if r.to_string() == "client|unpause" => false,
            _ if pause.all => true,
            Some(r) => {
                r.command.flags.contains(CommandFlags::WRITE)
                    || matches!(r.name(), "publish" | "spublish")
            }
            None => false,
        };
        if !batch.iter().any(held) {
            return;
        }
        tokio::select! {
            () = &mut changed => {}
            () = tokio::time::sleep_until(pause.until) => {}
        }
    }
}

/// Waits, without the store lock, until a blocked client is served or its deadline passes,
/// reading (but not running) what it sends meanwhile so a disconnect is noticed. Returns the
/// reply, or `None` when the client has gone (it is then out of the blocking registry).
async fn wait_unblocked(
    node: &NodeState,
    socket: &mut TcpStream,
    session: &Session,
    input: &mut BytesMut,
    input_peak: &mut usize,
    wait: BlockWait,
) -> Option<Reply> {
    let id = session.handle.id;
    let deadline = async {
        match wait.deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    loop {
        reserve_input(input, input_peak);
        tokio::select! {
            () = wait.slot.delivered() => {
                if let Some(reply) = wait.slot.take() {
                    return Some(reply);
                }
            }
            () = &mut deadline => {
                node.lock_store().await.blocking.remove(id);
                // Serving happens under the lock: a reply delivered before it was taken wins.
                return Some(wait.slot.take().unwrap_or(Reply::NullArray));
            }
            read = socket.read_buf(input), if input.len() < KEEP_BUFFER => match read {
                Ok(0) | Err(_) => {
                    node.lock_store().await.blocking.remove(id);
                    return None;
                }
                Ok(read) => {
                    node.net
                        .input_bytes
                        .fetch_add(read as u64, Ordering::Relaxed);
                }
            },
        }
    }
}

/// Runs `batch` under one acquisition of the store lock (`store`, taken by
/// [`busy::lock_for_batch`]), leaving a reply per request. Stops at a request that blocks,
/// leaving the requests after it in `batch`, and returns how it waits; the others are
/// removed from `batch`. Clients blocked on keys that a request filled are served right
/// after it. Also returns, when a request wrote, what its reply waits for ([`AckWait`]),
/// read under this same acquisition.
fn run_batch(
    node: &NodeState,
    mut store: parking_lot::MutexGuard<'_, crate::keyspace::Store>,
    session: &mut Session,
    parser: &mut RequestParser,
    batch: &mut Vec<Vec<Bytes>>,
    replies: &mut Vec<(Reply, Protocol, bool)>,
) -> (Option<BlockWait>, Option<AckWait>) {
    let now_ms = unix_ms();
    let mode = if store.repl.is_replica() {
        ExpiryMode::Hide
    } else {
        ExpiryMode::Delete
    };
    store.set_expiry_mode(mode);
    let mut last_command = None;
    let mut done = 0;
    let mut blocked = None;
    for args in batch.iter() {
        if session.close_after_reply {
            done = batch.len();
            break;
        }
        done += 1;
        let mut ctx = Ctx {
            store: &mut store,
            session,
            node,
            now_ms,
            command: None,
        };
        let dirty = ctx.store.dirty();
        let (reply, name) = crate::exec::execute(&mut ctx, args);
        let wrote = store.dirty() != dirty;
        if wrote {
            session.last_write_offset = store.repl.offset;
        }
        if let Some(command) = name {
            if session.script_thread == ScriptThread::Away
                && crate::exec::stats::runs_scripts(command)
            {
                session.script_thread = ScriptThread::Moving;
            }
        }
        last_command = name.or(last_command);
        if !store.blocking.is_empty() {
            blocked = store.blocking.wait_of(session.handle.id);
            if blocked.is_some() {
                // The reply was a placeholder; the real one comes when the client is served.
                break;
            }
        }
        if session.action.is_some() {
            // PSYNC and WAIT answer once the connection has done their work.
            break;
        }
        let silent = session.replies_off || session.skip_replies > 0;
        session.skip_replies = session.skip_replies.saturating_sub(1);
        for frame in session.frames.drain(..) {
            replies.push((frame, session.protocol, false));
        }
        if !silent {
            replies.push((reply, session.protocol, wrote));
        }
        if store.blocking.has_ready() {
            blocked::serve_ready(&mut store, node, now_ms);
        }
    }
    batch.drain(..done);
    parser.set_limits(limits_of(&store.config));
    let wrote = replies.iter().any(|(_, _, wrote)| *wrote);
    let acks = (wrote && !session.primary_link && !store.repl.is_replica()).then(|| AckWait {
        needed: store.config.min_replicas_to_ack as usize,
        timeout: Duration::from_millis(store.config.replica_ack_timeout_ms),
        durable: crate::aof::durable_wait(&store),
    });
    drop(store);
    let mut view = session.handle.view.lock();
    if let Some(name) = last_command {
        // Reuses the string's room: most batches repeat the last command.
        if name.sub.is_some() || view.last_command != name.name() {
            use std::fmt::Write;
            view.last_command.clear();
            let _ = write!(view.last_command, "{name}");
        }
    }
    view.last_active = Some(Instant::now());
    view.db = session.db;
    view.resp = session.protocol.version();
    let subs = &session.subs;
    view.subs = (subs.channels.len(), subs.patterns.len(), subs.shard.len());
    view.multi = session.multi.as_ref().map_or(-1, |m| m.queued.len() as i64);
    (blocked, acks)
}

/// What the replies of a batch that wrote wait for (see [`hold_for_acks`]), read under the
/// batch's store lock.
struct AckWait {
    /// `min-replicas-to-ack`: standbys that must ack the batch's writes (0: none).
    needed: usize,
    /// `replica-ack-timeout` (ms).
    timeout: Duration,
    /// `appendfsync always`: the fsync the writes wait for.
    durable: Option<crate::aof::DurableWait>,
}

/// Holds a batch's replies that wrote until its writes are fsynced (`appendfsync always`),
/// then, in synchronous mode, until `min-replicas-to-ack` standbys acked its
/// writes; if they do not within `replica-ack-timeout`, each write's reply becomes
/// `-NOREPLICAS` (the write is not acknowledged, so a failover may lose it).
async fn hold_for_acks(
    node: &NodeState,
    session: &Session,
    acks: AckWait,
    replies: &mut [(Reply, Protocol, bool)],
) {
    let AckWait {
        needed,
        timeout,
        durable,
    } = acks;
    // `appendfsync always`: first on disk.
    if let Some(durable) = durable {
        durable.wait().await;
    }
    if needed == 0 {
        return;
    }
    if wait_for_acks(node, session.last_write_offset, needed, Some(timeout)).await >= needed {
        return;
    }
    for (reply, _, wrote) in replies.iter_mut() {
        if *wrote {
            *reply = Reply::error("NOREPLICAS Not enough good replicas to write.");
        }
    }
}

/// Waits until `needed` standbys acked `offset` or `timeout` passes (never, if `None`);
/// returns how many had acked.
async fn wait_for_acks(
    node: &NodeState,
    offset: u64,
    needed: usize,
    timeout: Option<Duration>,
) -> usize {
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let acked = node.lock_store().await.repl.acked.clone();
    loop {
        let notified = acked.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let count = node.lock_store().await.repl.acked_at_least(offset);
        if count >= needed || deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return count;
        }
        match deadline {
            Some(deadline) => {
                tokio::select! {
                    () = &mut notified => {}
                    () = tokio::time::sleep_until(deadline) => {}
                }
            }
            None => notified.await,
        }
    }
}

fn limits_of(config: &crate::config::Config) -> RequestLimits {
    RequestLimits {
        max_bulk_len: config.proto_max_bulk_len as usize,
        max_query_buffer: config.client_query_buffer_limit as usize,
    }
}

/// Input a connection buffers while its replies are being written (bytes); past this it only
/// writes until the client reads.
const MAX_INPUT_WHILE_WRITING: usize = 64 * 1024 * 1024;

/// Writes `output` while still reading the client's input, so a client that sends a long
/// pipeline before reading any reply cannot deadlock with the server (both sides blocked on
/// full socket buffers). Returns true when input or pub/sub messages arrived meanwhile (the
/// outbox wakes its connection only when it turns non-empty, so the wakeup must not be lost).
async fn flush_while_reading(
    node: &NodeState,
    socket: &mut TcpStream,
    output: &mut BytesMut,
    (input, input_peak): (&mut BytesMut, &mut usize),
    peer_closed: &mut bool,
    outbox: &crate::pubsub::Outbox,
) -> std::io::Result<bool> {
    let (mut reader, mut writer) = socket.split();
    let mut read_any = false;
    // Read before the writes advance it: written bytes leave the room it reports.
    let large_output = output.capacity() > KEEP_BUFFER;
    while !output.is_empty() {
        let can_read = !*peer_closed && input.len() < MAX_INPUT_WHILE_WRITING;
        if can_read {
            reserve_input(input, input_peak);
        }
        // Writing comes first: input is read only while the client is not taking replies
        // (the deadlock this loop exists for), so a client that pipelines while it reads,
        // as `redis-cli --pipe` does, never piles its requests up here.
        tokio::select! {
            biased;
            written = writer.write(output) => {
                let written = written?;
                if written == 0 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                node.net.output_bytes.fetch_add(written as u64, Ordering::Relaxed);
                bytes::Buf::advance(output, written);
            }
            () = outbox.ready.notified() => {
                // Messages wait for the next pass; a subscriber cut off stops here.
                if outbox.is_closed() {
                    return Err(std::io::ErrorKind::ConnectionAborted.into());
                }
                read_any = true;
            }
            read = reader.read_buf(input), if can_read => {
                let read = read?;
                if read == 0 {
                    *peer_closed = true;
                } else {
                    read_any = true;
                    node.net.input_bytes.fetch_add(read as u64, Ordering::Relaxed);
                }
            }
        }
    }
    if large_output {
        *output = BytesMut::with_capacity(READ_CHUNK);
    }
    Ok(read_any)
}

async fn write_out(
    node: &NodeState,
    socket: &mut TcpStream,
    output: &mut BytesMut,
) -> std::io::Result<()> {
    socket.write_all(output).await?;
    node.net
        .output_bytes
        .fetch_add(output.len() as u64, Ordering::Relaxed);
    output.clear();
    if output.capacity() > KEEP_BUFFER {
        *output = BytesMut::with_capacity(READ_CHUNK);
    }
    Ok(())
}
