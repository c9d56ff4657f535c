//! Chunked uploads (JupyterLab sends chunk 1, 2, ..., -1 of ~1 MiB each) streamed into
//! one multipart upload per file: memory stays bounded by one part, whatever the size.
//! The object only appears when the last chunk completes the upload.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use object_store::{MultipartUpload, ObjectStoreExt, PutPayload};

use crate::contents::{Contents, Entry};
use crate::error::{Error, Result, StoreResultExt};
use crate::keys::ApiPath;

/// S3's smallest allowed part (all but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
pub const DEFAULT_ABANDON_AFTER: Duration = Duration::from_secs(3600);
/// A new upload to a path whose upload saw no chunk for this long replaces it (the
/// browser that started it went away); before that, the new one gets 409 Conflict.
pub const REPLACEABLE_AFTER: Duration = Duration::from_secs(30);

struct Session {
    upload: Box<dyn MultipartUpload>,
    buffer: BytesMut,
    next_chunk: i64,
    received: u64,
    touched: Instant,
}

/// Where a chunked upload stands after a chunk was accepted.
#[derive(Debug)]
pub enum ChunkOutcome {
    InProgress { received: u64 },
    Complete(Entry),
}

/// Uploads in progress, by API path. The protocol carries no upload id, so one path has
/// at most one upload: a second one is refused (409) while the first is active.
pub struct Uploads {
    sessions: Mutex<HashMap<ApiPath, Arc<tokio::sync::Mutex<Session>>>>,
    part_size: usize,
    abandon_after: Duration,
    reaper_started: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Uploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploads").field("part_size", &self.part_size).finish_non_exhaustive()
    }
}

impl Uploads {
    pub fn new(part_size: usize, abandon_after: Duration) -> Result<Self> {
        if part_size < MIN_PART_SIZE {
            return Err(Error::Config(format!(
                "upload_part_size must be at least {MIN_PART_SIZE} bytes (the S3 minimum)"
            )));
        }
        Ok(Self { sessions: Mutex::default(), part_size, abandon_after, reaper_started: Default::default() })
    }

    fn take(&self, path: &ApiPath) -> Option<Arc<tokio::sync::Mutex<Session>>> {
        self.sessions.lock().unwrap().remove(path)
    }

    pub fn in_progress(&self) -> usize {
        self.sessions.lock().unwrap().len()
    }
}

impl Default for Uploads {
    fn default() -> Self {
        Self::new(DEFAULT_PART_SIZE, DEFAULT_ABANDON_AFTER).expect("default part size is valid")
    }
}

