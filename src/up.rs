//! `redoubt up`: a whole local deployment in one command, on 127.0.0.1 with embedded defaults:
//! `--proxies` proxies (default 3, agreeing on the topology through Raft; any of them serves
//! clients) and `--groups` groups of one primary plus `--replicas` standbys, replicating
//! synchronously unless `--async`, with automatic failover decided by a quorum of proxies. Every piece is a child process of
//! this one (`redoubt node`, `redoubt proxy`); Ctrl-C (or SIGTERM) stops them all with SIGTERM,
//! waits for them, and exits.
//!
//! Ports: the first proxy on `--port` (default 7000), the nodes on the ports after it, the
//! first proxy's admin endpoint (with `/metrics`) on the port after the last node, the nodes'
//! metrics endpoints on the ports after that, in node order, then each further proxy's client
//! and admin ports, in pairs. Each proxy keeps its Raft files under `DIR/proxyN/`. `--prometheus-config PATH` writes a
//! Prometheus scrape configuration for all of them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Flags of `redoubt up`; every one has an embedded default.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Number of groups.
    #[arg(long, default_value_t = 2)]
    pub groups: u16,
    /// Standbys per group.
    #[arg(long, default_value_t = 1)]
    pub replicas: u16,
    /// Port of the first proxy; the nodes, the admin endpoints and the other proxies take the
    /// ports after it.
    #[arg(long, default_value_t = 7000)]
    pub port: u16,
    /// Number of proxies (1: a single proxy deciding alone, no Raft).
    #[arg(long, default_value_t = 3)]
    pub proxies: u16,
    /// Replicate asynchronously (default: a write is acknowledged once a standby has it).
    #[arg(long = "async")]
    pub asynchronous: bool,
    /// Directory for the deployment's files (proxy configuration, node epochs); default: a
    /// fresh directory under the system's temporary directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Write a Prometheus configuration scraping the proxy and every node to this file.
    #[arg(long, value_name = "PATH")]
    pub prometheus_config: Option<PathBuf>,
}

/// The metrics port of the node on `node_port`: as many ports after the admin port as the node
/// is after the proxy.
fn metrics_port(args: &UpArgs, node_port: u16) -> u16 {
    args.port + args.groups * (args.replicas + 1) + 1 + (node_port - args.port)
}

/// Client and admin ports of proxy `index` (0-based).
fn proxy_ports(args: &UpArgs, index: u16) -> (u16, u16) {
    let nodes = args.groups * (args.replicas + 1);
    if index == 0 {
        return (args.port, args.port + nodes + 1);
    }
    let after = args.port + 2 * nodes + 2;
    (after + 2 * (index - 1), after + 2 * (index - 1) + 1)
}

/// How long a child may take to print its listening address.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a child may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

struct Process {
    name: String,
    addr: String,
    child: Child,
}

/// Runs the deployment until Ctrl-C.
pub fn run(args: UpArgs) -> anyhow::Result<()> {
    if args.groups == 0 {
        bail!("--groups must be at least 1");
    }
    if args.proxies == 0 {
        bail!("--proxies must be at least 1");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let exe = std::env::current_exe().context("locating the redoubt binary")?;
        let dir = match &args.dir {
            Some(dir) => dir.clone(),
            None => std::env::temp_dir().join(format!("redoubt-up-{}", std::process::id())),
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut processes = Vec::new();
        let started = start_all(&exe, &args, &dir, &mut processes).await;
        if let Err(err) = started {
            stop_all(&mut processes).await;
            return Err(err);
        }
        let (_, admin_port) = proxy_ports(&args, 0);
        let nodes = processes.len() - usize::from(args.proxies);
        println!("redoubt is up ({} mode):", if args.asynchronous { "asynchronous" } else { "synchronous" });
        for index in 0..args.proxies {
            let (port, admin) = proxy_ports(&args, index);
            println!("  proxy{}   redis-cli -p {port}   admin http://127.0.0.1:{admin}/topology", index + 1);
        }
        println!("  admin    http://127.0.0.1:{admin_port}/topology   (redoubt ctl --admin 127.0.0.1:{admin_port} topology)");
        if args.proxies > 1 {
            println!("  raft     redoubt ctl --admin 127.0.0.1:{admin_port} raft");
        }
        for process in &processes[..nodes] {
            println!("  {:<8} {}", process.name, process.addr);
        }
        println!("  metrics  http://127.0.0.1:{admin_port}/metrics   (proxy)");
        let mut targets = Vec::new();
        for process in &processes[..nodes] {
            let port = process.addr.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let metrics = format!("127.0.0.1:{}", metrics_port(&args, port));
            println!("  metrics  http://{metrics}/metrics   ({})", process.name);
            targets.push((process.name.clone(), metrics));
        }
        if let Some(path) = &args.prometheus_config {
            std::fs::write(path, prometheus_config(&format!("127.0.0.1:{admin_port}"), &targets))
                .with_context(|| format!("writing {}", path.display()))?;
            println!("  prometheus configuration written to {}", path.display());
        }
        println!("  files    {}", dir.display());
        println!("Press Ctrl-C to stop.");
        crate::signal::shutdown_signal().await;
        println!("stopping");
        stop_all(&mut processes).await;
        Ok(())
    })
}

