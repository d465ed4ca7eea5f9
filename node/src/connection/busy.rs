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
        if node.script_busy.started_within(YOUNG_SCRIPT) {
            if let Some(store) = yield_for_lock(node) {
                return Some(store);
            }
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

/// Tries the store lock for up to [`SHORT_WAIT`] while a script runs, giving the core to
/// other threads between tries (`sched_yield`) instead of sleeping on the lock: parking this
/// worker and waking it again costs more than the few microseconds most scripts take.
fn yield_for_lock(node: &NodeState) -> Option<MutexGuard<'_, Store>> {
    let deadline = std::time::Instant::now() + SHORT_WAIT;
    loop {
        if let Some(store) = node.store.try_lock() {
            return Some(store);
        }
        if !node.script_busy.active() || std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::yield_now();
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
