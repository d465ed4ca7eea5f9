//! Connected clients: each connection's own state, and the registry behind `CLIENT LIST`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::{Protocol, Reply};

use crate::pubsub::{Outbox, Subscriptions};

/// What `CLIENT LIST` shows of a client, updated by its connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientView {
    /// `CLIENT SETNAME` name (empty: none).
    pub(crate) name: String,
    /// `CLIENT SETINFO LIB-NAME`.
    pub(crate) lib_name: String,
    /// `CLIENT SETINFO LIB-VER`.
    pub(crate) lib_ver: String,
    /// Selected database.
    pub(crate) db: usize,
    /// Last command run, as `name` or `container|sub`.
    pub(crate) last_command: String,
    /// When the last command ran.
    pub(crate) last_active: Option<Instant>,
    /// Protocol version negotiated.
    pub(crate) resp: i64,
    /// Channels, patterns and shard channels subscribed to (`sub`, `psub`, `ssub`).
    pub(crate) subs: (usize, usize, usize),
    /// Commands queued in `MULTI` (-1: not in a transaction).
    pub(crate) multi: i64,
    /// While client-side caching is on: the `REDIRECT` id (0: none) and the flags it shows
    /// (`t`, then `R` for a broken redirection, `B` for `BCAST`).
    pub(crate) tracking: Option<(u64, &'static str)>,
}

/// A client as the registry sees it.
#[derive(Debug)]
pub(crate) struct ClientHandle {
    /// Client id (`CLIENT ID`), unique for the node's lifetime.
    pub(crate) id: u64,
    /// Peer address.
    pub(crate) addr: SocketAddr,
    /// Local address of the connection.
    pub(crate) laddr: SocketAddr,
    /// When the connection was accepted.
    pub(crate) created: Instant,
    /// Fields that change while connected.
    pub(crate) view: Mutex<ClientView>,
    /// Woken by `CLIENT KILL`; the connection closes.
    pub(crate) kill: tokio::sync::Notify,
    /// True once this connection became a standby link (`CLIENT KILL TYPE replica`).
    pub(crate) is_replica: AtomicBool,
    /// Pub/sub messages on their way to this client.
    pub(crate) outbox: Arc<Outbox>,
}

impl ClientHandle {
    /// A handle for a connection accepted now.
    pub(crate) fn new(id: u64, addr: SocketAddr, laddr: SocketAddr) -> ClientHandle {
        ClientHandle {
            id,
            addr,
            laddr,
            created: Instant::now(),
            view: Mutex::new(ClientView {
                resp: 2,
                multi: -1,
                ..ClientView::default()
            }),
            kill: tokio::sync::Notify::new(),
            is_replica: AtomicBool::new(false),
            outbox: Arc::new(Outbox::default()),
        }
    }

    /// One line of `CLIENT LIST` / `CLIENT INFO` in Redis's field order.
    pub(crate) fn info_line(&self) -> String {
        let view = self.view.lock().clone();
        let now = Instant::now();
        let idle = view
            .last_active
            .map_or(0, |t| now.duration_since(t).as_secs());
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
             qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r \
             cmd={} user=default redir={} resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            view.name,
            now.duration_since(self.created).as_secs(),
            idle,
            self.flags(&view),
            view.db,
            view.subs.0,
            view.subs.1,
            view.subs.2,
            view.multi,
            self.outbox.queued_bytes(),
            if view.last_command.is_empty() { "NULL" } else { &view.last_command },
            view.tracking.map_or(-1, |(redirect, _)| redirect as i64),
            view.resp,
            view.lib_name,
            view.lib_ver,
        )
    }
}

impl ClientHandle {
    /// `CLIENT LIST` flags: `S` standby link, `P` subscribed, `x` in `MULTI`, `t`/`R`/`B`
    /// client-side caching, else `N`.
    fn flags(&self, view: &ClientView) -> String {
        let mut flags = String::new();
        if self.is_replica.load(Ordering::Relaxed) {
            flags.push('S');
        }
        if view.subs.0 + view.subs.1 + view.subs.2 > 0 {
            flags.push('P');
        }
        if view.multi >= 0 {
            flags.push('x');
        }
        if let Some((_, tracking)) = view.tracking {
            flags.push_str(tracking);
        }
        if flags.is_empty() {
            flags.push('N');
        }
        flags
    }
}

/// A `CLIENT PAUSE` in force.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pause {
    /// When it ends.
    pub(crate) until: tokio::time::Instant,
    /// `ALL`: every command waits; else (`WRITE`) only writes and `PUBLISH`.
    pub(crate) all: bool,
}

/// Every connected client, by id, and the `CLIENT PAUSE` in force.
#[derive(Debug, Default)]
pub(crate) struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    pause: Mutex<Option<Pause>>,
    /// Whether `pause` may hold a pause: read without the lock by every batch, so a node
    /// that is not paused costs its connections no shared lock.
    maybe_paused: AtomicBool,
    /// Woken by `CLIENT UNPAUSE` and by a new pause.
    pub(crate) pause_changed: tokio::sync::Notify,
}

impl ClientRegistry {
    /// Adds a client.
    pub(crate) fn add(&self, client: Arc<ClientHandle>) {
        self.clients.lock().insert(client.id, client);
    }

