//! Contents operations as plain async Rust on any `ObjectStore` (no Python here).
//!
//! Request budget (see README): a listing is one LIST per 1000 entries, `get` at most
//! two requests, `save` two (PUT + HEAD for the store's timestamp).

pub mod backend;
pub mod checkpoints;
pub mod download;
mod read;
mod recovery;
mod tree;
pub mod upload;
mod write;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use crate::keys::{ApiPath, KeyMapper};
use upload::Uploads;

pub(crate) use recovery::{is_listed_claim, outcome_unknown};

/// How many copies or deletes a tree operation keeps in flight.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// The largest file `get` reads into memory by default (2 GiB); `/files` downloads
/// stream and have no such limit.
pub const DEFAULT_MAX_CONTENT_SIZE: u64 = 2 * 1024 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Directory,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Directory => "directory",
        }
    }
}

/// What the store knows about one file or directory.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub path: ApiPath,
    pub kind: Kind,
    /// Bytes for files; `None` for directories.
    pub size: Option<u64>,
    /// Store timestamp, truncated to whole seconds so LIST (ms) and HEAD (s) agree.
    pub last_modified: DateTime<Utc>,
    pub etag: Option<String>,
}

impl Entry {
    pub fn file(path: ApiPath, meta: &ObjectMeta) -> Self {
        Entry {
            path,
            kind: Kind::File,
            size: Some(meta.size),
            last_modified: whole_seconds(meta.last_modified),
            etag: meta.e_tag.clone(),
        }
    }

    /// A directory dated `last_modified` (see `Contents::folder_time`).
    pub fn directory(path: ApiPath, last_modified: DateTime<Utc>) -> Self {
        Entry { path, kind: Kind::Directory, size: None, last_modified: whole_seconds(last_modified), etag: None }
    }

    /// A file known only by its path (metadata not fetched).
    pub fn file_placeholder(path: ApiPath) -> Self {
        Entry { path, kind: Kind::File, size: None, last_modified: DateTime::<Utc>::UNIX_EPOCH, etag: None }
    }

    pub fn name(&self) -> &str {
        self.path.name()
    }
}

pub fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_opt(t.timestamp(), 0).single().unwrap_or(t)
}

/// A file with its bytes, or a directory with its children.
#[derive(Debug)]
pub enum Fetched {
    File { entry: Entry, data: Option<download::FileContent> },
    Directory { entry: Entry, children: Option<Vec<Entry>> },
}

impl Fetched {
    pub fn entry(&self) -> &Entry {
        match self {
            Fetched::File { entry, .. } | Fetched::Directory { entry, .. } => entry,
        }
    }
}

/// The contents root: a store plus the key prefix everything lives under.
#[derive(Debug)]
pub struct Contents {
    store: Arc<dyn ObjectStore>,
    keys: KeyMapper,
    concurrency: usize,
    uploads: Uploads,
    read_only: bool,
    dir_keys: Option<Arc<dyn backend::DirKeys>>,
    one_key: Option<Arc<dyn backend::OneKeyProbe>>,
    reporting_copy: Option<Arc<dyn backend::ReportingCopy>>,
    open_uploads: Option<Arc<dyn backend::OpenUploads>>,
    url_signer: Option<Arc<dyn backend::UrlSigner>>,
    versions: write::KnownVersions,
    /// Largest folder `copy` accepts, in bytes (0: no limit); FileContentsManager's
    /// `max_copy_folder_size_mb`, settable while serving as that trait is.
    max_copy_folder_bytes: std::sync::atomic::AtomicU64,
    max_content_size: u64,
    /// Retries of requests the HTTP client does not retry itself (see `recovery`).
    retries: usize,
    journal: recovery::Journal,
    /// The date of folders the store gives no time for (see `folder_time`).
    store_time: std::sync::OnceLock<DateTime<Utc>>,
}

impl Contents {
    pub fn new(store: Arc<dyn ObjectStore>, keys: KeyMapper) -> Self {
        Self {
            store,
            keys,
            concurrency: DEFAULT_CONCURRENCY,
            uploads: Uploads::default(),
            read_only: false,
            dir_keys: None,
            one_key: None,
            reporting_copy: None,
            open_uploads: None,
            url_signer: None,
            versions: write::KnownVersions::default(),
            max_copy_folder_bytes: std::sync::atomic::AtomicU64::new(0),
            max_content_size: DEFAULT_MAX_CONTENT_SIZE,
            retries: crate::tuning::Tuning::default().max_retries,
            journal: recovery::Journal::default(),
            store_time: std::sync::OnceLock::new(),
        }
    }

