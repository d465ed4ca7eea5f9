//! Real network partitions (Linux network namespaces, see [`crate::netns`]): a primary and
//! one proxy are cut off together from the standby and the two other proxies. Needs root; it
//! fails, naming why, where namespaces cannot be made.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{test_dir, Server};
use crate::netns::Netns;
use crate::writers::{assert_all_present, Writers};

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

/// Group g0's epoch and primary as the proxy at `admin` routes it.
async fn route(admin: SocketAddr) -> Option<(u64, String)> {
    let topology = get(admin, "/topology").await?;
    let group = &topology["groups"][0];
    Some((
        group["epoch"].as_u64()?,
        group["primary"].as_str()?.to_string(),
    ))
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

/// Synchronous mode. Inside the namespace: the primary and proxy 3. Outside: the standby and
/// proxies 1 and 2. Writers run on every proxy; the cluster link is cut for a while:
/// - proxy 3, cut off from the quorum, refuses writes with `-TRYAGAIN` within its lease (plus
///   the one write the primary may hold until its standby ack times out);
/// - proxies 1 and 2 no longer reach the primary, agree it is down and promote the standby;
/// - healed, proxy 3 routes by the new topology and takes writes again, and the old primary
///   is made a standby;
/// - every acknowledged write, on either side, is there at the end.
#[tokio::test]
async fn a_primary_cut_off_with_one_proxy_is_replaced_by_the_majority_and_nothing_acknowledged_is_lost(
) {
    let _turn = crate::proxies::ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let netns = Netns::create();
    let (outside, inside, access) = (
        netns.outside.to_string(),
        netns.inside.to_string(),
        netns.access.to_string(),
    );
    let primary_port = free_port("127.0.0.1").to_string();
    let mut servers: Vec<Server> = Vec::new();
    servers.push(Server::spawn_redoubt_in(
        Some(&netns.name),
        &["node", "--bind", "0.0.0.0", "--port", &primary_port],
        None,
    ));
    let primary = format!("{inside}:{primary_port}");
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
    let listens: Vec<String> = vec![
        format!("{outside}:{}", free_port(&outside)),
        format!("{outside}:{}", free_port(&outside)),
        format!("0.0.0.0:{inside_listen}"),
    ];
    // Where the test reaches each proxy's clients: proxy 3 over the access link.
    let clients: Vec<String> = vec![
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
             sync-replicas = 1\n",
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

    wait_for("the proxies to settle", Duration::from_secs(10), || async {
        let mut all = true;
        for admin in &admins {
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
    let client = |i: usize| redis::Client::open(format!("redis://{}", clients[i])).unwrap();
    let mut writers = Vec::new();
    for i in 0..3 {
        writers.push(Writers::start(client(i), 2).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    netns.cut();
    let cut_at = Instant::now();
    // The minority proxy gives up writes.
    let mut minority = client(2).get_multiplexed_async_connection().await.unwrap();
    let refused = loop {
        if let Some(Err(err)) = set(&mut minority, "minority-probe").await {
            if err.code() == Some("TRYAGAIN") {
                break err;
            }
        }
        assert!(
            cut_at.elapsed() < Duration::from_secs(5),
            "the proxy cut off from the quorum kept taking writes"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let stopped_after = cut_at.elapsed();
    eprintln!("cut-off proxy refuses writes after {stopped_after:?}: {refused}");
    // Lease (400 ms) plus a write held by the primary until its standby ack times out (1 s);
    // the rest is room for a loaded machine.
    assert!(
        stopped_after < Duration::from_millis(2500),
        "{stopped_after:?}"
    );
    assert!(refused.to_string().contains("quorum"), "{refused}");

    // The majority replaces the primary it no longer reaches.
    let want = Some((1, standby_addr.clone()));
    let failed_over = wait_for(
        "the majority to fail over",
        Duration::from_secs(5),
        || async { route(admins[0]).await == want && route(admins[1]).await == want },
    )
    .await;
    eprintln!(
        "majority routes to the promoted standby {:?} after the cut",
        cut_at.elapsed()
    );
    let _ = failed_over;
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

    netns.heal();
    let healed_at = Instant::now();
    wait_for(
        "the healed proxy to route by the new topology",
        Duration::from_secs(8),
        || async { route(admins[2]).await == want },
    )
    .await;
    let taken = Instant::now();
    while !matches!(set(&mut minority, "after-heal").await, Some(Ok(()))) {
        assert!(
            taken.elapsed() < Duration::from_secs(5),
            "the healed proxy does not take writes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "healed proxy takes writes {:?} after the heal",
        healed_at.elapsed()
    );
    let old_primary = format!("{access}:{primary_port}");
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
    let mut conn = client(0).get_multiplexed_async_connection().await.unwrap();
    assert_all_present(&mut conn, &acks).await;
    drop(servers);
}
