//! One multiplexed, pipelined connection to a node.
//!
//! Requests from any number of client sessions arrive on a channel already encoded; the writer
//! sends them in arrival order, batching whatever is queued into one write, and records each
//! request's reply slot; the reader completes the slots in the same order as replies arrive,
//! handing back each reply's raw bytes. When the connection fails, every request that was
//! written (or partly written) gets a "connection lost" error: it may have run, so it is never
//! resent. The supervisor reconnects with exponential backoff; while the node is unreachable new
//! requests fail at once instead of waiting.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use redoubt_protocol::request::encode_request;
use redoubt_protocol::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

/// Why a request to a node got no reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The node could not be reached; the request was not sent.
    #[error("ERR node {0} unavailable")]
    Unavailable(SocketAddr),
    /// The connection failed after the request was sent; it may have run.
    #[error("ERR connection to node {0} lost")]
    ConnectionLost(SocketAddr),
    /// No reply within the request timeout.
    #[error("ERR node {0} timed out")]
    Timeout(SocketAddr),
    /// The node answered with something that is not RESP.
    #[error("ERR node {0} sent a malformed reply")]
    Malformed(SocketAddr),
}

/// A node's reply: its raw RESP bytes, ready to pass through to a client on the same protocol.
pub type BackendReply = Result<Bytes, BackendError>;

/// A request on its way to a node.
#[derive(Debug)]
pub struct Job {
    /// The request, RESP-encoded.
    pub request: Bytes,
    /// Where the reply goes.
    pub reply: oneshot::Sender<BackendReply>,
}

/// How to reach and greet a node.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// The node.
    pub addr: SocketAddr,
    /// Protocol to negotiate (`HELLO 3` for RESP3).
    pub protocol: Protocol,
    /// Password to authenticate with.
    pub password: Option<String>,
    /// Deadline of connecting and greeting.
    pub connect_timeout: Duration,
    /// The group's configuration epoch, presented to the node (`EPOCH n`) on connecting and
    /// again before the next request whenever it rises, so the node can fence stale writers.
    pub epoch: Option<Arc<AtomicU64>>,
}

/// A handle to one supervised connection.
#[derive(Clone, Debug)]
pub struct BackendConnection {
    jobs: mpsc::UnboundedSender<Job>,
    up: Arc<AtomicBool>,
    epoch: Option<Arc<AtomicU64>>,
    /// Highest epoch presented on the live connection.
    presented: Arc<AtomicU64>,
}

/// Largest batch of queued requests written at once (bytes).
const WRITE_BATCH: usize = 64 * 1024;
/// Backoff bounds between reconnection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(20);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

impl BackendConnection {
    /// Starts the supervisor task for one connection.
    pub fn spawn(options: ConnectOptions) -> BackendConnection {
        let (jobs, rx) = mpsc::unbounded_channel();
        let up = Arc::new(AtomicBool::new(false));
        let presented = Arc::new(AtomicU64::new(0));
        let epoch = options.epoch.clone();
        tokio::spawn(supervise(options, rx, up.clone(), presented.clone()));
        BackendConnection {
            jobs,
            up,
            epoch,
            presented,
        }
    }