impl Contents {
    /// Accept chunk `chunk` (1, 2, ..., -1 for the last) of the file at `path`.
    pub async fn write_chunk(self: &Arc<Self>, path: &ApiPath, chunk: i64, data: Bytes) -> Result<ChunkOutcome> {
        self.check_writable("write", path)?;
        let uploads = self.uploads();
        self.start_reaper();
        let key = self.keys().file_key(path)?;
        let session = if chunk == 1 {
            self.refuse_directory(path).await?;
            let existing = uploads.sessions.lock().unwrap().get(path).cloned();
            if let Some(existing) = existing {
                let mut old = existing.lock().await;
                let idle = old.touched.elapsed();
                let replaceable = REPLACEABLE_AFTER.min(uploads.abandon_after);
                if idle < replaceable {
                    return Err(Error::Conflict(format!(
                        "another upload of {:?} is in progress; try again when it has finished \
                         (or in {} s if it was interrupted)",
                        path.as_str(),
                        (replaceable - idle).as_secs() + 1
                    )));
                }
                let _ = old.upload.abort().await;
                drop(old);
                uploads.take(path);
            }
            let upload = self.store().put_multipart(&key).await.during("start an upload of", path.as_str())?;
            let session = Arc::new(tokio::sync::Mutex::new(Session {
                upload,
                buffer: BytesMut::new(),
                next_chunk: 1,
                received: 0,
                touched: Instant::now(),
            }));
            uploads.sessions.lock().unwrap().insert(path.clone(), session.clone());
            session
        } else {
            let found = uploads.sessions.lock().unwrap().get(path).cloned();
            found.ok_or_else(|| {
                Error::BadRequest(format!(
                    "no upload of {:?} is in progress (chunk {chunk} arrived without chunk 1)",
                    path.as_str()
                ))
            })?
        };
        let mut s = session.lock().await;
        if chunk != -1 && chunk != s.next_chunk {
            // The upload cannot be completed correctly any more: free its parts now.
            let what = if chunk < s.next_chunk { "repeated" } else { "out of order" };
            let _ = s.upload.abort().await;
            drop(s);
            uploads.take(path);
            return Err(Error::BadRequest(format!(
                "chunk {chunk} of {:?} is {what}; the upload was cancelled, start it again",
                path.as_str(),
            )));
        }
        s.touched = Instant::now();
        s.received += data.len() as u64;
        s.buffer.extend_from_slice(&data);
        let result = self.flush_parts(&mut s, chunk == -1).await;
        if let Err(e) = result {
            let _ = s.upload.abort().await;
            drop(s);
            uploads.take(path);
            return Err(Error::from_store("upload", path.as_str(), e));
        }
        if chunk != -1 {
            s.next_chunk += 1;
            return Ok(ChunkOutcome::InProgress { received: s.received });
        }
        let completed = s.upload.complete().await;
        drop(s);
        uploads.take(path);
        completed.during("complete the upload of", path.as_str())?;
        Ok(ChunkOutcome::Complete(self.head_written(path).await?))
    }

    /// Send every full part in the buffer (and the rest when `last`).
    async fn flush_parts(&self, s: &mut Session, last: bool) -> std::result::Result<(), object_store::Error> {
        let part_size = self.uploads().part_size;
        while s.buffer.len() >= part_size || (last && !s.buffer.is_empty()) {
            let take = s.buffer.len().min(part_size);
            let part = s.buffer.split_to(take).freeze();
            s.upload.put_part(PutPayload::from_bytes(part)).await?;
        }
        Ok(())
    }

    /// Abort the upload of `path`, if one is in progress (its client sent a bad chunk).
    pub async fn abort_upload(&self, path: &ApiPath) -> bool {
        let Some(session) = self.uploads().take(path) else { return false };
        let _ = session.lock().await.upload.abort().await;
        true
    }

    /// Abort every upload in progress (server shutdown).
    pub async fn abort_uploads(&self) -> usize {
        let sessions: Vec<_> = self.uploads().sessions.lock().unwrap().drain().map(|(_, s)| s).collect();
        for session in &sessions {
            let _ = session.lock().await.upload.abort().await;
        }
        sessions.len()
    }

    /// Abort uploads idle for longer than the configured time; returns how many.
    pub async fn reap_abandoned_uploads(&self) -> usize {
        let uploads = self.uploads();
        let candidates: Vec<(ApiPath, Arc<tokio::sync::Mutex<Session>>)> =
            uploads.sessions.lock().unwrap().iter().map(|(p, s)| (p.clone(), s.clone())).collect();
        let mut reaped = 0;
        for (path, session) in candidates {
            let Ok(mut s) = session.try_lock() else { continue };
            if s.touched.elapsed() < uploads.abandon_after {
                continue;
            }
            let removed = {
                let mut sessions = uploads.sessions.lock().unwrap();
                let current = sessions.get(&path).is_some_and(|c| Arc::ptr_eq(c, &session));
                current && sessions.remove(&path).is_some()
            };
            if removed {
                let _ = s.upload.abort().await;
                reaped += 1;
            }
        }
        reaped
    }

    /// A background task that reaps abandoned uploads while this root is alive.
    fn start_reaper(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        let uploads = self.uploads();
        if uploads.reaper_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let period = (uploads.abandon_after / 4).clamp(Duration::from_millis(50), Duration::from_secs(60));
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some(contents) = weak.upgrade() else { break };
                contents.reap_abandoned_uploads().await;
            }
        });
    }
}
