//! Command dispatch: look the command up in the shared table, check arity and authentication,
//! run it, and keep its statistics. Each command family lives in its own module; a handler
//! parses its arguments, applies the command to the store and builds its reply.

pub mod blocking;
pub mod client;
pub mod config;
pub mod connection;
pub mod effects;
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

use std::fmt;
use std::time::Instant;

use bytes::Bytes;
use redoubt_protocol::command_table::{self, CommandFlags, CommandSpec};
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

/// A command's name for statistics: `get`, or `config|get` for a subcommand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandName {
    /// Top-level command.
    pub name: &'static str,
    /// Subcommand, for containers.
    pub sub: Option<&'static str>,
}

impl fmt::Display for CommandName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sub {
            Some(sub) => write!(f, "{}|{}", self.name, sub),
            None => f.write_str(self.name),
        }
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

/// Runs one request. Returns the reply and the name of the command that ran (none for an
/// unknown command).
pub fn execute(ctx: &mut Ctx, args: &[Bytes]) -> (Reply, Option<CommandName>) {
    let Some(spec) = command_table::lookup(&args[0]) else {
        return (unknown_command(args), None);
    };
    if !spec.arity_ok(args.len()) {
        return (
            reject(ctx, spec.name, &wrong_arity(spec.name)),
            Some(CommandName {
                name: spec.name,
                sub: None,
            }),
        );
    }
    let mut name = CommandName {
        name: spec.name,
        sub: None,
    };
    if !spec.subcommands.is_empty() && args.len() > 1 {
        match spec.subcommand(&args[1]) {
            Some(sub) if !sub.arity_ok(args.len()) => {
                name.sub = Some(sub.name);
                return (
                    reject(ctx, spec.name, &wrong_arity(&name.to_string())),
                    Some(name),
                );
            }
            Some(sub) => name.sub = Some(sub.name),
            None => return (unknown_subcommand(spec, &args[1]), Some(name)),
        }
    }
    if !ctx.session.authenticated && !is_no_auth(spec, name) {
        return (
            reject(ctx, spec.name, "NOAUTH Authentication required."),
            Some(name),
        );
    }
    let write = spec.flags.contains(CommandFlags::WRITE);
    if let Some(epoch) = ctx.session.epoch.filter(|e| *e < ctx.store.epoch) {
        if write || matches!(spec.name, "replicaof" | "slaveof") {
            let error = format!(
                "FENCED this connection's epoch {epoch} is older than the node's epoch {}",
                ctx.store.epoch
            );
            return (reject(ctx, spec.name, &error), Some(name));
        }
    }
    if write && ctx.store.repl.is_replica() && !ctx.session.primary_link {
        return (
            reject(
                ctx,
                spec.name,
                "READONLY You can't write against a read only replica.",
            ),
            Some(name),
        );
    }
    let dirty = ctx.store.dirty;
    let started = Instant::now();
    let reply = run(ctx, name, args).unwrap_or_else(|err| err);
    let usec = started.elapsed().as_micros() as u64;
    record(ctx.store, name, usec, &reply);
    // Keys this command found expired go to the stream before its own effect.
    ctx.store.propagate_expired();
    if write && ctx.store.dirty != dirty {
        replicate(ctx, args, &reply);
    }
    (reply, Some(name))
}

/// Streams the effect of a write that changed the dataset (see [`effects`]). Does nothing on
/// a standby, which streams what it receives instead.
pub fn replicate(ctx: &mut Ctx, args: &[Bytes], reply: &Reply) {
    if ctx.store.repl.backlog.is_none() || ctx.store.repl.is_replica() {
        return;
    }
    // The table's lower-case name: no allocation on the write path.
    let name = command_table::lookup(&args[0]).map_or("", |spec| spec.name);
    let db = ctx.session.db;
    match effects::effects(ctx, name, args, reply) {
        None => {
            let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
            ctx.store.repl.propagate(db, &refs);
        }
        Some(commands) => {
            for command in commands {
                let refs: Vec<&[u8]> = command.iter().map(|a| &a[..]).collect();
                ctx.store.repl.propagate(db, &refs);
            }
        }
    }
}

/// Applies a primary's stream (and snapshots) on a standby: each command runs as the primary
/// ran it, seeing keys the primary had not expired yet, with its reply discarded.
pub struct PrimaryApplier {
    node: std::sync::Arc<NodeState>,
    session: Session,
}

