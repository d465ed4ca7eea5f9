//! Rewriting the append-only file (`BGREWRITEAOF`, automatic rewrites, `appendonly yes` at
//! run time): a new base from a consistent snapshot, without fork, while writes go on.
//!
//! Under the store lock, [`begin`] flushes and fsyncs the open incremental file, opens the
//! next one (every write from this instant on goes there), persists a manifest naming the old
//! base, the old incremental files and the new one (so a crash during the rewrite loses
//! nothing), and begins a capture of the databases (`crate::persist::begin_capture`).
//! [`write_job`] then writes the base from the capture in the background, fsyncs it, and
//! under the lock renames it in place, persists the manifest `new base + new incremental
//! file` (temporary file, rename, directory fsync) and deletes the old files. Source: Redis
//! `aof.c` (`rewriteAppendOnlyFileBackground`, `backgroundRewriteDoneHandler`).

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::{error, info, warn};

use super::manifest::AofFile;
use super::state::RewriteJob;
use super::writer::{sync_dir, Files};
use crate::keyspace::db::{Db, Item};
use crate::keyspace::Store;
use crate::state::{unix_ms, NodeState};

/// Keys per command batch of a RESP base.
const RESP_CHUNK: usize = 512;

/// What [`begin`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Begun {
    /// The rewrite runs.
    Started,
    /// A background save runs: the rewrite starts when it ends.
    Scheduled,
}

/// Where the files go: `dir`/`appenddirname`, named after `appendfilename`.
pub(crate) fn locate(store: &Store, files: &mut Files) {
    let p = &store.config.params;
    let text = |name: &str, default: &str| {
        p.get_str(name).map_or(default.to_string(), |v| {
            String::from_utf8_lossy(v).into_owned()
        })
    };
    files.dir = store
        .config
        .dir
        .join(text("appenddirname", "appendonlydir"));
    files.prefix = text("appendfilename", "appendonly.aof");
}

/// Opens the next incremental file, starting it with a `SELECT` of the stream's database
/// when one is selected, and adds it to the manifest (not yet persisted).
///
/// # Errors
/// The IO error.
pub(crate) fn open_next_incr(store: &Store, files: &mut Files) -> io::Result<u64> {
    let next = files.manifest.next_incr(&files.prefix.clone());
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(files.path(&next))?;
    let mut head = bytes::BytesMut::new();
    if let Some(db) = store.repl.stream_db {
        let mut digits = itoa::Buffer::new();
        crate::replication::snapshot::encode_command(
            &mut head,
            &[b"SELECT", digits.format(db).as_bytes()],
        );
        file.write_all(&head)?;
    }
    files.incr = Some(file);
    files.incr_len = head.len() as u64;
    files.manifest.incrs.push(next);
    Ok(head.len() as u64)
}

/// Starts a rewrite now, or schedules it while a background save runs.
///
/// # Errors
/// `ERR Background append only file rewriting already in progress`, or the IO error opening
/// the new incremental file or persisting the manifest.
pub(crate) fn begin(store: &mut Store) -> Result<Begun, String> {
    if store.aof.rewriting() {
        return Err("ERR Background append only file rewriting already in progress".into());
    }
    if store.saves.bgsave_started.is_some() {
        store.aof.scheduled = true;
        return Ok(Begun::Scheduled);
    }
    store.aof.scheduled = false;
    let files = store.aof.files.clone();
    let mut files = files.lock();
    locate(store, &mut files);
    let io_err = |e: io::Error| format!("ERR Can't rewrite the append only file: {e}");
    std::fs::create_dir_all(&files.dir).map_err(io_err)?;
    let first_kept_incr = files.manifest.incrs.len();
    if let Some(writer) = store.aof.writer.clone() {
        // Everything before this instant goes to the old file, durably; after it, to the new.
        writer.flush(&mut files, false, &mut Instant::now(), &mut true);
        let head = open_next_incr(store, &mut files).map_err(io_err)?;
        files.persist_manifest().map_err(io_err)?;
        writer.size.fetch_add(head, Ordering::Relaxed);
        info!(file = %files.manifest.incrs.last().map_or("", |f| &f.name), "creating AOF incr file on background rewrite");
    }
    let rdb = store
        .config
        .params
        .get_bool("aof-use-rdb-preamble")
        .unwrap_or(true);
    let prefix = files.prefix.clone();
    let base = files.manifest.next_base(&prefix, rdb);
    drop(files);
    let mut info = crate::persist::snapshot_info(store);
    info.aof_base = true;
    info.replication = None;
    let job = RewriteJob {
        base,
        rdb,
        options: crate::persist::options(&store.config),
        info,
        dbs: crate::persist::begin_capture(store),
        first_kept_incr,
        generation: store.aof.generation,
        now_ms: unix_ms(),
    };
    store.aof.rewrite_started = Some(Instant::now());
    store.aof.pending = Some(job);
    store.aof.wake.notify_one();
    info!("background append only file rewriting started");
    Ok(Begun::Started)
}

