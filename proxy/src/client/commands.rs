//! What the proxy does with each command, decided from the command table: which commands it
//! answers itself, which it spreads over groups (from the Redis 7 command tips
//! `request_policy:*` and `response_policy:*`, as `COMMAND INFO` documents them), which it
//! refuses and why, and so the [`CommandSet`] its `COMMAND` replies list; [`is_plain`] says,
//! from a table built once, which commands need none of that (the hot path).

use std::sync::OnceLock;

use redoubt_protocol::command_table::{self, CommandFlags, CommandSet, Resolved};

pub(crate) use super::merge::Rule;

/// How a request is spread over the groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spread {
    /// Keys grouped by owning group, one sub-request per group keeping each key with the
    /// arguments that follow it up to the key step (`request_policy:multi_shard`).
    ByKey(Rule),
    /// The same request to every group's primary (`request_policy:all_shards` and
    /// `all_nodes`; standbys are left out: their configuration is the control plane's, and a
    /// standby being down must not fail a client's request).
    AllGroups(Rule),
    /// `SCAN`: one group at a time, the group kept in the cursor (`request_policy:special`).
    Scan,
}

/// Proxy-answered commands: the proxy holds the connection's state they read or change.
const LOCAL: &[&str] = &[
    "ping",
    "echo",
    "quit",
    "select",
    "auth",
    "hello",
    "client",
    "command",
    "info",
    "reset",
    "cluster",
    "readonly",
    "readwrite",
    "asking",
];

/// `CLIENT` subcommands the proxy answers for its own clients; the rest act on a server's
/// whole state (`PAUSE`, `TRACKING`...), which the proxy does not carry.
const CLIENT_SUBCOMMANDS: &[&str] = &[
    "id", "getname", "setname", "setinfo", "info", "list", "kill", "unblock", "no-evict",
    "no-touch", "reply",
];

/// Commands that take a connection over or act on the server's replication, which a proxy
/// multiplexing many clients on shared node connections cannot carry; the table's flags
/// cover blocking commands, these the rest (pub/sub is [`super::pubsub`]'s, transactions
/// [`super::transaction`]'s).
const CONNECTION_STATE: &[&str] = &["monitor", "sync", "psync", "replicaof", "slaveof"];

/// Commands whose spread the tips do not give: `SCAN` (`request_policy:special`: the cursor
/// must carry the group), `RANDOMKEY` (the table gives it no response policy, and the
/// default for keyless commands, concatenation, would turn its bulk into an array),
/// `SWAPDB` (no tips, but every group holds part of both databases), and the script and
/// function caches, which every group holds alike so that a script loaded once runs on
/// any group: `SCRIPT LOAD` (every group must give the same sha), `FUNCTION LIST`, `DUMP`
/// and `STATS` (no or `special` tips). Other `special` commands are routed whole.
fn explicit(command: &Resolved) -> Option<Spread> {
    match (command.name(), command.sub.map(|sub| sub.name)) {
        ("randomkey", _) => Some(Spread::AllGroups(Rule::AnyNonNull)),
        ("scan", _) => Some(Spread::Scan),
        ("swapdb", _) => Some(Spread::AllGroups(Rule::AllSucceeded)),
        ("script", Some("load")) | ("function", Some("dump")) => {
            Some(Spread::AllGroups(Rule::Agreed))
        }
        ("function", Some("list")) => Some(Spread::AllGroups(Rule::Union)),
        ("function", Some("stats")) => Some(Spread::AllGroups(Rule::FunctionStats)),
        _ => None,
    }
}

/// Commands routed whole although their tips spread them: `MSETNX` sets all its keys or
/// none, which independent parts per group cannot promise; keys of several groups go to
/// [`super::multikey`], which checks them all first.
const WHOLE: &[&str] = &["msetnx"];

