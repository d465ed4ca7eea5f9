//! A test deployment: one group (a primary and a standby, synchronous) behind three proxies
//! that share a Raft control plane, each with fixed ports and its own directory so it can be
//! killed and restarted.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{test_dir, Server};

/// One deployment at a time: the timings these tests measure (elections, failover) mean
/// little when a dozen processes share two cores.
pub static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Three proxies in front of one group.
pub struct Proxies {
    /// Held while the deployment runs (dropped last).
    _turn: std::sync::MutexGuard<'static, ()>,
    /// The group's nodes: the primary first.
    pub nodes: Vec<Server>,
    /// The proxies; `None` while one is down.
    pub proxies: Vec<Option<Server>>,
    /// Each proxy's configuration file.
    configs: Vec<PathBuf>,
    /// Each proxy's extra arguments (`--join`).
    flags: Vec<Vec<String>>,
    /// Where the proxies' files go.
    base: PathBuf,
    /// Each proxy's admin address.
    pub admins: Vec<SocketAddr>,
    /// Each proxy's client address.
    pub listens: Vec<SocketAddr>,
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

impl Proxies {
    /// Starts the nodes and three proxies (ids 1, 2, 3).
    pub fn start() -> Proxies {
        Proxies::start_with("")
    }

    /// Like [`Proxies::start`], with `extra` top-level settings in every proxy's file.
    pub fn start_with(extra: &str) -> Proxies {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let primary = Server::start(&[]);
        let target = primary.addr().to_string();
        let standby = Server::spawn_redoubt(&["node", "--port", "0", "--replicaof", &target], None);
        let nodes = vec![primary, standby];
        let admins: Vec<SocketAddr> = (0..3).map(|_| free_addr()).collect();
        let listens: Vec<SocketAddr> = (0..3).map(|_| free_addr()).collect();
        let peers: Vec<String> = admins
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{{ id = {}, admin = \"{a}\" }}", i + 1))
            .collect();
        let base = test_dir().join(format!("control-{}", admins[0].port()));
        let mut configs = Vec::new();
        for i in 0..3 {
            let dir = base.join(format!("proxy{}", i + 1));
            std::fs::create_dir_all(&dir).unwrap();
            let config = format!(
                "{extra}\nlisten = \"{}\"\nadmin = \"{}\"\nid = {}\ndir = \"{}\"\nproxies = [{}]\n\
                 [[groups]]\nid = \"g0\"\nprimary = \"{}\"\nstandbys = [\"{}\"]\nsync-replicas = 1\n",
                listens[i],
                admins[i],
                i + 1,
                dir.display(),
                peers.join(", "),
                nodes[0].addr(),
                nodes[1].addr(),
            );
            let path = base.join(format!("proxy{}.toml", i + 1));
            std::fs::write(&path, config).unwrap();
            configs.push(path);
        }
        let mut deployment = Proxies {
            _turn: turn,
            nodes,
            proxies: vec![None, None, None],
            configs,
            flags: vec![Vec::new(); 3],
            base,
            admins,
            listens,
        };
        for i in 0..3 {
            deployment.restart(i);
        }
        deployment
    }

    /// Starts proxy `i` (again) with its configuration and files.
    pub fn restart(&mut self, i: usize) {
        let config = self.configs[i].to_str().unwrap().to_string();
        let mut args = vec!["proxy", "--config", &config];
        args.extend(self.flags[i].iter().map(String::as_str));
        self.proxies[i] = Some(Server::spawn_redoubt(&args, None));
    }

    /// Starts one more proxy (the next id) with `redoubt proxy --join`, its file listing only
    /// itself; returns its index. It serves no client until added (`ctl add-proxy`).
    pub fn start_joiner(&mut self) -> usize {
        let i = self.proxies.len();
        let (admin, listen) = (free_addr(), free_addr());
        let dir = self.base.join(format!("proxy{}", i + 1));
        std::fs::create_dir_all(&dir).unwrap();
        let config = format!(
            "listen = \"{listen}\"\nadmin = \"{admin}\"\nid = {}\ndir = \"{}\"\n\
             proxies = [{{ id = {}, admin = \"{admin}\" }}]\n\
             [[groups]]\nid = \"g0\"\nprimary = \"{}\"\nstandbys = [\"{}\"]\nsync-replicas = 1\n",
            i + 1,
            dir.display(),
            i + 1,
            self.nodes[0].addr(),
            self.nodes[1].addr(),
        );
        let path = self.base.join(format!("proxy{}.toml", i + 1));
        std::fs::write(&path, config).unwrap();
        self.configs.push(path);
        self.flags.push(vec!["--join".to_string()]);
        self.admins.push(admin);
        self.listens.push(listen);
        self.proxies.push(None);
        self.restart(i);
        i
    }

