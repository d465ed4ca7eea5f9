//! Command-line interface: `redoubt node | proxy | up | ctl`.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::signal::shutdown_signal;
use crate::up;

/// Redoubt: a Redis-compatible high-availability proxy and cluster.
#[derive(Debug, Parser)]
#[command(name = "redoubt", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    /// Run a Redis-compatible data node.
    Node(NodeArgs),
    /// Run the RESP proxy in front of groups of nodes.
    Proxy(ProxyArgs),
    /// Start a local deployment on 127.0.0.1 with embedded defaults; Ctrl-C stops it.
    Up(up::UpArgs),
    /// Administer a running deployment through a proxy's admin endpoint.
    Ctl(crate::ctl::CtlArgs),
}

/// Flags of `redoubt node`. Flags given override the configuration file.
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// Configuration file (TOML; keys are the CONFIG SET parameter names, plus port, bind,
    /// dir and replicaof).
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// TCP port to listen on (default 6379; 0: any free port, printed on start).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to bind (default 127.0.0.1).
    #[arg(long)]
    pub bind: Option<String>,
    /// Password clients must give with AUTH or HELLO.
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Start as a standby of this primary (`HOST:PORT`).
    #[arg(long, value_name = "HOST:PORT")]
    pub replicaof: Option<String>,
    /// Password to give the primary.
    #[arg(long)]
    pub masterauth: Option<String>,
    /// Synchronous mode: a write's reply waits until this many standbys acked it (default 0).
    #[arg(long)]
    pub min_replicas_to_ack: Option<u64>,
    /// How long a write waits for those acks before `NOREPLICAS`, in ms (default 1000).
    #[arg(long)]
    pub replica_ack_timeout: Option<u64>,
    /// Replication backlog size (bytes; suffixes kb, mb, gb; default 64mb).
    #[arg(long)]
    pub repl_backlog_size: Option<String>,
    /// Directory for the node's files (its epoch file and RDB snapshot; default the current
    /// directory).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
    /// Snapshot schedule, Redis's `save`: pairs of `seconds changes` ("" for none, the default).
    #[arg(long)]
    pub save: Option<String>,
    /// Serve Prometheus metrics at `http://BIND:PORT/metrics` (0: any free port; printed).
    #[arg(long)]
    pub metrics_port: Option<u16>,
    /// Address the metrics endpoint binds.
    #[arg(long, default_value = "127.0.0.1")]
    pub metrics_bind: String,
}

/// Flags of `redoubt proxy`.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    /// Cluster configuration file (TOML; see the README for its keys).
    #[arg(long)]
    pub config: std::path::PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl Cli {
    /// Runs the chosen subcommand to completion.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Node(args) => run_node(args),
            Command::Up(args) => up::run(args),
            Command::Proxy(args) => run_proxy(args),
            Command::Ctl(args) => crate::ctl::run(args),
        }
    }
}

/// Runs one node until SIGINT or SIGTERM.
pub fn run_node(args: NodeArgs) -> anyhow::Result<()> {
    let config = node_config(&args)?;
    let runtime = runtime(args.threads)?;
    runtime.block_on(async move {
        let addr: SocketAddr = format!("{}:{}", config.bind, config.port)
            .parse()
            .with_context(|| format!("invalid bind address {}:{}", config.bind, config.port))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr()?;
        let metrics = match args.metrics_port {
            None => None,
            Some(port) => {
                let addr = format!("{}:{port}", args.metrics_bind);
                let listener = tokio::net::TcpListener::bind(&addr)
                    .await
                    .with_context(|| format!("binding the metrics endpoint {addr}"))?;
                println!(
                    "redoubt node metrics on http://{}/metrics",
                    listener.local_addr()?
                );
                Some(listener)
            }
        };
        println!("redoubt node listening on {local}");
        tracing::info!(%local, "node ready");
        redoubt_node::run_with_metrics(listener, metrics, config, shutdown_signal()).await;
        Ok(())
    })
}

/// The node's configuration: the file's, then every flag given on top.
fn node_config(args: &NodeArgs) -> anyhow::Result<redoubt_node::Config> {
    let mut config = match &args.config {
        Some(path) => redoubt_node::Config::from_file(path).map_err(anyhow::Error::msg)?,
        None => redoubt_node::Config::default(),
    };
    let mut set = |name: &str, value: String| {
        config
            .set(name.as_bytes(), value.as_bytes())
            .map_err(|e| anyhow::anyhow!("--{name} {value}: {}", e.trim_start_matches("ERR ")))
    };
    if let Some(pw) = &args.requirepass {
        set("requirepass", pw.clone())?;
    }
    if let Some(pw) = &args.masterauth {
        set("masterauth", pw.clone())?;
    }
    if let Some(k) = args.min_replicas_to_ack {
        set("min-replicas-to-ack", k.to_string())?;
    }
    if let Some(ms) = args.replica_ack_timeout {
        set("replica-ack-timeout", ms.to_string())?;
    }
    if let Some(size) = &args.repl_backlog_size {
        set("repl-backlog-size", size.clone())?;
    }
    if let Some(save) = &args.save {
        set("save", save.clone())?;
    }
    if let Some(port) = args.port {
        config.port = port;
    }
    if let Some(bind) = &args.bind {
        config.bind = bind.clone();
    }
    if let Some(dir) = &args.dir {
        config.dir = dir.clone();
    }
    if let Some(text) = &args.replicaof {
        let target = text
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
            .with_context(|| format!("--replicaof {text}: expected HOST:PORT"))?;
        config.replicaof = Some(target);
    }
    Ok(config)
}

/// Runs the proxy until SIGINT or SIGTERM.
pub fn run_proxy(args: ProxyArgs) -> anyhow::Result<()> {
    let mut config = redoubt_proxy::ProxyConfig::load(&args.config)?;
    if args.threads.is_some() {
        config.workers = args.threads;
    }
    // Workers run their own event loops; this one only accepts the signal and runs probes.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let local = listener.local_addr()?;
        println!("redoubt proxy listening on {local}");
        tracing::info!(%local, "proxy listening");
        redoubt_proxy::run(listener, config, shutdown_signal()).await;
        Ok(())
    })
}

fn runtime(threads: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        runtime.worker_threads(threads.max(1));
    }
    runtime.enable_all().build().context("starting the runtime")
}
