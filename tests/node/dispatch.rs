//! Dispatch: what the node answers before a command runs (unknown commands and subcommands,
//! line breaks in quoted input), and `COMMAND` listing exactly what the node serves.

use crate::common::{encode, Reply, Server};

/// Reads one reply's exact bytes and checks it is a one-line error: `-...\r\n`, no line break
/// inside.
async fn one_line_error(c: &mut crate::common::Raw) -> String {
    let raw = c.read_raw().await;
    assert_eq!(raw.first(), Some(&b'-'), "an error reply: {raw:?}");
    assert!(raw.ends_with(b"\r\n"), "ends its line: {raw:?}");
    let body = &raw[1..raw.len() - 2];
    assert!(
        !body.iter().any(|&b| b == b'\r' || b == b'\n'),
        "no line break inside the error: {:?}",
        String::from_utf8_lossy(&raw)
    );
    String::from_utf8_lossy(body).into_owned()
}

#[tokio::test]
async fn line_breaks_in_quoted_arguments_stay_on_one_line() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    // An unknown command quoting a script with CR/LF, sent as a multibulk in one write
    // together with a PING: the error is one line and the PING is answered after it.
    let mut wire = encode(&["EVALX", "return 1\r\nfoo", "0"]);
    wire.extend_from_slice(&encode(&["PING"]));
    c.send(&wire).await;
    let error = one_line_error(&mut c).await;
    assert!(
        error.starts_with("ERR unknown command 'EVALX', with args beginning with: 'return 1"),
        "{error}"
    );
    assert!(error.contains("foo"), "{error}");
    assert_eq!(c.read_reply().await, Reply::Simple("PONG".into()));

    // The same for a command name holding a line break, and for an unknown subcommand.
    c.send(&encode(&["GET\r\nX", "k"])).await;
    let error = one_line_error(&mut c).await;
    assert!(error.starts_with("ERR unknown command 'GET"), "{error}");
    c.send(&encode(&["CONFIG", "nope\r\n+OK"])).await;
    let error = one_line_error(&mut c).await;
    assert!(
        error.starts_with("ERR unknown subcommand 'nope") && error.ends_with("Try CONFIG HELP."),
        "{error}"
    );
    // The connection is still in step.
    assert_eq!(c.q("SET k v").await, Reply::ok());
    assert_eq!(c.q("GET k").await, Reply::bulk("v"));
}

#[tokio::test]
async fn unknown_commands_are_unknown_whatever_their_arguments() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    // No arity check before the name is known: none, one or many arguments give one error.
    for line in ["NOSUCH", "NOSUCH a", "NOSUCH a b c d e f"] {
        let error = c.err(line).await;
        assert!(error.starts_with("ERR unknown command 'NOSUCH'"), "{error}");
    }
    // A container's missing subcommand is an arity error; an unknown one is named.
    assert_eq!(
        c.err("CONFIG").await,
        "ERR wrong number of arguments for 'config' command"
    );
    assert_eq!(
        c.err("CLIENT NOPE").await,
        "ERR unknown subcommand 'NOPE'. Try CLIENT HELP."
    );
    // A known subcommand with the wrong arity names itself in full.
    assert_eq!(
        c.err("CONFIG GET").await,
        "ERR wrong number of arguments for 'config|get' command"
    );
}

#[tokio::test]
async fn command_lists_exactly_what_is_served() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    let count = c.int("COMMAND COUNT").await;
    let listed = c.q("COMMAND LIST").await;
    // COMMAND LIST names subcommands too (`config|get`), as Redis's does.
    let top_level = listed.array().iter().filter(|n| !n.text().contains('|'));
    assert_eq!(
        top_level.count() as i64,
        count,
        "COMMAND LIST has COUNT commands"
    );
    let all = c.q("COMMAND").await;
    assert_eq!(all.array().len() as i64, count, "COMMAND has COUNT entries");
    // A command Redis has is listed exactly when the node serves it: otherwise its request
    // is an unknown command, arity aside.
    let names: Vec<String> = listed.array().iter().map(Reply::text).collect();
    let mut served = 0;
    for name in [
        "get",
        "eval",
        "subscribe",
        "xadd",
        "pfadd",
        "ping",
        "config",
        "multi",
    ] {
        let info = c.cmd(&["COMMAND", "INFO", name]).await;
        let in_info = !info.array()[0].is_null();
        assert_eq!(
            in_info,
            names.iter().any(|n| n == name),
            "{name}: INFO and LIST agree"
        );
        let reply = c.cmd(&[name]).await;
        let unknown = matches!(&reply, Reply::Error(e) if e.starts_with("ERR unknown command"));
        assert_eq!(
            unknown, !in_info,
            "{name}: served exactly when listed ({reply:?})"
        );
        served += usize::from(in_info);
    }
    assert!(served >= 3, "GET, PING and CONFIG are served");
}
