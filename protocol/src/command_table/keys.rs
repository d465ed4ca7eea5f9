//! Redis 7 key specifications: parsing the compact form kept in the table, and finding the keys
//! of commands whose keys are not at fixed positions.

use bytes::Bytes;

use super::CommandSpec;

/// One key specification, as `COMMAND INFO` reports it (Redis 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// Redis's key-spec flags separated by spaces (`RW access delete`).
    pub flags: &'static str,
    /// Where the search for the first key starts.
    pub begin: BeginSearch,
    /// How the keys are found from there.
    pub find: FindKeys,
}

/// The `begin_search` part of a key specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeginSearch {
    /// The first key is at this fixed index.
    Index(i32),
    /// The first key follows `keyword`, searched from `start_from` (negative: backwards from
    /// the end).
    Keyword {
        /// The keyword, upper case.
        keyword: &'static str,
        /// Index where the search starts.
        start_from: i32,
    },
    /// Only the command itself knows.
    Unknown,
}

/// The `find_keys` part of a key specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindKeys {
    /// Keys from the first to `last_key` (relative to the first; negative: from the end), every
    /// `key_step`; a `limit` above 1 keeps only that fraction of the remaining arguments.
    Range {
        /// Last key relative to the first key; negative counts from the end.
        last_key: i32,
        /// Step between keys.
        key_step: i32,
        /// Divisor of the remaining arguments when `last_key` is negative (0: none).
        limit: i32,
    },
    /// A `numkeys` argument gives the number of keys.
    KeyNum {
        /// Index of `numkeys`, relative to the begin-search position.
        key_num_index: i32,
        /// Index of the first key, relative to the begin-search position.
        first_key: i32,
        /// Step between keys.
        key_step: i32,
    },
    /// Only the command itself knows.
    Unknown,
}

/// Parses the compact form of [`CommandSpec::key_specs`]; malformed specs are skipped.
pub(super) fn parse_key_specs(text: &'static str) -> impl Iterator<Item = KeySpec> {
    text.split(';').filter_map(parse_key_spec)
}

fn parse_key_spec(text: &'static str) -> Option<KeySpec> {
    let mut parts = text.split('/');
    let flags = parts.next()?;
    let begin = parts.next()?;
    let find = parts.next()?;
    let begin = match begin.as_bytes().first()? {
        b'i' => BeginSearch::Index(begin[1..].parse().ok()?),
        b'k' => {
            let (keyword, start) = begin[1..].split_once(',')?;
            BeginSearch::Keyword {
                keyword,
                start_from: start.parse().ok()?,
            }
        }
        _ => BeginSearch::Unknown,
    };
    let find = match find.as_bytes().first()? {
        b'r' | b'n' => {
            let mut numbers = find[1..].split(',').map(str::parse::<i32>);
            let a = numbers.next()?.ok()?;
            let b = numbers.next()?.ok()?;
            let c = numbers.next()?.ok()?;
            if find.starts_with('r') {
                FindKeys::Range {
                    last_key: a,
                    key_step: b,
                    limit: c,
                }
            } else {
                FindKeys::KeyNum {
                    key_num_index: a,
                    first_key: b,
                    key_step: c,
                }
            }
        }
        _ => FindKeys::Unknown,
    };
    Some(KeySpec { flags, begin, find })
}

/// The keys of a `MOVABLE_KEYS` command, from its key specifications (Redis's generic
/// algorithm), with Redis's own rules for `SORT` and `MIGRATE`.
pub(super) fn movable_key_indexes(spec: &CommandSpec, args: &[Bytes]) -> Vec<usize> {
    let mut keys = Vec::new();
    if spec.name == "sort" {
        sort_keys(args, &mut keys);
        return keys;
    }
    for key_spec in spec.key_specs() {
        spec_keys(&key_spec, args, &mut keys);
    }
    if spec.name == "migrate" && args.get(3).is_some_and(|key| key.is_empty()) {
        // `MIGRATE host port "" db timeout ... KEYS k...`: the empty string is no key.
        keys.retain(|&index| index != 3);
    }
    keys
}

