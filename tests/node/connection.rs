//! Connection commands: PING ECHO QUIT HELLO SELECT AUTH CLIENT.

use std::time::{Duration, Instant};

use crate::common::{info_field, Reply, Server, Target};

#[tokio::test]
async fn ping_and_echo() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("PING", "+PONG"),
        ("ping", "+PONG"),
        ("PING hello", "\"hello\""),
        ("PING \"\"", "\"\""),
        (
            "PING a b",
            "-ERR wrong number of arguments for 'ping' command",
        ),
        ("ECHO \"a b\\r\\n\\x00\"", "\"a b\\r\\n\\x00\""),
        ("ECHO \"\"", "\"\""),
        ("ECHO", "-ERR wrong number of arguments for 'echo' command"),
        (
            "ECHO a b",
            "-ERR wrong number of arguments for 'echo' command",
        ),
    ])
    .await;
}

#[tokio::test]
async fn quit_replies_ok_then_closes() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    assert_eq!(c.q("QUIT").await, Reply::ok());
    assert_eq!(c.read_until_closed().await, b"");
    // The server goes on.
    let mut d = s.raw().await;
    assert_eq!(d.q("PING").await.to_string(), "+PONG");
}

/// Checks the fields of a HELLO reply (RESP2 flat array or RESP3 map).
fn check_hello(reply: &Reply, proto: i64, client_id: i64) {
    let pairs = reply.pairs();
    let keys: Vec<String> = pairs.iter().map(|(k, _)| k.text()).collect();
    assert_eq!(
        keys,
        ["server", "version", "proto", "id", "mode", "role", "modules"],
        "HELLO reply: {reply}"
    );
    assert!(!reply.get("server").unwrap().text().is_empty());
    let version = reply.get("version").unwrap().text();
    let parts: Vec<&str> = version.split('.').collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
        "version {version:?} is not X.Y.Z"
    );
    assert_eq!(reply.get("proto"), Some(Reply::Int(proto)));
    assert_eq!(reply.get("id"), Some(Reply::Int(client_id)));
    assert_eq!(reply.get("mode"), Some(Reply::bulk("standalone")));
    assert_eq!(reply.get("role"), Some(Reply::bulk("master")));
    assert!(reply.get("modules").unwrap().array().is_empty());
}

#[tokio::test]
async fn hello_2_and_3() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let id = c.int("CLIENT ID").await;

    let r = c.q("HELLO").await;
    assert!(matches!(r, Reply::Array(_)), "HELLO in RESP2: {r}");
    check_hello(&r, 2, id);

    let r = c.q("HELLO 2").await;
    assert!(matches!(r, Reply::Array(_)), "HELLO 2: {r}");
    check_hello(&r, 2, id);

    let r = c.q("HELLO 3").await;
    assert!(
        matches!(r, Reply::Map(_)),
        "HELLO 3 must reply with a map: {r}"
    );
    check_hello(&r, 3, id);
    // Now in RESP3: a missing key is the RESP3 null.
    assert_eq!(c.q("GET missing").await, Reply::Null);
    // HELLO without a version keeps the protocol.
    let r = c.q("HELLO").await;
    assert!(matches!(r, Reply::Map(_)));
    check_hello(&r, 3, id);

    // Back to RESP2.
    let r = c.q("HELLO 2").await;
    assert!(matches!(r, Reply::Array(_)));
    assert_eq!(c.q("GET missing").await, Reply::Nil);

    c.table(&[
        ("HELLO 4", "-NOPROTO unsupported protocol version"),
        ("HELLO 1", "-NOPROTO unsupported protocol version"),
        (
            "HELLO abc",
            "-ERR Protocol version is not an integer or out of range",
        ),
        ("HELLO 3 FOO", "-ERR Syntax error in HELLO option 'FOO'"),
    ])
    .await;
    // A failed HELLO leaves the protocol alone.
    assert_eq!(c.q("GET missing").await, Reply::Nil);
}

#[tokio::test]
async fn hello_setname() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let r = c.q("HELLO 3 SETNAME worker-1").await;
    assert!(matches!(r, Reply::Map(_)), "{r}");
    assert_eq!(c.q("CLIENT GETNAME").await, Reply::bulk("worker-1"));
    let r = c.q("HELLO 2 SETNAME worker-2").await;
    assert!(matches!(r, Reply::Array(_)), "{r}");
    assert_eq!(c.q("CLIENT GETNAME").await, Reply::bulk("worker-2"));
}

