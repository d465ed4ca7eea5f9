use proptest::prelude::*;

use super::*;
use crate::reply::Protocol;

/// Feeds `input` in pieces of `chunk` bytes; the frames split off, and what is left.
fn split_all(input: &[u8], chunk: usize) -> Result<(Vec<Bytes>, BytesMut), MalformedReply> {
    let mut decoder = ReplyDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(frame) = decoder.next(&mut buf)? {
            out.push(frame);
        }
    }
    Ok((out, buf))
}

fn encode(reply: &Reply, protocol: Protocol) -> Vec<u8> {
    let mut out = BytesMut::new();
    reply.encode(protocol, &mut out);
    out.to_vec()
}

#[test]
fn splits_replies_of_both_protocols_whatever_the_reads() {
    let replies: Vec<&[u8]> = vec![
        b"+OK\r\n",
        b"$-1\r\n",
        b"*-1\r\n",
        b"$5\r\nhello\r\n",
        b"*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n*0\r\n",
        b"%2\r\n$1\r\nk\r\n,1.5\r\n$1\r\nm\r\n~1\r\n#t\r\n",
        b"_\r\n",
        b"-ERR x\r\n",
        b"=7\r\ntxt:abc\r\n",
        b"|1\r\n+key\r\n+value\r\n:7\r\n",
    ];
    let wire: Vec<u8> = replies.concat();
    for chunk in [1, 2, 3, 7, 1000] {
        let (got, rest) = split_all(&wire, chunk).expect("valid");
        assert!(rest.is_empty());
        assert_eq!(got, replies, "chunk {chunk}");
    }
}

#[test]
fn decodes_resp3_types_to_their_nearest_reply() {
    let cases: Vec<(&[u8], Reply)> = vec![
        (b"=7\r\ntxt:abc\r\n", Reply::bulk("abc")),
        (b"!5\r\nERR x\r\n", Reply::error("ERR x")),
        (b"(123\r\n", Reply::bulk("123")),
        (b">1\r\n+a\r\n", Reply::Array(vec![Reply::simple("a")])),
        (b"|1\r\n+key\r\n+value\r\n:7\r\n", Reply::Int(7)),
        (b"*-1\r\n", Reply::NullArray),
        (b"$-1\r\n", Reply::Null),
        (b"_\r\n", Reply::Null),
        (b",-inf\r\n", Reply::Double(f64::NEG_INFINITY)),
    ];
    for (frame, expected) in cases {
        assert_eq!(
            decode(frame),
            Ok(expected),
            "{}",
            String::from_utf8_lossy(frame)
        );
    }
}

#[test]
fn rejects_garbage_and_what_breaks_the_limits() {
    let bad: Vec<Vec<u8>> = vec![
        b"?what\r\n".to_vec(),
        b"\r\n".to_vec(),
        b"$-2\r\n".to_vec(),
        b"*-2\r\n".to_vec(),
        b"$3\r\nabcXY".to_vec(),
        format!("${}\r\n", MAX_BULK + 1).into_bytes(),
        b"*1\r\n".repeat(MAX_DEPTH + 1),
        vec![b'+'; MAX_LINE + 2],
    ];
    for input in bad {
        let mut buf = BytesMut::from(&input[..]);
        assert_eq!(ReplyDecoder::new().next(&mut buf), Err(MalformedReply));
    }
    assert_eq!(decode(b"*2\r\n:1\r\n"), Err(MalformedReply));
}

#[test]
fn a_huge_announced_bulk_reserves_only_a_bounded_amount() {
    let mut buf = BytesMut::from(&b"$500000000\r\nab"[..]);
    assert_eq!(ReplyDecoder::new().next(&mut buf), Ok(None));
    assert!(buf.capacity() <= 4 * RESERVE_AHEAD, "{}", buf.capacity());
}

fn line_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _.:-]{0,20}"
}

fn bulk() -> impl Strategy<Value = Reply> {
    proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| Reply::Bulk(Bytes::from(b)))
}

/// Replies that RESP2 carries without loss.
fn resp2_reply() -> impl Strategy<Value = Reply> {
    let leaf = prop_oneof![
        line_text().prop_map(|t| Reply::Simple(t.into())),
        line_text().prop_map(|t| Reply::Error(format!("ERR {t}").into())),
        any::<i64>().prop_map(Reply::Int),
        bulk(),
        Just(Reply::Null),
        Just(Reply::NullArray),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        proptest::collection::vec(inner, 0..6).prop_map(Reply::Array)
    })
}

