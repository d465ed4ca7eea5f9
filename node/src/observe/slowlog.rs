//! The slow log: the last `slowlog-max-len` commands that ran for at least
//! `slowlog-log-slower-than` µs, newest first, with their arguments cut as Redis cuts them.
//! Source: Redis 7.2 `slowlog.c`.

use std::collections::VecDeque;

use bytes::Bytes;
use redoubt_protocol::Reply;

/// Arguments an entry keeps; the last kept one says how many more there were.
const MAX_ARGS: usize = 32;
/// Bytes of one argument an entry keeps; a longer one says how many more it had.
const MAX_ARG_BYTES: usize = 128;

/// One logged command.
#[derive(Debug)]
struct Entry {
    id: u64,
    unix_secs: u64,
    usec: u64,
    args: Vec<Bytes>,
    peer: String,
    name: Bytes,
}

/// The slow log, newest entry first.
#[derive(Debug, Default)]
pub(crate) struct SlowLog {
    entries: VecDeque<Entry>,
    next_id: u64,
}

/// Who ran a logged command: its address (`ip:port`; `?:0` for a script's call) and name.
pub(crate) struct Caller<'a> {
    /// `ip:port`, or `?:0` for a command a script called.
    pub(crate) peer: &'a dyn std::fmt::Display,
    /// The client's name (empty when it has none).
    pub(crate) name: &'a [u8],
}

impl SlowLog {
    /// Logs a command of `args` that took `usec` µs, then trims the log to `max_len` entries
    /// (Redis trims only here, so a lowered `slowlog-max-len` shows at the next entry).
    /// Arguments at `redacted` positions are logged as `(redacted)`.
    pub(crate) fn push(
        &mut self,
        args: &[Bytes],
        redacted: &[usize],
        usec: u64,
        unix_secs: u64,
        caller: Caller<'_>,
        max_len: usize,
    ) {
        let kept = args.len().min(MAX_ARGS);
        let mut logged = Vec::with_capacity(kept);
        for (i, arg) in args.iter().take(kept).enumerate() {
            let arg = if kept != args.len() && i == kept - 1 {
                Bytes::from(format!("... ({} more arguments)", args.len() - kept + 1))
            } else if redacted.contains(&i) {
                Bytes::from_static(b"(redacted)")
            } else if arg.len() > MAX_ARG_BYTES {
                let mut cut = arg[..MAX_ARG_BYTES].to_vec();
                cut.extend_from_slice(
                    format!("... ({} more bytes)", arg.len() - MAX_ARG_BYTES).as_bytes(),
                );
                Bytes::from(cut)
            } else {
                // A copy, so the entry does not pin the request's whole read buffer.
                Bytes::copy_from_slice(arg)
            };
            logged.push(arg);
        }
        self.entries.push_front(Entry {
            id: self.next_id,
            unix_secs,
            usec,
            args: logged,
            peer: caller.peer.to_string(),
            name: Bytes::copy_from_slice(caller.name),
        });
        self.next_id += 1;
        self.entries.truncate(max_len);
    }

    /// Entries kept (`SLOWLOG LEN`).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Empties the log (`SLOWLOG RESET`); ids keep counting.
    pub(crate) fn reset(&mut self) {
        self.entries.clear();
    }

    /// The newest `count` entries (`SLOWLOG GET`): each `[id, unix time, µs, [arg ...],
    /// peer, name]`.
    pub(crate) fn reply(&self, count: usize) -> Reply {
        Reply::Array(
            self.entries
                .iter()
                .take(count)
                .map(|e| {
                    Reply::Array(vec![
                        Reply::Int(e.id as i64),
                        Reply::Int(e.unix_secs as i64),
                        Reply::Int(e.usec as i64),
                        Reply::Array(e.args.iter().cloned().map(Reply::Bulk).collect()),
                        Reply::bulk(e.peer.as_bytes()),
                        Reply::Bulk(e.name.clone()),
                    ])
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller<'static> {
        Caller {
            peer: &"1.2.3.4:5",
            name: b"",
        }
    }

    #[test]
    fn cuts_arguments_as_redis() {
        let mut log = SlowLog::default();
        let mut args: Vec<Bytes> = (0..40).map(|i| Bytes::from(i.to_string())).collect();
        args[1] = Bytes::from(vec![b'x'; 200]);
        log.push(&args, &[2], 7, 100, caller(), 10);
        let Reply::Array(entries) = log.reply(10) else {
            panic!()
        };
        let Reply::Array(entry) = &entries[0] else {
            panic!()
        };
        let Reply::Array(logged) = &entry[3] else {
            panic!()
        };
        assert_eq!(logged.len(), 32);
        assert_eq!(logged[31], Reply::bulk("... (9 more arguments)"));
        assert_eq!(logged[2], Reply::bulk("(redacted)"));
        let Reply::Bulk(long) = &logged[1] else {
            panic!()
        };
        assert!(long.ends_with(b"x... (72 more bytes)"));
        assert_eq!(long.len(), 128 + "... (72 more bytes)".len());
    }

    #[test]
    fn keeps_the_newest_max_len() {
        let mut log = SlowLog::default();
        for i in 0..5 {
            log.push(&[Bytes::from(i.to_string())], &[], 1, 1, caller(), 3);
        }
        assert_eq!(log.len(), 3);
        let Reply::Array(entries) = log.reply(1) else {
            panic!()
        };
        assert_eq!(entries.len(), 1);
        let Reply::Array(entry) = &entries[0] else {
            panic!()
        };
        assert_eq!(entry[0], Reply::Int(4));
    }
}