#[tokio::test]
async fn select_databases_are_separate() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET k db0", "+OK"),
        ("SELECT 1", "+OK"),
        ("GET k", "nil"),
        ("SET k db1", "+OK"),
        ("DBSIZE", ":1"),
        ("SELECT 15", "+OK"),
        ("GET k", "nil"),
        ("SELECT 16", "-ERR DB index is out of range"),
        ("SELECT -1", "-ERR DB index is out of range"),
        ("SELECT abc", "-ERR value is not an integer or out of range"),
        (
            "SELECT",
            "-ERR wrong number of arguments for 'select' command",
        ),
        // A failed SELECT keeps the current database (15).
        ("GET k", "nil"),
        ("SELECT 0", "+OK"),
        ("GET k", "\"db0\""),
        ("SELECT 1", "+OK"),
        ("GET k", "\"db1\""),
    ])
    .await;
    // Another connection starts in db 0.
    let mut d = s.raw().await;
    assert_eq!(d.q("GET k").await, Reply::bulk("db0"));
}

#[tokio::test]
async fn auth_without_a_password_configured() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        (
            "AUTH foo",
            "-ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        ),
        ("AUTH", "-ERR wrong number of arguments for 'auth' command"),
        ("PING", "+PONG"),
    ])
    .await;
}

#[tokio::test]
async fn requirepass_auth() {
    let s = Server::start(&["--requirepass", "s3cret"]);
    let mut c = s.raw().await;
    c.table(&[
        ("GET k", "-NOAUTH Authentication required."),
        ("SET k v", "-NOAUTH Authentication required."),
        ("PING", "-NOAUTH Authentication required."),
        (
            "AUTH wrong",
            "-WRONGPASS invalid username-password pair or user is disabled.",
        ),
        (
            "AUTH default wrong",
            "-WRONGPASS invalid username-password pair or user is disabled.",
        ),
        (
            "AUTH nobody s3cret",
            "-WRONGPASS invalid username-password pair or user is disabled.",
        ),
        ("GET k", "-NOAUTH Authentication required."),
        ("AUTH s3cret", "+OK"),
        ("SET k v", "+OK"),
        ("GET k", "\"v\""),
    ])
    .await;
    // A failed AUTH after a good one keeps the connection authenticated.
    c.table(&[
        (
            "AUTH wrong",
            "-WRONGPASS invalid username-password pair or user is disabled.",
        ),
        ("GET k", "\"v\""),
    ])
    .await;
    // QUIT needs no authentication.
    let mut q = s.raw().await;
    assert_eq!(q.q("QUIT").await, Reply::ok());
    assert_eq!(q.read_until_closed().await, b"");
    // AUTH with the user name "default" works too.
    let mut d = s.raw().await;
    d.table(&[("AUTH default s3cret", "+OK"), ("GET k", "\"v\"")])
        .await;
    // The redis crate authenticates from the URL.
    let mut conn = s.conn().await;
    let v: String = redis::cmd("GET")
        .arg("k")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, "v");
}

#[tokio::test]
async fn requirepass_hello_auth() {
    let s = Server::start(&["--requirepass", "s3cret"]);
    let mut c = s.raw().await;
    let e = c.err("HELLO 3").await;
    assert!(e.starts_with("NOAUTH "), "{e}");
    c.table(&[
        (
            "HELLO 3 AUTH default wrong",
            "-WRONGPASS invalid username-password pair or user is disabled.",
        ),
        ("GET k", "-NOAUTH Authentication required."),
    ])
    .await;
    let r = c.q("HELLO 3 AUTH default s3cret SETNAME app").await;
    let id = match &r {
        Reply::Map(_) => r.get("id").unwrap().int(),
        other => panic!("HELLO 3 AUTH: {other}"),
    };
    check_hello(&r, 3, id);
    c.table(&[
        ("GET k", "_"),
        ("CLIENT GETNAME", "\"app\""),
        ("SET k v", "+OK"),
    ])
    .await;
    assert_eq!(c.int("CLIENT ID").await, id);
}

#[tokio::test]
async fn client_id_name() {
    let s = Server::start(&[]);
    let mut a = s.raw().await;
    let mut b = s.raw().await;
    let ida = a.int("CLIENT ID").await;
    let idb = b.int("CLIENT ID").await;
    assert!(ida > 0 && idb > ida, "ids {ida} {idb} must grow");
    assert_eq!(a.int("CLIENT ID").await, ida);
    a.table(&[
        ("CLIENT GETNAME", "nil"),
        ("CLIENT SETNAME conn-a", "+OK"),
        ("CLIENT GETNAME", "\"conn-a\""),
        (
            "CLIENT SETNAME \"a b\"",
            "-ERR Client names cannot contain spaces, newlines or special characters.",
        ),
        (
            "CLIENT SETNAME \"a\\nb\"",
            "-ERR Client names cannot contain spaces, newlines or special characters.",
        ),
        ("CLIENT GETNAME", "\"conn-a\""),
        ("CLIENT SETNAME \"\"", "+OK"),
        ("CLIENT GETNAME", "nil"),
        ("CLIENT SETNAME conn-a", "+OK"),
        (
            "CLIENT SETNAME",
            "-ERR wrong number of arguments for 'client|setname' command",
        ),
    ])
    .await;
    assert_eq!(b.q("CLIENT GETNAME").await, Reply::Nil);
    let e = a.err("CLIENT NOSUCHSUB").await;
    assert!(
        e.starts_with("ERR unknown subcommand 'NOSUCHSUB'"),
        "CLIENT NOSUCHSUB: {e}"
    );
}

