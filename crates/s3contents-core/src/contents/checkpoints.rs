//! Checkpoints kept in the bucket, next to their file, in Jupyter's own layout:
//! `<dir>/.ipynb_checkpoints/<stem>-<id><ext>`. Creating and restoring are server-side
//! copies: the content never travels through the Jupyter server.

use chrono::{DateTime, NaiveDateTime, Utc};
use object_store::path::Path;
use object_store::ObjectStoreExt;

use super::backend::Copied;
use super::{whole_seconds, Contents};
use crate::error::{Error, Result, StoreResultExt};
use crate::keys::{split_ext, ApiPath, CHECKPOINT_DIR};

/// The id Jupyter uses when a file has a single checkpoint.
pub const SINGLE_CHECKPOINT_ID: &str = "checkpoint";

#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub id: String,
    pub last_modified: DateTime<Utc>,
}

impl Contents {
    fn checkpoint_dir(&self, path: &ApiPath) -> Result<ApiPath> {
        path.parent().join(CHECKPOINT_DIR)
    }

    pub(crate) fn checkpoint_key(&self, path: &ApiPath, id: &str) -> Result<Path> {
        check_id(id)?;
        let (stem, ext) = split_ext(path.name());
        let name = format!("{stem}-{id}{ext}");
        self.keys().file_key(&self.checkpoint_dir(path)?.join(&name)?)
    }

    /// Copy the current file to a new checkpoint, keeping at most `keep` of them
    /// (`keep == 1`: the single id "checkpoint", overwritten each time). One COPY where the
    /// store's answer dates the copy (S3), else COPY + HEAD.
    pub async fn create_checkpoint(&self, path: &ApiPath, keep: usize) -> Result<Checkpoint> {
        let (id, target, copied) = self.copy_to_checkpoint(path, keep).await?;
        let last_modified = match copied {
            Some(copied) => copied.last_modified,
            None => self.store().head(&target).await.during("create a checkpoint of", path.as_str())?.last_modified,
        };
        Ok(Checkpoint { id, last_modified: whole_seconds(last_modified) })
    }

    /// `create_checkpoint` without its timestamp (a save makes the first checkpoint of a
    /// notebook and has no use for it). One COPY (plus a LIST to prune when `keep > 1`).
    /// Returns the id and the key of the checkpoint.
    pub async fn add_checkpoint(&self, path: &ApiPath, keep: usize) -> Result<(String, Path)> {
        let (id, target, _) = self.copy_to_checkpoint(path, keep).await?;
        Ok((id, target))
    }

    async fn copy_to_checkpoint(&self, path: &ApiPath, keep: usize) -> Result<(String, Path, Option<Copied>)> {
        self.check_writable("create a checkpoint of", path)?;
        let id = if keep <= 1 { SINGLE_CHECKPOINT_ID.to_string() } else { new_checkpoint_id() };
        let source = self.keys().file_key(path)?;
        let target = self.checkpoint_key(path, &id)?;
        let copied = self.copy_object(&source, &target).await.during("create a checkpoint of", path.as_str())?;
        if keep > 1 {
            let all = self.list_checkpoints(path).await?;
            let stale: Vec<Path> =
                all.iter().skip(keep).map(|c| self.checkpoint_key(path, &c.id)).collect::<Result<_>>()?;
            self.delete_keys(path, stale).await?;
        }
        Ok((id, target, copied))
    }

    /// Checkpoints of the file at `path`, newest first. One LIST.
    pub async fn list_checkpoints(&self, path: &ApiPath) -> Result<Vec<Checkpoint>> {
        if path.is_root() {
            return Ok(Vec::new());
        }
        let dir = self.checkpoint_dir(path)?;
        let Some(prefix) = self.keys().dir_prefix(&dir)? else { return Ok(Vec::new()) };
        let listing =
            self.store().list_with_delimiter(Some(&prefix)).await.during("list checkpoints of", path.as_str())?;
        let (stem, ext) = split_ext(path.name());
        let lead = format!("{stem}-");
        let mut found: Vec<Checkpoint> = listing
            .objects
            .iter()
            .filter_map(|object| {
                let name = object.location.filename()?;
                let id = name.strip_prefix(lead.as_str())?.strip_suffix(ext)?;
                check_id(id).ok()?;
                Some(Checkpoint { id: id.to_string(), last_modified: whole_seconds(object.last_modified) })
            })
            .collect();
        sort_newest_first(&mut found);
        Ok(found)
    }

