//! Reading one parameter's arguments into its canonical text, the form `CONFIG GET` prints,
//! with Redis's validation and error texts. Sources: Redis 7.2 `config.c` (`boolConfigSet`,
//! `enumConfigSet`, `numericParseString`, `numericBoundaryCheck`, the `setConfig*Option`
//! functions of the special parameters), `util.c` (`memtoull`, `string2ll`, `string2d`),
//! `notify.c` (`keyspaceEventsStringToFlags`).

use super::table::{IntFormat, Kind, Param, MULTI_ARG};

/// Redis copies enum error texts into a 256-byte buffer, so long word lists are cut short.
const LOADBUF_SIZE: usize = 256;
/// Most addresses `bind` takes (`CONFIG_BINDADDR_MAX`).
const BIND_MAX: usize = 16;

/// Reads `args` as a new value of `param`, given its `current` canonical text (needed by
/// `client-output-buffer-limit`, which changes only the classes named).
///
/// Returns the canonical text.
///
/// # Errors
/// Redis's reason text, without the `ERR CONFIG SET failed ... - ` prefix, such as
/// `argument must be 'yes' or 'no'`.
pub(crate) fn parse(param: &Param, args: &[&[u8]], current: &[u8]) -> Result<Vec<u8>, String> {
    let value = match param.kind {
        Kind::Bool => parse_bool(one(args)?)?,
        Kind::Enum(words) => parse_enum(words, param.has(MULTI_ARG), args)?,
        Kind::Int {
            min,
            max,
            unsigned,
            format,
        } => {
            let n = parse_int(one(args)?, format)?;
            check_bounds(n, min, max, unsigned, format)?;
            format_int(n, format).into_bytes()
        }
        Kind::Str { .. } => one(args)?.to_vec(),
        Kind::Save => parse_save(args)?,
        Kind::ClientOutputBufferLimit => parse_output_buffer_limits(args, current)?,
        Kind::OomScoreAdjValues => parse_oom_values(args)?,
        Kind::NotifyKeyspaceEvents => {
            let [flags] = args else {
                return Err("wrong number of arguments".into());
            };
            let bits = notify_flags(flags)
                .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
            notify_string(bits).into_bytes()
        }
        Kind::Bind => parse_bind(args)?,
        Kind::Dir => parse_dir(args)?,
        Kind::ReplicaOf => parse_replicaof(args)?,
        Kind::LatencyPercentiles => parse_percentiles(args)?,
    };
    if let Some(check) = param.check {
        check(&value)?;
    }
    Ok(value)
}

fn one<'a>(args: &[&'a [u8]]) -> Result<&'a [u8], String> {
    match args {
        [arg] => Ok(arg),
        _ => Err("wrong number of arguments".into()),
    }
}

fn parse_bool(arg: &[u8]) -> Result<Vec<u8>, String> {
    if arg.eq_ignore_ascii_case(b"yes") {
        Ok(b"yes".to_vec())
    } else if arg.eq_ignore_ascii_case(b"no") {
        Ok(b"no".to_vec())
    } else {
        Err("argument must be 'yes' or 'no'".into())
    }
}

fn parse_enum(words: &[(&str, u32)], multi: bool, args: &[&[u8]]) -> Result<Vec<u8>, String> {
    let invalid = || {
        let list: Vec<&str> = words.iter().map(|(w, _)| *w).collect();
        let mut text = format!(
            "argument(s) must be one of the following: {}",
            list.join(", ")
        );
        text.truncate(LOADBUF_SIZE - 1);
        text
    };
    if args.is_empty() || (!multi && args.len() != 1) {
        return Err(invalid());
    }
    let mut bits = 0;
    for arg in args {
        let matched: Vec<u32> = words
            .iter()
            .filter(|(w, _)| arg.eq_ignore_ascii_case(w.as_bytes()))
            .map(|e| e.1)
            .collect();
        if matched.is_empty() {
            return Err(invalid());
        }
        bits |= matched.iter().fold(0, |a, b| a | b);
    }
    Ok(enum_name(words, bits, multi).into_bytes())
}

