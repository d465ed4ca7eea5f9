//! Replication: a primary streams every change to its standbys; standbys apply it and serve
//! reads. Redis's model and vocabulary, so its tools understand it (`REPLICAOF`, `PSYNC`,
//! `REPLCONF ACK`, `ROLE`, `INFO replication`, `WAIT`).
//!
//! - The **stream** is the effect of every write, as RESP commands in execution order, with
//!   `SELECT` wherever the database changes. Requests that are not deterministic stream their
//!   effect instead (`SPOP` → `SREM` of what it chose; relative expiries → `PEXPIREAT`); keys
//!   the primary expires stream a `DEL`. Every byte has an **offset**.
//! - The [`backlog::Backlog`] keeps the latest stream bytes: a standby reconnecting with
//!   `PSYNC replid offset` continues from the backlog (`+CONTINUE`) when it still covers the
//!   offset, else gets `+FULLRESYNC` and a [`snapshot`], then the live stream.
//! - After `REPLICAOF NO ONE` the node takes a new replid and keeps the old one as `replid2`
//!   with the offset where it switched, so standbys of the old primary continue partially
//!   (PSYNC2); a standby that had more of the old history than the new primary resyncs fully.
//! - Standbys ack their applied offset (`REPLCONF ACK`) after every batch they apply; with
//!   `min-replicas-to-ack K` a write's reply waits for K acks (synchronous mode).

pub(crate) mod backlog;
pub(crate) mod primary;
pub(crate) mod snapshot;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use tokio::sync::Notify;

use self::backlog::Backlog;

/// Default `repl-backlog-size` (bytes).
pub(crate) const DEFAULT_BACKLOG_SIZE: usize = 64 * 1024 * 1024;

/// State of a standby's link to its primary (INFO `master_link_status`, ROLE's state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkState {
    /// Not connected; retrying.
    Connect,
    /// Connected, handshake in progress.
    Connecting,
    /// Receiving a full snapshot.
    Sync,
    /// Streaming.
    Connected,
}

