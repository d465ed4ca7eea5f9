//! The append-only file's open files and its writer thread.
//!
//! [`Files`] (behind its own mutex, taken after the store lock when both are held) knows the
//! directory, the manifest and the open incremental file. The writer thread takes what the
//! [`Feed`] collected, writes it to the incremental file and fsyncs as `appendfsync` says:
//! `always` before publishing the bytes as done (so replies wait for the disk), `everysec`
//! at most once a second, `no` never (the OS decides). It is Redis's `flushAppendOnlyFile`
//! and its bio fsync thread in one, off the event loop.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracing::{error, warn};

use super::feed::Feed;
use super::manifest::{AofFile, Manifest};

/// `appendfsync` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fsync {
    /// fsync before a write is acknowledged.
    Always = 0,
    /// fsync once a second in the background.
    Everysec = 1,
    /// Never fsync; the OS flushes.
    No = 2,
}

impl Fsync {
    /// The policy named by `appendfsync`.
    pub(crate) fn from_name(name: &str) -> Fsync {
        match name {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::Everysec,
        }
    }

    fn from_u8(n: u8) -> Fsync {
        match n {
            0 => Fsync::Always,
            2 => Fsync::No,
            _ => Fsync::Everysec,
        }
    }
}

/// Where the append-only file lives and what is open.
#[derive(Debug, Default)]
pub(crate) struct Files {
    /// `dir`/`appenddirname`.
    pub(crate) dir: PathBuf,
    /// `appendfilename`: the prefix of every file name, and of the manifest's.
    pub(crate) prefix: String,
    /// The manifest as last written (or read).
    pub(crate) manifest: Manifest,
    /// The incremental file being appended to.
    pub(crate) incr: Option<File>,
    /// Its length in bytes (a failed write is cut back to it).
    pub(crate) incr_len: u64,
}

impl Files {
    /// Path of a file of the manifest.
    pub(crate) fn path(&self, file: &AofFile) -> PathBuf {
        self.dir.join(&file.name)
    }

    /// Path of the manifest (`<appendfilename>.manifest`).
    pub(crate) fn manifest_path(&self) -> PathBuf {
        self.dir.join(format!("{}.manifest", self.prefix))
    }

