//! Cluster-mode clients: `CLUSTER SLOTS`, `SHARDS`, `NODES`, `INFO`, `KEYSLOT`, `MYID`,
//! `MYSHARDID`, `COUNTKEYSINSLOT` and `GETKEYSINSLOT` answered as if the proxies were a Redis
//! Cluster whose masters are the proxies themselves, in Redis 7.2's reply shapes
//! (`cluster.c`, `cluster_legacy.c`); `READONLY`, `READWRITE` and `ASKING` accepted. A
//! cluster client then sends every request to a proxy, which routes it to its group, so no
//! `MOVED` ever reaches it.
//!
//! The proxies and the slots each serves come from one function, [`proxies`]: for now the
//! one proxy the client is connected to, owning all 16384 slots; a control plane that knows
//! every proxy can supply the list there.

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::slot::key_slot;
use redoubt_protocol::{errors, Protocol, Reply};
use tokio::sync::oneshot;

use super::conn::ClientConn;
use super::pending::{encode, encode_args, Pending};
use crate::state::Worker;

/// Hash slots of a Redis Cluster.
const SLOTS: u16 = 16384;

/// `CLUSTER` subcommands the proxy answers.
pub(crate) const SUBCOMMANDS: &[&str] = &[
    "slots",
    "shards",
    "nodes",
    "info",
    "keyslot",
    "myid",
    "myshardid",
    "countkeysinslot",
    "getkeysinslot",
];

/// One proxy as a cluster master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProxyNode {
    /// Where clients reach it.
    pub(crate) addr: SocketAddr,
    /// Its node id: 40 hex digits, stable for the address.
    pub(crate) id: String,
    /// The slot range it serves, inclusive.
    pub(crate) slots: (u16, u16),
    /// True for the proxy answering.
    pub(crate) myself: bool,
}

/// A stable 40-hex-digit node id for the proxy at `addr`.
fn node_id(addr: SocketAddr) -> String {
    let mut id = String::with_capacity(40);
    for round in 0u8..3 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (round, addr).hash(&mut hasher);
        id.push_str(&format!("{:016x}", hasher.finish()));
    }
    id.truncate(40);
    id
}

/// The proxies of the deployment, each with its share of the slots in address order, as
/// `me` (the address this client connected to) sees them. Today: `me` alone, with every slot.
pub(crate) fn proxies(me: SocketAddr) -> Vec<ProxyNode> {
    let addrs = [me];
    let count = addrs.len() as u32;
    addrs
        .iter()
        .enumerate()
        .map(|(i, &addr)| {
            let i = i as u32;
            let start = (u32::from(SLOTS) * i / count) as u16;
            let end = (u32::from(SLOTS) * (i + 1) / count - 1) as u16;
            ProxyNode {
                addr,
                id: node_id(addr),
                slots: (start, end),
                myself: addr == me,
            }
        })
        .collect()
}

fn bulk(text: String) -> Reply {
    Reply::Bulk(Bytes::from(text))
}

fn parse_slot(arg: &[u8]) -> Result<u16, Reply> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| (0..i64::from(SLOTS)).contains(s))
        .map(|s| s as u16)
        .ok_or(Reply::error("ERR Invalid or out of range slot"))
}

/// Answers `CLUSTER <sub>` (arity checked, subcommand one of [`SUBCOMMANDS`]).
pub(crate) fn send(
    worker: &Arc<Worker>,
    conn: &ClientConn,
    command: &Resolved,
    args: &[Bytes],
) -> Pending {
    let me = conn.local.unwrap_or(worker.config.listen);
    let nodes = proxies(me);
    let sub = command.sub.map_or("", |s| s.name);
    let reply = match sub {
        "slots" => slots(&nodes),
        "shards" => shards(&nodes),
        "nodes" => Reply::Verbatim("txt", Bytes::from(nodes_text(&nodes))),
        "info" => Reply::Verbatim("txt", Bytes::from(info_text(&nodes))),
        "keyslot" => Reply::Int(i64::from(key_slot(&args[2]))),
        "myid" | "myshardid" => nodes
            .iter()
            .find(|n| n.myself)
            .map_or(Reply::Null, |n| bulk(n.id.clone())),
        "countkeysinslot" | "getkeysinslot" => {
            let slot = match parse_slot(&args[2]) {
                Ok(slot) => slot,
                Err(err) => return Pending::Ready(encode(&err, conn.protocol)),
            };
            let limit = if sub == "getkeysinslot" {
                match std::str::from_utf8(&args[3])
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                {
                    Some(n) if n >= 0 => Some(n as usize),
                    _ => {
                        let err = Reply::error("ERR Invalid number of keys");
                        return Pending::Ready(encode(&err, conn.protocol));
                    }
                }
            } else {
                None
            };
            return keys_in_slot(worker, conn, slot, limit);
        }
        _ => Reply::error_owned(errors::unknown_subcommand("cluster", sub.as_bytes())),
    };
    Pending::Ready(encode(&reply, conn.protocol))
}

/// `CLUSTER SLOTS`: `[[start, end, [ip, port, id, {}]], ...]`.
fn slots(nodes: &[ProxyNode]) -> Reply {
    Reply::Array(
        nodes
            .iter()
            .map(|n| {
                Reply::Array(vec![
                    Reply::Int(i64::from(n.slots.0)),
                    Reply::Int(i64::from(n.slots.1)),
                    Reply::Array(vec![
                        bulk(n.addr.ip().to_string()),
                        Reply::Int(i64::from(n.addr.port())),
                        bulk(n.id.clone()),
                        Reply::Map(Vec::new()),
                    ]),
                ])
            })
            .collect(),
    )
}

