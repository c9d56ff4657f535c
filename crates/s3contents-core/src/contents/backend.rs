//! What some backends can do beyond object_store's API, as the contents logic sees it.
//!
//! The contents logic never knows which backend it runs on: the store layer (store.rs)
//! hands in implementations of these traits where the backend has them (S3:
//! console_dirs.rs and open_uploads.rs, raw requests signed and sent with the store's own
//! client options; S3, GCS and Azure: presign.rs, presigned download URLs), and `None`
//! elsewhere.

use std::collections::HashSet;
use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
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

/// What a server-side copy made, as the store's answer to it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    pub last_modified: DateTime<Utc>,
    pub e_tag: Option<String>,
}

/// One server-side copy that tells when the copy was made: S3's CopyObject answers with
/// the copy's LastModified and ETag, which object_store's `copy` drops. Knowing them saves
/// the HEAD a copy's model would need, a round trip after every copy and checkpoint.
#[async_trait]
pub trait ReportingCopy: Send + Sync + Debug {
    /// Copy `from` to `to` (overwriting), in one request of at most the store's
    /// single-copy size; a larger source is refused as `is_too_large` tells. `None`: the
    /// answer did not say (an S3-compatible server's own dialect), a HEAD must tell.
    async fn copy_reporting(&self, from: &Path, to: &Path) -> object_store::Result<Option<Copied>>;

    /// Whether `error` says the source is too large for one copy request.
    fn is_too_large(&self, error: &object_store::Error) -> bool;
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

/// Headers a presigned download asks the store to answer with (S3's and GCS's
/// `response-content-disposition` / `response-content-type`, folded into the signature).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseHeaders {
    /// Needed: a URL that cannot carry it is not handed out (the server streams instead).
    pub content_disposition: Option<String>,
    /// Wished for: a store that cannot set it answers with the object's stored type.
    pub content_type: Option<String>,
}

/// Signs short-lived GET URLs of objects, for downloads straight from the store.
#[async_trait]
pub trait UrlSigner: Send + Sync + Debug {
    /// Why this store gives no working URL of `key` that answers with `headers` (`None`:
    /// it does). The reasons are few and fixed (they are logged once each).
    fn refuses(&self, key: &Path, headers: &ResponseHeaders) -> Option<&'static str>;

    /// A GET URL of `key`, valid for `expires_in`, answered with `headers` where the store can.
    async fn signed_get(
        &self,
        key: &Path,
        expires_in: std::time::Duration,
        headers: &ResponseHeaders,
    ) -> object_store::Result<String>;
}
