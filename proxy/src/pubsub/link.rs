//! One group's shared subscriber connection: connected to the group's primary as the
//! topology names it, subscribed to the union of the proxy's clients' channels and patterns
//! (and the shard channels the group owns), it hands every message to the [`Hub`] and
//! applies the hub's numbered changes in order.
//!
//! On connecting it subscribes to the hub's whole snapshot, so changes queued while it was
//! down are not lost; when the topology names another primary (a failover), when the node
//! closes the connection, or when a `PING` gets no answer within the request timeout, it
//! connects again, to the primary of the moment. Until then subscribers miss what is
//! published (pub/sub delivers at most once, as with Redis), but are never left deaf.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use redoubt_protocol::request::encode_request;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::{Change, Hub, Kind};
use crate::backend::node_client::{NodeClient, NodeError};
use crate::backend::ConnectOptions;
use crate::control::topology::SharedTopology;

/// Names subscribed per command when subscribing to a snapshot.
const CHUNK: usize = 1024;
/// How often the link checks the topology and its connection's liveness.
const TICK: Duration = Duration::from_millis(20);
/// Silence after which the link sends a `PING`.
const PING_AFTER: Duration = Duration::from_secs(1);
/// Pause between connection attempts.
const RETRY: Duration = Duration::from_millis(50);

/// What every link needs to reach its group's primary.
#[derive(Clone, Debug)]
pub(crate) struct LinkSetup {
    /// The committed topology: each group's primary.
    pub(crate) topology: Arc<SharedTopology>,
    /// Password given to the nodes.
    pub(crate) password: Option<String>,
    /// Deadline of connecting.
    pub(crate) connect_timeout: Duration,
    /// Longest wait for a `PING`'s answer.
    pub(crate) request_timeout: Duration,
}

/// Runs group `group`'s link for as long as the hub lives.
pub(crate) async fn run(
    hub: Arc<Hub>,
    setup: LinkSetup,
    group: usize,
    mut changes: mpsc::UnboundedReceiver<Change>,
    applied: watch::Sender<u64>,
) {
    loop {
        let addr = setup.topology.primary(group);
        let options = ConnectOptions::plain(addr, setup.password.clone(), setup.connect_timeout);
        match NodeClient::connect(&options).await {
            Ok(client) => {
                debug!(group, %addr, "subscriber link connected");
                hub.count_link(1);
                let why = serve(&hub, &setup, group, client, &mut changes, &applied).await;
                hub.count_link(-1);
                match why {
                    Ended::Shutdown => return,
                    Ended::Moved => {
                        info!(group, %addr, "primary changed; subscribing on the new one")
                    }
                    Ended::Failed(err) => warn!(group, %addr, %err, "subscriber link lost"),
                }
            }
            Err(err) => debug!(group, %addr, %err, "subscriber link cannot connect"),
        }
        // Changes queued meanwhile are in the next snapshot.
        let retry_at = Instant::now() + RETRY;
        loop {
            tokio::select! {
                change = changes.recv() => if change.is_none() { return },
                () = tokio::time::sleep_until(retry_at) => break,
            }
        }
    }
}

/// Why a connection ended.
enum Ended {
    /// The hub is gone.
    Shutdown,
    /// The topology names another primary.
    Moved,
    /// The connection failed or stopped answering.
    Failed(NodeError),
}

/// A command sent and the confirmations still due for it.
struct InFlight {
    seq: u64,
    due: usize,
}

async fn send(client: &mut NodeClient, verb: &str, names: &[Bytes]) -> Result<(), NodeError> {
    let mut args: Vec<&[u8]> = Vec::with_capacity(names.len() + 1);
    args.push(verb.as_bytes());
    args.extend(names.iter().map(|n| &n[..]));
    client.send_raw(&encode_request(&args)).await
}

async fn serve(
    hub: &Hub,
    setup: &LinkSetup,
    group: usize,
    mut client: NodeClient,
    changes: &mut mpsc::UnboundedReceiver<Change>,
    applied: &watch::Sender<u64>,
) -> Ended {
    let addr = setup.topology.primary(group);
    let (covered, names) = hub.snapshot(group);
    let mut in_flight = VecDeque::new();
    let mut due = 0;
    for kind in Kind::ALL {
        for chunk in names[kind.index()].chunks(CHUNK) {
            if let Err(err) = send(&mut client, kind.subscribe(), chunk).await {
                return Ended::Failed(err);
            }
            due += chunk.len();
        }
    }
    if due == 0 {
        applied.send_if_modified(|seq| raise(seq, covered));
    } else {
        in_flight.push_back(InFlight { seq: covered, due });
    }
    let mut tick = tokio::time::interval(TICK);
    let mut heard = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    loop {
        tokio::select! {
            frame = client.reply() => {
                let frame = match frame {
                    Ok(frame) => frame,
                    Err(err) => return Ended::Failed(err),
                };
                heard = Instant::now();
                ping_sent = None;
                // This frame and every other already read: messages in a row for one name
                // go to the hub together.
                let mut run = Pending::default();
                let mut next = Some(frame);
                while let Some(frame) = next {
                    match message_of(&frame) {
                        Some((kind, name)) => run.add(hub, kind, name, frame),
                        None => {
                            run.flush(hub);
                            handle(group, frame, &mut in_flight, applied);
                        }
                    }
                    next = match client.buffered_reply() {
                        Ok(next) => next,
                        Err(err) => {
                            run.flush(hub);
                            return Ended::Failed(err);
                        }
                    };
                }
                run.flush(hub);
            }
            change = changes.recv() => {
                let Some(change) = change else { return Ended::Shutdown };
                if change.seq <= covered {
                    continue;
                }
                let verb = if change.subscribe { change.kind.subscribe() } else { change.kind.unsubscribe() };
                if let Err(err) = send(&mut client, verb, &change.names).await {
                    return Ended::Failed(err);
                }
                in_flight.push_back(InFlight { seq: change.seq, due: change.names.len() });
            }
            _ = tick.tick() => {
                if setup.topology.primary(group) != addr {
                    return Ended::Moved;
                }
                match ping_sent {
                    Some(at) if at.elapsed() > setup.request_timeout => return Ended::Failed(NodeError::Timeout),
                    None if heard.elapsed() > PING_AFTER => {
                        if let Err(err) = client.send_raw(&encode_request(&[b"PING"])).await {
                            return Ended::Failed(err);
                        }
                        ping_sent = Some(Instant::now());
                    }
                    _ => {}
                }
            }
        }
    }
}