    /// Queues `request`; the reply arrives on the returned receiver.
    pub fn send(&self, request: Bytes) -> oneshot::Receiver<BackendReply> {
        if let Some(cell) = &self.epoch {
            let epoch = cell.load(Ordering::SeqCst);
            if epoch > self.presented.fetch_max(epoch, Ordering::SeqCst) {
                // Present the new epoch first; its reply is not wanted.
                let (reply, _) = oneshot::channel();
                let request = encode_request(&[b"EPOCH", epoch.to_string().as_bytes()]);
                let _ = self.jobs.send(Job { request, reply });
            }
        }
        let (reply, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(Job { request, reply }) {
            let _ = job
                .reply
                .send(Err(BackendError::Unavailable(SocketAddr::from((
                    [0, 0, 0, 0],
                    0,
                )))));
        }
        rx
    }

    /// True while connected.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }
}

async fn supervise(
    options: ConnectOptions,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    up: Arc<AtomicBool>,
    presented: Arc<AtomicU64>,
) {
    let addr = options.addr;
    let mut backoff = BACKOFF_MIN;
    loop {
        match tokio::time::timeout(options.connect_timeout, connect(&options)).await {
            Ok(Ok((stream, leftover, epoch))) => {
                presented.store(epoch, Ordering::SeqCst);
                debug!(%addr, "connected to node");
                up.store(true, Ordering::Relaxed);
                backoff = BACKOFF_MIN;
                let closed = serve(stream, leftover, &mut jobs, &options).await;
                up.store(false, Ordering::Relaxed);
                if closed {
                    return;
                }
                warn!(%addr, "connection to node lost");
            }
            Ok(Err(err)) => debug!(%addr, %err, "cannot connect to node"),
            Err(_) => debug!(%addr, "connecting to node timed out"),
        }
        // Until the next attempt, fail new requests at once rather than let them wait.
        let retry_at = tokio::time::Instant::now() + backoff;
        loop {
            tokio::select! {
                job = jobs.recv() => match job {
                    Some(job) => { let _ = job.reply.send(Err(BackendError::Unavailable(addr))); }
                    None => return,
                },
                () = tokio::time::sleep_until(retry_at) => break,
            }
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Connects and greets: `HELLO 3 [AUTH default pw]` for RESP3, `AUTH pw` for RESP2.
/// Connects and greets; returns the stream, any bytes read past the greeting, and the epoch
/// presented.
async fn connect(options: &ConnectOptions) -> std::io::Result<(TcpStream, BytesMut, u64)> {
    let mut stream = TcpStream::connect(options.addr).await?;
    stream.set_nodelay(true)?;
    let epoch = options
        .epoch
        .as_ref()
        .map_or(0, |e| e.load(Ordering::SeqCst));
    let (buf, expected) = greet(&mut stream, options, epoch).await?;
    let _ = expected;
    Ok((stream, buf, epoch))
}

/// Sends the greeting (`HELLO 3`/`AUTH`, then `EPOCH` when there is one) and reads every reply.
async fn greet(
    stream: &mut TcpStream,
    options: &ConnectOptions,
    epoch: u64,
) -> std::io::Result<(BytesMut, usize)> {
    let mut hello: Vec<&[u8]> = Vec::new();
    match (options.protocol, &options.password) {
        (Protocol::Resp3, Some(pw)) => {
            hello.extend([&b"HELLO"[..], b"3", b"AUTH", b"default", pw.as_bytes()])
        }
        (Protocol::Resp3, None) => hello.extend([&b"HELLO"[..], b"3"]),
        (Protocol::Resp2, Some(pw)) => hello.extend([&b"AUTH"[..], pw.as_bytes()]),
        (Protocol::Resp2, None) => {}
    }
    let mut buf = BytesMut::with_capacity(4096);
    let mut out = BytesMut::new();
    let mut expected = 0;
    if !hello.is_empty() {
        out.extend_from_slice(&encode_request(&hello));
        expected += 1;
    }
    let epoch_text = epoch.to_string();
    if epoch > 0 {
        out.extend_from_slice(&encode_request(&[b"EPOCH", epoch_text.as_bytes()]));
        expected += 1;
    }
    if expected == 0 {
        return Ok((buf, 0));
    }
    stream.write_all(&out).await?;
    let mut decoder = ReplyDecoder::new(options.protocol);
    let mut received = 0;
    loop {
        match decoder.next(&mut buf) {
            Ok(Some(reply)) if reply.first() == Some(&b'-') => {
                let text = String::from_utf8_lossy(&reply).trim().to_string();
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    text,
                ));
            }
            Ok(Some(_)) => {
                received += 1;
                if received == expected {
                    return Ok((buf, expected));
                }
            }
            Ok(None) => {
                if stream.read_buf(&mut buf).await? == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "node closed during greeting",
                    ));
                }
            }
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "malformed greeting reply",
                ))
            }
        }
    }
}

