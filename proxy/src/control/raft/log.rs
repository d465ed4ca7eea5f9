//! The Raft log and vote, persisted under `<dir>/raft/`: `log` holds the entries as framed
//! records (JSON payloads), appended and fsync'd before openraft is told they are durable;
//! `meta` holds the vote and the purged log id, replaced atomically and fsync'd; `committed`
//! holds the committed log id, replaced atomically but not fsync'd: it only lets a restarted
//! proxy apply what it knows to be committed before a leader tells it (if it is lost, the
//! leader tells it), and keeping it off the disk's flush keeps it off the commit path. A
//! truncation or a purge rewrites `log` atomically (both are rare: the log only grows when the
//! topology changes). Entries are also kept in memory for reading.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, LogId, RaftLogReader, StorageError, StorageIOError, Vote};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::file::{self, RecordFile};
use super::{ProxyId, TypeConfig};

/// What `meta` holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Meta {
    vote: Option<Vote<ProxyId>>,
    purged: Option<LogId<ProxyId>>,
}

#[derive(Debug)]
struct Inner {
    entries: BTreeMap<u64, Entry<TypeConfig>>,
    meta: Meta,
    meta_path: PathBuf,
    committed: Option<LogId<ProxyId>>,
    committed_path: PathBuf,
    file: RecordFile,
}

/// The log store; clones share it (one serves as the log reader).
#[derive(Clone, Debug)]
pub(crate) struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

type Result<T> = std::result::Result<T, StorageError<ProxyId>>;

fn write_error(err: impl std::error::Error + 'static) -> StorageError<ProxyId> {
    StorageIOError::write_logs(&err).into()
}

fn read_error(err: impl std::error::Error + 'static) -> StorageError<ProxyId> {
    StorageIOError::read_logs(&err).into()
}

impl LogStore {
    /// Opens (or creates) the log under `dir`, dropping a torn tail.
    ///
    /// # Errors
    /// An IO error, or a `meta` file that does not parse.
    pub(crate) fn open(dir: &Path) -> std::io::Result<LogStore> {
        std::fs::create_dir_all(dir)?;
        let meta_path = dir.join("meta");
        let meta = match file::read_optional(&meta_path)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
            None => Meta::default(),
        };
        let committed_path = dir.join("committed");
        // Unreadable (torn by a crash): unknown, the leader will tell.
        let committed = file::read_optional(&committed_path)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .flatten();
        let log_path = dir.join("log");
        let (records, good_len) = file::read_records(&log_path)?;
        let mut entries = BTreeMap::new();
        for record in records {
            let entry: Entry<TypeConfig> =
                serde_json::from_slice(&record).map_err(std::io::Error::other)?;
            // A later record for an index replaces an earlier one and everything after it.
            let index = entry.log_id.index;
            let _ = entries.split_off(&index);
            entries.insert(index, entry);
        }
        let file = RecordFile::open(&log_path, good_len)?;
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                entries,
                meta,
                meta_path,
                committed,
                committed_path,
                file,
            })),
        })
    }
}

impl Inner {
    fn save_meta(&self) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&self.meta).map_err(std::io::Error::other)?;
        file::replace(&self.meta_path, &bytes)
    }

    fn rewrite(&mut self) -> std::io::Result<()> {
        let mut payloads = Vec::with_capacity(self.entries.len());
        for entry in self.entries.values() {
            payloads.push(serde_json::to_vec(entry).map_err(std::io::Error::other)?);
        }
        self.file.rewrite(&payloads)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>> {
        let inner = self.inner.lock();
        Ok(inner.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>> {
        let inner = self.inner.lock();
        let last = inner
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(inner.meta.purged);
        Ok(LogState {
            last_purged_log_id: inner.meta.purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<ProxyId>) -> Result<()> {
        let mut inner = self.inner.lock();
        inner.meta.vote = Some(*vote);
        inner
            .save_meta()
            .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<ProxyId>>> {
        Ok(self.inner.lock().meta.vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId<ProxyId>>) -> Result<()> {
        let mut inner = self.inner.lock();
        inner.committed = committed;
        let bytes = serde_json::to_vec(&committed).map_err(write_error)?;
        file::replace_unsynced(&inner.committed_path, &bytes).map_err(write_error)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<ProxyId>>> {
        Ok(self.inner.lock().committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut inner = self.inner.lock();
        let mut payloads = Vec::new();
        for entry in entries {
            payloads.push(serde_json::to_vec(&entry).map_err(write_error)?);
            inner.entries.insert(entry.log_id.index, entry);
        }
        let result = inner.file.append(&payloads);
        let failed = result
            .as_ref()
            .err()
            .map(|e| write_error(std::io::Error::new(e.kind(), e.to_string())));
        callback.log_io_completed(result);
        match failed {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    async fn truncate(&mut self, log_id: LogId<ProxyId>) -> Result<()> {
        let mut inner = self.inner.lock();
        let _ = inner.entries.split_off(&log_id.index);
        inner.rewrite().map_err(write_error)
    }

    async fn purge(&mut self, log_id: LogId<ProxyId>) -> Result<()> {
        let mut inner = self.inner.lock();
        // The purged id first: a crash between the two steps leaves extra entries, not a hole.
        inner.meta.purged = Some(log_id);
        inner.save_meta().map_err(write_error)?;
        inner.entries = inner.entries.split_off(&(log_id.index + 1));
        inner.rewrite().map_err(read_error)
    }
}
