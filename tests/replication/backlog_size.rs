//! `CONFIG SET repl-backlog-size` on a running primary: the backlog takes the new size at
//! once, so a standby whose gap fits the new size (and not the old one) resyncs partially, and
//! a smaller backlog keeps only the newest bytes.

use nix::sys::signal::Signal;

use crate::support::{assert_same, caught_up, dump, info_int, primary, standby_of};

async fn write_keys(server: &crate::common::Server, prefix: &str, count: usize, size: usize) {
    let mut conn = server.conn().await;
    let value = "v".repeat(size);
    let mut pipe = redis::pipe();
    for i in 0..count {
        pipe.cmd("SET")
            .arg(format!("{prefix}{i}"))
            .arg(&value)
            .ignore();
    }
    let _: () = pipe.query_async(&mut conn).await.unwrap();
}

async fn config_set(conn: &mut redis::aio::MultiplexedConnection, size: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("repl-backlog-size")
        .arg(size)
        .query_async(conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_grown_backlog_covers_a_gap_the_old_size_could_not() {
    let primary = primary(&["--repl-backlog-size", "16kb"]);
    let standby = standby_of(&primary, &[]);
    write_keys(&primary, "before:", 10, 10).await;
    caught_up(&primary, &[&standby]).await;
    let mut p = primary.conn().await;
    assert_eq!(
        info_int(&mut p, "replication", "repl_backlog_size").await,
        16 * 1024
    );

    config_set(&mut p, "1mb").await;
    assert_eq!(
        info_int(&mut p, "replication", "repl_backlog_size").await,
        1 << 20
    );
    // About 100 KB of stream while the standby is frozen: far beyond 16 KB, within 1 MB.
    standby.signal(Signal::SIGSTOP);
    write_keys(&primary, "during:", 500, 200).await;
    assert!(info_int(&mut p, "replication", "repl_backlog_histlen").await > 64 * 1024);
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query_async(&mut p)
        .await
        .unwrap();
    standby.signal(Signal::SIGCONT);
    // The standby notices the cut only once it runs again: wait for its new link (partial or
    // full) before checking which one it was.
    let relinked = crate::common::eventually(std::time::Duration::from_secs(20), || {
        let mut p = p.clone();
        async move {
            info_int(&mut p, "stats", "sync_partial_ok").await
                + info_int(&mut p, "stats", "sync_full").await
                >= 2
        }
    })
    .await;
    assert!(relinked, "the standby did not link again");
    caught_up(&primary, &[&standby]).await;
    assert_eq!(
        info_int(&mut p, "stats", "sync_partial_ok").await,
        1,
        "the standby should continue from the grown backlog"
    );
    assert_eq!(
        info_int(&mut p, "stats", "sync_full").await,
        1,
        "no second full sync"
    );
    assert_same(
        &dump(&primary, 1).await,
        &dump(&standby, 1).await,
        "standby",
    );
}

#[tokio::test]
async fn a_shrunk_backlog_keeps_the_newest_bytes() {
    let primary = primary(&["--repl-backlog-size", "1mb"]);
    let standby = standby_of(&primary, &[]);
    // The backlog exists once the standby has synced: what follows goes through it.
    write_keys(&primary, "before:", 10, 10).await;
    caught_up(&primary, &[&standby]).await;
    write_keys(&primary, "streamed:", 500, 200).await;
    caught_up(&primary, &[&standby]).await;
    let mut p = primary.conn().await;
    assert!(info_int(&mut p, "replication", "repl_backlog_histlen").await > 64 * 1024);

    config_set(&mut p, "16kb").await;
    let end = info_int(&mut p, "replication", "master_repl_offset").await;
    assert_eq!(
        info_int(&mut p, "replication", "repl_backlog_size").await,
        16 * 1024
    );
    assert_eq!(
        info_int(&mut p, "replication", "repl_backlog_histlen").await,
        16 * 1024
    );
    assert_eq!(
        info_int(&mut p, "replication", "repl_backlog_first_byte_offset").await,
        end - 16 * 1024 + 1,
        "the newest 16 KB are kept"
    );
    // The standby still follows the stream after the resize.
    write_keys(&primary, "after:", 10, 10).await;
    caught_up(&primary, &[&standby]).await;
    assert_same(
        &dump(&primary, 1).await,
        &dump(&standby, 1).await,
        "standby",
    );
}
