//! Command-line interface: `redoubt node | proxy | up | ctl`.

use clap::{Parser, Subcommand};

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
}

/// Flags of `redoubt node`.
#[derive(Debug, clap::Args)]
struct NodeArgs {
    /// TCP port to listen on (0: any free port, printed on start).
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
}

impl Cli {
    /// Runs the chosen subcommand to completion.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Node(args) => {
                let _ = args;
                Ok(())
            }
        }
    }
}
