//! What some backends can do beyond object_store's API, as the contents logic sees it.
//!
//! The contents logic never knows which backend it runs on: the store layer (store.rs)
//! hands in implementations of these traits where the backend has them (S3 today:
//! console_dirs.rs and open_uploads.rs, raw requests signed and sent with the store's own
//! client options), and `None` elsewhere.

use std::collections::HashSet;
use std::fmt::Debug;

use async_trait::async_trait;
use object_store::path::Path;

/// Removes the zero-byte `<dir>/` keys that consoles create for folders, which
/// object_store's `Path` cannot name.
#[async_trait]
pub trait DirKeys: Send + Sync + Debug {
    /// Delete the object `<dir>/` (a missing one is fine).
    async fn delete_dir_key(&self, dir: &Path) -> object_store::Result<()>;
}

/// Whether anything is stored under a folder, asked with a one-key listing: object_store's
/// `list` asks for a whole page (up to 1 000 keys) to answer the same yes or no.
#[async_trait]
pub trait OneKeyProbe: Send + Sync + Debug {
    /// True when at least one key starts with `dir` + "/".
    async fn any_key_under(&self, dir: &Path) -> object_store::Result<bool>;
}

/// Finds and aborts the multipart uploads that a lost answer left open (the store opened
/// one the server never heard of).
#[async_trait]
pub trait OpenUploads: Send + Sync + Debug {
    /// The ids of the uploads open for exactly `key`.
    async fn ids(&self, key: &Path) -> object_store::Result<HashSet<String>>;

    /// Abort the uploads of `key` that are not in `before`; returns how many.
    async fn abort_new(&self, key: &Path, before: &HashSet<String>) -> object_store::Result<usize>;
}

/// Log a failure to check for open uploads: it never fails the user's operation (an S3
/// lifecycle rule `AbortIncompleteMultipartUpload` is the backstop).
pub fn open_uploads_check_failed(key: &Path, error: &object_store::Error) {
    log::warn!(target: crate::logged::TARGET,
        "could not check {key} for multipart uploads a lost answer left open: {error}");
}