fn raise(seq: &mut u64, to: u64) -> bool {
    if to > *seq {
        *seq = to;
        true
    } else {
        false
    }
}

/// Messages read in a row for one name, not yet handed to the hub.
#[derive(Default)]
struct Pending {
    kind: Option<Kind>,
    /// The name, a slice of the first message's frame.
    name: Bytes,
    frames: Vec<Bytes>,
}

impl Pending {
    /// Adds a message for `name` (a range of `frame`), first handing the hub the run so far
    /// when it is for another name.
    fn add(&mut self, hub: &Hub, kind: Kind, name: std::ops::Range<usize>, frame: Bytes) {
        if self.kind != Some(kind) || self.name[..] != frame[name.clone()] {
            self.flush(hub);
            self.kind = Some(kind);
            self.name = frame.slice(name);
        }
        self.frames.push(frame);
    }

    /// Hands the run to the hub.
    fn flush(&mut self, hub: &Hub) {
        if let Some(kind) = self.kind.take() {
            hub.deliver(kind, &self.name, std::mem::take(&mut self.frames));
        }
    }
}

/// The kind of a message frame (`message`, `pmessage`, `smessage`) and where its channel or
/// pattern is in it; `None` for any other frame.
fn message_of(frame: &[u8]) -> Option<(Kind, std::ops::Range<usize>)> {
    let (verb, name) = head(frame)?;
    let kind = match verb {
        b"message" => Kind::Channel,
        b"pmessage" => Kind::Pattern,
        b"smessage" => Kind::Shard,
        _ => return None,
    };
    let start = name.as_ptr() as usize - frame.as_ptr() as usize;
    Some((kind, start..start + name.len()))
}

/// One frame from the node other than a message: a confirmation of the oldest command in
/// flight, a `PING`'s answer, or an error (which answers a whole command).
fn handle(
    group: usize,
    frame: Bytes,
    in_flight: &mut VecDeque<InFlight>,
    applied: &watch::Sender<u64>,
) {
    if frame.first() == Some(&b'-') {
        warn!(group, error = %String::from_utf8_lossy(&frame).trim_end(), "subscriber link refused a command");
        if let Some(done) = in_flight.pop_front() {
            applied.send_if_modified(|seq| raise(seq, done.seq));
        }
        return;
    }
    let Some((verb, _)) = head(&frame) else {
        return;
    };
    let confirms = Kind::ALL
        .iter()
        .any(|k| verb == k.subscribe().as_bytes() || verb == k.unsubscribe().as_bytes());
    if !confirms {
        return;
    }
    if let Some(front) = in_flight.front_mut() {
        front.due = front.due.saturating_sub(1);
        if front.due == 0 {
            let seq = front.seq;
            in_flight.pop_front();
            applied.send_if_modified(|applied| raise(applied, seq));
        }
    }
}

/// The first two elements of an array of bulk strings (`*3 $7 message $2 ch ...`): the
/// frame's verb and the channel or pattern it names.
fn head(frame: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = frame.strip_prefix(b"*")?;
    let mut at = rest.iter().position(|&b| b == b'\n')? + 1;
    let verb = bulk(rest, &mut at)?;
    let name = bulk(rest, &mut at)?;
    Some((verb, name))
}

/// The bulk string at `*at` in `frame`, moving `at` past it.
fn bulk<'a>(frame: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let rest = frame.get(*at..)?.strip_prefix(b"$")?;
    let line = rest.iter().position(|&b| b == b'\r')?;
    let len: usize = std::str::from_utf8(&rest[..line]).ok()?.parse().ok()?;
    let start = line + 2;
    let value = rest.get(start..start + len)?;
    *at += 1 + start + len + 2;
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::head;

    #[test]
    fn head_reads_the_verb_and_the_name() {
        let frame = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n";
        assert_eq!(head(frame), Some((&b"message"[..], &b"ch"[..])));
        let frame = b"*4\r\n$8\r\npmessage\r\n$3\r\nn.*\r\n$3\r\nn.x\r\n$0\r\n\r\n";
        assert_eq!(head(frame), Some((&b"pmessage"[..], &b"n.*"[..])));
        assert_eq!(
            head(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"),
            Some((&b"pong"[..], &b""[..]))
        );
        assert_eq!(head(b"+PONG\r\n"), None);
        assert_eq!(head(b"*3\r\n$7\r\nmess"), None);
    }
}