    /// Overwrite the file with the checkpoint `id` (server-side copy).
    pub async fn restore_checkpoint(&self, path: &ApiPath, id: &str) -> Result<()> {
        self.check_writable("restore a checkpoint of", path)?;
        let source = self.checkpoint_key(path, id)?;
        let target = self.keys().file_key(path)?;
        self.store().copy(&source, &target).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => checkpoint_missing(path, id),
            e => Error::from_store("restore a checkpoint of", path.as_str(), e),
        })
    }

    pub async fn delete_checkpoint(&self, path: &ApiPath, id: &str) -> Result<()> {
        self.check_writable("delete a checkpoint of", path)?;
        let key = self.checkpoint_key(path, id)?;
        match self.store().head(&key).await {
            Ok(_) => self.delete_resolved(&key).await.during("delete a checkpoint of", path.as_str()),
            Err(object_store::Error::NotFound { .. }) => Err(checkpoint_missing(path, id)),
            Err(e) => Err(Error::from_store("delete a checkpoint of", path.as_str(), e)),
        }
    }

    /// Move one checkpoint along with its renamed file.
    pub async fn rename_checkpoint(&self, id: &str, from: &ApiPath, to: &ApiPath) -> Result<()> {
        self.check_writable("rename a checkpoint of", from)?;
        let source = self.checkpoint_key(from, id)?;
        let target = self.checkpoint_key(to, id)?;
        self.store().copy(&source, &target).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => checkpoint_missing(from, id),
            e => Error::from_store("rename a checkpoint of", from.as_str(), e),
        })?;
        self.store().delete(&source).await.during("rename a checkpoint of", from.as_str())
    }
}

fn checkpoint_missing(path: &ApiPath, id: &str) -> Error {
    Error::CheckpointNotFound { path: path.as_str().to_string(), id: id.to_string() }
}

/// Ids are single path-safe tokens so `<stem>-<id><ext>` parses back unambiguously.
fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest(format!("invalid checkpoint id {id:?}")))
    }
}

/// Time-ordered id: lexical order is creation order (microseconds, UTC).
fn new_checkpoint_id() -> String {
    Utc::now().format(ID_FORMAT).to_string()
}

const ID_FORMAT: &str = "%Y%m%dT%H%M%S%6fZ";

/// Newest first, by when each checkpoint was made: the time in a time-ordered id, which
/// a rename's copy keeps (the copy's own timestamp is the rename's, the same for all and
/// in any order within it); else the object's timestamp, and then the single
/// "checkpoint" counts as the oldest of a tie.
fn sort_newest_first(checkpoints: &mut [Checkpoint]) {
    let made_at = |c: &Checkpoint| {
        NaiveDateTime::parse_from_str(&c.id, ID_FORMAT).map(|t| t.and_utc()).unwrap_or(c.last_modified)
    };
    checkpoints.sort_by_key(|c| std::cmp::Reverse((made_at(c), c.id != SINGLE_CHECKPOINT_ID, c.id.clone())));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_path_safe_and_ordered() {
        let a = new_checkpoint_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_checkpoint_id();
        assert!(check_id(&a).is_ok() && a < b, "{a} {b}");
        assert!(check_id("../x").is_err());
        assert!(check_id("a-b").is_err());
        assert!(check_id(SINGLE_CHECKPOINT_ID).is_ok());
    }

    #[test]
    fn renamed_checkpoints_keep_their_order() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let checkpoint = |id: &str, modified: &str| Checkpoint { id: id.to_string(), last_modified: at(modified) };
        // Copied by a rename: the older one's copy landed a second after the newer one's.
        let mut found = vec![
            checkpoint("20261125T100000000001Z", "2026-11-25T12:00:01Z"),
            checkpoint("20261125T110000000001Z", "2026-11-25T12:00:00Z"),
            checkpoint(SINGLE_CHECKPOINT_ID, "2026-11-25T10:30:00Z"),
        ];
        sort_newest_first(&mut found);
        let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["20261125T110000000001Z", SINGLE_CHECKPOINT_ID, "20261125T100000000001Z"]);
        assert_eq!(new_checkpoint_id().len(), "20261125T110000000001Z".len());
        assert!(NaiveDateTime::parse_from_str(&new_checkpoint_id(), ID_FORMAT).is_ok());
    }
}
