//! Partial and full resynchronisation: reconnects within and beyond the backlog, promotion
//! with repointing (PSYNC2), and a standby whose history diverged.

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

#[tokio::test]
async fn a_dropped_link_within_the_backlog_resumes_with_a_partial_resync() {
    let primary = primary(&[]);
    let standby = standby_of(&primary, &[]);
    write_keys(&primary, "before:", 100, 10).await;
    caught_up(&primary, &[&standby]).await;
    let mut p = primary.conn().await;
    assert_eq!(info_int(&mut p, "stats", "sync_full").await, 1);
    // Freeze the standby, write meanwhile, and cut its link from the primary's side.
    standby.signal(Signal::SIGSTOP);
    write_keys(&primary, "during:", 100, 10).await;
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query_async(&mut p)
        .await
        .unwrap();
    assert_eq!(killed, 1);
    standby.signal(Signal::SIGCONT);
    write_keys(&primary, "after:", 100, 10).await;
    caught_up(&primary, &[&standby]).await;
    assert_eq!(
        info_int(&mut p, "stats", "sync_partial_ok").await,
        1,
        "the standby should continue from the backlog"
    );
    assert_eq!(
        info_int(&mut p, "stats", "sync_full").await,
        1,
        "no second full resync"
    );
    assert_same(
        &dump(&primary, 1).await,
        &dump(&standby, 1).await,
        "standby",
    );
}

#[tokio::test]
async fn a_standby_beyond_the_backlog_resyncs_fully() {
    let primary = primary(&["--repl-backlog-size", "16kb"]);
    let standby = standby_of(&primary, &[]);
    write_keys(&primary, "before:", 10, 10).await;
    caught_up(&primary, &[&standby]).await;
    // Some stream, so the standby has an offset to ask for.
    write_keys(&primary, "streamed:", 10, 10).await;
    caught_up(&primary, &[&standby]).await;
    let mut p = primary.conn().await;
    standby.signal(Signal::SIGSTOP);
    // Far more than the 16 KB backlog.
    write_keys(&primary, "during:", 2000, 200).await;
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query_async(&mut p)
        .await
        .unwrap();
    standby.signal(Signal::SIGCONT);
    caught_up(&primary, &[&standby]).await;
    assert_eq!(
        info_int(&mut p, "stats", "sync_full").await,
        2,
        "the second sync must be full"
    );
    let stats: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut p)
        .await
        .unwrap();
    assert_eq!(
        info_int(&mut p, "stats", "sync_partial_err").await,
        1,
        "{stats}"
    );
    assert_same(
        &dump(&primary, 1).await,
        &dump(&standby, 1).await,
        "standby",
    );
}

#[tokio::test]
async fn promotion_and_repointing_continue_with_a_partial_resync() {
    let old_primary = primary(&[]);
    let promoted = standby_of(&old_primary, &[]);
    let other = standby_of(&old_primary, &[]);
    write_keys(&old_primary, "k", 500, 20).await;
    caught_up(&old_primary, &[&promoted, &other]).await;
    drop(old_primary);
    let mut p = promoted.conn().await;
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query_async(&mut p)
        .await
        .unwrap();
    let mut o = other.conn().await;
    let addr = promoted.addr();
    let _: () = redis::cmd("REPLICAOF")
        .arg(addr.ip().to_string())
        .arg(addr.port())
        .query_async(&mut o)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("after-promotion")
        .arg(1)
        .query_async(&mut p)
        .await
        .unwrap();
    caught_up(&promoted, &[&other]).await;
    assert_eq!(
        info_int(&mut p, "stats", "sync_partial_ok").await,
        1,
        "repointed standby should continue (PSYNC2)"
    );
    assert_eq!(info_int(&mut p, "stats", "sync_full").await, 0);
    let replid2 = crate::support::info_field(&mut p, "replication", "master_replid2")
        .await
        .unwrap();
    assert_ne!(replid2, "0".repeat(40));
    assert_same(
        &dump(&promoted, 1).await,
        &dump(&other, 1).await,
        "repointed standby",
    );
}

#[tokio::test]
async fn a_standby_with_history_the_new_primary_lacks_resyncs_fully() {
    let old_primary = primary(&[]);
    let behind = standby_of(&old_primary, &[]);
    let ahead = standby_of(&old_primary, &[]);
    write_keys(&old_primary, "common:", 100, 10).await;
    caught_up(&old_primary, &[&behind, &ahead]).await;
    // `behind` leaves the old primary; `ahead` then gets writes `behind` never will.
    let mut b = behind.conn().await;
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query_async(&mut b)
        .await
        .unwrap();
    write_keys(&old_primary, "lost:", 50, 10).await;
    caught_up(&old_primary, &[&ahead]).await;
    drop(old_primary);
    let mut a = ahead.conn().await;
    let addr = behind.addr();
    let _: () = redis::cmd("REPLICAOF")
        .arg(addr.ip().to_string())
        .arg(addr.port())
        .query_async(&mut a)
        .await
        .unwrap();
    caught_up(&behind, &[&ahead]).await;
    assert_eq!(
        info_int(&mut b, "stats", "sync_full").await,
        1,
        "diverged history needs a full resync"
    );
    let lost: i64 = redis::cmd("EXISTS")
        .arg("lost:0")
        .query_async(&mut a)
        .await
        .unwrap();
    assert_eq!(lost, 0, "the write the new primary never had must be gone");
    assert_same(
        &dump(&behind, 1).await,
        &dump(&ahead, 1).await,
        "repointed standby",
    );
}
