//! `redoubt up` starts the whole cluster and stops every child on Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A base port with the next `count` ports free (checked by binding them), below the
/// ephemeral range so no outgoing connection takes one of them meanwhile.
fn free_range(count: u16) -> u16 {
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
    for attempt in 0..200u64 {
        let base = 20000
            + ((seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(attempt * 7919))
                % 12000) as u16;
        let free = (0..count).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no free port range");
}

#[test]
fn up_runs_a_proxy_with_replicated_groups_and_stops_them_all() {
    // 2 groups of 2: the first proxy, 4 nodes, its admin, 4 node metrics, 2 more proxies x 2.
    let port = free_range(14);
    let dir = crate::common::test_dir().join(format!("up-{port}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_redoubt"))
        .args([
            "up",
            "--port",
            &port.to_string(),
            "--dir",
            dir.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("Ctrl-C") || Instant::now() > deadline {
            break;
        }
    }
    assert!(
        printed.contains(&format!("redis-cli -p {port}")),
        "{printed}"
    );
    assert!(printed.contains("/topology"), "{printed}");
    // Three proxies by default, each serving clients.
    for other in [port + 10, port + 12] {
        assert!(
            printed.contains(&format!("redis-cli -p {other}")),
            "{printed}"
        );
    }
    assert!(printed.matches("127.0.0.1:").count() >= 5, "{printed}");
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut conn = client.get_connection().unwrap();
    let _: () = redis::cmd("SET")
        .arg("up-key")
        .arg("v")
        .query(&mut conn)
        .unwrap();
    let value: String = redis::cmd("GET").arg("up-key").query(&mut conn).unwrap();
    assert_eq!(value, "v");
    drop(conn);
    let other = redis::Client::open(format!("redis://127.0.0.1:{}/", port + 12)).unwrap();
    let value: String = redis::cmd("GET")
        .arg("up-key")
        .query(&mut other.get_connection().unwrap())
        .unwrap();
    assert_eq!(value, "v", "another proxy serves the same data");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "redoubt up did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every child is gone: nothing listens on the deployment's ports.
    for p in (port..port + 6).chain(port + 10..port + 14) {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", p)).is_err(),
            "port {p} still served"
        );
    }
}
