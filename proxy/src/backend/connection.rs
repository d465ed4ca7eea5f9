//! One multiplexed, pipelined connection to a node.
//!
//! Requests from any number of client sessions arrive on a channel already encoded; the writer
//! sends them in arrival order, batching whatever is queued into one write, and records each
//! request's reply slot; the reader completes the slots in the same order as replies arrive,
//! handing back each reply's raw bytes (a request of several commands sent as one, such as a
//! whole `MULTI ... EXEC` block, gets their replies together). When the connection fails, every request that was
//! written (or partly written) gets a "connection lost" error: it may have run, so it is never
//! resent. The supervisor reconnects with exponential backoff; while the node is unreachable new
//! requests fail at once instead of waiting.
//!
//! When a committed topology replaces the node as its group's primary (a failover; see
//! [`Health::replaced`](super::health::Health::replaced)), requests still waiting on it do not
//! wait for the request timeout: once the node has answered nothing for [`REPLACED_SILENCE`],
//! the connection fails them with a retriable `-TRYAGAIN` and reconnects. A node that keeps
//! answering (a planned switchover, where requests to the old primary finish before the
//! commit) is left alone.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use redoubt_protocol::reply_decoder::ReplyDecoder;
use redoubt_protocol::request::encode_request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, warn};

use super::node_client::{ConnectOptions, NodeClient};

/// Why a request to a node got no reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BackendError {
    /// The node could not be reached; the request was not sent.
    #[error("ERR node {0} unavailable")]
    Unavailable(SocketAddr),
    /// The connection failed after the request was sent; it may have run.
    #[error("ERR connection to node {0} lost")]
    ConnectionLost(SocketAddr),
    /// No reply within the request timeout.
    #[error("ERR node {0} timed out")]
    Timeout(SocketAddr),
    /// A failover replaced the node as primary while the request waited on it, and the node
    /// answered nothing since: the request may have run there, but no acknowledgement will
    /// come. `-TRYAGAIN`, which cluster clients retry; the new primary takes the retry.
    #[error("TRYAGAIN node {0} was replaced as primary by a failover; the request may have run")]
    Replaced(SocketAddr),
}

/// A node's reply: its raw RESP bytes, ready to pass through to a client on the same protocol.
pub(crate) type BackendReply = Result<Bytes, BackendError>;

/// A request on its way to a node.
#[derive(Debug)]
pub(crate) struct Job {
    /// The request, RESP-encoded.
    pub(crate) request: Bytes,
    /// Where the reply goes.
    pub(crate) reply: oneshot::Sender<BackendReply>,
    /// How many replies the request gets (commands in it): they go to `reply` together.
    pub(crate) replies: u32,
}

/// A written request's place in the reply order.
struct Slot {
    reply: oneshot::Sender<BackendReply>,
    /// Replies it gets (commands in it), split off the read buffer together.
    replies: u32,
}

/// When a node's connections last received a reply, so that a request timeout fails requests
/// to a node that stopped answering, not requests queued behind many others on a node that is
/// answering steadily (a long pipeline, a mass insertion).
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Milliseconds since [`Progress::origin`] at the last reply.
    last_ms: AtomicU64,
}

impl Progress {
    fn origin() -> tokio::time::Instant {
        static ORIGIN: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
        *ORIGIN.get_or_init(tokio::time::Instant::now)
    }