async fn start_all(
    exe: &Path,
    args: &UpArgs,
    dir: &Path,
    processes: &mut Vec<Process>,
) -> anyhow::Result<()> {
    let sync = if args.asynchronous {
        0
    } else {
        u16::from(args.replicas > 0)
    };
    let mut config = String::new();
    let mut next_port = args.port;
    for group in 0..args.groups {
        next_port += 1;
        let primary = next_port;
        let mut node_args = vec![
            "node".to_string(),
            "--port".into(),
            primary.to_string(),
            "--dir".into(),
            node_dir(dir, primary)?,
            "--save".into(),
            REDIS_SAVE_POINTS.into(),
            "--metrics-port".into(),
            metrics_port(args, primary).to_string(),
        ];
        if sync > 0 {
            node_args.extend(["--min-replicas-to-ack".into(), sync.to_string()]);
        }
        processes.push(spawn(exe, format!("g{group}-primary"), &node_args).await?);
        let mut standbys = Vec::new();
        for replica in 0..args.replicas {
            next_port += 1;
            let args = vec![
                "node".to_string(),
                "--port".into(),
                next_port.to_string(),
                "--dir".into(),
                node_dir(dir, next_port)?,
                "--save".into(),
                REDIS_SAVE_POINTS.into(),
                "--replicaof".into(),
                format!("127.0.0.1:{primary}"),
                "--metrics-port".into(),
                metrics_port(args, next_port).to_string(),
            ];
            processes.push(spawn(exe, format!("g{group}-standby{replica}"), &args).await?);
            standbys.push(format!("\"127.0.0.1:{next_port}\""));
        }
        config.push_str(&format!(
            "\n[[groups]]\nid = \"g{group}\"\nprimary = \"127.0.0.1:{primary}\"\nstandbys = [{}]\nsync-replicas = {sync}\n",
            standbys.join(", ")
        ));
    }
    let peers: Vec<String> = (0..args.proxies)
        .map(|index| {
            let (_, admin) = proxy_ports(args, index);
            format!("{{ id = {}, admin = \"127.0.0.1:{admin}\" }}", index + 1)
        })
        .collect();
    for index in 0..args.proxies {
        let (port, admin) = proxy_ports(args, index);
        let mut head = format!("listen = \"127.0.0.1:{port}\"\nadmin = \"127.0.0.1:{admin}\"\n");
        if args.proxies > 1 {
            let own = dir.join(format!("proxy{}", index + 1));
            std::fs::create_dir_all(&own).with_context(|| format!("creating {}", own.display()))?;
            head.push_str(&format!(
                "id = {}\ndir = \"{}\"\nproxies = [{}]\n",
                index + 1,
                own.display(),
                peers.join(", ")
            ));
        }
        let name = if index == 0 {
            "proxy.toml".to_string()
        } else {
            format!("proxy{}.toml", index + 1)
        };
        let path = dir.join(name);
        std::fs::write(&path, format!("{head}{config}"))
            .with_context(|| format!("writing {}", path.display()))?;
        let proxy_args = vec![
            "proxy".to_string(),
            "--config".into(),
            path.display().to_string(),
        ];
        processes.push(spawn(exe, format!("proxy{}", index + 1), &proxy_args).await?);
    }
    Ok(())
}

/// A Prometheus configuration scraping the proxy's admin endpoint (job `redoubt-proxy`) and
/// every node (job `redoubt-node`, labelled with its group and its name in `up`).
fn prometheus_config(admin: &str, nodes: &[(String, String)]) -> String {
    let mut text = format!(
        "# Written by `redoubt up`.\nglobal:\n  scrape_interval: 5s\n  evaluation_interval: 5s\n\n\
         scrape_configs:\n  - job_name: redoubt-proxy\n    static_configs:\n      - targets: [\"{admin}\"]\n\
         \n  - job_name: redoubt-node\n    static_configs:\n"
    );
    for (name, target) in nodes {
        let group = name.split('-').next().unwrap_or(name);
        text.push_str(&format!(
            "      - targets: [\"{target}\"]\n        labels: {{ group: \"{group}\", name: \"{name}\" }}\n"
        ));
    }
    text
}

/// Starts `redoubt <args>` and waits for its `listening on` line.
async fn spawn(exe: &Path, name: String, args: &[String]) -> anyhow::Result<Process> {
    let mut child = Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(START_TIMEOUT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("listening on ").nth(1) {
                return Some(rest.trim().to_string());
            }
        }
        None
    })
    .await;
    let Ok(Some(addr)) = addr else {
        bail!("{name} did not start (is its port free?)");
    };
    // Keep draining the child's stdout so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Process { name, addr, child })
}

async fn stop_all(processes: &mut [Process]) {
    // The proxies first, then the nodes.
    for process in processes.iter().rev() {
        if let Some(pid) = process.child.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }
    for process in processes.iter_mut().rev() {
        if tokio::time::timeout(STOP_TIMEOUT, process.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(name = %process.name, "did not stop in time; killing it");
            let _ = process.child.kill().await;
        }
    }
}

/// Redis's default `save` schedule, which every node of a deployment keeps.
const REDIS_SAVE_POINTS: &str = "3600 1 300 100 60 10000";

/// `<dir>/node-<port>`, created: each node's epoch file and snapshot, kept across restarts.
fn node_dir(dir: &Path, port: u16) -> anyhow::Result<String> {
    let path = dir.join(format!("node-{port}"));
    std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
    Ok(path.display().to_string())
}
