//! The handle other threads hold on a running script: how long it has run (for
//! `busy-reply-threshold` and `SCRIPT KILL`'s `NOTBUSY`), a kill request, and the replication
//! mode the script chose with `redis.set_repl`, which the command closure reads per command.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
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
    /// Times the run has handed its runtime worker off (see `vm::hand_off_worker`).
    hand_offs: AtomicU32,
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

    /// True when the current run has lasted `after`, then again at twice, four times...
    /// that: its worker is then handed off. A hand-off can fail (the thread meant to take the
    /// worker did not start in time and the run's thread took it back, under load), and on a
    /// runtime of one worker nothing else would serve its connections: so it is tried again,
    /// ever more rarely.
    pub(super) fn hand_off_due(&self, after: std::time::Duration) -> bool {
        let done = self.hand_offs.load(Ordering::Relaxed);
        let due = after.saturating_mul(1 << done.min(16));
        self.started.lock().is_some_and(|s| s.elapsed() >= due)
            && self
                .hand_offs
                .compare_exchange(done, done + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    pub(super) fn begin(&self) {
        self.hand_offs.store(0, Ordering::Relaxed);
        self.kill.store(false, Ordering::SeqCst);
        self.repl.store(REPL_ALL, Ordering::SeqCst);
        *self.started.lock() = Some(Instant::now());
    }

    pub(super) fn end(&self) {
        *self.started.lock() = None;
        self.kill.store(false, Ordering::SeqCst);
    }
}
