//! End-to-end tests of `/metrics`: a primary and a standby (each with `--metrics-port 0`) behind
//! a proxy, driven through the proxy; the nodes' expositions must agree with their `INFO`, and
//! the proxy's with the traffic it carried and the replication state it probes.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{info_field, kv_list, Server};

/// Samples of an exposition: `name{labels}` exactly as encoded → value.
fn parse(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(url: &str) -> HashMap<String, f64> {
    let response = reqwest::get(url).await.expect("scrape");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    parse(&text)
}

/// The metrics URL a node printed on start (`--metrics-port 0` picks a free port).
fn metrics_url(node: &Server) -> String {
    let log = node.log_text();
    let start = log.find("metrics on http://").expect("metrics line") + "metrics on ".len();
    log[start..].split_whitespace().next().unwrap().to_string()
}

async fn info(node: &Server) -> String {
    let mut conn = node.conn().await;
    redis::cmd("INFO")
        .arg("all")
        .query_async(&mut conn)
        .await
        .unwrap()
}

fn int(info: &str, field: &str) -> f64 {
    info_field(info, field)
        .unwrap_or_else(|| panic!("{field} in INFO"))
        .parse()
        .unwrap()
}

fn cmdstat(info: &str, command: &str, field: &str) -> f64 {
    let line = info_field(info, &format!("cmdstat_{command}")).unwrap_or_default();
    kv_list(&line)
        .into_iter()
        .find(|(k, _)| k == field)
        .map_or(0.0, |(_, v)| v.parse().unwrap())
}

struct Deployment {
    primary: Server,
    standby: Server,
    proxy: Server,
    admin: std::net::SocketAddr,
    config: std::path::PathBuf,
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.config);
    }
}

fn start() -> Deployment {
    // A directory of this run's own, so no snapshot left in the temporary directory is loaded.
    let dir = std::env::temp_dir().join(format!("redoubt-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the nodes' directory");
    let dir = dir.display().to_string();
    let primary = Server::spawn_redoubt(
        &["node", "--port", "0", "--metrics-port", "0", "--dir", &dir],
        None,
    );
    let target = primary.addr().to_string();
    let standby = Server::spawn_redoubt(
        &[
            "node",
            "--port",
            "0",
            "--metrics-port",
            "0",
            "--dir",
            &dir,
            "--replicaof",
            &target,
        ],
        None,
    );
    static CONFIGS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = CONFIGS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let config = std::env::temp_dir().join(format!(
        "redoubt-metrics-test-{}-{n}.toml",
        std::process::id()
    ));
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nadmin = \"127.0.0.1:0\"\n[[groups]]\nid = \"g0\"\n\
             primary = \"{}\"\nstandbys = [\"{}\"]\n",
            primary.addr(),
            standby.addr()
        ),
    )
    .unwrap();
    let proxy = Server::spawn_redoubt(&["proxy", "--config", config.to_str().unwrap()], None);
    let admin = admin_addr(&proxy);
    Deployment {
        primary,
        standby,
        proxy,
        admin,
        config,
    }
}

