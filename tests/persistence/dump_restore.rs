//! DUMP and RESTORE between the node and redis-server, both ways, and RESTORE's errors as Redis
//! answers them.

use redis::aio::MultiplexedConnection;

use crate::support::{assert_same, dump_all, fill_mixed, fresh_dir, node_in, run, Redis};

/// Copies every key of database 0 from `from` to `to` through DUMP / RESTORE ... ABSTTL.
async fn copy_all(from: &mut MultiplexedConnection, to: &mut MultiplexedConnection) {
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(from).await.unwrap();
    for key in keys {
        let payload: Vec<u8> = redis::cmd("DUMP")
            .arg(&key)
            .query_async(from)
            .await
            .unwrap();
        let at: i64 = redis::cmd("PEXPIRETIME")
            .arg(&key)
            .query_async(from)
            .await
            .unwrap();
        let ok: String = redis::cmd("RESTORE")
            .arg(&key)
            .arg(at.max(0))
            .arg(payload)
            .arg("ABSTTL")
            .query_async(to)
            .await
            .unwrap_or_else(|e| panic!("RESTORE {key}: {e}"));
        assert_eq!(ok, "OK");
    }
}

#[tokio::test]
async fn dump_and_restore_carry_every_type_both_ways() {
    let dir = fresh_dir("dump-restore");
    let node = node_in(&dir, "", &[]);
    let redis = Redis::start(&dir);
    let (mut n, mut r) = (node.conn().await, redis.conn().await);
    fill_mixed(&mut n).await;
    run(&mut n, &["SELECT", "2"]).await;
    run(&mut n, &["FLUSHDB"]).await;
    run(&mut n, &["SELECT", "0"]).await;
    let expected = dump_all(&mut n).await;
    copy_all(&mut n, &mut r).await;
    assert_same(&expected, &dump_all(&mut r).await, "node → redis-server");
    run(&mut n, &["FLUSHALL"]).await;
    copy_all(&mut r, &mut n).await;
    assert_same(&expected, &dump_all(&mut n).await, "redis-server → node");
}

/// Runs `args` on both servers and asserts the same reply (errors compared by text).
async fn same(
    n: &mut MultiplexedConnection,
    r: &mut MultiplexedConnection,
    args: &[Vec<u8>],
) -> String {
    let mut replies = Vec::new();
    for conn in [n, r] {
        let mut cmd = redis::cmd(std::str::from_utf8(&args[0]).unwrap());
        for a in &args[1..] {
            cmd.arg(a.as_slice());
        }
        let reply: redis::RedisResult<redis::Value> = cmd.query_async(conn).await;
        replies.push(match reply {
            Ok(v) => format!("{v:?}"),
            Err(e) => format!(
                "error {}",
                e.detail()
                    .map(|d| format!("{:?} {d}", e.code()))
                    .unwrap_or_else(|| e.to_string())
            ),
        });
    }
    assert_eq!(
        replies[0],
        replies[1],
        "{:?}",
        String::from_utf8_lossy(&args[0])
    );
    replies.remove(0)
}

#[tokio::test]
async fn restore_answers_redis_errors() {
    let dir = fresh_dir("restore-errors");
    let node = node_in(&dir, "", &[]);
    let redis = Redis::start(&dir);
    let (mut n, mut r) = (node.conn().await, redis.conn().await);
    run(&mut r, &["RPUSH", "src", "a", "b"]).await;
    let payload: Vec<u8> = redis::cmd("DUMP")
        .arg("src")
        .query_async(&mut r)
        .await
        .unwrap();
    let mut bad = payload.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let a = |s: &str| s.as_bytes().to_vec();
    for conn in [&mut n, &mut r] {
        run(conn, &["SET", "busy", "x"]).await;
    }
    let cases: Vec<(Vec<Vec<u8>>, &str)> = vec![
        (
            vec![a("RESTORE"), a("busy"), a("0"), payload.clone()],
            "BUSYKEY",
        ),
        (
            vec![a("RESTORE"), a("k"), a("-1"), payload.clone()],
            "Invalid TTL",
        ),
        (
            vec![a("RESTORE"), a("k"), a("x"), payload.clone()],
            "not an integer",
        ),
        (vec![a("RESTORE"), a("k"), a("0"), bad], "checksum"),
        (vec![a("RESTORE"), a("k"), a("0"), a("short")], "checksum"),
        (
            vec![
                a("RESTORE"),
                a("k"),
                a("0"),
                payload.clone(),
                a("FREQ"),
                a("300"),
            ],
            "FREQ",
        ),
        (
            vec![
                a("RESTORE"),
                a("k"),
                a("0"),
                payload.clone(),
                a("IDLETIME"),
                a("-1"),
            ],
            "IDLETIME",
        ),
        (
            vec![
                a("RESTORE"),
                a("k"),
                a("0"),
                payload.clone(),
                a("IDLETIME"),
                a("1"),
                a("FREQ"),
                a("1"),
            ],
            "syntax",
        ),
        (
            vec![a("RESTORE"), a("k"), a("0"), payload.clone(), a("NOPE")],
            "syntax",
        ),
        (
            vec![
                a("RESTORE"),
                a("busy"),
                a("1000"),
                payload.clone(),
                a("REPLACE"),
                a("FREQ"),
                a("5"),
            ],
            "=ok",
        ),
        (
            vec![
                a("RESTORE"),
                a("gone"),
                a("1"),
                payload.clone(),
                a("ABSTTL"),
            ],
            "=ok",
        ),
        (vec![a("EXISTS"), a("gone")], "int(0)"),
        (vec![a("LRANGE"), a("busy"), a("0"), a("-1")], "bulk"),
        (vec![a("DUMP"), a("missing")], "nil"),
    ];
    for (args, expect) in cases {
        let reply = same(&mut n, &mut r, &args).await;
        match expect.strip_prefix('=') {
            Some(exact) => assert_eq!(reply, exact),
            None => assert!(
                reply.to_lowercase().contains(&expect.to_lowercase()),
                "{reply} lacks {expect}"
            ),
        }
    }
}
