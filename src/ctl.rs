//! `redoubt ctl`: the admin client. It talks to a proxy's admin endpoint over HTTP.
//!
//! - `redoubt ctl topology` prints every group's epoch and members (role, health, offset, lag).
//! - `redoubt ctl failover GROUP` runs a planned switchover and prints the write pause (any
//!   proxy: a follower forwards it to the Raft leader).
//! - `redoubt ctl raft` prints the proxies' Raft group as this proxy sees it: leader, term,
//!   commit (applied) index, and each member's match index and role.
//! - `redoubt ctl add-proxy ID ADMIN` adds a proxy online (started with `--join`): it catches
//!   up from a snapshot as a learner, then votes. `redoubt ctl remove-proxy ID` takes one out.
//!   Any proxy takes either and forwards it to the Raft leader; both print the new group.
//! - `redoubt ctl import --from HOST:PORT --to HOST:PORT [--cutover]` copies a running Redis
//!   into the deployment live (see [`crate::import`]); it talks to the source and a proxy,
//!   not to the admin endpoint.

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
    /// Print the control plane's Raft group (several proxies).
    Raft,
    /// Planned switchover of a group to its best standby.
    Failover {
        /// Group id.
        group: String,
    },
    /// Live migration from a running Redis: copy its dataset, follow its writes, cut over.
    Import(crate::import::ImportArgs),
    /// Add a proxy (started with `redoubt proxy --join`) to the Raft group online.
    AddProxy {
        /// Its id (unique, non-zero; `id` in its configuration).
        id: u64,
        /// Its admin address (`admin` in its configuration).
        admin: String,
    },
    /// Remove a proxy from the Raft group online.
    RemoveProxy {
        /// Its id.
        id: u64,
    },
}

/// Runs the admin command.
pub fn run(args: CtlArgs) -> anyhow::Result<()> {
    if let CtlAction::Import(import) = args.action {
        return crate::import::run(import);
    }
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
        CtlAction::Raft => {
            let response = client.get(format!("{base}/raft")).send().with_context(|| {
                format!("cannot reach the proxy admin endpoint at {}", args.admin)
            })?;
            let ok = response.status().is_success();
            let body: Value = response.json()?;
            if !ok {
                bail!("{}", body["error"].as_str().unwrap_or("unknown error"));
            }
            print!("{}", raft_table(&body));
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
        CtlAction::AddProxy { id, admin } => {
            let body = serde_json::json!({ "id": id, "admin": admin });
            let status = membership(&client, &args.admin, "add", &body)
                .with_context(|| format!("adding proxy {id}"))?;
            print!("{}", raft_table(&status));
        }
        CtlAction::RemoveProxy { id } => {
            let body = serde_json::json!({ "id": id });
            let status = membership(&client, &args.admin, "remove", &body)
                .with_context(|| format!("removing proxy {id}"))?;
            print!("{}", raft_table(&status));
        }
        CtlAction::Import(_) => unreachable!("handled above"),
    }
    Ok(())
}

/// `POST /proxies/{action}` with `body`; the new `/raft` view.
fn membership(
    client: &reqwest::blocking::Client,
    admin: &str,
    action: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let response = client
        .post(format!("http://{admin}/proxies/{action}"))
        .timeout(std::time::Duration::from_secs(20))
        .json(body)
        .send()
        .with_context(|| format!("cannot reach the proxy admin endpoint at {admin}"))?;
    let ok = response.status().is_success();
    let answer: Value = response.json()?;
    if !ok {
        bail!("{}", answer["error"].as_str().unwrap_or("unknown error"));
    }
    Ok(answer)
}

/// Renders `/raft` JSON: a summary line, then one row per member.
pub fn raft_table(body: &Value) -> String {
    let number = |v: &Value| v.as_u64().map_or("-".to_string(), |n| n.to_string());
    let mut out = format!(
        "proxy {} ({}), leader {}, term {}, commit index {}, last log {}, snapshot {}, leader changes {}, writable {}\n",
        body["id"],
        body["state"].as_str().unwrap_or("?"),
        number(&body["leader"]),
        body["term"],
        number(&body["applied_index"]),
        number(&body["last_log_index"]),
        number(&body["snapshot_index"]),
        body["leader_changes"],
        body["writable"],
    );
    out.push_str(&format!(
        "{:<4} {:<22} {:<8} {:>11} {:>16}\n",
        "ID", "ADMIN", "ROLE", "MATCH", "LAST CONTACT MS"
    ));
    for member in body["members"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{:<4} {:<22} {:<8} {:>11} {:>16}\n",
            member[0].to_string(),
            member[1].as_str().unwrap_or("?"),
            member[4].as_str().unwrap_or("?"),
            number(&member[2]),
            number(&member[3]),
        ));
    }
    out
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
