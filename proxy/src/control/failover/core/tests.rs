//! Tables of event sequences and the actions they must (and must not) produce.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

const P: u16 = 1;
const S1: u16 = 2;
const S2: u16 = 3;

fn core(sync_replicas: usize, priorities: Vec<(SocketAddr, i64)>) -> Core {
    Core::new(
        CoreConfig {
            down_after: Duration::from_millis(500),
            proxies: 1,
        },
        vec![GroupSetup {
            topology: GroupTopology {
                id: "g".into(),
                epoch: 0,
                primary: addr(P),
                standbys: vec![addr(S1), addr(S2)],
            },
            priorities,
            sync_replicas,
        }],
    )
}

fn primary_info(offset: u64) -> ProbeInfo {
    ProbeInfo {
        is_primary: true,
        offset,
        link_up: false,
        following: None,
        epoch: 0,
    }
}

fn standby_info(offset: u64, link_up: bool, following: u16) -> ProbeInfo {
    ProbeInfo {
        is_primary: false,
        offset,
        link_up,
        following: Some(addr(following)),
        epoch: 0,
    }
}

/// Feeds probes every 100 ms from `from` for `ms`: `p` for the primary, `s1`/`s2` for the
/// standbys (`None`: the probe fails), ticking after each round; returns every action.
struct Run {
    core: Core,
    t0: Instant,
    at: u64,
    actions: Vec<Action>,
}

impl Run {
    fn new(core: Core) -> Run {
        Run {
            core,
            t0: Instant::now(),
            at: 0,
            actions: Vec::new(),
        }
    }

    fn rounds(
        &mut self,
        ms: u64,
        p: Option<ProbeInfo>,
        s1: Option<ProbeInfo>,
        s2: Option<ProbeInfo>,
    ) {
        let end = self.at + ms;
        while self.at < end {
            self.at += 100;
            let now = self.t0 + Duration::from_millis(self.at);
            for (node, info) in [(P, &p), (S1, &s1), (S2, &s2)] {
                self.actions.extend(self.core.handle(Event::Probe {
                    node: addr(node),
                    info: info.clone(),
                    now,
                }));
            }
            self.actions.extend(self.core.handle(Event::Tick { now }));
        }
    }

