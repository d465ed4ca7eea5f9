//! Keyspace events of the commands that do not publish their own: after a write that changed
//! the dataset, each of its keys gets the event Redis's `notifyKeyspaceEvent` call for that
//! command publishes (`set`, `lpush`, `hset`, `rename_from`/`rename_to`...), then `del` if
//! the write emptied a collection away, and `new` when it created the key. Families added
//! later publish their own through [`Ctx::notify`] and are absent from [`event_of`].
//! Source of the event names: Redis 7.2's `t_*.c`, `db.c`, `expire.c`.

use bytes::Bytes;
use redoubt_protocol::command_table::Resolved;

use crate::cmd::Ctx;
use crate::pubsub::events::{GENERIC, HASH, LIST, NEW, SET, STRING, ZSET};

/// The event a command publishes for its key at `position` among its keys (0: first), with
/// its class; `None` when it publishes nothing for that key here.
fn event_of(name: &str, position: usize, args: &[Bytes]) -> Option<(u32, &'static str)> {
    let upper_arg = |i: usize| args.get(i).map(|a| a.to_ascii_lowercase());
    Some(match name {
        "set" | "setex" | "psetex" | "setnx" | "getset" | "mset" | "msetnx" => (STRING, "set"),
        "setrange" => (STRING, "setrange"),
        "setbit" | "bitfield" => (STRING, "setbit"),
        "bitop" if position == 0 => (STRING, "set"),
        "append" => (STRING, "append"),
        "incr" | "incrby" => (STRING, "incrby"),
        "decr" | "decrby" => (STRING, "decrby"),
        "incrbyfloat" => (STRING, "incrbyfloat"),
        "del" | "unlink" | "getdel" => (GENERIC, "del"),
        "expire" | "pexpire" | "expireat" | "pexpireat" | "getex" => (GENERIC, "expire"),
        "persist" => (GENERIC, "persist"),
        "rename" | "renamenx" if position == 0 => (GENERIC, "rename_from"),
        "rename" | "renamenx" => (GENERIC, "rename_to"),
        "copy" if position == 1 => (GENERIC, "copy_to"),
        "lpush" | "lpushx" => (LIST, "lpush"),
        "rpush" | "rpushx" => (LIST, "rpush"),
        "linsert" => (LIST, "linsert"),
        "lset" => (LIST, "lset"),
        "lpop" => (LIST, "lpop"),
        "rpop" => (LIST, "rpop"),
        "ltrim" => (LIST, "ltrim"),
        "lrem" => (LIST, "lrem"),
        "rpoplpush" if position == 0 => (LIST, "rpop"),
        "rpoplpush" => (LIST, "lpush"),
        "lmove" => {
            let side = upper_arg(3 + position)?;
            let event = match (position, side.as_slice()) {
                (0, b"left") => "lpop",
                (0, _) => "rpop",
                (_, b"left") => "lpush",
                _ => "rpush",
            };
            (LIST, event)
        }
        "hset" | "hsetnx" | "hmset" => (HASH, "hset"),
        "hdel" => (HASH, "hdel"),
        "hincrby" => (HASH, "hincrby"),
        "hincrbyfloat" => (HASH, "hincrbyfloat"),
        "sadd" => (SET, "sadd"),
        "srem" => (SET, "srem"),
        "spop" => (SET, "spop"),
        "smove" if position == 0 => (SET, "srem"),
        "smove" => (SET, "sadd"),
        "sinterstore" | "sunionstore" | "sdiffstore" if position == 0 => (SET, name_static(name)),
        "zadd" => (ZSET, "zadd"),
        "zincrby" => (ZSET, "zincr"),
        "zrem" => (ZSET, "zrem"),
        "zremrangebyscore" | "zremrangebyrank" | "zremrangebylex" | "zpopmin" | "zpopmax" => {
            (ZSET, name_static(name))
        }
        "zunionstore" | "zinterstore" | "zdiffstore" | "zrangestore" if position == 0 => {
            (ZSET, name_static(name))
        }
        _ => return None,
    })
}

fn name_static(name: &str) -> &'static str {
    redoubt_protocol::command_table::lookup(name.as_bytes()).map_or("", |spec| spec.name)
}

/// What [`after`] needs from before the command ran: for each key, whether it existed.
pub(crate) struct Before(Option<Vec<bool>>);

/// Notes which keys of a write exist, when keyspace events are enabled.
pub(crate) fn before(ctx: &mut Ctx, resolved: Resolved, args: &[Bytes]) -> Before {
    use redoubt_protocol::command_table::CommandFlags;
    if ctx.store.config.notify_keyspace_events == 0
        || !resolved.spec().flags.contains(CommandFlags::WRITE)
    {
        return Before(None);
    }
    let now = ctx.now_ms;
    let db = ctx.session.db;
    let keys = resolved.spec().key_indexes(args);
    Before(Some(
        keys.iter()
            .map(|&i| ctx.store.dbs[db].contains(&args[i], now))
            .collect(),
    ))
}

/// Publishes the events of a write that changed the dataset.
pub(crate) fn after(ctx: &mut Ctx, resolved: Resolved, args: &[Bytes], before: Before) {
    let Before(Some(existed)) = before else {
        return;
    };
    let now = ctx.now_ms;
    let db = ctx.session.db;
    let name = resolved.name();
    let keys = resolved.spec().key_indexes(args);
    for (position, (&index, &was)) in keys.iter().zip(&existed).enumerate() {
        let key = &args[index];
        let is = ctx.store.dbs[db].contains(key, now);
        if !was && is {
            ctx.notify(NEW, "new", key);
        }
        if name == "bitop" && position > 0 {
            // Sources are only read, even when one is also the destination.
            continue;
        }
        let event = match event_of(name, position, args) {
            // A `BITOP` with an empty result deletes its destination: only `del`.
            Some(_) if name == "bitop" && !is => None,
            event => event,
        };
        match event {
            // `DEL` of a missing key publishes nothing.
            Some((GENERIC, "del")) if !was => {}
            Some((class, event)) => ctx.notify(class, event, key),
            None => {}
        }
        if name == "set" && args.len() > 3 && is && has_expiry_option(&args[3..])
            || matches!(name, "setex" | "psetex")
        {
            ctx.notify(GENERIC, "expire", key);
        }
        let emptied = was && !is;
        if emptied && !matches!(event, Some((GENERIC, _))) {
            ctx.notify(GENERIC, "del", key);
        }
    }
}

fn has_expiry_option(options: &[Bytes]) -> bool {
    options.iter().any(|o| {
        ["ex", "px", "exat", "pxat"]
            .iter()
            .any(|w| o.eq_ignore_ascii_case(w.as_bytes()))
    })
}
