//! The hand-off between the replication stream and the append-only file's writer thread.
//!
//! Under the store lock, `Replication::append_stream` pushes every stream byte here (the
//! same bytes the standbys receive); the writer thread takes them in batches, writes them to
//! the open incremental file and, depending on `appendfsync`, fsyncs. `done` publishes the
//! count of pushed bytes that are as durable as the policy promises (fsynced for `always`,
//! written for the others), so a connection can hold a reply until its write is on disk.

use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// Bytes waiting for the writer, and the writer's progress.
#[derive(Debug)]
pub(crate) struct Feed {
    inner: Mutex<Inner>,
    wake: Condvar,
    done: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Bytes not yet taken by the writer.
    buf: Vec<u8>,
    /// Bytes pushed since the feed was made.
    pushed: u64,
    /// Set when the append-only file is switched off: the writer drains and exits.
    stop: bool,
}

impl Feed {
    /// An empty feed.
    pub(crate) fn new() -> Feed {
        Feed {
            inner: Mutex::new(Inner::default()),
            wake: Condvar::new(),
            done: tokio::sync::watch::channel(0).0,
        }
    }

    /// Appends stream bytes (called under the store lock, so in stream order).
    pub(crate) fn push(&self, bytes: &[u8]) {
        let mut inner = self.inner.lock();
        let was_empty = inner.buf.is_empty();
        inner.buf.extend_from_slice(bytes);
        inner.pushed += bytes.len() as u64;
        drop(inner);
        if was_empty {
            // The writer sleeps only while nothing waits.
            self.wake.notify_one();
        }
    }

    /// Bytes pushed so far: a connection waits until `done` reaches this after its writes.
    pub(crate) fn pushed(&self) -> u64 {
        self.inner.lock().pushed
    }

    /// Bytes the buffer of waiting bytes holds (its capacity; INFO `mem_aof_buffer`).
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.inner.lock().buf.capacity()
    }

    /// Takes every waiting byte; returns them with the pushed count they end at.
    pub(crate) fn take(&self) -> (Vec<u8>, u64) {
        let mut inner = self.inner.lock();
        (std::mem::take(&mut inner.buf), inner.pushed)
    }

    /// Puts bytes a failed write could not store back in front of the waiting ones.
    pub(crate) fn put_back(&self, mut bytes: Vec<u8>) {
        let mut inner = self.inner.lock();
        bytes.extend_from_slice(&inner.buf);
        inner.buf = bytes;
    }

    /// Writer side: waits up to `timeout` for bytes or a stop; true unless stopped.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let mut inner = self.inner.lock();
        if inner.buf.is_empty() && !inner.stop {
            self.wake.wait_for(&mut inner, timeout);
        }
        !inner.stop
    }

    /// Stops the writer after it drains.
    pub(crate) fn stop(&self) {
        self.inner.lock().stop = true;
        self.wake.notify_one();
    }

    /// Writer side: the bytes up to `upto` are as durable as the policy promises.
    pub(crate) fn mark_done(&self, upto: u64) {
        self.done.send_if_modified(|done| {
            let grew = upto > *done;
            *done = (*done).max(upto);
            grew
        });
    }

    /// Waits until the bytes up to `target` are done (or the feed is dropped).
    pub(crate) async fn wait_done(&self, target: u64) {
        let mut done = self.done.subscribe();
        let _ = done.wait_for(|&d| d >= target).await;
    }
}

impl Default for Feed {
    fn default() -> Self {
        Feed::new()
    }
}
