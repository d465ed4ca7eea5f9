//! Geo commands on sorted sets: `GEOADD`, `GEODIST`, `GEOHASH`, `GEOPOS`, `GEORADIUS`,
//! `GEORADIUSBYMEMBER` (and their `_RO` forms), `GEOSEARCH`, `GEOSEARCHSTORE`. The cores
//! (parsing with Redis's error texts, geohashes, the area walk, reply shapes) are in
//! [`crate::value::geo`]; this module looks keys up in Redis's order, writes the sets and the
//! `STORE` destinations and counts the changes that replicate. Source: Redis 7.2 `geo.c`.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx};
use crate::value::geo::{GeoAdd, GeoDist, GeoHash, GeoPos, Search, SearchKind, SearchOutcome};
use crate::value::{Value, ZSetValue};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("geoadd", geoadd),
    ("geodist", geodist),
    ("geohash", geohash),
    ("geopos", geopos),
    ("georadius", |ctx, args| {
        search(ctx, args, SearchKind::Radius)
    }),
    ("georadius_ro", |ctx, args| {
        search(ctx, args, SearchKind::RadiusRo)
    }),
    ("georadiusbymember", |ctx, args| {
        search(ctx, args, SearchKind::RadiusByMember)
    }),
    ("georadiusbymember_ro", |ctx, args| {
        search(ctx, args, SearchKind::RadiusByMemberRo)
    }),
    ("geosearch", |ctx, args| {
        search(ctx, args, SearchKind::Search)
    }),
    ("geosearchstore", |ctx, args| {
        search(ctx, args, SearchKind::SearchStore)
    }),
];

/// `GEOADD key [NX|XX] [CH] longitude latitude member ...` → members added (or changed with
/// `CH`). The arguments are checked before the key, as Redis parses them before handing a
/// `ZADD` to the sorted-set code.
fn geoadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let request = GeoAdd::parse(args)?;
    let key = &args[1];
    let changes = changes(&request, ctx.write::<ZSetValue>(key)?.map(|z| &*z));
    if changes == 0 {
        // Nothing added or moved, so nothing to count (even with CH); an absent key stays
        // absent (XX).
        return Ok(Reply::Int(0));
    }
    let zset = ctx.write_or_create::<ZSetValue>(key)?;
    let reply = request.run(zset);
    ctx.store.changed(changes);
    ctx.signal_key_ready(key);
    Ok(reply)
}

/// How many of the request's points would add or move a member of `zset` (0: a no-op).
fn changes(request: &GeoAdd, zset: Option<&ZSetValue>) -> u64 {
    let score_of = |member: &[u8]| zset.and_then(|z| z.score(member));
    request
        .points
        .iter()
        .filter(|(member, score)| match score_of(member) {
            None => !request.xx,
            Some(old) => !request.nx && old != *score,
        })
        .count() as u64
}

/// `GEODIST key member1 member2 [unit]` → the distance, or nil.
fn geodist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let request = GeoDist::parse(args)?;
    Ok(request.run(ctx.read::<ZSetValue>(&args[1])?))
}

/// `GEOHASH key [member ...]` → geohash strings.
fn geohash(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let request = GeoHash::parse(args);
    Ok(request.run(ctx.read::<ZSetValue>(&args[1])?))
}

/// `GEOPOS key [member ...]` → positions.
fn geopos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let request = GeoPos::parse(args);
    let protocol = ctx.session.protocol;
    Ok(request.run(ctx.read::<ZSetValue>(&args[1])?, protocol))
}

/// The area searches. The source key is looked up first (`WRONGTYPE` wins over every argument
/// error), then the request is parsed against it and run; a `STORE` destination is replaced by
/// the results (without a time to live), or deleted when there are none.
fn search(ctx: &mut Ctx, args: &[Bytes], kind: SearchKind) -> CmdResult {
    let protocol = ctx.session.protocol;
    let source = ctx.read::<ZSetValue>(&args[kind.source_index()])?;
    let request = Search::parse(kind, args, source)?;
    match request.run(source, protocol) {
        SearchOutcome::Reply(reply) => Ok(reply),
        SearchOutcome::Store { key, members } => {
            let count = members.len();
            let now = ctx.now_ms;
            if members.is_empty() {
                if ctx.db().remove(&key, now).is_some() {
                    ctx.store.changed(1);
                }
            } else {
                let mut zset = ZSetValue::default();
                for (member, score) in members {
                    zset.insert(member, score);
                }
                ctx.db().set(&key, Value::ZSet(Box::new(zset)), None);
                ctx.store.changed(count as u64);
                ctx.signal_key_ready(&key);
            }
            Ok(Reply::Int(count as i64))
        }
    }
}
