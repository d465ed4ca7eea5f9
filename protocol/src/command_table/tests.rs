//! Tests of the command table, checked against Redis 7.0.15's `COMMAND INFO`/`COMMAND DOCS`.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::reply::Reply;

fn args(words: &str) -> Vec<Bytes> {
    words
        .split(' ')
        .map(|word| Bytes::copy_from_slice(word.as_bytes()))
        .collect()
}

/// Keys of a whole request, found the way the proxy finds them.
fn keys(request: &str) -> Vec<usize> {
    let request = args(request);
    lookup_request(&request).unwrap().key_indexes(&request)
}

fn all_specs() -> Vec<(String, &'static CommandSpec)> {
    let mut all = Vec::new();
    for spec in COMMANDS {
        all.push((spec.name.to_string(), spec));
        for sub in spec.subcommands {
            all.push((format!("{}|{}", spec.name, sub.name), sub));
        }
    }
    all
}

#[test]
fn names_are_lowercase_sorted_and_unique() {
    assert!(COMMANDS.windows(2).all(|w| w[0].name < w[1].name));
    for spec in COMMANDS {
        assert!(spec.subcommands.windows(2).all(|w| w[0].name < w[1].name));
    }
    for (name, spec) in all_specs() {
        assert!(!spec.name.is_empty());
        assert_eq!(name, name.to_ascii_lowercase());
        assert!(!spec.group.is_empty() && !spec.since.is_empty(), "{name}");
        assert!(!spec.acl_categories.is_empty(), "{name}");
    }
    // Redis 7.0's 240 commands plus Redoubt's EPOCH.
    assert_eq!(command_count(&CommandSet::all()), 241);
}

#[test]
fn lookup_ignores_case_and_rejects_unknown_names() {
    assert_eq!(lookup(b"GET").unwrap().name, "get");
    assert_eq!(lookup(b"gEt").unwrap().name, "get");
    assert_eq!(lookup(b"zrangebyscore").unwrap().name, "zrangebyscore");
    assert_eq!(lookup(b"restore-asking").unwrap().name, "restore-asking");
    assert!(lookup(b"").is_none());
    assert!(lookup(b"nosuchcommand").is_none());
    assert!(lookup(b"getx").is_none());
    assert!(lookup(b"ge").is_none());
    assert!(lookup(&[b'a'; 100]).is_none());
    assert!(lookup("gét".as_bytes()).is_none());
    for spec in COMMANDS {
        assert!(std::ptr::eq(
            lookup(spec.name.to_ascii_uppercase().as_bytes()).unwrap(),
            spec
        ));
    }
    let config = lookup(b"config").unwrap();
    assert_eq!(config.subcommand(b"GET").unwrap().name, "get");
    assert!(config.subcommand(b"nope").is_none());
    assert_eq!(
        lookup_request(&args("CONFIG GET maxmemory")).unwrap().name,
        "get"
    );
    assert_eq!(lookup_request(&args("config nope")).unwrap().name, "config");
    assert_eq!(lookup_request(&args("command")).unwrap().name, "command");
    assert!(lookup_request(&[]).is_none());
}

