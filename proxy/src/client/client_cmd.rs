//! `CLIENT` subcommands for the proxy's own clients: ID, GETNAME, SETNAME, SETINFO, INFO,
//! LIST, KILL, UNBLOCK, NO-EVICT, NO-TOUCH and REPLY, with Redis 7.2's replies and errors
//! (`networking.c` `clientCommand`). The registry ([`ClientRegistry`]) spans every worker.

use bytes::Bytes;
use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::{errors, Reply};

use super::conn::{ClientConn, ReplyMode};
use crate::state::clients::{ClientRegistry, Unblock};

const SYNTAX: &str = "ERR syntax error";

fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

fn parse_id(arg: &[u8]) -> Option<u64> {
    std::str::from_utf8(arg).ok()?.parse().ok()
}

/// `CLIENT <sub> ...` (arity already checked). `CLIENT REPLY OFF|SKIP` answer `+OK` here; the
/// session drops it (see [`ClientConn::take_silence`]).
pub(crate) fn client(
    conn: &mut ClientConn,
    registry: &ClientRegistry,
    command: &Resolved,
    args: &[Bytes],
) -> Reply {
    let sub = command.sub.map_or("", |sub| sub.name);
    match sub {
        "id" => Reply::Int(conn.id as i64),
        "getname" => conn.name.clone().map_or(Reply::Null, Reply::Bulk),
        "setname" => match set_name(conn, &args[2]) {
            Ok(()) => Reply::ok(),
            Err(err) => err,
        },
        "setinfo" => setinfo(conn, args),
        "info" => Reply::Verbatim(
            "txt",
            Bytes::from(
                conn.handle
                    .as_ref()
                    .map_or(String::new(), |h| h.info_line())
                    + "\n",
            ),
        ),
        "list" => list(registry, args),
        "kill" => kill(conn, registry, args),
        "unblock" => unblock(registry, args),
        "no-evict" | "no-touch" => {
            if is(&args[2], "on") || is(&args[2], "off") {
                Reply::ok()
            } else {
                Reply::error(SYNTAX)
            }
        }
        "reply" => {
            if is(&args[2], "on") {
                conn.reply_mode = ReplyMode::On;
                conn.skip = 0;
            } else if is(&args[2], "off") {
                conn.reply_mode = ReplyMode::Off;
            } else if is(&args[2], "skip") {
                // This request's reply and the next one's.
                conn.skip = 2;
            } else {
                return Reply::error(SYNTAX);
            }
            Reply::ok()
        }
        _ => Reply::error_owned(errors::unknown_subcommand("client", sub.as_bytes())),
    }
}

/// Sets the client's name (`CLIENT SETNAME`, `HELLO ... SETNAME`); an empty name clears it.
///
/// # Errors
/// Redis's error for names with spaces, newlines or other special characters.
pub(crate) fn set_name(conn: &mut ClientConn, name: &Bytes) -> Result<(), Reply> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Reply::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    conn.name = (!name.is_empty()).then(|| name.clone());
    if let Some(handle) = &conn.handle {
        handle.view.lock().name = String::from_utf8_lossy(name).into_owned();
    }
    Ok(())
}