impl LinkState {
    /// ROLE's name for the state.
    pub(crate) fn name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Sync => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// What a standby knows of its primary.
#[derive(Debug)]
pub(crate) struct PrimaryLink {
    /// The primary's address as given to `REPLICAOF`.
    pub(crate) host: String,
    /// Its port.
    pub(crate) port: u16,
    /// Link state.
    pub(crate) state: LinkState,
    /// Last time anything arrived from the primary.
    pub(crate) last_io: Instant,
    /// Stops the link task.
    pub(crate) stop: Arc<Notify>,
    /// Drops the current connection; the task reconnects (`CLIENT KILL TYPE master`).
    pub(crate) reconnect: Arc<Notify>,
}

/// A standby as its primary sees it.
#[derive(Clone, Debug)]
pub(crate) struct ReplicaInfo {
    /// The standby's IP.
    pub(crate) ip: String,
    /// The port it listens on for clients (`REPLCONF listening-port`).
    pub(crate) port: u16,
    /// `wait_bgsave`, `send_bulk` or `online`.
    pub(crate) state: &'static str,
    /// Highest offset it acked.
    pub(crate) ack_offset: u64,
    /// When it last acked.
    pub(crate) last_ack: Instant,
}

/// Replication state of one node (behind the store lock).
#[derive(Debug)]
pub(crate) struct Replication {
    /// `None` on a primary; the link on a standby.
    pub(crate) primary: Option<PrimaryLink>,
    /// Current replication id.
    pub(crate) replid: String,
    /// Previous replication id (all zeros if none).
    pub(crate) replid2: String,
    /// First offset not covered by `replid2` (`-1` if none), as INFO `second_repl_offset`.
    pub(crate) second_offset: i64,
    /// The stream's recent bytes; `None` until a standby first connects (as in Redis).
    pub(crate) backlog: Option<Backlog>,
    /// Offset of the stream so far (kept when there is no backlog yet).
    pub(crate) offset: u64,
    /// `repl-backlog-size` in bytes, applied when a backlog is created.
    pub(crate) backlog_size: usize,
    /// Database the stream last selected.
    pub(crate) stream_db: Option<usize>,
    /// Connected standbys by client id.
    pub(crate) replicas: BTreeMap<u64, ReplicaInfo>,
    /// Woken whenever the stream grows (feeds standby links).
    pub(crate) stream_grew: Arc<Notify>,
    /// Woken whenever a standby acks (synchronous mode and `WAIT`).
    pub(crate) acked: Arc<Notify>,
    /// Woken when this node starts following a primary ([`Replication::follow`]): the standby
    /// link task (`crate::standby`) picks the new link up.
    pub(crate) link_wanted: Arc<Notify>,
    /// Full resyncs served (INFO `sync_full`).
    pub(crate) sync_full: u64,
    /// Partial resyncs accepted (INFO `sync_partial_ok`).
    pub(crate) sync_partial_ok: u64,
    /// Partial resyncs refused (INFO `sync_partial_err`).
    pub(crate) sync_partial_err: u64,
    /// Standby side: partial resyncs this node obtained (`redoubt_partial_resyncs`).
    pub(crate) resyncs_partial: u64,
    /// Standby side: full resyncs this node went through.
    pub(crate) resyncs_full: u64,
    /// True once this node holds a history it can ask to continue (it loaded a snapshot,
    /// continued a stream, or was promoted), even at offset 0.
    pub(crate) has_history: bool,
    /// While `appendonly` is on: where every stream byte is also handed to the append-only
    /// file's writer (`crate::aof`), on a primary and on a standby alike.
    pub(crate) aof: Option<Arc<crate::aof::feed::Feed>>,
    /// Bytes copied out of the backlog (or a snapshot) that standby links are writing to
    /// their sockets now. They count in `used_memory` but evicting keys would not free them,
    /// so eviction leaves them out, as Redis leaves out its replicas' output buffers
    /// (`freeMemoryGetNotCountedMemory`).
    pub(crate) sending: Arc<std::sync::atomic::AtomicU64>,
    /// Scratch buffer for encoding stream commands.
    scratch: BytesMut,
    /// An atomic unit (`EXEC`, a script) is running: `Some(false)` before its first write,
    /// `Some(true)` once `MULTI` opened its block in the stream.
    unit: Option<bool>,
    /// While a script runs: the commands it streams, held back so they go out as one unit
    /// (see [`Replication::stream_script_effects`]).
    held: Option<Vec<(usize, Vec<bytes::Bytes>)>>,
}

impl Replication {
    /// Makes `replid` at `offset` this node's history (a full resync, or a snapshot loaded at
    /// start): a fresh backlog from `offset`, no previous replication id to continue (PSYNC2's
    /// `replid2` cleared), and `stream_db` as the database the stream last selected.
    pub(crate) fn take_history(&mut self, replid: String, offset: u64, stream_db: Option<usize>) {
        self.replid = replid;
        self.replid2 = "0".repeat(40);
        self.second_offset = -1;
        self.offset = offset;
        self.backlog = Some(backlog::Backlog::new(self.backlog_size, offset));
        self.stream_db = stream_db;
        self.has_history = true;
    }

    /// A primary's state with a fresh replid.
    pub(crate) fn new(replid: String) -> Replication {
        Replication {
            primary: None,
            replid,
            replid2: "0".repeat(40),
            second_offset: -1,
            backlog: None,
            offset: 0,
            backlog_size: DEFAULT_BACKLOG_SIZE,
            stream_db: None,
            replicas: BTreeMap::new(),
            stream_grew: Arc::new(Notify::new()),
            acked: Arc::new(Notify::new()),
            link_wanted: Arc::new(Notify::new()),
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            resyncs_partial: 0,
            resyncs_full: 0,
            has_history: false,
            aof: None,
            sending: Arc::default(),
            scratch: BytesMut::new(),
            unit: None,
            held: None,
        }
    }

    /// True on a standby.
    pub(crate) fn is_replica(&self) -> bool {
        self.primary.is_some()
    }

    /// Applies a new `repl-backlog-size` (bytes) to the backlog, now if one exists (keeping
    /// its newest bytes), else when it is created.
    pub(crate) fn set_backlog_size(&mut self, size: usize) {
        self.backlog_size = size;
        if let Some(backlog) = &mut self.backlog {
            backlog.resize(size);
        }
    }

    /// Makes this node a standby of `host:port` (`REPLICAOF`, `--replicaof`): stops the link
    /// to any previous primary, forgets this node's own standbys (their history is about to
    /// change), records the new link and signals the standby task to connect it.
    pub(crate) fn follow(&mut self, host: String, port: u16) {
        if let Some(old) = self.primary.take() {
            old.stop.notify_waiters();
        }
        self.replicas.clear();
        self.primary = Some(PrimaryLink {
            host,
            port,
            state: LinkState::Connect,
            last_io: Instant::now(),
            stop: Arc::new(Notify::new()),
            reconnect: Arc::new(Notify::new()),
        });
        self.link_wanted.notify_one();
    }