#[test]
fn the_groups_asked_for_are_there() {
    for name in [
        "info",
        "dbsize",
        "flushdb",
        "flushall",
        "time",
        "command",
        "config",
        "client",
        "select",
        "swapdb",
        "save",
        "bgsave",
        "lastsave",
        "shutdown",
        "debug",
        "ping",
        "echo",
        "auth",
        "hello",
        "quit",
        "reset",
        "get",
        "set",
        "mget",
        "mset",
        "msetnx",
        "del",
        "unlink",
        "exists",
        "touch",
        "object",
        "memory",
        "hset",
        "lpush",
        "blmpop",
        "sadd",
        "sintercard",
        "zadd",
        "zunionstore",
        "zmpop",
        "bzmpop",
        "setbit",
        "bitcount",
        "pfadd",
        "publish",
        "subscribe",
        "multi",
        "exec",
        "watch",
        "eval",
        "evalsha",
        "script",
        "fcall",
        "xread",
        "sort",
        "geoadd",
    ] {
        assert!(lookup(name.as_bytes()).is_some(), "{name}");
    }
    let client = lookup(b"client").unwrap();
    for sub in [
        "id", "setname", "getname", "info", "list", "kill", "help", "pause", "unpause", "reply",
        "no-evict", "tracking",
    ] {
        assert!(client.subcommand(sub.as_bytes()).is_some(), "client {sub}");
    }
    let command = lookup(b"command").unwrap();
    for sub in ["count", "info", "docs", "list", "getkeys", "help"] {
        assert!(
            command.subcommand(sub.as_bytes()).is_some(),
            "command {sub}"
        );
    }
    let object = lookup(b"object").unwrap();
    for sub in ["encoding", "freq", "idletime", "refcount", "help"] {
        assert!(object.subcommand(sub.as_bytes()).is_some(), "object {sub}");
    }
    for (container, sub) in [
        ("config", "resetstat"),
        ("config", "rewrite"),
        ("memory", "usage"),
    ] {
        assert!(lookup(container.as_bytes())
            .unwrap()
            .subcommand(sub.as_bytes())
            .is_some());
    }
}

#[test]
fn arity() {
    let get = lookup(b"get").unwrap();
    assert_eq!(get.arity, 2);
    assert!(get.arity_ok(2));
    assert!(!get.arity_ok(1));
    assert!(!get.arity_ok(3));
    let set = lookup(b"set").unwrap();
    assert_eq!(set.arity, -3);
    assert!(!set.arity_ok(2));
    assert!(set.arity_ok(3));
    assert!(set.arity_ok(9));
    assert_eq!(lookup(b"command").unwrap().arity, -1);
    let config = lookup(b"config").unwrap();
    assert_eq!(config.arity, -2);
    let config_get = config.subcommand(b"get").unwrap();
    assert_eq!(config_get.arity, -3);
    assert!(!config_get.arity_ok(2));
    assert!(config_get.arity_ok(3));
    assert_eq!(config.subcommand(b"set").unwrap().arity, -4);
    assert_eq!(
        lookup(b"client").unwrap().subcommand(b"id").unwrap().arity,
        2
    );
    assert_eq!(lookup(b"mset").unwrap().arity, -3);
    assert_eq!(lookup(b"ping").unwrap().arity, -1);
}

#[test]
fn flags() {
    let get = lookup(b"get").unwrap();
    assert!(get
        .flags
        .contains(CommandFlags::READONLY.union(CommandFlags::FAST)));
    assert!(!get.flags.contains(CommandFlags::WRITE));
    assert!(lookup(b"hello")
        .unwrap()
        .flags
        .contains(CommandFlags::NO_AUTH));
    assert!(lookup(b"blpop")
        .unwrap()
        .flags
        .contains(CommandFlags::BLOCKING));
    for name in [
        "mget",
        "mset",
        "msetnx",
        "del",
        "unlink",
        "exists",
        "touch",
        "sinter",
        "sunionstore",
        "sdiff",
        "smove",
        "zunionstore",
        "zinter",
        "rename",
        "lmove",
        "eval",
        "xread",
    ] {
        let spec = lookup(name.as_bytes()).unwrap();
        assert!(spec.flags.contains(CommandFlags::MULTI_KEY), "{name}");
    }
    for name in ["get", "set", "hset", "lpush", "ping", "incr"] {
        let spec = lookup(name.as_bytes()).unwrap();
        assert!(!spec.flags.contains(CommandFlags::MULTI_KEY), "{name}");
    }
    for name in [
        "zunionstore",
        "zinterstore",
        "zdiffstore",
        "zunion",
        "zinter",
        "zdiff",
        "zintercard",
        "sintercard",
        "lmpop",
        "blmpop",
        "zmpop",
        "bzmpop",
        "eval",
        "evalsha",
        "eval_ro",
        "evalsha_ro",
        "fcall",
        "fcall_ro",
        "xread",
        "xreadgroup",
        "sort",
        "sort_ro",
        "migrate",
        "georadius",
    ] {
        let spec = lookup(name.as_bytes()).unwrap();
        assert!(spec.flags.contains(CommandFlags::MOVABLE_KEYS), "{name}");
        assert!(spec.flags.names().any(|flag| flag == "movablekeys"));
    }
    assert!(CommandFlags::MULTI_KEY.names().next().is_none());
}

