//! What other connections see of a running script without taking the store lock (which the
//! script holds): whether one runs, whether it has passed `busy-reply-threshold` (they then
//! answer `-BUSY` instead of waiting), and `SCRIPT KILL` / `FUNCTION KILL`. Texts from Redis
//! 7.2's `server.c` (`slowevalerr`, `slowscripterr`) and `script.c` (`scriptKill`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redoubt_protocol::Reply;

use super::control::ScriptControl;

/// The reply to other commands while an EVAL script is busy (and to `FUNCTION KILL` then).
pub(crate) const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// The reply to other commands while a function is busy (and to `SCRIPT KILL` then).
pub(crate) const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";

/// What a new connection reads from the configuration; while a script holds the store lock,
/// the copy the script took when it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ConnSettings {
    /// `maxclients`.
    pub(crate) maxclients: u64,
    /// `proto-max-bulk-len`.
    pub(crate) max_bulk_len: u64,
    /// `client-query-buffer-limit`.
    pub(crate) max_query_buffer: u64,
    /// No `requirepass`: connections start authenticated.
    pub(crate) open: bool,
}

impl ConnSettings {
    /// The settings in `config`.
    pub(crate) fn of(config: &crate::config::Config) -> ConnSettings {
        ConnSettings {
            maxclients: config.maxclients,
            max_bulk_len: config.proto_max_bulk_len,
            max_query_buffer: config.client_query_buffer_limit,
            open: config.requirepass.is_empty(),
        }
    }
}

/// The script running now, as other connections see it.
#[derive(Debug)]
struct Run {
    started: Instant,
    threshold: Duration,
    /// Run by FCALL / FCALL_RO (else EVAL / EVALSHA / *_RO).
    function: bool,
    /// It changed the dataset: it can no longer be killed.
    wrote: bool,
    /// Function name or script SHA1, for `FUNCTION STATS`.
    name: Arc<str>,
    /// The calling command's words, for `FUNCTION STATS`.
    command: Vec<bytes::Bytes>,
    control: Arc<ScriptControl>,
    settings: ConnSettings,
}

/// Node-wide view of the running script (at most one: scripts run under the store lock).
#[derive(Debug, Default)]
pub(crate) struct ScriptBusy {
    /// Fast check for connections: a script runs.
    active: AtomicBool,
    run: Mutex<Option<Run>>,
    /// Wakes the connections waiting for the store lock when the script ends.
    ended: tokio::sync::Notify,
}

/// What starts a run, see [`ScriptBusy::begin`].
pub(crate) struct RunInfo {
    /// `busy-reply-threshold` at the start.
    pub(crate) threshold: Duration,
    /// FCALL (true) or EVAL (false).
    pub(crate) function: bool,
    /// Function name or SHA1.
    pub(crate) name: Arc<str>,
    /// The calling command.
    pub(crate) command: Vec<bytes::Bytes>,
    /// The engine's control handle (kill requests go there).
    pub(crate) control: Arc<ScriptControl>,
    /// The configuration new connections need meanwhile.
    pub(crate) settings: ConnSettings,
}

impl ScriptBusy {
    /// A script starts (called under the store lock).
    pub(crate) fn begin(&self, info: RunInfo) {
        *self.run.lock() = Some(Run {
            started: Instant::now(),
            threshold: info.threshold,
            function: info.function,
            wrote: false,
            name: info.name,
            command: info.command,
            control: info.control,
            settings: info.settings,
        });
        self.active.store(true, Ordering::SeqCst);
    }

    /// The running script changed the dataset.
    pub(crate) fn wrote(&self) {
        if let Some(run) = self.run.lock().as_mut() {
            run.wrote = true;
        }
    }

    /// The script ended (called before the store lock is released).
    pub(crate) fn end(&self) {
        self.active.store(false, Ordering::SeqCst);
        *self.run.lock() = None;
        self.ended.notify_waiters();
    }