/// Runs one live connection until it fails (false) or every handle is gone (true).
async fn serve(
    mut stream: TcpStream,
    leftover: BytesMut,
    jobs: &mut mpsc::UnboundedReceiver<Job>,
    options: &ConnectOptions,
) -> bool {
    let addr = options.addr;
    let (mut reader, mut writer) = stream.split();
    let (inflight_tx, mut inflight_rx) = mpsc::unbounded_channel::<oneshot::Sender<BackendReply>>();
    let write_side = async {
        let mut batch = BytesMut::with_capacity(WRITE_BATCH);
        loop {
            let Some(job) = jobs.recv().await else {
                return true;
            };
            batch.extend_from_slice(&job.request);
            let _ = inflight_tx.send(job.reply);
            while batch.len() < WRITE_BATCH {
                match jobs.try_recv() {
                    Ok(job) => {
                        batch.extend_from_slice(&job.request);
                        let _ = inflight_tx.send(job.reply);
                    }
                    Err(_) => break,
                }
            }
            if writer.write_all(&batch).await.is_err() {
                return false;
            }
            batch.clear();
        }
    };
    let read_side = async {
        let mut buf = leftover;
        let mut decoder = ReplyDecoder::new(options.protocol);
        loop {
            loop {
                match decoder.next(&mut buf) {
                    Ok(Some(reply)) => match inflight_rx.recv().await {
                        Some(slot) => {
                            let _ = slot.send(Ok(reply));
                        }
                        None => return,
                    },
                    Ok(None) => break,
                    Err(MalformedReply) => {
                        warn!(%addr, "malformed reply from node; dropping the connection");
                        return;
                    }
                }
            }
            buf.reserve(16 * 1024);
            match reader.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let closed = tokio::select! {
        closed = write_side => closed,
        () = read_side => false,
    };
    // Everything written or being written may have run: fail it, never resend it.
    drop(stream);
    inflight_rx.close();
    while let Ok(slot) = inflight_rx.try_recv() {
        let _ = slot.send(Err(BackendError::ConnectionLost(addr)));
    }
    closed
}

/// A node sent bytes that are not RESP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed reply")]
pub struct MalformedReply;

/// Splits a node's reply stream into whole replies of either protocol.
///
/// It scans frame headers and tracks open aggregates, remembering where it stopped, so a reply
/// that arrives in many reads is scanned once in total (`redis-protocol`'s decoders restart
/// from the beginning on every call, quadratic for a large array arriving in pieces). Nothing
/// is decoded: the reply's raw bytes go back to the client as they are.
#[derive(Debug, Default)]
pub struct ReplyDecoder {
    /// Bytes of the current reply already scanned.
    pos: usize,
    /// Elements still expected by each open aggregate, innermost last.
    open: Vec<u64>,
}

impl ReplyDecoder {
    /// A decoder for a connection speaking `protocol` (the scanner accepts both).
    pub fn new(protocol: Protocol) -> Self {
        let _ = protocol;
        ReplyDecoder::default()
    }

    /// The next whole reply's raw bytes, split off `buf`; `Ok(None)` if it is not all here.
    ///
    /// # Errors
    /// [`MalformedReply`] when the bytes are not RESP.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, MalformedReply> {
        loop {
            let rest = &buf[self.pos..];
            let Some(line_len) = rest.windows(2).position(|w| w == b"\r\n") else {
                return Ok(None);
            };
            let kind = *rest.first().ok_or(MalformedReply)?;
            let number = || -> Result<i64, MalformedReply> {
                let text = std::str::from_utf8(&rest[1..line_len]).map_err(|_| MalformedReply)?;
                text.parse::<i64>().map_err(|_| MalformedReply)
            };
            let header = line_len + 2;
            match kind {
                b'+' | b'-' | b':' | b',' | b'#' | b'_' | b'(' => self.pos += header,
                b'$' | b'=' | b'!' => {
                    let n = number()?;
                    if n < 0 {
                        self.pos += header;
                    } else {
                        let total = header + n as usize + 2;
                        if rest.len() < total {
                            // Make room once for the rest of a large bulk.
                            buf.reserve(total - rest.len());
                            return Ok(None);
                        }
                        self.pos += total;
                    }
                }
                b'*' | b'~' | b'>' | b'%' | b'|' => {
                    let n = number()?;
                    self.pos += header;
                    let items = match kind {
                        b'%' => 2 * n.max(0) as u64,
                        b'|' => 2 * n.max(0) as u64 + 1,
                        _ => n.max(0) as u64,
                    };
                    if items > 0 {
                        self.open.push(items);
                        continue;
                    }
                }
                _ => return Err(MalformedReply),
            }
            // One element finished: close every aggregate it completes.
            while let Some(left) = self.open.last_mut() {
                *left -= 1;
                if *left > 0 {
                    break;
                }
                self.open.pop();
            }
            if self.open.is_empty() {
                let len = std::mem::take(&mut self.pos);
                return Ok(Some(buf.split_to(len).freeze()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(input: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        let mut decoder = ReplyDecoder::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(reply) = decoder.next(&mut buf).unwrap() {
                out.push(reply.to_vec());
            }
        }
        assert!(buf.is_empty());
        out
    }

    #[test]
    fn splits_replies_of_both_protocols_whatever_the_reads() {
        let replies: Vec<&[u8]> = vec![
            b"+OK\r\n",
            b"$-1\r\n",
            b"*-1\r\n",
            b"$5\r\nhello\r\n",
            b"*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n*0\r\n",
            b"%2\r\n$1\r\nk\r\n,1.5\r\n$1\r\nm\r\n~1\r\n#t\r\n",
            b"_\r\n",
            b"-ERR x\r\n",
            b"=7\r\ntxt:abc\r\n",
        ];
        let wire: Vec<u8> = replies.concat();
        for chunk in [1, 2, 3, 7, 1000] {
            let got = split_all(&wire, chunk);
            assert_eq!(
                got,
                replies.iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn rejects_garbage() {
        let mut buf = BytesMut::from(&b"?what\r\n"[..]);
        assert!(ReplyDecoder::default().next(&mut buf).is_err());
    }
}
