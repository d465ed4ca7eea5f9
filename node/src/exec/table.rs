//! The handler table: every command the node serves, indexed by [`CommandIndex`], built once
//! from the registrations each command family declares beside its code (`COMMANDS` in
//! `cmd/<family>.rs`), and the [`CommandSet`] it serves (`COMMAND`, `COMMAND COUNT`...).

use std::sync::OnceLock;

use redoubt_protocol::command_table::{
    self, resolve_full_name, CommandIndex, CommandSet, Resolved,
};

use crate::cmd::{self, Handler};

/// Handlers by [`CommandIndex`], and the commands served.
pub(crate) struct HandlerTable {
    handlers: Vec<Option<Handler>>,
    /// For each index, the index of its top-level command (itself for a command).
    container_of: Vec<CommandIndex>,
    served: CommandSet,
}

impl HandlerTable {
    /// The handler of a command or subcommand; `None` when the node does not serve it (a
    /// container has one only when it runs without a subcommand, as `COMMAND`).
    pub(crate) fn handler(&self, index: CommandIndex) -> Option<Handler> {
        self.handlers[index.get()]
    }

    /// True when the node serves the request's top-level command (for a container: at least
    /// one of its subcommands).
    pub(crate) fn serves_command(&self, resolved: Resolved) -> bool {
        self.served
            .contains(self.container_of[resolved.index.get()])
    }

    /// Every command and subcommand the node serves, containers included.
    pub(crate) fn served(&self) -> &CommandSet {
        &self.served
    }
}

/// Every family's registrations: `(full name, handler)`, subcommands as `config|get`.
pub(crate) fn registrations() -> impl Iterator<Item = &'static (&'static str, Handler)> {
    [
        cmd::connection::COMMANDS,
        cmd::client::COMMANDS,
        cmd::tracking::COMMANDS,
        cmd::transaction::COMMANDS,
        cmd::pubsub::COMMANDS,
        cmd::info::COMMANDS,
        cmd::server::COMMANDS,
        cmd::introspection::COMMANDS,
        cmd::config::COMMANDS,
        cmd::string::COMMANDS,
        cmd::keys::COMMANDS,
        cmd::replication::COMMANDS,
        cmd::hash::COMMANDS,
        cmd::list::COMMANDS,
        cmd::blocking::COMMANDS,
        cmd::set::COMMANDS,
        cmd::zset::COMMANDS,
        cmd::bitmap::COMMANDS,
        cmd::hll::COMMANDS,
        cmd::geo::COMMANDS,
        cmd::sort::COMMANDS,
        cmd::memory::COMMANDS,
        cmd::stream::COMMANDS,
        cmd::persistence::COMMANDS,
        cmd::scripting::COMMANDS,
        cmd::slowlog::COMMANDS,
        cmd::latency::COMMANDS,
        cmd::monitor::COMMANDS,
        cmd::lolwut::COMMANDS,
    ]
    .into_iter()
    .flatten()
}

/// The node's handler table, built on first use.
pub(crate) fn handlers() -> &'static HandlerTable {
    static TABLE: OnceLock<HandlerTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        cmd::scripting::install_dispatch(super::dispatch_for_script);
        build(registrations()).expect("valid registrations")
    })
}

/// Builds the table from `(full name, handler)` registrations.
///
/// # Errors
/// A name the command table does not hold, or one registered twice.
fn build<'a>(
    registrations: impl Iterator<Item = &'a (&'static str, Handler)>,
) -> Result<HandlerTable, String> {
    let mut handlers = vec![None; command_table::command_index_count()];
    let mut served = CommandSet::new();
    let mut container_of = Vec::with_capacity(handlers.len());
    let mut container = None;
    for command in command_table::all_commands() {
        if command.sub.is_none() {
            container = Some(command.index);
        }
        container_of.push(container.expect("a table starts with a top-level command"));
    }
    for &(name, handler) in registrations {
        let resolved = resolve_full_name(name.as_bytes())
            .ok_or_else(|| format!("'{name}' is not in the command table"))?;
        if handlers[resolved.index.get()].is_some() {
            return Err(format!("'{name}' is registered twice"));
        }
        handlers[resolved.index.get()] = Some(handler);
        served.insert(resolved.index);
        served.insert(container_of[resolved.index.get()]);
    }
    Ok(HandlerTable {
        handlers,
        container_of,
        served,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_resolve_once_each() {
        let mut seen = std::collections::HashSet::new();
        for (name, _) in registrations() {
            let resolved = resolve_full_name(name.as_bytes())
                .unwrap_or_else(|| panic!("'{name}' is not in the command table"));
            assert_eq!(
                resolved.to_string(),
                *name,
                "registered under its full name"
            );
            assert!(seen.insert(resolved.index), "'{name}' registered twice");
        }
        assert!(build(registrations()).is_ok());
    }

    #[test]
    fn a_name_registered_twice_is_refused() {
        fn nothing(_: &mut cmd::Ctx, _: &[bytes::Bytes]) -> cmd::CmdResult {
            Ok(redoubt_protocol::Reply::ok())
        }
        let twice: [(&str, Handler); 2] = [("get", nothing), ("get", nothing)];
        assert!(build(twice.iter()).is_err());
        let unknown: [(&str, Handler); 1] = [("nosuchcommand", nothing)];
        assert!(build(unknown.iter()).is_err());
    }

    #[test]
    fn served_set_counts_what_is_registered() {
        let table = handlers();
        let count = command_table::command_count(table.served());
        let top_level = registrations()
            .filter(|(name, _)| !name.contains('|'))
            .count();
        let containers: std::collections::HashSet<&str> = registrations()
            .filter_map(|(name, _)| name.split_once('|').map(|(c, _)| c))
            .filter(|c| !registrations().any(|(n, _)| n == c))
            .collect();
        assert_eq!(count as usize, top_level + containers.len());
    }
}
