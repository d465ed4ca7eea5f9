//! Command families. Each family lives in its own module and registers its handlers beside
//! them (`COMMANDS`, collected by `crate::exec::table`); a handler parses its arguments, applies the
//! command to the store through a [`Ctx`] and builds its reply. Dispatch is `crate::exec`.

pub mod blocking;
pub mod client;
pub mod config;
pub mod connection;
pub mod hash;
pub mod info;
pub mod introspection;
pub mod keys;
pub mod list;
pub mod replication;
pub mod server;
pub mod set;
pub mod string;
pub mod zset;

use bytes::Bytes;
use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::Reply;

use crate::client::Session;
use crate::db::Db;
use crate::server::NodeState;
use crate::store::Store;

/// What a handler works with: the locked store, its connection's session, the node, and the
/// time of the batch (Unix ms), so all commands of a batch see one clock as Redis's do.
pub struct Ctx<'a> {
    /// The locked store.
    pub store: &'a mut Store,
    /// The calling connection.
    pub session: &'a mut Session,
    /// Node-wide state outside the lock (clients, counters).
    pub node: &'a NodeState,
    /// Current time in Unix milliseconds.
    pub now_ms: u64,
    /// The command being run, set by dispatch for its handler.
    pub command: Option<Resolved>,
}

impl Ctx<'_> {
    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.store.dbs[self.session.db]
    }

    /// Tells clients blocked on `key` of the selected database (`BLPOP`, `BZPOPMIN`...) that
    /// it may now have elements. Every command that adds elements to a list or sorted set, or
    /// creates one under a key (push, `ZADD`, `*STORE`, `RENAME`, `COPY`...), calls it.
    pub fn signal_key_ready(&mut self, key: &[u8]) {
        self.store.blocking.signal(self.session.db, key);
    }
}

/// `WRONGTYPE` error text.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
/// Error for an argument that is not a 64-bit integer.
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
/// Error for an argument that is not a double.
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
/// Error for unknown or conflicting options.
pub const SYNTAX: &str = "ERR syntax error";

/// A handler's result: the reply, or an error reply built early with `?`.
pub type CmdResult = Result<Reply, Reply>;

/// A command's handler: the request's arguments (name first), already checked for arity.
pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult;

/// Parses a 64-bit integer argument (`NOT_INTEGER` when it is not one).
pub fn parse_i64(arg: &[u8]) -> Result<i64, Reply> {
    crate::value::parse_canonical_i64(arg).ok_or(Reply::error(NOT_INTEGER))
}

/// Parses a double argument (`NOT_FLOAT` when it is not one).
pub fn parse_f64(arg: &[u8]) -> Result<f64, Reply> {
    crate::value::parse_f64(arg).ok_or(Reply::error(NOT_FLOAT))
}

/// True when `arg` equals `word`, ignoring ASCII case.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Redis's text for a wrong argument count.
pub fn wrong_arity(name: &str) -> String {
    redoubt_protocol::errors::wrong_arity(name)
}
