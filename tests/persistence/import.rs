//! `redoubt ctl import`: a running redis-server copied live into a deployment of two groups,
//! with writes going on at the source until cutover.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::cluster::Cluster;
use crate::support::{dump_all, fill_mixed, fresh_dir, run, Redis};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_with_cutover_under_writers_loses_no_acknowledged_write() {
    let dir = fresh_dir("import");
    // No delay before a diskless transfer starts (Redis waits 5 s by default).
    let source = Redis::start_with(&dir, &["--repl-diskless-sync-delay", "0"]);
    let mut src = source.conn().await;
    fill_mixed(&mut src).await;
    let cluster = Cluster::start(&[0, 0], "", "");
    cluster.settled().await;

    // A writer at the source throughout: `w:<n>` for n = 1, 2, ... and a counter.
    let acknowledged = Arc::new(AtomicU64::new(0));
    let writer = {
        let acknowledged = acknowledged.clone();
        let mut conn = source.conn().await;
        tokio::spawn(async move {
            for n in 1u64.. {
                run(&mut conn, &["SET", &format!("w:{n}"), &n.to_string()]).await;
                run(&mut conn, &["INCR", "counter"]).await;
                acknowledged.store(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (from, to) = (
        format!("127.0.0.1:{}", source.port),
        cluster.proxy.addr().to_string(),
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_redoubt"))
            .args(["ctl", "import", "--from", &from, "--to", &to])
            .args(["--cutover", "--pause-ms", "30000"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    // Every write acknowledged before the import returned happened before the pause.
    let acked = acknowledged.load(Ordering::SeqCst);
    writer.abort();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("cutover complete"), "{printed}");
    assert!(acked > 0, "the writer never got a write in");

    let mut proxy = cluster.conn().await;
    let source_dump = dump_all(&mut src).await;
    let imported = dump_all(&mut proxy).await;
    assert_eq!(
        source_dump.len(),
        imported.len(),
        "keys at the source and in the deployment"
    );
    for (key, value) in &source_dump {
        assert_eq!(imported.get(key), Some(value), "{key:?}");
    }
    let counter: u64 = redis::cmd("GET")
        .arg("counter")
        .query_async(&mut proxy)
        .await
        .unwrap();
    assert!(counter >= acked, "counter {counter} < {acked} acknowledged");
    // Both groups hold part of the data.
    for group in &cluster.groups {
        assert!(crate::cluster::dbsize(&group.nodes[0]).await > 0);
    }
    run(&mut src, &["CLIENT", "UNPAUSE"]).await;
}

#[test]
fn import_from_a_server_that_is_not_there_fails_with_the_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new(env!("CARGO_BIN_EXE_redoubt"))
        .args(["ctl", "import", "--from", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot connect to the source"), "{stderr}");
}