/// Replies that RESP3 carries without loss.
fn resp3_reply() -> impl Strategy<Value = Reply> {
    let leaf = prop_oneof![
        line_text().prop_map(|t| Reply::Simple(t.into())),
        line_text().prop_map(|t| Reply::Error(format!("ERR {t}").into())),
        any::<i64>().prop_map(Reply::Int),
        bulk(),
        Just(Reply::Null),
        (-1_000_000i64..1_000_000, 0u32..4)
            .prop_map(|(n, scale)| Reply::Double(n as f64 / 10f64.powi(scale as i32))),
        any::<bool>().prop_map(Reply::Bool),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Reply::Array),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Reply::Set),
            proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Reply::Map),
        ]
    })
}

fn any_protocol_reply() -> impl Strategy<Value = (Protocol, Reply)> {
    prop_oneof![
        resp2_reply().prop_map(|r| (Protocol::Resp2, r)),
        resp3_reply().prop_map(|r| (Protocol::Resp3, r)),
    ]
}

/// Everything the scanner leaves in the buffer or reserves stays within a fixed distance of
/// what it was given.
fn assert_bounded(input_len: usize, buf: &BytesMut) {
    let bound = 2 * (input_len + RESERVE_AHEAD) + 64;
    assert!(buf.capacity() <= bound, "{} > {bound}", buf.capacity());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_nor_grow_without_bound(
        input in proptest::collection::vec(any::<u8>(), 0..512),
        chunk in 1usize..64,
    ) {
        let mut decoder = ReplyDecoder::new();
        let mut buf = BytesMut::new();
        for piece in input.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Ok(Some(frame)) = decoder.next(&mut buf) {
                let _ = decode(&frame);
            }
            assert_bounded(input.len(), &buf);
        }
        let _ = decode(&input);
    }

    #[test]
    fn mutated_frames_never_panic_nor_grow_without_bound(
        (protocol, reply) in any_protocol_reply(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let mut wire = encode(&reply, protocol);
        for (at, byte) in edits {
            let at = at % wire.len();
            wire[at] = byte;
        }
        wire.truncate(cut % (wire.len() + 1));
        let mut buf = BytesMut::new();
        let mut decoder = ReplyDecoder::new();
        for &byte in &wire {
            buf.extend_from_slice(&[byte]);
            match decoder.next(&mut buf) {
                Ok(Some(frame)) => { let _ = decode(&frame); }
                Ok(None) => {}
                Err(_) => break,
            }
            assert_bounded(wire.len(), &buf);
        }
        let _ = decode(&wire);
    }

    #[test]
    fn valid_frames_decode_to_what_was_encoded_however_split(
        (protocol, reply) in any_protocol_reply(),
        (second_protocol, second) in any_protocol_reply(),
    ) {
        // Two frames back to back (a pipelined connection), one protocol each.
        let first_wire = encode(&reply, protocol);
        let second_wire = encode(&second, second_protocol);
        let wire = [first_wire.clone(), second_wire.clone()].concat();
        for split in 0..=wire.len() {
            let mut decoder = ReplyDecoder::new();
            let mut buf = BytesMut::from(&wire[..split]);
            let mut frames = Vec::new();
            while let Some(frame) = decoder.next(&mut buf).expect("valid") {
                frames.push(frame);
            }
            buf.extend_from_slice(&wire[split..]);
            while let Some(frame) = decoder.next(&mut buf).expect("valid") {
                frames.push(frame);
            }
            prop_assert!(buf.is_empty());
            prop_assert_eq!(frames.len(), 2);
            prop_assert_eq!(&frames[0][..], &first_wire[..]);
            prop_assert_eq!(&frames[1][..], &second_wire[..]);
            prop_assert_eq!(decode(&frames[0]), Ok(reply.clone()));
            prop_assert_eq!(decode(&frames[1]), Ok(second.clone()));
        }
    }
}

#[test]
fn groups_of_frames_split_off_together_whatever_the_reads() {
    // A whole transaction's replies (+OK, +QUEUED twice, EXEC's array), then a lone reply.
    let group: &[u8] = b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$1\r\na\r\n:1\r\n";
    let lone: &[u8] = b"$5\r\nhello\r\n";
    let wire = [group, lone].concat();
    for chunk in 1..=wire.len() {
        let mut decoder = ReplyDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                let count = if out.is_empty() { 4 } else { 1 };
                match decoder.next_frames(&mut buf, count).unwrap() {
                    Some(frames) => out.push(frames),
                    None => break,
                }
            }
        }
        assert_eq!(
            out,
            vec![Bytes::from(group), Bytes::from(lone)],
            "reads of {chunk}"
        );
        assert!(buf.is_empty());
    }
}