/// Writes the base of `job` from its capture (in a blocking thread), then installs it and
/// records the outcome.
pub(crate) fn write_job(node: &NodeState, job: RewriteJob) {
    let started = Instant::now();
    let (dir, tmp) = {
        let store = node.store.lock();
        let files = store.aof.files.lock();
        let tmp = files
            .dir
            .join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
        (files.dir.clone(), tmp)
    };
    let written = write_base(node, &job, &tmp);
    let mut store = node.store.lock();
    let status = &mut store.aof;
    status.rewrite_started = None;
    status.last_rewrite_secs = started.elapsed().as_secs_f64().round() as i64;
    if status.generation != job.generation {
        let _ = std::fs::remove_file(&tmp);
        info!("the append only file was switched off during the rewrite; its base is dropped");
        return;
    }
    let result =
        written.and_then(|(keys, bytes)| install(&mut store, &job, &tmp).map(|()| (keys, bytes)));
    let status = &mut store.aof;
    match result {
        Ok((keys, bytes)) => {
            status.last_rewrite_ok = true;
            status.rewrites += 1;
            status.consecutive_failures = 0;
            status.last_failure = None;
            let size = status.files.lock().current_size();
            status.rewrite_base_size = size;
            if let Some(writer) = &status.writer {
                writer.size.store(size, Ordering::Relaxed);
            }
            info!(
                dir = %dir.display(),
                base = %job.base.name,
                keys,
                bytes,
                ms = started.elapsed().as_millis() as u64,
                "background AOF rewrite finished successfully"
            );
        }
        Err(err) => {
            let _ = std::fs::remove_file(&tmp);
            status.last_rewrite_ok = false;
            status.consecutive_failures += 1;
            status.last_failure = Some(Instant::now());
            error!(%err, "background AOF rewrite failed; the previous files are kept");
        }
    }
}