/// `CLUSTER SHARDS`: one map per shard, `slots` (range bounds) and `nodes` (one map each).
fn shards(nodes: &[ProxyNode]) -> Reply {
    let field = |name: &'static str, value: Reply| (Reply::bulk_static(name), value);
    Reply::Array(
        nodes
            .iter()
            .map(|n| {
                let node = Reply::Map(vec![
                    field("id", bulk(n.id.clone())),
                    field("port", Reply::Int(i64::from(n.addr.port()))),
                    field("ip", bulk(n.addr.ip().to_string())),
                    field("endpoint", bulk(n.addr.ip().to_string())),
                    field("role", Reply::bulk_static("master")),
                    field("replication-offset", Reply::Int(0)),
                    field("health", Reply::bulk_static("online")),
                ]);
                Reply::Map(vec![
                    field(
                        "slots",
                        Reply::Array(vec![
                            Reply::Int(i64::from(n.slots.0)),
                            Reply::Int(i64::from(n.slots.1)),
                        ]),
                    ),
                    field("nodes", Reply::Array(vec![node])),
                ])
            })
            .collect(),
    )
}

/// `CLUSTER NODES`: `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slots>`.
fn nodes_text(nodes: &[ProxyNode]) -> String {
    let mut text = String::new();
    for (epoch, n) in nodes.iter().enumerate() {
        let cport = u32::from(n.addr.port()) + 10000;
        let flags = if n.myself { "myself,master" } else { "master" };
        let range = if n.slots.0 == n.slots.1 {
            n.slots.0.to_string()
        } else {
            format!("{}-{}", n.slots.0, n.slots.1)
        };
        text.push_str(&format!(
            "{} {}@{cport} {flags} - 0 0 {} connected {range}\n",
            n.id,
            n.addr,
            epoch + 1
        ));
    }
    text
}

/// `CLUSTER INFO`: every slot assigned and served.
fn info_text(nodes: &[ProxyNode]) -> String {
    let known = nodes.len();
    let epoch = nodes.iter().position(|n| n.myself).map_or(1, |i| i + 1);
    format!(
        "cluster_state:ok\r\ncluster_slots_assigned:{SLOTS}\r\ncluster_slots_ok:{SLOTS}\r\n\
         cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:{known}\r\n\
         cluster_size:{known}\r\ncluster_current_epoch:{known}\r\ncluster_my_epoch:{epoch}\r\n\
         cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n\
         total_cluster_links_buffer_limit_exceeded:0\r\n"
    )
}

/// Keys of the client's database scanned per `SCAN` step.
const SCAN_COUNT: &str = "1000";

/// `COUNTKEYSINSLOT` (`limit` `None`) or `GETKEYSINSLOT`: the slot's keys live in one group;
/// a task scans that group's primary in the client's database and keeps the keys of `slot`.
fn keys_in_slot(
    worker: &Arc<Worker>,
    conn: &ClientConn,
    slot: u16,
    limit: Option<usize>,
) -> Pending {
    let group = worker.slots.group_of_slot(slot);
    let backend = worker.groups[group].primary().clone();
    let (protocol, db, affinity) = (conn.protocol, conn.db, conn.id);
    let timeout = worker.config.request_timeout;
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let mut keys: Vec<Bytes> = Vec::new();
        let mut count = 0i64;
        let mut cursor = Bytes::from_static(b"0");
        loop {
            let request = encode_args(&[
                Bytes::from_static(b"SCAN"),
                cursor.clone(),
                Bytes::from_static(b"COUNT"),
                Bytes::from_static(SCAN_COUNT.as_bytes()),
            ]);
            let rx = backend.send(Protocol::Resp2, db, affinity, request, 1);
            let reply = match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(Ok(bytes))) => redoubt_protocol::reply_decoder::decode(&bytes).ok(),
                _ => None,
            };
            let Some(Reply::Array(mut parts)) = reply else {
                let err = Reply::error_owned(format!("ERR node {} unavailable", backend.addr));
                let _ = tx.send(encode(&err, protocol));
                return;
            };
            let batch = parts.pop();
            let next = parts.pop();
            if let Some(Reply::Array(batch)) = batch {
                for key in batch {
                    if let Reply::Bulk(key) = key {
                        if key_slot(&key) == slot {
                            count += 1;
                            if limit.is_some_and(|l| keys.len() < l) {
                                keys.push(key);
                            }
                        }
                    }
                }
            }
            match next {
                Some(Reply::Bulk(next)) if &next[..] != b"0" => cursor = next,
                _ => break,
            }
            if limit.is_some_and(|l| keys.len() >= l) {
                break;
            }
        }
        let reply = match limit {
            None => Reply::Int(count),
            Some(_) => Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
        };
        let _ = tx.send(encode(&reply, protocol));
    });
    Pending::Task {
        rx,
        result: None,
        group: Some(group),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_proxy_owns_every_slot_with_a_stable_id() {
        let me: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        let nodes = proxies(me);
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].slots, (0, 16383));
        assert!(nodes[0].myself);
        assert_eq!(nodes[0].id.len(), 40);
        assert!(nodes[0].id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(nodes[0].id, proxies(me)[0].id);
        assert_ne!(nodes[0].id, node_id("127.0.0.1:7001".parse().unwrap()));
        assert_eq!(
            nodes_text(&nodes),
            format!(
                "{} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383\n",
                nodes[0].id
            )
        );
    }
}
