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

/// Arguments of `redoubt node`, as redis-server takes them: an optional configuration file
/// (Redoubt's TOML or a `redis.conf`) first, then any parameter as `--name value...`
/// (`--maxmemory 1gb --appendonly yes`). Besides the parameters: `--config FILE` (the file,
/// anywhere), `--threads N`, `--metrics-port PORT` (0: any free port; printed),
/// `--metrics-bind ADDR` (default 127.0.0.1); `--replicaof HOST:PORT` is also accepted.
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// [CONFIG-FILE] [--name value ...]: a configuration file, then any Redis parameter.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

/// `redoubt node`'s arguments sorted out.
#[derive(Debug, Default)]
struct NodeOptions {
    file: Option<std::path::PathBuf>,
    threads: Option<usize>,
    metrics_port: Option<u16>,
    metrics_bind: Option<String>,
    /// Parameter arguments for the configuration loader.
    params: Vec<String>,
}

impl NodeArgs {
    fn options(&self) -> anyhow::Result<NodeOptions> {
        let mut options = NodeOptions::default();
        let mut args = self.args.iter().peekable();
        if let Some(first) = args.peek() {
            if !first.starts_with("--") {
                options.file = Some(first.into());
                args.next();
            }
        }
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .with_context(|| format!("{name} needs a value"))
            };
            match arg.as_str() {
                "--config" => options.file = Some(value(arg)?.into()),
                "--threads" => options.threads = Some(value(arg)?.parse().context("--threads")?),
                "--metrics-port" => {
                    options.metrics_port = Some(value(arg)?.parse().context("--metrics-port")?)
                }
                "--metrics-bind" => options.metrics_bind = Some(value(arg)?),
                "--replicaof" | "--slaveof" => {
                    options.params.push(arg.clone());
                    let target = value(arg)?;
                    match target.rsplit_once(':') {
                        Some((host, port)) => {
                            options.params.extend([host.to_string(), port.to_string()])
                        }
                        None => options.params.push(target),
                    }
                }
                _ => options.params.push(arg.clone()),
            }
        }
        Ok(options)
    }
}

/// Flags of `redoubt proxy`.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    /// Cluster configuration file (TOML; see the README for its keys).
    #[arg(long)]
    pub config: std::path::PathBuf,
    /// Worker threads (default: one per core from 4 cores, else one).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Join a running group of proxies (as `join = true`): serve clients only once added with
    /// `redoubt ctl add-proxy` and caught up.
    #[arg(long)]
    pub join: bool,
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
    let options = args.options()?;
    let config = redoubt_node::Config::load(options.file.as_deref(), &options.params)
        .map_err(anyhow::Error::msg)?;
    let runtime = runtime(options.threads)?;
    let metrics_bind = options
        .metrics_bind
        .unwrap_or_else(|| "127.0.0.1".to_string());
    runtime.block_on(async move {
        let addr: SocketAddr = format!("{}:{}", config.bind, config.port)
            .parse()
            .with_context(|| format!("invalid bind address {}:{}", config.bind, config.port))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr()?;
        let metrics = match options.metrics_port {
            None => None,
            Some(port) => {
                let addr = format!("{metrics_bind}:{port}");
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

/// Runs the proxy until SIGINT or SIGTERM.
pub fn run_proxy(args: ProxyArgs) -> anyhow::Result<()> {
    let mut config = redoubt_proxy::ProxyConfig::load(&args.config)?;
    config.workers = Some(
        args.threads
            .or(config.workers)
            .unwrap_or_else(default_threads),
    );
    if args.join {
        config.join = true;
        config.validate().map_err(anyhow::Error::msg)?;
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

/// The node's runtime: `threads` worker threads, by default [`default_threads`].
fn runtime(threads: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.unwrap_or_else(default_threads).max(1))
        .enable_all()
        .build()
        .context("starting the runtime")
}

/// Worker threads of a node or a proxy when neither `--threads` nor the configuration sets
/// them: one per core on a machine of 4 cores or more, else one. A node runs commands one at a
/// time under its store lock, so further threads only parallelise reading and writing sockets;
/// below 4 cores they mostly take turns on a core with the clients and hand work and the lock
/// between them (Redis gives the same advice for its `io-threads`: worth it from 4 cores). A
/// proxy shares those cores with its clients and nodes the same way. Measured on 2 cores beside
/// redis-benchmark: one node thread serves 1.2-1.4x the requests of two at pipeline 16 and the
/// same at pipeline 1; one proxy worker 1.1x at pipeline 1 and 0.9x at pipeline 16.
fn default_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores >= 4 {
        cores
    } else {
        1
    }
}