impl PrimaryApplier {
    /// An applier with database 0 selected.
    pub fn new(node: &std::sync::Arc<NodeState>) -> PrimaryApplier {
        let nowhere = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
        let handle = std::sync::Arc::new(crate::client::ClientHandle::new(0, nowhere, nowhere));
        let mut session = Session::new(handle, true);
        session.primary_link = true;
        PrimaryApplier {
            node: node.clone(),
            session,
        }
    }

    /// The database the stream has selected.
    pub fn db(&self) -> usize {
        self.session.db
    }

    /// Selects database `db` (to resume a stream).
    pub fn set_db(&mut self, db: usize) {
        self.session.db = db;
    }

    /// Applies one command from the primary.
    pub fn apply(&mut self, store: &mut Store, args: &[Bytes]) {
        if args[0].eq_ignore_ascii_case(b"ping") || args[0].eq_ignore_ascii_case(b"replconf") {
            return;
        }
        store.set_expiry_mode(crate::db::ExpiryMode::Ignore);
        let now_ms = crate::server::unix_ms();
        let mut ctx = Ctx {
            store,
            session: &mut self.session,
            node: &self.node,
            now_ms,
        };
        let (reply, _) = execute(&mut ctx, args);
        if let Reply::Error(err) = reply {
            tracing::warn!(%err, command = %String::from_utf8_lossy(&args[0]), "command from primary failed");
        }
    }
}

fn is_no_auth(spec: &CommandSpec, name: CommandName) -> bool {
    // AUTH, HELLO and QUIT must work before authentication (Redis's `no_auth` flag).
    matches!(name.name, "auth" | "hello" | "quit")
        || spec.flags.contains(redoubt_protocol::CommandFlags::NO_AUTH) && name.sub.is_none()
}

fn run(ctx: &mut Ctx, name: CommandName, args: &[Bytes]) -> CmdResult {
    match (name.name, name.sub) {
        ("ping", _) => connection::ping(args),
        ("echo", _) => Ok(Reply::Bulk(args[1].clone())),
        ("quit", _) => connection::quit(ctx),
        ("select", _) => connection::select(ctx, args),
        ("auth", _) => connection::auth(ctx, args),
        ("hello", _) => connection::hello(ctx, args),
        ("client", Some(sub)) => client::client(ctx, sub, args),
        ("info", _) => info::info(ctx, args),
        ("dbsize", _) => Ok(Reply::Int(ctx.db().len() as i64)),
        ("flushdb", _) => server::flushdb(ctx, args),
        ("flushall", _) => server::flushall(ctx, args),
        ("time", _) => server::time(),
        ("command", sub) => introspection::command(sub, args),
        ("config", Some(sub)) => config::config(ctx, sub, args),
        ("get", _) => string::get(ctx, args),
        ("set", _) => string::set(ctx, args),
        ("setnx", _) => string::setnx(ctx, args),
        ("setex", _) => string::setex(ctx, args, 1000),
        ("psetex", _) => string::setex(ctx, args, 1),
        ("mget", _) => string::mget(ctx, args),
        ("mset", _) => string::mset(ctx, args),
        ("msetnx", _) => string::msetnx(ctx, args),
        ("getset", _) => string::getset(ctx, args),
        ("getdel", _) => string::getdel(ctx, args),
        ("getex", _) => string::getex(ctx, args),
        ("append", _) => string::append(ctx, args),
        ("strlen", _) => string::strlen(ctx, args),
        ("incr", _) => string::incr_by(ctx, &args[1], 1),
        ("decr", _) => string::incr_by(ctx, &args[1], -1),
        ("incrby", _) => string::incrby(ctx, args, false),
        ("decrby", _) => string::incrby(ctx, args, true),
        ("incrbyfloat", _) => string::incrbyfloat(ctx, args),
        ("getrange" | "substr", _) => string::getrange(ctx, args),
        ("setrange", _) => string::setrange(ctx, args),
        ("del" | "unlink", _) => keys::del(ctx, args),
        ("exists", _) => keys::exists(ctx, args),
        ("touch", _) => keys::exists(ctx, args),
        ("type", _) => keys::type_of(ctx, args),
        ("expire", _) => keys::expire(ctx, args, 1000, false),
        ("pexpire", _) => keys::expire(ctx, args, 1, false),
        ("expireat", _) => keys::expire(ctx, args, 1000, true),
        ("pexpireat", _) => keys::expire(ctx, args, 1, true),
        ("expiretime", _) => keys::expiretime(ctx, args, 1000),
        ("pexpiretime", _) => keys::expiretime(ctx, args, 1),
        ("ttl", _) => keys::ttl(ctx, args, 1000),
        ("pttl", _) => keys::ttl(ctx, args, 1),
        ("persist", _) => keys::persist(ctx, args),
        ("rename", _) => keys::rename(ctx, args, false),
        ("renamenx", _) => keys::rename(ctx, args, true),
        ("keys", _) => keys::keys(ctx, args),
        ("scan", _) => keys::scan(ctx, args),
        ("randomkey", _) => keys::randomkey(ctx),
        ("copy", _) => keys::copy(ctx, args),
        ("object", Some(sub)) => keys::object(ctx, sub, args),
        ("replicaof" | "slaveof", _) => replication::replicaof(ctx, args),
        ("role", _) => replication::role(ctx),
        ("replconf", _) => replication::replconf(ctx, args),
        ("psync" | "sync", _) => replication::psync(ctx, args),
        ("wait", _) => replication::wait(ctx, args),
        ("epoch", _) => replication::epoch(ctx, args),
        _ => hash::run(ctx, name, args)
            .or_else(|| list::run(ctx, name, args))
            .or_else(|| blocking::run(ctx, name, args))
            .or_else(|| set::run(ctx, name, args))
            .or_else(|| zset::run(ctx, name, args))
            .unwrap_or_else(|| Err(unknown_command(args))),
    }
}

