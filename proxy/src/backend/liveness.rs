//! The one rule for whether a node is up, shared by read routing (through the node's
//! [`Health`](super::health::Health), kept by its probe) and the failover core:
//! a node is **down** once `down_after` has passed without a good probe; a down node is **up**
//! again after [`UP_AFTER_SUCCESSES`] good probes in a row, or at its first good probe ever
//! (hysteresis, as pingora's health checks). Pure: `now` is passed in.

use std::time::{Duration, Instant};

/// Good probes in a row before a down node counts as up again.
pub(crate) const UP_AFTER_SUCCESSES: u32 = 2;

/// One node's liveness by the probes.
#[derive(Clone, Debug)]
pub(crate) struct Liveness {
    up: bool,
    last_ok: Option<Instant>,
    successes: u32,
}

impl Liveness {
    /// A node not probed yet, counted `up` or not until the probes say otherwise.
    pub(crate) fn new(up: bool) -> Liveness {
        Liveness {
            up,
            last_ok: None,
            successes: 0,
        }
    }

    /// True while the node counts as up.
    pub(crate) fn is_up(&self) -> bool {
        self.up
    }

    /// Folds in one probe at `now`: `ok` when the node answered it.
    pub(crate) fn record(&mut self, ok: bool, now: Instant) {
        if !ok {
            self.successes = 0;
            return;
        }
        let first = self.last_ok.is_none();
        self.last_ok = Some(now);
        self.successes += 1;
        if !self.up && (self.successes >= UP_AFTER_SUCCESSES || first) {
            self.up = true;
        }
    }

    /// How long the node has gone without a good probe at `now`, counting from `since` (when
    /// probing began) if it never had one.
    pub(crate) fn silent_for(&self, now: Instant, since: Instant) -> Duration {
        now.saturating_duration_since(self.last_ok.unwrap_or(since))
    }

    /// Applies the down rule at `now`; true when the node went down just now.
    pub(crate) fn expire(&mut self, now: Instant, since: Instant, down_after: Duration) -> bool {
        if self.up && self.silent_for(now, since) > down_after {
            self.up = false;
            self.successes = 0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_after_silence_up_after_successes_in_a_row() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let down_after = Duration::from_millis(500);
        let mut node = Liveness::new(true);
        node.record(true, at(0));
        node.record(false, at(100));
        assert!(!node.expire(at(500), start, down_after));
        assert!(node.is_up());
        assert!(node.expire(at(501), start, down_after));
        assert!(!node.is_up());
        node.record(true, at(600));
        assert!(!node.is_up(), "one good probe is not enough");
        node.record(false, at(700));
        node.record(true, at(800));
        assert!(!node.is_up(), "the good probes must be in a row");
        node.record(true, at(900));
        assert!(node.is_up());
    }

    #[test]
    fn never_answered_counts_from_when_probing_began_and_first_answer_brings_it_up() {
        let start = Instant::now();
        let down_after = Duration::from_millis(500);
        let mut node = Liveness::new(true);
        assert!(node.expire(start + Duration::from_millis(501), start, down_after));
        let mut fresh = Liveness::new(false);
        fresh.record(true, start);
        assert!(fresh.is_up());
    }
}