#[test]
fn fixed_key_positions() {
    assert_eq!(keys("GET k"), [1]);
    assert_eq!(keys("SET k v EX 10"), [1]);
    assert_eq!(keys("MGET a b c"), [1, 2, 3]);
    assert_eq!(keys("MSET a 1 b 2"), [1, 3]);
    assert_eq!(keys("DEL a b"), [1, 2]);
    assert_eq!(keys("BLPOP a b 0"), [1, 2]);
    assert_eq!(keys("LMOVE a b LEFT RIGHT"), [1, 2]);
    assert_eq!(keys("RENAME a b"), [1, 2]);
    assert_eq!(keys("OBJECT ENCODING k"), [2]);
    assert_eq!(keys("MEMORY USAGE k SAMPLES 5"), [2]);
    assert!(keys("PING").is_empty());
    assert!(keys("CONFIG GET maxmemory").is_empty());
    // Too few arguments: no keys rather than a panic.
    assert!(lookup(b"get").unwrap().key_indexes(&args("GET")).is_empty());
    assert!(lookup(b"mset")
        .unwrap()
        .key_indexes(&args("MSET"))
        .is_empty());
}

#[test]
fn movable_key_positions() {
    assert_eq!(keys("ZUNIONSTORE d 2 a b WEIGHTS 1 2"), [1, 3, 4]);
    assert_eq!(keys("ZINTERSTORE d 1 a"), [1, 3]);
    assert_eq!(keys("ZUNION 2 a b WITHSCORES"), [2, 3]);
    assert_eq!(keys("ZDIFF 3 a b c"), [2, 3, 4]);
    assert_eq!(keys("SINTERCARD 2 a b LIMIT 5"), [2, 3]);
    assert_eq!(keys("LMPOP 2 a b LEFT COUNT 3"), [2, 3]);
    assert_eq!(keys("BLMPOP 0.5 2 a b RIGHT"), [3, 4]);
    assert_eq!(keys("ZMPOP 1 a MIN"), [2]);
    assert_eq!(keys("BZMPOP 1 2 a b MAX"), [3, 4]);
    assert_eq!(keys("EVAL script 2 a b x y"), [3, 4]);
    assert_eq!(keys("EVALSHA sha 1 a x"), [3]);
    assert!(keys("EVAL script 0 x").is_empty());
    assert_eq!(keys("FCALL f 1 a x"), [3]);
    assert_eq!(keys("XREAD COUNT 2 STREAMS a b 0 0"), [4, 5]);
    assert_eq!(keys("XREAD STREAMS a 0"), [2]);
    assert_eq!(keys("XREADGROUP GROUP g c BLOCK 0 STREAMS a b > >"), [7, 8]);
    assert_eq!(keys("SORT k"), [1]);
    assert_eq!(
        keys("SORT k BY w_* LIMIT 0 10 GET # ALPHA STORE d"),
        [1, 11]
    );
    assert_eq!(keys("SORT k GET store STORE d"), [1, 5]);
    assert_eq!(keys("SORT_RO k BY x"), [1]);
    assert_eq!(keys("MIGRATE h 6379 k 0 5000"), [3]);
    assert_eq!(keys("MIGRATE h 6379  0 5000 KEYS a b"), [7, 8]);
    assert_eq!(keys("GEORADIUS k 1 2 3 m STORE d"), [1, 7]);
    assert_eq!(keys("GEORADIUS k 1 2 3 m"), [1]);
}

