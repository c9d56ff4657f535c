//! Chunked uploads (JupyterLab sends chunk 1, 2, ..., -1 of ~1 MiB each) streamed into
//! one multipart upload per file: memory stays bounded by one part, whatever the size.
//! The object only appears when the last chunk completes the upload.
//!
//! On S3, no multipart upload outlives its chunked upload, even one whose
//! CreateMultipartUpload answer was lost (the store opened it, we never learnt its id):
//! the open uploads of the key are listed before the start, and when the upload ends (or
//! fails to start) every upload of the key that appeared since is aborted (`open_uploads`).
//! When that check itself fails (an outage), the next upload of the same path does it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStoreExt, PutPayload};

use super::backend::open_uploads_check_failed;
use super::{Contents, Entry};
use crate::error::{Error, Result, StoreResultExt};
use crate::keys::ApiPath;

/// S3's smallest allowed part (all but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// S3's largest part and most parts per upload.
pub const MAX_PART_SIZE: usize = 5 * 1024 * 1024 * 1024;
pub const MAX_PARTS: usize = 10_000;
pub const DEFAULT_ABANDON_AFTER: Duration = Duration::from_secs(3600);
/// A new upload to a path whose upload saw no chunk for this long replaces it (the
/// browser that started it went away); before that, the new one gets 409 Conflict.
pub const REPLACEABLE_AFTER: Duration = Duration::from_secs(30);

struct Session {
    upload: Box<dyn MultipartUpload>,
    key: Path,
    /// The store's open uploads of `key` before this one started (S3; `None` when unknown):
    /// any other that appears meanwhile was left by a lost answer to one of our starts.
    before: Option<HashSet<String>>,
    buffer: BytesMut,
    next_chunk: i64,
    received: u64,
    /// Parts sent so far (their size grows with their number, see `part_size_for`).
    parts: usize,
    /// The last chunk accepted, to recognise a client's retry of it.
    last: Option<(i64, Bytes)>,
    /// Completed or aborted: a chunk that waited for this session's lock meanwhile must
    /// not touch it.
    closed: bool,
    touched: Instant,
}

/// An upload that completed recently, to answer a retry of its last chunk.
struct Completed {
    last: Bytes,
    entry: Entry,
    at: Instant,
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
    /// Paths whose first chunk is starting a multipart upload (not in `sessions` yet).
    /// Always locked after `sessions` when both are needed.
    starting: Mutex<HashSet<ApiPath>>,
    completed: Mutex<HashMap<ApiPath, Completed>>,
    /// Paths whose last upload ended without its leftovers checked (the store failed
    /// then): the open uploads before that upload, for the next upload of the path to use.
    unchecked: Mutex<HashMap<ApiPath, (HashSet<String>, Instant)>>,
    part_size: usize,
    max_parts: usize,
    abandon_after: Duration,
    reaper_started: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Uploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploads").field("part_size", &self.part_size).finish_non_exhaustive()
    }
}

/// Marks a path as starting an upload; unmarks it when dropped (also when the start fails).
struct Starting<'a> {
    uploads: &'a Uploads,
    path: ApiPath,
}

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        self.uploads.starting.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.path);
    }
}

impl Uploads {
    pub fn new(part_size: usize, abandon_after: Duration) -> Result<Self> {
        Self::with_max_parts(part_size, abandon_after, MAX_PARTS)
    }

    /// `new` with a lower part-count limit than S3's 10 000 (for stores that allow fewer,
    /// and to test the part-size growth without uploading terabytes).
    pub fn with_max_parts(part_size: usize, abandon_after: Duration, max_parts: usize) -> Result<Self> {
        if part_size < MIN_PART_SIZE {
            return Err(Error::Config(format!(
                "upload_part_size must be at least {MIN_PART_SIZE} bytes (the S3 minimum)"
            )));
        }
        if !(10..=MAX_PARTS).contains(&max_parts) {
            return Err(Error::Config(format!("upload_max_parts must be between 10 and {MAX_PARTS}")));
        }
        Ok(Self {
            sessions: Mutex::default(),
            starting: Mutex::default(),
            completed: Mutex::default(),
            unchecked: Mutex::default(),
            part_size,
            max_parts,
            abandon_after,
            reaper_started: Default::default(),
        })
    }

