//! Commands the proxy answers itself: PING, ECHO, QUIT, HELLO, AUTH, SELECT, CLIENT
//! ID/SETNAME/GETNAME/SETINFO, COMMAND and INFO (the proxy's own sections).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use redoubt_protocol::command_table::{self, CommandSet};
use redoubt_protocol::{Protocol, Reply};

use crate::session::ClientContext;

fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// The proxy's own reply to `args`, or `None` when the request goes to the nodes.
pub fn answer(client: &mut impl ClientContext, command: &str, args: &[Bytes]) -> Option<Reply> {
    Some(match command {
        "ping" => match args.len() {
            1 => Reply::simple("PONG"),
            2 => Reply::Bulk(args[1].clone()),
            _ => Reply::error("ERR wrong number of arguments for 'ping' command"),
        },
        "echo" => Reply::Bulk(args[1].clone()),
        "quit" => {
            client.close_after_reply();
            Reply::ok()
        }
        "select" => match std::str::from_utf8(&args[1])
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
        {
            Some(0) => Reply::ok(),
            Some(_) => Reply::error("ERR SELECT is not allowed in cluster mode"),
            None => Reply::error("ERR value is not an integer or out of range"),
        },
        "auth" => auth(client, args),
        "hello" => hello(client, args),
        "client" => client_command(client, args),
        "command" => command_reply(args),
        "info" => info(client, args),
        _ => return None,
    })
}

fn check_password(
    client: &mut impl ClientContext,
    user: &[u8],
    password: &[u8],
) -> Result<(), Reply> {
    let ok = match &client.state().config.requirepass {
        None => true,
        Some(required) => user == b"default" && required.as_bytes() == password,
    };
    if !ok {
        return Err(Reply::error(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ));
    }
    client.set_authenticated();
    Ok(())
}

fn auth(client: &mut impl ClientContext, args: &[Bytes]) -> Reply {
    if client.state().config.requirepass.is_none() && args.len() == 2 {
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
    match check_password(client, user, password) {
        Ok(()) => Reply::ok(),
        Err(err) => err,
    }
}

fn hello(client: &mut impl ClientContext, args: &[Bytes]) -> Reply {
    let mut protocol = client.protocol();
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
            if let Err(err) = check_password(client, &args[i + 1], &args[i + 2]) {
                return err;
            }
            i += 3;
        } else if is(&args[i], "setname") && i + 1 < args.len() {
            client.set_name(Some(args[i + 1].clone()));
            i += 2;
        } else {
            return Reply::error_owned(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            ));
        }
    }
    if client.state().config.requirepass.is_some() && !authenticated(client) {
        return Reply::error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    client.set_protocol(protocol);
    Reply::Map(vec![
        (Reply::bulk_static("server"), Reply::bulk_static("redis")),
        (
            Reply::bulk_static("version"),
            Reply::bulk_static(crate::REDIS_VERSION),
        ),
        (Reply::bulk_static("proto"), Reply::Int(protocol.version())),
        (Reply::bulk_static("id"), Reply::Int(client.id() as i64)),
        (Reply::bulk_static("mode"), Reply::bulk_static("standalone")),
        (Reply::bulk_static("role"), Reply::bulk_static("master")),
        (Reply::bulk_static("modules"), Reply::Array(Vec::new())),
    ])
}

/// HELLO runs after the NOAUTH gate only for AUTH-carrying calls, so an unauthenticated client
/// reaching here without AUTH is detected by re-checking the gate's condition.
fn authenticated(client: &impl ClientContext) -> bool {
    client.is_authenticated()
}

fn client_command(client: &mut impl ClientContext, args: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "id" => Reply::Int(client.id() as i64),
        "getname" => client.name().map_or(Reply::Null, Reply::Bulk),
        "setname" if args.len() == 3 => {
            if args[2].iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
                return Reply::error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            client.set_name((!args[2].is_empty()).then(|| args[2].clone()));
            Reply::ok()
        }
        "setinfo" if args.len() == 4 => Reply::ok(),
        _ => Reply::error_owned(format!(
            "ERR 'CLIENT {}' is not supported through the proxy",
            sub.to_ascii_uppercase()
        )),
    }
}

fn command_reply(args: &[Bytes]) -> Reply {
    let sub = args
        .get(1)
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase());
    match sub.as_deref() {
        None => command_table::command_info(&[], &CommandSet::all()),
        Some("count") => Reply::Int(command_table::command_count(&CommandSet::all())),
        Some("info") => command_table::command_info(&args[2..], &CommandSet::all()),
        Some("docs") => command_table::command_docs(&args[2..], &CommandSet::all()),
        Some("list") => command_table::command_list(&CommandSet::all()),
        Some(other) => Reply::error_owned(format!(
            "ERR unknown subcommand '{other}'. Try COMMAND HELP."
        )),
    }
}

fn info(client: &impl ClientContext, args: &[Bytes]) -> Reply {
    let state = client.state();
    let wanted: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let show = |section: &str| {
        wanted.is_empty()
            || wanted
                .iter()
                .any(|w| w == section || w == "all" || w == "everything" || w == "default")
    };
    let mut text = String::new();
    if show("server") {
        let uptime = state.started.elapsed().as_secs();
        let _ = write!(
            text,
            "# Server\r\nredis_version:{}\r\nredoubt_version:{}\r\nredis_mode:standalone\r\nredoubt_role:proxy\r\n\
             process_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\n\r\n",
            crate::REDIS_VERSION,
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            state.config.listen.port(),
            uptime / 86400,
        );
    }
    if show("clients") {
        let _ = write!(
            text,
            "# Clients\r\nconnected_clients:{}\r\n\r\n",
            state.stats.connected_clients.load(Ordering::Relaxed)
        );
    }
    if show("stats") {
        let _ = write!(
            text,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ntotal_commands_forwarded:{}\r\n\r\n",
            state.stats.connections_received.load(Ordering::Relaxed),
            state.stats.commands.load(Ordering::Relaxed),
            state.stats.forwarded.load(Ordering::Relaxed),
        );
    }
    if show("proxy") {
        let _ = write!(text, "# Proxy\r\ngroups:{}\r\n", state.groups.len());
        for (index, group) in state.groups.iter().enumerate() {
            let standbys: Vec<String> = group.standbys().map(|s| s.addr.to_string()).collect();
            let _ = write!(
                text,
                "group{index}:id={},primary={},standbys={},read_policy={:?},slots={}\r\n",
                group.id,
                group.primary().addr,
                standbys.join("|"),
                group.read_policy,
                state.slots.shares(state.groups.len())[index],
            );
        }
        text.push_str("\r\n");
    }
    let text = text.trim_end_matches("\r\n").to_string() + "\r\n";
    Reply::Verbatim("txt", Bytes::from(text))
}
