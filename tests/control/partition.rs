//! Real network partitions (Linux network namespaces, see [`crate::netns`]): one proxy, alone
//! or with the primary, is cut off from the other two proxies (and the nodes outside). Needs
//! root; each test fails, naming why, where namespaces cannot be made.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{test_dir, Server};
use crate::netns::Netns;
use crate::writers::{assert_all_present, Ack, Writers};

/// A free port on `ip` (this namespace); inside a fresh namespace every port is free.
fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind(format!("{ip}:0"))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn get(admin: SocketAddr, path: &str) -> Option<Value> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let url = format!("http://{admin}{path}");
    client.get(&url).send().await.ok()?.json().await.ok()
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// Sets `key` through `conn` within 3 s: the reply, or `None` when none came in time.
async fn set(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
) -> Option<redis::RedisResult<()>> {
    let mut command = redis::cmd("SET");
    command.arg(key).arg("1");
    let sent = command.query_async(conn);
    tokio::time::timeout(Duration::from_secs(3), sent)
        .await
        .ok()
}

/// The acknowledged writes that `conn` does not find.
async fn missing(conn: &mut redis::aio::MultiplexedConnection, acks: &[Ack]) -> Vec<Ack> {
    let mut lost = Vec::new();
    for chunk in acks.chunks(500) {
        let keys: Vec<&String> = chunk.iter().map(|(k, _, _)| k).collect();
        let values: Vec<Option<u64>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(conn)
            .await
            .unwrap();
        for (ack, got) in chunk.iter().zip(values) {
            if got != Some(ack.1) {
                lost.push(ack.clone());
            }
        }
    }
    lost
}