/// The keys of a request, each with the flags of the key specification that found it
/// (`COMMAND GETKEYSANDFLAGS`): Redis's generic key-spec search, spec by spec, with its own
/// rules for `SORT` (the key, then the `STORE` destination) and `MIGRATE`.
pub(super) fn keys_and_flags(spec: &CommandSpec, args: &[Bytes]) -> Vec<(usize, &'static str)> {
    let specs: Vec<KeySpec> = spec.key_specs().collect();
    if specs.is_empty() {
        return spec
            .key_indexes(args)
            .into_iter()
            .map(|i| (i, ""))
            .collect();
    }
    if spec.name == "sort" {
        let mut keys = Vec::new();
        sort_keys(args, &mut keys);
        let flags = |n: usize| {
            if n == 0 {
                specs[0].flags
            } else {
                specs[specs.len() - 1].flags
            }
        };
        return keys
            .into_iter()
            .enumerate()
            .map(|(n, i)| (i, flags(n)))
            .collect();
    }
    let mut found = Vec::new();
    let mut keys = Vec::new();
    for key_spec in &specs {
        keys.clear();
        spec_keys(key_spec, args, &mut keys);
        let flags = match key_spec.flags.strip_suffix(" variable_flags") {
            Some(_) => variable_flags(spec.name, args),
            None => key_spec.flags,
        };
        found.extend(keys.iter().map(|&i| (i, flags)));
    }
    if spec.name == "migrate" && args.get(3).is_some_and(|key| key.is_empty()) {
        found.retain(|&(index, _)| index != 3);
    }
    found
}

/// The flags of a key whose spec says `variable_flags`, from the request as Redis's
/// `setGetKeys` and `bitfieldGetKeys` decide them: `SET` reads the old value only with `GET`;
/// `BITFIELD` only reads unless it has `SET` or `INCRBY` (or something it cannot parse).
fn variable_flags(command: &str, args: &[Bytes]) -> &'static str {
    match command {
        "set" if args.iter().skip(3).any(|a| is_word(a, "get")) => "RW access update",
        "set" => "OW update",
        "bitfield" => {
            let mut i = 2;
            while i < args.len() {
                let left = args.len() - i - 1;
                if is_word(&args[i], "get") && left >= 2 {
                    i += 3;
                } else if is_word(&args[i], "overflow") && left >= 1 {
                    i += 2;
                } else {
                    return "RW access update";
                }
            }
            "RO access"
        }
        _ => "RW access update",
    }
}

/// Appends the keys that one key specification finds in `args`.
fn spec_keys(key_spec: &KeySpec, args: &[Bytes], keys: &mut Vec<usize>) {
    let argc = args.len() as i64;
    let first = match key_spec.begin {
        BeginSearch::Index(index) => i64::from(index),
        BeginSearch::Keyword {
            keyword,
            start_from,
        } => {
            let found = if start_from >= 0 {
                (i64::from(start_from)..argc).find(|&i| is_word(&args[i as usize], keyword))
            } else {
                let start = argc + i64::from(start_from);
                (1..=start)
                    .rev()
                    .find(|&i| is_word(&args[i as usize], keyword))
            };
            match found {
                Some(position) => position + 1,
                None => return,
            }
        }
        BeginSearch::Unknown => return,
    };
    if first <= 0 || first >= argc {
        return;
    }
    let (first, last, step) = match key_spec.find {
        FindKeys::Range {
            last_key,
            key_step,
            limit,
        } => {
            let last_key = i64::from(last_key);
            let last = if last_key >= 0 {
                first + last_key
            } else if limit <= 1 {
                argc + last_key
            } else {
                first + (argc - first) / i64::from(limit) + last_key
            };
            (first, last, i64::from(key_step))
        }
        FindKeys::KeyNum {
            key_num_index,
            first_key,
            key_step,
        } => {
            let Some(numkeys) = args.get((first + i64::from(key_num_index)) as usize) else {
                return;
            };
            let Some(numkeys) = parse_count(numkeys) else {
                return;
            };
            let start = first + i64::from(first_key);
            let step = i64::from(key_step).max(1);
            (start, start + (numkeys - 1) * step, step)
        }
        FindKeys::Unknown => return,
    };
    let last = last.min(argc - 1);
    let step = step.max(1) as usize;
    if first < 1 || last < first {
        return;
    }
    keys.extend((first as usize..=last as usize).step_by(step));
}

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]`: the key, and the destination of the last `STORE`.
fn sort_keys(args: &[Bytes], keys: &mut Vec<usize>) {
    if args.len() < 2 {
        return;
    }
    keys.push(1);
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if arg.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if arg.eq_ignore_ascii_case(b"get") || arg.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if arg.eq_ignore_ascii_case(b"store") && i + 1 < args.len() {
            store = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    keys.extend(store);
}

fn is_word(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// A non-negative decimal count, as `numkeys` must be; `None` otherwise.
fn parse_count(arg: &[u8]) -> Option<i64> {
    if arg.is_empty() || arg.len() > 18 || !arg.iter().all(u8::is_ascii_digit) {
        return None;
    }
    arg.iter()
        .try_fold(0i64, |n, &digit| Some(n * 10 + i64::from(digit - b'0')))
}
