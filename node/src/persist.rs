//! Snapshots of the keyspace in Redis's RDB format: `SAVE` (in the foreground), `BGSAVE` and
//! the `save` schedule (in the background, without fork), and loading the file at start.
//!
//! A background save is consistent at the instant it begins: under the store lock, every
//! database starts a capture ([`Db::begin_capture`], O(1)). A blocking thread then walks the
//! databases a [`CHUNK`] of keys at a time, each chunk cloned under the lock and encoded
//! outside it; a key about to change before the walk reached it is first copied as it was
//! (copy before change, see `keyspace::db::Capture`). Clients therefore wait at most one
//! chunk's clone, and the extra memory is the chunk plus the keys written during the save, as
//! with a fork's copy-on-write. Strings are shared `Bytes`, so their clones cost no copy.
//!
//! Files are written to a temporary file in `dir`, fsynced, renamed over `dbfilename`, and
//! the directory fsynced: the old file stays until a complete new one replaces it.
//! Facts from Redis `rdb.c` (`rdbSave`, `rdbLoad`), `server.c` (`serverCron`'s save points).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::{error, info};

use crate::config::{parse_save_points, Config};
use crate::keyspace::db::{Db, DbLoader, Item};
use crate::keyspace::{PendingSave, Store};
use crate::rdb::reader::DeferredChecksum;
use crate::rdb::{RdbReader, RdbWriter, Record, ReplInfo, SnapshotInfo, WriteOptions};
use crate::script::functions::RestorePolicy;
use crate::script::Scripting;
use crate::state::{unix_ms, NodeState};

/// Keys cloned per lock hold while a background save walks a database.
pub(crate) const CHUNK: usize = 512;
/// Wait before an automatic save retries after a failure (Redis's `CONFIG_BGSAVE_RETRY_DELAY`).
const RETRY_DELAY: Duration = Duration::from_secs(5);
/// How often the save schedule is checked.
const TICK: Duration = Duration::from_millis(100);

/// The reply to a write while the last background save failed (Redis's `shared.bgsaveerr`).
pub(crate) const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Where the snapshot lives: `dir`/`dbfilename`.
pub(crate) fn rdb_path(config: &Config) -> PathBuf {
    config.dir.join(&config.dbfilename)
}

/// The `MISCONF` error a write (and `PING`) must be refused with while the node cannot
/// persist, if any (Redis's `writeCommandsDeniedByDiskError`): the last background save failed
/// while a save schedule is set and `stop-writes-on-bgsave-error` is on ([`MISCONF`]), or the
/// append-only file is on and its last write or fsync failed (`MISCONF Errors writing to the
/// AOF file: <the system's error text>`). A standby never refuses: its writes come from its
/// primary.
pub(crate) fn write_refusal(store: &Store) -> Option<std::borrow::Cow<'static, str>> {
    if store.repl.is_replica() {
        return None;
    }
    if !store.saves.last_bgsave_ok
        && store.config.stop_writes_on_bgsave_error
        && !store.config.save.is_empty()
    {
        return Some(MISCONF.into());
    }
    let failure = store.aof.writer.as_ref()?.failure()?;
    Some(format!("MISCONF Errors writing to the AOF file: {failure}").into())
}

/// `rdbcompression` and `rdbchecksum` as RDB writer options.
pub(crate) fn options(config: &Config) -> WriteOptions {
    WriteOptions {
        compression: config.rdbcompression,
        checksum: config.rdbchecksum,
    }
}

/// The aux fields of a snapshot of `store` taken now, replication position included.
pub(crate) fn snapshot_info(store: &Store) -> SnapshotInfo {
    SnapshotInfo {
        redis_version: crate::REDIS_VERSION.to_string(),
        ctime_secs: unix_ms() / 1000,
        used_memory: crate::memory::used_memory(),
        replication: Some(ReplInfo {
            stream_db: store.repl.stream_db.unwrap_or(0) as i64,
            id: store.repl.replid.clone(),
            offset: store.repl.offset as i64,
        }),
        aof_base: false,
    }
}

