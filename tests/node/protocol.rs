//! Wire protocol: RESP2/RESP3 encodings, inline commands, pipelining, big values and abuse.

use std::time::Duration;

use crate::common::{encode, Reply, Server};

/// Sends `garbage` on a fresh connection, expects an error starting with `want` and then the close,
/// while a connection opened before keeps working.
async fn abuse(s: &Server, garbage: &[u8], want: &str) {
    let mut bystander = s.raw().await;
    assert_eq!(bystander.q("SET survivor yes").await, Reply::ok());
    let mut bad = s.raw().await;
    bad.send(garbage).await;
    let reply = bad.try_read_reply().await;
    match &reply {
        Some(Reply::Error(e)) => assert!(
            e.starts_with(want),
            "reply to {:?}: {e:?}, wanted {want:?}",
            String::from_utf8_lossy(garbage)
        ),
        other => panic!(
            "reply to {:?}: {other:?}, wanted an error {want:?}",
            String::from_utf8_lossy(garbage)
        ),
    }
    let rest = bad.read_until_closed().await;
    assert!(
        rest.is_empty(),
        "nothing after the protocol error: {rest:?}"
    );
    assert_eq!(bystander.q("GET survivor").await, Reply::bulk("yes"));
    let mut fresh = s.raw().await;
    assert_eq!(fresh.q("GET survivor").await, Reply::bulk("yes"));
}

#[tokio::test]
async fn garbage_multibulk_length() {
    let s = Server::start(&[]);
    abuse(&s, b"*abc\r\n", "ERR Protocol error").await;
    abuse(
        &s,
        b"*abc\r\n",
        "ERR Protocol error: invalid multibulk length",
    )
    .await;
}

#[tokio::test]
async fn garbage_bulk_header() {
    let s = Server::start(&[]);
    abuse(
        &s,
        b"*1\r\n+PING\r\n",
        "ERR Protocol error: expected '$', got '+'",
    )
    .await;
    abuse(
        &s,
        b"*2\r\n$3\r\nGET\r\n$x\r\n",
        "ERR Protocol error: invalid bulk length",
    )
    .await;
    abuse(
        &s,
        b"*1\r\n$-1\r\n",
        "ERR Protocol error: invalid bulk length",
    )
    .await;
}

#[tokio::test]
async fn absurd_bulk_length() {
    let s = Server::start(&[]);
    abuse(
        &s,
        b"*1\r\n$99999999999\r\n",
        "ERR Protocol error: invalid bulk length",
    )
    .await;
    // Just over the 512 MB default limit.
    abuse(
        &s,
        b"*2\r\n$3\r\nGET\r\n$536870913\r\n",
        "ERR Protocol error: invalid bulk length",
    )
    .await;
}

#[tokio::test]
async fn proto_max_bulk_len_is_enforced() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    assert_eq!(
        c.q("CONFIG SET proto-max-bulk-len 1048576").await,
        Reply::ok()
    );
    let exact = vec![b'a'; 1_048_576];
    assert_eq!(c.cmd(&[&b"SET"[..], b"k", &exact]).await, Reply::ok());
    assert_eq!(c.int("STRLEN k").await, 1_048_576);
    abuse(
        &s,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n",
        "ERR Protocol error: invalid bulk length",
    )
    .await;
    assert_eq!(
        c.q("SETRANGE k 1048576 x").await.to_string(),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    assert_eq!(
        c.q("APPEND k x").await.to_string(),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
}

#[tokio::test]
async fn unbalanced_inline_quotes() {
    let s = Server::start(&[]);
    abuse(
        &s,
        b"SET a \"b\r\n",
        "ERR Protocol error: unbalanced quotes in request",
    )
    .await;
}

#[tokio::test]
async fn half_sent_request_then_disconnect() {
    let s = Server::start(&[]);
    let mut other = s.raw().await;
    for partial in [
        &b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel"[..],
        b"*3\r\n$3\r\nSET\r\n$1\r\nk",
        b"*3\r\n",
        b"*",
        b"SET k inline-without-newline",
    ] {
        let mut c = s.raw().await;
        c.send(partial).await;
        // Let the server read the fragment before the connection goes away.
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(c);
    }
    assert_eq!(other.q("GET k").await, Reply::Nil);
    assert_eq!(other.q("PING").await.to_string(), "+PONG");
    let mut fresh = s.raw().await;
    assert_eq!(fresh.q("SET k v").await, Reply::ok());
    assert_eq!(fresh.q("GET k").await, Reply::bulk("v"));
}

#[tokio::test]
async fn request_split_into_single_bytes() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let req = encode(&["SET", "slow", "drip-fed value"]);
    for b in &req {
        c.send(std::slice::from_ref(b)).await;
    }
    assert_eq!(c.read_reply().await, Reply::ok());
    for b in b"GET slow\r\n" {
        c.send(std::slice::from_ref(b)).await;
    }
    assert_eq!(c.read_reply().await, Reply::bulk("drip-fed value"));
}