#[test]
fn malformed_movable_requests_give_the_keys_found() {
    // Bad numkeys: the keys before it only.
    assert_eq!(keys("ZUNIONSTORE d x a b"), [1]);
    assert_eq!(keys("ZUNIONSTORE d -1 a b"), [1]);
    assert!(keys("ZUNION abc a b").is_empty());
    assert!(keys("EVAL s notanumber a").is_empty());
    // numkeys larger than the request: up to the last argument.
    assert_eq!(keys("SINTERCARD 99 a b"), [2, 3]);
    assert_eq!(keys("ZUNIONSTORE d 99999999999999999 a"), [1, 3]);
    assert_eq!(keys("EVAL s 5"), Vec::<usize>::new());
    // A missing keyword: no keys.
    assert!(keys("XREAD COUNT 1").is_empty());
    assert!(keys("XREAD STREAMS").is_empty());
    assert_eq!(keys("SORT k STORE"), [1]);
}

#[test]
fn key_specs_parse() {
    let zunionstore = lookup(b"zunionstore").unwrap();
    let specs: Vec<KeySpec> = zunionstore.key_specs().collect();
    assert_eq!(
        specs,
        [
            KeySpec {
                flags: "OW update",
                begin: BeginSearch::Index(1),
                find: FindKeys::Range {
                    last_key: 0,
                    key_step: 1,
                    limit: 0
                },
            },
            KeySpec {
                flags: "RO access",
                begin: BeginSearch::Index(2),
                find: FindKeys::KeyNum {
                    key_num_index: 0,
                    first_key: 1,
                    key_step: 1
                },
            },
        ]
    );
    let xread: Vec<KeySpec> = lookup(b"xread").unwrap().key_specs().collect();
    assert_eq!(
        xread[0].begin,
        BeginSearch::Keyword {
            keyword: "STREAMS",
            start_from: 1
        }
    );
    // Every spec in the table parses completely.
    for (name, spec) in all_specs() {
        let expected = if spec.key_specs.is_empty() {
            0
        } else {
            spec.key_specs.split(';').count()
        };
        assert_eq!(spec.key_specs().count(), expected, "{name}");
    }
}

proptest! {
    #[test]
    fn key_indexes_never_panic(
        command in 0..COMMANDS.len(),
        sub in any::<prop::sample::Index>(),
        words in prop::collection::vec(
            prop::sample::select(vec!["0", "1", "2", "-1", "3", "x", "", "STREAMS", "STORE",
                "KEYS", "LIMIT", "GET", "BY", "99999999999999999999"]),
            0..10),
    ) {
        let spec = &COMMANDS[command];
        let mut request = vec![Bytes::from_static(spec.name.as_bytes())];
        let spec = if spec.subcommands.is_empty() {
            spec
        } else {
            let sub = &spec.subcommands[sub.index(spec.subcommands.len())];
            request.push(Bytes::from_static(sub.name.as_bytes()));
            sub
        };
        request.extend(words.iter().map(|word| Bytes::from_static(word.as_bytes())));
        for index in spec.key_indexes(&request) {
            prop_assert!(index >= 1 && index < request.len());
        }
    }
}

fn simple(text: &'static str) -> Reply {
    Reply::simple(text)
}

fn bulk(text: &'static str) -> Reply {
    Reply::bulk_static(text)
}

#[test]
fn command_info_get_is_redis_7s() {
    let key_spec = Reply::Map(vec![
        (
            bulk("flags"),
            Reply::Set(vec![simple("RO"), simple("access")]),
        ),
        (
            bulk("begin_search"),
            Reply::Map(vec![
                (bulk("type"), bulk("index")),
                (
                    bulk("spec"),
                    Reply::Map(vec![(bulk("index"), Reply::Int(1))]),
                ),
            ]),
        ),
        (
            bulk("find_keys"),
            Reply::Map(vec![
                (bulk("type"), bulk("range")),
                (
                    bulk("spec"),
                    Reply::Map(vec![
                        (bulk("lastkey"), Reply::Int(0)),
                        (bulk("keystep"), Reply::Int(1)),
                        (bulk("limit"), Reply::Int(0)),
                    ]),
                ),
            ]),
        ),
    ]);
    let expected = Reply::Array(vec![
        bulk("get"),
        Reply::Int(2),
        Reply::Set(vec![simple("readonly"), simple("fast")]),
        Reply::Int(1),
        Reply::Int(1),
        Reply::Int(1),
        Reply::Set(vec![simple("@read"), simple("@string"), simple("@fast")]),
        Reply::Set(vec![]),
        Reply::Set(vec![key_spec]),
        Reply::Set(vec![]),
    ]);
    assert_eq!(
        command_info_reply(lookup(b"get").unwrap(), &CommandSet::all()),
        expected
    );
    assert_eq!(
        command_info(&args("GET nosuch"), &CommandSet::all()),
        Reply::Array(vec![expected, Reply::Null])
    );
}