    fn promotions(&self) -> Vec<(SocketAddr, u64)> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Promote { node, epoch, .. } => Some((*node, *epoch)),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn healthy_group_produces_no_failover() {
    let mut run = Run::new(core(1, vec![]));
    run.rounds(
        3000,
        Some(primary_info(100)),
        Some(standby_info(100, true, P)),
        Some(standby_info(100, true, P)),
    );
    assert!(run.promotions().is_empty());
    assert!(run.actions.contains(&Action::SetSyncReplicas {
        group: 0,
        node: addr(P),
        count: 1
    }));
}

#[test]
fn a_short_stall_causes_no_failover() {
    let mut run = Run::new(core(0, vec![]));
    run.rounds(
        1000,
        Some(primary_info(10)),
        Some(standby_info(10, true, P)),
        Some(standby_info(10, true, P)),
    );
    run.rounds(
        300,
        None,
        Some(standby_info(10, true, P)),
        Some(standby_info(10, true, P)),
    );
    run.rounds(
        1000,
        Some(primary_info(10)),
        Some(standby_info(10, true, P)),
        Some(standby_info(10, true, P)),
    );
    assert!(run.promotions().is_empty(), "{:?}", run.actions);
}

#[test]
fn a_dead_primary_is_replaced_by_the_most_advanced_standby_with_a_new_epoch() {
    let mut run = Run::new(core(0, vec![]));
    run.rounds(
        1000,
        Some(primary_info(500)),
        Some(standby_info(400, true, P)),
        Some(standby_info(450, true, P)),
    );
    run.rounds(
        1000,
        None,
        Some(standby_info(400, false, P)),
        Some(standby_info(450, false, P)),
    );
    assert_eq!(run.promotions(), vec![(addr(S2), 1)]);
    let topology = run.core.topology();
    assert_eq!(topology.groups[0].primary, addr(S2));
    assert_eq!(topology.groups[0].epoch, 1);
    assert!(run
        .actions
        .iter()
        .any(|a| matches!(a, Action::Publish(t) if t.groups[0].primary == addr(S2))));
    // The other standby is repointed to the new primary once it is probed following the old one.
    run.rounds(
        300,
        None,
        Some(standby_info(400, false, P)),
        Some(primary_info(450)),
    );
    assert!(run.actions.contains(&Action::Repoint {
        group: 0,
        node: addr(S1),
        primary: addr(S2),
        epoch: 1
    }));
}

#[test]
fn failover_happens_about_down_after_after_the_last_good_probe() {
    let mut run = Run::new(core(0, vec![]));
    run.rounds(
        1000,
        Some(primary_info(5)),
        Some(standby_info(5, true, P)),
        Some(standby_info(5, true, P)),
    );
    run.rounds(
        500,
        None,
        Some(standby_info(5, false, P)),
        Some(standby_info(5, false, P)),
    );
    assert!(
        run.promotions().is_empty(),
        "not before down-after has passed"
    );
    run.rounds(
        100,
        None,
        Some(standby_info(5, false, P)),
        Some(standby_info(5, false, P)),
    );
    assert_eq!(run.promotions().len(), 1);
}

#[test]
fn ties_go_to_priority_then_lowest_address() {
    let mut run = Run::new(core(0, vec![(addr(S2), 10)]));
    run.rounds(
        1000,
        Some(primary_info(5)),
        Some(standby_info(5, true, P)),
        Some(standby_info(5, true, P)),
    );
    run.rounds(
        700,
        None,
        Some(standby_info(5, false, P)),
        Some(standby_info(5, false, P)),
    );
    assert_eq!(run.promotions(), vec![(addr(S2), 1)]);

    let mut run = Run::new(core(0, vec![]));
    run.rounds(
        1000,
        Some(primary_info(5)),
        Some(standby_info(5, true, P)),
        Some(standby_info(5, true, P)),
    );
    run.rounds(
        700,
        None,
        Some(standby_info(5, false, P)),
        Some(standby_info(5, false, P)),
    );
    assert_eq!(run.promotions(), vec![(addr(S1), 1)]);
}

#[test]
fn no_standby_up_means_no_promotion() {
    let mut run = Run::new(core(0, vec![]));
    run.rounds(
        1000,
        Some(primary_info(5)),
        Some(standby_info(5, true, P)),
        Some(standby_info(5, true, P)),
    );
    run.rounds(2000, None, None, None);
    assert!(run.promotions().is_empty());
}

#[test]
fn synchronous_mode_never_promotes_a_standby_that_fell_out_of_sync() {
    let mut run = Run::new(core(1, vec![]));
    run.rounds(
        1000,
        Some(primary_info(100)),
        Some(standby_info(100, true, P)),
        Some(standby_info(100, true, P)),
    );
    // S2 loses its link while the primary is alive: it leaves the sync set.
    run.rounds(
        1000,
        Some(primary_info(200)),
        Some(standby_info(200, true, P)),
        Some(standby_info(100, false, P)),
    );
    // Then the primary dies. S2 has the higher offset report? No: S1 is the only in-sync one.
    run.rounds(
        1000,
        None,
        Some(standby_info(200, false, P)),
        Some(standby_info(300, false, P)),
    );
    assert_eq!(run.promotions(), vec![(addr(S1), 1)]);
}

#[test]
fn losing_every_standby_degrades_to_asynchronous_instead_of_stopping_writes() {
    let mut run = Run::new(core(1, vec![]));
    run.rounds(
        1000,
        Some(primary_info(100)),
        Some(standby_info(100, true, P)),
        None,
    );
    assert!(run.actions.contains(&Action::SetSyncReplicas {
        group: 0,
        node: addr(P),
        count: 1
    }));
    run.rounds(1000, Some(primary_info(100)), None, None);
    assert_eq!(
        run.actions
            .iter()
            .filter(|a| matches!(a, Action::SetSyncReplicas { count: 0, .. }))
            .count(),
        1
    );
    // The standby comes back in sync: synchronous again.
    run.rounds(
        1000,
        Some(primary_info(100)),
        Some(standby_info(100, true, P)),
        None,
    );
    assert_eq!(
        run.actions.iter().rev().find_map(|a| match a {
            Action::SetSyncReplicas { count, .. } => Some(*count),
            _ => None,
        }),
        Some(1)
    );
}

#[test]
fn a_returning_old_primary_is_repointed_and_fenced() {
    let mut run = Run::new(core(0, vec![]));
    run.rounds(
        1000,
        Some(primary_info(5)),
        Some(standby_info(5, true, P)),
        Some(standby_info(5, true, P)),
    );
    run.rounds(
        700,
        None,
        Some(standby_info(5, false, P)),
        Some(standby_info(5, false, P)),
    );
    assert_eq!(run.promotions(), vec![(addr(S1), 1)]);
    // The old primary comes back still claiming to be a primary.
    run.rounds(
        400,
        Some(primary_info(5)),
        Some(primary_info(6)),
        Some(standby_info(6, true, S1)),
    );
    assert!(run.actions.contains(&Action::Repoint {
        group: 0,
        node: addr(P),
        primary: addr(S1),
        epoch: 1
    }));
    assert_eq!(run.promotions().len(), 1, "no second failover");
}

#[test]
fn epochs_learned_from_nodes_are_never_reused() {
    let mut run = Run::new(core(0, vec![]));
    let mut p = primary_info(5);
    p.epoch = 7;
    run.rounds(
        1000,
        Some(p),
        Some(standby_info(5, true, P)),
        Some(standby_info(5, true, P)),
    );
    run.rounds(
        700,
        None,
        Some(standby_info(5, false, P)),
        Some(standby_info(5, false, P)),
    );
    assert_eq!(run.promotions(), vec![(addr(S1), 8)]);
}

/// Three proxies: this one finds the primary down after 1 s; `others` say what the two other
/// proxies report (`Some(ms)`: they report it down from that time on, every 100 ms; `None`:
/// they keep reporting it up). Returns the promotions.
fn with_reports(others: [Option<u64>; 2]) -> Vec<(SocketAddr, u64)> {
    let mut core = core(0, vec![]);
    core.config.proxies = 3;
    let mut run = Run::new(core);
    run.rounds(
        1000,
        Some(primary_info(5)),
        Some(standby_info(5, true, P)),
        Some(standby_info(5, true, P)),
    );
    for _ in 0..15 {
        let now = run.t0 + Duration::from_millis(run.at + 100);
        for (from, since) in others.iter().enumerate() {
            let down = match since {
                Some(ms) if run.at >= *ms => vec![addr(P)],
                _ => vec![],
            };
            run.core.handle(Event::Report {
                from: from as u64 + 2,
                down,
                now,
            });
        }
        run.rounds(
            100,
            None,
            Some(standby_info(5, false, P)),
            Some(standby_info(5, false, P)),
        );
    }
    run.promotions()
}

#[test]
fn with_three_proxies_a_primary_is_replaced_only_when_a_majority_finds_it_down() {
    let table: [([Option<u64>; 2], bool); 5] = [
        // Nobody else agrees: this proxy alone may be the one cut off.
        ([None, None], false),
        // One other proxy agrees: two of three.
        ([Some(1500), None], true),
        ([Some(1500), Some(1500)], true),
        // Agreement that comes late still counts once it comes.
        ([None, Some(2200)], true),
        // Too late: only after the run ends.
        ([None, Some(9000)], false),
    ];
    for (others, promoted) in table {
        let promotions = with_reports(others);
        assert_eq!(
            !promotions.is_empty(),
            promoted,
            "{others:?}: {promotions:?}"
        );
        // One decision (epoch 1); the table's standby keeps reporting itself a standby, so
        // the promotion is repeated, with the same epoch.
        assert!(
            promotions.iter().all(|p| *p == (addr(S1), 1)),
            "{others:?}: {promotions:?}"
        );
    }
}

#[test]
fn stale_reports_do_not_count() {
    let mut core = core(0, vec![]);
    core.config.proxies = 3;
    let mut run = Run::new(core);
    // Another proxy found the primary down once, long ago.
    run.core.handle(Event::Report {
        from: 2,
        down: vec![addr(P)],
        now: run.t0,
    });
    run.rounds(
        1000,
        Some(primary_info(5)),
        Some(standby_info(5, true, P)),
        Some(standby_info(5, true, P)),
    );
    run.rounds(
        1500,
        None,
        Some(standby_info(5, false, P)),
        Some(standby_info(5, false, P)),
    );
    assert!(run.promotions().is_empty(), "{:?}", run.actions);
}

#[test]
fn a_committed_topology_from_another_leader_is_adopted() {
    let mut run = Run::new(core(0, vec![]));
    let mut committed = run.core.topology();
    committed.groups[0].epoch = 4;
    committed.groups[0].primary = addr(S2);
    committed.groups[0].standbys = vec![addr(P), addr(S1)];
    run.core.adopt(&committed);
    assert_eq!(run.core.topology(), committed);
    // An older one is not.
    let mut older = committed.clone();
    older.groups[0].epoch = 3;
    older.groups[0].primary = addr(P);
    run.core.adopt(&older);
    assert_eq!(run.core.topology(), committed);
}
