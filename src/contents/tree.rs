//! Operations on whole files or directory trees: delete, rename, copy.
//!
//! Trees are listed once, copied with bounded concurrency, and sources are deleted
//! with bulk deletes only after every copy succeeded; a failed copy rolls back the
//! copies already made, so every object stays readable at its old or new path.

use futures::{stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt, PutPayload};

use super::read::looks_like_folder;
use super::{Contents, Entry};

enum Found {
    File,
    Tree(Vec<ObjectMeta>),
    Nothing,
}
use crate::error::{Error, Result, StoreResultExt};
use crate::keys::{ApiPath, CHECKPOINT_DIR, DIR_MARKER};

impl Contents {
    /// Delete the file or directory tree at `path`. With `allow_non_empty` false, a
    /// directory holding anything but its marker and checkpoints is refused (400), as
    /// FileContentsManager does when `always_delete_dir` is off.
    pub async fn delete(&self, path: &ApiPath, allow_non_empty: bool) -> Result<()> {
        if path.is_root() {
            return Err(Error::BadRequest("Can't delete root".into()));
        }
        let objects = match self.file_or_tree(path).await? {
            Found::File => {
                let key = self.keys.file_key(path)?;
                return self.store.delete(&key).await.during("delete", path.as_str());
            }
            Found::Tree(objects) => objects,
            Found::Nothing => return Err(Error::not_found(path.as_str())),
        };
        if !allow_non_empty && objects.iter().any(|o| !self.is_bookkeeping(path, &o.location)) {
            return Err(Error::BadRequest(format!("Directory {} not empty", path.as_str())));
        }
        let dir_key = self.keys.dir_prefix(path)?;
        // A console-style `dir/` key parses to the directory's own path, which names no
        // object: object_store cannot address it, so it is left behind (see README).
        let keys = objects.into_iter().map(|o| o.location).filter(|k| Some(k) != dir_key.as_ref()).collect();
        self.delete_keys(path, keys).await
    }

    /// Move the file or directory tree at `from` to `to`; 409 when `to` exists.
    pub async fn rename(&self, from: &ApiPath, to: &ApiPath) -> Result<()> {
        if from == to {
            return Ok(());
        }
        let moves = self.plan_transfer(from, to, "rename").await?;
        let sources: Vec<Path> = moves.iter().filter_map(|(src, _)| src.clone()).collect();
        self.copy_keys(from, moves).await?;
        self.delete_keys(from, sources).await
    }

    /// Copy the file or directory tree at `from` to `to` (server-side); 409 when `to` exists.
    pub async fn copy(&self, from: &ApiPath, to: &ApiPath) -> Result<Entry> {
        if from == to {
            return Err(Error::already_exists(to.as_str()));
        }
        let copies = self.plan_transfer(from, to, "copy").await?;
        let single_file = copies.len() == 1 && copies[0].0 == self.keys.file_key(from).ok();
        self.copy_keys(from, copies).await?;
        if single_file {
            return self.head_written(to).await;
        }
        Ok(Entry::directory(to.clone()))
    }

