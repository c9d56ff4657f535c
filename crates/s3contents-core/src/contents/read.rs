//! Reads: stat, get (with or without content), directory listings, existence checks.

use futures::StreamExt;
use object_store::{ObjectMeta, ObjectStoreExt};

use super::download::Encoding;
use super::{Contents, Entry, Fetched, Kind};
use crate::error::{Error, Result, StoreResultExt};
use crate::keys::{ApiPath, CHECKPOINT_DIR, DIR_MARKER, TRASH_DIR};

/// A name without an extension is most likely a folder, one with an extension a file:
/// asking the likely kind first makes either cost one request (JupyterLab's file
/// browser does not say which it expects). Only the order of requests depends on it.
pub(crate) fn looks_like_folder(path: &ApiPath) -> bool {
    !path.name().contains('.')
}

impl Contents {
    /// File or directory at `path`, or `None`. One request when the name says what it is
    /// (see `looks_like_folder`), two otherwise.
    pub async fn stat(&self, path: &ApiPath) -> Result<Option<Entry>> {
        if path.is_root() {
            return Ok(Some(Entry::directory(ApiPath::ROOT, self.folder_time(None))));
        }
        // Dated as the folder's entry in its parent's listing, where the store gives no
        // time: Jupyter's contract wants both models equal (see `folder_time`).
        if looks_like_folder(path) {
            if self.dir_exists(path).await? {
                return Ok(Some(Entry::directory(path.clone(), self.folder_time(None))));
            }
            return self.head_file(path).await;
        }
        if let Some(entry) = self.head_file(path).await? {
            return Ok(Some(entry));
        }
        Ok(self.dir_exists(path).await?.then(|| Entry::directory(path.clone(), self.folder_time(None))))
    }

    /// The model data for `get`: a file (with its content when `content` names an
    /// encoding) or a directory (with its listing when `content`). One request when the
    /// name says what it is, else two.
    pub async fn get(&self, path: &ApiPath, content: Option<Encoding>) -> Result<Fetched> {
        let Some(encoding) = content else {
            return match self.stat(path).await? {
                Some(entry) if entry.kind == super::Kind::File => Ok(Fetched::File { entry, data: None }),
                Some(entry) => Ok(Fetched::Directory { entry, children: None }),
                None => Err(Error::not_found(path.as_str())),
            };
        };
        let folder_first = path.is_root() || looks_like_folder(path);
        if folder_first {
            if let Some((entry, children)) = self.list_dir_entry(path).await? {
                return Ok(Fetched::Directory { entry, children: Some(children) });
            }
        }
        if !path.is_root() {
            if let Some((entry, data)) = self.read_file(path, encoding).await? {
                return Ok(Fetched::File { entry, data: Some(data) });
            }
        }
        if folder_first {
            return Err(Error::not_found(path.as_str()));
        }
        match self.list_dir_entry(path).await? {
            Some((entry, children)) => Ok(Fetched::Directory { entry, children: Some(children) }),
            None => Err(Error::not_found(path.as_str())),
        }
    }

    /// Children of the directory at `path` (`None` when it does not exist).
    pub async fn list_dir(&self, path: &ApiPath) -> Result<Option<Vec<Entry>>> {
        Ok(self.list_dir_entry(path).await?.map(|(_, children)| children))
    }

    /// The directory at `path` and its children (`None` when it does not exist). Files and
    /// sub-directories both come from the one delimiter listing: no request per entry.
    /// Markers and checkpoint folders are storage details and never listed, but their
    /// times date the directory (see `folder_time`).
    pub async fn list_dir_entry(&self, path: &ApiPath) -> Result<Option<(Entry, Vec<Entry>)>> {
        let prefix = self.keys.dir_prefix(path)?;
        let listing = self.store.list_with_delimiter(prefix.as_ref()).await.during("list", path.as_str())?;
        let exists = path.is_root() || !listing.objects.is_empty() || !listing.common_prefixes.is_empty();
        if !exists {
            return Ok(None);
        }
        let newest = listing.objects.iter().map(|object| object.last_modified).max();
        self.learn_store_time(newest);
        let mut children = Vec::with_capacity(listing.objects.len() + listing.common_prefixes.len());
        for object in &listing.objects {
            let Some(child) = self.keys.api_path(&object.location) else { continue };
            // A zero-byte `dir/` key (AWS console folder) parses to the directory itself.
            // A placeholder of a rename or copy in progress (or interrupted) is no file.
            if child == *path || child.name() == DIR_MARKER || super::is_listed_claim(object) {
                continue;
            }
            children.push(Entry::file(child, object));
        }
        for common in &listing.common_prefixes {
            let Some(child) = self.keys.api_path(common) else { continue };
            if child == *path || child.name() == CHECKPOINT_DIR || (path.is_root() && child.name() == TRASH_DIR) {
                continue;
            }
            children.push(Entry::directory(child, self.folder_time(None)));
        }
        Ok(Some((Entry::directory(path.clone(), self.folder_time(newest)), children)))
    }