/// Why the proxy cannot carry `command`, as the error text sent back; `None` when it can.
pub(crate) fn refusal(command: &Resolved) -> Option<String> {
    let flags = command.spec().flags;
    let name = command.name();
    let refused = (flags.contains(CommandFlags::BLOCKING)
        && !super::blocking::is_blocking(command))
        || CONNECTION_STATE.contains(&name)
        || (name == "client"
            && command
                .sub
                .is_some_and(|sub| !CLIENT_SUBCOMMANDS.contains(&sub.name)))
        || (name == "cluster"
            && command
                .sub
                .is_some_and(|sub| !super::cluster::SUBCOMMANDS.contains(&sub.name)));
    refused.then(|| {
        format!(
            "ERR '{}' is not supported through the proxy",
            command.to_string().replace('|', " ").to_ascii_uppercase()
        )
    })
}

/// True for the commands the proxy answers itself.
pub(crate) fn is_local(command: &Resolved) -> bool {
    LOCAL.contains(&command.name())
}

/// How `command` is spread over the groups; `None` for a request routed whole to one group.
pub(crate) fn spread(command: &Resolved) -> Option<Spread> {
    if let Some(spread) = explicit(command) {
        return Some(spread);
    }
    if WHOLE.contains(&command.name()) {
        return None;
    }
    let spec = command.spec();
    let mut request = None;
    let mut response = None;
    for tip in spec.tips.split_ascii_whitespace() {
        if let Some(policy) = tip.strip_prefix("request_policy:") {
            request = Some(policy);
        } else if let Some(policy) = tip.strip_prefix("response_policy:") {
            response = Some(policy);
        }
    }
    let rule = |default: Rule| -> Option<Rule> {
        Some(match response {
            None => default,
            Some("agg_sum") => Rule::Sum,
            Some("agg_min") => Rule::Min,
            Some("agg_max") => Rule::Max,
            Some("agg_logical_and") => Rule::And,
            Some("agg_logical_or") => Rule::Or,
            Some("all_succeeded") => Rule::AllSucceeded,
            Some("one_succeeded") => Rule::OneSucceeded,
            Some(_) => return None,
        })
    };
    match request? {
        "multi_shard" => rule(Rule::KeyOrder).map(Spread::ByKey),
        "all_shards" | "all_nodes" => rule(Rule::Concat).map(Spread::AllGroups),
        _ => None,
    }
}

/// Commands the session handles itself before routing: pub/sub (`super::pubsub`),
/// transactions (`super::transaction`), `WAIT` (to the group of the last write) and `RESET`.
const SESSION: &[&str] = &[
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
    "publish",
    "spublish",
    "pubsub",
    "multi",
    "exec",
    "discard",
    "watch",
    "unwatch",
    "wait",
];

/// True when a request of `command` is simply routed whole to the one group its keys are
/// in: not refused, not answered by the proxy, not spread over groups, not blocking, not
/// carried out over groups ([`super::multikey`], [`super::moves`]), not one the session
/// handles itself (pub/sub, transactions, `WAIT`, `RESET`), and not a container missing its
/// subcommand. Decided once per command and subcommand, so a request costs one index.
pub(crate) fn is_plain(command: &Resolved) -> bool {
    static PLAIN: OnceLock<Vec<bool>> = OnceLock::new();
    let plain = PLAIN.get_or_init(|| {
        let mut plain = vec![false; command_table::command_index_count()];
        for command in command_table::all_commands() {
            let name = command.name();
            plain[command.index.get()] = !command.is_container_without_sub()
                && refusal(&command).is_none()
                && !is_local(&command)
                && spread(&command).is_none()
                && !super::blocking::is_blocking(&command)
                && !super::multikey::handles(name)
                && !super::moves::handles(name)
                && !SESSION.contains(&name);
        }
        plain
    });
    plain.get(command.index.get()).copied().unwrap_or(false)
}

