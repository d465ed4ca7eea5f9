//! The `FUNCTION DUMP` payload, Redoubt's own (Redis's is an RDB fragment): [`DUMP_MAGIC`],
//! then per library its code's length (4 bytes, big-endian) and code. `FUNCTION RESTORE`
//! accepts only that; a full resync sends the libraries to a standby in it.

use bytes::{BufMut, Bytes, BytesMut};

/// First bytes of a `FUNCTION DUMP` payload.
pub(crate) const DUMP_MAGIC: &[u8] = b"REDOUBT-FUNCTIONS-1\n";
/// The `FUNCTION DUMP` payload of `codes`.
pub(crate) fn encode_dump(codes: &[Bytes]) -> Bytes {
    let mut out = BytesMut::with_capacity(
        DUMP_MAGIC.len() + codes.iter().map(|c| c.len() + 4).sum::<usize>(),
    );
    out.put_slice(DUMP_MAGIC);
    for code in codes {
        out.put_u32(code.len() as u32);
        out.put_slice(code);
    }
    out.freeze()
}

/// The library codes in a `FUNCTION DUMP` payload; `None` when it is not one.
pub(crate) fn decode_dump(payload: &[u8]) -> Option<Vec<Bytes>> {
    let mut rest = payload.strip_prefix(DUMP_MAGIC)?;
    let mut codes = Vec::new();
    while !rest.is_empty() {
        let len_bytes: [u8; 4] = rest.get(..4)?.try_into().ok()?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let code = rest.get(4..4 + len)?;
        codes.push(Bytes::copy_from_slice(code));
        rest = &rest[4 + len..];
    }
    Some(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_payload_round_trips_and_rejects_garbage() {
        let codes = vec![
            Bytes::from_static(b"#!lua name=a\nredis.register_function('f', function() end)"),
            Bytes::new(),
        ];
        assert_eq!(decode_dump(&encode_dump(&codes)), Some(codes));
        assert_eq!(decode_dump(b"bogus"), None);
        let mut cut = encode_dump(&[Bytes::from_static(b"abc")]).to_vec();
        cut.pop();
        assert_eq!(decode_dump(&cut), None);
    }
}