/// The address of the proxy's admin endpoint (configured on port 0), from its log line
/// `admin endpoint listening addr=...`, which follows shortly after `listening on`.
fn admin_addr(proxy: &Server) -> std::net::SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = strip_ansi(&proxy.log_text());
        if let Some(rest) = log.split("admin endpoint listening").nth(1) {
            let addr = rest
                .split("addr=")
                .nth(1)
                .and_then(|a| a.split_whitespace().next());
            return addr.expect("addr field").parse().expect("an address");
        }
        assert!(
            Instant::now() < deadline,
            "no admin endpoint in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `text` without terminal colour sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Retries `check` (which returns a description of what disagrees) for up to 10 s.
async fn agree<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match check().await {
            Ok(()) => return,
            Err(why) if Instant::now() > deadline => panic!("{why}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn expect(samples: &HashMap<String, f64>, series: &str, want: f64) -> Result<(), String> {
    match samples.get(series) {
        Some(&got) if got == want => Ok(()),
        got => Err(format!("{series}: {got:?}, expected {want}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_and_proxy_metrics_agree_with_info_and_traffic() {
    let d = start();
    let mut conn = d.proxy.conn().await;
    const KEYS: usize = 50;
    for i in 0..KEYS {
        let _: () = redis::cmd("SET")
            .arg(format!("key:{i}"))
            .arg(i)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("v")
        .arg("EX")
        .arg(100)
        .query_async(&mut conn)
        .await
        .unwrap();
    for i in 0..KEYS {
        let _: Option<String> = redis::cmd("GET")
            .arg(format!("key:{i}"))
            .query_async(&mut conn)
            .await
            .unwrap();
        let _: Option<String> = redis::cmd("GET")
            .arg(format!("missing:{i}"))
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("word")
        .arg("abc")
        .query_async(&mut conn)
        .await
        .unwrap();
    let failed: redis::RedisResult<i64> =
        redis::cmd("INCR").arg("word").query_async(&mut conn).await;
    assert!(failed.is_err());

    let primary_url = metrics_url(&d.primary);
    let standby_url = metrics_url(&d.standby);
    // Node figures against the node's own INFO, read between two scrapes that both agree with it.
    let primary = &d.primary;
    agree(|| {
        let primary_url = primary_url.clone();
        async move {
            let before = scrape(&primary_url).await;
            let info = info(primary).await;
            let after = scrape(&primary_url).await;
            for m in [&before, &after] {
                for command in ["set", "get", "incr"] {
                    for (series, field) in [
                        ("redoubt_commands_total", "calls"),
                        ("redoubt_commands_failed_total", "failed_calls"),
                        ("redoubt_commands_rejected_total", "rejected_calls"),
                        ("redoubt_command_duration_seconds_count", "calls"),
                    ] {
                        let want = cmdstat(&info, command, field);
                        expect(m, &format!("{series}{{command=\"{command}\"}}"), want)?;
                    }
                }
                expect(
                    m,
                    "redoubt_keyspace_hits_total",
                    int(&info, "keyspace_hits"),
                )?;
                expect(
                    m,
                    "redoubt_keyspace_misses_total",
                    int(&info, "keyspace_misses"),
                )?;
                expect(m, "redoubt_expired_keys_total", int(&info, "expired_keys"))?;
                expect(m, "redoubt_evicted_keys_total", int(&info, "evicted_keys"))?;
                let db0 = kv_list(&info_field(&info, "db0").unwrap_or_default());
                let db0 = |k: &str| {
                    db0.iter()
                        .find(|(f, _)| f == k)
                        .map(|(_, v)| v.parse::<f64>().unwrap())
                };
                expect(m, "redoubt_db_keys{db=\"db0\"}", db0("keys").unwrap())?;
                expect(
                    m,
                    "redoubt_db_keys_expiring{db=\"db0\"}",
                    db0("expires").unwrap(),
                )?;
                expect(
                    m,
                    "redoubt_replication_offset_bytes",
                    int(&info, "master_repl_offset"),
                )?;
                expect(
                    m,
                    "redoubt_replication_connected_standbys",
                    int(&info, "connected_slaves"),
                )?;
                expect(
                    m,
                    "redoubt_replication_full_syncs_total",
                    int(&info, "sync_full"),
                )?;
                expect(
                    m,
                    "redoubt_replication_partial_syncs_total",
                    int(&info, "sync_partial_ok"),
                )?;
                expect(m, "redoubt_replication_role{role=\"primary\"}", 1.0)?;
                expect(m, "redoubt_epoch", int(&info, "redoubt_epoch"))?;
                let slave = kv_list(&info_field(&info, "slave0").unwrap_or_default());
                let field = |k: &str| {
                    slave
                        .iter()
                        .find(|(f, _)| f == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let standby = format!("{}:{}", field("ip"), field("port"));
                expect(
                    m,
                    &format!(
                        "redoubt_replication_standby_acked_offset_bytes{{standby=\"{standby}\"}}"
                    ),
                    field("offset").parse().unwrap_or(-1.0),
                )?;
            }
            Ok(())
        }
    })
    .await;
    let samples = scrape(&primary_url).await;
    assert_eq!(samples["redoubt_db_keys{db=\"db0\"}"], (KEYS + 2) as f64);
    assert_eq!(samples["redoubt_db_keys_expiring{db=\"db0\"}"], 1.0);
    assert_eq!(samples["redoubt_keyspace_misses_total"], KEYS as f64);
    assert!(samples["redoubt_memory_used_bytes"] > 0.0);

    let standby = &d.standby;
    agree(|| {
        let standby_url = standby_url.clone();
        async move {
            let m = scrape(&standby_url).await;
            let info = info(standby).await;
            expect(&m, "redoubt_replication_role{role=\"standby\"}", 1.0)?;
            expect(&m, "redoubt_replication_link_up", 1.0)?;
            expect(
                &m,
                "redoubt_replication_offset_bytes",
                int(&info, "master_repl_offset"),
            )?;
            expect(&m, "redoubt_db_keys{db=\"db0\"}", (KEYS + 2) as f64)
        }
    })
    .await;

    // The proxy: what it carried, and what its probes see.
    let proxy_url = format!("http://{}/metrics", d.admin);
    let (primary_addr, standby_addr) = (d.primary.addr(), d.standby.addr());
    agree(|| {
        let proxy_url = proxy_url.clone();
        async move {
            let m = scrape(&proxy_url).await;
            let req = |command: &str, outcome: &str| {
                format!("redoubt_proxy_requests_total{{command=\"{command}\",group=\"g0\",outcome=\"{outcome}\"}}")
            };
            expect(&m, &req("set", "ok"), (KEYS + 2) as f64)?;
            expect(&m, &req("get", "ok"), (2 * KEYS) as f64)?;
            expect(&m, &req("incr", "error"), 1.0)?;
            expect(&m, "redoubt_proxy_request_duration_seconds_count{command=\"get\"}", (2 * KEYS) as f64)?;
            let node = |addr| format!("group=\"g0\",node=\"{addr}\"");
            let p = node(primary_addr);
            let s = node(standby_addr);
            let backend = m
                .get(&format!("redoubt_proxy_backend_requests_total{{{p}}}"))
                .copied()
                .unwrap_or(0.0)
                + m.get(&format!("redoubt_proxy_backend_requests_total{{{s}}}")).copied().unwrap_or(0.0);
            if backend < (3 * KEYS) as f64 {
                return Err(format!("backend requests {backend}"));
            }
            expect(&m, &format!("redoubt_proxy_backend_timeouts_total{{{p}}}"), 0.0)?;
            expect(&m, &format!("redoubt_proxy_node_up{{{p}}}"), 1.0)?;
            expect(&m, &format!("redoubt_proxy_node_up{{{s}}}"), 1.0)?;
            expect(&m, &format!("redoubt_proxy_node_role{{{p},role=\"primary\"}}"), 1.0)?;
            expect(&m, &format!("redoubt_proxy_node_role{{{s},role=\"standby\"}}"), 1.0)?;
            expect(&m, &format!("redoubt_proxy_replication_lag_bytes{{{s}}}"), 0.0)?;
            expect(&m, &format!("redoubt_proxy_replication_lag_seconds{{{s}}}"), 0.0)?;
            expect(&m, "redoubt_proxy_group_epoch{group=\"g0\"}", 0.0)?;
            expect(&m, "redoubt_proxy_group_slots{group=\"g0\"}", 16384.0)?;
            expect(&m, "redoubt_proxy_failovers_total{group=\"g0\",reason=\"automatic\"}", 0.0)?;
            let info = info(primary).await;
            expect(
                &m,
                &format!("redoubt_proxy_node_replication_offset_bytes{{{p}}}"),
                int(&info, "master_repl_offset"),
            )?;
            let connections = m.get("redoubt_proxy_client_connections_total").copied().unwrap_or(0.0);
            if connections < 1.0 {
                return Err(format!("client connections {connections}"));
            }
            expect(&m, "redoubt_proxy_connected_clients", 1.0)
        }
    })
    .await;
    drop(conn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failovers_are_counted_by_reason_and_raise_the_epoch() {
    let mut d = start();
    let proxy_url = format!("http://{}/metrics", d.admin);
    let (first, second) = (d.primary.addr(), d.standby.addr());
    let node = |addr| format!("group=\"g0\",node=\"{addr}\"");
    agree(|| async {
        let m = scrape(&proxy_url).await;
        expect(
            &m,
            &format!(
                "redoubt_proxy_node_role{{{},role=\"standby\"}}",
                node(second)
            ),
            1.0,
        )
    })
    .await;

    // Planned: the standby takes over.
    let response = reqwest::Client::new()
        .post(format!("http://{}/failover/g0", d.admin))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    agree(|| async {
        let m = scrape(&proxy_url).await;
        expect(
            &m,
            "redoubt_proxy_failovers_total{group=\"g0\",reason=\"planned\"}",
            1.0,
        )?;
        expect(
            &m,
            "redoubt_proxy_failovers_total{group=\"g0\",reason=\"automatic\"}",
            0.0,
        )?;
        expect(&m, "redoubt_proxy_group_epoch{group=\"g0\"}", 1.0)?;
        expect(
            &m,
            &format!("redoubt_proxy_node_topology_primary{{{}}}", node(second)),
            1.0,
        )?;
        expect(
            &m,
            &format!(
                "redoubt_proxy_node_role{{{},role=\"primary\"}}",
                node(second)
            ),
            1.0,
        )?;
        expect(
            &m,
            &format!(
                "redoubt_proxy_node_role{{{},role=\"standby\"}}",
                node(first)
            ),
            1.0,
        )
    })
    .await;
    let m = scrape(&metrics_url(&d.standby)).await;
    assert_eq!(m["redoubt_epoch"], 1.0);
    assert_eq!(m["redoubt_replication_role{role=\"primary\"}"], 1.0);

    // Automatic: the new primary dies; the old one is promoted back.
    d.standby.kill();
    agree(|| async {
        let m = scrape(&proxy_url).await;
        expect(
            &m,
            "redoubt_proxy_failovers_total{group=\"g0\",reason=\"automatic\"}",
            1.0,
        )?;
        expect(&m, "redoubt_proxy_group_epoch{group=\"g0\"}", 2.0)?;
        expect(
            &m,
            &format!("redoubt_proxy_node_up{{{}}}", node(second)),
            0.0,
        )?;
        expect(
            &m,
            &format!("redoubt_proxy_node_topology_primary{{{}}}", node(first)),
            1.0,
        )
    })
    .await;
}