    /// Kills proxy `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut proxy) = self.proxies[i].take() {
            proxy.kill();
        }
    }

    /// A `redis` client of proxy `i`.
    pub fn client(&self, i: usize) -> redis::Client {
        self.proxies[i].as_ref().expect("proxy is running").client()
    }

    async fn get(&self, i: usize, path: &str) -> Option<Value> {
        let url = format!("http://{}{path}", self.admins[i]);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        client.get(&url).send().await.ok()?.json().await.ok()
    }

    /// Proxy `i`'s `/raft`, if it answers.
    pub async fn raft(&self, i: usize) -> Option<Value> {
        self.get(i, "/raft").await
    }

    /// Proxy `i`'s `/topology` (group g0: epoch and primary), if it answers.
    pub async fn group(&self, i: usize) -> Option<(u64, String)> {
        let topology = self.get(i, "/topology").await?;
        let group = &topology["groups"][0];
        Some((
            group["epoch"].as_u64()?,
            group["primary"].as_str()?.to_string(),
        ))
    }

    /// Waits until every running proxy names the same leader (one of the running ones) in the
    /// same term; returns the leader's index.
    pub async fn agreed_leader(&self, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            let mut views = Vec::new();
            for i in 0..self.proxies.len() {
                if self.proxies[i].is_some() {
                    views.push(self.raft(i).await);
                }
            }
            let leaders: Vec<Option<(u64, u64)>> = views
                .iter()
                .map(|v| {
                    let v = v.as_ref()?;
                    Some((v["leader"].as_u64()?, v["term"].as_u64()?))
                })
                .collect();
            if let Some(Some((leader, _))) = leaders.first() {
                let index = *leader as usize - 1;
                if leaders.iter().all(|l| *l == leaders[0]) && self.proxies[index].is_some() {
                    return index;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the proxies never agreed on a leader: {views:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every running proxy routes group g0 to `primary` with `epoch`.
    pub async fn all_route(&self, epoch: u64, primary: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let mut views = Vec::new();
            for i in 0..self.proxies.len() {
                if self.proxies[i].is_some() {
                    views.push(self.group(i).await);
                }
            }
            let want = Some((epoch, primary.to_string()));
            if views.iter().all(|v| *v == want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the proxies do not all route to {primary} at epoch {epoch}: {views:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until proxy `i` sees both nodes up in the roles the topology gives them.
    pub async fn settled(&self, i: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(topology) = self.get(i, "/topology").await {
                let members = topology["groups"][0]["members"].as_array().cloned();
                let ready = members.is_some_and(|m| {
                    !m.is_empty()
                        && m.iter()
                            .all(|m| m["health"] == "up" && m["reported_role"] == m["role"])
                });
                if ready {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "proxy {i} never saw the group settle"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The value of the unlabelled metric `name` in proxy `i`'s `/metrics`.
    pub async fn metric(&self, i: usize, name: &str) -> Option<f64> {
        let url = format!("http://{}/metrics", self.admins[i]);
        let text = reqwest::get(&url).await.ok()?.text().await.ok()?;
        text.lines()
            .find(|l| l.split(' ').next() == Some(name))?
            .rsplit(' ')
            .next()?
            .parse()
            .ok()
    }

    /// `redoubt_proxy_failovers_total` summed over proxy `i`'s series with `reason`.
    pub async fn failovers(&self, i: usize, reason: &str) -> u64 {
        let url = format!("http://{}/metrics", self.admins[i]);
        let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
        text.lines()
            .filter(|l| {
                l.starts_with("redoubt_proxy_failovers_total")
                    && l.contains(&format!("reason=\"{reason}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }
}
