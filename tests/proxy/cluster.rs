//! A test deployment: groups of `redoubt node`s behind one `redoubt proxy`.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use crate::common::Server;

/// One group's nodes as started: the primary first, then the standbys.
pub struct TestGroup {
    /// The group id in the proxy configuration.
    pub id: String,
    /// The nodes; index 0 is the primary.
    pub nodes: Vec<Server>,
}

/// Nodes and a proxy in front of them.
pub struct Cluster {
    /// The groups, in configuration order.
    pub groups: Vec<TestGroup>,
    /// The proxy.
    pub proxy: Server,
    /// The configuration file the proxy runs with.
    pub config_path: std::path::PathBuf,
    /// The proxy's admin endpoint.
    pub admin: std::net::SocketAddr,
}

static FILES: AtomicU32 = AtomicU32::new(0);

/// Writes `text` to a fresh file in the temp directory and returns its path.
pub fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let n = FILES.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("redoubt-test-{}-{n}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write temp file");
    path
}

impl Cluster {
    /// Starts `groups.len()` groups with `groups[i]` standbys each (replicating from their
    /// primary), and a proxy whose
    /// `[[groups]]` entries get `group_extra` appended (e.g. a read policy).
    pub fn start(groups: &[usize], group_extra: &str, proxy_extra: &str) -> Cluster {
        let groups: Vec<TestGroup> = groups
            .iter()
            .enumerate()
            .map(|(i, &standbys)| {
                let primary = Server::start(&[]);
                let target = primary.addr().to_string();
                let mut nodes = vec![primary];
                for _ in 0..standbys {
                    nodes.push(Server::spawn_redoubt(
                        &["node", "--port", "0", "--replicaof", &target],
                        None,
                    ));
                }
                TestGroup {
                    id: format!("g{i}"),
                    nodes,
                }
            })
            .collect();
        let admin = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut config = format!("listen = \"127.0.0.1:0\"\nadmin = \"{admin}\"\n{proxy_extra}\n");
        for group in &groups {
            let standbys: Vec<String> = group.nodes[1..]
                .iter()
                .map(|n| format!("\"{}\"", n.addr()))
                .collect();
            config.push_str(&format!(
                "[[groups]]\nid = \"{}\"\nprimary = \"{}\"\nstandbys = [{}]\n{group_extra}\n",
                group.id,
                group.nodes[0].addr(),
                standbys.join(", ")
            ));
        }
        let config_path = temp_file("proxy.toml", &config);
        let proxy =
            Server::spawn_redoubt(&["proxy", "--config", config_path.to_str().unwrap()], None);
        Cluster {
            groups,
            proxy,
            config_path,
            admin,
        }
    }

    /// The proxy's `/topology` document (retried for up to 15 s, as a loaded machine may
    /// need; panics if the admin endpoint never answers).
    pub async fn topology(&self) -> serde_json::Value {
        let url = format!("http://{}/topology", self.admin);
        let mut last_error = String::new();
        for _ in 0..150 {
            match reqwest::get(&url).await {
                Ok(response) => match response.json().await {
                    Ok(value) => return value,
                    Err(err) => last_error = err.to_string(),
                },
                Err(err) => last_error = err.to_string(),
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the admin endpoint at {url} does not answer: {last_error}");
    }

    /// Waits until the proxy's probes see every member up and reporting the role the
    /// topology gives it.
    pub async fn settled(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let topology = self.topology().await;
            let members: Vec<&serde_json::Value> = topology["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|g| g["members"].as_array().into_iter().flatten())
                .collect();
            let ready = !members.is_empty()
                && members
                    .iter()
                    .all(|m| m["health"] == "up" && m["reported_role"] == m["role"]);
            if ready {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the proxy never saw the cluster settle: {topology}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// A multiplexed `redis` crate connection to the proxy.
    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        self.proxy.conn().await
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.config_path);
    }
}

/// Calls of `command` a node has run, from its `INFO commandstats`.
pub async fn calls(node: &Server, command: &str) -> u64 {
    let mut conn = node.conn().await;
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// Number of keys a node holds.
pub async fn dbsize(node: &Server) -> i64 {
    let mut conn = node.conn().await;
    redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap()
}

/// `per_group` fresh keys named `{prefix}:N` for each group, in group order: found by setting
/// candidates through the proxy and asking each primary which one holds them (then deleted).
pub async fn keys_by_group(cluster: &Cluster, prefix: &str, per_group: usize) -> Vec<Vec<String>> {
    let mut conn = cluster.conn().await;
    let mut nodes = Vec::new();
    for group in &cluster.groups {
        nodes.push(group.nodes[0].conn().await);
    }
    let mut found = vec![Vec::new(); cluster.groups.len()];
    let mut i = 0;
    while found.iter().any(|keys| keys.len() < per_group) {
        let key = format!("{prefix}:{i}");
        i += 1;
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .query_async(&mut conn)
            .await
            .unwrap();
        for (g, node) in nodes.iter_mut().enumerate() {
            let exists: i64 = redis::cmd("EXISTS")
                .arg(&key)
                .query_async(node)
                .await
                .unwrap();
            if exists == 1 && found[g].len() < per_group {
                found[g].push(key.clone());
            }
        }
        let _: () = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    found
}

/// The value of the proxy's metric line that starts with `series` (`name{labels}`), if any.
pub async fn proxy_metric(cluster: &Cluster, series: &str) -> Option<f64> {
    let url = format!("http://{}/metrics", cluster.admin);
    // The admin endpoint may still be starting, or slow under load: asked again for a while.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let text = loop {
        match reqwest::get(&url).await {
            Ok(response) => match response.text().await {
                Ok(text) => break text,
                Err(_) if std::time::Instant::now() < deadline => {}
                Err(_) => return None,
            },
            Err(_) if std::time::Instant::now() < deadline => {}
            Err(_) => return None,
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    text.lines()
        .find_map(|line| line.strip_prefix(series))
        .and_then(|rest| rest.trim().parse().ok())
}
