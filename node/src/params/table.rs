//! The static table of every configuration parameter Redis 7.2 knows: name, alias, flags,
//! kind with its bounds or words, default as `CONFIG GET` prints it, and whether Redoubt acts
//! on it. Source: Redis 7.2 `config.c`, the `static_configs[]` table, one entry per line in
//! the same order; the defaults of the special kinds come from `server.h` and `config.c`.

use super::value::{check_appenddirname, check_appendfilename, check_dbfilename, check_hostname};
use super::value::{check_nodename, check_proc_title_template, check_shutdown_flags};

/// Set only at startup (`CONFIG SET` answers "can't set immutable config").
pub(crate) const IMMUTABLE: u16 = 1 << 0;
/// Holds a secret: `CONFIG SET` redacts the value from the command log and slowlog.
/// `CONFIG GET` still prints it, as Redis does.
pub(crate) const SENSITIVE: u16 = 1 << 1;
/// Listed by `INFO DEBUG`-style dumps of debugging-relevant parameters.
pub(crate) const DEBUG: u16 = 1 << 2;
/// Takes several arguments (`save 3600 1 300 100`); `CONFIG SET` splits its value on spaces.
pub(crate) const MULTI_ARG: u16 = 1 << 3;
/// Left out of glob matches in `CONFIG GET`; only an exact name shows it.
pub(crate) const HIDDEN: u16 = 1 << 4;
/// Settable at runtime only when `enable-protected-configs` allows it.
pub(crate) const PROTECTED: u16 = 1 << 5;
/// Refused while a dataset is loading (the caller answers `-LOADING`).
pub(crate) const DENY_LOADING: u16 = 1 << 6;
/// Refers to data outside the server (a file): setting the same value again counts as a change.
pub(crate) const VOLATILE: u16 = 1 << 7;

const I32_MIN: i128 = i32::MIN as i128;
const I32_MAX: i128 = i32::MAX as i128;
const U32_MAX: i128 = u32::MAX as i128;
const I64_MAX: i128 = i64::MAX as i128;
const U64_MAX: i128 = u64::MAX as i128;

/// How an integer parameter reads and prints its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntFormat {
    /// A plain decimal integer (`string2ll`).
    Plain,
    /// Bytes with an optional unit `b k kb m mb g gb`, any case (`memtoull`); printed in bytes.
    Memory,
    /// Bytes as for `Memory`, or `N%` stored as `-N` (`maxmemory-clients`).
    MemoryPercent,
    /// An octal number, printed in octal (`unixsocketperm`).
    Octal,
}

/// The type of a parameter's value, with what a valid value looks like.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// `yes` or `no`, any case; printed lowercase.
    Bool,
    /// One of a set of words, any case; printed as the first word with the same value.
    /// A `MULTI_ARG` enum takes several words whose values are OR-ed together.
    Enum(&'static [(&'static str, u32)]),
    /// An integer within `min..=max`. `unsigned` parameters compare a negative input as the
    /// huge unsigned number it becomes in C, so it fails the bounds check like there.
    Int {
        min: i128,
        max: i128,
        unsigned: bool,
        format: IntFormat,
    },
    /// Any string; with `empty_is_null` the empty string means "unset".
    Str { empty_is_null: bool },
    /// `save`: pairs `<seconds> <changes>`; `""` disables snapshots.
    Save,
    /// `client-output-buffer-limit`: `<class> <hard> <soft> <seconds>` groups.
    ClientOutputBufferLimit,
    /// `oom-score-adj-values`: three integers in -2000..=2000.
    OomScoreAdjValues,
    /// `notify-keyspace-events`: flag letters `KEg$lshzxetmdnA`.
    NotifyKeyspaceEvents,
    /// `bind`: up to 16 addresses; `""` binds none.
    Bind,
    /// `dir`: the working directory, an existing directory; printed absolute.
    Dir,
    /// `replicaof`: `<host> <port>`, or `no one`.
    ReplicaOf,
    /// `latency-tracking-info-percentiles`: doubles in 0..=100; `""` for none.
    LatencyPercentiles,
}

/// Whether Redoubt acts on a parameter or only keeps its value for `CONFIG GET`/`REWRITE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// The node has, or is built to have, the mechanism the parameter controls.
    Applied,
    /// Accepted, validated, stored and reported; nothing behind it in Redoubt.
    StoredOnly,
}

