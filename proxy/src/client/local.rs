//! Commands the proxy answers itself: PING, ECHO, QUIT, HELLO, AUTH, SELECT, RESET, CLIENT
//! (see [`client_cmd`]) and COMMAND; `INFO` is [`super::info`]'s.

use bytes::Bytes;
use redoubt_protocol::command_table::{self, Resolved};
use redoubt_protocol::{errors, Protocol, Reply};

use super::client_cmd;
use super::commands::served;
use super::conn::ClientConn;
use crate::backend::DATABASES;
use crate::state::Worker;

use super::info::REDIS_VERSION;

fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// The proxy's own reply to `args` (whose command is `command`, arity already checked), or
/// `None` when the request goes to the nodes.
pub(crate) fn answer(
    conn: &mut ClientConn,
    worker: &Worker,
    command: &Resolved,
    args: &[Bytes],
) -> Option<Reply> {
    Some(match command.name() {
        "ping" => match args.len() {
            1 => Reply::simple("PONG"),
            2 => Reply::Bulk(args[1].clone()),
            _ => Reply::error_owned(errors::wrong_arity("ping")),
        },
        "echo" => Reply::Bulk(args[1].clone()),
        "quit" => {
            conn.closing = true;
            Reply::ok()
        }
        "select" => select(conn, &args[1]),
        "auth" => auth(conn, worker, args),
        "hello" => hello(conn, worker, args),
        "client" => client_cmd::client(conn, &worker.clients, command, args),
        "readonly" | "readwrite" | "asking" => Reply::ok(),
        "reset" => {
            conn.reset(worker.config.requirepass.is_some());
            Reply::simple("RESET")
        }
        "command" => command_reply(command, args),
        _ => return None,
    })
}

/// `SELECT index`: Redis's errors for a non-integer and for an index outside
/// `0..`[`DATABASES`]; from then on every routed request runs in that database.
fn select(conn: &mut ClientConn, index: &[u8]) -> Reply {
    let Some(index) = std::str::from_utf8(index)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return Reply::error("ERR value is not an integer or out of range");
    };
    match usize::try_from(index) {
        Ok(db) if db < DATABASES => {
            conn.db = db;
            if let Some(handle) = &conn.handle {
                handle.view.lock().db = db;
            }
            Reply::ok()
        }
        _ => Reply::error("ERR DB index is out of range"),
    }
}

fn check_password(
    conn: &mut ClientConn,
    worker: &Worker,
    user: &[u8],
    password: &[u8],
) -> Result<(), Reply> {
    let ok = match &worker.config.requirepass {
        None => true,
        Some(required) => user == b"default" && required.as_bytes() == password,
    };
    if !ok {
        return Err(Reply::error(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ));
    }
    conn.authenticated = true;
    Ok(())
}

fn auth(conn: &mut ClientConn, worker: &Worker, args: &[Bytes]) -> Reply {
    if worker.config.requirepass.is_none() && args.len() == 2 {
        return Reply::error(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        );
    }
    let (user, password) = match args.len() {
        2 => (&b"default"[..], &args[1][..]),
        3 => (&args[1][..], &args[2][..]),
        _ => return Reply::error("ERR syntax error"),
    };
    match check_password(conn, worker, user, password) {
        Ok(()) => Reply::ok(),
        Err(err) => err,
    }
}

fn hello(conn: &mut ClientConn, worker: &Worker, args: &[Bytes]) -> Reply {
    let mut protocol = conn.protocol;
    if args.len() > 1 {
        protocol = match std::str::from_utf8(&args[1])
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
        {
            Some(2) => Protocol::Resp2,
            Some(3) => Protocol::Resp3,
            Some(_) => return Reply::error("NOPROTO unsupported protocol version"),
            None => return Reply::error("ERR Protocol version is not an integer or out of range"),
        };
    }
    let mut i = 2;
    while i < args.len() {
        if is(&args[i], "auth") && i + 2 < args.len() {
            if let Err(err) = check_password(conn, worker, &args[i + 1], &args[i + 2]) {
                return err;
            }
            i += 3;
        } else if is(&args[i], "setname") && i + 1 < args.len() {
            if let Err(err) = client_cmd::set_name(conn, &args[i + 1]) {
                return err;
            }
            i += 2;
        } else {
            return Reply::error_owned(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            ));
        }
    }
    if worker.config.requirepass.is_some() && !conn.authenticated {
        return Reply::error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    conn.protocol = protocol;
    if let Some(handle) = &conn.handle {
        handle.view.lock().resp = protocol.version();
    }
    Reply::Map(vec![
        (Reply::bulk_static("server"), Reply::bulk_static("redis")),
        (
            Reply::bulk_static("version"),
            Reply::bulk_static(REDIS_VERSION),
        ),
        (Reply::bulk_static("proto"), Reply::Int(protocol.version())),
        (Reply::bulk_static("id"), Reply::Int(conn.id as i64)),
        (Reply::bulk_static("mode"), Reply::bulk_static("standalone")),
        (Reply::bulk_static("role"), Reply::bulk_static("master")),
        (Reply::bulk_static("modules"), Reply::Array(Vec::new())),
    ])
}

/// `COMMAND [COUNT | LIST | INFO ... | DOCS ...]`, over what the proxy carries.
fn command_reply(command: &Resolved, args: &[Bytes]) -> Reply {
    let served = served();
    match command.sub.map(|sub| sub.name) {
        None => command_table::command_info(&[], served),
        Some("count") => Reply::Int(command_table::command_count(served)),
        Some("info") => command_table::command_info(&args[2..], served),
        Some("docs") => command_table::command_docs(&args[2..], served),
        Some("list") => command_table::command_list(served),
        Some(other) => Reply::error_owned(errors::unknown_subcommand("command", other.as_bytes())),
    }
}
