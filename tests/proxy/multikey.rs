//! Multi-key set commands over several groups, computed in the proxy with Redis's results.

use crate::cluster::{keys_by_group, Cluster};
use crate::common::Reply;

fn sorted(reply: Reply) -> Vec<String> {
    let mut members: Vec<String> = reply.array().iter().map(Reply::text).collect();
    members.sort();
    members
}

#[tokio::test]
async fn set_algebra_over_groups_matches_redis() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "sets", 2).await;
    let (a, b, c, dst) = (
        keys[0][0].as_str(),
        keys[1][0].as_str(),
        keys[0][1].as_str(),
        keys[1][1].as_str(),
    );
    let mut raw = cluster.proxy.raw().await;
    assert_eq!(
        raw.cmd(&["SADD", a, "x", "y", "z", "w"]).await,
        Reply::Int(4)
    );
    assert_eq!(raw.cmd(&["SADD", b, "y", "z", "v"]).await, Reply::Int(3));
    assert_eq!(raw.cmd(&["SADD", c, "z", "u"]).await, Reply::Int(2));

    assert_eq!(sorted(raw.cmd(&["SINTER", a, b]).await), ["y", "z"]);
    assert_eq!(sorted(raw.cmd(&["SINTER", a, b, c]).await), ["z"]);
    assert_eq!(
        sorted(raw.cmd(&["SINTER", a, b, "missing"]).await),
        Vec::<String>::new()
    );
    assert_eq!(
        sorted(raw.cmd(&["SUNION", a, b, c]).await),
        ["u", "v", "w", "x", "y", "z"]
    );
    assert_eq!(sorted(raw.cmd(&["SDIFF", a, b]).await), ["w", "x"]);
    assert_eq!(sorted(raw.cmd(&["SDIFF", b, a, c]).await), ["v"]);
    assert_eq!(raw.cmd(&["SINTERCARD", "2", a, b]).await, Reply::Int(2));
    assert_eq!(
        raw.cmd(&["SINTERCARD", "2", a, b, "LIMIT", "1"]).await,
        Reply::Int(1)
    );

    // STORE forms write the destination on its own group, replacing what was there.
    assert_eq!(raw.cmd(&["SET", dst, "old"]).await, Reply::ok());
    assert_eq!(raw.cmd(&["SUNIONSTORE", dst, a, c]).await, Reply::Int(5));
    assert_eq!(
        sorted(raw.cmd(&["SMEMBERS", dst]).await),
        ["u", "w", "x", "y", "z"]
    );
    assert_eq!(raw.cmd(&["SINTERSTORE", dst, a, b]).await, Reply::Int(2));
    assert_eq!(sorted(raw.cmd(&["SMEMBERS", dst]).await), ["y", "z"]);
    assert_eq!(raw.cmd(&["SDIFFSTORE", dst, c, a]).await, Reply::Int(1));
    assert_eq!(sorted(raw.cmd(&["SMEMBERS", dst]).await), ["u"]);
    assert_eq!(
        raw.cmd(&["SINTERSTORE", dst, a, "missing"]).await,
        Reply::Int(0)
    );
    assert_eq!(raw.cmd(&["EXISTS", dst]).await, Reply::Int(0));

    // A source of another type: Redis's WRONGTYPE.
    assert_eq!(raw.cmd(&["SET", dst, "text"]).await, Reply::ok());
    assert_eq!(
        raw.cmd(&["SUNION", a, dst]).await,
        Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into())
    );
    // RESP3 clients get a set.
    assert!(matches!(raw.cmd(&["HELLO", "3"]).await, Reply::Map(_)));
    assert!(matches!(raw.cmd(&["SINTER", a, b]).await, Reply::Set(_)));
}