/// Parses one CLIENT LIST / CLIENT INFO line into `(field, value)` pairs.
fn client_fields(line: &str) -> Vec<(String, String)> {
    line.split_whitespace()
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no field {name} in {fields:?}"))
}

#[tokio::test]
async fn client_info_and_list() {
    let s = Server::start(&[]);
    let mut a = s.raw().await;
    let mut b = s.raw().await;
    let ida = a.int("CLIENT ID").await;
    let idb = b.int("CLIENT ID").await;
    a.table(&[("CLIENT SETNAME alpha", "+OK"), ("SELECT 3", "+OK")])
        .await;

    let info = a.q("CLIENT INFO").await.text();
    assert!(info.ends_with('\n'), "CLIENT INFO ends with a newline");
    assert_eq!(info.lines().count(), 1, "{info:?}");
    let f = client_fields(&info);
    assert_eq!(field(&f, "id"), ida.to_string());
    assert_eq!(field(&f, "addr"), a.local_addr().to_string());
    assert_eq!(field(&f, "laddr"), s.addr().to_string());
    assert_eq!(field(&f, "name"), "alpha");
    assert_eq!(field(&f, "db"), "3");
    for name in ["fd", "age", "idle", "flags", "cmd"] {
        field(&f, name);
    }

    let list = b.q("CLIENT LIST").await.text();
    assert!(list.ends_with('\n'), "CLIENT LIST ends with a newline");
    let lines: Vec<Vec<(String, String)>> = list.lines().map(client_fields).collect();
    assert_eq!(lines.len(), 2, "two clients connected: {list:?}");
    let la = lines
        .iter()
        .find(|l| field(l, "id") == ida.to_string())
        .expect("client a listed");
    assert_eq!(field(la, "name"), "alpha");
    assert_eq!(field(la, "db"), "3");
    assert_eq!(field(la, "addr"), a.local_addr().to_string());
    let lb = lines
        .iter()
        .find(|l| field(l, "id") == idb.to_string())
        .expect("client b listed");
    assert_eq!(field(lb, "name"), "");

    // CLIENT LIST ID filters.
    let only = a.q(&format!("CLIENT LIST ID {idb}")).await.text();
    assert_eq!(only.lines().count(), 1, "{only:?}");
    assert_eq!(field(&client_fields(&only), "id"), idb.to_string());

    drop(b);
    // The closed connection disappears from the list.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let list = a.q("CLIENT LIST").await.text();
        if list.lines().count() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "closed client still listed: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // `cmd` names the command the client is running (or ran last).
    let f = client_fields(&a.q("CLIENT INFO").await.text());
    assert_eq!(field(&f, "cmd"), "client|info");
    let list = a.q("CLIENT LIST").await.text();
    assert_eq!(field(&client_fields(&list), "cmd"), "client|list");
}

#[tokio::test]
async fn client_setinfo() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    if s.target() == Target::RedisServer {
        let info = c.q("INFO server").await.text();
        let version = info_field(&info, "redis_version").unwrap();
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap());
        let (major, minor) = (parts.next().unwrap(), parts.next().unwrap());
        if (major, minor) < (7, 2) {
            eprintln!(
                "NOTE: client_setinfo not checked: redis-server {version} predates CLIENT SETINFO \
                 (Redis 7.2); it always runs against redoubt"
            );
            return;
        }
    }
    c.table(&[
        ("CLIENT SETINFO LIB-NAME redis-py", "+OK"),
        ("CLIENT SETINFO lib-ver 5.0.1", "+OK"),
    ])
    .await;
    let info = c.q("CLIENT INFO").await.text();
    let f = client_fields(&info);
    assert_eq!(field(&f, "lib-name"), "redis-py");
    assert_eq!(field(&f, "lib-ver"), "5.0.1");
    let e = c.err("CLIENT SETINFO lib-name \"a b\"").await;
    assert!(e.starts_with("ERR "), "{e}");
    let e = c.err("CLIENT SETINFO nosuchattr x").await;
    assert!(e.starts_with("ERR "), "{e}");
    let e = c.err("CLIENT SETINFO lib-name").await;
    assert_eq!(
        e,
        "ERR wrong number of arguments for 'client|setinfo' command"
    );
}
