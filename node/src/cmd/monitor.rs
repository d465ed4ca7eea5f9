//! `MONITOR`: the client receives every command run by others from then on (see
//! [`crate::observe::monitor`]) until `RESET` or disconnect. Source: Redis 7.2
//! `monitorCommand`.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[("monitor", monitor)];

/// `MONITOR` → `+OK`, then one status line per command run (`+1700000000.123456 [0
/// 127.0.0.1:12345] "SET" "k" "v"`). A client already monitoring gets no reply, as in Redis.
/// Errors: inside a transaction, `-ERR MONITOR isn't allowed for DENY BLOCKING client`.
fn monitor(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    if ctx.session.in_atomic_unit {
        return Err(Reply::error(
            "ERR MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    let id = ctx.session.handle.id;
    let outbox = ctx.session.handle.outbox.clone();
    if !ctx.store.observe.monitors.add(id, outbox) {
        ctx.session.skip_replies = ctx.session.skip_replies.max(1);
    }
    Ok(Reply::ok())
}