    /// HEAD of the file object at `path`.
    pub async fn head_file(&self, path: &ApiPath) -> Result<Option<Entry>> {
        Ok(self.head_object(path, "read").await?.map(|meta| Entry::file(path.clone(), &meta)))
    }

    /// HEAD of the file object at `path` (`None` for the root or a missing file); a
    /// store error is reported as failing to `op` it.
    pub(crate) async fn head_object(&self, path: &ApiPath, op: &'static str) -> Result<Option<ObjectMeta>> {
        if path.is_root() {
            return Ok(None);
        }
        match self.store.head(&self.keys.file_key(path)?).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::from_store(op, path.as_str(), e)),
        }
    }

    /// A directory exists when any key lives under it (a marker counts). One LIST.
    pub async fn dir_exists(&self, path: &ApiPath) -> Result<bool> {
        if path.is_root() {
            return Ok(true);
        }
        let prefix = self.keys.dir_prefix(path)?;
        if let (Some(probe), Some(dir)) = (&self.one_key, &prefix) {
            return probe.any_key_under(dir).await.during("list", path.as_str());
        }
        let mut keys = self.store.list(prefix.as_ref());
        match keys.next().await {
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(Error::from_store("list", path.as_str(), e)),
            None => Ok(false),
        }
    }

    pub async fn file_exists(&self, path: &ApiPath) -> Result<bool> {
        Ok(self.head_file(path).await?.is_some())
    }

    pub async fn exists(&self, path: &ApiPath) -> Result<bool> {
        Ok(self.stat(path).await?.is_some())
    }

    /// Everything directly inside `path` as it is stored, markers, checkpoint folders and
    /// the trash included (`None` when nothing is there): `fs.ls` for hooks, which list
    /// what s3contents' S3FS lists.
    pub async fn list_stored(&self, path: &ApiPath) -> Result<Option<Vec<Entry>>> {
        let prefix = self.keys.dir_prefix(path)?;
        let listing = self.store.list_with_delimiter(prefix.as_ref()).await.during("list", path.as_str())?;
        let mut children = Vec::with_capacity(listing.objects.len() + listing.common_prefixes.len());
        for object in &listing.objects {
            match self.keys.api_path(&object.location) {
                Some(child) if child != *path => children.push(Entry::file(child, object)),
                _ => {}
            }
        }
        for common in &listing.common_prefixes {
            match self.keys.api_path(common) {
                Some(child) if child != *path => children.push(Entry::directory(child, self.folder_time(None))),
                _ => {}
            }
        }
        Ok((!children.is_empty()).then_some(children))
    }

    /// One LIST of the first page under the prefix, at start-up: what is wrong with the
    /// store (no bucket, refused, unreachable) is reported then, once. The
    /// page's newest time dates the folders the store gives no time for (`folder_time`).
    pub async fn check_store(&self) -> Result<()> {
        let prefix = self.keys.dir_prefix(&ApiPath::ROOT)?;
        // Every backend's pages hold at least 1000 keys: no second page is asked for.
        let mut keys = self.store.list(prefix.as_ref()).take(1000);
        let mut newest = None;
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| Error::from_store("list", "", e))?;
            newest = newest.max(Some(key.last_modified));
        }
        self.learn_store_time(newest);
        Ok(())
    }

    /// Names directly inside `path` (files and folders, hidden ones included), used to
    /// pick a free `Untitled`/`-Copy` name with one listing instead of a probe per name;
    /// and the entry of the file named `file` there, if any: a copy next to its source
    /// learns the source's size and version from that listing (see `copy_listed`).
    pub async fn child_names(&self, path: &ApiPath, file: Option<&str>) -> Result<(Vec<String>, Option<Entry>)> {
        let children = self.list_dir(path).await?.ok_or_else(|| Error::not_found(path.as_str()))?;
        let found = file.and_then(|name| children.iter().find(|c| c.kind == Kind::File && c.name() == name).cloned());
        Ok((children.into_iter().map(|c| c.name().to_string()).collect(), found))
    }
}