/// The words for `bits` as `configEnumGetName` prints them: the first word with exactly this
/// value, else (multi-word enums) the words whose bits are all set, in table order.
pub(crate) fn enum_name(words: &[(&str, u32)], bits: u32, multi: bool) -> String {
    let mut names = Vec::new();
    let mut unmatched = bits;
    for (word, value) in words {
        if *value == bits {
            return (*word).to_string();
        }
        if multi && *value != 0 && *value == unmatched & value {
            names.push(*word);
            unmatched &= !value;
        }
    }
    if names.is_empty() || unmatched != 0 {
        return "unknown".to_string();
    }
    names.join(" ")
}

/// Reads an integer argument the way `numericParseString` does for `format`.
fn parse_int(arg: &[u8], format: IntFormat) -> Result<i64, String> {
    let parsed = match format {
        IntFormat::Plain => string_to_i64(arg),
        IntFormat::Memory => memory_to_u64(arg).map(|n| n as i64),
        IntFormat::MemoryPercent => memory_to_u64(arg).map(|n| n as i64).or_else(|| {
            let digits = arg.strip_suffix(b"%").filter(|d| !d.is_empty())?;
            string_to_i64(digits).filter(|n| *n >= 0).map(|n| -n)
        }),
        IntFormat::Octal => octal_to_i64(arg),
    };
    parsed.ok_or_else(|| {
        match format {
            IntFormat::Plain => "argument couldn't be parsed into an integer",
            IntFormat::Memory => "argument must be a memory value",
            IntFormat::MemoryPercent => "argument must be a memory or percent value",
            IntFormat::Octal => "argument couldn't be parsed as an octal number",
        }
        .to_string()
    })
}

fn check_bounds(
    n: i64,
    min: i128,
    max: i128,
    unsigned: bool,
    format: IntFormat,
) -> Result<(), String> {
    if unsigned {
        // C compares the value as unsigned: -1 is 2^64-1, far above any bound.
        let (value, lo, hi) = (n as u64 as i128, min, max);
        if value < lo || value > hi {
            return Err(if format == IntFormat::Octal {
                format!("argument must be between {lo:o} and {hi:o} inclusive")
            } else {
                format!("argument must be between {lo} and {hi} inclusive")
            });
        }
        return Ok(());
    }
    let value = i128::from(n);
    if format == IntFormat::MemoryPercent && n < 0 {
        if value < min {
            return Err(format!(
                "percentage argument must be less or equal to {}",
                -min
            ));
        }
    } else if value < min || value > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(())
}

fn format_int(n: i64, format: IntFormat) -> String {
    match format {
        IntFormat::MemoryPercent if n < 0 => format!("{}%", -i128::from(n)),
        IntFormat::Memory | IntFormat::MemoryPercent => (n as u64).to_string(),
        IntFormat::Octal => format!("{n:o}"),
        IntFormat::Plain => n.to_string(),
    }
}

