//! Sorted-set sampling and iteration: `ZRANDMEMBER` and `ZSCAN`. Random choices are made in
//! [`pick`], which returns what it chose.

use bytes::Bytes;
use rand::Rng;
use redoubt_protocol::reply::format_double;
use redoubt_protocol::Reply;

use super::scored_reply;
use crate::cmd::{is, parse_i64, CmdResult, Ctx, SYNTAX};
use crate::glob::glob_match;
use crate::value::ZSetValue;

/// Chooses members for `ZRANDMEMBER key count`: `count` distinct ones when positive (all of
/// them, highest first, when `count` reaches the size), `-count` independent picks when negative.
fn pick(z: &ZSetValue, count: i64) -> Vec<(Bytes, f64)> {
    let mut rng = rand::thread_rng();
    let owned = |(m, s): (&[u8], f64)| (Bytes::copy_from_slice(m), s);
    if count < 0 {
        return (0..count.unsigned_abs())
            .filter_map(|_| z.member_at(rng.gen_range(0..z.len())).map(owned))
            .collect();
    }
    let count = count as u64;
    if count >= z.len() as u64 {
        // The whole set, highest first, as Redis walks a small set's listpack here.
        return z.range(0..z.len(), true).map(owned).collect();
    }
    rand::seq::index::sample(&mut rng, z.len(), count as usize)
        .into_iter()
        .filter_map(|i| z.member_at(i).map(owned))
        .collect()
}

/// `ZRANDMEMBER key` → a random member or nil; `ZRANDMEMBER key count [WITHSCORES]` → an
/// array (with scores as `ZRANGE` gives them): distinct members for a positive count,
/// possibly repeated ones for a negative count.
pub(crate) fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(count_arg) = args.get(2) else {
        let z = ctx.read::<ZSetValue>(&args[1])?;
        let chosen = z.map(|z| pick(z, -1)).unwrap_or_default();
        return Ok(chosen
            .into_iter()
            .next()
            .map_or(Reply::Null, |(m, _)| Reply::Bulk(m)));
    };
    let count = parse_i64(count_arg)?;
    if count == i64::MIN {
        return Err(Reply::error(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with_scores = match args.get(3) {
        None => false,
        Some(arg) if args.len() == 4 && is(arg, "withscores") => true,
        Some(_) => return Err(Reply::error(SYNTAX)),
    };
    if with_scores && count < -(i64::MAX / 2) {
        return Err(Reply::error("ERR value is out of range"));
    }
    let protocol = ctx.session.protocol;
    let chosen = match ctx.read::<ZSetValue>(&args[1])? {
        Some(z) if count != 0 => pick(z, count),
        _ => Vec::new(),
    };
    Ok(scored_reply(
        protocol,
        chosen.iter().map(|(m, s)| (m, *s)),
        with_scores,
    ))
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]` → `[next cursor, [member, score, ...]]`,
/// scores as bulk strings. Small sets come back whole in one page, in score order, as Redis's
/// listpacks do.
pub(crate) fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or(Reply::error("ERR invalid cursor"))?;
    let empty = || Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())]);
    let Some(z) = ctx.read::<ZSetValue>(&args[1])? else {
        return Ok(empty());
    };
    let (mut pattern, mut count) = (None, 10usize);
    let mut i = 3;
    while i < args.len() {
        match args.get(i + 1) {
            Some(value) if is(&args[i], "match") => pattern = Some(value),
            Some(value) if is(&args[i], "count") => {
                count = match parse_i64(value)? {
                    n if n < 1 => return Err(Reply::error(SYNTAX)),
                    n => n as usize,
                };
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        i += 2;
    }
    let (next, page) = z.scan(cursor, count);
    let mut items = Vec::with_capacity(page.len() * 2);
    for (member, score) in page {
        if pattern.is_some_and(|p| !glob_match(p, member, false)) {
            continue;
        }
        items.push(Reply::Bulk(Bytes::copy_from_slice(member)));
        items.push(Reply::bulk(format_double(score)));
    }
    Ok(Reply::Array(vec![
        Reply::bulk(next.to_string()),
        Reply::Array(items),
    ]))
}
