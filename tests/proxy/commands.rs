//! What the proxy tells clients about commands: `COMMAND` lists exactly what it carries, and
//! requests it cannot run get Redis's errors (unknown command, unknown subcommand, arity).

use crate::cluster::Cluster;
use crate::common::Reply;

fn names(reply: Reply) -> Vec<String> {
    let Reply::Array(items) = reply else {
        panic!("not an array: {reply:?}")
    };
    items
        .into_iter()
        .map(|item| match item {
            Reply::Bulk(name) => String::from_utf8(name).expect("utf-8"),
            other => panic!("not a name: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn command_lists_what_the_proxy_carries_and_nothing_else() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let mut raw = cluster.proxy.raw().await;
    let listed = names(raw.cmd(&["COMMAND", "LIST"]).await);
    let Reply::Int(count) = raw.cmd(&["COMMAND", "COUNT"]).await else {
        panic!("COMMAND COUNT is not an integer")
    };
    // As Redis: LIST names subcommands too (`config|get`), COUNT only top-level commands.
    let top_level = listed.iter().filter(|n| !n.contains('|')).count();
    assert_eq!(count as usize, top_level);
    assert!(listed.iter().any(|n| n == "config|get"));
    assert!(!listed.iter().any(|n| n == "client|pause"));
    assert!(listed.iter().any(|n| n == "client|kill"));
    for carried in [
        "get",
        "mset",
        "ping",
        "scan",
        "config",
        "blpop",
        "cluster|slots",
        "multi",
        "watch",
        "evalsha",
        "script|load",
    ] {
        assert!(listed.iter().any(|n| n == carried), "{carried} missing");
    }
    for refused in ["xread", "monitor"] {
        assert!(!listed.iter().any(|n| n == refused), "{refused} listed");
    }
    // COMMAND INFO answers nil for a command the proxy does not carry, as for an unknown one.
    let Reply::Array(info) = raw
        .cmd(&["COMMAND", "INFO", "get", "monitor", "nosuch"])
        .await
    else {
        panic!("COMMAND INFO is not an array")
    };
    assert_eq!(info.len(), 3);
    assert!(matches!(info[0], Reply::Array(_)), "{:?}", info[0]);
    assert!(matches!(info[1], Reply::Nil | Reply::Null), "{:?}", info[1]);
    assert!(matches!(info[2], Reply::Nil | Reply::Null), "{:?}", info[2]);
}

#[tokio::test]
async fn requests_the_proxy_cannot_run_get_redis_errors() {
    let cluster = Cluster::start(&[0], "", "");
    let mut raw = cluster.proxy.raw().await;
    let cases: [(&[&str], &str); 5] = [
        (
            &["NOSUCH", "a", "b"],
            "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ",
        ),
        (
            &["CONFIG", "NOPE"],
            "ERR unknown subcommand 'NOPE'. Try CONFIG HELP.",
        ),
        (&["GET"], "ERR wrong number of arguments for 'get' command"),
        (
            &["CONFIG", "GET"],
            "ERR wrong number of arguments for 'config|get' command",
        ),
        (
            &["MSET", "a", "1", "b"],
            "ERR wrong number of arguments for 'mset' command",
        ),
    ];
    for (request, error) in cases {
        assert_eq!(
            raw.cmd(request).await,
            Reply::Error(error.to_string()),
            "{request:?}"
        );
    }
    let reply = raw.cmd(&["CLIENT", "PAUSE", "10"]).await;
    assert_eq!(
        reply,
        Reply::Error("ERR 'CLIENT PAUSE' is not supported through the proxy".into())
    );
    // The connection is still usable after every error.
    assert_eq!(raw.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
}
