//! `CLIENT` subcommands of client-side caching: TRACKING, CACHING, GETREDIR, TRACKINGINFO.
//! The state they change lives in `crate::tracking`. Source of the options, checks and error
//! texts: Redis 7.2's `clientCommand` and `clientTrackingInfoCommand` (`networking.c`).

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{is, CmdResult, Ctx, SYNTAX};
use crate::tracking::Mode;

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("client|tracking", tracking),
    ("client|caching", caching),
    ("client|getredir", getredir),
    ("client|trackinginfo", trackinginfo),
];

/// `CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX prefix ...] [BCAST] [OPTIN] [OPTOUT]
/// [NOLOOP]` → `+OK`. Errors (Redis's texts): a syntax error, a second `REDIRECT`, a
/// redirect id that is not a connected client, `PREFIX` without `BCAST`, a switch of `BCAST`
/// or `OPTIN`/`OPTOUT` while tracking is on, `OPTIN` with `OPTOUT` or with `BCAST`, and
/// prefixes overlapping one another or the client's.
fn tracking(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut mode = Mode::default();
    let mut redirect: Option<u64> = None;
    let mut prefixes: Vec<Bytes> = Vec::new();
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        let arg = &args[i];
        if is(arg, "redirect") && more {
            i += 1;
            if redirect.is_some_and(|r| r != 0) {
                return Err(Reply::error(
                    "ERR A client can only redirect to a single other client",
                ));
            }
            let id = super::parse_i64(&args[i])?;
            redirect = Some(id as u64);
            if !is_connected(ctx, id) {
                return Err(Reply::error(
                    "ERR The client ID you want redirect to does not exist",
                ));
            }
        } else if is(arg, "bcast") {
            mode.bcast = true;
        } else if is(arg, "optin") {
            mode.optin = true;
        } else if is(arg, "optout") {
            mode.optout = true;
        } else if is(arg, "noloop") {
            mode.noloop = true;
        } else if is(arg, "prefix") && more {
            i += 1;
            prefixes.push(args[i].clone());
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 1;
    }
    let id = ctx.session.handle.id;
    if is(&args[2], "off") {
        ctx.store.tracking.disable(id);
        return Ok(Reply::ok());
    }
    if !is(&args[2], "on") {
        return Err(Reply::error(SYNTAX));
    }
    if !mode.bcast && !prefixes.is_empty() {
        return Err(Reply::error(
            "ERR PREFIX option requires BCAST mode to be enabled",
        ));
    }
    let now = ctx.store.tracking.info(id);
    if now.as_ref().is_some_and(|now| now.mode.bcast != mode.bcast) {
        return Err(Reply::error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."));
    }
    if mode.bcast && (mode.optin || mode.optout) {
        return Err(Reply::error(
            "ERR OPTIN and OPTOUT are not compatible with BCAST",
        ));
    }
    if mode.optin && mode.optout {
        return Err(Reply::error(
            "ERR You can't specify both OPTIN mode and OPTOUT mode",
        ));
    }
    if now
        .as_ref()
        .is_some_and(|now| mode.optin && now.mode.optout || mode.optout && now.mode.optin)
    {
        return Err(Reply::error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."));
    }
    if mode.bcast {
        let existing = now.map(|n| n.prefixes).unwrap_or_default();
        check_prefixes(&prefixes, &existing)?;
    }
    let target = match redirect.filter(|&r| r != 0) {
        Some(target) => ctx.node.clients.all().into_iter().find(|c| c.id == target),
        None => None,
    };
    let handle = ctx.session.handle.clone();
    ctx.store.tracking.enable(&handle, mode, target, &prefixes);
    Ok(Reply::ok())
}

/// True when client `id` is connected.
fn is_connected(ctx: &Ctx, id: i64) -> bool {
    id > 0 && ctx.node.clients.all().iter().any(|c| c.id == id as u64)
}

/// Redis's `checkPrefixCollisionsOrReply`: no new prefix may be a prefix of, or start with,
/// one the client has or another new one.
fn check_prefixes(prefixes: &[Bytes], existing: &[Bytes]) -> Result<(), Reply> {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    for (i, prefix) in prefixes.iter().enumerate() {
        if let Some(old) = existing.iter().find(|old| overlap(old, prefix)) {
            return Err(Reply::error_owned(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(prefix),
                String::from_utf8_lossy(old)
            )));
        }
        if let Some(other) = prefixes[i + 1..].iter().find(|o| overlap(prefix, o)) {
            return Err(Reply::error_owned(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(prefix),
                String::from_utf8_lossy(other)
            )));
        }
    }
    Ok(())
}

/// `CLIENT CACHING YES|NO` → `+OK`: the next command's reads are (`YES`, in `OPTIN` mode)
/// or are not (`NO`, in `OPTOUT` mode) remembered. Errors: tracking off, the wrong mode, a
/// word other than yes or no (syntax error).
fn caching(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let id = ctx.session.handle.id;
    if ctx.store.tracking.info(id).is_none() {
        return Err(Reply::error(crate::tracking::NOT_TRACKING));
    }
    let yes = if is(&args[2], "yes") {
        true
    } else if is(&args[2], "no") {
        false
    } else {
        return Err(Reply::error(SYNTAX));
    };
    ctx.store.tracking.caching(id, yes).map_err(Reply::error)?;
    Ok(Reply::ok())
}

/// `CLIENT GETREDIR` → the id invalidations are redirected to, `0` for none, `-1` when
/// tracking is off.
fn getredir(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let info = ctx.store.tracking.info(ctx.session.handle.id);
    Ok(Reply::Int(info.map_or(-1, |i| i.redirect as i64)))
}

/// `CLIENT TRACKINGINFO` → a map: `flags` (a set: `on`/`off`, then `bcast`, `optin`,
/// `caching-yes`, `optout`, `caching-no`, `noloop`, `broken_redirect` as they apply),
/// `redirect` (as `CLIENT GETREDIR`) and `prefixes` (an array).
fn trackinginfo(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let info = ctx.store.tracking.info(ctx.session.handle.id);
    let mut flags = vec![if info.is_some() { "on" } else { "off" }];
    let (redirect, prefixes) = match &info {
        Some(info) => {
            let m = info.mode;
            let all = [
                (m.bcast, "bcast"),
                (m.optin, "optin"),
                (m.optin && info.caching, "caching-yes"),
                (m.optout, "optout"),
                (m.optout && info.caching, "caching-no"),
                (m.noloop, "noloop"),
                (info.broken, "broken_redirect"),
            ];
            flags.extend(all.iter().filter(|(on, _)| *on).map(|(_, name)| *name));
            (info.redirect as i64, info.prefixes.clone())
        }
        None => (-1, Vec::new()),
    };
    Ok(Reply::Map(vec![
        (
            Reply::bulk_static("flags"),
            Reply::Set(flags.into_iter().map(Reply::bulk_static).collect()),
        ),
        (Reply::bulk_static("redirect"), Reply::Int(redirect)),
        (
            Reply::bulk_static("prefixes"),
            Reply::Array(prefixes.into_iter().map(Reply::Bulk).collect()),
        ),
    ]))
}
