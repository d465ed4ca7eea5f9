//! Splitting multi-key requests by group, as the command table's key positions and tips say.

use bytes::Bytes;
use redoubt_protocol::command_table;
use redoubt_protocol::Reply;

use super::*;
use crate::client::commands::{spread, Spread};

fn args(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

/// Keys starting with `a` are in group 0, with `b` in group 1, with `c` in group 2.
fn group_of(key: &[u8]) -> usize {
    usize::from(key[0] - b'a')
}

fn split(words: &[&str]) -> Result<KeySplit, Reply> {
    let args = args(words);
    let command = command_table::resolve(&args).expect("known command");
    let Some(Spread::ByKey(rule)) = spread(&command) else {
        panic!("{command} does not split by key");
    };
    split_by_key(command.spec(), &command.to_string(), &args, rule, group_of)
}

#[test]
fn keys_of_one_group_pass_through_whole() {
    for words in [
        &["MGET", "a1", "a2", "a3"][..],
        &["MSET", "b1", "v", "b2", "w"],
        &["DEL", "c1"],
        &["EXISTS", "a1", "a1"],
        &["TOUCH", "b", "b2"],
        &["UNLINK", "c", "c"],
    ] {
        let expected = KeySplit::Whole(group_of(words[1].as_bytes()));
        assert_eq!(split(words), Ok(expected), "{words:?}");
    }
}

#[test]
fn mget_parts_keep_request_order_within_a_group_and_merge_by_position() {
    let got = split(&["MGET", "b1", "a1", "b2", "c1", "a2"]).expect("valid");
    let KeySplit::Parts { parts, merge } = got else {
        panic!("not split: {got:?}")
    };
    assert_eq!(
        parts,
        vec![
            (1, args(&["MGET", "b1", "b2"])),
            (0, args(&["MGET", "a1", "a2"])),
            (2, args(&["MGET", "c1"])),
        ]
    );
    assert_eq!(
        merge,
        Merge::KeyOrder {
            positions: vec![vec![0, 2], vec![1, 4], vec![3]],
            total: 5
        }
    );
}

#[test]
fn mset_keeps_each_value_with_its_key() {
    let got = split(&["mset", "a1", "x", "b1", "y", "a2", "z"]).expect("valid");
    let KeySplit::Parts { parts, merge } = got else {
        panic!("not split: {got:?}")
    };
    assert_eq!(
        parts,
        vec![
            (0, args(&["mset", "a1", "x", "a2", "z"])),
            (1, args(&["mset", "b1", "y"])),
        ]
    );
    assert_eq!(merge, Merge::Rule(Rule::AllSucceeded));
}

#[test]
fn counting_commands_sum_their_parts() {
    for name in ["DEL", "UNLINK", "EXISTS", "TOUCH"] {
        let got = split(&[name, "a", "b", "a"]).expect("valid");
        let KeySplit::Parts { parts, merge } = got else {
            panic!("{name} not split")
        };
        assert_eq!(
            parts,
            vec![(0, args(&[name, "a", "a"])), (1, args(&[name, "b"]))],
            "{name}"
        );
        assert_eq!(merge, Merge::Rule(Rule::Sum), "{name}");
    }
}

#[test]
fn mset_with_a_key_but_no_value_is_a_wrong_arity_error() {
    assert_eq!(
        split(&["MSET", "a", "1", "b"]),
        Err(Reply::error(
            "ERR wrong number of arguments for 'mset' command"
        ))
    );
}

#[test]
fn scan_cursor_names_the_group_in_its_low_bits() {
    let (group, sub) = scan_request(&args(&["SCAN", "0", "COUNT", "5"]), 3).expect("valid");
    assert_eq!((group, sub), (0, args(&["SCAN", "0", "COUNT", "5"])));
    let cursor = (7u64 << SCAN_GROUP_BITS) | 2;
    let (group, sub) = scan_request(&args(&["scan", &cursor.to_string()]), 3).expect("valid");
    assert_eq!((group, sub), (2, args(&["scan", "7"])));
    for bad in ["x", "-1", "3"] {
        assert_eq!(
            scan_request(&args(&["SCAN", bad]), 3),
            Err(Reply::error("ERR invalid cursor")),
            "{bad}"
        );
    }
}
