//! The append-only file in Redis 7's multi-part layout: `dir`/`appenddirname` holds a base
//! (an RDB file with `aof-use-rdb-preamble yes`, else RESP commands), incremental files of
//! RESP commands, and the manifest naming them ([`manifest`]).
//!
//! What goes into the incremental file is exactly the replication stream: every byte
//! `Replication::append_stream` produces (each write's effect, `SELECT`s, `MULTI`/`EXEC`
//! blocks of transactions and scripts, expiries as `DEL`, relative expiries as `PEXPIREAT`)
//! is also pushed to a [`feed::Feed`], on a primary and on a standby alike, so one hook
//! covers every command. A writer thread ([`writer`]) writes the feed to the open incremental
//! file and fsyncs by `appendfsync`: with `always` a connection holds the replies of a batch
//! that wrote until its bytes are fsynced ([`durable_wait`]; one fsync serves every client
//! waiting), `everysec` fsyncs once a second, `no` leaves it to the OS.
//!
//! [`rewrite`] makes a new base from a capture of the databases (no fork), [`load`] reads
//! the files at start (they take precedence over `dump.rdb`, as in Redis). The bookkeeping
//! lives in the store ([`state::AofState`]). Facts from Redis 7.2 `aof.c` and `server.c`.

pub(crate) mod feed;
pub(crate) mod load;
pub(crate) mod manifest;
mod resp_base;
pub(crate) mod rewrite;
pub(crate) mod state;
pub(crate) mod writer;

use std::fmt::Display;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info};

use self::rewrite::Begun;
use self::writer::{Files, Fsync, Writer};
use crate::keyspace::Store;
use crate::state::NodeState;

/// How often the rewrite task checks for due rewrites.
const TICK: Duration = Duration::from_millis(100);

/// At start, before clients: reads the manifest and, when `appendonly` is on and it exists,
/// loads the files it names, replaying their commands through `replay`; an append-only file of
/// Redis before 7.0 is first moved into the directory ([`load::upgrade_old_style`]). Returns
/// true when `appendonly` is on: the append-only file is then the node's only source,
/// `dump.rdb` is not read (as Redis).
///
/// # Errors
/// A sentence for the log (Redis's texts); the node must not start.
pub(crate) fn load_at_start(
    node: &Arc<NodeState>,
    replay: &mut dyn load::Replay,
) -> Result<bool, String> {
    let mut files = Files::default();
    let (appendonly, found) = {
        let store = node.store.lock();
        if store.config.appendonly {
            load::upgrade_old_style(&store)?;
        }
        let found = load::read_manifest(&store, &mut files);
        (store.config.appendonly, found)
    };
    let found = match found {
        Ok(found) => found,
        Err(err) if appendonly => return Err(err),
        Err(err) => {
            tracing::warn!("{err}");
            false
        }
    };
    if found && appendonly {
        load::load(node, &files, replay)?;
    }
    let store = node.store.lock();
    *store.aof.files.lock() = files;
    Ok(appendonly)
}

/// At start, after loading: with `appendonly` on, opens the last incremental file (or a new
/// one) and starts the writer; with no base yet, a rewrite creates it.
///
/// # Errors
/// The IO error, for the log; the node must not start.
pub(crate) fn open_at_start(store: &mut Store) -> Result<(), String> {
    if !store.config.appendonly {
        return Ok(());
    }
    let files = store.aof.files.clone();
    let mut guard = files.lock();
    rewrite::locate(store, &mut guard);
    let dir = guard.dir.display().to_string();
    let io_err = |e: std::io::Error| format!("cannot open the append only file in {dir}: {e}");
    std::fs::create_dir_all(&guard.dir).map_err(io_err)?;
    let has_base = guard.manifest.base.is_some();
    if let Some(last) = guard.manifest.incrs.last().cloned() {
        let path = guard.path(&last);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err)?;
        guard.incr_len = file.metadata().map_or(0, |m| m.len());
        guard.incr = Some(file);
    } else if has_base {
        rewrite::open_next_incr(store, &mut guard).map_err(io_err)?;
        guard.persist_manifest().map_err(io_err)?;
    }
    let size = guard.current_size();
    drop(guard);
    start_writer(store, files);
    let writer = store.aof.writer.as_ref().expect("just started");
    writer.size.store(size, Ordering::Relaxed);
    store.aof.rewrite_base_size = size;
    if !has_base {
        info!("creating the AOF base file on server start");
        rewrite::begin(store)?;
    }
    Ok(())
}

fn policy(store: &Store) -> Fsync {
    Fsync::from_name(
        store
            .config
            .params
            .get_enum("appendfsync")
            .unwrap_or("everysec"),
    )
}

fn start_writer(store: &mut Store, files: Arc<parking_lot::Mutex<Files>>) {
    let writer = Writer::start(files, policy(store));
    store.repl.aof = Some(writer.feed.clone());
    store.aof.writer = Some(writer);
    store.aof.resyncs_seen = store.repl.resyncs_full;
}

/// Applies `appendonly` and `appendfsync` after `CONFIG SET`: turning the file on starts a
/// rewrite that creates its base (as Redis's `startAppendOnly`), turning it off flushes,
/// fsyncs and closes it and drops a rewrite under way.
///
/// # Errors
/// Redis's text when the file cannot be turned on.
pub(crate) fn apply_config(store: &mut Store) -> Result<(), String> {
    let policy = policy(store);
    match (&store.aof.writer, store.config.appendonly) {
        (Some(writer), true) => writer.set_policy(policy),
        (None, false) => {}
        (Some(_), false) => stop(store),
        (None, true) => {
            let files = store.aof.files.clone();
            {
                let mut guard = files.lock();
                rewrite::locate(store, &mut guard);
                guard.incr = None;
            }
            start_writer(store, files);
            if let Err(err) = rewrite::begin(store) {
                error!(%err, "unable to turn on AOF");
                stop(store);
                return Err("ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.".into());
            }
            info!("AOF enabled: a background rewrite creates its base");
        }
    }
    Ok(())
}

