//! `redoubt up`: a local deployment in one command. Starts each node as a child process of
//! this one (`redoubt node`), prints where to connect, and on Ctrl-C (or SIGTERM) stops every
//! child with SIGTERM, waits for it, and exits.

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
    /// Number of data nodes to start.
    #[arg(long, default_value_t = 2)]
    pub nodes: u16,
    /// Port of the first node; the others take the following ports.
    #[arg(long, default_value_t = 7001)]
    pub base_port: u16,
}

/// How long a child may take to print its listening address.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a child may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the deployment until Ctrl-C.
pub fn run(args: UpArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let exe = std::env::current_exe().context("locating the redoubt binary")?;
        let mut children = Vec::new();
        let started = start_nodes(&exe, &args, &mut children).await;
        if let Err(err) = started {
            stop_all(&mut children).await;
            return Err(err);
        }
        println!("redoubt is up: {} node(s). Connect with:", children.len());
        for (port, _) in &children {
            println!("  redis-cli -p {port}");
        }
        println!("Press Ctrl-C to stop.");
        crate::cli::shutdown_signal().await;
        println!("stopping");
        stop_all(&mut children).await;
        Ok(())
    })
}

async fn start_nodes(
    exe: &std::path::Path,
    args: &UpArgs,
    children: &mut Vec<(u16, Child)>,
) -> anyhow::Result<()> {
    for i in 0..args.nodes {
        let port = args.base_port.checked_add(i).context("port out of range")?;
        let mut child = Command::new(exe)
            .args(["node", "--port", &port.to_string()])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting a node")?;
        let stdout = child.stdout.take().context("node stdout")?;
        children.push((port, child));
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("listening on") {
                    return true;
                }
            }
            false
        })
        .await;
        if ready != Ok(true) {
            bail!("node on port {port} did not start (is the port free?)");
        }
        // Keep draining the child's stdout so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    }
    Ok(())
}

async fn stop_all(children: &mut [(u16, Child)]) {
    for (_, child) in children.iter() {
        if let Some(pid) = child.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }
    for (port, child) in children.iter_mut() {
        if tokio::time::timeout(STOP_TIMEOUT, child.wait())
            .await
            .is_err()
        {
            tracing::warn!(port, "node did not stop in time; killing it");
            let _ = child.kill().await;
        }
    }
}
