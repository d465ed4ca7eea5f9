//! `redoubt`: the one binary. Subcommands run a data node, the proxy, a whole local deployment
//! (`up`), or the admin client (`ctl`).

mod cli;
mod ctl;
mod import;
mod signal;
mod up;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: redoubt_node::memory::Allocator = redoubt_node::memory::Allocator;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // openraft logs every vote and election at info.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn")),
        )
        .init();
    cli.run()
}
