//! The command table: every command Redoubt knows, as data.
//!
//! Each [`CommandSpec`] gives what Redis's `COMMAND INFO` and `COMMAND DOCS` give: the name,
//! the arity (positive: exact argument count including the name; negative: at least that many),
//! flags, the positions of the keys, and the documentation used by `redis-cli` for its hints.
//! The node validates arity from it and answers `COMMAND` from it; the proxy finds the keys of a
//! request from it. Source: the Redis command reference and `COMMAND INFO` on Redis 7.

use bytes::Bytes;

/// Command flags, as Redis reports them in `COMMAND INFO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CommandFlags(pub u32);

impl CommandFlags {
    /// Modifies the dataset (`write`).
    pub const WRITE: CommandFlags = CommandFlags(1);
    /// Only reads the dataset (`readonly`).
    pub const READONLY: CommandFlags = CommandFlags(1 << 1);
    /// May grow memory use (`denyoom`).
    pub const DENYOOM: CommandFlags = CommandFlags(1 << 2);
    /// Administrative (`admin`).
    pub const ADMIN: CommandFlags = CommandFlags(1 << 3);
    /// Pub/sub related (`pubsub`).
    pub const PUBSUB: CommandFlags = CommandFlags(1 << 4);
    /// Not allowed in scripts (`noscript`).
    pub const NOSCRIPT: CommandFlags = CommandFlags(1 << 5);
    /// May block the client (`blocking`).
    pub const BLOCKING: CommandFlags = CommandFlags(1 << 6);
    /// Allowed while loading the dataset (`loading`).
    pub const LOADING: CommandFlags = CommandFlags(1 << 7);
    /// Allowed on a replica with a stale link (`stale`).
    pub const STALE: CommandFlags = CommandFlags(1 << 8);
    /// O(1) or O(log n) (`fast`).
    pub const FAST: CommandFlags = CommandFlags(1 << 9);
    /// Allowed before authentication (`no_auth`).
    pub const NO_AUTH: CommandFlags = CommandFlags(1 << 10);
    /// Keys are not at fixed positions (`movablekeys`); see [`CommandSpec::key_indexes`].
    pub const MOVABLE_KEYS: CommandFlags = CommandFlags(1 << 11);
    /// Touches several keys that the proxy may have to split or reject (`multikey`; not a Redis
    /// flag, and not reported by `COMMAND INFO`).
    pub const MULTI_KEY: CommandFlags = CommandFlags(1 << 12);
    /// Not shown in `MONITOR` (`skip_monitor`).
    pub const SKIP_MONITOR: CommandFlags = CommandFlags(1 << 13);
    /// Allowed in a script while it is busy (`allow_busy`).
    pub const ALLOW_BUSY: CommandFlags = CommandFlags(1 << 14);
    /// Not counted in the slowlog (`skip_slowlog`).
    pub const SKIP_SLOWLOG: CommandFlags = CommandFlags(1 << 15);

    /// Both sets of flags.
    pub const fn union(self, other: CommandFlags) -> CommandFlags {
        CommandFlags(self.0 | other.0)
    }

    /// True when every flag of `other` is set.
    pub const fn contains(self, other: CommandFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// One command (or subcommand) as data.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name; a subcommand's is just its own word (`get` for `CONFIG GET`).
    pub name: &'static str,
    /// Redis arity: positive for an exact argument count, negative for a minimum; the count
    /// includes the command name (and, for a subcommand, the container's name).
    pub arity: i32,
    /// Flags.
    pub flags: CommandFlags,
    /// Position of the first key (0: no keys).
    pub first_key: i32,
    /// Position of the last key; negative counts from the end (-1: the last argument).
    pub last_key: i32,
    /// Step between keys (2 for `MSET key value key value`).
    pub key_step: i32,
    /// Command group as `COMMAND DOCS` names it (`string`, `generic`, `connection`, `server`...).
    pub group: &'static str,
    /// Redis version that introduced the command.
    pub since: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Time complexity.
    pub complexity: &'static str,
    /// Arguments after the name in the Redis docs' syntax (`key value [NX | XX]`).
    pub syntax: &'static str,
    /// Subcommands, for containers such as `CONFIG`, `CLIENT`, `COMMAND`, `OBJECT`.
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// True when `argc` arguments (the name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// The subcommand named `name` (any case).
    pub fn subcommand(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        self.subcommands.iter().find(|sub| sub.name.as_bytes().eq_ignore_ascii_case(name))
    }

    /// Positions of the keys in `args` (`args[0]` is the command name).
    pub fn key_indexes(&self, args: &[Bytes]) -> Vec<usize> {
        if self.first_key <= 0 || args.len() <= self.first_key as usize {
            return Vec::new();
        }
        let last = if self.last_key < 0 { args.len() as i64 + i64::from(self.last_key) } else { i64::from(self.last_key) };
        let last = last.min(args.len() as i64 - 1);
        let step = self.key_step.max(1) as usize;
        (self.first_key as usize..=last.max(0) as usize).step_by(step).collect()
    }
}

macro_rules! flags {
    ($($flag:ident)|*) => { CommandFlags(0 $(| CommandFlags::$flag.0)*) };
}

/// Every top-level command, in alphabetical order.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "get",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        key_step: 1,
        group: "string",
        since: "1.0.0",
        summary: "Returns the string value of a key.",
        complexity: "O(1)",
        syntax: "key",
        subcommands: &[],
    },
];

/// The command named `name` (any case), if Redoubt knows it.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|spec| spec.name.as_bytes().eq_ignore_ascii_case(name))
}
