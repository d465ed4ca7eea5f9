//! Merging the parts of split requests: the documented response policies, and a failed part.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use redoubt_protocol::{Protocol, Reply};

use super::*;
use crate::backend::BackendError;

fn raw(reply: Reply) -> BackendReply {
    let mut out = BytesMut::new();
    reply.encode(Protocol::Resp2, &mut out);
    Ok(out.freeze())
}

fn bulk(text: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

fn node() -> SocketAddr {
    "127.0.0.1:7001".parse().expect("address")
}

#[test]
fn mget_values_go_back_to_their_request_positions() {
    let merge = Merge::KeyOrder {
        positions: vec![vec![0, 2], vec![1, 3]],
        total: 4,
    };
    let parts = vec![
        raw(Reply::Array(vec![bulk("a"), Reply::Null])),
        raw(Reply::Array(vec![bulk("b"), bulk("d")])),
    ];
    assert_eq!(
        merge.merge(parts),
        Reply::Array(vec![bulk("a"), bulk("b"), Reply::Null, bulk("d")])
    );
}

#[test]
fn counts_are_summed() {
    let merge = Merge::Rule(Rule::Sum);
    let parts = vec![raw(Reply::Int(2)), raw(Reply::Int(0)), raw(Reply::Int(5))];
    assert_eq!(merge.merge(parts), Reply::Int(7));
}

#[test]
fn mset_is_ok_only_when_every_part_is() {
    let merge = Merge::Rule(Rule::AllSucceeded);
    assert_eq!(
        merge.merge(vec![raw(Reply::ok()), raw(Reply::ok())]),
        Reply::ok()
    );
    let failed = vec![
        raw(Reply::ok()),
        raw(Reply::error(
            "READONLY You can't write against a read only replica.",
        )),
        raw(Reply::error("ERR second")),
    ];
    assert_eq!(
        merge.merge(failed),
        Reply::error("READONLY You can't write against a read only replica.")
    );
}

#[test]
fn an_error_in_one_part_is_the_reply_whatever_the_rule() {
    for merge in [
        Merge::Rule(Rule::Sum),
        Merge::Rule(Rule::Concat),
        Merge::KeyOrder {
            positions: vec![vec![0], vec![1]],
            total: 2,
        },
    ] {
        let parts = vec![
            raw(Reply::Array(vec![bulk("a")])),
            Err(BackendError::ConnectionLost(node())),
        ];
        assert_eq!(
            merge.merge(parts),
            Reply::error_owned(format!("ERR connection to node {} lost", node())),
            "{merge:?}"
        );
    }
    let malformed = vec![Ok(Bytes::from_static(b"?\r\n")), raw(Reply::Int(1))];
    assert_eq!(
        Merge::Rule(Rule::Sum).merge(malformed),
        Reply::error("ERR malformed reply from node")
    );
}

#[test]
fn one_succeeded_needs_a_single_good_part() {
    let merge = Merge::Rule(Rule::OneSucceeded);
    let parts = vec![raw(Reply::error("ERR no")), raw(bulk("yes"))];
    assert_eq!(merge.merge(parts), bulk("yes"));
    let parts = vec![raw(Reply::error("ERR no")), raw(Reply::error("ERR never"))];
    assert_eq!(merge.merge(parts), Reply::error("ERR no"));
}

#[test]
fn aggregates_of_integers_and_flags() {
    let ints = || vec![raw(Reply::Int(3)), raw(Reply::Int(1)), raw(Reply::Int(2))];
    assert_eq!(Merge::Rule(Rule::Min).merge(ints()), Reply::Int(1));
    assert_eq!(Merge::Rule(Rule::Max).merge(ints()), Reply::Int(3));
    let flags = || {
        vec![
            raw(Reply::Array(vec![
                Reply::Int(1),
                Reply::Int(0),
                Reply::Int(1),
            ])),
            raw(Reply::Array(vec![
                Reply::Int(1),
                Reply::Int(1),
                Reply::Int(0),
            ])),
        ]
    };
    assert_eq!(
        Merge::Rule(Rule::And).merge(flags()),
        Reply::Array(vec![Reply::Int(1), Reply::Int(0), Reply::Int(0)])
    );
    assert_eq!(
        Merge::Rule(Rule::Or).merge(flags()),
        Reply::Array(vec![Reply::Int(1), Reply::Int(1), Reply::Int(1)])
    );
}

#[test]
fn keys_are_concatenated_and_randomkey_picks_a_present_one() {
    let parts = vec![
        raw(Reply::Array(vec![bulk("a")])),
        raw(Reply::Array(vec![])),
        raw(Reply::Array(vec![bulk("b"), bulk("c")])),
    ];
    assert_eq!(
        Merge::Rule(Rule::Concat).merge(parts),
        Reply::Array(vec![bulk("a"), bulk("b"), bulk("c")])
    );
    let parts = vec![raw(Reply::Null), raw(bulk("k")), raw(Reply::Null)];
    assert_eq!(Merge::Rule(Rule::AnyNonNull).merge(parts), bulk("k"));
    let none = vec![raw(Reply::Null), raw(Reply::Null)];
    assert_eq!(Merge::Rule(Rule::AnyNonNull).merge(none), Reply::Null);
}

#[test]
fn scan_moves_to_the_next_group_when_a_node_finishes() {
    let reply = |cursor: &str| {
        vec![raw(Reply::Array(vec![
            bulk(cursor),
            Reply::Array(vec![bulk("k")]),
        ]))]
    };
    let on = |group| Merge::Scan { group, groups: 3 };
    let cursor_of = |merged: Reply| match merged {
        Reply::Array(items) => items[0].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(cursor_of(on(0).merge(reply("0"))), bulk("1"));
    assert_eq!(cursor_of(on(2).merge(reply("0"))), bulk("0"));
    let next = (5u64 << SCAN_GROUP_BITS) | 1;
    assert_eq!(cursor_of(on(1).merge(reply("5"))), bulk(&next.to_string()));
}

#[test]
fn script_caches_agree_union_and_show_a_running_script() {
    let agreed = Merge::Rule(Rule::Agreed);
    assert_eq!(
        agreed.merge(vec![raw(bulk("sha")), raw(bulk("sha"))]),
        bulk("sha")
    );
    assert_eq!(
        agreed.merge(vec![raw(bulk("sha")), raw(bulk("other"))]),
        Reply::error("ERR the groups answered differently")
    );

    let library = |name: &str| Reply::Array(vec![bulk("library_name"), bulk(name)]);
    assert_eq!(
        Merge::Rule(Rule::Union).merge(vec![
            raw(Reply::Array(vec![library("a"), library("b")])),
            raw(Reply::Array(vec![library("b"), library("c")])),
        ]),
        Reply::Array(vec![library("a"), library("b"), library("c")])
    );

    let stats = |running: Reply| {
        Reply::Array(vec![
            bulk("running_script"),
            running,
            bulk("engines"),
            Reply::Array(vec![]),
        ])
    };
    let busy = Reply::Array(vec![bulk("name"), bulk("slow")]);
    assert_eq!(
        Merge::Rule(Rule::FunctionStats)
            .merge(vec![raw(stats(Reply::Null)), raw(stats(busy.clone())),]),
        stats(busy)
    );
}
