//! Publish/subscribe commands: `(S|P)SUBSCRIBE`, `(S|P)UNSUBSCRIBE`, `PUBLISH`, `SPUBLISH`
//! and `PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB`. Messages are queued to the
//! subscribers' connections (`crate::pubsub`). Source: Redis's `pubsub.c`.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx, Handler};
use crate::pubsub::Kind;

/// The pub/sub commands.
pub(crate) const COMMANDS: &[(&str, Handler)] = &[
    ("subscribe", subscribe),
    ("psubscribe", psubscribe),
    ("ssubscribe", ssubscribe),
    ("unsubscribe", unsubscribe),
    ("punsubscribe", punsubscribe),
    ("sunsubscribe", sunsubscribe),
    ("publish", publish),
    ("spublish", spublish),
    ("pubsub|channels", channels),
    ("pubsub|numsub", numsub),
    ("pubsub|numpat", numpat),
    ("pubsub|shardchannels", shardchannels),
    ("pubsub|shardnumsub", shardnumsub),
];

/// `SUBSCRIBE channel [channel ...]` → one `subscribe channel count` push per channel.
fn subscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(add(ctx, Kind::Channel, &args[1..]))
}

/// `PSUBSCRIBE pattern [pattern ...]` → one `psubscribe pattern count` push per pattern.
fn psubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(add(ctx, Kind::Pattern, &args[1..]))
}

/// `SSUBSCRIBE shardchannel [shardchannel ...]` → one `ssubscribe channel count` push each.
fn ssubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(add(ctx, Kind::Shard, &args[1..]))
}

/// `UNSUBSCRIBE [channel ...]` → one `unsubscribe channel count` push per channel left
/// (all when none is named; `unsubscribe nil 0` when there was none).
fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(remove(ctx, Kind::Channel, &args[1..]))
}

/// `PUNSUBSCRIBE [pattern ...]`, as `UNSUBSCRIBE` for patterns.
fn punsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(remove(ctx, Kind::Pattern, &args[1..]))
}

/// `SUNSUBSCRIBE [shardchannel ...]`, as `UNSUBSCRIBE` for shard channels.
fn sunsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(remove(ctx, Kind::Shard, &args[1..]))
}

fn verb(kind: Kind, subscribing: bool) -> &'static str {
    match (kind, subscribing) {
        (Kind::Channel, true) => "subscribe",
        (Kind::Pattern, true) => "psubscribe",
        (Kind::Shard, true) => "ssubscribe",
        (Kind::Channel, false) => "unsubscribe",
        (Kind::Pattern, false) => "punsubscribe",
        (Kind::Shard, false) => "sunsubscribe",
        (Kind::Monitor, _) => "monitor",
    }
}

fn count(ctx: &Ctx, kind: Kind) -> i64 {
    let subs = &ctx.session.subs;
    if kind == Kind::Shard {
        subs.shard.len() as i64
    } else {
        subs.count() as i64
    }
}

/// Answers the frames but the last through `ctx.session.frames`, and returns the last.
fn frames(ctx: &mut Ctx, mut replies: Vec<Reply>) -> Reply {
    let last = replies.pop().unwrap_or(Reply::NullArray);
    ctx.session.frames.extend(replies);
    last
}

fn add(ctx: &mut Ctx, kind: Kind, names: &[Bytes]) -> Reply {
    let id = ctx.session.handle.id;
    let outbox = ctx.session.handle.outbox.clone();
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        if ctx.session.subs.of(kind).insert(name.clone()) {
            ctx.store.pubsub.subscribe(kind, name, id, &outbox);
        }
        replies.push(Reply::Push(vec![
            Reply::bulk_static(verb(kind, true)),
            Reply::Bulk(name.clone()),
            Reply::Int(count(ctx, kind)),
        ]));
    }
    frames(ctx, replies)
}

fn remove(ctx: &mut Ctx, kind: Kind, names: &[Bytes]) -> Reply {
    let id = ctx.session.handle.id;
    let names: Vec<Bytes> = if names.is_empty() {
        ctx.session.subs.of(kind).iter().cloned().collect()
    } else {
        names.to_vec()
    };
    if names.is_empty() {
        return Reply::Push(vec![
            Reply::bulk_static(verb(kind, false)),
            Reply::Null,
            Reply::Int(count(ctx, kind)),
        ]);
    }
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        if ctx.session.subs.of(kind).shift_remove(&name) {
            ctx.store.pubsub.unsubscribe(kind, &name, id);
        }
        replies.push(Reply::Push(vec![
            Reply::bulk_static(verb(kind, false)),
            Reply::Bulk(name),
            Reply::Int(count(ctx, kind)),
        ]));
    }
    frames(ctx, replies)
}

/// Leaves every channel, pattern and shard channel (`RESET`, disconnect), without replies.
pub(crate) fn unsubscribe_all(ctx: &mut Ctx) {
    let id = ctx.session.handle.id;
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        for name in std::mem::take(ctx.session.subs.of(kind)) {
            ctx.store.pubsub.unsubscribe(kind, &name, id);
        }
    }
}

/// `PUBLISH channel message` → the number of clients that received it. Streamed to the
/// standbys, whose subscribers receive it too.
fn publish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(send(ctx, Kind::Channel, args)))
}

/// `SPUBLISH shardchannel message` → the number of clients that received it.
fn spublish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(send(ctx, Kind::Shard, args)))
}

fn send(ctx: &mut Ctx, kind: Kind, args: &[Bytes]) -> i64 {
    let limit = ctx.store.pubsub_limit();
    let receivers = ctx.store.pubsub.publish(kind, &args[1], &args[2], limit);
    let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
    let db = ctx.session.db;
    ctx.store.repl.propagate(db, &refs);
    receivers as i64
}

/// `PUBSUB CHANNELS [pattern]` → channels with at least one subscriber.
fn channels(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let names = ctx
        .store
        .pubsub
        .names(Kind::Channel, args.get(2).map(|p| &p[..]));
    Ok(Reply::Array(names.into_iter().map(Reply::Bulk).collect()))
}

/// `PUBSUB SHARDCHANNELS [pattern]` → shard channels with at least one subscriber.
fn shardchannels(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let names = ctx
        .store
        .pubsub
        .names(Kind::Shard, args.get(2).map(|p| &p[..]));
    Ok(Reply::Array(names.into_iter().map(Reply::Bulk).collect()))
}

/// `PUBSUB NUMSUB [channel ...]` → `channel count` pairs, flat.
fn numsub(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(counts(ctx, Kind::Channel, &args[2..]))
}

/// `PUBSUB SHARDNUMSUB [shardchannel ...]` → `shardchannel count` pairs, flat.
fn shardnumsub(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(counts(ctx, Kind::Shard, &args[2..]))
}

/// A flat array `name count name count ...`, in RESP3 too (as Redis answers).
fn counts(ctx: &Ctx, kind: Kind, names: &[Bytes]) -> Reply {
    let mut items = Vec::with_capacity(names.len() * 2);
    for name in names {
        let n = ctx.store.pubsub.subscribers(kind, name) as i64;
        items.push(Reply::Bulk(name.clone()));
        items.push(Reply::Int(n));
    }
    Reply::Array(items)
}

/// `PUBSUB NUMPAT` → the number of patterns with at least one subscriber.
fn numpat(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.store.pubsub.count(Kind::Pattern) as i64))
}
