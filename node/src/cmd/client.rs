//! `CLIENT` subcommands: ID, SETNAME, GETNAME, INFO, LIST, SETINFO.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{is, CmdResult, Ctx, SYNTAX};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("client|id", id),
    ("client|setname", setname),
    ("client|getname", getname),
    ("client|info", info),
    ("client|list", list),
    ("client|setinfo", setinfo),
    ("client|kill", kill),
    ("client|unblock", unblock),
    ("client|reply", reply),
    ("client|no-evict", no_evict),
    ("client|no-touch", no_touch),
    ("client|pause", pause),
    ("client|unpause", unpause),
    ("reset", reset),
];

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]` → `:1` when client `id` was blocked (it then gets its
/// timeout reply, or `-UNBLOCKED client unblocked via CLIENT UNBLOCK`), else `:0`.
fn unblock(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    note_running(ctx, "unblock");
    let id = super::parse_i64(&args[2])?;
    let error = match args.get(3) {
        None => false,
        Some(how) if is(how, "timeout") => false,
        Some(how) if is(how, "error") => true,
        Some(_) => {
            return Err(Reply::error(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    if args.len() > 4 {
        return Err(Reply::error(SYNTAX));
    }
    let Some(blocked) = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.store.blocking.remove(id))
    else {
        return Ok(Reply::Int(0));
    };
    let reply = if error {
        Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    } else if matches!(blocked.command.name(), "blmove" | "brpoplpush") {
        Reply::Null
    } else {
        Reply::NullArray
    };
    blocked.wait.slot.deliver(reply);
    Ok(Reply::Int(1))
}

/// `CLIENT REPLY ON|OFF|SKIP`: `ON` → `+OK`; `OFF` silences every later reply, `SKIP` the
/// next one (neither is answered itself).
fn reply(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    note_running(ctx, "reply");
    if is(&args[2], "on") {
        ctx.session.replies_off = false;
        ctx.session.skip_replies = 0;
    } else if is(&args[2], "off") {
        ctx.session.replies_off = true;
    } else if is(&args[2], "skip") {
        // This reply and the next.
        ctx.session.skip_replies = 2;
    } else {
        return Err(Reply::error(SYNTAX));
    }
    Ok(Reply::ok())
}

/// `CLIENT PAUSE timeout-ms [WRITE|ALL]` → `+OK`: until the timeout, other clients' commands
/// (`ALL`, the default) or their writes and `PUBLISH` (`WRITE`) wait before running; the
/// standby link is never paused.
fn pause(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    note_running(ctx, "pause");
    let ms = crate::value::parse_canonical_i64(&args[2]).ok_or(Reply::error(
        "ERR timeout is not an integer or out of range",
    ))?;
    if ms < 0 {
        return Err(Reply::error("ERR timeout is negative"));
    }
    let all = match args.get(3) {
        None => true,
        Some(mode) if is(mode, "all") => true,
        Some(mode) if is(mode, "write") => false,
        Some(_) => return Err(Reply::error("ERR CLIENT PAUSE mode must be WRITE or ALL")),
    };
    if args.len() > 4 {
        return Err(Reply::error(SYNTAX));
    }
    let until = tokio::time::Instant::now() + std::time::Duration::from_millis(ms as u64);
    ctx.node.clients.pause(crate::client::Pause { until, all });
    Ok(Reply::ok())
}

/// `CLIENT UNPAUSE` → `+OK`, ending a `CLIENT PAUSE`.
fn unpause(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    note_running(ctx, "unpause");
    ctx.node.clients.unpause();
    Ok(Reply::ok())
}

/// `CLIENT NO-EVICT ON|OFF` → `+OK` (the node does not evict clients).
fn no_evict(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    note_running(ctx, "no-evict");
    on_off(&args[2]).map(|_| Reply::ok())
}

/// `CLIENT NO-TOUCH ON|OFF` → `+OK`; while on, this client's commands other than `TOUCH`
/// do not change the LRU/LFU bookkeeping of the keys they access (Redis 7.2).
fn no_touch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    note_running(ctx, "no-touch");
    ctx.session.no_touch = on_off(&args[2])?;
    Ok(Reply::ok())
}

fn on_off(arg: &[u8]) -> Result<bool, Reply> {
    if is(arg, "on") {
        Ok(true)
    } else if is(arg, "off") {
        Ok(false)
    } else {
        Err(Reply::error(SYNTAX))
    }
}

/// `RESET` → `+RESET`: the connection's state back to a fresh one (transaction, watches,
/// subscriptions, client-side caching, database 0, RESP2, no name, authentication as at connect).
fn reset(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.session.multi = None;
    super::transaction::unwatch_all(ctx);
    super::pubsub::unsubscribe_all(ctx);
    ctx.store.tracking.disable(ctx.session.handle.id);
    ctx.session.db = 0;
    ctx.session.protocol = redoubt_protocol::Protocol::Resp2;
    ctx.session.name = None;
    ctx.session.handle.view.lock().name.clear();
    ctx.session.authenticated = ctx.store.config.requirepass.is_empty();
    ctx.session.replies_off = false;
    ctx.session.skip_replies = 0;
    ctx.session.no_touch = false;
    ctx.store.observe.monitors.remove(ctx.session.handle.id);
    Ok(Reply::simple("RESET"))
}

/// Shows `client|<sub>` as this client's `cmd` in `CLIENT INFO` / `CLIENT LIST` while it runs.
fn note_running(ctx: &mut Ctx, sub: &str) {
    let mut view = ctx.session.handle.view.lock();
    view.db = ctx.session.db;
    view.last_command = format!("client|{sub}");
}

/// `CLIENT ID` → this connection's id.
fn id(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    note_running(ctx, "id");
    Ok(Reply::Int(ctx.session.handle.id as i64))
}

/// `CLIENT SETNAME name` → `+OK`.
fn setname(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    note_running(ctx, "setname");
    set_name(ctx, args[2].clone())?;
    Ok(Reply::ok())
}

/// `CLIENT GETNAME` → the name, or nil.
fn getname(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    note_running(ctx, "getname");
    Ok(ctx.session.name.clone().into())
}

/// `CLIENT INFO` → this connection's `CLIENT LIST` line, as verbatim text.
fn info(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    note_running(ctx, "info");
    Ok(Reply::Verbatim(
        "txt",
        Bytes::from(ctx.session.handle.info_line() + "\n"),
    ))
}

/// Sets the connection's name; an empty name clears it.
///
/// # Errors
/// Redis's error for names with spaces, newlines or other special characters.
pub(crate) fn set_name(ctx: &mut Ctx, name: Bytes) -> Result<(), Reply> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Reply::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    let text = String::from_utf8_lossy(&name).into_owned();
    ctx.session.name = (!name.is_empty()).then_some(name);
    ctx.session.handle.view.lock().name = text;
    Ok(())
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]`: one line per client.
fn list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    note_running(ctx, "list");
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < args.len() {
        if is(&args[i], "type") && i + 1 < args.len() {
            let kind = String::from_utf8_lossy(&args[i + 1]).to_ascii_lowercase();
            match kind.as_str() {
                "normal" => {}
                "master" | "replica" | "slave" | "pubsub" => ids = Some(Vec::new()),
                _ => {
                    return Err(Reply::error_owned(format!(
                        "ERR Unknown client type '{kind}'"
                    )))
                }
            }
            i += 2;
        } else if is(&args[i], "id") && i + 1 < args.len() {
            let mut wanted = Vec::new();
            for arg in &args[i + 1..] {
                let id =
                    super::parse_i64(arg).map_err(|_| Reply::error("ERR Invalid client ID"))?;
                wanted.push(id as u64);
            }
            ids = Some(wanted);
            i = args.len();
        } else {
            return Err(Reply::error(SYNTAX));
        }
    }
    let mut text = String::new();
    for client in ctx.node.clients.all() {
        if ids.as_ref().is_some_and(|ids| !ids.contains(&client.id)) {
            continue;
        }
        text.push_str(&client.info_line());
        text.push('\n');
    }
    Ok(Reply::Verbatim("txt", Bytes::from(text)))
}

