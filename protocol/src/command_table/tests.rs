use super::*;

#[test]
fn placeholder() {
    assert!(lookup(b"GET").is_some());
}

#[test]
fn zz_dump_for_comparison() {
    use crate::reply::Protocol;
    let mut out = bytes::BytesMut::new();
    command_docs(&[]).encode(Protocol::Resp3, &mut out);
    std::fs::write("/tmp/cmdgen/ours_docs.resp", &out).unwrap();
    let mut out = bytes::BytesMut::new();
    command_info(&[]).encode(Protocol::Resp3, &mut out);
    std::fs::write("/tmp/cmdgen/ours_info.resp", &out).unwrap();
}
