//! Failing nodes and bad configuration.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::cluster::{temp_file, Cluster};
use crate::common::{encode, Reply, Server};

/// A key owned by group `g`, found by asking the nodes where writes landed.
async fn key_in_group(cluster: &Cluster, g: usize) -> String {
    let mut conn = cluster.conn().await;
    for i in 0..1000 {
        let key = format!("find{i}");
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut node = cluster.groups[g].nodes[0].conn().await;
        let exists: bool = redis::cmd("EXISTS")
            .arg(&key)
            .query_async(&mut node)
            .await
            .unwrap();
        if exists {
            return key;
        }
    }
    panic!("no key found for group {g}");
}

#[tokio::test]
async fn a_node_killed_mid_pipeline_fails_only_its_requests_and_recovers() {
    let mut cluster = Cluster::start(&[0, 0], "", "");
    let alive = key_in_group(&cluster, 0).await;
    let doomed = key_in_group(&cluster, 1).await;
    let doomed_port = cluster.groups[1].nodes[0].addr().port();

    // Stop group 1's node so its requests are in flight when it dies.
    cluster.groups[1].nodes[0].signal(Signal::SIGSTOP);
    let mut raw = cluster.proxy.raw().await;
    let mut wire = Vec::new();
    for i in 0..200 {
        let key = if i % 2 == 0 { &alive } else { &doomed };
        wire.extend_from_slice(&encode(&["GET", key]));
    }
    raw.send(&wire).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    cluster.groups[1].nodes[0].kill();
    let started = Instant::now();
    for i in 0..200 {
        let reply = raw.read_reply().await;
        if i % 2 == 0 {
            assert_eq!(reply, Reply::bulk("1"), "reply {i} (healthy group)");
        } else {
            assert!(
                matches!(&reply, Reply::Error(e) if e.starts_with("ERR")),
                "reply {i}: {reply:?}"
            );
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "errors must come promptly, not after a hang"
    );

    // The other group keeps serving; the dead one errors at once.
    assert_eq!(raw.cmd(&["GET", &alive]).await, Reply::bulk("1"));
    assert!(matches!(raw.cmd(&["GET", &doomed]).await, Reply::Error(_)));

    // The node comes back on the same port: the proxy reconnects.
    let node = Server::spawn_redoubt(&["node", "--port", &doomed_port.to_string()], None);
    cluster.groups[1].nodes[0] = node;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = raw.cmd(&["SET", &doomed, "back"]).await;
        if reply == Reply::ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "proxy did not reconnect: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(raw.cmd(&["GET", &doomed]).await, Reply::bulk("back"));
}

#[tokio::test]
async fn a_stalled_node_times_out_requests_without_blocking_others() {
    let cluster = Cluster::start(&[0, 0], "", "request-timeout = \"300ms\"");
    let alive = key_in_group(&cluster, 0).await;
    let stalled = key_in_group(&cluster, 1).await;
    cluster.groups[1].nodes[0].signal(Signal::SIGSTOP);
    // Let the stop take hold of every thread of the node before asking it anything.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut raw = cluster.proxy.raw().await;
    let started = Instant::now();
    let reply = raw.cmd(&["GET", &stalled]).await;
    assert!(
        matches!(&reply, Reply::Error(e) if e.contains("timed out")),
        "{reply:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(raw.cmd(&["GET", &alive]).await, Reply::bulk("1"));
    cluster.groups[1].nodes[0].signal(Signal::SIGCONT);
}

fn proxy_fails_with(config: &str) -> String {
    let path = temp_file("bad.toml", config);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_redoubt"))
        .args(["proxy", "--config", path.to_str().unwrap()])
        .output()
        .expect("run redoubt proxy");
    let _ = std::fs::remove_file(path);
    assert!(!output.status.success(), "a bad config must be refused");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_config_files_name_the_problem() {
    let group = "[[groups]]\nid = \"a\"\nprimary = \"127.0.0.1:1\"\n";
    let cases = [
        (
            format!("listen = \"127.0.0.1:0\"\n{group}colour = \"blue\"\n"),
            "colour",
        ),
        (
            format!("listen = \"127.0.0.1:0\"\nrequest-timeout = \"soon\"\n{group}"),
            "request-timeout",
        ),
        (
            format!("listen = \"127.0.0.1:0\"\n{group}read-policy = \"fastest\"\n"),
            "fastest",
        ),
        (
            "listen = \"127.0.0.1:0\"\ngroups = []\n".to_string(),
            "at least one",
        ),
        (format!("listen = \"127.0.0.1:0\"\n{group}{group}"), "'a'"),
        (group.to_string(), "listen"),
    ];
    for (config, needle) in cases {
        let stderr = proxy_fails_with(&config);
        assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    }
}
