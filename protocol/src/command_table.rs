//! The command table: every command Redoubt knows, as data.
//!
//! Each [`CommandSpec`] gives what Redis's `COMMAND INFO` and `COMMAND DOCS` give: the name,
//! the arity (positive: exact argument count including the name; negative: at least that many),
//! flags, the positions of the keys, and the documentation used by `redis-cli` for its hints.
//! The node validates arity from it and answers `COMMAND` from it; the proxy finds the keys of a
//! request from it. Source: the Redis command reference and `COMMAND INFO` on Redis 7.0.
//!
//! The table holds every command of Redis 7.0 (all groups, including geo, stream and cluster),
//! which does not mean that the node implements them all. The replies to `COMMAND`,
//! `COMMAND INFO`, `COMMAND DOCS`, `COMMAND COUNT` and `COMMAND LIST` are built by
//! [`command_info`], [`command_docs`], [`command_count`] and [`command_list`].

mod data;
mod docs;
mod info;
mod keys;
mod resolve;

use bytes::Bytes;

pub use data::COMMANDS;
pub use docs::{command_docs, command_docs_reply, parse_syntax, Arg, ArgKind};
pub use info::{command_count, command_info, command_info_reply, command_list};
pub use keys::{BeginSearch, FindKeys, KeySpec};
pub use resolve::{
    all_commands, command_index_count, resolve, resolve_full_name, CommandIndex, CommandSet,
    Resolved,
};

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
    /// flag, and not reported by `COMMAND INFO`). Set on every command that may name more than
    /// one key: a key range (`MGET`, `MSET`, `DEL`, `RENAME`, `LMOVE`...) or movable keys.
    pub const MULTI_KEY: CommandFlags = CommandFlags(1 << 12);
    /// Not shown in `MONITOR` (`skip_monitor`).
    pub const SKIP_MONITOR: CommandFlags = CommandFlags(1 << 13);
    /// Allowed in a script while it is busy (`allow_busy`).
    pub const ALLOW_BUSY: CommandFlags = CommandFlags(1 << 14);
    /// Not counted in the slowlog (`skip_slowlog`).
    pub const SKIP_SLOWLOG: CommandFlags = CommandFlags(1 << 15);
    /// Allowed on a cluster node importing the slot after `ASKING` (`asking`).
    pub const ASKING: CommandFlags = CommandFlags(1 << 16);
    /// Keys are optional (`no_mandatory_keys`).
    pub const NO_MANDATORY_KEYS: CommandFlags = CommandFlags(1 << 17);
    /// Not allowed during asynchronous loading (`no_async_loading`).
    pub const NO_ASYNC_LOADING: CommandFlags = CommandFlags(1 << 18);
    /// Not allowed inside `MULTI` (`no_multi`).
    pub const NO_MULTI: CommandFlags = CommandFlags(1 << 19);

    /// The flags `COMMAND INFO` reports, with their Redis names, in Redis's order.
    pub const REPORTED: &'static [(CommandFlags, &'static str)] = &[
        (CommandFlags::WRITE, "write"),
        (CommandFlags::READONLY, "readonly"),
        (CommandFlags::DENYOOM, "denyoom"),
        (CommandFlags::ADMIN, "admin"),
        (CommandFlags::PUBSUB, "pubsub"),
        (CommandFlags::NOSCRIPT, "noscript"),
        (CommandFlags::BLOCKING, "blocking"),
        (CommandFlags::LOADING, "loading"),
        (CommandFlags::STALE, "stale"),
        (CommandFlags::SKIP_MONITOR, "skip_monitor"),
        (CommandFlags::SKIP_SLOWLOG, "skip_slowlog"),
        (CommandFlags::ASKING, "asking"),
        (CommandFlags::FAST, "fast"),
        (CommandFlags::NO_AUTH, "no_auth"),
        (CommandFlags::NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (CommandFlags::NO_ASYNC_LOADING, "no_async_loading"),
        (CommandFlags::NO_MULTI, "no_multi"),
        (CommandFlags::MOVABLE_KEYS, "movablekeys"),
        (CommandFlags::ALLOW_BUSY, "allow_busy"),
    ];

    /// Both sets of flags.
    pub const fn union(self, other: CommandFlags) -> CommandFlags {
        CommandFlags(self.0 | other.0)
    }

    /// True when every flag of `other` is set.
    pub const fn contains(self, other: CommandFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The Redis names of the flags that `COMMAND INFO` reports, in Redis's order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        CommandFlags::REPORTED
            .iter()
            .filter(move |(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
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
    /// Time complexity (empty when Redis gives none).
    pub complexity: &'static str,
    /// Arguments after the name in the Redis docs' syntax (`key value [NX | XX]`): `[...]` is
    /// optional, `<a | b>` a required choice, `x [x ...]` repetition, upper-case words tokens,
    /// `""` the empty-string token. [`parse_syntax`] turns it into the `COMMAND DOCS` tree.
    pub syntax: &'static str,
    /// Subcommands, for containers such as `CONFIG`, `CLIENT`, `COMMAND`, `OBJECT`.
    pub subcommands: &'static [CommandSpec],
    /// ACL categories as `COMMAND INFO` lists them, separated by spaces (`@read @string @fast`).
    pub acl_categories: &'static str,
    /// Command tips, separated by spaces (`nondeterministic_output request_policy:all_shards`).
    pub tips: &'static str,
    /// Redis 7 key specifications in a compact form, parsed by [`CommandSpec::key_specs`]:
    /// specs separated by `;`, each `flags/begin/find` where `flags` are Redis's key-spec flags
    /// separated by spaces, `begin` is `iN` (index N), `kWORD,N` (keyword WORD searched from N)
    /// or `u` (unknown), and `find` is `rLAST,STEP,LIMIT` (range), `nIDX,FIRST,STEP` (keynum)
    /// or `u` (unknown). Example: `RO access/i1/r0,1,0`.
    pub key_specs: &'static str,
    /// `COMMAND DOCS` doc flags separated by spaces (`deprecated`, `syscmd`), often empty.
    pub doc_flags: &'static str,
    /// Version that deprecated the command (empty if it is not deprecated).
    pub deprecated_since: &'static str,
    /// What replaces a deprecated command (empty if nothing does).
    pub replaced_by: &'static str,
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
        self.subcommands
            .iter()
            .find(|sub| sub.name.as_bytes().eq_ignore_ascii_case(name))
    }

    /// Positions of the keys in `args` (`args[0]` is the command name; for a subcommand, pass
    /// the whole request, container name included).
    ///
    /// Fixed positions come from `first_key`/`last_key`/`key_step`; commands flagged
    /// [`CommandFlags::MOVABLE_KEYS`] are resolved from their key specifications (`numkeys`
    /// arguments, `STREAMS`/`STORE`/`KEYS` keywords) and, for `SORT`, from its `STORE` option.
    /// A malformed request (bad or too large `numkeys`, missing keyword) yields the keys found
    /// up to that point; this never panics. Keys are listed in key-spec order (for
    /// `ZUNIONSTORE dest 2 a b`: 1, 3, 4) and are not de-duplicated.
    pub fn key_indexes(&self, args: &[Bytes]) -> Vec<usize> {
        if self.flags.contains(CommandFlags::MOVABLE_KEYS) {
            return keys::movable_key_indexes(self, args);
        }
        if self.first_key <= 0 || args.len() <= self.first_key as usize {
            return Vec::new();
        }
        let last = if self.last_key < 0 {
            args.len() as i64 + i64::from(self.last_key)
        } else {
            i64::from(self.last_key)
        };
        let last = last.min(args.len() as i64 - 1);
        let step = self.key_step.max(1) as usize;
        (self.first_key as usize..=last.max(0) as usize)
            .step_by(step)
            .collect()
    }

    /// Positions of the keys in `args` (as [`CommandSpec::key_indexes`]), each with the flags
    /// of the key specification that found it (`RW access delete`), in key-spec order: what
    /// `COMMAND GETKEYSANDFLAGS` answers. A key of a command without key specifications gets
    /// empty flags.
    pub fn keys_and_flags(&self, args: &[Bytes]) -> Vec<(usize, &'static str)> {
        keys::keys_and_flags(self, args)
    }

    /// The key specifications, parsed from [`CommandSpec::key_specs`].
    pub fn key_specs(&self) -> impl Iterator<Item = KeySpec> {
        keys::parse_key_specs(self.key_specs)
    }
}

/// Longest command name in the table; longer names are unknown without further work.
const MAX_NAME_LEN: usize = 32;

/// Buckets of [`by_shape`]: one per name length (up to [`MAX_NAME_LEN`]) and first byte class.
const SHAPE_BUCKETS: usize = (MAX_NAME_LEN + 1) * 32;

/// The bucket of a lower-case name: its length and the low five bits of its first byte (the
/// letter, for the table's names).
fn shape(lower: &[u8]) -> usize {
    lower.len() * 32 + usize::from(lower.first().map_or(0, |b| b & 31))
}

/// [`COMMANDS`]' indexes by [`shape`], built on first use: most buckets hold one name or
/// none, so a lookup compares one or two names instead of searching the whole table.
fn by_shape() -> &'static [Vec<u16>] {
    static TABLE: std::sync::OnceLock<Vec<Vec<u16>>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut buckets = vec![Vec::new(); SHAPE_BUCKETS];
        for (index, spec) in COMMANDS.iter().enumerate() {
            let name = spec.name.as_bytes();
            if name.len() <= MAX_NAME_LEN {
                buckets[shape(name)].push(index as u16);
            }
        }
        buckets
    })
}

/// The command named `name` (any case), if Redoubt knows it. Does not allocate: the name is
/// lower-cased into a stack buffer and compared with the few names of its length and first
/// letter.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return None;
    }
    let mut buffer = [0u8; MAX_NAME_LEN];
    let lower = &mut buffer[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let lower = &*lower;
    by_shape()[shape(lower)]
        .iter()
        .map(|&index| &COMMANDS[usize::from(index)])
        .find(|spec| spec.name.as_bytes() == lower)
}

/// The spec that governs a whole request: the subcommand's for a container whose subcommand
/// `args[1]` is known (`CONFIG GET` → the `get` subcommand), otherwise the command's own.
/// `None` for an unknown command or an empty request.
pub fn lookup_request(args: &[Bytes]) -> Option<&'static CommandSpec> {
    let spec = lookup(args.first()?)?;
    if spec.subcommands.is_empty() {
        return Some(spec);
    }
    Some(
        args.get(1)
            .and_then(|sub| spec.subcommand(sub))
            .unwrap_or(spec),
    )
}

#[cfg(test)]
mod tests;
