//! The choice of the member that serves a read, as a plain function of what the probes last
//! saw of each member ([`Member`]), the group's [`ReadPolicy`] and lag bound, and a rotating
//! turn, so it is tested without nodes.
//!
//! A standby is eligible when it is healthy, connected, reports itself a standby and, when the
//! group has a lag bound, is known to be within it. Whatever the policy, a read falls back to
//! the primary when nothing else is eligible.

use crate::backend::info::Role;
use crate::config::ReadPolicy;

/// What the read choice needs to know of one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    /// Not taken out by its probes.
    pub(crate) healthy: bool,
    /// At least one pooled connection is up.
    pub(crate) connected: bool,
    /// The role it reports.
    pub(crate) role: Role,
    /// Its replication offset, when known.
    pub(crate) offset: Option<u64>,
    /// Average round trip in µs (0: no sample yet).
    pub(crate) latency_us: u64,
}

/// The member chosen for a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    /// The primary.
    Primary,
    /// The standby at this index of the standbys given.
    Standby(usize),
}

/// Bytes `standby` is behind `primary`, when it reports itself a standby and both offsets
/// are known.
pub(crate) fn lag_bytes(primary: &Member, standby: &Member) -> Option<u64> {
    if standby.role != Role::Standby {
        return None;
    }
    Some(primary.offset?.saturating_sub(standby.offset?))
}

fn eligible(primary: &Member, standby: &Member, max_lag_bytes: Option<u64>) -> bool {
    if !standby.healthy || !standby.connected || standby.role != Role::Standby {
        return false;
    }
    match max_lag_bytes {
        None => true,
        Some(max) => lag_bytes(primary, standby).is_some_and(|lag| lag <= max),
    }
}

/// Latency for ranking; members without a sample yet rank last.
fn latency_rank(member: &Member) -> u64 {
    match member.latency_us {
        0 => u64::MAX,
        us => us,
    }
}

/// The member that serves a read under `policy`; `turn` rotates the choice among equals
/// (callers pass a counter that rises with every read).
pub(crate) fn choose(
    policy: ReadPolicy,
    max_lag_bytes: Option<u64>,
    primary: &Member,
    standbys: &[Member],
    turn: usize,
) -> Choice {
    if policy == ReadPolicy::Primary {
        return Choice::Primary;
    }
    let eligible: Vec<usize> = (0..standbys.len())
        .filter(|&i| eligible(primary, &standbys[i], max_lag_bytes))
        .collect();
    match policy {
        ReadPolicy::Primary => Choice::Primary,
        ReadPolicy::PreferStandby => match eligible.len() {
            0 => Choice::Primary,
            n => Choice::Standby(eligible[turn % n]),
        },
        ReadPolicy::RoundRobin => {
            let members = eligible.len() + usize::from(primary.healthy);
            if members == 0 {
                return Choice::Primary;
            }
            let pick = turn % members;
            if pick == eligible.len() {
                Choice::Primary
            } else {
                Choice::Standby(eligible[pick])
            }
        }
        ReadPolicy::LeastLatency => {
            let mut best = Choice::Primary;
            let mut best_latency = latency_rank(primary);
            for i in eligible {
                let latency = latency_rank(&standbys[i]);
                if latency < best_latency {
                    best = Choice::Standby(i);
                    best_latency = latency;
                }
            }
            best
        }
    }
}

#[cfg(test)]
mod tests;
