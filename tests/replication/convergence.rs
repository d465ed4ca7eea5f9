//! Standbys end identical to their primary after a long mixed write load.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{assert_same, caught_up, dump, primary, standby_of};

/// Appends one random write to `pipe`. Keys are partitioned by type (`s:`, `l:`, `h:`, `S:`,
/// `z:`) so no write fails with WRONGTYPE; non-deterministic commands (SPOP, INCRBYFLOAT,
/// relative expiries) are included on purpose.
fn random_write(rng: &mut StdRng, pipe: &mut redis::Pipeline) {
    let n = rng.gen_range(0..300);
    let v = rng.gen_range(0..1000);
    match rng.gen_range(0..22) {
        0 => pipe.cmd("SET").arg(format!("s:{n}")).arg(v),
        1 => pipe.cmd("INCR").arg(format!("s:i{n}")),
        2 => pipe.cmd("INCRBYFLOAT").arg(format!("s:f{n}")).arg(0.1),
        3 => pipe.cmd("APPEND").arg(format!("s:{n}")).arg("x"),
        4 => pipe
            .cmd("SET")
            .arg(format!("s:t{n}"))
            .arg(v)
            .arg("EX")
            .arg(1000),
        5 => pipe.cmd("EXPIRE").arg(format!("s:{n}")).arg(500),
        6 => pipe.cmd("PEXPIRE").arg(format!("s:{n}")).arg(1),
        7 => pipe.cmd("DEL").arg(format!("s:{n}")).arg(format!("l:{n}")),
        8 => pipe.cmd("RPUSH").arg(format!("l:{n}")).arg(v).arg(v + 1),
        9 => pipe.cmd("LPOP").arg(format!("l:{n}")),
        10 => pipe
            .cmd("LMOVE")
            .arg(format!("l:{n}"))
            .arg(format!("l:{}", n / 2))
            .arg("LEFT")
            .arg("RIGHT"),
        11 => pipe
            .cmd("HSET")
            .arg(format!("h:{n}"))
            .arg(format!("f{}", v % 20))
            .arg(v),
        12 => pipe
            .cmd("HDEL")
            .arg(format!("h:{n}"))
            .arg(format!("f{}", v % 20)),
        13 => pipe
            .cmd("HINCRBYFLOAT")
            .arg(format!("h:{n}"))
            .arg("float")
            .arg(1.5),
        14 => pipe
            .cmd("SADD")
            .arg(format!("S:{n}"))
            .arg(v % 50)
            .arg(format!("m{}", v % 30)),
        15 => pipe.cmd("SPOP").arg(format!("S:{n}")),
        16 => pipe.cmd("SREM").arg(format!("S:{n}")).arg(v % 50),
        17 => pipe
            .cmd("ZADD")
            .arg(format!("z:{n}"))
            .arg(v)
            .arg(format!("m{}", v % 40)),
        18 => pipe
            .cmd("ZINCRBY")
            .arg(format!("z:{n}"))
            .arg(0.25)
            .arg(format!("m{}", v % 40)),
        19 => pipe.cmd("ZPOPMIN").arg(format!("z:{n}")),
        20 => pipe.cmd("GETDEL").arg(format!("s:{n}")),
        _ => pipe.cmd("SPOP").arg(format!("S:{n}")).arg(2),
    };
}

#[tokio::test]
async fn two_standbys_end_identical_after_100k_mixed_writes() {
    let primary = primary(&[]);
    let first = standby_of(&primary, &[]);
    let second = standby_of(&primary, &[]);
    let mut conn = primary.conn().await;
    let mut rng = StdRng::seed_from_u64(7);
    let mut db1 = primary
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("SELECT")
        .arg(1)
        .query_async(&mut db1)
        .await
        .unwrap();
    for round in 0..100 {
        let mut pipe = redis::pipe();
        for _ in 0..1000 {
            random_write(&mut rng, &mut pipe);
        }
        // Alternate databases so the stream carries SELECTs.
        let target = if round % 5 == 4 { &mut db1 } else { &mut conn };
        let _: Vec<redis::Value> = pipe.query_async(target).await.unwrap();
    }
    // Keys given 1 ms to live are gone on the primary by now; their DELs are streamed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    caught_up(&primary, &[&first, &second]).await;
    let expected = dump(&primary, 2).await;
    assert!(
        expected.len() > 500,
        "the load should leave many keys: {}",
        expected.len()
    );
    assert_same(&expected, &dump(&first, 2).await, "first standby");
    assert_same(&expected, &dump(&second, 2).await, "second standby");
}

#[tokio::test]
async fn standbys_are_read_only_and_report_their_role() {
    let primary = primary(&[]);
    let standby = standby_of(&primary, &[]);
    let mut p = primary.conn().await;
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query_async(&mut p)
        .await
        .unwrap();
    caught_up(&primary, &[&standby]).await;
    let mut raw = standby.raw().await;
    assert_eq!(
        raw.cmd(&["SET", "k", "other"]).await,
        crate::common::Reply::Error("READONLY You can't write against a read only replica.".into())
    );
    assert_eq!(
        raw.cmd(&["GET", "k"]).await,
        crate::common::Reply::bulk("v")
    );
    let mut s = standby.conn().await;
    let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut s).await.unwrap();
    assert_eq!(role[0], redis::Value::BulkString(b"slave".to_vec()));
    let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut p).await.unwrap();
    assert_eq!(role[0], redis::Value::BulkString(b"master".to_vec()));
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query_async(&mut p)
        .await
        .unwrap();
    assert!(
        info.contains("connected_slaves:1") && info.contains("slave0:ip=127.0.0.1"),
        "{info}"
    );
    let waited: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(1000)
        .query_async(&mut p)
        .await
        .unwrap();
    assert_eq!(waited, 1);
}
