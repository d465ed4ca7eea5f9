//! Failover benchmark: the kill test, measured. For synchronous and asynchronous replication
//! it starts a primary, a standby and a proxy, runs writers through the proxy, SIGKILLs the
//! primary, and prints the write outage (longest gap between acknowledged writes of one
//! writer) and how many acknowledged writes were lost.
//!
//! Run with `bench/failover.sh` (it builds the release binary first).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WRITERS: usize = 4;

/// Each writer's acknowledged writes: key, value, when the OK arrived.
type AckLog = Vec<Vec<(String, u64, Instant)>>;

struct Proc {
    child: Child,
    addr: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(bin: &str, args: &[&str]) -> Proc {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redoubt");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("process exited").expect("read stdout");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Proc { child, addr }
}

struct Outcome {
    acknowledged: usize,
    lost: usize,
    outage: Duration,
    failover: Duration,
}

async fn run(bin: &str, dir: &str, synchronous: bool) -> Outcome {
    let primary = spawn(bin, &["node", "--port", "0", "--dir", dir]);
    let standby = spawn(
        bin,
        &[
            "node",
            "--port",
            "0",
            "--dir",
            dir,
            "--replicaof",
            &primary.addr,
        ],
    );
    let config = format!(
        "listen = \"127.0.0.1:0\"\n[[groups]]\nid = \"g0\"\nprimary = \"{}\"\nstandbys = [\"{}\"]\nsync-replicas = {}\n",
        primary.addr,
        standby.addr,
        u8::from(synchronous)
    );
    let path = format!("{dir}/bench-proxy-{}.toml", u8::from(synchronous));
    std::fs::write(&path, config).unwrap();
    let proxy = spawn(bin, &["proxy", "--config", &path]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let client = redis::Client::open(format!("redis://{}/", proxy.addr)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let acks: Arc<Mutex<AckLog>> = Arc::new(Mutex::new(vec![Vec::new(); WRITERS]));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (client, stop, acks) = (client.clone(), stop.clone(), acks.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let key = format!("w{w}:{i}");
                let mut cmd = redis::cmd("SET");
                cmd.arg(&key).arg(i);
                match tokio::time::timeout(Duration::from_secs(5), cmd.query_async::<()>(&mut conn))
                    .await
                {
                    Ok(Ok(())) => acks.lock().unwrap()[w].push((key, i, Instant::now())),
                    _ => tokio::time::sleep(Duration::from_millis(2)).await,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut primary = primary;
    let _ = primary.child.kill();
    let killed = Instant::now();
    let mut failover = Duration::ZERO;
    loop {
        let resumed = acks
            .lock()
            .unwrap()
            .iter()
            .all(|log| log.last().is_some_and(|(_, _, at)| *at > killed));
        if resumed {
            failover = killed.elapsed();
            break;
        }
        if killed.elapsed() > Duration::from_secs(15) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let logs = acks.lock().unwrap().clone();
    let outage = logs
        .iter()
        .map(|log| {
            log.windows(2)
                .map(|w| w[1].2.duration_since(w[0].2))
                .max()
                .unwrap_or_default()
        })
        .max()
        .unwrap_or_default();
    let all: Vec<(String, u64)> = logs
        .iter()
        .flatten()
        .map(|(k, v, _)| (k.clone(), *v))
        .collect();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut lost = 0;
    for chunk in all.chunks(1000) {
        let keys: Vec<&String> = chunk.iter().map(|(k, _)| k).collect();
        let values: Vec<Option<u64>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap();
        lost += chunk
            .iter()
            .zip(values)
            .filter(|((_, want), got)| *got != Some(*want))
            .count();
    }
    drop((standby, proxy));
    Outcome {
        acknowledged: all.len(),
        lost,
        outage,
        failover,
    }
}

#[tokio::main]
async fn main() {
    let bin = std::env::var("REDOUBT_BIN").unwrap_or_else(|_| "target/release/redoubt".into());
    let dir = std::env::temp_dir().join(format!("redoubt-failover-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.display().to_string();
    // Markdown rows, as the benchmark table takes them (no peer is measured here).
    println!("| measurement | redoubt | peer | ratio | notes |");
    println!("|---|---:|---:|---:|---|");
    for synchronous in [true, false] {
        let mode = if synchronous {
            "synchronous"
        } else {
            "asynchronous"
        };
        let outcome = run(&bin, &dir, synchronous).await;
        println!(
            "| failover write outage, {mode} (ms) | {} | | | longest gap between acknowledged writes of one of {WRITERS} writers; all resumed {} ms after the kill |",
            outcome.outage.as_millis(),
            outcome.failover.as_millis()
        );
        println!(
            "| lost acknowledged writes, {mode} | {} | | | of {} acknowledged; primary SIGKILLed |",
            outcome.lost, outcome.acknowledged
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