    /// Size of part number `index` (from 0) of an upload whose total size is unknown:
    /// `part_size` for the first twelfth of the allowed parts, then doubling every twelfth
    /// (up to S3's 5 GiB per part), so the part count never runs out before S3's 5 TiB
    /// object limit, even with 5 MiB parts; an upload below `part_size` x a twelfth of
    /// the parts (7 GB by default) keeps the configured size and memory. `None` past the
    /// last part.
    pub fn part_size_for(&self, index: usize) -> Option<usize> {
        if index >= self.max_parts {
            return None;
        }
        let tier = (self.max_parts / 12).max(1);
        let doublings = (index / tier).min(20) as u32;
        Some(self.part_size.saturating_mul(1 << doublings).min(MAX_PART_SIZE))
    }

    /// The most bytes one upload can hold with this policy.
    pub fn max_upload_size(&self) -> u64 {
        (0..self.max_parts).filter_map(|i| self.part_size_for(i)).map(|s| s as u64).sum()
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<ApiPath, Arc<tokio::sync::Mutex<Session>>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remove `session` from `path`, unless another upload has taken its place.
    fn take_if_current(&self, path: &ApiPath, session: &Arc<tokio::sync::Mutex<Session>>) {
        let mut sessions = self.lock_sessions();
        if sessions.get(path).is_some_and(|current| Arc::ptr_eq(current, session)) {
            sessions.remove(path);
        }
    }

    /// Claim `path` for a new upload: 409 while another upload of it is running or starting.
    fn begin(&self, path: &ApiPath) -> Result<Starting<'_>> {
        let sessions = self.lock_sessions();
        let mut starting = self.starting.lock().unwrap_or_else(|p| p.into_inner());
        if sessions.contains_key(path) || !starting.insert(path.clone()) {
            return Err(Error::Conflict(format!(
                "another upload of {:?} is in progress; try again when it has finished",
                path.as_str()
            )));
        }
        Ok(Starting { uploads: self, path: path.clone() })
    }

    fn remember_completed(&self, path: &ApiPath, last: Bytes, entry: Entry) {
        let mut completed = self.completed.lock().unwrap_or_else(|p| p.into_inner());
        completed.retain(|_, c| c.at.elapsed() < REPLACEABLE_AFTER);
        completed.insert(path.clone(), Completed { last, entry, at: Instant::now() });
    }

    /// The entry of an upload of `path` that just completed with the chunk `last`.
    fn completed_with(&self, path: &ApiPath, last: &Bytes) -> Option<Entry> {
        let completed = self.completed.lock().unwrap_or_else(|p| p.into_inner());
        let c = completed.get(path)?;
        (c.at.elapsed() < REPLACEABLE_AFTER && c.last == *last).then(|| c.entry.clone())
    }

    fn remember_unchecked(&self, path: &ApiPath, before: HashSet<String>) {
        let mut unchecked = self.unchecked.lock().unwrap_or_else(|p| p.into_inner());
        unchecked.retain(|_, (_, at)| at.elapsed() < self.abandon_after);
        unchecked.insert(path.clone(), (before, Instant::now()));
    }

    fn take_unchecked(&self, path: &ApiPath) -> Option<HashSet<String>> {
        let mut unchecked = self.unchecked.lock().unwrap_or_else(|p| p.into_inner());
        let (before, at) = unchecked.remove(path)?;
        (at.elapsed() < self.abandon_after).then_some(before)
    }

    pub fn in_progress(&self) -> usize {
        self.lock_sessions().len()
    }
}

impl Default for Uploads {
    fn default() -> Self {
        Self::new(DEFAULT_PART_SIZE, DEFAULT_ABANDON_AFTER).expect("default part size is valid")
    }
}

