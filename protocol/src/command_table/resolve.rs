//! Resolving a request's command once: name and subcommand looked up in the table, giving a
//! [`Resolved`] that travels with the request (execution, replication, routing, metrics), and
//! a dense [`CommandIndex`] for per-command arrays (handlers, statistics) and [`CommandSet`]s
//! (what a node serves, what a proxy routes).

use std::fmt;
use std::sync::OnceLock;

use bytes::Bytes;

use super::{lookup, CommandSpec, COMMANDS};

/// Dense index of a command or subcommand: top-level commands in table order, each followed by
/// its subcommands. `0..command_index_count()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandIndex(u16);

impl CommandIndex {
    /// The index as a `usize`, for indexing arrays of [`command_index_count`] entries.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

/// A request's command, looked up once.
#[derive(Clone, Copy, Debug)]
pub struct Resolved {
    /// The top-level command (`config` for `CONFIG GET`).
    pub command: &'static CommandSpec,
    /// The subcommand, for a container whose subcommand the table knows (`get`).
    pub sub: Option<&'static CommandSpec>,
    /// Index of the subcommand when there is one, else of the command.
    pub index: CommandIndex,
}

impl Resolved {
    /// The spec that governs the request: the subcommand's, else the command's (flags, keys).
    pub fn spec(&self) -> &'static CommandSpec {
        self.sub.unwrap_or(self.command)
    }

    /// The top-level command's lower-case name.
    pub fn name(&self) -> &'static str {
        self.command.name
    }

    /// True for a container (`CONFIG`, `CLIENT`...) whose subcommand was not found in the
    /// table (missing or unknown): the request gets Redis's unknown-subcommand error, or the
    /// container's arity error when the subcommand is missing.
    pub fn is_container_without_sub(&self) -> bool {
        !self.command.subcommands.is_empty() && self.sub.is_none()
    }

    /// True when `argc` arguments (the name included) satisfy the arity of the command and,
    /// when there is one, of its subcommand.
    pub fn arity_ok(&self, argc: usize) -> bool {
        self.command.arity_ok(argc) && self.sub.is_none_or(|sub| sub.arity_ok(argc))
    }
}

/// The full name as statistics and errors print it: `get`, or `config|get`.
impl fmt::Display for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sub {
            Some(sub) => write!(f, "{}|{}", self.command.name, sub.name),
            None => f.write_str(self.command.name),
        }
    }
}

/// Index of each top-level command's own entry; its subcommands follow it.
fn bases() -> &'static [u16] {
    static BASES: OnceLock<Vec<u16>> = OnceLock::new();
    BASES.get_or_init(|| {
        let mut next = 0u16;
        COMMANDS
            .iter()
            .map(|spec| {
                let base = next;
                next += 1 + spec.subcommands.len() as u16;
                base
            })
            .collect()
    })
}

fn position(spec: &'static CommandSpec) -> usize {
    // Specs are elements of the static `COMMANDS` slice: their address gives their position.
    let first = COMMANDS.as_ptr() as usize;
    (spec as *const CommandSpec as usize - first) / std::mem::size_of::<CommandSpec>()
}

fn resolved(command: &'static CommandSpec, sub: Option<&'static CommandSpec>) -> Resolved {
    let base = bases()[position(command)];
    let index = match sub {
        None => base,
        Some(sub) => {
            let offset = command
                .subcommands
                .iter()
                .position(|candidate| std::ptr::eq(candidate, sub))
                .expect("a subcommand of its container");
            base + 1 + offset as u16
        }
    };
    Resolved {
        command,
        sub,
        index: CommandIndex(index),
    }
}

/// Resolves a request (`args[0]` the name, `args[1]` a container's subcommand): `None` for an
/// empty request or a name the table does not hold. Does not allocate. Whether the command is
/// served is for the caller to decide (see [`CommandSet`]).
pub fn resolve(args: &[Bytes]) -> Option<Resolved> {
    let command = lookup(args.first()?)?;
    let sub = if command.subcommands.is_empty() {
        None
    } else {
        args.get(1).and_then(|name| command.subcommand(name))
    };
    Some(resolved(command, sub))
}

