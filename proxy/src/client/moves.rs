//! Commands that move a value or an element between keys of different groups, carried out by
//! the proxy in steps that never lose data: `RENAME`, `RENAMENX`, `COPY`, `SMOVE`, `LMOVE`
//! and `RPOPLPUSH`.
//!
//! - Whole values (`RENAME`, `RENAMENX`, `COPY`) move by type with their TTL: the source is
//!   read (`TYPE`, `PTTL`, then `GET`, `LRANGE`, `SMEMBERS`, `ZRANGE ... WITHSCORES` or
//!   `HGETALL`), the destination written (`DEL`, the type's write, `PEXPIRE`), and only then,
//!   for a rename, the source deleted: a failure part-way leaves the value at the source, maybe
//!   also at the destination, never nowhere.
//! - Elements (`SMOVE`, `LMOVE`, `RPOPLPUSH`): the destination's type is checked first
//!   (Redis's `WRONGTYPE` before anything changes), the element taken from the source, then
//!   added to the destination; if that fails it is put back where it was taken.
//!
//! Keys of one group never come here: they run as one command there. None of this is atomic
//! across groups (see the README's compatibility table).

use std::sync::Arc;

use bytes::Bytes;
use redoubt_protocol::reply_decoder::decode;
use redoubt_protocol::{Protocol, Reply};
use tokio::sync::oneshot;

use super::conn::ClientConn;
use super::pending::{encode, encode_args, Pending};
use crate::state::Worker;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// True for the commands this module carries across groups.
pub(crate) fn handles(name: &str) -> bool {
    matches!(
        name,
        "rename" | "renamenx" | "copy" | "smove" | "lmove" | "rpoplpush"
    )
}

fn b(text: &'static str) -> Bytes {
    Bytes::from_static(text.as_bytes())
}

/// Carries `args` (its keys in several groups) out in a task; its reply is the returned
/// [`Pending`].
pub(crate) fn send(worker: &Arc<Worker>, conn: &ClientConn, name: &str, args: &[Bytes]) -> Pending {
    let (tx, rx) = oneshot::channel();
    let mover = Mover::new(worker.clone(), conn.db, conn.id);
    let name = name.to_string();
    let args = args.to_vec();
    let protocol = conn.protocol;
    tokio::spawn(async move {
        let reply = match name.as_str() {
            "rename" => mover.rename(&args, false).await,
            "renamenx" => mover.rename(&args, true).await,
            "copy" => mover.copy(&args).await,
            "smove" => mover.smove(&args).await,
            "rpoplpush" => mover.lmove(&args[1], &args[2], false, true).await,
            _ => match lmove_ends(&args) {
                Ok((from_left, to_left)) => {
                    mover.lmove(&args[1], &args[2], from_left, to_left).await
                }
                Err(err) => err,
            },
        };
        let _ = tx.send(encode(&reply, protocol));
    });
    Pending::Task {
        rx,
        result: None,
        group: None,
    }
}

/// `LMOVE` / `BLMOVE src dst LEFT|RIGHT LEFT|RIGHT ...`: (pop from the left, push to the
/// left).
///
/// # Errors
/// `ERR syntax error` for an end that is neither `LEFT` nor `RIGHT`.
pub(crate) fn lmove_ends(args: &[Bytes]) -> Result<(bool, bool), Reply> {
    let end = |arg: &Bytes| {
        if arg.eq_ignore_ascii_case(b"left") {
            Ok(true)
        } else if arg.eq_ignore_ascii_case(b"right") {
            Ok(false)
        } else {
            Err(Reply::error("ERR syntax error"))
        }
    };
    Ok((end(&args[3])?, end(&args[4])?))
}

/// Carries out moves between groups for one client: its database and connection affinity.
pub(crate) struct Mover {
    worker: Arc<Worker>,
    db: usize,
    affinity: u64,
}

/// A whole value read by type.
enum Value {
    String(Bytes),
    List(Vec<Bytes>),
    Set(Vec<Bytes>),
    /// Member, score pairs flattened: member, score, member, score...
    ZSet(Vec<Bytes>),
    /// Field, value pairs flattened.
    Hash(Vec<Bytes>),
}

fn bulks(reply: Reply) -> Vec<Bytes> {
    let items = match reply {
        Reply::Array(items) | Reply::Set(items) => items,
        _ => Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|r| match r {
            Reply::Bulk(b) => Some(b),
            _ => None,
        })
        .collect()
}

impl Mover {
    /// A mover for a client in database `db` with connection affinity `affinity`.
    pub(crate) fn new(worker: Arc<Worker>, db: usize, affinity: u64) -> Mover {
        Mover {
            worker,
            db,
            affinity,
        }
    }