#[test]
fn command_info_of_containers_lists_subcommands() {
    let Reply::Array(entry) = command_info_reply(lookup(b"config").unwrap(), &CommandSet::all())
    else {
        panic!("not an array");
    };
    assert_eq!(entry.len(), 10);
    assert_eq!(entry[1], Reply::Int(-2));
    let Reply::Array(subs) = &entry[9] else {
        panic!("subcommands are not an array");
    };
    let get = subs
        .iter()
        .find_map(|sub| match sub {
            Reply::Array(fields) if fields[0] == bulk("config|get") => Some(fields),
            _ => None,
        })
        .unwrap();
    assert_eq!(get[1], Reply::Int(-3));
    assert_eq!(
        get[2],
        Reply::Set(vec![
            simple("admin"),
            simple("noscript"),
            simple("loading"),
            simple("stale")
        ])
    );
    assert_eq!(
        get[7],
        Reply::Set(vec![]) // no tips
    );
    let Reply::Array(by_full_name) = command_info(&args("CONFIG|GET"), &CommandSet::all()) else {
        panic!("not an array");
    };
    assert_eq!(by_full_name[0], Reply::Array(get.clone()));
    let Reply::Array(all) = command_info(&[], &CommandSet::all()) else {
        panic!("not an array");
    };
    assert_eq!(all.len(), 241);
}

#[test]
fn command_info_reports_tips_and_keyword_specs() {
    let Reply::Array(keys_entry) = command_info_reply(lookup(b"keys").unwrap(), &CommandSet::all())
    else {
        panic!("not an array");
    };
    assert_eq!(
        keys_entry[7],
        Reply::Set(vec![
            bulk("request_policy:all_shards"),
            bulk("nondeterministic_output_order")
        ])
    );
    let Reply::Array(xread) = command_info_reply(lookup(b"xread").unwrap(), &CommandSet::all())
    else {
        panic!("not an array");
    };
    let Reply::Set(specs) = &xread[8] else {
        panic!("key specs are not a set");
    };
    let Reply::Map(spec) = &specs[0] else {
        panic!("key spec is not a map");
    };
    assert_eq!(
        spec[1].1,
        Reply::Map(vec![
            (bulk("type"), bulk("keyword")),
            (
                bulk("spec"),
                Reply::Map(vec![
                    (bulk("keyword"), bulk("STREAMS")),
                    (bulk("startfrom"), Reply::Int(1)),
                ])
            ),
        ])
    );
}

/// The value of `field` in a reply map.
fn field<'a>(map: &'a Reply, name: &str) -> Option<&'a Reply> {
    let Reply::Map(pairs) = map else {
        return None;
    };
    pairs
        .iter()
        .find(|(key, _)| *key == Reply::bulk(name))
        .map(|(_, value)| value)
}