/// Writes a file through `write` to a temporary file next to `path`, fsyncs it and renames it
/// over `path`; on any error the temporary file is removed and `path` is left as it was.
/// Returns the bytes written.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<u64>,
) -> io::Result<u64> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        "temp-{}-{}.rdb",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        let bytes = write(&mut file)?;
        file.flush()?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the directory is.
        if let Ok(d) = File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        }) {
            let _ = d.sync_all();
        }
        Ok(bytes)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `SAVE`: writes the whole keyspace and the function libraries' sources (`functions`, as
/// `FunctionLibraries::dump` gives them) now, holding the lock (clients wait, as in Redis).
/// Returns the bytes written.
///
/// # Errors
/// The IO error; the previous file is then untouched.
pub(crate) fn save(store: &mut Store, functions: &[Bytes]) -> io::Result<u64> {
    let started = Instant::now();
    let path = rdb_path(&store.config);
    let info = snapshot_info(store);
    let options = options(&store.config);
    let dirty = store.dirty();
    let dbs = &store.dbs;
    let result = write_atomically(&path, |file| {
        let mut writer = RdbWriter::new(file, options, &info)?;
        for code in functions {
            writer.write_function(code)?;
        }
        for (index, db) in dbs.iter().enumerate() {
            if db.is_empty() {
                continue;
            }
            let index = index as u32;
            writer.select_db(index, db.len() as u64, db.expires_len() as u64)?;
            for (key, entry) in db.iter() {
                writer.write_key(index, key, entry.value, expiry(&entry))?;
            }
        }
        Ok(writer.finish()?.1)
    });
    match &result {
        Ok(bytes) => {
            saved(store, dirty, *bytes);
            store.saves.last_bgsave_ok = true;
            info!(path = %path.display(), bytes, ms = started.elapsed().as_millis() as u64, "DB saved on disk");
        }
        Err(err) => {
            store.saves.last_save_ok = false;
            store.saves.last_failure = Some(Instant::now());
            error!(path = %path.display(), %err, "failed saving the DB");
        }
    }
    result
}

/// A key's expiry as the RDB writer takes it (absolute Unix ms).
pub(crate) fn expiry<V>(item: &Item<V>) -> Option<i64> {
    item.expires_at.map(|at| at.min(i64::MAX as u64) as i64)
}

/// Records a successful save of the data as of dirty counter `dirty`.
fn saved(store: &mut Store, dirty: u64, bytes: u64) {
    let status = &mut store.saves;
    status.dirty_at_save = dirty;
    status.last_save_unix = unix_ms() / 1000;
    status.last_save_ok = true;
    status.last_failure = None;
    status.saves += 1;
    status.last_size = bytes;
}