    /// Makes sure a backlog exists (created when the first standby connects).
    pub(crate) fn ensure_backlog(&mut self) -> &mut Backlog {
        let (size, offset) = (self.backlog_size, self.offset);
        self.backlog
            .get_or_insert_with(|| Backlog::new(size, offset))
    }

    /// True when a primary's writes must be streamed: a standby has needed the stream (a
    /// backlog exists) or the append-only file is on.
    pub(crate) fn streaming(&self) -> bool {
        (self.backlog.is_some() || self.aof.is_some()) && !self.is_replica()
    }

    /// Appends one command, executed in database `db`, to the stream (primary side). Does
    /// nothing until a backlog exists or the append-only file is on.
    pub(crate) fn propagate(&mut self, db: usize, args: &[&[u8]]) {
        if !self.streaming() {
            return;
        }
        if let Some(held) = &mut self.held {
            let args = args
                .iter()
                .map(|a| bytes::Bytes::copy_from_slice(a))
                .collect();
            held.push((db, args));
            return;
        }
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        if self.unit == Some(false) {
            snapshot::encode_command(&mut out, &[b"MULTI"]);
            self.unit = Some(true);
        }
        if self.stream_db != Some(db) {
            let mut digits = itoa::Buffer::new();
            snapshot::encode_command(&mut out, &[b"SELECT", digits.format(db).as_bytes()]);
            self.stream_db = Some(db);
        }
        snapshot::encode_command(&mut out, args);
        self.append_stream(&out);
        self.scratch = out;
    }

    /// Starts an atomic unit: the writes propagated until [`Replication::end_unit`] stream
    /// as one `MULTI` ... `EXEC` block, so a standby applies them together (nothing is
    /// streamed when none wrote). Source: Redis's `execCommand` propagation.
    pub(crate) fn begin_unit(&mut self) {
        self.unit = Some(false);
    }

    /// Ends the atomic unit, closing its block with `EXEC` if it was opened.
    pub(crate) fn end_unit(&mut self) {
        if self.unit.take() == Some(true) && self.streaming() {
            let mut out = BytesMut::new();
            snapshot::encode_command(&mut out, &[b"EXEC"]);
            self.append_stream(&out);
        }
    }

    /// Starts holding back what [`Replication::propagate`] streams: the effects of a script,
    /// sent by [`Replication::stream_script_effects`] when it ends.
    pub(crate) fn hold_script_effects(&mut self) {
        self.held = Some(Vec::new());
    }

    /// How many commands are held back so far (a script drops those it ran under
    /// `redis.set_repl(redis.REPL_NONE)` with [`Replication::drop_held_after`]).
    pub(crate) fn held_len(&self) -> usize {
        self.held.as_ref().map_or(0, Vec::len)
    }

    /// Forgets the held commands after the first `len`.
    pub(crate) fn drop_held_after(&mut self, len: usize) {
        if let Some(held) = &mut self.held {
            held.truncate(len);
        }
    }

    /// Streams a script's held effects as one atomic unit: a single command as it is, several
    /// wrapped in `MULTI` ... `EXEC` (in the first command's database), so a standby applies all
    /// or none of them, as Redis 7 propagates a script (`propagatePendingCommands`).
    pub(crate) fn stream_script_effects(&mut self) {
        let Some(held) = self.held.take() else {
            return;
        };
        // Inside a transaction's unit the block is already open.
        let wrap = held.len() > 1 && self.unit.is_none();
        if wrap {
            self.propagate(held[0].0, &[b"MULTI"]);
        }
        let last_db = held.last().map_or(0, |(db, _)| *db);
        for (db, args) in &held {
            let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
            self.propagate(*db, &refs);
        }
        if wrap {
            self.propagate(last_db, &[b"EXEC"]);
        }
    }

    /// Appends raw stream bytes (a primary's own commands, or what a standby received).
    pub(crate) fn append_stream(&mut self, bytes: &[u8]) {
        self.offset += bytes.len() as u64;
        if let Some(backlog) = &mut self.backlog {
            backlog.append(bytes);
        }
        if let Some(aof) = &self.aof {
            aof.push(bytes);
        }
        self.stream_grew.notify_waiters();
    }