#[test]
fn docs_of_set() {
    let docs = command_docs_reply(lookup(b"set").unwrap(), &CommandSet::all());
    assert_eq!(
        field(&docs, "summary"),
        Some(&bulk("Set the string value of a key"))
    );
    assert_eq!(field(&docs, "since"), Some(&bulk("1.0.0")));
    assert_eq!(field(&docs, "group"), Some(&bulk("string")));
    assert_eq!(field(&docs, "complexity"), Some(&bulk("O(1)")));
    let Some(Reply::Array(arguments)) = field(&docs, "arguments") else {
        panic!("no arguments");
    };
    assert_eq!(arguments.len(), 5);
    assert_eq!(
        arguments[0],
        Reply::Map(vec![
            (bulk("name"), bulk("key")),
            (bulk("type"), bulk("key")),
            (bulk("key_spec_index"), Reply::Int(0)),
        ])
    );
    assert_eq!(
        arguments[1],
        Reply::Map(vec![
            (bulk("name"), bulk("value")),
            (bulk("type"), bulk("string"))
        ])
    );
    assert_eq!(field(&arguments[2], "type"), Some(&bulk("oneof")));
    assert_eq!(
        field(&arguments[2], "flags"),
        Some(&Reply::Set(vec![simple("optional")]))
    );
    assert_eq!(
        arguments[3],
        Reply::Map(vec![
            (bulk("name"), bulk("get")),
            (bulk("type"), bulk("pure-token")),
            (bulk("token"), bulk("GET")),
            (bulk("flags"), Reply::Set(vec![simple("optional")])),
        ])
    );
    let Some(Reply::Array(expiration)) = field(&arguments[4], "arguments") else {
        panic!("no expiration choices");
    };
    assert_eq!(
        expiration[0],
        Reply::Map(vec![
            (bulk("name"), bulk("seconds")),
            (bulk("type"), bulk("integer")),
            (bulk("token"), bulk("EX")),
        ])
    );
    let tokens: Vec<&Reply> = expiration
        .iter()
        .filter_map(|choice| field(choice, "token"))
        .collect();
    assert_eq!(
        tokens,
        [
            &bulk("EX"),
            &bulk("PX"),
            &bulk("EXAT"),
            &bulk("PXAT"),
            &bulk("KEEPTTL")
        ]
    );
    assert_eq!(field(&expiration[2], "type"), Some(&bulk("unix-time")));
    let Some(Reply::Array(condition)) = field(&arguments[2], "arguments") else {
        panic!("no condition choices");
    };
    assert_eq!(field(&condition[0], "token"), Some(&bulk("NX")));
    assert_eq!(field(&condition[1], "token"), Some(&bulk("XX")));
}

#[test]
fn docs_of_containers_deprecated_commands_and_lists() {
    let docs = command_docs(&args("config nosuch GETSET"), &CommandSet::all());
    let Reply::Map(entries) = &docs else {
        panic!("not a map");
    };
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].0, bulk("config"));
    let subcommands = field(&entries[0].1, "subcommands").unwrap();
    let get = field(subcommands, "config|get").unwrap();
    assert_eq!(field(get, "group"), Some(&bulk("server")));
    assert_eq!(entries[1].0, bulk("getset"));
    assert_eq!(
        field(&entries[1].1, "doc_flags"),
        Some(&Reply::Set(vec![simple("deprecated")]))
    );
    assert_eq!(
        field(&entries[1].1, "deprecated_since"),
        Some(&bulk("6.2.0"))
    );
    let Reply::Map(all) = command_docs(&[], &CommandSet::all()) else {
        panic!("not a map");
    };
    assert_eq!(all.len(), 241);
    let Reply::Array(list) = command_list(&CommandSet::all()) else {
        panic!("not an array");
    };
    assert!(list.contains(&bulk("get")));
    assert!(list.contains(&Reply::bulk("config|get")));
    // Redis 7.0's 366 names, plus CLIENT SETINFO and CLIENT NO-TOUCH (7.2) and Redoubt's EPOCH.
    assert_eq!(list.len(), 369);
}

fn arg(spec: &str, index: usize) -> Arg {
    let spec = lookup(spec.as_bytes()).unwrap();
    parse_syntax(spec).swap_remove(index)
}