/// `BGSAVE`: takes the snapshot now (O(1) under the lock; `functions`: the libraries'
/// sources as of now) and hands it to the saver task, which writes it in the background.
///
/// # Errors
/// `ERR Background save already in progress` when one runs.
pub(crate) fn begin_bgsave(store: &mut Store, functions: Vec<Bytes>) -> Result<(), &'static str> {
    if store.saves.bgsave_started.is_some() {
        return Err("ERR Background save already in progress");
    }
    if store.aof.rewriting() {
        return Err("ERR An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    let info = snapshot_info(store);
    let dbs = begin_capture(store);
    store.saves.bgsave_started = Some(Instant::now());
    store.saves.dirty_at_bgsave = store.dirty();
    store.saves.pending = Some(PendingSave {
        path: rdb_path(&store.config),
        options: options(&store.config),
        info,
        functions,
        dbs,
    });
    store.saves.wake.notify_one();
    Ok(())
}

/// Begins a point-in-time capture of every non-empty database (O(1) each, see
/// `keyspace::db::Capture`): per database its index, keys, keys with a TTL and the first
/// cursor, for [`walk_capture`]. Only one capture may run at a time (`BGSAVE` or an AOF
/// rewrite).
pub(crate) fn begin_capture(store: &mut Store) -> Vec<(usize, u64, u64, usize)> {
    store
        .dbs
        .iter_mut()
        .enumerate()
        .filter(|(_, db)| !db.is_empty())
        .map(|(index, db)| {
            let sizes = (db.len() as u64, db.expires_len() as u64);
            (index, sizes.0, sizes.1, db.begin_capture())
        })
        .collect()
}

/// Walks a capture begun by [`begin_capture`], a [`CHUNK`] of keys cloned per hold of the
/// store lock and handed out without it: `on_db(index, keys, expires)` before each database,
/// `on_key(index, key, entry)` for each of its keys as it was when the capture began. Every
/// capture is closed at the end, on error too. Returns the keys walked and the longest hold.
///
/// # Errors
/// The first error of a callback.
pub(crate) fn walk_capture(
    node: &NodeState,
    dbs: &[(usize, u64, u64, usize)],
    mut on_db: impl FnMut(usize, u64, u64) -> io::Result<()>,
    mut on_key: impl FnMut(usize, Bytes, Item) -> io::Result<()>,
) -> io::Result<(u64, Duration)> {
    let mut longest_hold = Duration::ZERO;
    let mut keys = 0u64;
    let result = (|| {
        let mut chunk: Vec<(Bytes, Item)> = Vec::with_capacity(CHUNK);
        for &(index, len, expires, mut cursor) in dbs {
            on_db(index, len, expires)?;
            loop {
                {
                    let mut store = node.store.lock();
                    let held = Instant::now();
                    cursor = store.dbs[index].capture_chunk(cursor, CHUNK, &mut chunk);
                    if cursor == 0 {
                        store.dbs[index].end_capture(&mut chunk);
                    }
                    longest_hold = longest_hold.max(held.elapsed());
                }
                for (key, entry) in chunk.drain(..) {
                    on_key(index, key, entry)?;
                    keys += 1;
                }
                if cursor == 0 {
                    break;
                }
            }
        }
        Ok(())
    })();
    let mut store = node.store.lock();
    let mut discard = Vec::new();
    for &(index, ..) in dbs {
        store.dbs[index].end_capture(&mut discard);
    }
    drop(store);
    drop(discard);
    result.map(|()| (keys, longest_hold))
}

/// True when a `save` point is due: enough changes and enough time since the last save, and
/// no failed save in the last [`RETRY_DELAY`] (Redis `serverCron`).
fn save_point_due(store: &Store) -> bool {
    let status = &store.saves;
    if status.bgsave_started.is_some() || store.aof.rewriting() {
        return false;
    }
    if status
        .last_failure
        .is_some_and(|at| at.elapsed() < RETRY_DELAY)
    {
        return false;
    }
    let changes = store.dirty() - status.dirty_at_save;
    let elapsed = (unix_ms() / 1000).saturating_sub(status.last_save_unix);
    parse_save_points(&store.config.save)
        .unwrap_or_default()
        .iter()
        .any(|&(secs, min_changes)| changes >= min_changes && elapsed >= secs)
}

/// The saver task: starts saves when a `save` point is due or a `BGSAVE SCHEDULE` waits, and
/// writes every snapshot taken on a blocking thread.
pub(crate) async fn run(node: Arc<NodeState>) {
    let wake = node.lock_store().await.saves.wake.clone();
    loop {
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(TICK) => {}
        }
        let job = {
            let mut store = node.lock_store().await;
            let due = save_point_due(&store)
                || (store.saves.bgsave_scheduled
                    && store.saves.bgsave_started.is_none()
                    && !store.aof.rewriting());
            if store.saves.pending.is_none() && due {
                store.saves.bgsave_scheduled = false;
                if save_point_due(&store) {
                    info!(
                        changes = store.dirty() - store.saves.dirty_at_save,
                        "save point reached, saving"
                    );
                }
                let functions = node.scripting.lock().functions.dump();
                let _ = begin_bgsave(&mut store, functions);
            }
            store.saves.pending.take()
        };
        if let Some(job) = job {
            let node = node.clone();
            let _ = tokio::task::spawn_blocking(move || write_background(&node, job)).await;
        }
    }
}

