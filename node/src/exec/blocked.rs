//! Serving blocked clients: when a command makes a key ready, the clients blocked on it run
//! their command again, first come first served, and get their reply through their slot.
//! Client connections serve after each command they run; a standby serves after each command
//! of its primary's stream (so `XREAD` on a standby wakes on replicated `XADD`s).

use redoubt_protocol::Protocol;

use crate::blocking::BlockKind;
use crate::client::Session;
use crate::cmd::Ctx;
use crate::keyspace::Store;
use crate::state::NodeState;

/// Serves the clients waiting on ready keys, first come first served per key: each one's
/// command runs again on its behalf and its reply goes to its slot. Keys made ready meanwhile
/// (`BLMOVE`'s destination) are served too. A list or sorted-set waiter that cannot be served
/// means the key is empty (or of another type) for the ones behind it too; stream waiters are
/// all tried, since reading does not consume and each may wait for something else.
pub(crate) fn serve_ready(store: &mut Store, node: &NodeState, now_ms: u64) {
    while let Some((db, key)) = store.blocking.next_ready() {
        let mut popping_done = false;
        for id in store.blocking.waiters_of(db, &key) {
            let Some(waiter) = store.blocking.get(id) else {
                continue;
            };
            let kind = waiter.kind;
            let (handle, command) = (waiter.handle.clone(), waiter.command);
            let args = waiter.args.clone();
            if kind != BlockKind::Stream {
                // A key now holding another type keeps its waiters blocked, as in Redis.
                let matches = !popping_done
                    && store.dbs[db]
                        .get(&key, now_ms)
                        .is_some_and(|entry| entry.value.type_name() == kind.type_name());
                if !matches {
                    popping_done = true;
                    continue;
                }
            }
            let protocol = if handle.view.lock().resp == 3 {
                Protocol::Resp3
            } else {
                Protocol::Resp2
            };
            let mut session = Session::new(handle, true);
            session.db = db;
            session.protocol = protocol;
            let mut ctx = Ctx {
                store,
                session: &mut session,
                node,
                now_ms,
                command: None,
            };
            let dirty = ctx.store.dirty();
            let reply = if kind == BlockKind::Stream {
                crate::cmd::stream::serve_blocked(&mut ctx, command, &args)
            } else {
                crate::cmd::blocking::serve(&mut ctx, command, &args)
            };
            let Some(reply) = reply else {
                popping_done |= kind != BlockKind::Stream;
                continue;
            };
            if ctx.store.dirty() != dirty {
                // The pop (and `BLMOVE`'s push) wrote: transactions watching those keys fail.
                if !ctx.store.watches.is_empty() {
                    for index in command.spec().key_indexes(&args) {
                        ctx.store.watches.touch(db, &args[index]);
                    }
                }
                if !ctx.store.tracking.is_idle() {
                    let limit = ctx.store.pubsub_limit();
                    for index in command.spec().key_indexes(&args) {
                        ctx.store.tracking.invalidate(&args[index], limit);
                    }
                    ctx.store.tracking.broadcast(limit);
                }
                crate::exec::replicate(&mut ctx, command, &args, &reply);
            }
            ctx.store.pending_effects = None;
            if let Some(blocked) = store.blocking.remove(id) {
                blocked.wait.slot.deliver(reply);
            }
        }
    }
}