    /// One request to the primary owning `key` in database `db`, decoded.
    async fn call_in(&self, db: usize, key: &[u8], request: &[Bytes]) -> Reply {
        let worker = &self.worker;
        let backend = worker.groups[worker.slots.group_of_key(key)].primary();
        let rx = backend.send(Protocol::Resp2, db, self.affinity, encode_args(request), 1);
        match tokio::time::timeout(worker.config.request_timeout, rx).await {
            Ok(Ok(Ok(bytes))) => decode(&bytes).unwrap_or(Reply::error("ERR malformed node reply")),
            Ok(Ok(Err(err))) => Reply::error_owned(err.to_string()),
            _ => Reply::error_owned(format!("ERR node {} timed out", backend.addr)),
        }
    }

    async fn call(&self, key: &[u8], request: &[Bytes]) -> Reply {
        self.call_in(self.db, key, request).await
    }

    async fn type_of(&self, db: usize, key: &Bytes) -> Result<String, Reply> {
        match self.call_in(db, key, &[b("TYPE"), key.clone()]).await {
            Reply::Simple(t) => Ok(t.into_owned()),
            Reply::Error(e) => Err(Reply::Error(e)),
            other => Err(Reply::error_owned(format!(
                "ERR unexpected TYPE reply {other:?}"
            ))),
        }
    }

    /// The value at `key` and its TTL in ms (-1: none); `None` when there is no key.
    async fn read(&self, key: &Bytes) -> Result<Option<(Value, i64)>, Reply> {
        let kind = self.type_of(self.db, key).await?;
        let read = |request: Vec<Bytes>| async move { self.call(key, &request).await };
        let value = match kind.as_str() {
            "none" => return Ok(None),
            "string" => match read(vec![b("GET"), key.clone()]).await {
                Reply::Bulk(v) => Value::String(v),
                Reply::Error(e) => return Err(Reply::Error(e)),
                _ => return Ok(None),
            },
            "list" => Value::List(bulks(
                read(vec![b("LRANGE"), key.clone(), b("0"), b("-1")]).await,
            )),
            "set" => Value::Set(bulks(read(vec![b("SMEMBERS"), key.clone()]).await)),
            "zset" => Value::ZSet(bulks(
                read(vec![
                    b("ZRANGE"),
                    key.clone(),
                    b("0"),
                    b("-1"),
                    b("WITHSCORES"),
                ])
                .await,
            )),
            "hash" => Value::Hash(bulks(read(vec![b("HGETALL"), key.clone()]).await)),
            other => {
                return Err(Reply::error_owned(format!(
                    "ERR cannot move a value of type {other} between groups"
                )))
            }
        };
        let ttl = match read(vec![b("PTTL"), key.clone()]).await {
            Reply::Int(ms) if ms > 0 => ms,
            _ => -1,
        };
        Ok(Some((value, ttl)))
    }

    /// Replaces `key` in database `db` with `value`, expiring in `ttl` ms when positive.
    async fn write(&self, db: usize, key: &Bytes, value: Value, ttl: i64) -> Result<(), Reply> {
        let check = |reply: Reply| match reply {
            Reply::Error(e) => Err(Reply::Error(e)),
            _ => Ok(()),
        };
        check(self.call_in(db, key, &[b("DEL"), key.clone()]).await)?;
        let (command, items): (&'static str, Vec<Bytes>) = match value {
            Value::String(v) => ("SET", vec![v]),
            Value::List(items) => ("RPUSH", items),
            Value::Set(items) => ("SADD", items),
            Value::ZSet(pairs) => (
                "ZADD",
                pairs
                    .chunks(2)
                    .flat_map(|p| [p.get(1).cloned().unwrap_or_default(), p[0].clone()])
                    .collect(),
            ),
            Value::Hash(pairs) => ("HSET", pairs),
        };
        // Large values go in parts, so no request grows without bound.
        for part in items.chunks(1024) {
            let mut request = vec![b(command), key.clone()];
            request.extend_from_slice(part);
            check(self.call_in(db, key, &request).await)?;
        }
        if ttl > 0 {
            let request = [b("PEXPIRE"), key.clone(), Bytes::from(ttl.to_string())];
            check(self.call_in(db, key, &request).await)?;
        }
        Ok(())
    }

    /// `RENAME src dst` / `RENAMENX src dst`: the destination is written before the source is
    /// deleted.
    async fn rename(&self, args: &[Bytes], nx: bool) -> Reply {
        let (source, destination) = (&args[1], &args[2]);
        if nx {
            match self
                .call(destination, &[b("EXISTS"), destination.clone()])
                .await
            {
                Reply::Int(0) => {}
                Reply::Int(_) => {
                    // Redis checks the source first: a missing source is an error even then.
                    return match self.type_of(self.db, source).await {
                        Ok(t) if t == "none" => Reply::error("ERR no such key"),
                        Ok(_) => Reply::Int(0),
                        Err(e) => e,
                    };
                }
                error => return error,
            }
        }
        let (value, ttl) = match self.read(source).await {
            Ok(Some(found)) => found,
            Ok(None) => return Reply::error("ERR no such key"),
            Err(err) => return err,
        };
        if let Err(err) = self.write(self.db, destination, value, ttl).await {
            return err;
        }
        match self.call(source, &[b("DEL"), source.clone()]).await {
            Reply::Error(e) => Reply::Error(e),
            _ if nx => Reply::Int(1),
            _ => Reply::ok(),
        }
    }