#[tokio::test]
async fn hundred_megabyte_value() {
    let s = Server::start(&[]);
    let mut conn = s.conn().await;
    let value: Vec<u8> = (0..100 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let () = redis::cmd("SET")
        .arg("big")
        .arg(&value)
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut raw = s.raw().await;
    assert_eq!(raw.int("STRLEN big").await, value.len() as i64);
    assert_eq!(raw.q("PING").await.to_string(), "+PONG");
    let back: Vec<u8> = redis::cmd("GET")
        .arg("big")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(back == value, "100 MB value came back altered");
    assert_eq!(
        raw.q("GETRANGE big 104857590 -1").await,
        Reply::bulk(&value[104_857_590..])
    );
}

#[tokio::test]
async fn pipeline_of_ten_thousand_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let mut batch = Vec::new();
    for i in 0..10_000 {
        if i % 2 == 0 {
            batch.extend(encode(&["INCR", "counter"]));
        } else {
            batch.extend(encode(&["ECHO", &format!("msg-{i}")]));
        }
    }
    c.send(&batch).await;
    for i in 0..10_000 {
        let r = c.read_reply().await;
        if i % 2 == 0 {
            assert_eq!(r, Reply::Int(i / 2 + 1), "reply {i}");
        } else {
            assert_eq!(r, Reply::bulk(format!("msg-{i}")), "reply {i}");
        }
    }
    assert_eq!(c.q("GET counter").await, Reply::bulk("5000"));
}

#[tokio::test]
async fn mixed_inline_and_multibulk_pipeline() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let mut batch = b"SET a 1\r\n".to_vec();
    batch.extend(encode(&["INCR", "a"]));
    batch.extend(b"INCR a\r\n\r\nGET a\n");
    batch.extend(encode(&["DEL", "a"]));
    c.send(&batch).await;
    assert_eq!(c.read_reply().await, Reply::ok());
    assert_eq!(c.read_reply().await, Reply::Int(2));
    assert_eq!(c.read_reply().await, Reply::Int(3));
    assert_eq!(c.read_reply().await, Reply::bulk("3"));
    assert_eq!(c.read_reply().await, Reply::Int(1));
}

#[tokio::test]
async fn one_command_with_many_arguments() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let mut args = vec!["MSET".to_string()];
    for i in 0..20_000 {
        args.push(format!("k{i}"));
        args.push(format!("v{i}"));
    }
    assert_eq!(c.cmd(&args).await, Reply::ok());
    assert_eq!(c.int("DBSIZE").await, 20_000);
    let mut mget = vec!["MGET".to_string()];
    mget.extend((0..20_000).map(|i| format!("k{i}")));
    let r = c.cmd(&mget).await;
    let vals = r.array();
    assert_eq!(vals.len(), 20_000);
    for (i, v) in vals.iter().enumerate() {
        assert_eq!(*v, Reply::bulk(format!("v{i}")));
    }
}

