//! List commands. Source: the Redis command reference.

use bytes::Bytes;

use super::{CmdResult, CommandName, Ctx};

/// Runs `name` if it is a list command; `None` otherwise.
pub fn run(ctx: &mut Ctx, name: CommandName, args: &[Bytes]) -> Option<CmdResult> {
    let _ = (ctx, args);
    match name.name {
        _ => None,
    }
}