#[test]
fn syntax_trees() {
    let pattern = arg("sort", 3);
    assert_eq!(pattern.name, "pattern");
    assert_eq!(pattern.kind, ArgKind::Pattern);
    assert_eq!(pattern.token, Some("GET"));
    assert!(pattern.optional && pattern.multiple && pattern.multiple_token);
    let keys = arg("mget", 0);
    assert_eq!(keys.kind, ArgKind::Key);
    assert!(keys.multiple && !keys.optional && !keys.multiple_token);
    let weights = arg("zunionstore", 3);
    assert_eq!(weights.token, Some("WEIGHTS"));
    assert!(weights.multiple && !weights.multiple_token);
    let pairs = arg("mset", 0);
    let ArgKind::Block(pair) = &pairs.kind else {
        panic!("not a block");
    };
    assert_eq!(pair.len(), 2);
    assert!(pairs.multiple);
    let limit = arg("zrangebyscore", 4);
    assert_eq!(limit.token, Some("LIMIT"));
    assert!(matches!(&limit.kind, ArgKind::Block(children) if children.len() == 2));
    let key_or_empty = arg("migrate", 2);
    let ArgKind::OneOf(choices) = &key_or_empty.kind else {
        panic!("not a choice");
    };
    assert_eq!(choices[1].token, Some(""));
    assert!(!key_or_empty.optional);
    let tracking = parse_syntax(lookup(b"client").unwrap().subcommand(b"tracking").unwrap());
    assert!(matches!(&tracking[0].kind, ArgKind::OneOf(choices) if choices.len() == 2));
    assert_eq!(arg("blpop", 1).kind, ArgKind::Double);
    assert_eq!(arg("wait", 1).kind, ArgKind::Integer);
    assert!(parse_syntax(lookup(b"ping").unwrap())[0].optional);
    assert!(parse_syntax(lookup(b"multi").unwrap()).is_empty());
}

/// Prints an argument tree back in the docs' syntax.
fn render(arg: &Arg) -> String {
    let (inner, base) = match &arg.kind {
        ArgKind::PureToken => {
            let token = match arg.token {
                Some("") => "\"\"",
                token => token.unwrap_or_default(),
            };
            (token.to_string(), token.to_string())
        }
        ArgKind::OneOf(children) => {
            let inner = children.iter().map(render).collect::<Vec<_>>().join(" | ");
            match arg.token {
                Some(token) => {
                    let base = format!("{token} <{inner}>");
                    (base.clone(), base)
                }
                None if arg.optional && !arg.multiple => (inner.clone(), inner),
                None => (inner.clone(), format!("<{inner}>")),
            }
        }
        ArgKind::Block(children) => {
            let inner = children.iter().map(render).collect::<Vec<_>>().join(" ");
            let base = match arg.token {
                Some(token) => format!("{token} {inner}"),
                None => inner.clone(),
            };
            (inner, base)
        }
        _ => {
            let base = match arg.token {
                Some(token) => format!("{token} {}", arg.name),
                None => arg.name.to_string(),
            };
            (arg.name.to_string(), base)
        }
    };
    let mut text = base.clone();
    if arg.multiple {
        let repeated = if arg.multiple_token || arg.token.is_none() {
            &base
        } else {
            &inner
        };
        text = format!("{base} [{repeated} ...]");
    }
    if arg.optional {
        text = format!("[{text}]");
    }
    text
}

#[test]
fn every_syntax_parses_and_prints_back() {
    for (name, spec) in all_specs() {
        let args = parse_syntax(spec);
        let printed: Vec<String> = args.iter().map(render).collect();
        assert_eq!(printed.join(" "), spec.syntax, "{name}");
    }
}

#[test]
fn odd_syntax_does_not_panic() {
    for syntax in [
        "",
        "]",
        "[",
        "<",
        "[a | ]",
        "| |",
        "...",
        "[...]",
        "a [a ...",
        "[[[[x]]]]",
        "X",
        "X Y Z",
        "a ] b > c",
        "<>",
        "[A | B] [<A | B> ...]",
        "\"\"",
    ] {
        let spec: &'static CommandSpec = Box::leak(Box::new(CommandSpec {
            syntax,
            ..data::BASE
        }));
        let _ = parse_syntax(spec);
        let _ = command_docs_reply(spec, &CommandSet::all());
    }
}