    /// Removes a client when its connection ends.
    pub(crate) fn remove(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// Number of connected clients.
    pub(crate) fn len(&self) -> usize {
        self.clients.lock().len()
    }

    /// Pauses clients until `pause.until` (`CLIENT PAUSE`), replacing any pause in force.
    pub(crate) fn pause(&self, pause: Pause) {
        let mut slot = self.pause.lock();
        *slot = Some(pause);
        self.maybe_paused.store(true, Ordering::Release);
        drop(slot);
        self.pause_changed.notify_waiters();
    }

    /// Ends the pause (`CLIENT UNPAUSE`).
    pub(crate) fn unpause(&self) {
        let mut slot = self.pause.lock();
        *slot = None;
        self.maybe_paused.store(false, Ordering::Release);
        drop(slot);
        self.pause_changed.notify_waiters();
    }

    /// The pause in force, if it has not ended.
    pub(crate) fn pause_in_force(&self) -> Option<Pause> {
        if !self.maybe_paused.load(Ordering::Acquire) {
            return None;
        }
        let mut pause = self.pause.lock();
        if pause.is_some_and(|p| p.until <= tokio::time::Instant::now()) {
            *pause = None;
            self.maybe_paused.store(false, Ordering::Release);
        }
        *pause
    }

    /// All clients, in id order.
    pub(crate) fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.clients.lock().values().cloned().collect()
    }
}

/// One connection's own state, seen by the commands it runs.
#[derive(Debug)]
pub(crate) struct Session {
    /// Registry entry (id, addresses, the view `CLIENT LIST` shows).
    pub(crate) handle: Arc<ClientHandle>,
    /// Selected database index.
    pub(crate) db: usize,
    /// Protocol negotiated with `HELLO`.
    pub(crate) protocol: Protocol,
    /// True once `AUTH`/`HELLO AUTH` succeeded, or when no password is required.
    pub(crate) authenticated: bool,
    /// Set by `QUIT`: close once the replies so far are written.
    pub(crate) close_after_reply: bool,
    /// `CLIENT SETNAME` name.
    pub(crate) name: Option<Bytes>,
    /// True for the link applying this standby's primary stream: it may write, and sees keys
    /// as the primary does.
    pub(crate) primary_link: bool,
    /// Port announced with `REPLCONF listening-port` (a standby connecting to us).
    pub(crate) listening_port: u16,
    /// Stream offset after this client's latest write (for `WAIT`).
    pub(crate) last_write_offset: u64,
    /// Work for the connection once the current batch's replies are out.
    pub(crate) action: Option<SessionAction>,
    /// Configuration epoch this connection presented (`EPOCH n`), if any.
    pub(crate) epoch: Option<u64>,
    /// The transaction being queued after `MULTI`.
    pub(crate) multi: Option<Transaction>,
    /// Keys `WATCH`ed: database, key, version seen and whether it was live then.
    pub(crate) watched: Vec<WatchedKey>,
    /// True while `EXEC` (or a script) runs its commands: blocking commands do not block.
    pub(crate) in_atomic_unit: bool,
    /// Channels, patterns and shard channels subscribed to.
    pub(crate) subs: Subscriptions,
    /// Replies to send before the current command's own reply (`SUBSCRIBE a b` answers one
    /// frame per channel).
    pub(crate) frames: Vec<Reply>,
    /// `CLIENT REPLY OFF`: replies are not sent.
    pub(crate) replies_off: bool,
    /// Replies still to drop after `CLIENT REPLY SKIP` (its own, then the next).
    pub(crate) skip_replies: u8,
    /// `CLIENT NO-TOUCH on`: this client's commands (but `TOUCH`) leave keys' LRU/LFU alone.
    pub(crate) no_touch: bool,
    /// Whether the script thread serves this connection.
    pub(crate) script_thread: ScriptThread,
}

/// A transaction being queued: its commands, resolved and checked, and whether one was
/// refused (then `EXEC` fails with `EXECABORT`).
#[derive(Debug, Default)]
pub(crate) struct Transaction {
    /// Queued commands with their arguments.
    pub(crate) queued: Vec<(Resolved, Vec<Bytes>)>,
    /// True once a command was refused while queuing.
    pub(crate) failed: bool,
}

/// One key watched by a client.
#[derive(Clone, Debug)]
pub(crate) struct WatchedKey {
    /// Database.
    pub(crate) db: usize,
    /// Key.
    pub(crate) key: Bytes,
    /// Version when watched (see `crate::keyspace::watch`).
    pub(crate) version: u64,
    /// True when the key existed, unexpired, when watched.
    pub(crate) live: bool,
}

/// What a command asks of its connection beyond a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SessionAction {
    /// `PSYNC replid offset`: the connection becomes a standby link.
    Psync {
        /// Replication id the standby follows (`?` for none).
        replid: String,
        /// First stream byte it needs (-1 for none).
        offset: i64,
    },
    /// `WAIT numreplicas timeout`: reply once enough standbys acked, or at the deadline.
    Wait {
        /// Standbys that must ack.
        replicas: usize,
        /// Deadline in ms (0: none).
        timeout_ms: u64,
    },
}

impl Session {
    /// A fresh session for a client.
    pub(crate) fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Session {
        Session {
            handle,
            db: 0,
            protocol: Protocol::Resp2,
            authenticated,
            close_after_reply: false,
            name: None,
            primary_link: false,
            listening_port: 0,
            last_write_offset: 0,
            action: None,
            epoch: None,
            multi: None,
            watched: Vec::new(),
            in_atomic_unit: false,
            subs: Subscriptions::default(),
            frames: Vec::new(),
            replies_off: false,
            skip_replies: 0,
            no_touch: false,
            script_thread: ScriptThread::Away,
        }
    }
}

/// Where a connection stands towards the script thread ([`NodeState::script_runtime`]).
///
/// [`NodeState::script_runtime`]: crate::state::NodeState::script_runtime
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScriptThread {
    /// Served by the node's workers; has run no script.
    Away,
    /// Has run a script: moves to the script thread once its replies are out.
    Moving,
    /// Served by the script thread.
    On,
}
