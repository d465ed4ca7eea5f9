//! Clients in `MONITOR` mode and the lines they receive: every command another client (or a
//! script) runs, formatted as Redis's `replicationFeedMonitors` does
//! (`+1700000000.123456 [0 127.0.0.1:12345] "SET" "k" "v"`), queued to the monitor's outbox
//! within its output limit: a monitor that stops reading is cut off, never buffered without
//! bound.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::pubsub::{Kind, Message, Outbox, OutputLimit};

/// Hard limit of a monitor's queued lines when `client-output-buffer-limit normal` sets
/// none (bytes): Redis would let it grow; the node bounds it.
pub(crate) const DEFAULT_HARD_LIMIT: u64 = 64 << 20;

/// The monitors, by client id.
#[derive(Debug, Default)]
pub(crate) struct Monitors {
    clients: Vec<(u64, Arc<Outbox>)>,
}

impl Monitors {
    /// True when nobody monitors: the one check on the request path.
    pub(crate) fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// True when client `id` is a monitor.
    pub(crate) fn contains(&self, id: u64) -> bool {
        self.clients.iter().any(|(client, _)| *client == id)
    }

    /// Makes client `id` a monitor; false when it already was.
    pub(crate) fn add(&mut self, id: u64, outbox: Arc<Outbox>) -> bool {
        if self.contains(id) {
            return false;
        }
        self.clients.push((id, outbox));
        true
    }

    /// Ends client `id`'s monitoring (`RESET`, disconnect).
    pub(crate) fn remove(&mut self, id: u64) {
        self.clients.retain(|(client, _)| *client != id);
    }

    /// Sends every monitor the line for `args` run on database `db` by `from` (`ip:port`,
    /// or `lua`), with `redacted` arguments shown as `(redacted)`. A monitor whose queue
    /// outgrows `limit` is cut off and forgotten.
    pub(crate) fn feed(
        &mut self,
        db: usize,
        from: &dyn std::fmt::Display,
        args: &[Bytes],
        redacted: &[usize],
        limit: OutputLimit,
    ) {
        let line = Bytes::from(line(db, from, args, redacted, SystemTime::now()));
        let now = Instant::now();
        self.clients.retain(|(_, outbox)| {
            let message = Message {
                kind: Kind::Monitor,
                pattern: Bytes::new(),
                channel: Bytes::new(),
                payload: line.clone(),
                ready: None,
            };
            outbox.push(message, limit, now)
        });
    }
}

/// The output limit of a monitor: `client-output-buffer-limit normal` (a monitor is a normal
/// client to it), or [`DEFAULT_HARD_LIMIT`] when that class sets no limit.
pub(crate) fn limit(normal: (u64, u64, u64)) -> OutputLimit {
    let (hard, soft, secs) = normal;
    if hard == 0 && soft == 0 {
        return OutputLimit {
            hard: DEFAULT_HARD_LIMIT,
            soft: 0,
            soft_for: Duration::ZERO,
        };
    }
    OutputLimit {
        hard,
        soft,
        soft_for: Duration::from_secs(secs),
    }
}

/// `1700000000.123456 [db from] "ARG" ...` (the status line's text, without `+`).
fn line(
    db: usize,
    from: &dyn std::fmt::Display,
    args: &[Bytes],
    redacted: &[usize],
    at: SystemTime,
) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut out = format!(
        "{}.{:06} [{db} {from}]",
        since.as_secs(),
        since.subsec_micros()
    );
    for (i, arg) in args.iter().enumerate() {
        out.push(' ');
        if redacted.contains(&i) {
            out.push_str("\"(redacted)\"");
        } else {
            super::quote(arg, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_is_redis_s() {
        let at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_123);
        let args = [Bytes::from("AUTH"), Bytes::from("p\n")];
        assert_eq!(
            line(3, &"1.2.3.4:5", &args, &[1], at),
            r#"1700000000.000123 [3 1.2.3.4:5] "AUTH" "(redacted)""#
        );
        assert_eq!(
            line(0, &"lua", &args[1..], &[], at),
            r#"1700000000.000123 [0 lua] "p\n""#
        );
    }

    #[test]
    fn a_monitor_over_its_limit_is_dropped() {
        let mut monitors = Monitors::default();
        let outbox = Arc::new(Outbox::default());
        assert!(monitors.add(7, outbox.clone()));
        assert!(!monitors.add(7, outbox.clone()));
        let tight = limit((100, 0, 0));
        let args = [Bytes::from(vec![b'x'; 80])];
        monitors.feed(0, &"a:1", &args, &[], tight);
        assert!(monitors.is_empty());
        assert!(outbox.is_closed());
    }
}