    /// Object stores keep no folder times. A folder listed with its content is dated by its
    /// newest marker or file (`seen`). Everywhere else the store gives no time (a subfolder
    /// in a listing is a bare name), and jupyter_server's contract wants a folder's model
    /// without content equal to its entry in its parent's listing: there, one stable date
    /// per store, the newest object time of the first listing page under the prefix, read
    /// at start-up (`check_store`) or else by the first listing that has files, else the
    /// moment one was first needed. Never the 1970 epoch, which JupyterLab shows as
    /// "56 years ago"; a folder just made is dated by the moment it was made.
    pub(crate) fn folder_time(&self, seen: Option<DateTime<Utc>>) -> DateTime<Utc> {
        seen.unwrap_or_else(|| *self.store_time.get_or_init(Utc::now))
    }

    /// Keep `newest` as the store's date for undated folders, unless one is already set.
    pub(crate) fn learn_store_time(&self, newest: Option<DateTime<Utc>>) {
        if let Some(time) = newest {
            let _ = self.store_time.set(whole_seconds(time));
        }
    }

    /// Refuse every write with 403 (shared course material, archives).
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// How to delete console-style `dir/` keys, which `store` cannot address (S3).
    pub fn with_dir_keys(mut self, dir_keys: Option<Arc<dyn backend::DirKeys>>) -> Self {
        self.dir_keys = dir_keys;
        self
    }

    /// How to ask for one key instead of a page when only existence matters (S3, GCS, Azure).
    pub fn with_one_key_probe(mut self, one_key: Option<Arc<dyn backend::OneKeyProbe>>) -> Self {
        self.one_key = one_key;
        self
    }

    /// Single copies answered with the copy's time and ETag (see `copy_object`). Only for
    /// a store whose single copies are not split by a lowered multipart-copy threshold.
    pub fn with_reporting_copy(mut self, reporting_copy: Option<Arc<dyn backend::ReportingCopy>>) -> Self {
        self.reporting_copy = reporting_copy;
        self
    }

    /// Whether `copy_object` tells the copy's time and ETag.
    pub(crate) fn reports_copies(&self) -> bool {
        self.reporting_copy.is_some()
    }

    /// One server-side copy of a file, with the copy's time and ETag where the store's
    /// answer gives them (`None`: a HEAD must tell). A source too large for one copy
    /// request goes through the store's own copy, which copies it in parts.
    pub(crate) async fn copy_object(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
    ) -> object_store::Result<Option<backend::Copied>> {
        if let Some(reporting) = &self.reporting_copy {
            match reporting.copy_reporting(from, to).await {
                Ok(copied) => return Ok(copied),
                Err(e) if reporting.is_too_large(&e) => {}
                Err(e) => return Err(e),
            }
        }
        self.store.copy(from, to).await.map(|()| None)
    }

    /// How to find and abort the multipart uploads a lost answer left open (S3).
    pub fn with_open_uploads(mut self, open_uploads: Option<Arc<dyn backend::OpenUploads>>) -> Self {
        self.open_uploads = open_uploads;
        self
    }

    /// How to presign download URLs (S3, GCS, Azure with a key or a login).
    pub fn with_url_signer(mut self, url_signer: Option<Arc<dyn backend::UrlSigner>>) -> Self {
        self.url_signer = url_signer;
        self
    }

    pub(crate) fn url_signer(&self) -> Option<&Arc<dyn backend::UrlSigner>> {
        self.url_signer.as_ref()
    }

    pub(crate) fn open_uploads(&self) -> Option<&Arc<dyn backend::OpenUploads>> {
        self.open_uploads.as_ref()
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    pub fn set_max_copy_folder_bytes(&self, limit: u64) {
        self.max_copy_folder_bytes.store(limit, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn max_copy_folder_bytes(&self) -> u64 {
        self.max_copy_folder_bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The one gate every write passes.
    pub(crate) fn check_writable(&self, op: &'static str, path: &ApiPath) -> crate::error::Result<()> {
        if self.read_only {
            return Err(crate::error::Error::read_only(op, path.as_str()));
        }
        Ok(())
    }

    /// The largest file `get` reads into memory: a larger one (or a store that reports
    /// a size that cannot be allocated) is a clear 413, never an allocation failure.
    pub fn with_max_content_size(mut self, max_content_size: u64) -> Self {
        self.max_content_size = max_content_size;
        self
    }

    pub fn max_content_size(&self) -> u64 {
        self.max_content_size
    }

    pub fn with_uploads(mut self, uploads: Uploads) -> Self {
        self.uploads = uploads;
        self
    }

    pub fn uploads(&self) -> &Uploads {
        &self.uploads
    }

    /// How often to retry bulk deletes and create-only writes (the `max_retries` setting).
    pub fn with_retries(mut self, retries: usize) -> Self {
        self.retries = retries;
        self
    }

    pub(crate) fn retries(&self) -> usize {
        self.retries
    }

    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub fn keys(&self) -> &KeyMapper {
        &self.keys
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }
}