    /// `COPY src dst [DB n] [REPLACE]`.
    async fn copy(&self, args: &[Bytes]) -> Reply {
        let (source, destination) = (&args[1], &args[2]);
        let mut db = self.db;
        let mut replace = false;
        let mut i = 3;
        while i < args.len() {
            if args[i].eq_ignore_ascii_case(b"replace") {
                replace = true;
                i += 1;
            } else if args[i].eq_ignore_ascii_case(b"db") && i + 1 < args.len() {
                match std::str::from_utf8(&args[i + 1])
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                {
                    Some(n) if (0..crate::backend::DATABASES as i64).contains(&n) => {
                        db = n as usize
                    }
                    Some(_) => return Reply::error("ERR DB index is out of range"),
                    None => return Reply::error("ERR value is not an integer or out of range"),
                }
                i += 2;
            } else {
                return Reply::error("ERR syntax error");
            }
        }
        if !replace {
            match self
                .call_in(db, destination, &[b("EXISTS"), destination.clone()])
                .await
            {
                Reply::Int(0) => {}
                Reply::Int(_) => return Reply::Int(0),
                error => return error,
            }
        }
        match self.read(source).await {
            Ok(Some((value, ttl))) => match self.write(db, destination, value, ttl).await {
                Ok(()) => Reply::Int(1),
                Err(err) => err,
            },
            Ok(None) => Reply::Int(0),
            Err(err) => err,
        }
    }

    /// `SMOVE src dst member`.
    async fn smove(&self, args: &[Bytes]) -> Reply {
        let (source, destination, member) = (&args[1], &args[2], &args[3]);
        match self.type_of(self.db, destination).await {
            Ok(t) if t == "none" || t == "set" => {}
            Ok(_) => return Reply::error(WRONGTYPE),
            Err(err) => return err,
        }
        match self
            .call(source, &[b("SREM"), source.clone(), member.clone()])
            .await
        {
            Reply::Int(1) => {}
            other => return other,
        }
        match self
            .call(
                destination,
                &[b("SADD"), destination.clone(), member.clone()],
            )
            .await
        {
            Reply::Error(e) => {
                let _ = self
                    .call(source, &[b("SADD"), source.clone(), member.clone()])
                    .await;
                Reply::Error(e)
            }
            _ => Reply::Int(1),
        }
    }

    /// `LMOVE` / `RPOPLPUSH`: the element popped from one end of `source`, pushed to one end
    /// of `destination`.
    async fn lmove(
        &self,
        source: &Bytes,
        destination: &Bytes,
        from_left: bool,
        to_left: bool,
    ) -> Reply {
        if let Err(refused) = self.check_list(destination).await {
            return refused;
        }
        let pop = if from_left { b("LPOP") } else { b("RPOP") };
        let element = match self.call(source, &[pop, source.clone()]).await {
            Reply::Bulk(element) => element,
            other => return other,
        };
        self.push_moved(source, destination, element, from_left, to_left)
            .await
    }

    /// Checks that `destination` holds a list or nothing, before anything moves (Redis's
    /// `WRONGTYPE` comes first).
    ///
    /// # Errors
    /// `WRONGTYPE`, or the node's error.
    pub(crate) async fn check_list(&self, destination: &Bytes) -> Result<(), Reply> {
        match self.type_of(self.db, destination).await {
            Ok(t) if t == "none" || t == "list" => Ok(()),
            Ok(_) => Err(Reply::error(WRONGTYPE)),
            Err(err) => Err(err),
        }
    }

    /// Pushes `element`, just popped from `source` (from its left end when `from_left`), to
    /// `destination` (to its left end when `to_left`); if that fails the element goes back
    /// where it was taken from. The element as the reply, or the push's error.
    pub(crate) async fn push_moved(
        &self,
        source: &Bytes,
        destination: &Bytes,
        element: Bytes,
        from_left: bool,
        to_left: bool,
    ) -> Reply {
        let push = if to_left { b("LPUSH") } else { b("RPUSH") };
        match self
            .call(destination, &[push, destination.clone(), element.clone()])
            .await
        {
            Reply::Error(e) => {
                let back = if from_left { b("LPUSH") } else { b("RPUSH") };
                if let Reply::Error(lost) =
                    self.call(source, &[back, source.clone(), element]).await
                {
                    tracing::warn!(error = %lost, "a moved element could not be put back at its source");
                }
                Reply::Error(e)
            }
            _ => Reply::Bulk(element),
        }
    }
}