#[tokio::test]
async fn values_and_elements_move_between_groups_without_loss() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "move", 2).await;
    let (a, b, a2, b2) = (
        keys[0][0].as_str(),
        keys[1][0].as_str(),
        keys[0][1].as_str(),
        keys[1][1].as_str(),
    );
    let mut raw = cluster.proxy.raw().await;

    // RENAME by type, with the TTL, the destination replaced.
    assert_eq!(raw.cmd(&["RPUSH", a, "1", "2", "3"]).await, Reply::Int(3));
    assert_eq!(raw.cmd(&["PEXPIRE", a, "100000"]).await, Reply::Int(1));
    assert_eq!(raw.cmd(&["SET", b, "old"]).await, Reply::ok());
    assert_eq!(raw.cmd(&["RENAME", a, b]).await, Reply::ok());
    assert_eq!(raw.cmd(&["EXISTS", a]).await, Reply::Int(0));
    assert_eq!(
        raw.cmd(&["LRANGE", b, "0", "-1"]).await,
        Reply::Array(vec![Reply::bulk("1"), Reply::bulk("2"), Reply::bulk("3")])
    );
    let ttl = raw.cmd(&["PTTL", b]).await.int();
    assert!(ttl > 90_000 && ttl <= 100_000, "{ttl}");
    assert_eq!(
        raw.cmd(&["RENAME", a, b]).await,
        Reply::Error("ERR no such key".into())
    );
    for (kind, write, read) in [
        (
            "zset",
            vec!["ZADD", b, "1.5", "m", "2", "n"],
            vec!["ZRANGE", a, "0", "-1", "WITHSCORES"],
        ),
        (
            "hash",
            vec!["HSET", b, "f", "v", "g", "w"],
            vec!["HGETALL", a],
        ),
        ("set", vec!["SADD", b, "x"], vec!["SMEMBERS", a]),
        ("string", vec!["SET", b, "text"], vec!["GET", a]),
    ] {
        raw.cmd(&["DEL", b]).await;
        raw.cmd(&write).await;
        let before = raw
            .cmd(
                &[read[0], b]
                    .iter()
                    .chain(&read[2..])
                    .copied()
                    .collect::<Vec<_>>(),
            )
            .await;
        assert_eq!(raw.cmd(&["RENAME", b, a]).await, Reply::ok(), "{kind}");
        assert_eq!(raw.cmd(&read).await, before, "{kind}");
        assert_eq!(raw.cmd(&["TYPE", a]).await, Reply::Simple(kind.into()));
        assert_eq!(raw.cmd(&["EXISTS", b]).await, Reply::Int(0), "{kind}");
    }
    // RENAMENX leaves an existing destination; COPY copies, REPLACE replaces.
    assert_eq!(raw.cmd(&["SET", b, "kept"]).await, Reply::ok());
    assert_eq!(raw.cmd(&["RENAMENX", a, b]).await, Reply::Int(0));
    assert_eq!(raw.cmd(&["COPY", a, b]).await, Reply::Int(0));
    assert_eq!(raw.cmd(&["COPY", a, b, "REPLACE"]).await, Reply::Int(1));
    assert_eq!(raw.cmd(&["GET", b]).await, Reply::bulk("text"));
    assert_eq!(raw.cmd(&["GET", a]).await, Reply::bulk("text"));
    assert_eq!(raw.cmd(&["DEL", b]).await, Reply::Int(1));
    assert_eq!(raw.cmd(&["RENAMENX", a, b]).await, Reply::Int(1));
    assert_eq!(raw.cmd(&["GET", b]).await, Reply::bulk("text"));

    // SMOVE and LMOVE / RPOPLPUSH.
    assert_eq!(raw.cmd(&["SADD", a2, "p", "q"]).await, Reply::Int(2));
    assert_eq!(raw.cmd(&["SMOVE", a2, b2, "p"]).await, Reply::Int(1));
    assert_eq!(raw.cmd(&["SMOVE", a2, b2, "nope"]).await, Reply::Int(0));
    assert_eq!(
        raw.cmd(&["SMEMBERS", b2]).await,
        Reply::Array(vec![Reply::bulk("p")])
    );
    assert_eq!(
        raw.cmd(&["SMOVE", a2, b, "q"]).await,
        Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into())
    );
    assert_eq!(raw.cmd(&["SCARD", a2]).await, Reply::Int(1));
    assert_eq!(raw.cmd(&["DEL", a2, b2]).await, Reply::Int(2));
    assert_eq!(raw.cmd(&["RPUSH", a2, "1", "2", "3"]).await, Reply::Int(3));
    assert_eq!(
        raw.cmd(&["LMOVE", a2, b2, "LEFT", "RIGHT"]).await,
        Reply::bulk("1")
    );
    assert_eq!(raw.cmd(&["RPOPLPUSH", a2, b2]).await, Reply::bulk("3"));
    assert_eq!(
        raw.cmd(&["LRANGE", b2, "0", "-1"]).await,
        Reply::Array(vec![Reply::bulk("3"), Reply::bulk("1")])
    );
    assert_eq!(
        raw.cmd(&["LMOVE", "move:none", b2, "LEFT", "LEFT"]).await,
        Reply::Nil
    );
    assert_eq!(
        raw.cmd(&["LMOVE", a2, b, "LEFT", "LEFT"]).await,
        Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into())
    );
    assert_eq!(raw.cmd(&["LLEN", a2]).await, Reply::Int(1));
}

