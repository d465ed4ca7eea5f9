//! Replication commands: REPLICAOF (SLAVEOF), ROLE, REPLCONF, PSYNC (SYNC), WAIT.
//! Source: the Redis command reference and replication documentation.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{is, parse_i64, CmdResult, Ctx, SYNTAX};
use crate::client::SessionAction;
use crate::replication::LinkState;

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("replicaof", replicaof),
    ("slaveof", replicaof),
    ("role", role),
    ("replconf", replconf),
    ("psync", psync),
    ("sync", psync),
    ("wait", wait),
    ("epoch", epoch),
];

/// `REPLICAOF host port` → `+OK`, following that primary; `REPLICAOF NO ONE` → `+OK`,
/// becoming a primary with a new replication id (the old one kept as `replid2`).
pub(crate) fn replicaof(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if is(&args[1], "no") && is(&args[2], "one") {
        if ctx.store.repl.is_replica() {
            let replid = crate::replication::random_hex_id();
            ctx.store.repl.promote(replid);
            tracing::info!(offset = ctx.store.repl.offset, "promoted to primary");
        }
        return Ok(Reply::ok());
    }
    let port = parse_i64(&args[2])
        .ok()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0)
        .ok_or(Reply::error("ERR Invalid master port"))?;
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if let Some(link) = &ctx.store.repl.primary {
        if link.host == host && link.port == port {
            return Ok(Reply::simple("OK Already connected to specified master"));
        }
    }
    ctx.store.repl.follow(host.clone(), port);
    // This node's standbys follow a history that is about to change: let them reconnect.
    for client in ctx.node.clients.all() {
        if client.is_replica.load(std::sync::atomic::Ordering::Relaxed) {
            client.kill.notify_one();
        }
    }
    tracing::info!(%host, port, "following a primary");
    Ok(Reply::ok())
}

/// `ROLE` → `["master", offset, [[ip, port, acked offset], ...]]` on a primary,
/// `["slave", host, port, state, offset]` on a standby.
pub(crate) fn role(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let repl = &ctx.store.repl;
    Ok(match &repl.primary {
        None => Reply::Array(vec![
            Reply::bulk_static("master"),
            Reply::Int(repl.offset as i64),
            Reply::Array(
                repl.replicas
                    .values()
                    .map(|r| {
                        Reply::Array(vec![
                            Reply::bulk(&r.ip),
                            Reply::bulk(r.port.to_string()),
                            Reply::bulk(r.ack_offset.to_string()),
                        ])
                    })
                    .collect(),
            ),
        ]),
        Some(link) => Reply::Array(vec![
            Reply::bulk_static("slave"),
            Reply::bulk(&link.host),
            Reply::Int(i64::from(link.port)),
            Reply::bulk_static(link.state.name()),
            Reply::Int(if link.state == LinkState::Connected {
                repl.offset as i64
            } else {
                -1
            }),
        ]),
    })
}

/// `REPLCONF listening-port <port> | capa <capability> | ack <offset> | getack *` → `+OK`.
pub(crate) fn replconf(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(Reply::error(SYNTAX));
    }
    for pair in args[1..].chunks(2) {
        if is(&pair[0], "listening-port") {
            let port = parse_i64(&pair[1])?;
            ctx.session.listening_port =
                u16::try_from(port).map_err(|_| Reply::error("ERR Invalid port"))?;
        } else if is(&pair[0], "capa") || is(&pair[0], "ip-address") || is(&pair[0], "rdb-only") {
            // Capabilities are accepted; this node always speaks PSYNC2.
        } else if is(&pair[0], "ack") || is(&pair[0], "getack") {
            // Acks travel on the standby link itself; elsewhere they mean nothing.
            return Ok(Reply::ok());
        } else {
            return Err(Reply::error_owned(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(&pair[0])
            )));
        }
    }
    Ok(Reply::ok())
}

/// `PSYNC replid offset` (or `SYNC`): the connection becomes a standby link once this batch's
/// replies are out; the answer (`+FULLRESYNC` or `+CONTINUE`) is written by the link.
pub(crate) fn psync(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.store.repl.is_replica()
        && ctx
            .store
            .repl
            .primary
            .as_ref()
            .is_some_and(|l| l.state != LinkState::Connected)
    {
        return Err(Reply::error(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    let (replid, offset) = if args.len() == 3 {
        let offset = std::str::from_utf8(&args[2])
            .ok()
            .and_then(|o| o.parse::<i64>().ok())
            .unwrap_or(-1);
        (String::from_utf8_lossy(&args[1]).into_owned(), offset)
    } else {
        ("?".to_string(), -1)
    };
    ctx.session.action = Some(SessionAction::Psync { replid, offset });
    Ok(Reply::Null)
}

/// `WAIT numreplicas timeout` → the number of standbys that acked this client's writes,
/// waiting up to `timeout` ms (0: forever) for `numreplicas` of them.
pub(crate) fn wait(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.store.repl.is_replica() {
        return Err(Reply::error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let replicas = parse_i64(&args[1])?;
    let timeout = parse_i64(&args[2])?;
    if timeout < 0 {
        return Err(Reply::error("ERR timeout is negative"));
    }
    ctx.session.action = Some(SessionAction::Wait {
        replicas: replicas.max(0) as usize,
        timeout_ms: timeout as u64,
    });
    Ok(Reply::Null)
}

/// `EPOCH [epoch]` → the node's configuration epoch. With an argument, the connection presents
/// that epoch: a higher one raises the node's (kept across restarts); once the node's epoch is
/// higher than a connection's, that connection may no longer write or change roles
/// (`-FENCED`). The proxy presents its group's epoch on every connection.
pub(crate) fn epoch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match args.len() {
        1 => Ok(Reply::Int(ctx.store.epoch as i64)),
        2 => {
            let epoch = parse_i64(&args[1])
                .ok()
                .and_then(|e| u64::try_from(e).ok())
                .ok_or(Reply::error("ERR epoch must be a non-negative integer"))?;
            ctx.store
                .raise_epoch(epoch)
                .map_err(|err| Reply::error_owned(format!("ERR cannot store the epoch: {err}")))?;
            ctx.session.epoch = Some(epoch);
            Ok(Reply::Int(ctx.store.epoch as i64))
        }
        _ => Err(Reply::error(SYNTAX)),
    }
}
