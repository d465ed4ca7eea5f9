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