    /// Source -> destination key pairs for moving/copying `from` to `to`. A `None` source
    /// stands for a console-style `dir/` key, which object_store cannot address: the
    /// destination gets a fresh empty marker instead.
    async fn plan_transfer(&self, from: &ApiPath, to: &ApiPath, op: &str) -> Result<Vec<(Option<Path>, Path)>> {
        if from.is_root() || to.is_root() {
            return Err(Error::BadRequest(format!("cannot {op} the root directory")));
        }
        if to.is_within(from) {
            return Err(Error::BadRequest(format!("cannot {op} {from:?} into itself ({to:?})", from = from.as_str(), to = to.as_str())));
        }
        if self.exists(to).await? {
            return Err(Error::already_exists(to.as_str()));
        }
        let objects = match self.file_or_tree(from).await? {
            Found::File => return Ok(vec![(Some(self.keys.file_key(from)?), self.keys.file_key(to)?)]),
            Found::Tree(objects) => objects,
            Found::Nothing => return Err(Error::not_found(from.as_str())),
        };
        let from_prefix = self.keys.dir_prefix(from)?.unwrap_or_default();
        let to_prefix = self.keys.dir_prefix(to)?.unwrap_or_default();
        objects
            .into_iter()
            .map(|object| {
                let rel = object.location.prefix_match(&from_prefix).map(|parts| {
                    parts.map(|p| p.as_ref().to_string()).collect::<Vec<_>>().join("/")
                });
                match rel.as_deref() {
                    Some("") | None => Ok((None, self.keys.marker_key(to)?)),
                    Some(rel) => {
                        let target = Path::parse(format!("{}/{rel}", to_prefix.as_ref()))
                            .map_err(|e| Error::invalid_path(to.as_str(), e))?;
                        Ok((Some(object.location), target))
                    }
                }
            })
            .collect()
    }

    /// Whether `path` is a file or a folder (with every object under it), asking in the
    /// order its name suggests so the common case costs one request (see `looks_like_folder`).
    async fn file_or_tree(&self, path: &ApiPath) -> Result<Found> {
        if !looks_like_folder(path) && self.head_file(path).await?.is_some() {
            return Ok(Found::File);
        }
        let objects = self.tree_objects(path).await?;
        if !objects.is_empty() {
            return Ok(Found::Tree(objects));
        }
        if looks_like_folder(path) && self.head_file(path).await?.is_some() {
            return Ok(Found::File);
        }
        Ok(Found::Nothing)
    }

    /// Every object under the directory `path`, recursively (one LIST per 1000 keys).
    pub(crate) async fn tree_objects(&self, path: &ApiPath) -> Result<Vec<ObjectMeta>> {
        let prefix = self.keys.dir_prefix(path)?;
        self.store.list(prefix.as_ref()).try_collect().await.during("list", path.as_str())
    }

    /// Markers and checkpoints do not make a directory "non-empty".
    fn is_bookkeeping(&self, dir: &ApiPath, key: &Path) -> bool {
        let Some(rel) = self.keys.api_path(key) else { return true };
        let rel = rel.as_str().strip_prefix(dir.as_str()).unwrap_or("").trim_start_matches('/');
        rel.is_empty() || rel == DIR_MARKER || rel.starts_with(&format!("{CHECKPOINT_DIR}/"))
    }

    /// Server-side copies, bounded concurrency; on any failure the copies already made
    /// are deleted again and the first error is returned.
    async fn copy_keys(&self, what: &ApiPath, pairs: Vec<(Option<Path>, Path)>) -> Result<()> {
        let results: Vec<(Path, std::result::Result<(), object_store::Error>)> = stream::iter(pairs)
            .map(|(src, dst)| async move {
                let result = match &src {
                    Some(src) => self.store.copy(src, &dst).await,
                    None => self.store.put(&dst, PutPayload::default()).await.map(|_| ()),
                };
                (dst, result)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut made = Vec::new();
        let mut first_error = None;
        for (dst, result) in results {
            match result {
                Ok(()) => made.push(dst),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            None => Ok(()),
            Some(e) => {
                // Best effort: leave no half-copied tree behind; sources are untouched.
                let _ = self.delete_keys(what, made).await;
                Err(Error::from_store("copy", what.as_str(), e))
            }
        }
    }

    /// Bulk delete (up to 1000 keys per request on S3); already-missing keys are fine.
    pub(crate) async fn delete_keys(&self, what: &ApiPath, keys: Vec<Path>) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let locations = stream::iter(keys.into_iter().map(Ok)).boxed();
        let mut deleted = self.store.delete_stream(locations);
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(Error::from_store("delete", what.as_str(), e)),
            }
        }
        Ok(())
    }
}