impl Contents {
    /// Accept chunk `chunk` (1, 2, ..., -1 for the last) of the file at `path`.
    ///
    /// Cancel-safe: once accepted, a chunk is processed to the end in a task of its own,
    /// even when the request that sent it goes away (the client disconnected, the Python
    /// future was cancelled), so an upload never holds half a chunk; the client's retry
    /// of that chunk (same number, same bytes) is then answered as the first attempt was.
    pub async fn write_chunk(self: &Arc<Self>, path: &ApiPath, chunk: i64, data: Bytes) -> Result<ChunkOutcome> {
        self.check_writable("write", path)?;
        self.start_reaper();
        let (contents, owned_path) = (self.clone(), path.clone());
        let task = tokio::spawn(async move { contents.accept_chunk(&owned_path, chunk, data).await });
        match task.await {
            Ok(result) => result,
            Err(e) => Err(Error::Internal(format!("chunk {chunk} of {:?} failed: {e}", path.as_str()))),
        }
    }

    async fn accept_chunk(&self, path: &ApiPath, chunk: i64, data: Bytes) -> Result<ChunkOutcome> {
        let uploads = self.uploads();
        let session = if chunk == 1 {
            match self.start_upload(path, &data).await? {
                Ok(session) => session,
                Err(retried) => return Ok(retried),
            }
        } else {
            let found = uploads.lock_sessions().get(path).cloned();
            match found {
                Some(session) => session,
                None if chunk == -1 => match uploads.completed_with(path, &data) {
                    // The retry of a last chunk whose answer was lost: the file is stored.
                    Some(entry) => return Ok(ChunkOutcome::Complete(entry)),
                    None => return Err(no_upload(path, chunk)),
                },
                None => return Err(no_upload(path, chunk)),
            }
        };
        let mut s = session.lock().await;
        if s.closed {
            // Another attempt of this chunk finished (or failed) the upload meanwhile.
            drop(s);
            return match uploads.completed_with(path, &data) {
                Some(entry) if chunk == -1 => Ok(ChunkOutcome::Complete(entry)),
                _ => Err(no_upload(path, chunk)),
            };
        }
        if let Some((last_chunk, last_data)) = &s.last {
            if *last_chunk == chunk && *last_data == data && chunk != -1 {
                // A retry of the chunk just accepted (its answer was lost): nothing to add.
                return Ok(ChunkOutcome::InProgress { received: s.received });
            }
        }
        if chunk != -1 && chunk != s.next_chunk {
            // The upload cannot be completed correctly any more: free its parts now.
            let what = if chunk < s.next_chunk { "repeated" } else { "out of order" };
            self.abort_session(path, &mut s).await;
            drop(s);
            uploads.take_if_current(path, &session);
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
            self.abort_session(path, &mut s).await;
            drop(s);
            uploads.take_if_current(path, &session);
            return Err(e.into_error(path));
        }
        if chunk != -1 {
            s.next_chunk += 1;
            s.last = Some((chunk, data));
            return Ok(ChunkOutcome::InProgress { received: s.received });
        }
        s.closed = true;
        let completed = s.upload.complete().await;
        if completed.is_err() {
            let _ = s.upload.abort().await;
        }
        let before = s.before.take();
        self.close_leftovers(path, &s.key, before).await;
        uploads.take_if_current(path, &session);
        completed.during("complete the upload of", path.as_str())?;
        let entry = self.head_written(path).await;
        if let Ok(entry) = &entry {
            uploads.remember_completed(path, data, entry.clone());
        }
        drop(s);
        entry.map(ChunkOutcome::Complete)
    }

    /// The session of a new upload of `path` whose first chunk is `first`, or (as `Err`)
    /// the answer to a retry of the first chunk of the upload already running.
    async fn start_upload(
        &self,
        path: &ApiPath,
        first: &Bytes,
    ) -> Result<std::result::Result<Arc<tokio::sync::Mutex<Session>>, ChunkOutcome>> {
        let uploads = self.uploads();
        let key = self.keys().file_key(path)?;
        self.refuse_directory(path).await?;
        let existing = uploads.lock_sessions().get(path).cloned();
        if let Some(existing) = existing {
            let mut old = existing.lock().await;
            if old.closed {
                // It ended while this chunk waited for it (its leftovers are checked).
                drop(old);
                uploads.take_if_current(path, &existing);
                return self.start_new_upload(path, key).await.map(Ok);
            }
            if old.last.as_ref().is_some_and(|(n, data)| *n == 1 && data == first) {
                return Ok(Err(ChunkOutcome::InProgress { received: old.received }));
            }
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
            self.abort_session(path, &mut old).await;
            drop(old);
            uploads.take_if_current(path, &existing);
        }
        self.start_new_upload(path, key).await.map(Ok)
    }

