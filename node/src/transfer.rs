//! The keys of an RDB file as `RESTORE` payloads, for carrying a dataset from a running Redis
//! into a Redoubt deployment through its proxy (`redoubt ctl import`): each key is re-encoded
//! as Redis's `DUMP` payload (RDB value encoding, RDB version 10, CRC-64), which any group's
//! node accepts with `RESTORE ... REPLACE ABSTTL`.

use bytes::Bytes;

use crate::rdb::{encode_dump, RdbReader, Record};

/// One key of an RDB file, ready for `RESTORE key expire_at_ms payload REPLACE ABSTTL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpedKey {
    /// The database the key belongs to (`SELECTDB`).
    pub db: u32,
    /// The key's name.
    pub key: Bytes,
    /// Absolute expiry in Unix milliseconds; `None` for a key that does not expire.
    pub expire_at_ms: Option<i64>,
    /// The `DUMP` payload of the key's value.
    pub payload: Bytes,
}

/// What [`read_rdb`] found besides the keys it handed out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RdbContents {
    /// Keys handed to the callback.
    pub keys: u64,
    /// The source code of each function library (`FUNCTION2` records), for `FUNCTION LOAD`.
    pub functions: Vec<Bytes>,
}

/// Reads the RDB file `data` (versions 1 to 11, as Redis 1.0 to 7.2 write them) and hands
/// every key to `each`, in file order.
///
/// # Errors
/// A sentence naming the byte offset and the reason when the file is truncated, corrupt, fails
/// its checksum or is not an RDB file.
pub fn read_rdb(data: &[u8], mut each: impl FnMut(DumpedKey)) -> Result<RdbContents, String> {
    let fail =
        |e: crate::rdb::RdbError| format!("{} at byte {} of {}", e.kind, e.offset, data.len());
    let mut reader = RdbReader::new(data).map_err(fail)?;
    let mut contents = RdbContents::default();
    while let Some(record) = reader.next_record().map_err(fail)? {
        match record {
            Record::Key(record) => {
                contents.keys += 1;
                each(DumpedKey {
                    db: record.db,
                    key: record.key.to_bytes(),
                    expire_at_ms: record.expire_ms,
                    payload: Bytes::from(encode_dump(&record.value)),
                });
            }
            Record::Function(code) => contents.functions.push(code),
            Record::Aux { .. } | Record::SelectDb(_) | Record::ResizeDb { .. } => {}
        }
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::decode_dump;

    #[test]
    fn every_key_of_a_written_file_comes_back_as_a_restorable_payload() {
        let dataset = crate::rdb::tests::mixed_dataset();
        let file = crate::rdb::tests::write(&dataset, crate::rdb::WriteOptions::default());
        let mut seen = Vec::new();
        let contents = read_rdb(&file, |key| seen.push(key)).unwrap();
        assert_eq!(contents.keys as usize, seen.len());
        assert!(!seen.is_empty());
        assert_eq!(seen.len(), dataset.len());
        for key in &seen {
            let value = decode_dump(&key.payload).expect("a payload RESTORE accepts");
            let (_, _, original, expire_ms) = dataset
                .iter()
                .find(|(db, name, ..)| *db == key.db && *name == key.key)
                .expect("a key of the dataset");
            assert!(crate::rdb::tests::same(original, &value), "{:?}", key.key);
            assert_eq!(*expire_ms, key.expire_at_ms);
        }
        assert_eq!(contents.functions.len(), 1);
    }

    #[test]
    fn a_truncated_file_is_refused_with_its_offset() {
        let file =
            crate::rdb::tests::write(&crate::rdb::tests::mixed_dataset(), Default::default());
        let err = read_rdb(&file[..file.len() / 2], |_| {}).unwrap_err();
        assert!(err.contains(" at byte "), "{err}");
    }
}
