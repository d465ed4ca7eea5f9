//! What a write streams to standbys: its effect, not its request, wherever the request would
//! not reproduce the same result on a standby. Source: Redis's command propagation rules
//! (`alsoPropagate`, `rewriteClientCommandVector` in Redis's `t_string.c`, `expire.c`,
//! `t_set.c`, `blocked.c`).
//!
//! - Relative expiry (`SET .. EX`, `SETEX`, `EXPIRE`, `GETEX EX`...) → absolute `PXAT` /
//!   `PEXPIREAT`, read back from the key itself; a key already gone → `DEL`.
//! - `INCRBYFLOAT` → `SET key result KEEPTTL`; `HINCRBYFLOAT` → `HSET key field result`
//!   (float arithmetic could round differently elsewhere).
//! - `SPOP` → `SREM` of the members it chose; `GETDEL` → `DEL`.
//! - Blocking pops → the plain pop of the key that served them (`BLPOP` → `LPOP key`...).
//! - Stream commands: what their handler decided (`Store::pending_effects`): `XADD *` with
//!   the ID it generated, approximate trims as exact ones, `XREADGROUP`/`XCLAIM`/`XAUTOCLAIM`
//!   as `XCLAIM ... FORCE JUSTID LASTID` and `XGROUP SETID`/`CREATECONSUMER` (Redis's
//!   `streamPropagateXCLAIM`, `streamPropagateGroupID`); these three never stream themselves.
//! - Everything else streams as it was received.

use bytes::Bytes;
use redoubt_protocol::Reply;

use crate::cmd::Ctx;

fn word(text: &'static str) -> Bytes {
    Bytes::from_static(text.as_bytes())
}

fn items(reply: &Reply) -> &[Reply] {
    match reply {
        Reply::Array(items) | Reply::Set(items) => items,
        _ => &[],
    }
}

fn bulk(reply: Option<&Reply>) -> Option<Bytes> {
    match reply {
        Some(Reply::Bulk(b)) => Some(b.clone()),
        _ => None,
    }
}

/// The commands that reproduce on a standby what `args` (named `name`, lower case) did here,
/// given its `reply`; `None` when the request itself does (it then streams as received).
/// Called only for writes that changed the dataset.
pub(crate) fn effects(
    ctx: &mut Ctx,
    name: &str,
    args: &[Bytes],
    reply: &Reply,
) -> Option<Vec<Vec<Bytes>>> {
    if let Some(commands) = ctx.store.pending_effects.take() {
        return Some(commands);
    }
    Some(match name {
        "set" | "setex" | "psetex" => {
            let value = if name == "set" { &args[2] } else { &args[3] };
            let key = args[1].clone();
            let now = ctx.now_ms;
            match ctx.db().get_with_expiry(&key, now).map(|(_, at)| at) {
                None => vec![vec![word("DEL"), key]],
                Some(None) => vec![vec![word("SET"), key, value.clone()]],
                Some(Some(at)) => vec![vec![
                    word("SET"),
                    key,
                    value.clone(),
                    word("PXAT"),
                    Bytes::from(at.to_string()),
                ]],
            }
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" | "getex" | "persist" => {
            let key = args[1].clone();
            let now = ctx.now_ms;
            match ctx.db().get_with_expiry(&key, now).map(|(_, at)| at) {
                None => vec![vec![word("DEL"), key]],
                Some(None) => vec![vec![word("PERSIST"), key]],
                Some(Some(at)) => vec![vec![word("PEXPIREAT"), key, Bytes::from(at.to_string())]],
            }
        }
        "incrbyfloat" => match bulk(Some(reply)) {
            Some(value) => vec![vec![word("SET"), args[1].clone(), value, word("KEEPTTL")]],
            None => return None,
        },
        "hincrbyfloat" => match bulk(Some(reply)) {
            Some(value) => vec![vec![word("HSET"), args[1].clone(), args[2].clone(), value]],
            None => return None,
        },
        "getdel" => vec![vec![word("DEL"), args[1].clone()]],
        "spop" => {
            let members: Vec<Bytes> = match reply {
                Reply::Bulk(member) => vec![member.clone()],
                other => items(other).iter().filter_map(|m| bulk(Some(m))).collect(),
            };
            if members.is_empty() {
                return Some(Vec::new());
            }
            let mut command = vec![word("SREM"), args[1].clone()];
            command.extend(members);
            vec![command]
        }
        "blpop" | "brpop" => match bulk(items(reply).first()) {
            Some(key) => vec![vec![
                word(if name == "blpop" { "LPOP" } else { "RPOP" }),
                key,
            ]],
            None => Vec::new(),
        },
        "blmove" => {
            let mut command = vec![word("LMOVE")];
            command.extend_from_slice(&args[1..5]);
            vec![command]
        }
        "brpoplpush" => vec![vec![word("RPOPLPUSH"), args[1].clone(), args[2].clone()]],
        "blmpop" | "bzmpop" => {
            let parts = items(reply);
            let (Some(key), Some(popped)) = (bulk(parts.first()), parts.get(1)) else {
                return Some(Vec::new());
            };
            let count = items(popped).len().to_string();
            // `B*MPOP timeout numkeys key... LEFT|RIGHT|MIN|MAX [COUNT n]`.
            let numkeys = std::str::from_utf8(&args[2])
                .ok()
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let from_end = args.get(3 + numkeys).is_some_and(|a| {
                a.eq_ignore_ascii_case(b"right") || a.eq_ignore_ascii_case(b"max")
            });
            let pop = match (name, from_end) {
                ("blmpop", false) => "LPOP",
                ("blmpop", true) => "RPOP",
                (_, false) => "ZPOPMIN",
                (_, true) => "ZPOPMAX",
            };
            vec![vec![word(pop), key, Bytes::from(count)]]
        }
        "bzpopmin" | "bzpopmax" => match bulk(items(reply).first()) {
            Some(key) => vec![vec![
                word(if name == "bzpopmin" {
                    "ZPOPMIN"
                } else {
                    "ZPOPMAX"
                }),
                key,
            ]],
            None => Vec::new(),
        },
        "xreadgroup" | "xclaim" | "xautoclaim" => Vec::new(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
