//! The handle other threads hold on a running script: how long it has run (for
//! `busy-reply-threshold` and `SCRIPT KILL`'s `NOTBUSY`), a kill request, and the replication
//! mode the script chose with `redis.set_repl`, which the command closure reads per command.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

/// `redis.REPL_AOF`: propagate to the append-only file.
pub(crate) const REPL_AOF: u8 = 1;
/// `redis.REPL_REPLICA` (and `REPL_SLAVE`): propagate to replicas.
pub(crate) const REPL_REPLICA: u8 = 2;
/// `redis.REPL_ALL`, the default at the start of each run.
pub(crate) const REPL_ALL: u8 = REPL_AOF | REPL_REPLICA;

/// Shared state of the script running in one engine (at most one at a time).
#[derive(Debug, Default)]
pub(crate) struct ScriptControl {
    started: Mutex<Option<Instant>>,
    /// The run has handed its runtime worker off (see `vm::hand_off_worker`).
    handed_off: AtomicBool,
    kill: AtomicBool,
    repl: AtomicU8,
}

impl ScriptControl {
    /// How long the current script has been running; `None` when none runs. (Connections use
    /// `ScriptBusy`, which also knows the threshold and whether the script wrote.)
    #[cfg(test)]
    pub(crate) fn running_for(&self) -> Option<std::time::Duration> {
        self.started.lock().map(|start| start.elapsed())
    }

    /// Asks the running script to stop (`SCRIPT KILL`, `FUNCTION KILL`). It ends with
    /// `ERR Script killed by user with SCRIPT KILL...` at its next check, at most every
    /// [`super::vm::HOOK_INSTRUCTIONS`] Lua instructions. False when no script runs.
    pub(crate) fn kill(&self) -> bool {
        let running = self.started.lock().is_some();
        if running {
            self.kill.store(true, Ordering::SeqCst);
        }
        running
    }

    /// Whether a kill was asked for the current run.
    pub(crate) fn kill_requested(&self) -> bool {
        self.kill.load(Ordering::SeqCst)
    }

    /// The replication flags (`REPL_*` bits) the script set; [`REPL_ALL`] by default.
    pub(crate) fn repl_flags(&self) -> u8 {
        self.repl.load(Ordering::SeqCst)
    }

    pub(super) fn set_repl_flags(&self, flags: u8) {
        self.repl.store(flags, Ordering::SeqCst);
    }

    /// True once, when the current run has lasted `after`: its worker is then handed off.
    pub(super) fn hand_off_due(&self, after: std::time::Duration) -> bool {
        !self.handed_off.load(Ordering::Relaxed)
            && self.started.lock().is_some_and(|s| s.elapsed() >= after)
            && !self.handed_off.swap(true, Ordering::Relaxed)
    }

    pub(super) fn begin(&self) {
        self.handed_off.store(false, Ordering::Relaxed);
        self.kill.store(false, Ordering::SeqCst);
        self.repl.store(REPL_ALL, Ordering::SeqCst);
        *self.started.lock() = Some(Instant::now());
    }

    pub(super) fn end(&self) {
        *self.started.lock() = None;
        self.kill.store(false, Ordering::SeqCst);
    }
}
