//! Clients writing through the proxy without pause, recording every acknowledged write.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// An acknowledged write: key, value, when the OK arrived.
pub type Ack = (String, u64, Instant);

/// Writers running in the background.
pub struct Writers {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Every acknowledged write, per writer.
    pub acks: Vec<Arc<Mutex<Vec<Ack>>>>,
    /// Errors seen.
    pub errors: Arc<AtomicU64>,
}

impl Writers {
    /// Starts `count` writers against `client`, each with its own connection, writing
    /// `w<n>:<i>` = i one at a time.
    pub async fn start(client: redis::Client, count: usize) -> Writers {
        Writers::start_named(client, count, "w").await
    }

    /// Like [`Writers::start`], writing `<prefix><n>:<i>` (writers on several proxies each
    /// with their own prefix write distinct keys).
    pub async fn start_named(client: redis::Client, count: usize, prefix: &str) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let errors = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        let mut acks = Vec::new();
        for w in 0..count {
            let log = Arc::new(Mutex::new(Vec::new()));
            acks.push(log.clone());
            let (stop, errors, client) = (stop.clone(), errors.clone(), client.clone());
            let prefix = prefix.to_string();
            tasks.push(tokio::spawn(async move {
                let mut conn = None;
                let mut i: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    if conn.is_none() {
                        conn = client.get_multiplexed_async_connection().await.ok();
                        if conn.is_none() {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    }
                    i += 1;
                    let key = format!("{prefix}{w}:{i}");
                    let mut command = redis::cmd("SET");
                    command.arg(&key).arg(i);
                    let sent = command.query_async::<()>(conn.as_mut().unwrap());
                    match tokio::time::timeout(Duration::from_secs(5), sent).await {
                        Ok(Ok(())) => log.lock().push((key, i, Instant::now())),
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                }
            }));
        }
        Writers {
            stop,
            tasks,
            acks,
            errors,
        }
    }

    /// Stops the writers and waits for them.
    pub async fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Every acknowledged write.
    pub fn all_acks(&self) -> Vec<Ack> {
        self.acks.iter().flat_map(|a| a.lock().clone()).collect()
    }

    /// The longest gap between two acknowledged writes of one writer.
    pub fn longest_gap(&self) -> Duration {
        self.acks
            .iter()
            .map(|log| {
                let log = log.lock();
                log.windows(2)
                    .map(|w| w[1].2.duration_since(w[0].2))
                    .max()
                    .unwrap_or_default()
            })
            .max()
            .unwrap_or_default()
    }
}

/// Asserts every acknowledged write is readable through `conn`.
pub async fn assert_all_present(conn: &mut redis::aio::MultiplexedConnection, acks: &[Ack]) {
    for chunk in acks.chunks(500) {
        let keys: Vec<&String> = chunk.iter().map(|(k, _, _)| k).collect();
        let values: Vec<Option<u64>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(conn)
            .await
            .unwrap();
        for ((key, want, _), got) in chunk.iter().zip(values) {
            assert_eq!(got, Some(*want), "acknowledged write {key} was lost");
        }
    }
}