    /// Resolves at the next [`ScriptBusy::end`]. Create (and enable) it before checking
    /// [`ScriptBusy::active`], so an end between the check and the wait is not missed.
    pub(crate) fn ended(&self) -> tokio::sync::futures::Notified<'_> {
        self.ended.notified()
    }

    /// True while a script runs.
    pub(crate) fn active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    /// True while a script runs that started less than `age` ago.
    pub(crate) fn started_within(&self, age: Duration) -> bool {
        self.active()
            && self
                .run
                .lock()
                .as_ref()
                .is_some_and(|run| run.started.elapsed() < age)
    }

    /// The settings the running script copied at its start; `None` when none runs.
    pub(crate) fn settings(&self) -> Option<ConnSettings> {
        if !self.active() {
            return None;
        }
        self.run.lock().as_ref().map(|run| run.settings)
    }

    /// The `-BUSY` error for other clients once the running script passed its threshold;
    /// `None` when none runs or it is still under it (they wait).
    pub(crate) fn busy_error(&self) -> Option<&'static str> {
        if !self.active() {
            return None;
        }
        let run = self.run.lock();
        let run = run.as_ref()?;
        (run.started.elapsed() >= run.threshold).then_some(if run.function {
            BUSY_FUNCTION
        } else {
            BUSY_EVAL
        })
    }

    /// `SCRIPT KILL` (`function` false) or `FUNCTION KILL` (true): `+OK` and the script stops
    /// at its next check; `-NOTBUSY` when none runs, `-UNKILLABLE` when it wrote, `-BUSY` when
    /// the other command must be used.
    pub(crate) fn kill(&self, function: bool) -> Reply {
        let run = self.run.lock();
        let Some(run) = run.as_ref() else {
            return Reply::error(NOTBUSY);
        };
        if run.wrote {
            return Reply::error(UNKILLABLE);
        }
        if run.function != function {
            return Reply::error(if run.function {
                BUSY_FUNCTION
            } else {
                BUSY_EVAL
            });
        }
        run.control.kill();
        Reply::ok()
    }

    /// `FUNCTION STATS`'s `running_script`: null, or name, command and duration_ms of the
    /// running function.
    pub(crate) fn running_script(&self) -> Reply {
        let run = self.run.lock();
        match run.as_ref().filter(|run| run.function) {
            None => Reply::Null,
            Some(run) => Reply::Map(vec![
                (Reply::bulk_static("name"), Reply::bulk(run.name.as_bytes())),
                (
                    Reply::bulk_static("command"),
                    Reply::Array(run.command.iter().cloned().map(Reply::Bulk).collect()),
                ),
                (
                    Reply::bulk_static("duration_ms"),
                    Reply::Int(run.started.elapsed().as_millis() as i64),
                ),
            ]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(function: bool, threshold_ms: u64) -> RunInfo {
        RunInfo {
            threshold: Duration::from_millis(threshold_ms),
            function,
            name: "f".into(),
            command: vec![],
            control: Arc::new(ScriptControl::default()),
            settings: ConnSettings::default(),
        }
    }

    #[test]
    fn busy_only_past_the_threshold() {
        let busy = ScriptBusy::default();
        assert_eq!(busy.busy_error(), None);
        busy.begin(info(false, 60_000));
        assert!(busy.active());
        assert_eq!(busy.busy_error(), None);
        assert!(busy.started_within(Duration::from_secs(60)));
        assert!(!busy.started_within(Duration::ZERO));
        busy.end();
        assert!(!busy.started_within(Duration::from_secs(60)));
        busy.begin(info(true, 0));
        assert_eq!(busy.busy_error(), Some(BUSY_FUNCTION));
        busy.end();
        assert!(!busy.active());
    }

    #[test]
    fn kill_follows_redis_rules() {
        let busy = ScriptBusy::default();
        assert_eq!(busy.kill(false), Reply::error(NOTBUSY));
        busy.begin(info(false, 0));
        assert_eq!(busy.kill(true), Reply::error(BUSY_EVAL));
        busy.wrote();
        assert_eq!(busy.kill(false), Reply::error(UNKILLABLE));
        busy.end();
        busy.begin(info(true, 0));
        assert_eq!(busy.kill(false), Reply::error(BUSY_FUNCTION));
        assert_eq!(busy.kill(true), Reply::ok());
    }
}