/// Writes the snapshot `job` took, cloning it a chunk at a time under the lock; records the
/// outcome. Captures still open after a failure are closed, so nothing keeps copying.
fn write_background(node: &NodeState, job: PendingSave) {
    let started = Instant::now();
    let mut walked = (0, Duration::ZERO);
    let result = write_atomically(&job.path, |file| {
        let mut writer = RdbWriter::new(file, job.options, &job.info)?;
        for code in &job.functions {
            writer.write_function(code)?;
        }
        let writer = std::cell::RefCell::new(writer);
        walked = walk_capture(
            node,
            &job.dbs,
            |db, len, expires| writer.borrow_mut().select_db(db as u32, len, expires),
            |db, key, entry| {
                writer
                    .borrow_mut()
                    .write_key(db as u32, &key, &entry.value, expiry(&entry))
            },
        )?;
        Ok(writer.into_inner().finish()?.1)
    });
    let (keys, longest_hold) = walked;
    let mut store = node.store.lock();
    let status = &mut store.saves;
    let secs = started.elapsed().as_secs_f64();
    status.bgsave_started = None;
    status.last_bgsave_secs = secs.round() as i64;
    match result {
        Ok(bytes) => {
            let dirty = status.dirty_at_bgsave;
            status.last_bgsave_ok = true;
            saved(&mut store, dirty, bytes);
            info!(
                path = %job.path.display(),
                keys,
                bytes,
                ms = (secs * 1000.0) as u64,
                longest_lock_us = longest_hold.as_micros() as u64,
                "background saving terminated with success"
            );
        }
        Err(err) => {
            status.last_bgsave_ok = false;
            status.last_save_ok = false;
            status.last_failure = Some(Instant::now());
            error!(path = %job.path.display(), %err, "background saving error");
        }
    }
}

/// What loading found.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Keys loaded.
    pub(crate) keys: u64,
    /// Keys dropped because they had expired.
    pub(crate) expired: u64,
    /// Bytes of the file.
    pub(crate) bytes: u64,
}

/// An RDB file parsed into databases, not yet installed.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// One database per configured database.
    pub(crate) dbs: Vec<Db>,
    /// `repl-id`, `repl-offset` and `repl-stream-db` when the file records them.
    pub(crate) replication: Option<(String, u64, Option<usize>)>,
    /// Counts.
    pub(crate) loaded: Loaded,
    /// The file's RDB version.
    pub(crate) version: u16,
    /// Function libraries' sources (`FUNCTION2` records), in file order.
    pub(crate) functions: Vec<Bytes>,
    /// Eval scripts' bodies (`lua` aux fields, which a full resync carries).
    pub(crate) scripts: Vec<Bytes>,
    /// Offset just past the RDB end (the EOF opcode and its checksum): an append-only file's
    /// base may carry commands after it.
    pub(crate) end: usize,
}

/// Records the reading thread hands to the loading thread at a time.
const BATCH: usize = 256;
/// Batches the reading thread may be ahead of the loading thread (so at most a few thousand
/// decoded keys wait in between).
const BATCHES_AHEAD: usize = 8;

/// Records in file order, each with the file offset just past it.
type Batch = Vec<(Record, usize)>;

/// Parses a whole RDB file into `databases` databases. Keys already expired at `now_ms` are
/// dropped unless `keep_expired` (a standby keeps them until its primary's `DEL`). `progress`
/// is called about every second with (keys so far, percent of the bytes read).
///
/// Two threads share the work, as a pipeline: a reading thread decodes records (keys into
/// the form a database keeps them in, values into their final encodings) and hands them over
/// in batches of [`BATCH`]; this thread appends them to the databases ([`DbLoader`], sized
/// from each database's `RESIZEDB` record), which index their keys once at the end. A new
/// key's access word comes from a clock read once per batch (the LRU clock counts seconds,
/// the LFU clock minutes).
///
/// # Errors
/// A sentence with the byte offset and the reason: truncated, corrupt, checksum, foreign
/// format, unsupported type, or a database number out of range; the first in file order.
pub(crate) fn parse(
    data: &[u8],
    databases: usize,
    keep_expired: bool,
    now_ms: u64,
    progress: impl FnMut(u64, usize),
) -> Result<Parsed, String> {
    let fail =
        |e: crate::rdb::RdbError| format!("{} at byte {} of {}", e.kind, e.offset, data.len());
    let mut reader = RdbReader::new(data).map_err(fail)?;
    reader.defer_checksum();
    let version = reader.version();
    std::thread::scope(|scope| {
        let (sender, batches) = std::sync::mpsc::sync_channel(BATCHES_AHEAD);
        let reading = std::thread::Builder::new()
            .name("rdb-reader".into())
            .spawn_scoped(scope, move || read_batches(reader, data.len(), &sender))
            .map_err(|e| format!("cannot start a thread to read the file: {e}"))?;
        let applied = apply(batches, data, databases, keep_expired, now_ms, progress);
        // The loader stops at the first error in file order: one of its own, else the
        // reader's (which comes after every record the loader saw).
        let read = reading
            .join()
            .unwrap_or_else(|_| Err("the thread reading the file failed".into()));
        let (mut parsed, (checked, crc)) = applied?;
        let (end, checksum) = read?;
        if let Some(checksum) = checksum {
            let crc = crate::rdb::crc64(crc, &data[checked.min(checksum.covers)..checksum.covers]);
            checksum.verify(crc).map_err(fail)?;
        }
        parsed.end = end;
        parsed.version = version;
        Ok(parsed)
    })
}