/// `CLIENT SETINFO LIB-NAME name | LIB-VER version` → `+OK`.
fn setinfo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    note_running(ctx, "setinfo");
    if args.len() != 4 {
        return Err(Reply::error_owned(super::wrong_arity("client|setinfo")));
    }
    let value = String::from_utf8_lossy(&args[3]).into_owned();
    if value.bytes().any(|b| !(b'!'..=b'~').contains(&b)) {
        return Err(Reply::error_owned(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(&args[2]).to_ascii_lowercase()
        )));
    }
    let mut view = ctx.session.handle.view.lock();
    if is(&args[2], "lib-name") {
        view.lib_name = value;
    } else if is(&args[2], "lib-ver") {
        view.lib_ver = value;
    } else {
        return Err(Reply::error_owned(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(&args[2])
        )));
    }
    Ok(Reply::ok())
}

/// `CLIENT KILL ip:port` → `+OK`; `CLIENT KILL [ID id] [TYPE normal|master|replica|slave]
/// [ADDR ip:port] [SKIPME yes|no]` → the number of clients closed. `TYPE master` drops this
/// standby's link to its primary, which then reconnects and resumes (partial resync).
fn kill(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    note_running(ctx, "kill");
    use std::sync::atomic::Ordering;
    if args.len() == 3 {
        let addr = String::from_utf8_lossy(&args[2]).into_owned();
        let target = ctx
            .node
            .clients
            .all()
            .into_iter()
            .find(|c| c.addr.to_string() == addr);
        return match target {
            Some(client) => {
                client.kill.notify_one();
                Ok(Reply::ok())
            }
            None => Err(Reply::error("ERR No such client")),
        };
    }
    let (mut id, mut kind, mut addr, mut skip_me) = (None, None, None, true);
    for pair in args[2..].chunks(2) {
        let [option, value] = pair else {
            return Err(Reply::error(SYNTAX));
        };
        if is(option, "id") {
            id = Some(
                super::parse_i64(value)
                    .map_err(|_| Reply::error("ERR client-id should be greater than 0"))?
                    as u64,
            );
        } else if is(option, "type") {
            let name = String::from_utf8_lossy(value).to_ascii_lowercase();
            kind = Some(match name.as_str() {
                "normal" | "master" | "pubsub" => name,
                "replica" | "slave" => "replica".to_string(),
                _ => {
                    return Err(Reply::error_owned(format!(
                        "ERR Unknown client type '{name}'"
                    )))
                }
            });
        } else if is(option, "addr") {
            addr = Some(String::from_utf8_lossy(value).into_owned());
        } else if is(option, "skipme") {
            skip_me = !is(value, "no");
        } else if is(option, "laddr") || is(option, "user") || is(option, "maxage") {
            // Accepted filters this node does not distinguish on.
        } else {
            return Err(Reply::error(SYNTAX));
        }
    }
    let mut killed = 0;
    if kind.as_deref() == Some("master") {
        if let Some(link) = &ctx.store.repl.primary {
            link.reconnect.notify_one();
            killed += 1;
        }
        return Ok(Reply::Int(killed));
    }
    for client in ctx.node.clients.all() {
        let replica = client.is_replica.load(Ordering::Relaxed);
        let matches = id.is_none_or(|id| id == client.id)
            && addr.as_ref().is_none_or(|a| *a == client.addr.to_string())
            && kind
                .as_deref()
                .is_none_or(|k| (k == "replica") == replica && k != "pubsub")
            && !(skip_me && client.id == ctx.session.handle.id);
        if matches {
            client.kill.notify_one();
            killed += 1;
        }
    }
    Ok(Reply::Int(killed))
}
