//! What the node records about the commands it runs, for the introspection commands: the slow
//! log (`SLOWLOG`), the latency monitor's event samples (`LATENCY LATEST | HISTORY | GRAPH |
//! DOCTOR`), per-command latency histograms (`LATENCY HISTOGRAM`, `INFO latencystats`) and the
//! clients in `MONITOR` mode.
//!
//! Everything lives in the store (under its lock) as one [`Observe`]; `crate::exec` feeds it
//! after each command from the one duration it already measures, so recording costs nothing
//! when the slow log and the latency monitor are off and nobody monitors. Sources: Redis 7.2
//! `slowlog.c`, `latency.c`, `sparkline.c`, the `hdr_histogram` settings of `server.c`
//! (1 ns to 1 s, two significant digits) and `replicationFeedMonitors` in `replication.c`.

pub(crate) mod histogram;
pub(crate) mod latency;
pub(crate) mod monitor;
pub(crate) mod slowlog;

/// The store's observation state.
#[derive(Debug, Default)]
pub(crate) struct Observe {
    /// The slow log.
    pub(crate) slowlog: slowlog::SlowLog,
    /// The latency monitor's time series by event.
    pub(crate) latency: latency::LatencyMonitor,
    /// Clients in `MONITOR` mode.
    pub(crate) monitors: monitor::Monitors,
    /// Depth of `redis.call` nesting: above 0, the running command comes from a script
    /// (`MONITOR` shows it as from `lua`, the slow log from `?:0`).
    pub(crate) script_depth: u32,
}

/// Redis's `sdscatrepr`: `bytes` in double quotes, with `"` and `\` escaped, `\n \r \t \a \b`
/// spelled so, other unprintable bytes as `\xhh`.
pub(crate) fn quote(bytes: &[u8], out: &mut String) {
    use std::fmt::Write as _;
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
}

/// The arguments of `args` that Redis redacts from the slow log and `MONITOR` (its
/// `redactClientCommandArgument` calls): every argument of `AUTH`, the user and password after
/// `HELLO ... AUTH`, the password of `MIGRATE ... AUTH` / `AUTH2`, and the value of a
/// sensitive parameter in `CONFIG SET`.
pub(crate) fn redacted(args: &[bytes::Bytes]) -> Vec<usize> {
    let is = |arg: &[u8], word: &str| arg.eq_ignore_ascii_case(word.as_bytes());
    let Some(name) = args.first() else {
        return Vec::new();
    };
    let mut hidden = Vec::new();
    if is(name, "auth") {
        hidden.extend(1..args.len());
    } else if is(name, "hello") {
        if let Some(at) = args.iter().position(|a| is(a, "auth")) {
            hidden.extend((at + 1..args.len()).take(2));
        }
    } else if is(name, "migrate") {
        for (i, arg) in args.iter().enumerate().skip(6) {
            if is(arg, "auth") {
                hidden.push(i + 1);
            } else if is(arg, "auth2") {
                hidden.extend([i + 1, i + 2]);
            } else if is(arg, "keys") {
                break;
            }
        }
    } else if is(name, "config") && args.get(1).is_some_and(|a| is(a, "set")) {
        for i in (2..args.len()).step_by(2) {
            if crate::params::find(&args[i])
                .is_some_and(|(param, _)| param.flags & crate::params::SENSITIVE != 0)
            {
                hidden.push(i + 1);
            }
        }
    }
    hidden.retain(|&i| i < args.len());
    hidden
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_as_sdscatrepr() {
        let mut out = String::new();
        quote(b"a b\x01\"c\\\n\x07\xff", &mut out);
        assert_eq!(out, r#""a b\x01\"c\\\n\a\xff""#);
    }

    #[test]
    fn redaction_follows_redis() {
        let args = |s: &str| -> Vec<bytes::Bytes> {
            s.split(' ')
                .map(|w| bytes::Bytes::copy_from_slice(w.as_bytes()))
                .collect()
        };
        assert_eq!(redacted(&args("AUTH u p")), vec![1, 2]);
        assert_eq!(redacted(&args("HELLO 3 AUTH u p SETNAME n")), vec![3, 4]);
        assert_eq!(
            redacted(&args("CONFIG SET requirepass x maxmemory 1")),
            vec![3]
        );
        assert_eq!(redacted(&args("MIGRATE h 1 k 0 5 AUTH2 u p")), vec![7, 8]);
        assert!(redacted(&args("SET k v")).is_empty());
    }
}
