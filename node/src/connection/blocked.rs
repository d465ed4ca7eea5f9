//! Serving blocked clients: when a command makes a key ready, the clients blocked on it run
//! their command again, first come first served, and get their reply through their slot.

use crate::client::Session;
use crate::cmd::Ctx;
use crate::keyspace::Store;
use crate::state::NodeState;

/// Serves the clients waiting on ready keys, first come first served per key: each one's
/// command runs again on its behalf and its reply goes to its slot. Keys made ready meanwhile
/// (`BLMOVE`'s destination) are served too.
pub(crate) fn serve_ready(store: &mut Store, node: &NodeState, now_ms: u64) {
    while let Some((db, key)) = store.blocking.next_ready() {
        while let Some(waiter) = store.blocking.first_waiter(db, &key) {
            // A key now holding another type keeps its waiters blocked, as in Redis.
            let kind = waiter.kind.type_name();
            let (id, handle, command) = (waiter.handle.id, waiter.handle.clone(), waiter.command);
            let args = waiter.args.clone();
            let matches = store.dbs[db]
                .get(&key, now_ms)
                .is_some_and(|entry| entry.value.type_name() == kind);
            if !matches {
                break;
            }
            let mut session = Session::new(handle, true);
            session.db = db;
            let mut ctx = Ctx {
                store,
                session: &mut session,
                node,
                now_ms,
                command: None,
            };
            let Some(reply) = crate::cmd::blocking::serve(&mut ctx, command, &args) else {
                break;
            };
            crate::exec::replicate(&mut ctx, command, &args, &reply);
            if let Some(blocked) = store.blocking.remove(id) {
                blocked.wait.slot.deliver(reply);
            }
        }
    }
}