    /// Writes the manifest atomically: a temporary file, fsynced, renamed, directory fsynced.
    ///
    /// # Errors
    /// The IO error; the previous manifest is then untouched.
    pub(crate) fn persist_manifest(&self) -> io::Result<()> {
        let path = self.manifest_path();
        let tmp = self.dir.join(format!("temp-{}.manifest", self.prefix));
        let result = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(self.manifest.to_text().as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            sync_dir(&self.dir)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Sum of the sizes of the base and incremental files (`aof_current_size`).
    pub(crate) fn current_size(&self) -> u64 {
        let size = |f: &AofFile| std::fs::metadata(self.path(f)).map_or(0, |m| m.len());
        self.manifest.base.iter().map(size).sum::<u64>()
            + self.manifest.incrs.iter().map(size).sum::<u64>()
    }
}

/// fsyncs a directory, so a rename or a new file in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// How long the writer gathers bytes between two writes when no client waits for them
/// (`appendfsync everysec` and `no`).
const BATCH_PAUSE: Duration = Duration::from_millis(1);

/// The running writer: the feed it drains, the files it writes, its policy and outcome.
#[derive(Debug)]
pub(crate) struct Writer {
    /// The bytes to write (also held by `Replication`).
    pub(crate) feed: Arc<Feed>,
    /// The files (shared with rewrites).
    pub(crate) files: Arc<Mutex<Files>>,
    /// `appendfsync`, as [`Fsync`] `as u8`.
    policy: AtomicU8,
    /// False after a failed write or fsync, until one succeeds (`aof_last_write_status`).
    pub(crate) write_ok: AtomicBool,
    /// The system's text for the last failed write or fsync (`strerror`, as Redis quotes it
    /// in its `MISCONF` reply), kept until one succeeds.
    last_error: Mutex<Option<String>>,
    /// Bytes of the base and incremental files (`aof_current_size`).
    pub(crate) size: AtomicU64,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer thread over `files` with `policy`.
    pub(crate) fn start(files: Arc<Mutex<Files>>, policy: Fsync) -> Arc<Writer> {
        let writer = Arc::new(Writer {
            feed: Arc::new(Feed::new()),
            files,
            policy: AtomicU8::new(policy as u8),
            write_ok: AtomicBool::new(true),
            last_error: Mutex::new(None),
            size: AtomicU64::new(0),
            thread: Mutex::new(None),
        });
        let running = writer.clone();
        let handle = std::thread::Builder::new()
            .name("aof-writer".into())
            .spawn(move || running.run())
            .expect("spawn the append-only file writer");
        *writer.thread.lock() = Some(handle);
        writer
    }

    /// The policy in force.
    pub(crate) fn policy(&self) -> Fsync {
        Fsync::from_u8(self.policy.load(Ordering::Relaxed))
    }

    /// Why writes to the append-only file fail, while they do: the system's error text, e.g.
    /// `No space left on device`. `None` once a write and its fsync succeed again.
    pub(crate) fn failure(&self) -> Option<String> {
        if self.write_ok.load(Ordering::Relaxed) {
            return None;
        }
        Some(
            self.last_error
                .lock()
                .clone()
                .unwrap_or_else(|| "unknown error".to_string()),
        )
    }

    /// Records a failed write or fsync.
    fn failed(&self, err: &io::Error) {
        *self.last_error.lock() = Some(strerror(err));
        self.write_ok.store(false, Ordering::Relaxed);
    }

    /// Changes the policy (`CONFIG SET appendfsync`).
    pub(crate) fn set_policy(&self, policy: Fsync) {
        self.policy.store(policy as u8, Ordering::Relaxed);
    }

    /// Drains the feed, fsyncs and stops the thread (`appendonly no`, shutdown).
    pub(crate) fn stop(&self) {
        self.feed.stop();
        if let Some(handle) = self.thread.lock().take() {
            let _ = handle.join();
        }
    }

    fn run(&self) {
        let mut last_sync = Instant::now();
        let mut unsynced = false;
        loop {
            let running = self.feed.wait(Duration::from_millis(100));
            self.flush(
                &mut self.files.lock(),
                running,
                &mut last_sync,
                &mut unsynced,
            );
            if !running {
                if let Some(file) = &self.files.lock().incr {
                    let _ = file.sync_data();
                }
                return;
            }
            if self.policy() != Fsync::Always {
                // Under `everysec` and `no` nothing waits for the write: gathering what
                // arrives in the next moment makes one write of many clients' commands (Redis
                // writes once per event-loop turn) instead of a wake-up and a write per batch.
                std::thread::sleep(BATCH_PAUSE);
            }
        }
    }

    /// Writes what the feed holds to the incremental file of `files` and fsyncs by the
    /// policy (`force` fsyncs regardless). With no incremental file open (the append-only
    /// file is being created by a rewrite) the bytes are dropped: the rewrite's snapshot
    /// holds them.
    pub(crate) fn flush(
        &self,
        files: &mut Files,
        keep_running: bool,
        last_sync: &mut Instant,
        unsynced: &mut bool,
    ) {
        let (bytes, upto) = self.feed.take();
        let policy = self.policy();
        let len = files.incr_len;
        let Some(file) = files.incr.as_mut() else {
            self.feed.mark_done(upto);
            return;
        };
        if !bytes.is_empty() {
            if let Err(err) = file.write_all(&bytes) {
                self.write_failed(file, len, err, bytes, policy);
                return;
            }
            *unsynced = true;
            if !self.write_ok.swap(true, Ordering::Relaxed) {
                warn!("AOF write error looks solved, Redoubt can write again");
            }
        }
        let sync_now = *unsynced
            && (policy == Fsync::Always
                || !keep_running
                || (policy == Fsync::Everysec && last_sync.elapsed() >= Duration::from_secs(1)));
        if sync_now {
            if let Err(err) = file.sync_data() {
                if policy == Fsync::Always {
                    error!(%err, "can't persist AOF for fsync error when the AOF fsync policy is 'always'; exiting");
                    std::process::exit(1);
                }
                error!(%err, "AOF fsync failed");
                self.failed(&err);
            } else {
                *unsynced = false;
                *last_sync = Instant::now();
            }
        }
        files.incr_len += bytes.len() as u64;
        self.size.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if policy != Fsync::Always || !*unsynced {
            self.feed.mark_done(upto);
        }
    }

    /// A failed write: with `always` nothing unwritten may be acknowledged, so the node exits
    /// (as Redis does); otherwise the partial write is cut off, the bytes are kept for the
    /// next try, and `aof_last_write_status` turns `err`.
    fn write_failed(
        &self,
        file: &mut File,
        len: u64,
        err: io::Error,
        bytes: Vec<u8>,
        policy: Fsync,
    ) {
        if policy == Fsync::Always {
            error!(%err, "can't recover from AOF write error when the AOF fsync policy is 'always'; exiting");
            std::process::exit(1);
        }
        error!(%err, "error writing to the AOF file");
        let _ = file.set_len(len);
        self.failed(&err);
        self.feed.put_back(bytes);
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The system's text for `err` without Rust's ` (os error N)` suffix, as C's `strerror` gives
/// it (`No space left on device`, `File too large`).
fn strerror(err: &io::Error) -> String {
    let text = err.to_string();
    match (err.raw_os_error(), text.rfind(" (os error ")) {
        (Some(_), Some(at)) => text[..at].to_string(),
        _ => text,
    }
}
