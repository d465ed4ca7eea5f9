//! Multi-key commands are atomic: no client ever sees half of an MSET.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mset_is_never_seen_half_done() {
    let s = Server::start(&[]);
    let client = s.client();
    let mut writer = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("MSET")
        .arg(&["a", "x", "b", "x"])
        .query_async(&mut writer)
        .await
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let write_task = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut i = 0u32;
            // Bounded: at most 20 000 writes, fewer if the readers finish first.
            while !done.load(Ordering::Relaxed) && i < 20_000 {
                let v = if i % 2 == 0 { "y" } else { "x" };
                let () = redis::cmd("MSET")
                    .arg(&["a", v, "b", v])
                    .query_async(&mut writer)
                    .await
                    .unwrap();
                i += 1;
            }
            i
        })
    };
    let mut readers = Vec::new();
    for _ in 0..2 {
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        readers.push(tokio::spawn(async move {
            let mut changes = 0;
            let mut last = String::new();
            for _ in 0..3_000 {
                let (a, b): (String, String) = redis::cmd("MGET")
                    .arg(&["a", "b"])
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                assert_eq!(a, b, "MGET saw half of an MSET");
                if a != last {
                    changes += 1;
                    last = a;
                }
            }
            changes
        }));
    }
    let mut changes = 0;
    for r in readers {
        changes += r.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let writes = write_task.await.unwrap();
    assert!(writes > 10, "the writer ran ({writes} MSETs)");
    // The readers really raced the writer rather than running before or after it.
    assert!(
        changes > 4,
        "readers saw the value change only {changes} times"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_incr_loses_no_update() {
    let s = Server::start(&[]);
    let client = s.client();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        tasks.push(tokio::spawn(async move {
            for _ in 0..500 {
                let _: i64 = redis::cmd("INCR")
                    .arg("n")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let n: i64 = redis::cmd("GET")
        .arg("n")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 4000);
}

/// Keys spread widely (as a sharded keyspace would place them) still change together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_mset_and_del_are_all_or_nothing() {
    let s = Server::start(&[]);
    let client = s.client();
    let keys: Vec<String> = (0..16).map(|i| format!("{{{i}}}key-{i}")).collect();
    let mut writer = client.get_multiplexed_async_connection().await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let write_task = {
        let done = Arc::clone(&done);
        let keys = keys.clone();
        tokio::spawn(async move {
            let mut i = 0u32;
            while !done.load(Ordering::Relaxed) && i < 20_000 {
                if i % 2 == 0 {
                    let pairs: Vec<(&str, u32)> = keys.iter().map(|k| (k.as_str(), i)).collect();
                    let () = redis::cmd("MSET")
                        .arg(&pairs)
                        .query_async(&mut writer)
                        .await
                        .unwrap();
                } else {
                    let n: usize = redis::cmd("DEL")
                        .arg(&keys)
                        .query_async(&mut writer)
                        .await
                        .unwrap();
                    assert_eq!(n, 16, "DEL removed all 16 keys set by the MSET before it");
                }
                i += 1;
            }
            i
        })
    };
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (mut empty, mut full) = (0, 0);
    for _ in 0..3_000 {
        let vals: Vec<Option<u32>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap();
        let first = vals[0];
        assert!(
            vals.iter().all(|v| *v == first),
            "MGET saw a partial MSET or DEL: {vals:?}"
        );
        let n: usize = redis::cmd("EXISTS")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(n == 0 || n == 16, "EXISTS counted {n} of 16 keys");
        if first.is_some() {
            full += 1;
        } else {
            empty += 1;
        }
    }
    done.store(true, Ordering::Relaxed);
    write_task.await.unwrap();
    assert!(
        empty > 0 && full > 0,
        "the reader raced the writer ({empty} empty, {full} full reads)"
    );
}

/// A key being renamed back and forth is always in exactly one place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_is_atomic() {
    let s = Server::start(&[]);
    let client = s.client();
    let mut writer = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SET")
        .arg("left")
        .arg("payload")
        .query_async(&mut writer)
        .await
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let write_task = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut i = 0u32;
            while !done.load(Ordering::Relaxed) && i < 20_000 {
                let (from, to) = if i % 2 == 0 {
                    ("left", "right")
                } else {
                    ("right", "left")
                };
                let () = redis::cmd("RENAME")
                    .arg(from)
                    .arg(to)
                    .query_async(&mut writer)
                    .await
                    .unwrap();
                i += 1;
            }
        })
    };
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for _ in 0..3_000 {
        let n: i64 = redis::cmd("EXISTS")
            .arg(&["left", "right"])
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 1, "the renamed key is in {n} places");
        let (l, r): (Option<String>, Option<String>) = redis::cmd("MGET")
            .arg(&["left", "right"])
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            l.is_some() != r.is_some(),
            "MGET during RENAME: {l:?} {r:?}"
        );
    }
    done.store(true, Ordering::Relaxed);
    write_task.await.unwrap();
}

/// Two clients race MSETNX over the same key pairs: for each pair exactly one wins, entirely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msetnx_races_have_one_winner() {
    let s = Server::start(&[]);
    let client = s.client();
    let rounds = 1_000;
    let mut tasks = Vec::new();
    for who in ["A", "B"] {
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for i in 0..rounds {
                // The two writers name the keys in opposite orders.
                let (x, y) = (format!("x{i}"), format!("y{i}"));
                let pairs = if who == "A" {
                    [(x, who), (y, who)]
                } else {
                    [(y, who), (x, who)]
                };
                let n: i64 = redis::cmd("MSETNX")
                    .arg(&pairs)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                won.push(n);
            }
            won
        }));
    }
    let b = tasks.pop().unwrap().await.unwrap();
    let a = tasks.pop().unwrap().await.unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for i in 0..rounds {
        assert_eq!(
            a[i] + b[i],
            1,
            "round {i}: MSETNX results A={} B={}",
            a[i],
            b[i]
        );
        let (x, y): (String, String) = redis::cmd("MGET")
            .arg(&[format!("x{i}"), format!("y{i}")])
            .query_async(&mut conn)
            .await
            .unwrap();
        let winner = if a[i] == 1 { "A" } else { "B" };
        assert_eq!((x.as_str(), y.as_str()), (winner, winner), "round {i}");
    }
}