/// Redis's `string2ll`: an optional `-`, then digits without a leading zero (`0` alone is
/// fine); no blanks, no `+`; `None` on overflow.
pub(crate) fn string_to_i64(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let canonical = match digits {
        [b'0'] => text.len() == 1,
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
        [] => false,
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Redis's `memtoull`: digits then an optional unit `b`, `k` (1000), `kb` (1024), `m`, `mb`,
/// `g`, `gb`, any case. No sign. Like C's `strtoull`, no digits reads as 0, too many
/// saturates, and the unit multiplication wraps.
pub(crate) fn memory_to_u64(text: &[u8]) -> Option<u64> {
    if text.first() == Some(&b'-') {
        return None;
    }
    let split = text
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let unit = unit.to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    let value = digits.iter().fold(0u64, |acc, d| {
        acc.checked_mul(10)
            .and_then(|a| a.checked_add(u64::from(d - b'0')))
            .unwrap_or(u64::MAX)
    });
    Some(value.wrapping_mul(mul))
}

/// C's `strtoll(text, &end, 8)` with `*end == '\0'` required: blanks, a sign, octal digits.
fn octal_to_i64(text: &[u8]) -> Option<i64> {
    let mut rest = text.trim_ascii_start();
    let negative = rest.first() == Some(&b'-');
    if matches!(rest.first(), Some(b'-' | b'+')) {
        rest = &rest[1..];
    }
    let mut value: i64 = 0;
    for c in rest {
        if !(b'0'..=b'7').contains(c) {
            return None;
        }
        value = value.checked_mul(8)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(if negative { -value } else { value })
}

/// C's `strtoll(text, &end, 10)` with `*end == '\0'` required; the empty string reads as 0,
/// overflow saturates, as the `save` and `oom-score-adj-values` parsers see it.
fn strtoll_whole(text: &[u8]) -> Option<i64> {
    if text.is_empty() {
        return Some(0);
    }
    let mut rest = text.trim_ascii_start();
    let negative = rest.first() == Some(&b'-');
    if matches!(rest.first(), Some(b'-' | b'+')) {
        rest = &rest[1..];
    }
    // No digits: C leaves the end pointer at the start, on a non-NUL character.
    if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = rest.iter().fold(0i128, |acc, d| {
        (acc * 10 + i128::from(d - b'0')).min(1 << 64)
    });
    let signed = if negative { -magnitude } else { magnitude };
    Some(signed.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

fn parse_save(args: &[&[u8]]) -> Result<Vec<u8>, String> {
    let args = if args == [b"".as_slice()] {
        &[][..]
    } else {
        args
    };
    let invalid = || "Invalid save parameters".to_string();
    if args.len() % 2 != 0 {
        return Err(invalid());
    }
    let mut out = Vec::new();
    for pair in args.chunks(2) {
        let seconds = strtoll_whole(pair[0])
            .filter(|s| *s >= 1)
            .ok_or_else(invalid)?;
        let changes = strtoll_whole(pair[1])
            .filter(|c| *c >= 0)
            .ok_or_else(invalid)?;
        out.push(format!("{seconds} {}", changes as i32));
    }
    Ok(out.join(" ").into_bytes())
}

/// Client classes in the order `CONFIG GET client-output-buffer-limit` prints them.
pub(crate) const OUTPUT_BUFFER_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// The three classes' `(hard bytes, soft bytes, soft seconds)` from the canonical text.
pub(crate) fn output_buffer_limits(text: &[u8]) -> [(u64, u64, i64); 3] {
    let mut limits = [(0, 0, 0); 3];
    let words: Vec<&[u8]> = text.split(|&c| c == b' ').collect();
    for group in words.chunks_exact(4) {
        if let Some(i) = OUTPUT_BUFFER_CLASSES
            .iter()
            .position(|c| c.as_bytes() == group[0])
        {
            let number = |w: &[u8]| std::str::from_utf8(w).ok().and_then(|s| s.parse().ok());
            limits[i] = (
                number(group[1]).unwrap_or(0),
                number(group[2]).unwrap_or(0),
                number(group[3]).map_or(0, |n: u64| n as i64),
            );
        }
    }
    limits
}

fn parse_output_buffer_limits(args: &[&[u8]], current: &[u8]) -> Result<Vec<u8>, String> {
    if args.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut limits = output_buffer_limits(current);
    let mut updates = Vec::new();
    for group in args.chunks(4) {
        let class = match group[0].to_ascii_lowercase().as_slice() {
            b"normal" => 0,
            b"slave" | b"replica" => 1,
            b"pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = memory_to_u64(group[1]).ok_or_else(bad)?;
        let soft = memory_to_u64(group[2]).ok_or_else(bad)?;
        let seconds = strtoll_whole(group[3])
            .map(|s| s as i32)
            .filter(|s| *s >= 0)
            .ok_or_else(bad)?;
        updates.push((class, (hard, soft, i64::from(seconds))));
    }
    for (class, limit) in updates {
        limits[class] = limit;
    }
    let text: Vec<String> = OUTPUT_BUFFER_CLASSES
        .iter()
        .zip(limits)
        .map(|(class, (hard, soft, seconds))| format!("{class} {hard} {soft} {seconds}"))
        .collect();
    Ok(text.join(" ").into_bytes())
}

fn parse_oom_values(args: &[&[u8]]) -> Result<Vec<u8>, String> {
    if args.len() != 3 {
        return Err("wrong number of arguments".into());
    }
    let mut values = Vec::new();
    for arg in args {
        let value = strtoll_whole(arg)
            .filter(|v| (-2000..=2000).contains(v))
            .ok_or("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")?;
        values.push(value.to_string());
    }
    Ok(values.join(" ").into_bytes())
}

/// Keyspace notification classes: letter and bit, as `notify.c` defines them.
const NOTIFY_BITS: &[(u8, u32)] = &[
    (b'K', 1 << 0),
    (b'E', 1 << 1),
    (b'g', 1 << 2),
    (b'$', 1 << 3),
    (b'l', 1 << 4),
    (b's', 1 << 5),
    (b'h', 1 << 6),
    (b'z', 1 << 7),
    (b'x', 1 << 8),
    (b'e', 1 << 9),
    (b't', 1 << 10),
    (b'm', 1 << 11),
    (b'd', 1 << 13),
    (b'n', 1 << 14),
];
/// `A`: every type class, without `K`, `E`, `m` and `n`.
const NOTIFY_ALL: u32 = 0b10_0111_1111_1100;

/// The class bits of a `notify-keyspace-events` argument; `None` on an unknown letter.
pub(crate) fn notify_flags(text: &[u8]) -> Option<u32> {
    text.iter().try_fold(0, |bits, &c| {
        if c == b'A' {
            return Some(bits | NOTIFY_ALL);
        }
        NOTIFY_BITS
            .iter()
            .find(|(letter, _)| *letter == c)
            .map(|(_, bit)| bits | bit)
    })
}

/// The canonical letters for `bits`: `A` or the type classes in `g$lshzxetdn` order, then
/// `K`, `E`, `m` (`keyspaceEventsFlagsToString`).
pub(crate) fn notify_string(bits: u32) -> String {
    let bit = |letter: u8| {
        NOTIFY_BITS
            .iter()
            .find(|(l, _)| *l == letter)
            .map_or(0, |e| e.1)
    };
    let mut out = String::new();
    if bits & NOTIFY_ALL == NOTIFY_ALL {
        out.push('A');
    } else {
        for letter in *b"g$lshzxetdn" {
            if bits & bit(letter) != 0 {
                out.push(letter as char);
            }
        }
    }
    for letter in *b"KEm" {
        if bits & bit(letter) != 0 {
            out.push(letter as char);
        }
    }
    out
}

fn parse_bind(args: &[&[u8]]) -> Result<Vec<u8>, String> {
    if args.len() > BIND_MAX {
        return Err("Too many bind addresses specified.".into());
    }
    let args = if args == [b"".as_slice()] {
        &[][..]
    } else {
        args
    };
    Ok(args.join(&b' '))
}

fn parse_dir(args: &[&[u8]]) -> Result<Vec<u8>, String> {
    let path = std::str::from_utf8(one(args)?).map_err(|_| "Invalid argument".to_string())?;
    let os_error = |e: std::io::Error| {
        let text = e.to_string();
        text.split(" (os error").next().unwrap_or(&text).to_string()
    };
    let absolute = std::fs::canonicalize(path).map_err(os_error)?;
    if !absolute.is_dir() {
        return Err("Not a directory".into());
    }
    Ok(absolute.to_string_lossy().into_owned().into_bytes())
}

fn parse_replicaof(args: &[&[u8]]) -> Result<Vec<u8>, String> {
    let [host, port] = args else {
        return Err("wrong number of arguments".into());
    };
    if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
        return Ok(Vec::new());
    }
    let port = strtoll_whole(port)
        .filter(|p| (0..=65535).contains(p))
        .ok_or("Invalid master port")?;
    let mut out = host.to_vec();
    out.extend_from_slice(format!(" {port}").as_bytes());
    Ok(out)
}

fn parse_percentiles(args: &[&[u8]]) -> Result<Vec<u8>, String> {
    let args = if args == [b"".as_slice()] {
        &[][..]
    } else {
        args
    };
    let mut out = Vec::new();
    for arg in args {
        let text = std::str::from_utf8(arg)
            .ok()
            .filter(|t| !t.starts_with(|c: char| c.is_ascii_whitespace()));
        let value: f64 = text
            .and_then(|t| t.parse().ok())
            .filter(|v: &f64| !v.is_nan() && !v.is_infinite())
            .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
        if !(0.0..=100.0).contains(&value) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .into(),
            );
        }
        out.push(format_percentile(value));
    }
    Ok(out.join(" ").into_bytes())
}

/// `%f` with trailing zeros and a trailing dot removed (`trimDoubleString`).
fn format_percentile(value: f64) -> String {
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `dbfilename`: `isValidDBfilename`.
pub(crate) fn check_dbfilename(value: &[u8]) -> Result<(), &'static str> {
    base_name(value)
        .then_some(())
        .ok_or("dbfilename can't be a path, just a filename")
}

/// `appendfilename`: `isValidAOFfilename`.
pub(crate) fn check_appendfilename(value: &[u8]) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("appendfilename can't be empty");
    }
    base_name(value)
        .then_some(())
        .ok_or("appendfilename can't be a path, just a filename")
}

/// `appenddirname`: `isValidAOFdirname`.
pub(crate) fn check_appenddirname(value: &[u8]) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("appenddirname can't be empty");
    }
    base_name(value)
        .then_some(())
        .ok_or("appenddirname can't be a path, just a dirname")
}

