//! `redoubt ctl`: the admin client. It talks to a proxy's admin endpoint over HTTP.
//!
//! - `redoubt ctl topology` prints every group's epoch and members (role, health, offset, lag).
//! - `redoubt ctl failover GROUP` runs a planned switchover and prints the write pause.

use anyhow::{bail, Context};
use serde_json::Value;

/// Flags of `redoubt ctl`.
#[derive(Debug, clap::Args)]
pub struct CtlArgs {
    /// Admin address of a proxy (`admin` in its configuration).
    #[arg(long, default_value = "127.0.0.1:7100")]
    pub admin: String,
    #[command(subcommand)]
    action: CtlAction,
}

#[derive(Debug, clap::Subcommand)]
enum CtlAction {
    /// Print the topology as a table.
    Topology,
    /// Planned switchover of a group to its best standby.
    Failover {
        /// Group id.
        group: String,
    },
}

/// Runs the admin command.
pub fn run(args: CtlArgs) -> anyhow::Result<()> {
    let base = format!("http://{}", args.admin);
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    match args.action {
        CtlAction::Topology => {
            let body: Value = client
                .get(format!("{base}/topology"))
                .send()
                .with_context(|| {
                    format!("cannot reach the proxy admin endpoint at {}", args.admin)
                })?
                .json()?;
            print!("{}", topology_table(&body));
        }
        CtlAction::Failover { group } => {
            let response = client
                .post(format!("{base}/failover/{group}"))
                .send()
                .with_context(|| {
                    format!("cannot reach the proxy admin endpoint at {}", args.admin)
                })?;
            let ok = response.status().is_success();
            let body: Value = response.json()?;
            if !ok {
                bail!(
                    "failover of group {group} refused: {}",
                    body["error"].as_str().unwrap_or("unknown error")
                );
            }
            println!(
                "group {}: {} -> {} (epoch {}), writes paused {} ms",
                body["group"].as_str().unwrap_or(&group),
                body["from"].as_str().unwrap_or("?"),
                body["to"].as_str().unwrap_or("?"),
                body["epoch"],
                body["pause_ms"],
            );
        }
    }
    Ok(())
}

/// Renders `/topology` JSON as a text table.
pub fn topology_table(body: &Value) -> String {
    let mut out = format!(
        "{:<8} {:>5} {:<22} {:<8} {:<8} {:>12} {:>10}\n",
        "GROUP", "EPOCH", "MEMBER", "ROLE", "HEALTH", "OFFSET", "LAG"
    );
    for group in body["groups"].as_array().into_iter().flatten() {
        for member in group["members"].as_array().into_iter().flatten() {
            let text = |v: &Value| match v {
                Value::Null => "-".to_string(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!(
                "{:<8} {:>5} {:<22} {:<8} {:<8} {:>12} {:>10}\n",
                text(&group["id"]),
                text(&group["epoch"]),
                text(&member["address"]),
                text(&member["role"]),
                text(&member["health"]),
                text(&member["offset"]),
                text(&member["lag_bytes"]),
            ));
        }
    }
    out
}