/// Writes the base to `tmp` and fsyncs it; returns keys and bytes written. The function
/// libraries go first (`FUNCTION2` records, or `FUNCTION LOAD REPLACE` in a RESP base), as
/// loaded when the write starts.
fn write_base(node: &NodeState, job: &RewriteJob, tmp: &std::path::Path) -> io::Result<(u64, u64)> {
    let file = File::create(tmp)?;
    let functions = node.scripting.lock().functions.dump();
    let (keys, mut out) = if job.rdb {
        let mut writer = crate::rdb::RdbWriter::new(BufWriter::new(file), job.options, &job.info)?;
        for code in &functions {
            writer.write_function(code)?;
        }
        let writer = RefCell::new(writer);
        let (keys, _) = crate::persist::walk_capture(
            node,
            &job.dbs,
            |db, len, expires| writer.borrow_mut().select_db(db as u32, len, expires),
            |db, key, entry| {
                writer.borrow_mut().write_key(
                    db as u32,
                    &key,
                    &entry.value,
                    crate::persist::expiry(&entry),
                )
            },
        )?;
        (keys, writer.into_inner().finish()?.0)
    } else {
        let mut out = BufWriter::new(file);
        out.write_all(&super::resp_base::encode_commands(
            &functions,
            &[],
            job.now_ms,
        ))?;
        let out = RefCell::new(out);
        let batch: RefCell<(usize, Vec<(Bytes, Item)>)> = RefCell::new((0, Vec::new()));
        let emit = |db: usize, entries: &mut Vec<(Bytes, Item)>| -> io::Result<()> {
            if entries.is_empty() {
                return Ok(());
            }
            let mut dbs: Vec<Db> = (0..=db).map(|_| Db::default()).collect();
            for (key, entry) in entries.drain(..) {
                dbs[db].set(&key, entry.value, entry.expires_at);
            }
            let encoded = super::resp_base::encode_commands(&[], &dbs, job.now_ms);
            out.borrow_mut().write_all(&encoded)
        };
        let (keys, _) = crate::persist::walk_capture(
            node,
            &job.dbs,
            |db, _, _| {
                let mut batch = batch.borrow_mut();
                let (current, entries) = &mut *batch;
                emit(*current, entries)?;
                *current = db;
                Ok(())
            },
            |_, key, entry| {
                let mut batch = batch.borrow_mut();
                let (current, entries) = &mut *batch;
                entries.push((key, entry));
                if entries.len() >= RESP_CHUNK {
                    emit(*current, entries)?;
                }
                Ok(())
            },
        )?;
        let mut batch = batch.borrow_mut();
        let (current, entries) = &mut *batch;
        emit(*current, entries)?;
        drop(batch);
        (keys, out.into_inner())
    };
    out.flush()?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok((keys, file.metadata()?.len()))
}

/// Moves the new base in place and persists the manifest `new base + the incremental files
/// opened since the rewrite began`, then deletes the files it replaced.
fn install(store: &mut Store, job: &RewriteJob, tmp: &std::path::Path) -> io::Result<()> {
    let files = store.aof.files.clone();
    let mut files = files.lock();
    let path = files.path(&job.base);
    std::fs::rename(tmp, &path)?;
    let previous = files.manifest.clone();
    let old_base = files.manifest.base.replace(job.base.clone());
    let kept = job.first_kept_incr.min(files.manifest.incrs.len());
    let old_incrs: Vec<AofFile> = files.manifest.incrs.drain(..kept).collect();
    if let Err(err) = files.persist_manifest() {
        files.manifest = previous;
        let _ = std::fs::remove_file(&path);
        return Err(err);
    }
    for old in old_base.iter().chain(&old_incrs) {
        if old.name != job.base.name {
            if let Err(err) = std::fs::remove_file(files.path(old)) {
                warn!(file = %old.name, %err, "could not delete an old AOF file");
            }
        }
    }
    let _ = sync_dir(&files.dir);
    Ok(())
}

/// True when an automatic rewrite is due: the append-only file is on, no rewrite or save
/// runs, it is at least `auto-aof-rewrite-min-size`, and it grew by
/// `auto-aof-rewrite-percentage` since the last rewrite (Redis `serverCron`).
pub(crate) fn auto_due(store: &Store) -> bool {
    let Some(writer) = &store.aof.writer else {
        return false;
    };
    let aof = &store.aof;
    if aof.rewriting() || store.saves.bgsave_started.is_some() {
        return false;
    }
    if aof
        .last_failure
        .is_some_and(|at| at.elapsed() < Duration::from_secs(5))
    {
        return false;
    }
    let p = &store.config.params;
    let percentage = p.get_i64("auto-aof-rewrite-percentage").unwrap_or(100);
    let min_size = p
        .get_memory("auto-aof-rewrite-min-size")
        .unwrap_or(64 << 20);
    let size = writer.size.load(Ordering::Relaxed);
    if percentage <= 0 || size < min_size {
        return false;
    }
    let base = aof.rewrite_base_size.max(1);
    let growth = (size.saturating_sub(base)) * 100 / base;
    growth >= percentage as u64
}