fn base_name(value: &[u8]) -> bool {
    !value.contains(&b'/') && !value.contains(&b'\\')
}

/// `cluster-announce-hostname`: `isValidAnnouncedHostname`.
pub(crate) fn check_hostname(value: &[u8]) -> Result<(), &'static str> {
    if value.len() >= 256 {
        return Err("Hostnames must be less than 256 characters");
    }
    if !value
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.')
    {
        return Err("Hostnames may only contain alphanumeric characters, hyphens or dots");
    }
    Ok(())
}

/// `cluster-announce-human-nodename`: `isValidAuxString`, which refuses the punctuation
/// `!#$%&()*+:;<>?@[]^{|}~`.
pub(crate) fn check_nodename(value: &[u8]) -> Result<(), &'static str> {
    let refused = b"!#$%&()*+:;<>?@[]^{|}~";
    if value.iter().any(|c| refused.contains(c)) {
        return Err("Announced human node name contained invalid character");
    }
    Ok(())
}

/// `shutdown-on-sigint`/`-sigterm`: `isValidShutdownOnSigFlags`.
pub(crate) fn check_shutdown_flags(value: &[u8]) -> Result<(), &'static str> {
    let words: Vec<&[u8]> = value.split(|&c| c == b' ').collect();
    if words.contains(&b"save".as_slice()) && words.contains(&b"nosave".as_slice()) {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously");
    }
    Ok(())
}