/// The reading side of [`parse`]: every record, in batches, then the offset just past the
/// file's end and the checksum left to the loading side. Records read before an error are
/// handed over before the error is returned; a loader that stopped (its own error) stops the
/// reading too.
fn read_batches(
    mut reader: RdbReader<'_>,
    len: usize,
    sender: &std::sync::mpsc::SyncSender<Batch>,
) -> Result<(usize, Option<DeferredChecksum>), String> {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        match reader.next_record() {
            Ok(Some(record)) => {
                batch.push((record, reader.offset()));
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if sender.send(full).is_err() {
                        return Ok((reader.offset(), None));
                    }
                }
            }
            Ok(None) => {
                let _ = sender.send(batch);
                return Ok((reader.offset(), reader.deferred_checksum()));
            }
            Err(e) => {
                let _ = sender.send(batch);
                return Err(format!("{} at byte {} of {len}", e.kind, e.offset));
            }
        }
    }
}

/// The loading side of [`parse`]: puts the records of `batches` in fresh databases, and
/// computes the CRC-64 of the bytes they came from as they arrive (so the reading thread
/// does not compute it at the end): the databases, and the CRC-64 of the first so many bytes.
fn apply(
    batches: std::sync::mpsc::Receiver<Batch>,
    data: &[u8],
    databases: usize,
    keep_expired: bool,
    now_ms: u64,
    mut progress: impl FnMut(u64, usize),
) -> Result<(Parsed, (usize, u64)), String> {
    let len = data.len();
    let (mut checked, mut crc) = (0, 0);
    let mut report = Instant::now();
    let mut dbs: Vec<DbLoader> = (0..databases).map(|_| DbLoader::default()).collect();
    let mut selected = 0usize;
    let mut loaded = Loaded {
        bytes: len as u64,
        ..Loaded::default()
    };
    let (mut repl_id, mut repl_offset, mut stream_db) = (None, None, None);
    let (mut functions, mut scripts) = (Vec::new(), Vec::new());
    for batch in batches {
        let clock = unix_ms();
        let mut offset = 0;
        for (record, end) in batch {
            offset = end;
            match record {
                Record::Aux { key, value } => {
                    if &key[..] == b"lua" {
                        scripts.push(value);
                        continue;
                    }
                    let text = String::from_utf8_lossy(&value).into_owned();
                    match &key[..] {
                        b"repl-id" if text.len() == 40 => repl_id = Some(text),
                        b"repl-offset" => repl_offset = text.parse::<u64>().ok(),
                        b"repl-stream-db" => stream_db = text.parse::<usize>().ok(),
                        _ => {}
                    }
                }
                Record::SelectDb(db) => selected = db as usize,
                Record::ResizeDb { keys, expires } => {
                    // A size hint only: a damaged count cannot reserve more than the file
                    // could hold (every key takes several bytes of it).
                    let cap = |n: u64| usize::try_from(n).unwrap_or(usize::MAX).min(len / 4);
                    if let Some(db) = dbs.get_mut(selected) {
                        db.reserve(cap(keys), cap(expires));
                    }
                }
                Record::Function(code) => functions.push(code),
                Record::Key(record) => {
                    let index = record.db as usize;
                    let Some(db) = dbs.get_mut(index) else {
                        return Err(format!(
                            "key in database {index}, but only {databases} databases are configured, at byte {end} of {len}"
                        ));
                    };
                    let expires_at = record.expire_ms.map(|ms| ms.max(0) as u64);
                    if !keep_expired && expires_at.is_some_and(|at| at <= now_ms) {
                        loaded.expired += 1;
                        continue;
                    }
                    let access = db.fresh_access(clock);
                    db.insert(record.key, record.value, expires_at, access);
                    loaded.keys += 1;
                }
            }
        }
        if offset > checked {
            crc = crate::rdb::crc64(crc, &data[checked..offset]);
            checked = offset;
        }
        if report.elapsed() >= Duration::from_secs(1) {
            report = Instant::now();
            progress(loaded.keys, offset * 100 / len.max(1));
        }
    }
    let parsed = Parsed {
        dbs: dbs.into_iter().map(DbLoader::finish).collect(),
        replication: repl_id
            .zip(repl_offset)
            .map(|(id, off)| (id, off, stream_db)),
        loaded,
        version: 0,
        functions,
        scripts,
        end: 0,
    };
    Ok((parsed, (checked, crc)))
}