    /// Records that a reply arrived now.
    fn record(&self) {
        let ms = Progress::origin().elapsed().as_millis() as u64;
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// When the last reply arrived (the origin if none has).
    pub(crate) fn last_reply(&self) -> tokio::time::Instant {
        Progress::origin() + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A handle to one supervised connection.
#[derive(Clone, Debug)]
pub(crate) struct BackendConnection {
    jobs: mpsc::UnboundedSender<Job>,
    up: Arc<AtomicBool>,
    epoch: Option<Arc<AtomicU64>>,
    /// Highest epoch presented on the live connection.
    presented: Arc<AtomicU64>,
}

/// Largest batch of queued requests written at once (bytes).
const WRITE_BATCH: usize = 64 * 1024;
/// A buffer of a backend connection whose room has exceeded this (bytes), for one huge request
/// or reply, is released once empty, so it does not pin memory for the connection's lifetime.
const KEEP_BUFFER: usize = 1024 * 1024;
/// Backoff bounds between reconnection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(20);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// How long a node replaced as primary may leave waiting requests unanswered before they fail
/// (shorter than any `down-after`: a primary is only replaced after that much silence).
pub(crate) const REPLACED_SILENCE: Duration = Duration::from_millis(100);

impl BackendConnection {
    /// Starts the supervisor task for one connection.
    /// Replies received are recorded in `progress`, shared by the node's connections;
    /// `replaced` changes when a failover replaces the node as its group's primary.
    pub(crate) fn spawn(
        options: ConnectOptions,
        progress: Arc<Progress>,
        replaced: watch::Receiver<u64>,
    ) -> BackendConnection {
        let (jobs, rx) = mpsc::unbounded_channel();
        let up = Arc::new(AtomicBool::new(false));
        let presented = Arc::new(AtomicU64::new(0));
        let epoch = options.epoch.clone();
        tokio::spawn(supervise(
            options,
            rx,
            up.clone(),
            presented.clone(),
            progress,
            replaced,
        ));
        BackendConnection {
            jobs,
            up,
            epoch,
            presented,
        }
    }

    /// Queues `request`, which holds `replies` commands (at least 1); their replies arrive
    /// together, concatenated, on the returned receiver.
    pub(crate) fn send(&self, request: Bytes, replies: u32) -> oneshot::Receiver<BackendReply> {
        if let Some(cell) = &self.epoch {
            let epoch = cell.load(Ordering::SeqCst);
            if epoch > self.presented.load(Ordering::SeqCst)
                && epoch > self.presented.fetch_max(epoch, Ordering::SeqCst)
            {
                // Present the new epoch first; its reply is not wanted.
                let (reply, _) = oneshot::channel();
                let request = encode_request(&[b"EPOCH", epoch.to_string().as_bytes()]);
                let _ = self.jobs.send(Job {
                    request,
                    reply,
                    replies: 1,
                });
            }
        }
        let (reply, rx) = oneshot::channel();
        let job = Job {
            request,
            reply,
            replies: replies.max(1),
        };
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(job) {
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
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }
}

async fn supervise(
    options: ConnectOptions,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    up: Arc<AtomicBool>,
    presented: Arc<AtomicU64>,
    progress: Arc<Progress>,
    mut replaced: watch::Receiver<u64>,
) {
    let addr = options.addr;
    let mut backoff = BACKOFF_MIN;
    loop {
        match NodeClient::connect(&options).await {
            Ok(client) => {
                presented.store(client.epoch(), Ordering::SeqCst);
                let (stream, leftover) = client.into_parts();
                debug!(%addr, "connected to node");
                up.store(true, Ordering::Relaxed);
                backoff = BACKOFF_MIN;
                let live = Live {
                    jobs: &mut jobs,
                    options: &options,
                    progress: &progress,
                    replaced: &mut replaced,
                };
                let closed = serve(stream, leftover, live).await;
                up.store(false, Ordering::Relaxed);
                if closed {
                    return;
                }
                warn!(%addr, "connection to node lost");
            }
            Err(err) => debug!(%addr, %err, "cannot connect to node"),
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

/// What one live connection works with, besides its stream.
struct Live<'a> {
    jobs: &'a mut mpsc::UnboundedReceiver<Job>,
    options: &'a ConnectOptions,
    progress: &'a Progress,
    replaced: &'a mut watch::Receiver<u64>,
}

/// How a live connection ended.
enum End {
    /// Every handle is gone.
    Closed,
    /// The stream failed.
    Failed,
    /// A failover replaced the node and it left requests unanswered.
    Replaced,
}

/// Runs one live connection until it fails (false) or every handle is gone (true).
async fn serve(mut stream: TcpStream, leftover: BytesMut, live: Live<'_>) -> bool {
    let Live {
        jobs,
        options,
        progress,
        replaced,
    } = live;
    let addr = options.addr;
    // A replacement before this connection was up concerns requests it never carried.
    replaced.borrow_and_update();
    let (mut reader, mut writer) = stream.split();
    // Reply slots of the requests written, in order; the writer pushes a request's slot before
    // writing it, so a reply always finds its slot here.
    let inflight: Mutex<VecDeque<Slot>> = Mutex::new(VecDeque::new());
    // Requests written and not answered yet.
    let waiting = AtomicU64::new(0);
    let write_side = async {
        let mut batch = BytesMut::with_capacity(WRITE_BATCH);
        loop {
            let Some(job) = jobs.recv().await else {
                return true;
            };
            let count = {
                let mut slots = inflight.lock();
                batch.extend_from_slice(&job.request);
                slots.push_back(Slot {
                    reply: job.reply,
                    replies: job.replies,
                });
                let mut count = 1;
                while batch.len() < WRITE_BATCH {
                    match jobs.try_recv() {
                        Ok(job) => {
                            batch.extend_from_slice(&job.request);
                            slots.push_back(Slot {
                                reply: job.reply,
                                replies: job.replies,
                            });
                            count += 1;
                        }
                        Err(_) => break,
                    }
                }
                count
            };
            waiting.fetch_add(count, Ordering::Relaxed);
            if writer.write_all(&batch).await.is_err() {
                return false;
            }
            batch.clear();
            if batch.capacity() > KEEP_BUFFER {
                batch = BytesMut::with_capacity(WRITE_BATCH);
            }
        }
    };
    let read_side = async {
        let mut buf = leftover;
        let mut decoder = ReplyDecoder::new();
        // The most room `buf` has had since it was last replaced: the room it reports after
        // replies are split off can be far below its allocation.
        let mut peak = buf.capacity();
        loop {
            loop {
                // The oldest request's replies, split off together once the last has come
                // (a reply with no request in flight is split alone, and fails the connection).
                let mut slots = inflight.lock();
                let count = slots.front().map_or(1, |slot| slot.replies);
                match decoder.next_frames(&mut buf, count) {
                    Ok(Some(reply)) => {
                        let Some(slot) = slots.pop_front() else {
                            warn!(%addr, "a reply from node with no request; dropping the connection");
                            return;
                        };
                        drop(slots);
                        waiting.fetch_sub(1, Ordering::Relaxed);
                        let _ = slot.reply.send(Ok(reply));
                    }
                    Ok(None) => break,
                    Err(_) => {
                        warn!(%addr, "malformed reply from node; dropping the connection");
                        return;
                    }
                }
            }
            if buf.is_empty() && peak > KEEP_BUFFER {
                buf = BytesMut::new();
                peak = 0;
            }
            buf.reserve(16 * 1024);
            peak = peak.max(buf.capacity());
            match reader.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                // The node answers: once per read, whatever it holds.
                Ok(_) => progress.record(),
            }
        }
    };
    let watch_replaced = async {
        loop {
            if replaced.changed().await.is_err() {
                return std::future::pending().await;
            }
            // Replaced as primary: whatever waits on the node fails once it has been silent
            // for REPLACED_SILENCE; once nothing waits, the connection goes on as before.
            while waiting.load(Ordering::Relaxed) > 0 {
                let silent = progress.last_reply().elapsed();
                if silent >= REPLACED_SILENCE {
                    return;
                }
                tokio::time::sleep(REPLACED_SILENCE - silent).await;
            }
        }
    };
    let end = tokio::select! {
        closed = write_side => if closed { End::Closed } else { End::Failed },
        () = read_side => End::Failed,
        () = watch_replaced => End::Replaced,
    };
    // Everything written or being written may have run: fail it, never resend it.
    drop(stream);
    let inflight = inflight.into_inner();
    let error = match end {
        End::Replaced => {
            warn!(%addr, "node replaced as primary; failing the requests it left unanswered");
            // Queued but never written: nothing ran, but the node will not serve them soon.
            while let Ok(job) = jobs.try_recv() {
                let _ = job.reply.send(Err(BackendError::Unavailable(addr)));
            }
            BackendError::Replaced(addr)
        }
        End::Closed | End::Failed => BackendError::ConnectionLost(addr),
    };
    for slot in inflight {
        let _ = slot.reply.send(Err(error.clone()));
    }
    matches!(end, End::Closed)
}
