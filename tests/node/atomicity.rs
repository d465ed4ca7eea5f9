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