fn record(store: &mut Store, name: CommandName, usec: u64, reply: &Reply) {
    store.commands_processed += 1;
    let stat = stat_entry(store, name);
    stat.calls += 1;
    stat.usec += usec;
    stat.latency_buckets[crate::metrics::latency_bucket(usec)] += 1;
    if reply.is_error() {
        stat.failed_calls += 1;
        count_error(store, reply);
    }
}

fn reject(ctx: &mut Ctx, name: &'static str, error: &str) -> Reply {
    let reply = Reply::error_owned(error.to_string());
    stat_entry(ctx.store, CommandName { name, sub: None }).rejected_calls += 1;
    count_error(ctx.store, &reply);
    reply
}

fn stat_entry(store: &mut Store, name: CommandName) -> &mut crate::store::CommandStat {
    // Look up without allocating; only a command's first call builds its key.
    let key: std::borrow::Cow<str> = match name.sub {
        None => name.name.into(),
        Some(_) => name.to_string().into(),
    };
    if !store.command_stats.contains_key(key.as_ref()) {
        store
            .command_stats
            .insert(key.to_string(), Default::default());
    }
    store
        .command_stats
        .get_mut(key.as_ref())
        .expect("inserted above")
}

fn count_error(store: &mut Store, reply: &Reply) {
    if let Reply::Error(text) = reply {
        let prefix = text.split(' ').next().unwrap_or("ERR");
        *store.error_stats.entry(prefix.to_string()).or_default() += 1;
    }
}

/// Redis's text for a wrong argument count.
pub fn wrong_arity(name: &str) -> String {
    format!("ERR wrong number of arguments for '{name}' command")
}

/// Redis's reply to an unknown command, quoting the name and the first arguments.
pub fn unknown_command(args: &[Bytes]) -> Reply {
    let mut quoted = String::new();
    for arg in &args[1..] {
        if quoted.len() >= 128 {
            break;
        }
        let text = String::from_utf8_lossy(arg);
        let room = 128 - quoted.len();
        quoted.push_str(&format!(
            "'{}' ",
            text.chars().take(room).collect::<String>()
        ));
    }
    let name: String = String::from_utf8_lossy(&args[0])
        .chars()
        .take(128)
        .collect();
    Reply::error_owned(format!(
        "ERR unknown command '{name}', with args beginning with: {quoted}"
    ))
}

fn unknown_subcommand(spec: &CommandSpec, sub: &[u8]) -> Reply {
    let sub: String = String::from_utf8_lossy(sub).chars().take(128).collect();
    Reply::error_owned(format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        spec.name.to_ascii_uppercase()
    ))
}

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

/// Redis's reply to a subcommand the container knows but this node does not serve.
pub fn unknown_subcommand_named(container: &str, sub: &str) -> Reply {
    Reply::error_owned(format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        container.to_ascii_uppercase()
    ))
}