#[tokio::test]
async fn inline_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.send(b"PING\r\n").await;
    assert_eq!(c.read_raw().await, b"+PONG\r\n");
    c.send(b"SET a \"b c\"\r\n").await;
    assert_eq!(c.read_raw().await, b"+OK\r\n");
    c.send(b"GET a\r\n").await;
    assert_eq!(c.read_raw().await, b"$3\r\nb c\r\n");
    // Bare LF line ends, extra spaces, single quotes and escapes, as typed over telnet.
    c.send(b"  SET   'x y'   \"tab\\there\\x41\"  \n").await;
    assert_eq!(c.read_raw().await, b"+OK\r\n");
    c.send(b"get 'x y'\n").await;
    assert_eq!(c.read_raw().await, b"$9\r\ntab\there\x41\r\n");
    // Empty lines are ignored.
    c.send(b"\r\n\r\nPING hi\r\n").await;
    assert_eq!(c.read_raw().await, b"$2\r\nhi\r\n");
    c.send(b"NOSUCH x\r\n").await;
    assert_eq!(
        c.read_raw().await,
        b"-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n"
    );
}

#[tokio::test]
async fn resp2_encodings() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let cases: &[(&[&str], &[u8])] = &[
        (&["GET", "missing"], b"$-1\r\n"),
        (&["SET", "k", "v"], b"+OK\r\n"),
        (&["SET", "k", "v", "NX"], b"$-1\r\n"),
        (&["GET", "k"], b"$1\r\nv\r\n"),
        (&["INCR", "n"], b":1\r\n"),
        (&["MGET", "k", "missing"], b"*2\r\n$1\r\nv\r\n$-1\r\n"),
        (&["KEYS", "nomatch*"], b"*0\r\n"),
        (
            &["CONFIG", "GET", "maxmemory"],
            b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n",
        ),
        (&["TYPE", "k"], b"+string\r\n"),
        (&["INCRBYFLOAT", "f", "1.5"], b"$3\r\n1.5\r\n"),
        (
            &["GET"],
            b"-ERR wrong number of arguments for 'get' command\r\n",
        ),
    ];
    for (cmd, want) in cases {
        c.send(&encode(cmd)).await;
        let got = c.read_raw().await;
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "{cmd:?}"
        );
    }
}

#[tokio::test]
async fn resp3_encodings() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.send(&encode(&["HELLO", "3"])).await;
    let hello = c.read_raw().await;
    assert!(
        hello.starts_with(b"%7\r\n"),
        "HELLO 3: {:?}",
        String::from_utf8_lossy(&hello)
    );
    let cases: &[(&[&str], &[u8])] = &[
        (&["GET", "missing"], b"_\r\n"),
        (&["SET", "k", "v"], b"+OK\r\n"),
        (&["SET", "k", "v", "NX"], b"_\r\n"),
        (&["GET", "k"], b"$1\r\nv\r\n"),
        (&["INCR", "n"], b":1\r\n"),
        (&["MGET", "k", "missing"], b"*2\r\n$1\r\nv\r\n_\r\n"),
        (
            &["CONFIG", "GET", "maxmemory"],
            b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n",
        ),
        (&["CONFIG", "GET", "nosuchparam"], b"%0\r\n"),
        (&["OBJECT", "ENCODING", "missing"], b"_\r\n"),
        (&["RANDOMKEY"], b"$1\r\n"),
        (&["INCRBYFLOAT", "f", "1.5"], b"$3\r\n1.5\r\n"),
        (
            &["GET"],
            b"-ERR wrong number of arguments for 'get' command\r\n",
        ),
    ];
    for (cmd, want) in cases {
        c.send(&encode(cmd)).await;
        let got = c.read_raw().await;
        // RANDOMKEY: only the type and length are predictable (both keys have 1-byte names).
        let got = if cmd[0] == "RANDOMKEY" {
            got[..4].to_vec()
        } else {
            got
        };
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "{cmd:?}"
        );
    }
    // HELLO 3 SETNAME / CLIENT INFO still work; a typed client can read RESP3 maps.
    let r = c.q("CONFIG GET maxmemory*").await;
    assert!(matches!(r, Reply::Map(_)), "{r}");
}

