//! Taking the store lock for a batch while a script may be running. The script holds the lock
//! for as long as it runs, so a connection never blocks on it then: it waits asynchronously
//! while the script is under `busy-reply-threshold`, and past it answers the batch without the
//! lock (`SCRIPT KILL` and `FUNCTION KILL` served, everything else `-BUSY`), as Redis answers
//! clients from inside a long script (`processEventsWhileBlocked`).

use std::time::Duration;

use bytes::Bytes;
use parking_lot::MutexGuard;
use redoubt_protocol::{Protocol, Reply};

use crate::cmd::is;
use crate::keyspace::Store;
use crate::state::NodeState;

/// How long a connection blocks on the store lock at a time before looking whether a script
/// took it; and how often it looks at a running script's time against the threshold.
const POLL: Duration = Duration::from_millis(1);

/// A script younger than this may end soon: a connection blocks on the lock for
/// [`SHORT_WAIT`] before it waits asynchronously for the script's end.
const YOUNG_SCRIPT: Duration = Duration::from_millis(1);
const SHORT_WAIT: Duration = Duration::from_micros(100);

/// The store lock for running `batch`; `None` when a script is busy and the batch was
/// answered (replies pushed, batch emptied).
pub(super) async fn lock_for_batch<'a>(
    node: &'a NodeState,
    protocol: Protocol,
    batch: &mut Vec<Vec<Bytes>>,
    replies: &mut Vec<(Reply, Protocol, bool)>,
) -> Option<MutexGuard<'a, Store>> {
    loop {
        if !node.script_busy.active() {
            if let Some(store) = node.store.try_lock_for(POLL) {
                return Some(store);
            }
            continue;
        }
        if let Some(busy) = node.script_busy.busy_error() {
            for args in batch.drain(..) {
                replies.push((answer_while_busy(node, &args, busy), protocol, false));
            }
            return None;
        }
        // Most scripts end within microseconds: while the script is young, a short blocking
        // wait for the lock costs less than parking the task on a timer and waking it.
        let wait = if node.script_busy.started_within(YOUNG_SCRIPT) {
            SHORT_WAIT
        } else {
            Duration::ZERO
        };
        if let Some(store) = node.store.try_lock_for(wait) {
            return Some(store);
        }
        // Woken as soon as the script ends (most take microseconds), or after POLL to look
        // at the threshold again.
        let ended = node.script_busy.ended();
        tokio::pin!(ended);
        ended.as_mut().enable();
        if !node.script_busy.active() {
            continue;
        }
        let _ = tokio::time::timeout(POLL, ended).await;
    }
}

fn answer_while_busy(node: &NodeState, args: &[Bytes], busy: &'static str) -> Reply {
    let sub = args.get(1).filter(|_| args.len() == 2);
    match sub {
        Some(sub) if is(&args[0], "script") && is(sub, "kill") => node.script_busy.kill(false),
        Some(sub) if is(&args[0], "function") && is(sub, "kill") => node.script_busy.kill(true),
        _ => Reply::error(busy),
    }
}