/// `proc-title-template`: `{var}` names from Redis's list, `{{`/`}}` for braces, and a
/// result that is not blank once `{title}` is empty (`validateProcTitleTemplate`).
pub(crate) fn check_proc_title_template(value: &[u8]) -> Result<(), &'static str> {
    const INVALID: &str = "template format is invalid or contains unknown variables";
    const NON_EMPTY: &[&[u8]] = &[b"listen-addr", b"port", b"tls-port"];
    const KNOWN: &[&[u8]] = &[
        b"title",
        b"listen-addr",
        b"server-mode",
        b"port",
        b"tls-port",
        b"unixsocket",
        b"config-file",
    ];
    let mut visible = false;
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'{' if value.get(i + 1) == Some(&b'{') => {
                visible = true;
                i += 2;
            }
            b'}' if value.get(i + 1) == Some(&b'}') => {
                visible = true;
                i += 2;
            }
            b'{' => {
                let end = value[i..].iter().position(|&c| c == b'}').ok_or(INVALID)? + i;
                let name = &value[i + 1..end];
                if !KNOWN.contains(&name) {
                    return Err(INVALID);
                }
                visible |= NON_EMPTY.contains(&name);
                i = end + 1;
            }
            b'}' => return Err(INVALID),
            c => {
                visible |= c != b' ';
                i += 1;
            }
        }
    }
    visible.then_some(()).ok_or(INVALID)
}

/// Quotes `bytes` as Redis's `sdscatrepr` does: inside `"`, with `\\ \" \n \r \t \a \b`
/// escapes and `\xHH` for other unprintable bytes. `split_args` reads it back.
pub(crate) fn repr(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &c in bytes {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}