/// `CLIENT SETINFO LIB-NAME name | LIB-VER version`.
fn setinfo(conn: &mut ClientConn, args: &[Bytes]) -> Reply {
    if args.len() != 4 {
        return Reply::error_owned(errors::wrong_arity("client|setinfo"));
    }
    let value = String::from_utf8_lossy(&args[3]).into_owned();
    if args[3].iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Reply::error_owned(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(&args[2]).to_ascii_lowercase()
        ));
    }
    let Some(handle) = &conn.handle else {
        return Reply::ok();
    };
    let mut view = handle.view.lock();
    if is(&args[2], "lib-name") {
        view.lib_name = value;
    } else if is(&args[2], "lib-ver") {
        view.lib_ver = value;
    } else {
        return Reply::error_owned(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(&args[2])
        ));
    }
    Reply::ok()
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]`.
fn list(registry: &ClientRegistry, args: &[Bytes]) -> Reply {
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < args.len() {
        if is(&args[i], "type") && i + 1 < args.len() {
            let kind = String::from_utf8_lossy(&args[i + 1]).to_ascii_lowercase();
            match kind.as_str() {
                "normal" => {}
                "master" | "replica" | "slave" | "pubsub" => ids = Some(Vec::new()),
                _ => return Reply::error_owned(format!("ERR Unknown client type '{kind}'")),
            }
            i += 2;
        } else if is(&args[i], "id") && i + 1 < args.len() {
            let mut wanted = Vec::new();
            for arg in &args[i + 1..] {
                match parse_id(arg) {
                    Some(id) if id > 0 => wanted.push(id),
                    _ => return Reply::error("ERR Invalid client ID"),
                }
            }
            ids = Some(wanted);
            i = args.len();
        } else {
            return Reply::error(SYNTAX);
        }
    }
    let mut text = String::new();
    for handle in registry.all() {
        if ids.as_ref().is_some_and(|ids| !ids.contains(&handle.id)) {
            continue;
        }
        text.push_str(&handle.info_line());
        text.push('\n');
    }
    Reply::Verbatim("txt", Bytes::from(text))
}

/// `CLIENT KILL addr` (old form: `+OK` or an error) or `CLIENT KILL <filter value> ...`
/// (`ID`, `ADDR`, `LADDR`, `USER`, `SKIPME`; the number killed).
fn kill(conn: &ClientConn, registry: &ClientRegistry, args: &[Bytes]) -> Reply {
    if args.len() == 3 {
        let addr = String::from_utf8_lossy(&args[2]);
        let found = registry
            .all()
            .into_iter()
            .find(|h| h.addr.to_string() == addr);
        return match found {
            Some(handle) => {
                handle.kill.notify_one();
                Reply::ok()
            }
            None => Reply::error("ERR No such client"),
        };
    }
    if args.len() % 2 != 0 {
        return Reply::error(SYNTAX);
    }
    let mut id = None;
    let mut addr = None;
    let mut laddr = None;
    let mut user_ok = true;
    let mut skipme = true;
    for pair in args[2..].chunks(2) {
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        if is(&pair[0], "id") {
            match parse_id(&pair[1]) {
                Some(n) if n > 0 => id = Some(n),
                _ => return Reply::error("ERR client-id should be greater than 0"),
            }
        } else if is(&pair[0], "addr") {
            addr = Some(value);
        } else if is(&pair[0], "laddr") {
            laddr = Some(value);
        } else if is(&pair[0], "user") {
            user_ok = value == "default";
        } else if is(&pair[0], "skipme") {
            skipme = match value.to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                _ => return Reply::error(SYNTAX),
            };
        } else if is(&pair[0], "type") {
            if !matches!(
                value.to_ascii_lowercase().as_str(),
                "normal" | "master" | "replica" | "slave" | "pubsub"
            ) {
                return Reply::error_owned(format!("ERR Unknown client type '{value}'"));
            }
        } else {
            return Reply::error(SYNTAX);
        }
    }
    let mut killed = 0;
    for handle in registry.all() {
        let matches = user_ok
            && id.is_none_or(|id| handle.id == id)
            && addr.as_ref().is_none_or(|a| handle.addr.to_string() == *a)
            && laddr
                .as_ref()
                .is_none_or(|a| handle.laddr.to_string() == *a)
            && !(skipme && handle.id == conn.id);
        if matches {
            handle.kill.notify_one();
            killed += 1;
        }
    }
    Reply::Int(killed)
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: `1` when client `id` was blocked and is released.
fn unblock(registry: &ClientRegistry, args: &[Bytes]) -> Reply {
    let Some(id) = parse_id(&args[2]) else {
        return Reply::error("ERR value is not an integer or out of range");
    };
    let how = match args.get(3) {
        None => Unblock::Timeout,
        Some(a) if is(a, "timeout") => Unblock::Timeout,
        Some(a) if is(a, "error") => Unblock::Error,
        Some(_) => return Reply::error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
    };
    if args.len() > 4 {
        return Reply::error(SYNTAX);
    }
    let released = registry.get(id).is_some_and(|h| h.unblock(how));
    Reply::Int(i64::from(released))
}