    /// True when `PSYNC replid offset` (offset: the first byte the standby needs) can continue
    /// from the backlog; false means a full resync. Source: Redis `replication.c`,
    /// `masterTryPartialResynchronization`.
    pub(crate) fn can_continue(&self, replid: &str, offset: u64) -> bool {
        let id_ok = replid == self.replid
            || (replid == self.replid2 && offset as i64 <= self.second_offset);
        id_ok && self.backlog.as_ref().is_some_and(|b| b.covers(offset))
    }

    /// Switches to primary (`REPLICAOF NO ONE`): new replid, the old one kept with the offset
    /// where history forked.
    pub(crate) fn promote(&mut self, new_replid: String) {
        if let Some(link) = self.primary.take() {
            link.stop.notify_waiters();
        }
        self.replid2 = std::mem::replace(&mut self.replid, new_replid);
        self.second_offset = self.offset as i64 + 1;
        self.stream_db = None;
        self.has_history = true;
        self.ensure_backlog();
    }

    /// Number of standbys whose acked offset is at least `offset`.
    pub(crate) fn acked_at_least(&self, offset: u64) -> usize {
        self.replicas
            .values()
            .filter(|r| r.ack_offset >= offset)
            .count()
    }

    /// `INFO replication` lines.
    pub(crate) fn info(&self, out: &mut String) {
        use std::fmt::Write as _;
        let now = Instant::now();
        match &self.primary {
            None => {
                let _ = write!(
                    out,
                    "role:master\r\nconnected_slaves:{}\r\n",
                    self.replicas.len()
                );
                for (i, r) in self.replicas.values().enumerate() {
                    let lag = now.duration_since(r.last_ack).as_secs();
                    let _ = write!(
                        out,
                        "slave{i}:ip={},port={},state={},offset={},lag={lag}\r\n",
                        r.ip, r.port, r.state, r.ack_offset
                    );
                }
            }
            Some(link) => {
                let up = link.state == LinkState::Connected;
                let _ = write!(
                    out,
                    "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\n\
                     master_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\n\
                     slave_repl_offset:{}\r\nslave_priority:100\r\nslave_read_only:1\r\nreplica_announced:1\r\n\
                     connected_slaves:{}\r\n",
                    link.host,
                    link.port,
                    if up { "up" } else { "down" },
                    if up { now.duration_since(link.last_io).as_secs() as i64 } else { -1 },
                    i32::from(link.state == LinkState::Sync),
                    self.offset,
                    self.offset,
                    self.replicas.len(),
                );
            }
        }
        let (active, first, histlen) = match &self.backlog {
            Some(b) => (1, b.first_offset(), b.histlen()),
            None => (0, 0, 0),
        };
        let _ = write!(
            out,
            "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\n\
             master_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{active}\r\n\
             repl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{first}\r\nrepl_backlog_histlen:{histlen}\r\n",
            self.replid, self.replid2, self.offset, self.second_offset, self.backlog_size,
        );
    }
}

/// Parses `host:port` or `host port` into a socket address.
pub(crate) fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs;
    (host, port).to_socket_addrs().ok()?.next()
}

/// A random 40-hex-digit identifier, as Redis uses for `run_id` and `replid`.
pub(crate) fn random_hex_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).expect("digit below 16"))
        .collect()
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    fn stream(repl: &Replication) -> String {
        let backlog = repl.backlog.as_ref().expect("a backlog");
        let bytes = backlog
            .read_from(backlog.first_offset(), 1 << 20)
            .unwrap_or_default();
        String::from_utf8(bytes).expect("text")
    }

    #[test]
    fn an_atomic_unit_streams_one_block_and_only_when_it_wrote() {
        let mut repl = Replication::new(random_hex_id());
        repl.ensure_backlog();
        repl.begin_unit();
        repl.end_unit();
        assert_eq!(repl.offset, 0, "a unit without writes streams nothing");
        repl.begin_unit();
        repl.propagate(0, &[b"SET", b"k", b"v"]);
        repl.propagate(1, &[b"DEL", b"x"]);
        repl.end_unit();
        repl.propagate(1, &[b"DEL", b"y"]);
        assert_eq!(
            stream(&repl),
            "*1\r\n$5\r\nMULTI\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*2\r\n$3\r\nDEL\r\n$1\r\nx\r\n\
             *1\r\n$4\r\nEXEC\r\n\
             *2\r\n$3\r\nDEL\r\n$1\r\ny\r\n"
        );
    }
}
