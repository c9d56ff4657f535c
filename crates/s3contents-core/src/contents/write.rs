//! Writes of whole objects: files and directory markers.

use bytes::Bytes;
use chrono::Utc;
use object_store::{ObjectMeta, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::backend::Copied;
use super::{Contents, Entry};
use crate::error::{Error, Result, StoreResultExt};
use crate::keys::ApiPath;

impl Contents {
    /// Store `data` as the file at `path` and return its entry with the store's own
    /// timestamp. Three requests: LIST (refuse to shadow a directory), PUT, HEAD
    /// (S3 PUT responses carry no Last-Modified).
    ///
    /// Two when this process wrote the file last (saving an open notebook again): the
    /// PUT is made conditional on the version it wrote (If-Match). If it succeeds, the
    /// file existed, so the write cannot have put a file over a folder and the LIST is
    /// not needed. If the file changed or vanished meanwhile (412/404) or the store has
    /// no conditional writes, the write goes the long way above: still a plain
    /// overwrite, as before (last writer wins).
    pub async fn write(&self, path: &ApiPath, data: Bytes) -> Result<Entry> {
        self.check_writable("write", path)?;
        let key = self.keys.file_key(path)?;
        let payload = PutPayload::from_bytes(data);
        if let Some(version) = self.versions.take(&key) {
            match self.store.put_opts(&key, payload.clone(), PutOptions::from(PutMode::Update(version))).await {
                Ok(_) => return self.head_written(path).await,
                Err(
                    object_store::Error::Precondition { .. }
                    | object_store::Error::NotFound { .. }
                    | object_store::Error::AlreadyExists { .. }
                    | object_store::Error::NotImplemented { .. }
                    | object_store::Error::NotSupported { .. },
                ) => {}
                // Not retried by the client (conditional): the long way below is a plain,
                // retried overwrite with the same bytes, whether or not this one landed.
                Err(e) if super::outcome_unknown(&e) => {}
                Err(e) => return Err(Error::from_store("write", path.as_str(), e)),
            }
        }
        self.refuse_directory(path).await?;
        self.store.put(&key, payload).await.during("write", path.as_str())?;
        self.head_written(path).await
    }

    /// Store `data` as a NEW file at `path`: 409 when anything exists there already,
    /// even when another server created it a moment ago (a create-only write, If-None-Match).
    pub async fn create(&self, path: &ApiPath, data: Bytes) -> Result<Entry> {
        self.create_file(path, data, true, None).await
    }

    /// `create` for a name just picked as free from a listing of its folder
    /// (`new_untitled`): that listing already showed no folder of this name, so the
    /// shadow check is skipped. Its LIST would only have narrowed, not closed, the window
    /// in which a folder of that name can appear: no store can make "create unless a
    /// prefix exists" atomic. Two requests: create-only PUT, HEAD.
    pub async fn create_listed(&self, path: &ApiPath, data: Bytes) -> Result<Entry> {
        self.create_file(path, data, false, None).await
    }

    /// `create` (`create_listed` with `listed`) of a notebook together with its first
    /// checkpoint (as `add_checkpoint` with `keep`): the checkpoint's COPY and the HEAD
    /// that dates the file both need only the PUT, so they go out together. When either
    /// fails, the file is removed again, so that retrying the create succeeds.
    pub async fn create_with_checkpoint(
        &self,
        path: &ApiPath,
        data: Bytes,
        listed: bool,
        keep: usize,
    ) -> Result<Entry> {
        self.create_file(path, data, !listed, Some(keep)).await
    }

    async fn create_file(
        &self,
        path: &ApiPath,
        data: Bytes,
        check_dir: bool,
        checkpoint: Option<usize>,
    ) -> Result<Entry> {
        self.check_writable("write", path)?;
        let key = self.keys.file_key(path)?;
        if check_dir {
            self.refuse_directory(path).await?;
        }
        self.put_new(path, &key, PutPayload::from_bytes(data)).await?;
        let Some(keep) = checkpoint else {
            return self.head_or_undo(path, vec![key]).await;
        };
        let (entry, checkpoint) = futures::join!(self.head_written(path), self.add_checkpoint(path, keep));
        let error = match (entry, checkpoint) {
            (Ok(entry), Ok(_)) => return Ok(entry),
            (Err(e), _) | (Ok(_), Err(e)) => e,
        };
        match self.delete_keys(path, vec![key]).await {
            Ok(()) => Err(error.leaving("nothing was changed")),
            Err(_) => Err(error.leaving(format!("{:?} was written but could not be removed", path.as_str()))),
        }
    }

    /// The entry of the file just made at `path`; when even that fails, what was made
    /// (`made`) is removed, so that retrying the create or copy does not find it (409).
    pub(crate) async fn head_or_undo(&self, path: &ApiPath, made: Vec<object_store::path::Path>) -> Result<Entry> {
        match self.head_written(path).await {
            Ok(entry) => Ok(entry),
            Err(e) => match self.delete_keys(path, made).await {
                Ok(()) => Err(e.leaving("nothing was changed")),
                Err(_) => {
                    Err(e.leaving(format!("{:?} was written but could not be read back, nor removed", path.as_str())))
                }
            },
        }
    }

    /// Create a NEW directory at `path` (its marker, create-only); 409 when it exists.
    pub async fn create_dir(&self, path: &ApiPath) -> Result<Entry> {
        self.check_writable("create directory", path)?;
        if path.is_root() || self.exists(path).await? {
            return Err(Error::already_exists(path.as_str()));
        }
        let marker = self.keys.marker_key(path)?;
        self.put_new(path, &marker, PutPayload::default()).await?;
        Ok(Entry::directory(path.clone(), Utc::now()))
    }

    /// Create-only PUT. Stores that cannot do conditional writes get a HEAD-then-PUT,
    /// which narrows the race but cannot close it (README). A lost response is resolved by
    /// the token the write carries (see `recovery`), not reported as a conflict.
    async fn put_new(&self, path: &ApiPath, key: &object_store::path::Path, payload: PutPayload) -> Result<()> {
        match self.put_create(key, payload.clone(), &super::recovery::new_token()).await {
            Ok(super::recovery::Created::Ours) => Ok(()),
            Ok(super::recovery::Created::Exists) => Err(Error::already_exists(path.as_str())),
            Ok(super::recovery::Created::Unsupported) => match self.store.head(key).await {
                Ok(_) => Err(Error::already_exists(path.as_str())),
                Err(object_store::Error::NotFound { .. }) => {
                    self.store.put(key, payload).await.map(|_| ()).during("write", path.as_str())
                }
                Err(e) => Err(Error::from_store("write", path.as_str(), e)),
            },
            Err(e) => Err(Error::from_store("write", path.as_str(), e)),
        }
    }

    /// A file must not shadow a directory of the same name. One LIST.
    pub(crate) async fn refuse_directory(&self, path: &ApiPath) -> Result<()> {
        if self.dir_exists(path).await? {
            return Err(Error::BadRequest(format!("{:?} is a directory; cannot save a file over it", path.as_str())));
        }
        Ok(())
    }

    /// The entry of a file just written or copied, with the store's own timestamp.
    pub(crate) async fn head_written(&self, path: &ApiPath) -> Result<Entry> {
        let meta = self
            .head_object(path, "read")
            .await?
            .ok_or_else(|| Error::Internal(format!("{:?} vanished right after it was written", path.as_str())))?;
        self.versions.remember(&meta);
        Ok(Entry::file(path.clone(), &meta))
    }

    /// The entry of a single file just copied to `to` (key `target`): from the COPY's
    /// answer and the source's size when the copy is that version of the source (the same
    /// ETag), else a HEAD of the copy.
    pub(crate) async fn copied_entry(
        &self,
        to: &ApiPath,
        target: object_store::path::Path,
        source: Option<ObjectMeta>,
        copied: Option<Copied>,
    ) -> Result<Entry> {
        if let (Some(source), Some(copied)) = (source, copied) {
            if copied.e_tag.is_some() && copied.e_tag == source.e_tag {
                let meta = ObjectMeta {
                    location: target,
                    last_modified: copied.last_modified,
                    size: source.size,
                    e_tag: copied.e_tag,
                    version: None,
                };
                self.versions.remember(&meta);
                return Ok(Entry::file(to.clone(), &meta));
            }
        }
        self.head_or_undo(to, vec![target]).await
    }

    /// Create the directory at `path` (a marker object); existing directories are kept.
    pub async fn make_dir(&self, path: &ApiPath) -> Result<Entry> {
        self.check_writable("create directory", path)?;
        if path.is_root() {
            return Ok(Entry::directory(ApiPath::ROOT, self.folder_time(None)));
        }
        if self.head_file(path).await?.is_some() {
            return Err(Error::BadRequest(format!("{:?} is a file, not a directory", path.as_str())));
        }
        if self.dir_exists(path).await? {
            return Ok(Entry::directory(path.clone(), self.folder_time(None)));
        }
        let marker = self.keys.marker_key(path)?;
        self.store.put(&marker, PutPayload::default()).await.during("create directory", path.as_str())?;
        Ok(Entry::directory(path.clone(), Utc::now()))
    }
}

/// The version (ETag, and the generation on GCS) of files this process wrote last, so
/// the next write of the same file can be a conditional overwrite (see `write`).
/// Bounded: forgotten all at once when full (a forgotten version costs one LIST).
#[derive(Debug, Default)]
pub struct KnownVersions {
    versions: std::sync::Mutex<std::collections::HashMap<object_store::path::Path, UpdateVersion>>,
}

const KNOWN_VERSIONS: usize = 4096;

impl KnownVersions {
    fn remember(&self, meta: &ObjectMeta) {
        if meta.e_tag.is_none() && meta.version.is_none() {
            return;
        }
        let mut versions = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        if versions.len() >= KNOWN_VERSIONS {
            versions.clear();
        }
        versions
            .insert(meta.location.clone(), UpdateVersion { e_tag: meta.e_tag.clone(), version: meta.version.clone() });
    }

    /// The remembered version, forgotten until the write that uses it succeeds.
    fn take(&self, key: &object_store::path::Path) -> Option<UpdateVersion> {
        self.versions.lock().unwrap_or_else(|e| e.into_inner()).remove(key)
    }
}