/// One group (a primary and a standby) behind three proxies; proxy 3 (index 2) runs inside
/// the namespace, and so does the primary when asked. Outside processes bind the outside end
/// of the cluster link; the test reaches proxy 3 and an inside primary over the access link.
struct Partitioned {
    /// The nodes (primary first), then the proxies; dropped before the namespace.
    _servers: Vec<Server>,
    /// The primary's address in the proxies' files.
    primary: String,
    /// The standby's address.
    standby: String,
    /// Where the test reaches the primary.
    primary_access: String,
    /// Each proxy's admin address.
    admins: Vec<SocketAddr>,
    /// Where the test reaches each proxy's clients.
    clients: Vec<String>,
    netns: Netns,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Partitioned {
    fn start(primary_inside: bool, sync_replicas: usize) -> Partitioned {
        let turn = crate::proxies::ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let netns = Netns::create();
        let (outside, inside, access) = (
            netns.outside.to_string(),
            netns.inside.to_string(),
            netns.access.to_string(),
        );
        let mut servers = Vec::new();
        let (primary, primary_access) = if primary_inside {
            let port = free_port("127.0.0.1").to_string();
            servers.push(Server::spawn_redoubt_in(
                Some(&netns.name),
                &["node", "--bind", "0.0.0.0", "--port", &port],
                None,
            ));
            (format!("{inside}:{port}"), format!("{access}:{port}"))
        } else {
            let node = Server::spawn_redoubt(&["node", "--bind", &outside, "--port", "0"], None);
            let addr = node.addr().to_string();
            servers.push(node);
            (addr.clone(), addr)
        };
        let standby = Server::spawn_redoubt(
            &[
                "node",
                "--bind",
                &outside,
                "--port",
                "0",
                "--replicaof",
                &primary,
            ],
            None,
        );
        let standby_addr = standby.addr().to_string();
        servers.push(standby);

        let admins: Vec<SocketAddr> = vec![
            format!("{outside}:{}", free_port(&outside))
                .parse()
                .unwrap(),
            format!("{outside}:{}", free_port(&outside))
                .parse()
                .unwrap(),
            format!("{inside}:{}", free_port("127.0.0.1"))
                .parse()
                .unwrap(),
        ];
        let inside_listen = free_port("127.0.0.1");
        let listens = [
            format!("{outside}:{}", free_port(&outside)),
            format!("{outside}:{}", free_port(&outside)),
            format!("0.0.0.0:{inside_listen}"),
        ];
        let clients = vec![
            listens[0].clone(),
            listens[1].clone(),
            format!("{access}:{inside_listen}"),
        ];
        let peers: Vec<String> = admins
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{{ id = {}, admin = \"{a}\" }}", i + 1))
            .collect();
        let base: PathBuf = test_dir().join(format!("partition-{}", admins[0].port()));
        for i in 0..3 {
            let dir = base.join(format!("proxy{}", i + 1));
            std::fs::create_dir_all(&dir).unwrap();
            let config = format!(
                "listen = \"{}\"\nadmin = \"{}\"\nid = {}\ndir = \"{}\"\nproxies = [{}]\n\
                 [[groups]]\nid = \"g0\"\nprimary = \"{primary}\"\nstandbys = [\"{standby_addr}\"]\n\
                 sync-replicas = {sync_replicas}\n",
                listens[i],
                admins[i],
                i + 1,
                dir.display(),
                peers.join(", "),
            );
            let path = base.join(format!("proxy{}.toml", i + 1));
            std::fs::write(&path, config).unwrap();
            let path = path.display().to_string();
            let netns_name = (i == 2).then_some(netns.name.as_str());
            servers.push(Server::spawn_redoubt_in(
                netns_name,
                &["proxy", "--config", &path],
                None,
            ));
        }
        Partitioned {
            _servers: servers,
            primary,
            standby: standby_addr,
            primary_access,
            admins,
            clients,
            netns,
            _turn: turn,
        }
    }

    /// Waits until every proxy knows a leader and sees both nodes up in their roles.
    async fn settled(&self) {
        wait_for("the proxies to settle", Duration::from_secs(10), || async {
            let mut all = true;
            for admin in &self.admins {
                let leader = get(*admin, "/raft")
                    .await
                    .and_then(|r| r["leader"].as_u64());
                let topology = get(*admin, "/topology").await;
                let settled = topology.is_some_and(|t| {
                    t["groups"][0]["members"].as_array().is_some_and(|m| {
                        m.iter()
                            .all(|m| m["health"] == "up" && m["reported_role"] == m["role"])
                    })
                });
                all &= leader.is_some() && settled;
            }
            all
        })
        .await;
    }

    fn client(&self, i: usize) -> redis::Client {
        redis::Client::open(format!("redis://{}", self.clients[i])).unwrap()
    }

    async fn conn(&self, i: usize) -> redis::aio::MultiplexedConnection {
        self.client(i)
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// Group g0's epoch and primary as proxy `i` routes it.
    async fn route(&self, i: usize) -> Option<(u64, String)> {
        let topology = get(self.admins[i], "/topology").await?;
        let group = &topology["groups"][0];
        Some((
            group["epoch"].as_u64()?,
            group["primary"].as_str()?.to_string(),
        ))
    }

    /// Writes through proxy 3 until it answers `-TRYAGAIN` for want of a quorum, each try on
    /// a new connection (so a write already waiting on an unreachable node delays no later
    /// one); how long after `cut_at` that was.
    async fn refused_after(&self, cut_at: Instant) -> Duration {
        let refused = loop {
            let attempt = async {
                let mut conn = self.conn(2).await;
                let mut command = redis::cmd("SET");
                command.arg("minority-probe").arg("1");
                command.query_async::<()>(&mut conn).await
            };
            let reply = tokio::time::timeout(Duration::from_millis(200), attempt).await;
            if let Ok(Err(err)) = reply {
                if err.code() == Some("TRYAGAIN") {
                    break err;
                }
            }
            assert!(
                cut_at.elapsed() < Duration::from_secs(6),
                "the proxy cut off from the quorum kept taking writes"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(refused.to_string().contains("quorum"), "{refused}");
        cut_at.elapsed()
    }

    /// Writes through `conn` until one is taken (within 5 s).
    async fn takes_writes(conn: &mut redis::aio::MultiplexedConnection) {
        let started = Instant::now();
        while !matches!(set(conn, "after-heal").await, Some(Ok(()))) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the healed proxy does not take writes"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `redoubt_proxy_failovers_total{reason="automatic"}` of proxy `i`, summed.
    async fn automatic_failovers(&self, i: usize) -> u64 {
        let url = format!("http://{}/metrics", self.admins[i]);
        let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
        text.lines()
            .filter(|l| {
                l.starts_with("redoubt_proxy_failovers_total") && l.contains("reason=\"automatic\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }
}

/// Runs the primary-with-one-proxy scenario (writers on every proxy, the cluster link cut
/// for a while) and returns every acknowledged write and when the link was cut:
/// - proxy 3, cut off from the quorum, refuses writes with `-TRYAGAIN` within its lease;
/// - proxies 1 and 2 no longer reach the primary, agree it is down and promote the standby;
/// - healed, proxy 3 routes by the new topology and takes writes again, and the old primary
///   is made a standby.
async fn primary_cut_off_with_one_proxy(
    cluster: &Partitioned,
) -> (Vec<Ack>, Instant, redis::aio::MultiplexedConnection) {
    cluster.settled().await;
    let mut writers = Vec::new();
    for i in 0..3 {
        let prefix = format!("p{}w", i + 1);
        writers.push(Writers::start_named(cluster.client(i), 2, &prefix).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    cluster.netns.cut();
    let cut_at = Instant::now();
    let stopped_after = cluster.refused_after(cut_at).await;
    eprintln!("cut-off proxy refuses writes after {stopped_after:?}");
    // The lease is 400 ms; the bound leaves room for a loaded machine.
    assert!(
        stopped_after < Duration::from_millis(1500),
        "{stopped_after:?}"
    );
    let want = Some((1, cluster.standby.clone()));
    wait_for(
        "the majority to fail over",
        Duration::from_secs(5),
        || async { cluster.route(0).await == want && cluster.route(1).await == want },
    )
    .await;
    eprintln!(
        "the majority routes to the promoted standby {:?} after the cut",
        cut_at.elapsed()
    );
    let promoted_at = Instant::now();
    wait_for(
        "the majority's writers to resume",
        Duration::from_secs(5),
        || async {
            writers[..2].iter().all(|w| {
                w.acks.iter().all(|log| {
                    log.lock()
                        .last()
                        .is_some_and(|(_, _, at)| *at > promoted_at)
                })
            })
        },
    )
    .await;

    cluster.netns.heal();
    let healed_at = Instant::now();
    eprintln!("healed {:?} after the cut", healed_at - cut_at);
    wait_for(
        "the healed proxy to route by the new topology",
        Duration::from_secs(8),
        || async { cluster.route(2).await == want },
    )
    .await;
    Partitioned::takes_writes(&mut cluster.conn(2).await).await;
    eprintln!(
        "the healed proxy takes writes {:?} after the heal",
        healed_at.elapsed()
    );
    let old_primary = cluster.primary_access.clone();
    wait_for(
        "the old primary to become a standby",
        Duration::from_secs(8),
        || {
            let old_primary = old_primary.clone();
            async move {
                let Ok(client) = redis::Client::open(format!("redis://{old_primary}")) else {
                    return false;
                };
                let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                    return false;
                };
                let role: redis::RedisResult<Vec<redis::Value>> =
                    redis::cmd("ROLE").query_async(&mut conn).await;
                matches!(role.as_deref(), Ok([redis::Value::BulkString(r), ..]) if r == b"slave")
            }
        },
    )
    .await;

    let mut acks = Vec::new();
    for (i, w) in writers.iter_mut().enumerate() {
        w.stop().await;
        let all = w.all_acks();
        let after_cut = all.iter().filter(|(_, _, at)| *at > cut_at).count();
        eprintln!(
            "proxy {}: {} acknowledged writes, {after_cut} after the cut",
            i + 1,
            all.len()
        );
        acks.extend(all);
    }
    (acks, cut_at, cluster.conn(0).await)
}

/// Synchronous mode: the primary and proxy 3 are cut off together; the majority replaces
/// the primary, the minority stops, both sides heal, and every acknowledged write, on
/// either side, is there at the end.
#[tokio::test]
async fn a_primary_cut_off_with_one_proxy_is_replaced_by_the_majority_and_nothing_acknowledged_is_lost(
) {
    let cluster = Partitioned::start(true, 1);
    let (acks, _, mut conn) = primary_cut_off_with_one_proxy(&cluster).await;
    assert_all_present(&mut conn, &acks).await;
    eprintln!(
        "synchronous mode: all {} acknowledged writes kept",
        acks.len()
    );
}

/// Asynchronous mode, the same partition: what the cut-off primary acknowledged through the
/// minority proxy before its lease ran out is lost when it rejoins as a standby; the test
/// reports how many, and checks that every lost write was acknowledged by the minority
/// proxy within its lease of the cut (the lease bounds the loss).
#[tokio::test]
async fn in_asynchronous_mode_a_cut_off_primary_loses_only_what_the_minority_took_within_its_lease()
{
    let cluster = Partitioned::start(true, 0);
    let (acks, cut_at, mut conn) = primary_cut_off_with_one_proxy(&cluster).await;
    let lost = missing(&mut conn, &acks).await;
    let window = lost
        .iter()
        .map(|(_, _, at)| at.saturating_duration_since(cut_at))
        .max()
        .unwrap_or_default();
    eprintln!(
        "asynchronous mode: {} of {} acknowledged writes lost, acknowledged up to {window:?} after the cut",
        lost.len(),
        acks.len()
    );
    let mut by_writer = std::collections::BTreeMap::new();
    for (key, _, at) in &lost {
        let (first, last) = by_writer
            .entry(key.split(':').next().unwrap_or("").to_string())
            .or_insert((Duration::MAX, Duration::ZERO));
        let offset = at.saturating_duration_since(cut_at);
        *first = (*first).min(offset);
        *last = (*last).max(offset);
    }
    eprintln!("lost, by writer (first, last after the cut): {by_writer:?}");
    for (key, _, at) in &lost {
        let after = at.saturating_duration_since(cut_at);
        // The majority's writes the old primary acknowledged as the link went down; the
        // minority's until its lease ran out (400 ms), with room for a loaded machine.
        let bound = if key.starts_with("p3w") { 1000 } else { 100 };
        assert!(
            after < Duration::from_millis(bound),
            "{key} was lost though acknowledged {after:?} after the cut"
        );
    }
}

/// Synchronous mode, proxy 3 alone is cut off (the nodes are outside with the majority): it
/// stops writes within its lease; its view alone causes no failover and the majority's
/// clients see no error; healed, it takes writes again.
#[tokio::test]
async fn a_proxy_cut_off_alone_stops_writes_and_causes_no_failover() {
    let cluster = Partitioned::start(false, 1);
    cluster.settled().await;
    let mut writers = Vec::new();
    for i in 0..2 {
        let prefix = format!("p{}w", i + 1);
        writers.push(Writers::start_named(cluster.client(i), 2, &prefix).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    cluster.netns.cut();
    let cut_at = Instant::now();
    let stopped_after = cluster.refused_after(cut_at).await;
    eprintln!("cut-off proxy refuses writes after {stopped_after:?}");
    // The lease is 400 ms; the bound leaves room for a loaded machine.
    assert!(
        stopped_after < Duration::from_millis(1500),
        "{stopped_after:?}"
    );
    // Well past down-after (500 ms) and the lease: nothing was replaced.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let want = Some((0, cluster.primary.clone()));
    assert_eq!(cluster.route(0).await, want);
    assert_eq!(cluster.route(1).await, want);

    cluster.netns.heal();
    Partitioned::takes_writes(&mut cluster.conn(2).await).await;
    assert_eq!(cluster.route(2).await, want);
    let mut acks = Vec::new();
    for (i, w) in writers.iter_mut().enumerate() {
        w.stop().await;
        assert_eq!(
            w.errors.load(Ordering::Relaxed),
            0,
            "a client of proxy {} saw an error",
            i + 1
        );
        acks.extend(w.all_acks());
    }
    for i in 0..3 {
        assert_eq!(cluster.automatic_failovers(i).await, 0, "proxy {}", i + 1);
    }
    assert_all_present(&mut cluster.conn(0).await, &acks).await;
}
