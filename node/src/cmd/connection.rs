//! Connection commands: PING, QUIT, SELECT, AUTH, HELLO. Source: the Redis command reference.

use bytes::Bytes;
use redoubt_protocol::{Protocol, Reply};

use super::{is, CmdResult, Ctx, SYNTAX};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("ping", ping),
    ("echo", echo),
    ("quit", quit),
    ("select", select),
    ("auth", auth),
    ("hello", hello),
];

/// `ECHO message` → the message as a bulk string.
fn echo(_: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Reply::Bulk(args[1].clone()))
}

/// `PING [message]` → `+PONG`, or the message as a bulk string.
pub(crate) fn ping(_: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match args.len() {
        1 => Ok(Reply::simple("PONG")),
        2 => Ok(Reply::Bulk(args[1].clone())),
        _ => Err(Reply::error_owned(super::wrong_arity("ping"))),
    }
}

/// `QUIT` → `+OK`, then the connection closes.
pub(crate) fn quit(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.session.close_after_reply = true;
    Ok(Reply::ok())
}

/// `SELECT index` → `+OK`; `ERR DB index is out of range` outside 0..databases.
pub(crate) fn select(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let index = super::parse_i64(&args[1])?;
    if i32::try_from(index).is_err() {
        return Err(Reply::error(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    if index < 0 || index as usize >= ctx.store.dbs.len() {
        return Err(Reply::error("ERR DB index is out of range"));
    }
    ctx.session.db = index as usize;
    Ok(Reply::ok())
}

/// `AUTH [username] password` → `+OK`, or `WRONGPASS` (only the `default` user exists).
pub(crate) fn auth(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(Reply::error(SYNTAX));
    }
    if ctx.store.config.requirepass.is_empty() {
        if args.len() == 2 {
            return Err(Reply::error(
                "ERR AUTH <password> called without any password configured for the default user. \
                 Are you sure your configuration is correct?",
            ));
        }
        // With no password configured the default user accepts anything.
        return if is(&args[1], "default") {
            Ok(Reply::ok())
        } else {
            Err(wrongpass())
        };
    }
    let (user, password) = if args.len() == 3 {
        (&args[1][..], &args[2][..])
    } else {
        (&b"default"[..], &args[1][..])
    };
    check_credentials(ctx, user, password)?;
    Ok(Reply::ok())
}

fn wrongpass() -> Reply {
    Reply::error("WRONGPASS invalid username-password pair or user is disabled.")
}

fn check_credentials(ctx: &mut Ctx, user: &[u8], password: &[u8]) -> Result<(), Reply> {
    let required = &ctx.store.config.requirepass;
    let password_ok = required.is_empty() || required.as_bytes() == password;
    if user != b"default" || !password_ok {
        return Err(wrongpass());
    }
    ctx.session.authenticated = true;
    Ok(())
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]` → a map describing the
/// server (server, version, proto, id, mode, role, modules), in the protocol just chosen.
pub(crate) fn hello(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut protocol = ctx.session.protocol;
    if args.len() > 1 {
        let version = crate::value::parse_canonical_i64(&args[1]).ok_or(Reply::error(
            "ERR Protocol version is not an integer or out of range",
        ))?;
        protocol = match version {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(Reply::error("NOPROTO unsupported protocol version")),
        };
    }
    let mut i = 2;
    let mut credentials = None;
    let mut setname = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if is(&args[i], "auth") && more >= 2 {
            credentials = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 3;
        } else if is(&args[i], "setname") && more >= 1 {
            setname = Some(args[i + 1].clone());
            i += 2;
        } else {
            let option = String::from_utf8_lossy(&args[i]).into_owned();
            return Err(Reply::error_owned(format!(
                "ERR Syntax error in HELLO option '{option}'"
            )));
        }
    }
    if let Some((user, password)) = credentials {
        check_credentials(ctx, &user, &password)?;
    }
    if !ctx.session.authenticated {
        return Err(Reply::error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO \
             <proto> AUTH <user> <pass> option can be used to authenticate the client and select the \
             RESP protocol version at the same time",
        ));
    }
    if let Some(name) = setname {
        super::client::set_name(ctx, name)?;
    }
    ctx.session.protocol = protocol;
    Ok(Reply::Map(vec![
        (Reply::bulk_static("server"), Reply::bulk_static("redis")),
        (
            Reply::bulk_static("version"),
            Reply::bulk_static(crate::REDIS_VERSION),
        ),
        (Reply::bulk_static("proto"), Reply::Int(protocol.version())),
        (
            Reply::bulk_static("id"),
            Reply::Int(ctx.session.handle.id as i64),
        ),
        (Reply::bulk_static("mode"), Reply::bulk_static("standalone")),
        (Reply::bulk_static("role"), Reply::bulk_static("master")),
        (Reply::bulk_static("modules"), Reply::Array(Vec::new())),
    ]))
}