    /// A new session for `path` (stored at `key`), no upload of it running.
    async fn start_new_upload(&self, path: &ApiPath, key: Path) -> Result<Arc<tokio::sync::Mutex<Session>>> {
        let uploads = self.uploads();
        // Two first chunks at the same moment: one claims the path, the other gets 409
        // before it creates a multipart upload that nobody would complete.
        let starting = uploads.begin(path)?;
        let before = self.open_uploads_before(path, &key).await;
        let started = self.store().put_multipart(&key).await;
        if started.is_err() {
            // S3 may have opened it all the same (its answer was lost).
            self.close_leftovers(path, &key, before.clone()).await;
        }
        let upload = started.during("start an upload of", path.as_str())?;
        let session = Arc::new(tokio::sync::Mutex::new(Session {
            upload,
            key,
            before,
            buffer: BytesMut::new(),
            next_chunk: 1,
            received: 0,
            parts: 0,
            last: None,
            closed: false,
            touched: Instant::now(),
        }));
        uploads.lock_sessions().insert(path.clone(), session.clone());
        drop(starting);
        Ok(session)
    }

    /// The open uploads of `key` before a new upload of `path` starts (S3): those the
    /// last upload of `path` left unchecked, else the store's.
    async fn open_uploads_before(&self, path: &ApiPath, key: &Path) -> Option<HashSet<String>> {
        let janitor = self.open_uploads()?;
        if let Some(before) = self.uploads().take_unchecked(path) {
            return Some(before);
        }
        janitor.ids(key).await.map_err(|e| open_uploads_check_failed(key, &e)).ok()
    }

    /// Once the upload of `path` has ended (or failed to start): abort the uploads of
    /// `key` that appeared since `before` (lost starts); uploads open before are someone
    /// else's. A failure here never fails the upload: the next one of `path` checks again.
    async fn close_leftovers(&self, path: &ApiPath, key: &Path, before: Option<HashSet<String>>) {
        let (Some(janitor), Some(before)) = (self.open_uploads(), before) else { return };
        if let Err(e) = janitor.abort_new(key, &before).await {
            open_uploads_check_failed(key, &e);
            self.uploads().remember_unchecked(path, before);
        }
    }

    /// Abort the session's upload and the leftovers of its lost starts. The caller
    /// removes the session from `sessions` only after this, so that no new upload of the
    /// path starts (and looks like a leftover) meanwhile.
    async fn abort_session(&self, path: &ApiPath, s: &mut Session) {
        s.closed = true;
        let _ = s.upload.abort().await;
        let before = s.before.take();
        self.close_leftovers(path, &s.key, before).await;
    }

    /// Send every full part in the buffer (and the rest when `last`).
    ///
    /// Not `object_store::WriteMultipart`, which buffers the same way but does not fit:
    /// its parts all have one size, while ours grow with their number (`part_size_for`)
    /// so an upload of unknown total size never runs out of S3's 10 000 parts; and it
    /// sends parts in background tasks whose failures surface only at a later write or
    /// at `finish`, while a chunk here is answered only once its parts are stored, so
    /// the chunk that failed is the one the client is told about (and may retry) and
    /// nothing is left in flight when the session is aborted.
    async fn flush_parts(&self, s: &mut Session, last: bool) -> std::result::Result<(), FlushError> {
        loop {
            let uploads = self.uploads();
            let Some(part_size) = uploads.part_size_for(s.parts) else {
                return Err(FlushError::TooLarge { limit: uploads.max_upload_size() });
            };
            if !(s.buffer.len() >= part_size || (last && !s.buffer.is_empty())) {
                return Ok(());
            }
            let take = s.buffer.len().min(part_size);
            let part = s.buffer.split_to(take).freeze();
            s.parts += 1;
            s.upload.put_part(PutPayload::from_bytes(part)).await.map_err(FlushError::Store)?;
        }
    }