/// Everything the proxy can carry: answered, spread or routed. `COMMAND`, `COMMAND COUNT`,
/// `LIST`, `INFO` and `DOCS` list exactly these.
pub(crate) fn served() -> &'static CommandSet {
    static SERVED: OnceLock<CommandSet> = OnceLock::new();
    SERVED.get_or_init(|| {
        let mut set = CommandSet::new();
        for command in command_table::all_commands() {
            if refusal(&command).is_none() {
                set.insert(command.index);
            }
        }
        set
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn resolve(words: &[&str]) -> Resolved {
        let args: Vec<Bytes> = words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        command_table::resolve(&args).expect("known command")
    }

    #[test]
    fn multi_key_commands_split_by_key_with_the_documented_merge() {
        for (name, rule) in [
            ("mget", Rule::KeyOrder),
            ("mset", Rule::AllSucceeded),
            ("del", Rule::Sum),
            ("unlink", Rule::Sum),
            ("exists", Rule::Sum),
            ("touch", Rule::Sum),
        ] {
            assert_eq!(
                spread(&resolve(&[name])),
                Some(Spread::ByKey(rule)),
                "{name}"
            );
        }
    }

    #[test]
    fn keyless_commands_fan_out_to_every_group() {
        for (name, rule) in [
            ("dbsize", Rule::Sum),
            ("keys", Rule::Concat),
            ("flushall", Rule::AllSucceeded),
            ("flushdb", Rule::AllSucceeded),
            ("randomkey", Rule::AnyNonNull),
        ] {
            assert_eq!(
                spread(&resolve(&[name])),
                Some(Spread::AllGroups(rule)),
                "{name}"
            );
        }
        assert_eq!(spread(&resolve(&["scan"])), Some(Spread::Scan));
        assert_eq!(spread(&resolve(&["get"])), None);
        assert_eq!(spread(&resolve(&["set"])), None);
        assert_eq!(spread(&resolve(&["msetnx"])), None);
    }

    #[test]
    fn script_and_function_caches_go_to_every_group_and_calls_by_key() {
        for (words, rule) in [
            (&["script", "load"][..], Rule::Agreed),
            (&["script", "flush"], Rule::AllSucceeded),
            (&["script", "exists"], Rule::And),
            (&["script", "kill"], Rule::OneSucceeded),
            (&["function", "load"], Rule::AllSucceeded),
            (&["function", "delete"], Rule::AllSucceeded),
            (&["function", "flush"], Rule::AllSucceeded),
            (&["function", "restore"], Rule::AllSucceeded),
            (&["function", "kill"], Rule::OneSucceeded),
            (&["function", "list"], Rule::Union),
            (&["function", "dump"], Rule::Agreed),
            (&["function", "stats"], Rule::FunctionStats),
        ] {
            assert_eq!(
                spread(&resolve(words)),
                Some(Spread::AllGroups(rule)),
                "{words:?}"
            );
        }
        for name in [
            "eval",
            "evalsha",
            "eval_ro",
            "evalsha_ro",
            "fcall",
            "fcall_ro",
        ] {
            let command = resolve(&[name]);
            assert_eq!(spread(&command), None, "{name}");
            assert!(refusal(&command).is_none(), "{name}");
        }
    }

    #[test]
    fn only_commands_routed_whole_without_special_handling_are_plain() {
        for words in [&["get"][..], &["set"], &["incr"], &["hset"], &["hget"]] {
            assert!(is_plain(&resolve(words)), "{words:?}");
        }
        for words in [
            &["mset"][..],
            &["mget"],
            &["ping"],
            &["multi"],
            &["exec"],
            &["watch"],
            &["subscribe"],
            &["publish"],
            &["blpop"],
            &["rename"],
            &["sinter"],
            &["msetnx"],
            &["wait"],
            &["reset"],
            &["info"],
            &["monitor"],
            &["config"],
            &["client", "setname"],
            &["cluster", "slots"],
            &["scan"],
        ] {
            assert!(!is_plain(&resolve(words)), "{words:?}");
        }
    }

    #[test]
    fn refused_commands_say_why_and_are_not_listed() {
        for words in [&["monitor"][..], &["xread"], &["client", "pause"]] {
            let command = resolve(words);
            let why = refusal(&command).expect("refused");
            assert!(why.starts_with("ERR '"), "{why}");
            assert!(!served().contains(command.index), "{why}");
        }
        for words in [
            &["get"][..],
            &["multi"],
            &["watch"],
            &["client", "setname"],
            &["command", "count"],
            &["blpop"],
            &["bzmpop"],
            &["subscribe"],
            &["pubsub", "numsub"],
        ] {
            let command = resolve(words);
            assert!(refusal(&command).is_none());
            assert!(served().contains(command.index));
        }
    }
}
