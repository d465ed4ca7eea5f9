//! Read policies: where reads land, counted on the nodes themselves.

use redis::AsyncCommands;

use crate::cluster::{calls, Cluster};

const READS: u64 = 60;

async fn run_reads(cluster: &Cluster) {
    let mut conn = cluster.conn().await;
    for _ in 0..READS {
        let _: Option<String> = conn.get("some-key").await.unwrap();
    }
}

#[tokio::test]
async fn primary_policy_reads_from_the_primary() {
    let cluster = Cluster::start(&[1], "read-policy = \"primary\"", "");
    run_reads(&cluster).await;
    assert_eq!(calls(&cluster.groups[0].nodes[0], "get").await, READS);
    assert_eq!(calls(&cluster.groups[0].nodes[1], "get").await, 0);
}

#[tokio::test]
async fn prefer_standby_reads_land_on_standbys_and_writes_on_the_primary() {
    let cluster = Cluster::start(&[2], "read-policy = \"prefer-standby\"", "");
    cluster.settled().await;
    run_reads(&cluster).await;
    let nodes = &cluster.groups[0].nodes;
    assert_eq!(calls(&nodes[0], "get").await, 0);
    let (a, b) = (calls(&nodes[1], "get").await, calls(&nodes[2], "get").await);
    assert_eq!(a + b, READS);
    assert!(a > 0 && b > 0, "standbys share reads: {a} {b}");
    let mut conn = cluster.conn().await;
    let _: () = conn.set("w", 1).await.unwrap();
    // The write ran on the primary (standbys count it too, applied from the stream).
    assert_eq!(calls(&nodes[0], "set").await, 1);
}

#[tokio::test]
async fn max_lag_keeps_reads_off_standbys_whose_lag_is_unknown() {
    // A member that is not replicating (detached with REPLICAOF NO ONE, so its lag behind the
    // primary cannot be known) serves no read while a lag bound is set.
    let cluster = Cluster::start(
        &[2],
        "read-policy = \"prefer-standby\"\nmax-lag-bytes = 1000000",
        "failover = false",
    );
    cluster.settled().await;
    let mut detached = cluster.groups[0].nodes[2].conn().await;
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query_async(&mut detached)
        .await
        .unwrap();
    // Let the probes see it.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    run_reads(&cluster).await;
    assert_eq!(calls(&cluster.groups[0].nodes[0], "get").await, 0);
    assert_eq!(
        calls(&cluster.groups[0].nodes[1], "get").await,
        READS,
        "the replicating standby serves"
    );
    assert_eq!(
        calls(&cluster.groups[0].nodes[2], "get").await,
        0,
        "the detached member does not"
    );
}

#[tokio::test]
async fn round_robin_spreads_reads_over_every_member() {
    let cluster = Cluster::start(&[1], "read-policy = \"round-robin\"", "");
    cluster.settled().await;
    run_reads(&cluster).await;
    let (p, s) = (
        calls(&cluster.groups[0].nodes[0], "get").await,
        calls(&cluster.groups[0].nodes[1], "get").await,
    );
    assert_eq!(p + s, READS);
    assert!(p >= READS / 4 && s >= READS / 4, "{p} {s}");
}

#[tokio::test]
async fn least_latency_prefers_the_fast_member() {
    let cluster = Cluster::start(&[1], "read-policy = \"least-latency\"", "failover = false");
    cluster.settled().await;
    // Make the primary slow to answer for as long as the reads run: stop it for 60 ms of
    // every 100 ms, so its probes (and reads) stall while the standby answers at once.
    let pid = nix::unistd::Pid::from_raw(cluster.groups[0].nodes[0].pid() as i32);
    let slowing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let slower = {
        let slowing = slowing.clone();
        std::thread::spawn(move || {
            use nix::sys::signal::{kill, Signal};
            while slowing.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = kill(pid, Signal::SIGSTOP);
                std::thread::sleep(std::time::Duration::from_millis(60));
                let _ = kill(pid, Signal::SIGCONT);
                std::thread::sleep(std::time::Duration::from_millis(40));
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    run_reads(&cluster).await;
    slowing.store(false, std::sync::atomic::Ordering::Relaxed);
    slower.join().unwrap();
    let (p, s) = (
        calls(&cluster.groups[0].nodes[0], "get").await,
        calls(&cluster.groups[0].nodes[1], "get").await,
    );
    assert_eq!(p + s, READS);
    assert!(
        s > p,
        "the standby should be preferred: primary {p}, standby {s}"
    );
}