    /// Abort the upload of `path`, if one is in progress (its client sent a bad chunk).
    pub async fn abort_upload(&self, path: &ApiPath) -> bool {
        let uploads = self.uploads();
        let Some(session) = uploads.lock_sessions().get(path).cloned() else { return false };
        let mut s = session.lock().await;
        let aborted = !s.closed;
        if aborted {
            self.abort_session(path, &mut s).await;
        }
        drop(s);
        uploads.take_if_current(path, &session);
        aborted
    }

    /// Abort every upload in progress (server shutdown).
    pub async fn abort_uploads(&self) -> usize {
        let uploads = self.uploads();
        let sessions: Vec<_> = uploads.lock_sessions().iter().map(|(p, s)| (p.clone(), s.clone())).collect();
        let mut aborted = 0;
        for (path, session) in &sessions {
            let mut s = session.lock().await;
            if !s.closed {
                self.abort_session(path, &mut s).await;
                aborted += 1;
            }
            drop(s);
            uploads.take_if_current(path, session);
        }
        aborted
    }

    /// Abort uploads idle for longer than the configured time; returns how many.
    pub async fn reap_abandoned_uploads(&self) -> usize {
        let uploads = self.uploads();
        let candidates: Vec<(ApiPath, Arc<tokio::sync::Mutex<Session>>)> =
            uploads.lock_sessions().iter().map(|(p, s)| (p.clone(), s.clone())).collect();
        let mut reaped = 0;
        for (path, session) in candidates {
            let Ok(mut s) = session.try_lock() else { continue };
            if s.touched.elapsed() < uploads.abandon_after {
                continue;
            }
            let current = uploads.lock_sessions().get(&path).is_some_and(|c| Arc::ptr_eq(c, &session));
            if current && !s.closed {
                self.abort_session(&path, &mut s).await;
                drop(s);
                uploads.take_if_current(&path, &session);
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

/// Why sending parts failed.
enum FlushError {
    Store(object_store::Error),
    /// More bytes than `max_parts` parts of the growing sizes hold.
    TooLarge {
        limit: u64,
    },
}

impl FlushError {
    fn into_error(self, path: &ApiPath) -> Error {
        match self {
            FlushError::Store(e) => Error::from_store("upload", path.as_str(), e),
            FlushError::TooLarge { limit } => Error::TooLarge {
                path: path.as_str().to_string(),
                detail: format!(
                    "an upload can hold at most {limit} bytes (upload_part_size x the store's part-count \
                     limit, parts growing as the upload grows); the upload was cancelled"
                ),
            },
        }
    }
}

fn no_upload(path: &ApiPath, chunk: i64) -> Error {
    Error::BadRequest(format!(
        "no upload of {:?} is in progress (chunk {chunk} arrived without chunk 1)",
        path.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_grow_so_every_s3_object_fits() {
        let uploads = Uploads::default();
        assert_eq!(uploads.part_size_for(0), Some(DEFAULT_PART_SIZE));
        assert_eq!(uploads.part_size_for(832), Some(DEFAULT_PART_SIZE));
        assert_eq!(uploads.part_size_for(833), Some(2 * DEFAULT_PART_SIZE));
        assert_eq!(uploads.part_size_for(MAX_PARTS), None);
        // S3's largest object (5 TiB) fits; no part is above S3's 5 GiB.
        assert!(uploads.max_upload_size() >= 5 << 40, "{}", uploads.max_upload_size());
        assert!((0..MAX_PARTS).all(|i| uploads.part_size_for(i).unwrap() <= MAX_PART_SIZE));
        // Even with the smallest part size.
        let smallest = Uploads::new(MIN_PART_SIZE, DEFAULT_ABANDON_AFTER).unwrap();
        assert!(smallest.max_upload_size() >= 5 << 40);
        // A lowered part count grows sooner: 10 parts of 5, 10, 20, ... MiB.
        let few = Uploads::with_max_parts(MIN_PART_SIZE, DEFAULT_ABANDON_AFTER, 10).unwrap();
        assert_eq!(few.part_size_for(1), Some(2 * MIN_PART_SIZE));
        assert_eq!(few.part_size_for(3), Some(8 * MIN_PART_SIZE));
        assert!(Uploads::with_max_parts(MIN_PART_SIZE, DEFAULT_ABANDON_AFTER, 9).is_err());
    }
}