/// An extra validity check on a canonical value, returning Redis's error text.
pub(crate) type Check = fn(&[u8]) -> Result<(), &'static str>;

/// One configuration parameter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Param {
    /// The primary name, lowercase, as `CONFIG GET *` prints it.
    pub(crate) name: &'static str,
    /// The older name it also answers to (`slave-read-only` for `replica-read-only`).
    pub(crate) alias: Option<&'static str>,
    /// Bits from `IMMUTABLE`, `SENSITIVE`, `DEBUG`, `MULTI_ARG`, `HIDDEN`, `PROTECTED`,
    /// `DENY_LOADING`, `VOLATILE`.
    pub(crate) flags: u16,
    /// The value's type and bounds.
    pub(crate) kind: Kind,
    /// The startup value as `CONFIG GET` prints it (`dir`: empty, the working directory).
    pub(crate) default: &'static str,
    /// An extra validity check on the canonical value.
    pub(crate) check: Option<Check>,
    /// Whether Redoubt acts on it.
    pub(crate) effect: Effect,
}

impl Param {
    /// True when `flag` (one of the flag constants) is set.
    pub(crate) fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

const SUPERVISED: &[(&str, u32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];
const SYSLOG_FACILITY: &[(&str, u32)] = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
const LOGLEVEL: &[(&str, u32)] = &[
    ("debug", 0),
    ("verbose", 1),
    ("notice", 2),
    ("warning", 3),
    ("nothing", 4),
];
const MAXMEMORY_POLICY: &[(&str, u32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
const APPENDFSYNC: &[(&str, u32)] = &[("everysec", 0), ("always", 1), ("no", 2)];
/// `SHUTDOWN_SAVE`, `SHUTDOWN_NOSAVE`, `SHUTDOWN_NOW`, `SHUTDOWN_FORCE` bits.
const SHUTDOWN_ON_SIGNAL: &[(&str, u32)] = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];
const REPL_DISKLESS_LOAD: &[(&str, u32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
const TLS_AUTH_CLIENTS: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("optional", 2)];
/// `yes` and `relative` are the same setting; `CONFIG GET` prints `yes`.
const OOM_SCORE_ADJ: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB_DEFAULT: &[(&str, u32)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE_DUMP_PAYLOAD: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
const PROTECTED_ACTION: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("local", 2)];
const ENDPOINT_TYPE: &[(&str, u32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const PROPAGATION_ERROR_BEHAVIOR: &[(&str, u32)] =
    &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];

use Effect::{Applied, StoredOnly};

/// Every parameter of Redis 7.2 (`LOG_REQ_RES` builds' two test-only ones left out), then
/// Redoubt's own. Aliases are not separate rows: `Param::alias` carries them.
#[rustfmt::skip]
pub(crate) static PARAMS: &[Param] = &[
    Param { name: "rdbchecksum", alias: None, flags: IMMUTABLE, kind: Kind::Bool, default: "yes", check: None, effect: Applied },
    Param { name: "daemonize", alias: None, flags: IMMUTABLE, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "io-threads-do-reads", alias: None, flags: DEBUG | IMMUTABLE, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "always-show-logo", alias: None, flags: IMMUTABLE, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "protected-mode", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "rdbcompression", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: Applied },
    Param { name: "rdb-del-sync-files", alias: None, flags: 0, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "activerehashing", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "stop-writes-on-bgsave-error", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: Applied },
    Param { name: "set-proc-title", alias: None, flags: IMMUTABLE, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "dynamic-hz", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "lazyfree-lazy-eviction", alias: None, flags: DEBUG, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "lazyfree-lazy-expire", alias: None, flags: DEBUG, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "lazyfree-lazy-server-del", alias: None, flags: DEBUG, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "lazyfree-lazy-user-del", alias: None, flags: DEBUG, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "lazyfree-lazy-user-flush", alias: None, flags: DEBUG, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "repl-disable-tcp-nodelay", alias: None, flags: 0, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "repl-diskless-sync", alias: None, flags: DEBUG, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "aof-rewrite-incremental-fsync", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "no-appendfsync-on-rewrite", alias: None, flags: 0, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "cluster-require-full-coverage", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "rdb-save-incremental-fsync", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "aof-load-truncated", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "aof-use-rdb-preamble", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "aof-timestamp-enabled", alias: None, flags: 0, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "cluster-replica-no-failover", alias: Some("cluster-slave-no-failover"), flags: 0, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "replica-lazy-flush", alias: Some("slave-lazy-flush"), flags: 0, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "replica-serve-stale-data", alias: Some("slave-serve-stale-data"), flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "replica-read-only", alias: Some("slave-read-only"), flags: DEBUG, kind: Kind::Bool, default: "yes", check: None, effect: Applied },
    Param { name: "replica-ignore-maxmemory", alias: Some("slave-ignore-maxmemory"), flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: Applied },
    Param { name: "jemalloc-bg-thread", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: Applied },
    Param { name: "activedefrag", alias: None, flags: DEBUG, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "syslog-enabled", alias: None, flags: IMMUTABLE, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "cluster-enabled", alias: None, flags: IMMUTABLE, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "appendonly", alias: None, flags: DENY_LOADING, kind: Kind::Bool, default: "no", check: None, effect: Applied },
    Param { name: "cluster-allow-reads-when-down", alias: None, flags: 0, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "cluster-allow-pubsubshard-when-down", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "crash-log-enabled", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "crash-memcheck-enabled", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "use-exit-on-panic", alias: None, flags: HIDDEN, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "disable-thp", alias: None, flags: IMMUTABLE, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "cluster-allow-replica-migration", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "replica-announced", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "latency-tracking", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: Applied },
    Param { name: "aof-disable-auto-gc", alias: None, flags: HIDDEN, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "replica-ignore-disk-write-errors", alias: None, flags: 0, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "aclfile", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: false }, default: "", check: None, effect: StoredOnly },
    Param { name: "unixsocket", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "pidfile", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "replica-announce-ip", alias: Some("slave-announce-ip"), flags: 0, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "masteruser", alias: None, flags: SENSITIVE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: Applied },
    Param { name: "cluster-announce-ip", alias: None, flags: 0, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "cluster-config-file", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: false }, default: "nodes.conf", check: None, effect: StoredOnly },
    Param { name: "cluster-announce-hostname", alias: None, flags: 0, kind: Kind::Str { empty_is_null: true }, default: "", check: Some(check_hostname), effect: StoredOnly },
    Param { name: "cluster-announce-human-nodename", alias: None, flags: 0, kind: Kind::Str { empty_is_null: true }, default: "", check: Some(check_nodename), effect: StoredOnly },
    Param { name: "syslog-ident", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: false }, default: "redis", check: None, effect: StoredOnly },
    Param { name: "dbfilename", alias: None, flags: PROTECTED, kind: Kind::Str { empty_is_null: false }, default: "dump.rdb", check: Some(check_dbfilename), effect: Applied },
    Param { name: "appendfilename", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: false }, default: "appendonly.aof", check: Some(check_appendfilename), effect: Applied },
    Param { name: "appenddirname", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: false }, default: "appendonlydir", check: Some(check_appenddirname), effect: Applied },
    Param { name: "server_cpulist", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "bio_cpulist", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "aof_rewrite_cpulist", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "bgsave_cpulist", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "ignore-warnings", alias: None, flags: 0, kind: Kind::Str { empty_is_null: false }, default: "", check: None, effect: StoredOnly },
    Param { name: "proc-title-template", alias: None, flags: 0, kind: Kind::Str { empty_is_null: false }, default: "{title} {listen-addr} {server-mode}", check: Some(check_proc_title_template), effect: StoredOnly },
    Param { name: "bind-source-addr", alias: None, flags: 0, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "logfile", alias: None, flags: IMMUTABLE, kind: Kind::Str { empty_is_null: false }, default: "", check: None, effect: StoredOnly },
    Param { name: "locale-collate", alias: None, flags: 0, kind: Kind::Str { empty_is_null: false }, default: "", check: None, effect: StoredOnly },
    Param { name: "masterauth", alias: None, flags: SENSITIVE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: Applied },
    Param { name: "requirepass", alias: None, flags: SENSITIVE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: Applied },
    Param { name: "supervised", alias: None, flags: IMMUTABLE, kind: Kind::Enum(SUPERVISED), default: "no", check: None, effect: StoredOnly },
    Param { name: "syslog-facility", alias: None, flags: IMMUTABLE, kind: Kind::Enum(SYSLOG_FACILITY), default: "local0", check: None, effect: StoredOnly },
    Param { name: "repl-diskless-load", alias: None, flags: DEBUG | DENY_LOADING, kind: Kind::Enum(REPL_DISKLESS_LOAD), default: "disabled", check: None, effect: StoredOnly },
    Param { name: "loglevel", alias: None, flags: 0, kind: Kind::Enum(LOGLEVEL), default: "notice", check: None, effect: StoredOnly },
    Param { name: "maxmemory-policy", alias: None, flags: 0, kind: Kind::Enum(MAXMEMORY_POLICY), default: "noeviction", check: None, effect: Applied },
    Param { name: "appendfsync", alias: None, flags: 0, kind: Kind::Enum(APPENDFSYNC), default: "everysec", check: None, effect: Applied },
    Param { name: "oom-score-adj", alias: None, flags: 0, kind: Kind::Enum(OOM_SCORE_ADJ), default: "no", check: None, effect: StoredOnly },
    Param { name: "acl-pubsub-default", alias: None, flags: 0, kind: Kind::Enum(ACL_PUBSUB_DEFAULT), default: "resetchannels", check: None, effect: StoredOnly },
    Param { name: "sanitize-dump-payload", alias: None, flags: DEBUG, kind: Kind::Enum(SANITIZE_DUMP_PAYLOAD), default: "no", check: None, effect: StoredOnly },
    Param { name: "enable-protected-configs", alias: None, flags: IMMUTABLE, kind: Kind::Enum(PROTECTED_ACTION), default: "no", check: None, effect: StoredOnly },
    Param { name: "enable-debug-command", alias: None, flags: IMMUTABLE, kind: Kind::Enum(PROTECTED_ACTION), default: "no", check: None, effect: StoredOnly },
    Param { name: "enable-module-command", alias: None, flags: IMMUTABLE, kind: Kind::Enum(PROTECTED_ACTION), default: "no", check: None, effect: StoredOnly },
    Param { name: "cluster-preferred-endpoint-type", alias: None, flags: 0, kind: Kind::Enum(ENDPOINT_TYPE), default: "ip", check: None, effect: StoredOnly },
    Param { name: "propagation-error-behavior", alias: None, flags: 0, kind: Kind::Enum(PROPAGATION_ERROR_BEHAVIOR), default: "ignore", check: None, effect: StoredOnly },
    Param { name: "shutdown-on-sigint", alias: None, flags: MULTI_ARG, kind: Kind::Enum(SHUTDOWN_ON_SIGNAL), default: "default", check: Some(check_shutdown_flags), effect: StoredOnly },
    Param { name: "shutdown-on-sigterm", alias: None, flags: MULTI_ARG, kind: Kind::Enum(SHUTDOWN_ON_SIGNAL), default: "default", check: Some(check_shutdown_flags), effect: StoredOnly },
    Param { name: "databases", alias: None, flags: IMMUTABLE, kind: Kind::Int { min: 1, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "16", check: None, effect: Applied },
    Param { name: "port", alias: None, flags: 0, kind: Kind::Int { min: 0, max: 65535, unsigned: false, format: IntFormat::Plain }, default: "6379", check: None, effect: Applied },
    Param { name: "io-threads", alias: None, flags: DEBUG | IMMUTABLE, kind: Kind::Int { min: 1, max: 128, unsigned: false, format: IntFormat::Plain }, default: "1", check: None, effect: StoredOnly },
    Param { name: "auto-aof-rewrite-percentage", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "100", check: None, effect: StoredOnly },
    Param { name: "cluster-replica-validity-factor", alias: Some("cluster-slave-validity-factor"), flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "10", check: None, effect: StoredOnly },
    Param { name: "list-max-listpack-size", alias: Some("list-max-ziplist-size"), flags: 0, kind: Kind::Int { min: I32_MIN, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "-2", check: None, effect: Applied },
    Param { name: "tcp-keepalive", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "300", check: None, effect: StoredOnly },
    Param { name: "cluster-migration-barrier", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "1", check: None, effect: StoredOnly },
    Param { name: "active-defrag-cycle-min", alias: None, flags: 0, kind: Kind::Int { min: 1, max: 99, unsigned: false, format: IntFormat::Plain }, default: "1", check: None, effect: StoredOnly },
    Param { name: "active-defrag-cycle-max", alias: None, flags: 0, kind: Kind::Int { min: 1, max: 99, unsigned: false, format: IntFormat::Plain }, default: "25", check: None, effect: StoredOnly },
    Param { name: "active-defrag-threshold-lower", alias: None, flags: 0, kind: Kind::Int { min: 0, max: 1000, unsigned: false, format: IntFormat::Plain }, default: "10", check: None, effect: StoredOnly },
    Param { name: "active-defrag-threshold-upper", alias: None, flags: 0, kind: Kind::Int { min: 0, max: 1000, unsigned: false, format: IntFormat::Plain }, default: "100", check: None, effect: StoredOnly },
    Param { name: "lfu-log-factor", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "10", check: None, effect: Applied },
    Param { name: "lfu-decay-time", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "1", check: None, effect: Applied },
    Param { name: "replica-priority", alias: Some("slave-priority"), flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "100", check: None, effect: StoredOnly },
    Param { name: "repl-diskless-sync-delay", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "5", check: None, effect: StoredOnly },
    Param { name: "maxmemory-samples", alias: None, flags: 0, kind: Kind::Int { min: 1, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "5", check: None, effect: Applied },
    Param { name: "maxmemory-eviction-tenacity", alias: None, flags: 0, kind: Kind::Int { min: 0, max: 100, unsigned: false, format: IntFormat::Plain }, default: "10", check: None, effect: Applied },
    Param { name: "timeout", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: Applied },
    Param { name: "replica-announce-port", alias: Some("slave-announce-port"), flags: 0, kind: Kind::Int { min: 0, max: 65535, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "tcp-backlog", alias: None, flags: IMMUTABLE, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "511", check: None, effect: StoredOnly },
    Param { name: "cluster-port", alias: None, flags: IMMUTABLE, kind: Kind::Int { min: 0, max: 65535, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "cluster-announce-bus-port", alias: None, flags: 0, kind: Kind::Int { min: 0, max: 65535, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "cluster-announce-port", alias: None, flags: 0, kind: Kind::Int { min: 0, max: 65535, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "cluster-announce-tls-port", alias: None, flags: 0, kind: Kind::Int { min: 0, max: 65535, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "repl-timeout", alias: None, flags: 0, kind: Kind::Int { min: 1, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "60", check: None, effect: StoredOnly },
    Param { name: "repl-ping-replica-period", alias: Some("repl-ping-slave-period"), flags: 0, kind: Kind::Int { min: 1, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "10", check: None, effect: StoredOnly },
    Param { name: "list-compress-depth", alias: None, flags: DEBUG, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "rdb-key-save-delay", alias: None, flags: HIDDEN, kind: Kind::Int { min: I32_MIN, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "key-load-delay", alias: None, flags: HIDDEN, kind: Kind::Int { min: I32_MIN, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "active-expire-effort", alias: None, flags: 0, kind: Kind::Int { min: 1, max: 10, unsigned: false, format: IntFormat::Plain }, default: "1", check: None, effect: StoredOnly },
    Param { name: "hz", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "10", check: None, effect: Applied },
    Param { name: "min-replicas-to-write", alias: Some("min-slaves-to-write"), flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: Applied },
    Param { name: "min-replicas-max-lag", alias: Some("min-slaves-max-lag"), flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "10", check: None, effect: Applied },
    Param { name: "watchdog-period", alias: None, flags: HIDDEN, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "shutdown-timeout", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "10", check: None, effect: StoredOnly },
    Param { name: "repl-diskless-sync-max-replicas", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "maxclients", alias: None, flags: 0, kind: Kind::Int { min: 1, max: U32_MAX, unsigned: true, format: IntFormat::Plain }, default: "10000", check: None, effect: Applied },
    Param { name: "unixsocketperm", alias: None, flags: IMMUTABLE, kind: Kind::Int { min: 0, max: 511, unsigned: true, format: IntFormat::Octal }, default: "0", check: None, effect: StoredOnly },
    Param { name: "socket-mark-id", alias: None, flags: IMMUTABLE, kind: Kind::Int { min: 0, max: U32_MAX, unsigned: true, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "active-defrag-max-scan-fields", alias: None, flags: 0, kind: Kind::Int { min: 1, max: I64_MAX, unsigned: true, format: IntFormat::Plain }, default: "1000", check: None, effect: StoredOnly },
    Param { name: "slowlog-max-len", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Plain }, default: "128", check: None, effect: Applied },
    Param { name: "acllog-max-len", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Plain }, default: "128", check: None, effect: StoredOnly },
    Param { name: "busy-reply-threshold", alias: Some("lua-time-limit"), flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: false, format: IntFormat::Plain }, default: "5000", check: None, effect: Applied },
    Param { name: "cluster-node-timeout", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: false, format: IntFormat::Plain }, default: "15000", check: None, effect: StoredOnly },
    Param { name: "cluster-ping-interval", alias: None, flags: HIDDEN, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "slowlog-log-slower-than", alias: None, flags: 0, kind: Kind::Int { min: -1, max: I64_MAX, unsigned: false, format: IntFormat::Plain }, default: "10000", check: None, effect: Applied },
    Param { name: "latency-monitor-threshold", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: Applied },
    Param { name: "proto-max-bulk-len", alias: None, flags: DEBUG, kind: Kind::Int { min: 1048576, max: I64_MAX, unsigned: false, format: IntFormat::Memory }, default: "536870912", check: None, effect: Applied },
    Param { name: "stream-node-max-entries", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: false, format: IntFormat::Plain }, default: "100", check: None, effect: StoredOnly },
    Param { name: "repl-backlog-size", alias: None, flags: 0, kind: Kind::Int { min: 1, max: I64_MAX, unsigned: false, format: IntFormat::Memory }, default: "1048576", check: None, effect: Applied },
    Param { name: "maxmemory", alias: None, flags: 0, kind: Kind::Int { min: 0, max: U64_MAX, unsigned: true, format: IntFormat::Memory }, default: "0", check: None, effect: Applied },
    Param { name: "cluster-link-sendbuf-limit", alias: None, flags: 0, kind: Kind::Int { min: 0, max: U64_MAX, unsigned: true, format: IntFormat::Memory }, default: "0", check: None, effect: StoredOnly },
    Param { name: "hash-max-listpack-entries", alias: Some("hash-max-ziplist-entries"), flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Plain }, default: "512", check: None, effect: Applied },
    Param { name: "set-max-intset-entries", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Plain }, default: "512", check: None, effect: Applied },
    Param { name: "set-max-listpack-entries", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Plain }, default: "128", check: None, effect: Applied },
    Param { name: "set-max-listpack-value", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Plain }, default: "64", check: None, effect: Applied },
    Param { name: "zset-max-listpack-entries", alias: Some("zset-max-ziplist-entries"), flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Plain }, default: "128", check: None, effect: Applied },
    Param { name: "active-defrag-ignore-bytes", alias: None, flags: 0, kind: Kind::Int { min: 1, max: I64_MAX, unsigned: true, format: IntFormat::Memory }, default: "104857600", check: None, effect: StoredOnly },
    Param { name: "hash-max-listpack-value", alias: Some("hash-max-ziplist-value"), flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Memory }, default: "64", check: None, effect: Applied },
    Param { name: "stream-node-max-bytes", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Memory }, default: "4096", check: None, effect: StoredOnly },
    Param { name: "zset-max-listpack-value", alias: Some("zset-max-ziplist-value"), flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Memory }, default: "64", check: None, effect: Applied },
    Param { name: "hll-sparse-max-bytes", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Memory }, default: "3000", check: None, effect: Applied },
    Param { name: "tracking-table-max-keys", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: true, format: IntFormat::Plain }, default: "1000000", check: None, effect: StoredOnly },
    Param { name: "client-query-buffer-limit", alias: None, flags: DEBUG, kind: Kind::Int { min: 1048576, max: I64_MAX, unsigned: true, format: IntFormat::Memory }, default: "1073741824", check: None, effect: Applied },
    Param { name: "maxmemory-clients", alias: None, flags: 0, kind: Kind::Int { min: -100, max: I64_MAX, unsigned: false, format: IntFormat::MemoryPercent }, default: "0", check: None, effect: StoredOnly },
    Param { name: "repl-backlog-ttl", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: false, format: IntFormat::Plain }, default: "3600", check: None, effect: StoredOnly },
    Param { name: "auto-aof-rewrite-min-size", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I64_MAX, unsigned: false, format: IntFormat::Memory }, default: "67108864", check: None, effect: StoredOnly },
    Param { name: "loading-process-events-interval-bytes", alias: None, flags: HIDDEN, kind: Kind::Int { min: 1024, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "2097152", check: None, effect: StoredOnly },
    Param { name: "tls-port", alias: None, flags: 0, kind: Kind::Int { min: 0, max: 65535, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: StoredOnly },
    Param { name: "tls-session-cache-size", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "20480", check: None, effect: StoredOnly },
    Param { name: "tls-session-cache-timeout", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "300", check: None, effect: StoredOnly },
    Param { name: "tls-cluster", alias: None, flags: 0, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "tls-replication", alias: None, flags: 0, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "tls-auth-clients", alias: None, flags: 0, kind: Kind::Enum(TLS_AUTH_CLIENTS), default: "yes", check: None, effect: StoredOnly },
    Param { name: "tls-prefer-server-ciphers", alias: None, flags: 0, kind: Kind::Bool, default: "no", check: None, effect: StoredOnly },
    Param { name: "tls-session-caching", alias: None, flags: 0, kind: Kind::Bool, default: "yes", check: None, effect: StoredOnly },
    Param { name: "tls-cert-file", alias: None, flags: VOLATILE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "tls-key-file", alias: None, flags: VOLATILE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "tls-key-file-pass", alias: None, flags: 0, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "tls-client-cert-file", alias: None, flags: VOLATILE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "tls-client-key-file", alias: None, flags: VOLATILE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "tls-client-key-file-pass", alias: None, flags: 0, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "tls-dh-params-file", alias: None, flags: VOLATILE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "tls-ca-cert-file", alias: None, flags: VOLATILE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "tls-ca-cert-dir", alias: None, flags: VOLATILE, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "tls-protocols", alias: None, flags: 0, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "tls-ciphers", alias: None, flags: 0, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "tls-ciphersuites", alias: None, flags: 0, kind: Kind::Str { empty_is_null: true }, default: "", check: None, effect: StoredOnly },
    Param { name: "dir", alias: None, flags: PROTECTED | DENY_LOADING, kind: Kind::Dir, default: "", check: None, effect: Applied },
    Param { name: "save", alias: None, flags: MULTI_ARG, kind: Kind::Save, default: "3600 1 300 100 60 10000", check: None, effect: Applied },
    Param { name: "client-output-buffer-limit", alias: None, flags: MULTI_ARG, kind: Kind::ClientOutputBufferLimit, default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", check: None, effect: Applied },
    Param { name: "oom-score-adj-values", alias: None, flags: MULTI_ARG, kind: Kind::OomScoreAdjValues, default: "0 200 800", check: None, effect: StoredOnly },
    Param { name: "notify-keyspace-events", alias: None, flags: 0, kind: Kind::NotifyKeyspaceEvents, default: "", check: None, effect: Applied },
    Param { name: "bind", alias: None, flags: MULTI_ARG, kind: Kind::Bind, default: "* -::*", check: None, effect: Applied },
    Param { name: "replicaof", alias: Some("slaveof"), flags: IMMUTABLE | MULTI_ARG, kind: Kind::ReplicaOf, default: "", check: None, effect: Applied },
    Param { name: "latency-tracking-info-percentiles", alias: None, flags: MULTI_ARG, kind: Kind::LatencyPercentiles, default: "50 99 99.9", check: None, effect: Applied },
    // Redoubt's own: synchronous acknowledgement of writes by standbys.
    Param { name: "min-replicas-to-ack", alias: None, flags: 0, kind: Kind::Int { min: 0, max: I32_MAX, unsigned: false, format: IntFormat::Plain }, default: "0", check: None, effect: Applied },
    Param { name: "replica-ack-timeout", alias: None, flags: 0, kind: Kind::Int { min: 1, max: I64_MAX, unsigned: false, format: IntFormat::Plain }, default: "1000", check: None, effect: Applied },
];

/// Names of Redoubt's own parameters, absent from Redis.
pub(crate) const REDOUBT_ONLY: &[&str] = &["min-replicas-to-ack", "replica-ack-timeout"];
