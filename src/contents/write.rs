//! Writes of whole objects: files and directory markers.

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutPayload};

use super::{Contents, Entry};
use crate::error::{Error, Result, StoreResultExt};
use crate::keys::ApiPath;

impl Contents {
    /// Store `data` as the file at `path` and return its entry with the store's own
    /// timestamp. Three requests: LIST (refuse to shadow a directory), PUT, HEAD
    /// (S3 PUT responses carry no Last-Modified).
    pub async fn write(&self, path: &ApiPath, data: Bytes) -> Result<Entry> {
        let key = self.keys.file_key(path)?;
        self.refuse_directory(path).await?;
        self.store.put(&key, PutPayload::from_bytes(data)).await.during("write", path.as_str())?;
        self.head_written(path).await
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
        self.head_file(path)
            .await?
            .ok_or_else(|| Error::Internal(format!("{:?} vanished right after it was written", path.as_str())))
    }

    /// Create the directory at `path` (a marker object); existing directories are kept.
    pub async fn make_dir(&self, path: &ApiPath) -> Result<Entry> {
        if path.is_root() {
            return Ok(Entry::directory(ApiPath::ROOT));
        }
        if self.head_file(path).await?.is_some() {
            return Err(Error::BadRequest(format!("{:?} is a file, not a directory", path.as_str())));
        }
        if !self.dir_exists(path).await? {
            let marker = self.keys.marker_key(path)?;
            self.store.put(&marker, PutPayload::default()).await.during("create directory", path.as_str())?;
        }
        Ok(Entry::directory(path.clone()))
    }
}
