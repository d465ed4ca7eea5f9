//! Command families. Each family lives in its own module and registers its handlers beside
//! them (`COMMANDS`, collected by `crate::exec::table`); a handler parses its arguments, applies the
//! command to the store through a [`Ctx`] and builds its reply. Dispatch is `crate::exec`.

pub(crate) mod bitmap;
pub(crate) mod blocking;
pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod connection;
pub(crate) mod geo;
pub(crate) mod hash;
pub(crate) mod hll;
pub(crate) mod info;
pub(crate) mod introspection;
pub(crate) mod keys;
pub(crate) mod latency;
pub(crate) mod list;
pub(crate) mod lolwut;
pub(crate) mod memory;
pub(crate) mod monitor;
pub(crate) mod persistence;
pub(crate) mod pubsub;
pub(crate) mod replication;
pub(crate) mod scripting;
pub(crate) mod server;
pub(crate) mod set;
pub(crate) mod slowlog;
pub(crate) mod sort;
pub(crate) mod stream;
pub(crate) mod string;
pub(crate) mod tracking;
pub(crate) mod transaction;
pub(crate) mod zset;

use bytes::Bytes;
use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::Reply;

use crate::client::Session;
use crate::keyspace::access::Kind;
use crate::keyspace::db::Db;
use crate::keyspace::Store;
use crate::state::NodeState;

/// What a handler works with: the locked store, its connection's session, the node, and the
/// time of the batch (Unix ms), so all commands of a batch see one clock as Redis's do.
pub(crate) struct Ctx<'a> {
    /// The locked store.
    pub(crate) store: &'a mut Store,
    /// The calling connection.
    pub(crate) session: &'a mut Session,
    /// Node-wide state outside the lock (clients, counters).
    pub(crate) node: &'a NodeState,
    /// Current time in Unix milliseconds.
    pub(crate) now_ms: u64,
    /// The command being run, set by dispatch for its handler.
    pub(crate) command: Option<Resolved>,
}

impl Ctx<'_> {
    /// The selected database.
    pub(crate) fn db(&mut self) -> &mut Db {
        &mut self.store.dbs[self.session.db]
    }

    /// The value of kind `K` under `key` in the selected database, counting a keyspace hit or
    /// miss (see [`Store::read`]).
    pub(crate) fn read<K: Kind>(&mut self, key: &[u8]) -> Result<Option<&K>, Reply> {
        self.store.read(self.session.db, key, self.now_ms)
    }

    /// As [`Ctx::read`], for modification.
    pub(crate) fn read_mut<K: Kind>(&mut self, key: &[u8]) -> Result<Option<&mut K>, Reply> {
        self.store.read_mut(self.session.db, key, self.now_ms)
    }

    /// The value of kind `K` under `key`, without counting a lookup.
    pub(crate) fn peek<K: Kind>(&mut self, key: &[u8]) -> Result<Option<&K>, Reply> {
        self.store.peek(self.session.db, key, self.now_ms)
    }

    /// The value of kind `K` under `key` for modification, without counting a lookup.
    pub(crate) fn write<K: Kind>(&mut self, key: &[u8]) -> Result<Option<&mut K>, Reply> {
        self.store.write(self.session.db, key, self.now_ms)
    }

    /// The value of kind `K` under `key` for modification, created empty when absent.
    pub(crate) fn write_or_create<K: Kind>(&mut self, key: &[u8]) -> Result<&mut K, Reply> {
        self.store
            .write_or_create(self.session.db, key, self.now_ms)
    }

    /// Removes `key` when it holds an empty collection of kind `K`.
    pub(crate) fn remove_if_empty<K: Kind>(&mut self, key: &[u8]) -> bool {
        self.store
            .remove_if_empty::<K>(self.session.db, key, self.now_ms)
    }

    /// Tells clients blocked on `key` of the selected database (`BLPOP`, `BZPOPMIN`...) that
    /// it may now have elements. Every command that adds elements to a list or sorted set, or
    /// creates one under a key (push, `ZADD`, `*STORE`, `RENAME`, `COPY`...), calls it.
    pub(crate) fn signal_key_ready(&mut self, key: &[u8]) {
        self.store.blocking.signal(self.session.db, key);
    }

    /// Publishes keyspace event `event` of class `class` (a `crate::pubsub::events` flag:
    /// `STREAM`, `STRING`...) on `key` of the selected database, as Redis's
    /// `notifyKeyspaceEvent(class, event, key, db)`. Families whose events dispatch does not
    /// publish (`crate::exec::events`) call it after each change.
    pub(crate) fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        self.store.notify(self.session.db, (class, event), key);
    }
}

/// `WRONGTYPE` error text.
pub(crate) const WRONGTYPE: &str =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
/// Error for an argument that is not a 64-bit integer.
pub(crate) const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
/// Error for an argument that is not a double.
pub(crate) const NOT_FLOAT: &str = "ERR value is not a valid float";
/// Error for unknown or conflicting options.
pub(crate) const SYNTAX: &str = "ERR syntax error";

/// A handler's result: the reply, or an error reply built early with `?`.
pub(crate) type CmdResult = Result<Reply, Reply>;

/// A command's handler: the request's arguments (name first), already checked for arity.
pub(crate) type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult;

/// Parses a 64-bit integer argument (`NOT_INTEGER` when it is not one).
pub(crate) fn parse_i64(arg: &[u8]) -> Result<i64, Reply> {
    crate::value::parse_canonical_i64(arg).ok_or(Reply::error(NOT_INTEGER))
}

/// Parses a double argument (`NOT_FLOAT` when it is not one).
pub(crate) fn parse_f64(arg: &[u8]) -> Result<f64, Reply> {
    crate::value::parse_f64(arg).ok_or(Reply::error(NOT_FLOAT))
}

/// True when `arg` equals `word`, ignoring ASCII case.
pub(crate) fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Redis's text for a wrong argument count.
pub(crate) fn wrong_arity(name: &str) -> String {
    redoubt_protocol::errors::wrong_arity(name)
}
