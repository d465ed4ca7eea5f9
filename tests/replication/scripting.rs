//! Scripts and functions under replication: a script's writes reach the standbys as its
//! effects, and the script cache and function libraries follow the primary, so a promoted
//! standby runs the same EVALSHA and FCALL.

use crate::common::Server;
use crate::support::{assert_same, caught_up, dump, primary, standby_of};

async fn query<T: redis::FromRedisValue>(server: &Server, args: &[&str]) -> redis::RedisResult<T> {
    let mut conn = server.conn().await;
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(&mut conn).await
}

const LIB: &str = "#!lua name=lib\nredis.register_function('bump', function(keys, args) redis.call('incr', keys[1]) return redis.call('hset', keys[2], 'at', redis.call('time')[1]) end)\nredis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}";

#[tokio::test]
async fn script_effects_and_caches_reach_the_standby_and_survive_a_promotion() {
    let primary = primary(&[]);
    let standby = standby_of(&primary, &[]);
    caught_up(&primary, &[&standby]).await;
    // Non-deterministic writes (TIME, SPOP) stream as their effects.
    let script = "redis.call('sadd', KEYS[1], 'a', 'b', 'c') local m = redis.call('spop', KEYS[1]) redis.call('set', KEYS[2], m) redis.call('select', '3') redis.call('set', KEYS[2], redis.call('time')[1]) return m";
    let sha: String = query(&primary, &["SCRIPT", "LOAD", script]).await.unwrap();
    let _: String = query(&primary, &["EVALSHA", &sha, "2", "s", "k"])
        .await
        .unwrap();
    let _: String = query(&primary, &["FUNCTION", "LOAD", LIB]).await.unwrap();
    let _: i64 = query(&primary, &["FCALL", "bump", "2", "n", "h"])
        .await
        .unwrap();
    // A script that wrote nothing, and one that turned replication off, stream nothing.
    let _: Option<String> = query(
        &primary,
        &["EVAL", "return redis.call('get', KEYS[1])", "1", "k"],
    )
    .await
    .unwrap();
    let _: String = query(
        &primary,
        &[
            "EVAL",
            "redis.set_repl(redis.REPL_NONE) return redis.call('set', KEYS[1], 'local')",
            "1",
            "only-here",
        ],
    )
    .await
    .unwrap();
    caught_up(&primary, &[&standby]).await;
    let only: Option<String> = query(&standby, &["GET", "only-here"]).await.unwrap();
    assert_eq!(only, None);
    let _: i64 = query(&primary, &["DEL", "only-here"]).await.unwrap();
    caught_up(&primary, &[&standby]).await;
    assert_same(
        &dump(&primary, 4).await,
        &dump(&standby, 4).await,
        "standby",
    );
    // The standby refuses writes from scripts but runs read-only ones from the same caches.
    let refused = query::<String>(&standby, &["EVALSHA", &sha, "2", "s", "k"])
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), redis::ErrorKind::ReadOnly, "{refused}");
    let refused = query::<i64>(&standby, &["FCALL", "bump", "2", "n", "h"])
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), redis::ErrorKind::ReadOnly, "{refused}");
    let n: String = query(&standby, &["FCALL_RO", "peek", "1", "n"])
        .await
        .unwrap();
    assert_eq!(n, "1");
    // Promoted, the standby runs the primary's script and function.
    let _: () = query(&standby, &["REPLICAOF", "NO", "ONE"]).await.unwrap();
    let _: String = query(&standby, &["EVALSHA", &sha, "2", "s2", "k2"])
        .await
        .unwrap();
    let _: i64 = query(&standby, &["FCALL", "bump", "2", "n", "h"])
        .await
        .unwrap();
    let n: String = query(&standby, &["GET", "n"]).await.unwrap();
    assert_eq!(n, "2");
}

#[tokio::test]
async fn a_full_resync_carries_the_loaded_scripts_and_the_libraries() {
    let primary = primary(&[]);
    let sha: String = query(
        &primary,
        &["SCRIPT", "LOAD", "return redis.call('get', KEYS[1])"],
    )
    .await
    .unwrap();
    let _: String = query(&primary, &["FUNCTION", "LOAD", LIB]).await.unwrap();
    let _: () = query(&primary, &["SET", "n", "41"]).await.unwrap();
    let standby = standby_of(&primary, &[]);
    caught_up(&primary, &[&standby]).await;
    let got: String = query(&standby, &["EVALSHA", &sha, "1", "n"]).await.unwrap();
    assert_eq!(got, "41");
    let got: String = query(&standby, &["FCALL_RO", "peek", "1", "n"])
        .await
        .unwrap();
    assert_eq!(got, "41");
}