/// Resolves a command by its full name: `get`, or `config|get` for a subcommand (any case),
/// as `COMMAND INFO` and `COMMAND DOCS` take them.
pub fn resolve_full_name(name: &[u8]) -> Option<Resolved> {
    match name.iter().position(|&b| b == b'|') {
        None => lookup(name).map(|command| resolved(command, None)),
        Some(bar) => {
            let command = lookup(&name[..bar])?;
            let sub = command.subcommand(&name[bar + 1..])?;
            Some(resolved(command, Some(sub)))
        }
    }
}

/// How many commands and subcommands the table holds: the bound of every [`CommandIndex`].
pub fn command_index_count() -> usize {
    let last = COMMANDS.len() - 1;
    usize::from(bases()[last]) + 1 + COMMANDS[last].subcommands.len()
}

/// Every command and subcommand of the table, in index order.
pub fn all_commands() -> impl Iterator<Item = Resolved> {
    COMMANDS.iter().flat_map(|command| {
        std::iter::once(resolved(command, None)).chain(
            command
                .subcommands
                .iter()
                .map(move |sub| resolved(command, Some(sub))),
        )
    })
}

/// A set of commands and subcommands by [`CommandIndex`]: what a node serves, what a proxy can
/// route. `COMMAND`, `COMMAND COUNT/LIST/INFO/DOCS` list exactly the members.
#[derive(Clone, Debug)]
pub struct CommandSet {
    members: Vec<bool>,
}

impl CommandSet {
    /// The empty set.
    pub fn new() -> Self {
        CommandSet {
            members: vec![false; command_index_count()],
        }
    }

    /// Every command of the table.
    pub fn all() -> Self {
        CommandSet {
            members: vec![true; command_index_count()],
        }
    }

    /// Adds a command or subcommand.
    pub fn insert(&mut self, index: CommandIndex) {
        self.members[index.get()] = true;
    }

    /// True when the set holds `index`.
    pub fn contains(&self, index: CommandIndex) -> bool {
        self.members[index.get()]
    }

    /// True when the set holds the command `spec`, a top-level one or a subcommand of
    /// `container`.
    pub(super) fn contains_spec(
        &self,
        container: Option<&'static CommandSpec>,
        spec: &'static CommandSpec,
    ) -> bool {
        let resolved = match container {
            None => resolved(spec, None),
            Some(container) => resolved(container, Some(spec)),
        };
        self.contains(resolved.index)
    }
}

impl Default for CommandSet {
    fn default() -> Self {
        CommandSet::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn indexes_are_dense_and_unique() {
        let all: Vec<_> = all_commands().collect();
        assert_eq!(all.len(), command_index_count());
        for (position, command) in all.iter().enumerate() {
            assert_eq!(command.index.get(), position, "{command}");
        }
    }

    #[test]
    fn resolves_commands_and_subcommands() {
        let get = resolve(&request(&["GeT", "k"])).expect("get");
        assert_eq!(get.to_string(), "get");
        assert!(get.sub.is_none());
        let config_get = resolve(&request(&["config", "GET", "x"])).expect("config get");
        assert_eq!(config_get.to_string(), "config|get");
        assert_eq!(config_get.spec().name, "get");
        assert_eq!(
            resolve_full_name(b"CONFIG|get").map(|r| r.index),
            Some(config_get.index)
        );
        let bad_sub = resolve(&request(&["config", "nope"])).expect("config");
        assert!(bad_sub.is_container_without_sub());
        assert!(resolve(&request(&["nosuchcommand"])).is_none());
        assert!(resolve(&[]).is_none());
    }

    #[test]
    fn sets_hold_their_members() {
        let mut set = CommandSet::new();
        let get = resolve(&request(&["get"])).expect("get");
        set.insert(get.index);
        assert!(set.contains(get.index));
        let set_cmd = resolve(&request(&["set"])).expect("set");
        assert!(!set.contains(set_cmd.index));
    }
}