#[tokio::test]
async fn sorted_set_algebra_and_msetnx_over_groups_match_redis() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "zsets", 2).await;
    let (a, b, s, dst) = (
        keys[0][0].as_str(),
        keys[1][0].as_str(),
        keys[0][1].as_str(),
        keys[1][1].as_str(),
    );
    let mut raw = cluster.proxy.raw().await;
    assert_eq!(
        raw.cmd(&["ZADD", a, "1", "x", "2", "y", "3", "z"]).await,
        Reply::Int(3)
    );
    assert_eq!(
        raw.cmd(&["ZADD", b, "10", "y", "20", "z", "30", "w"]).await,
        Reply::Int(3)
    );
    assert_eq!(raw.cmd(&["SADD", s, "z", "v"]).await, Reply::Int(2));
    let q = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();

    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            q(&["ZUNION", "2", a, b, "WITHSCORES"]),
            vec!["x", "1", "y", "12", "z", "23", "w", "30"],
        ),
        (q(&["ZINTER", "2", a, b]), vec!["y", "z"]),
        (
            q(&["ZINTER", "2", a, b, "WEIGHTS", "2", "0.5", "WITHSCORES"]),
            vec!["y", "9", "z", "16"],
        ),
        (
            q(&["ZINTER", "2", a, b, "AGGREGATE", "MAX", "WITHSCORES"]),
            vec!["y", "10", "z", "20"],
        ),
        (
            q(&["ZUNION", "2", a, b, "AGGREGATE", "MIN", "WITHSCORES"]),
            vec!["x", "1", "y", "2", "z", "3", "w", "30"],
        ),
        (q(&["ZDIFF", "2", a, b, "WITHSCORES"]), vec!["x", "1"]),
        (q(&["ZINTER", "3", a, b, s, "WITHSCORES"]), vec!["z", "24"]),
    ];
    for (request, expected) in cases {
        let got: Vec<String> = raw
            .cmd(&request)
            .await
            .array()
            .iter()
            .map(Reply::text)
            .collect();
        assert_eq!(got, expected, "{request:?}");
    }
    assert_eq!(raw.cmd(&["ZINTERCARD", "2", a, b]).await, Reply::Int(2));
    assert_eq!(
        raw.cmd(&["ZINTERCARD", "2", a, b, "LIMIT", "1"]).await,
        Reply::Int(1)
    );
    assert_eq!(
        raw.cmd(&["ZUNIONSTORE", dst, "2", a, b, "WEIGHTS", "1", "2"])
            .await,
        Reply::Int(4)
    );
    let stored: Vec<String> = raw
        .cmd(&["ZRANGE", dst, "0", "-1", "WITHSCORES"])
        .await
        .array()
        .iter()
        .map(Reply::text)
        .collect();
    assert_eq!(stored, ["x", "1", "y", "22", "z", "43", "w", "60"]);
    assert_eq!(
        raw.cmd(&["ZDIFFSTORE", dst, "2", b, a]).await,
        Reply::Int(1)
    );
    assert_eq!(
        raw.cmd(&["ZINTERSTORE", dst, "2", a, "missing"]).await,
        Reply::Int(0)
    );
    assert_eq!(raw.cmd(&["EXISTS", dst]).await, Reply::Int(0));
    assert_eq!(
        raw.cmd(&["ZUNION", "2", a, b, "WEIGHTS", "1", "x"]).await,
        Reply::Error("ERR weight value is not a float".into())
    );
    assert_eq!(
        raw.cmd(&["ZUNION", "2", a, b, "BOGUS"]).await,
        Reply::Error("ERR syntax error".into())
    );

    // MSETNX: all or nothing when none exists.
    assert_eq!(raw.cmd(&["DEL", a, b]).await, Reply::Int(2));
    assert_eq!(raw.cmd(&["MSETNX", a, "1", b, "2"]).await, Reply::Int(1));
    assert_eq!(
        raw.cmd(&["MGET", a, b]).await,
        Reply::Array(vec![Reply::bulk("1"), Reply::bulk("2")])
    );
    assert_eq!(raw.cmd(&["MSETNX", a, "3", dst, "4"]).await, Reply::Int(0));
    assert_eq!(raw.cmd(&["EXISTS", dst]).await, Reply::Int(0));
}