/// Switches the append-only file off: the writer drains and fsyncs, the file is closed, a
/// rewrite under way is dropped when it ends.
fn stop(store: &mut Store) {
    store.repl.aof = None;
    if let Some(writer) = store.aof.writer.take() {
        writer.stop();
    }
    store.aof.files.lock().incr = None;
    store.aof.generation += 1;
    store.aof.scheduled = false;
}

/// Flushes and fsyncs the append-only file (shutdown).
pub(crate) fn shutdown(store: &mut Store) {
    if store.aof.writer.is_some() {
        info!("calling fsync() on the AOF file");
        stop(store);
    }
}

/// `BGREWRITEAOF`: starts a rewrite, or schedules it while a background save runs.
///
/// # Errors
/// See [`rewrite::begin`].
pub(crate) fn bgrewrite(store: &mut Store) -> Result<&'static str, String> {
    match rewrite::begin(store)? {
        Begun::Started => Ok("Background append only file rewriting started"),
        Begun::Scheduled => Ok("Background append only file rewriting scheduled"),
    }
}

/// The rewrite task: starts scheduled and automatic rewrites (and one after a standby's full
/// resync replaced the dataset), and writes every rewrite's base on a blocking thread.
pub(crate) async fn run(node: Arc<NodeState>) {
    let wake = node.lock_store().await.aof.wake.clone();
    loop {
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(TICK) => {}
        }
        let job = {
            let mut store = node.lock_store().await;
            let resynced =
                store.aof.writer.is_some() && store.repl.resyncs_full != store.aof.resyncs_seen;
            let scheduled = store.aof.scheduled && store.saves.bgsave_started.is_none();
            if !store.aof.rewriting() && (scheduled || resynced || rewrite::auto_due(&store)) {
                store.aof.resyncs_seen = store.repl.resyncs_full;
                if !scheduled && !resynced {
                    info!("starting automatic rewriting of AOF");
                }
                if let Err(err) = rewrite::begin(&mut store) {
                    error!(%err, "could not start the AOF rewrite");
                    store.aof.last_failure = Some(std::time::Instant::now());
                }
            }
            store.aof.pending.take()
        };
        if let Some(job) = job {
            let node = node.clone();
            let _ = tokio::task::spawn_blocking(move || rewrite::write_job(&node, job)).await;
        }
    }
}

/// With `appendfsync always`: what a batch that wrote waits for before its replies go out
/// (everything pushed to the file so far fsynced; one fsync serves every waiting client);
/// `None` otherwise. Taken under the store lock, awaited without it ([`DurableWait::wait`]).
pub(crate) fn durable_wait(store: &Store) -> Option<DurableWait> {
    let writer = store
        .aof
        .writer
        .as_ref()
        .filter(|w| w.policy() == Fsync::Always)?;
    let feed = writer.feed.clone();
    let target = feed.pushed();
    Some(DurableWait { feed, target })
}

/// The AOF bytes a batch's replies wait for under `appendfsync always` ([`durable_wait`]).
#[derive(Debug)]
pub(crate) struct DurableWait {
    feed: Arc<feed::Feed>,
    /// Feed position (bytes pushed) that must be fsynced.
    target: u64,
}

impl DurableWait {
    /// Resolves once the file is fsynced up to the batch's last write.
    pub(crate) async fn wait(self) {
        self.feed.wait_done(self.target).await;
    }
}

/// The AOF fields of INFO `persistence`, as Redis 7.2 prints them.
pub(crate) fn info(store: &Store, field: &mut dyn FnMut(&str, &dyn Display)) {
    let aof = &store.aof;
    let running = aof.rewrite_started.map(|at| at.elapsed().as_secs() as i64);
    let write_ok = aof
        .writer
        .as_ref()
        .is_none_or(|w| w.write_ok.load(Ordering::Relaxed));
    field("aof_enabled", &i32::from(aof.writer.is_some()));
    field("aof_rewrite_in_progress", &i32::from(running.is_some()));
    field("aof_rewrite_scheduled", &i32::from(aof.scheduled));
    field("aof_last_rewrite_time_sec", &aof.last_rewrite_secs);
    field("aof_current_rewrite_time_sec", &running.unwrap_or(-1));
    field(
        "aof_last_bgrewrite_status",
        &if aof.last_rewrite_ok { "ok" } else { "err" },
    );
    field("aof_rewrites", &aof.rewrites);
    field(
        "aof_rewrites_consecutive_failures",
        &aof.consecutive_failures,
    );
    field(
        "aof_last_write_status",
        &if write_ok { "ok" } else { "err" },
    );
    field("aof_last_cow_size", &0);
    field("module_fork_in_progress", &0);
    field("module_fork_last_cow_size", &0);
    if let Some(writer) = &aof.writer {
        field("aof_current_size", &writer.size.load(Ordering::Relaxed));
        field("aof_base_size", &aof.rewrite_base_size);
        field("aof_pending_rewrite", &i32::from(aof.scheduled));
        field("aof_buffer_length", &0);
        field("aof_pending_bio_fsync", &0);
        field("aof_delayed_fsync", &0);
    }
}
