//! Each read policy's choice, from what the probes saw of each member.

use super::*;

fn primary() -> Member {
    Member {
        healthy: true,
        connected: true,
        role: Role::Primary,
        offset: Some(1000),
        latency_us: 300,
    }
}

fn standby(offset: u64, latency_us: u64) -> Member {
    Member {
        role: Role::Standby,
        offset: Some(offset),
        latency_us,
        ..primary()
    }
}

fn picks(
    policy: ReadPolicy,
    lag: Option<u64>,
    primary: &Member,
    standbys: &[Member],
) -> Vec<Choice> {
    (0..6)
        .map(|turn| choose(policy, lag, primary, standbys, turn))
        .collect()
}

#[test]
fn primary_policy_always_reads_the_primary() {
    let standbys = [standby(1000, 10), standby(1000, 20)];
    assert!(picks(ReadPolicy::Primary, None, &primary(), &standbys)
        .iter()
        .all(|&c| c == Choice::Primary));
}

#[test]
fn prefer_standby_rotates_over_eligible_standbys_and_falls_back_to_the_primary() {
    let standbys = [standby(1000, 10), standby(1000, 20)];
    assert_eq!(
        picks(ReadPolicy::PreferStandby, None, &primary(), &standbys),
        [0, 1, 0, 1, 0, 1].map(Choice::Standby)
    );
    let down = Member {
        healthy: false,
        ..standby(1000, 10)
    };
    let disconnected = Member {
        connected: false,
        ..standby(1000, 10)
    };
    let not_a_standby = Member {
        role: Role::Unknown,
        ..standby(1000, 10)
    };
    assert_eq!(
        picks(
            ReadPolicy::PreferStandby,
            None,
            &primary(),
            &[down, standby(1000, 10)]
        ),
        [Choice::Standby(1); 6]
    );
    for alone in [down, disconnected, not_a_standby] {
        assert_eq!(
            picks(ReadPolicy::PreferStandby, None, &primary(), &[alone]),
            [Choice::Primary; 6],
            "{alone:?}"
        );
    }
}

#[test]
fn round_robin_includes_a_healthy_primary() {
    let standbys = [standby(1000, 10), standby(1000, 20)];
    assert_eq!(
        picks(ReadPolicy::RoundRobin, None, &primary(), &standbys),
        [
            Choice::Standby(0),
            Choice::Standby(1),
            Choice::Primary,
            Choice::Standby(0),
            Choice::Standby(1),
            Choice::Primary
        ]
    );
    let sick = Member {
        healthy: false,
        ..primary()
    };
    assert_eq!(
        picks(ReadPolicy::RoundRobin, None, &sick, &standbys),
        [0, 1, 0, 1, 0, 1].map(Choice::Standby)
    );
    assert_eq!(
        picks(ReadPolicy::RoundRobin, None, &sick, &[]),
        [Choice::Primary; 6]
    );
}

#[test]
fn least_latency_picks_the_fastest_sampled_member() {
    let standbys = [standby(1000, 500), standby(1000, 120), standby(1000, 0)];
    assert_eq!(
        picks(ReadPolicy::LeastLatency, None, &primary(), &standbys),
        [Choice::Standby(1); 6]
    );
    let slow = [standby(1000, 900)];
    assert_eq!(
        picks(ReadPolicy::LeastLatency, None, &primary(), &slow),
        [Choice::Primary; 6]
    );
    // A member with no sample yet ranks last, the primary included.
    let unsampled = Member {
        latency_us: 0,
        ..primary()
    };
    assert_eq!(
        picks(ReadPolicy::LeastLatency, None, &unsampled, &slow),
        [Choice::Standby(0); 6]
    );
}

#[test]
fn max_lag_bytes_keeps_lagging_or_unknown_standbys_out() {
    let standbys = [
        standby(900, 10),
        standby(999, 10),
        Member {
            offset: None,
            ..standby(0, 10)
        },
    ];
    // Lag: 100, 1 and unknown.
    assert_eq!(
        picks(ReadPolicy::PreferStandby, Some(50), &primary(), &standbys),
        [Choice::Standby(1); 6]
    );
    assert_eq!(
        picks(ReadPolicy::PreferStandby, Some(100), &primary(), &standbys),
        [0, 1, 0, 1, 0, 1].map(Choice::Standby)
    );
    assert_eq!(
        picks(ReadPolicy::PreferStandby, Some(0), &primary(), &standbys),
        [Choice::Primary; 6]
    );
    assert_eq!(lag_bytes(&primary(), &standbys[0]), Some(100));
    assert_eq!(lag_bytes(&primary(), &primary()), None);
    // Without a bound, an unknown offset does not matter.
    assert_eq!(
        picks(ReadPolicy::PreferStandby, None, &primary(), &standbys[2..]),
        [Choice::Standby(0); 6]
    );
}