#[tokio::test]
async fn many_clients_at_once() {
    let s = Server::start(&[]);
    let mut tasks = Vec::new();
    for t in 0..32 {
        let addr = s.addr();
        tasks.push(tokio::spawn(async move {
            let mut c = crate::common::Raw::connect(addr).await;
            for i in 0..100 {
                let key = format!("t{t}:{i}");
                assert_eq!(c.cmd(&["SET", &key, &key]).await, Reply::ok());
                assert_eq!(c.cmd(&["GET", &key]).await, Reply::bulk(&key));
                c.cmd(&["INCR", "shared"]).await.int();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = s.raw().await;
    assert_eq!(c.q("GET shared").await, Reply::bulk("3200"));
    assert_eq!(c.int("DBSIZE").await, 3201);
}

#[tokio::test]
async fn empty_and_null_multibulk_are_ignored() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.send(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n").await;
    assert_eq!(c.read_raw().await, b"+PONG\r\n");
    c.send(b"ECHO x\r\n").await;
    assert_eq!(
        c.read_raw().await,
        b"$1\r\nx\r\n",
        "nothing else was answered"
    );
}

#[tokio::test]
async fn too_big_inline_request() {
    let s = Server::start(&[]);
    // More than 64 KB without a newline.
    let garbage = vec![b'a'; 70 * 1024];
    abuse(&s, &garbage, "ERR Protocol error: too big inline request").await;
}

#[tokio::test]
async fn quit_in_a_pipeline_stops_there() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let mut batch = encode(&["SET", "before", "1"]);
    batch.extend(encode(&["QUIT"]));
    batch.extend(encode(&["SET", "after", "1"]));
    c.send(&batch).await;
    assert_eq!(c.read_reply().await, Reply::ok());
    assert_eq!(c.read_reply().await, Reply::ok());
    assert_eq!(c.read_until_closed().await, b"");
    let mut d = s.raw().await;
    assert_eq!(
        d.int("EXISTS before after").await,
        1,
        "only `before` was set"
    );
}

#[tokio::test]
async fn resp3_text_replies_are_verbatim() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("HELLO 3").await;
    for cmd in ["INFO server", "CLIENT INFO", "CLIENT LIST"] {
        match c.q(cmd).await {
            Reply::Verbatim(format, text) => {
                assert_eq!(format, "txt", "{cmd}");
                assert!(!text.is_empty(), "{cmd}");
            }
            other => panic!("{cmd} in RESP3: {other}, wanted a verbatim string"),
        }
    }
}

#[tokio::test]
async fn commands_before_a_protocol_error_are_answered() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let mut batch = encode(&["SET", "k", "v"]);
    batch.extend(b"PING\r\n*x\r\n");
    batch.extend(encode(&["SET", "k", "after"]));
    c.send(&batch).await;
    assert_eq!(c.read_reply().await, Reply::ok());
    assert_eq!(c.read_raw().await, b"+PONG\r\n");
    let e = c.read_reply().await;
    assert!(e.err().starts_with("ERR Protocol error"), "{e}");
    assert_eq!(c.read_until_closed().await, b"");
    let mut d = s.raw().await;
    assert_eq!(d.q("GET k").await, Reply::bulk("v"));
}

/// A client that writes a long pipeline before reading any reply: the server keeps reading
/// (buffering replies) instead of deadlocking on a full socket.
#[tokio::test]
async fn long_pipeline_written_before_reading() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let payload = "p".repeat(4096);
    let mut batch = Vec::new();
    for i in 0..2_000 {
        batch.extend(encode(&["ECHO", &format!("{i}:{payload}")]));
    }
    c.send(&batch).await;
    for i in 0..2_000 {
        assert_eq!(c.read_reply().await, Reply::bulk(format!("{i}:{payload}")));
    }
}