/// Installs parsed databases in `store`, keeping a background save under way consistent.
pub(crate) fn install(store: &mut Store, dbs: Vec<Db>) {
    for (db, loaded) in store.dbs.iter_mut().zip(dbs) {
        db.replace_with(loaded);
    }
}

/// Replaces the node's function libraries with `functions` (library sources) and, when
/// `scripts` is given, its eval script cache with those bodies (a full resync carries both;
/// a file on disk only the libraries, as Redis 7 keeps them).
///
/// # Errors
/// The library that does not load, as `FUNCTION RESTORE` reports it; the libraries are then
/// as before.
pub(crate) fn install_scripting(
    scripting: &mut Scripting,
    functions: &[Bytes],
    scripts: Option<&[Bytes]>,
) -> Result<(), String> {
    scripting
        .functions
        .restore(functions, RestorePolicy::Flush)
        .map_err(|reply| format!("a function library does not load: {reply:?}"))?;
    if let Some(scripts) = scripts {
        scripting.eval.flush();
        for body in scripts {
            scripting
                .eval
                .load(body)
                .map_err(|reply| format!("an eval script does not load: {reply:?}"))?;
        }
    }
    Ok(())
}

/// Loads `dir`/`dbfilename` into `store`, replacing its databases and `scripting`'s function
/// libraries, and restores the replication ID and offset the file records (so a restarted
/// node can continue partially).
/// A missing file is `Ok(None)`. Keys already expired are dropped unless this node follows a
/// primary (the primary's `DEL` removes them), as Redis does. Progress is logged every second.
///
/// # Errors
/// A sentence naming the file, the byte offset and the reason (see [`parse`]); `store` is
/// then untouched.
pub(crate) fn load(store: &mut Store, scripting: &mut Scripting) -> Result<Option<Loaded>, String> {
    let path = rdb_path(&store.config);
    let data = match std::fs::read(&path) {
        Ok(data) => data,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
    };
    let started = Instant::now();
    let keep_expired = store.repl.is_replica() || store.config.replicaof.is_some();
    let parsed = parse(
        &data,
        store.dbs.len(),
        keep_expired,
        unix_ms(),
        |keys, percent| {
            info!(keys, percent, "loading the RDB file");
        },
    )
    .map_err(|why| format!("refusing {}: {why}", path.display()))?;
    install_scripting(scripting, &parsed.functions, None)
        .map_err(|why| format!("refusing {}: {why}", path.display()))?;
    install(store, parsed.dbs);
    if let Some((id, offset, stream_db)) = parsed.replication {
        store.repl.take_history(id, offset, stream_db);
    }
    let loaded = parsed.loaded;
    store.saves.loaded_keys = loaded.keys;
    store.saves.loaded_expired = loaded.expired;
    info!(
        path = %path.display(),
        keys = loaded.keys,
        expired = loaded.expired,
        bytes = loaded.bytes,
        rdb_version = parsed.version,
        functions = parsed.functions.len(),
        ms = started.elapsed().as_millis() as u64,
        "DB loaded from disk"
    );
    Ok(Some(loaded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::tests::{mixed_dataset, write};
    use crate::value::{RString, Value};

    /// Enough keys for several batches and the bulk index's sorted path, some with a time to
    /// live (one already passed), in two databases, after the mixed dataset's every type.
    fn dataset() -> Vec<(u32, Bytes, Value, Option<i64>)> {
        let mut data = mixed_dataset();
        for i in 0..40_000u32 {
            let expire = match i % 4 {
                0 => Some(5_000_000_000_000),
                1 if i == 1 => Some(1_000),
                _ => None,
            };
            let key = Bytes::from(format!("key:{i:012}"));
            let value = Value::Str(RString::new(format!("value-{i:026}").as_bytes()));
            data.push((i % 2, key, value, expire));
        }
        data
    }

    fn parse_all(file: &[u8], keep_expired: bool) -> Result<Parsed, String> {
        parse(file, 16, keep_expired, 2_000, |_, _| {})
    }

    #[test]
    fn parse_loads_every_key_on_two_threads() {
        let data = dataset();
        let file = write(&data, WriteOptions::default());
        let mut parsed = parse_all(&file, false).unwrap();
        let passed = |expire: &Option<i64>| expire.is_some_and(|ms| ms <= 2_000);
        let expired = data.iter().filter(|(_, _, _, e)| passed(e)).count();
        assert_eq!(
            expired, 2,
            "key:000000000001 and the mixed dataset's set:ints"
        );
        assert_eq!(parsed.loaded.expired as usize, expired);
        assert_eq!(parsed.loaded.keys as usize, data.len() - expired);
        assert_eq!(parsed.end, file.len());
        assert_eq!(parsed.functions.len(), 1);
        for (db, key, value, expire) in &data {
            let db = &mut parsed.dbs[*db as usize];
            db.mode = crate::keyspace::db::ExpiryMode::Ignore;
            if passed(expire) {
                assert!(!db.contains_raw(key), "expired key dropped");
                continue;
            }
            let (entry, at) = db.get_with_expiry(key, 0).expect("key loaded");
            assert!(crate::rdb::tests::same(&entry.value, value), "{key:?}");
            assert_eq!(at, expire.map(|ms| ms as u64), "{key:?}");
        }
        // A standby keeps keys whose time has passed.
        let parsed = parse_all(&file, true).unwrap();
        assert_eq!(parsed.loaded.keys as usize, data.len());
    }

    #[test]
    fn parse_checks_the_checksum_and_reports_errors_in_file_order() {
        let data = dataset();
        let file = write(&data, WriteOptions::default());
        let at = file
            .windows(16)
            .position(|w| w == b"key:000000020000")
            .unwrap();
        let mut flipped = file.clone();
        flipped[at] ^= 0x01;
        let err = parse_all(&flipped, false).unwrap_err();
        assert!(err.starts_with("checksum mismatch"), "{err}");
        assert!(
            err.ends_with(&format!("at byte {} of {}", file.len() - 8, file.len())),
            "{err}"
        );
        // Without a checksum the same damage loads.
        let options = WriteOptions {
            checksum: false,
            ..WriteOptions::default()
        };
        let mut unchecked = write(&data, options);
        let at = unchecked
            .windows(16)
            .position(|w| w == b"key:000000020000")
            .unwrap();
        unchecked[at] ^= 0x01;
        assert!(parse_all(&unchecked, false).is_ok());
        // Truncation, and a database the node does not have.
        let err = parse_all(&file[..file.len() / 2], false).unwrap_err();
        assert!(err.contains("input ends inside"), "{err}");
        let err = parse(&file, 1, false, 0, |_, _| {}).unwrap_err();
        assert!(
            err.starts_with("key in database 5, but only 1 databases"),
            "{err}"
        );
    }
}
