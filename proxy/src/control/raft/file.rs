//! Durable files for the Raft state: whole files replaced atomically (written to a temporary
//! file, fsync'd, renamed over the old one, directory fsync'd), and an append-only record file
//! where each record is framed as `len: u32 LE | crc32: u32 LE | payload`, so a torn tail left
//! by a crash is detected and dropped on reading.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Largest record accepted when reading back (a topology is a few kB; a larger length means
/// corruption, not data).
const MAX_RECORD: usize = 64 << 20;

/// Writes `bytes` to `path` so that after a crash the file holds either the old or the new
/// contents, never a mix.
///
/// # Errors
/// The IO error of any step.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(path)
}

/// Writes `bytes` to `path` through a temporary file and a rename, without waiting for the
/// disk: readers see the old or the new contents, but a crash may lose the change (for hints
/// that can be lost).
///
/// # Errors
/// The IO error of any step.
pub(crate) fn replace_unsynced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Reads the file at `path`; `None` if it does not exist.
///
/// # Errors
/// Any IO error but "not found".
pub(crate) fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Frames `payload` as one record.
pub(crate) fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The records of a framed file, in order, up to the first torn or corrupt one, and the byte
/// length of the good prefix (where appending resumes).
pub(crate) fn read_records(path: &Path) -> io::Result<(Vec<Vec<u8>>, u64)> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut file) => {
            file.read_to_end(&mut bytes)?;
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(err) => return Err(err),
    }
    let mut records = Vec::new();
    let mut at = 0usize;
    while bytes.len() - at >= 8 {
        let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let len = len as usize;
        let sum = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        if len > MAX_RECORD || bytes.len() - at - 8 < len {
            break;
        }
        let payload = &bytes[at + 8..at + 8 + len];
        if crc32(payload) != sum {
            break;
        }
        records.push(payload.to_vec());
        at += 8 + len;
    }
    Ok((records, at as u64))
}

/// An append-only framed record file.
#[derive(Debug)]
pub(crate) struct RecordFile {
    path: PathBuf,
    file: File,
}

impl RecordFile {
    /// Opens `path` for appending after its first `good_len` bytes (dropping a torn tail).
    ///
    /// # Errors
    /// The IO error.
    pub(crate) fn open(path: &Path, good_len: u64) -> io::Result<RecordFile> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        file.set_len(good_len)?;
        let mut file = file;
        std::io::Seek::seek(&mut file, io::SeekFrom::End(0))?;
        file.sync_all()?;
        sync_dir(path)?;
        Ok(RecordFile {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends framed `payloads` and fsyncs them.
    ///
    /// # Errors
    /// The IO error.
    pub(crate) fn append(&mut self, payloads: &[Vec<u8>]) -> io::Result<()> {
        let mut buf = Vec::new();
        for payload in payloads {
            buf.extend_from_slice(&frame(payload));
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }

    /// Replaces the whole file by `payloads` (after a truncation or a purge), atomically.
    ///
    /// # Errors
    /// The IO error.
    pub(crate) fn rewrite(&mut self, payloads: &[Vec<u8>]) -> io::Result<()> {
        let mut buf = Vec::new();
        for payload in payloads {
            buf.extend_from_slice(&frame(payload));
        }
        replace(&self.path, &buf)?;
        let mut file = OpenOptions::new().read(true).write(true).open(&self.path)?;
        std::io::Seek::seek(&mut file, io::SeekFrom::End(0))?;
        self.file = file;
        Ok(())
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib computes it).
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_zlib_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_torn_tail_is_dropped_and_appending_resumes_after_the_good_prefix() {
        let dir = std::env::temp_dir().join(format!("redoubt-raft-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let _ = std::fs::remove_file(&path);
        let mut file = RecordFile::open(&path, 0).unwrap();
        file.append(&[b"one".to_vec(), b"two".to_vec()]).unwrap();
        // A crash mid-record: half a frame at the end, and a record with a bad checksum.
        let mut bytes = std::fs::read(&path).unwrap();
        let good = bytes.len() as u64;
        let mut bad = frame(b"three");
        bad[5] ^= 0xff;
        bytes.extend_from_slice(&bad);
        std::fs::write(&path, &bytes).unwrap();
        let (records, len) = read_records(&path).unwrap();
        assert_eq!(records, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(len, good);
        let mut file = RecordFile::open(&path, len).unwrap();
        file.append(&[b"four".to_vec()]).unwrap();
        let (records, _) = read_records(&path).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[2], b"four");
        file.rewrite(&[b"only".to_vec()]).unwrap();
        file.append(&[b"after".to_vec()]).unwrap();
        assert_eq!(
            read_records(&path).unwrap().0,
            vec![b"only".to_vec(), b"after".to_vec()]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
