//! Operations on whole files or directory trees: delete, rename, copy, move to the trash.
//!
//! Multi-object operations keep one invariant whatever fails midway: every original
//! object stays readable, byte-identical, at its old or its new path. So:
//! 1. the target is claimed with a create-only write (a placeholder file, or the target
//!    folder's marker), so two concurrent creators never overwrite each other;
//! 2. every object is copied (bounded concurrency);
//! 3. the sources are listed again: if anything changed meanwhile, the copies are
//!    rolled back and the caller gets a 409;
//! 4. only then are the sources deleted (bulk deletes).
//!
//! A failed copy rolls back every copy that may have been made (including the claim);
//! the sources are never touched before step 4.

use std::collections::BTreeMap;

use futures::{stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt, PutPayload};

use super::read::looks_like_folder;
use super::recovery::{backoff, is_listed_claim, new_token, outcome_unknown, same_object, Created, CLAIM_BODY};
use super::{Contents, Entry, Kind};
use crate::error::{Error, Result, StoreResultExt};
use crate::keys::{ApiPath, CHECKPOINT_DIR, DIR_MARKER};

/// What a rename, copy or move to the trash will do.
struct Transfer {
    /// Source -> destination; a `None` source (console-style `dir/` key) becomes an empty marker.
    copies: Vec<(Option<Path>, Path)>,
    /// Objects to delete once every copy is confirmed (rename and trash only).
    sources: Vec<Path>,
    /// ETag (or size and time) of every source when the plan was made.
    versions: BTreeMap<Path, String>,
    /// The object claimed with a create-only write before copying, if any.
    claim: Option<Path>,
    /// True when the source is a single file rather than a directory tree.
    single_file: bool,
    /// A console-style `dir/` key of the source folder, deleted with the sources.
    dir_key: Option<Path>,
    /// Whether to check, after copying, that no source changed since the plan was made.
    /// Needed before sources are deleted; a copy of a single file is one atomic COPY.
    verify: bool,
    /// Where everything goes (for messages).
    target: ApiPath,
    /// The source of each planned target key (to recognise what an interrupted attempt left).
    by_target: BTreeMap<Path, ObjectMeta>,
    /// Retrying an interrupted attempt whose leftovers at the target were recognised:
    /// no claim (it is there already), and nothing rolled back (some sources may already
    /// be gone, their only copy at the target).
    resume: bool,
}

/// What a delete, rename or copy found at its source path.
enum Source {
    File(ObjectMeta),
    /// Every object under the folder (never empty).
    Tree(Vec<ObjectMeta>),
}

fn version(meta: &ObjectMeta) -> String {
    match &meta.e_tag {
        Some(etag) => etag.clone(),
        None => format!("{}@{}", meta.size, meta.last_modified.timestamp_nanos_opt().unwrap_or_default()),
    }
}

impl Contents {
    /// Delete the file or directory tree at `path`. With `allow_non_empty` false, a
    /// directory holding anything but its marker and checkpoints is refused (400), as
    /// FileContentsManager does when `always_delete_dir` is off.
    /// Says whether it deleted a file or a folder (a folder has no checkpoints of its own
    /// for the caller to delete).
    pub async fn delete(&self, path: &ApiPath, allow_non_empty: bool) -> Result<Kind> {
        self.check_writable("delete", path)?;
        if path.is_root() {
            return Err(Error::BadRequest("Can't delete root".into()));
        }
        match self.locate(path, "delete").await? {
            Source::File(meta) => {
                // With its checkpoints, in one request: a retry never finds them orphaned.
                let mut keys = vec![meta.location];
                keys.extend(self.checkpoint_keys(path).await?);
                self.delete_keys(path, keys).await?;
                Ok(Kind::File)
            }
            Source::Tree(objects) => {
                let (objects, dir_key) = self.deletable_tree(path, objects, allow_non_empty)?;
                self.delete_keys(path, objects.into_iter().map(|o| o.location).collect()).await?;
                self.delete_dir_key(dir_key).await;
                Ok(Kind::Directory)
            }
        }
    }

    /// The file or folder at `path` (404 when neither exists), asking for the likely kind
    /// first as `get` does (`looks_like_folder`): one request when the name says what it
    /// is. A folder's listing is needed anyway, so a folder costs nothing extra.
    async fn locate(&self, path: &ApiPath, op: &'static str) -> Result<Source> {
        if looks_like_folder(path) {
            let objects = self.tree_objects(path).await?;
            if !objects.is_empty() {
                return Ok(Source::Tree(objects));
            }
            return match self.head_object(path, op).await? {
                Some(meta) => Ok(Source::File(meta)),
                None => Err(Error::not_found(path.as_str())),
            };
        }
        if let Some(meta) = self.head_object(path, op).await? {
            return Ok(Source::File(meta));
        }
        let objects = self.tree_objects(path).await?;
        if objects.is_empty() {
            return Err(Error::not_found(path.as_str()));
        }
        Ok(Source::Tree(objects))
    }

    /// Move the file or directory tree at `path` to `<prefix>/.Trash/<stamp>/<path>`
    /// (copies first, sources deleted only once every copy is confirmed). Returns the
    /// API-style location of the trashed copy relative to the prefix.
    pub async fn move_to_trash(&self, path: &ApiPath, allow_non_empty: bool) -> Result<(String, Kind)> {
        self.check_writable("delete", path)?;
        if path.is_root() {
            return Err(Error::BadRequest("Can't delete root".into()));
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%6fZ").to_string();
        let trash_path = format!("{}/{stamp}/{}", crate::keys::TRASH_DIR, path.as_str());
        let mut checkpoints = Vec::new();
        let (objects, single_file, dir_key) = match self.locate(path, "delete").await? {
            Source::File(meta) => {
                // Deleted with the file, in the same request (see `delete`).
                checkpoints = self.checkpoint_keys(path).await?;
                (vec![meta], true, None)
            }
            Source::Tree(objects) => {
                let (objects, dir_key) = self.deletable_tree(path, objects, allow_non_empty)?;
                (objects, false, dir_key)
            }
        };
        let mut transfer = Transfer {
            copies: Vec::with_capacity(objects.len()),
            sources: Vec::with_capacity(objects.len()),
            versions: BTreeMap::new(),
            claim: None,
            single_file,
            dir_key,
            verify: true,
            target: path.clone(),
            by_target: BTreeMap::new(),
            resume: false,
        };
        for object in objects {
            let rel = self.keys.api_path(&object.location).ok_or_else(|| Error::not_found(path.as_str()))?;
            let target = self.keys.trash_key(&stamp, &rel)?;
            transfer.versions.insert(object.location.clone(), version(&object));
            transfer.sources.push(object.location.clone());
            transfer.copies.push((Some(object.location), target));
        }
        transfer.sources.extend(checkpoints);
        self.run_transfer(path, "move to the trash", transfer).await?;
        Ok((trash_path, if single_file { Kind::File } else { Kind::Directory }))
    }

    /// Objects of the directory tree at `path` (all its `objects`) that a delete removes,
    /// and its console-style `dir/` key if it has one (which needs a request of its own).
    fn deletable_tree(
        &self,
        path: &ApiPath,
        objects: Vec<ObjectMeta>,
        allow_non_empty: bool,
    ) -> Result<(Vec<ObjectMeta>, Option<Path>)> {
        if !allow_non_empty && objects.iter().any(|o| !self.is_bookkeeping(path, &o.location)) {
            return Err(Error::BadRequest(format!("Directory {} not empty", path.as_str())));
        }
        let dir_key = self.keys.dir_prefix(path)?;
        // A console-style `dir/` key lists as the directory's own path.
        let (console, objects): (Vec<_>, Vec<_>) =
            objects.into_iter().partition(|o| Some(&o.location) == dir_key.as_ref());
        Ok((objects, console.into_iter().next().map(|o| o.location)))
    }

    /// Delete a console-style `dir/` key. object_store cannot address it; on S3 a signed
    /// request of our own does, elsewhere it is left behind (see README). Best effort: the
    /// folder's content is already gone, and a leftover marker only shows an empty folder.
    async fn delete_dir_key(&self, dir_key: Option<Path>) {
        if let (Some(key), Some(dir_keys)) = (dir_key, &self.dir_keys) {
            let _ = dir_keys.delete_dir_key(&key).await;
        }
    }

    /// Move the file or directory tree at `from` to `to`; 409 when `to` exists. Says
    /// whether it moved a file or a folder. A file's checkpoints move with it, in the
    /// same transfer. Retrying a rename that failed midway resumes it (see `recovery`).
    pub async fn rename(&self, from: &ApiPath, to: &ApiPath) -> Result<Kind> {
        self.check_writable("rename", from)?;
        if from == to {
            return self.stat(from).await?.map(|e| e.kind).ok_or_else(|| Error::not_found(from.as_str()));
        }
        let keys = (self.keys.file_key(from), self.keys.file_key(to));
        let noted = matches!(&keys, (Ok(f), Ok(t)) if self.journal.has("rename", f, t));
        let target_exists = !from.is_root() && !to.is_root() && self.exists(to).await?;
        // An existing target is a conflict even inside the source (FileContentsManager),
        // unless it is what this server's interrupted rename left: then the rename resumes.
        if target_exists && !noted {
            return Err(Error::already_exists(to.as_str()));
        }
        self.check_transfer_paths(from, to, "rename")?;
        let (from_key, to_key) = (keys.0?, keys.1?);
        let source = match self.locate(from, "rename").await {
            // The interrupted attempt moved everything; only its last steps were lost.
            Err(Error::NotFound { .. }) if noted && target_exists => {
                let kind = self.finish_move(from, to).await?;
                self.journal.forget("rename", &from_key, &to_key);
                return Ok(kind);
            }
            other => other?,
        };
        let mut transfer = match source {
            Source::File(meta) => {
                let mut transfer = self.plan_file(meta, to, true)?;
                self.add_checkpoints(&mut transfer, from, to).await?;
                transfer
            }
            Source::Tree(objects) => self.plan_tree(from, to, objects, true)?,
        };
        if target_exists {
            self.check_resumable(from, "rename", &transfer, true).await?;
            transfer.resume = true;
        }
        let kind = if transfer.single_file { Kind::File } else { Kind::Directory };
        self.run_noted("rename", (from, &from_key), &to_key, transfer).await?;
        Ok(kind)
    }

    /// Run `transfer`, noting in the journal a failure that may have left something at
    /// the target (so that retrying the same operation resumes it).
    async fn run_noted(
        &self,
        op: &'static str,
        from: (&ApiPath, &Path),
        to_key: &Path,
        transfer: Transfer,
    ) -> Result<()> {
        let result = self.run_transfer(from.0, op, transfer).await;
        self.note_outcome(op, from.1, to_key, &result);
        result
    }

    fn note_outcome<T>(&self, op: &'static str, from_key: &Path, to_key: &Path, result: &Result<T>) {
        match result {
            Ok(_) => self.journal.forget(op, from_key, to_key),
            // Lost to another writer, or nothing to move: nothing of ours at the target.
            Err(e) if matches!(e.cause(), Error::AlreadyExists { .. } | Error::NotFound { .. }) => {}
            Err(_) => self.journal.note(op, from_key, to_key),
        }
    }

    /// Keys of the checkpoints of the file at `path` (one LIST).
    async fn checkpoint_keys(&self, path: &ApiPath) -> Result<Vec<Path>> {
        self.list_checkpoints(path).await?.iter().map(|c| self.checkpoint_key(path, &c.id)).collect()
    }

    /// Checkpoints of the file `from`, moved with it to `to`'s names.
    async fn add_checkpoints(&self, transfer: &mut Transfer, from: &ApiPath, to: &ApiPath) -> Result<()> {
        for checkpoint in self.list_checkpoints(from).await? {
            let source = self.checkpoint_key(from, &checkpoint.id)?;
            transfer.copies.push((Some(source.clone()), self.checkpoint_key(to, &checkpoint.id)?));
            transfer.sources.push(source);
        }
        Ok(())
    }

    /// The end of a rename whose source is gone: the interrupted attempt moved it, but
    /// may have left the file's checkpoints under the old name.
    async fn finish_move(&self, from: &ApiPath, to: &ApiPath) -> Result<Kind> {
        let Some(entry) = self.stat(to).await? else { return Err(Error::not_found(from.as_str())) };
        if entry.kind == Kind::File {
            let mut copies = Vec::new();
            let mut sources = Vec::new();
            for checkpoint in self.list_checkpoints(from).await? {
                let source = self.checkpoint_key(from, &checkpoint.id)?;
                copies.push((Some(source.clone()), self.checkpoint_key(to, &checkpoint.id)?));
                sources.push(source);
            }
            let mut made = Vec::new();
            self.copy_keys(from, "rename", copies, &mut made).await?;
            self.delete_keys(from, sources).await?;
        }
        Ok(entry.kind)
    }

    /// Whether what is at the target of `transfer` is what an interrupted attempt of the
    /// same operation left: each object there is a claim, the target's folder marker,
    /// equal to its source, or (a move) an object whose source is gone already (moved).
    /// Anything else is someone else's, and the operation gets 409.
    async fn check_resumable(
        &self,
        from: &ApiPath,
        op: &'static str,
        transfer: &Transfer,
        is_move: bool,
    ) -> Result<()> {
        let to = &transfer.target;
        let foreign = || {
            Error::already_exists(to.as_str()).leaving(format!(
                "it is not what the interrupted {op} of {:?} left there; nothing was changed",
                from.as_str()
            ))
        };
        let target_file = self.head_object(to, op).await?;
        let present: Vec<ObjectMeta> = match (transfer.single_file, target_file) {
            (true, Some(meta)) => vec![meta],
            (true, None) => return Err(foreign()), // a folder is there
            (false, Some(_)) => return Err(foreign()),
            (false, None) => self.tree_objects(to).await?,
        };
        let marker = self.keys.marker_key(to)?;
        for object in &present {
            if object.location == marker || self.is_claim(object).await? {
                continue;
            }
            match transfer.by_target.get(&object.location) {
                Some(source) if same_object(source, object) => {}
                None if is_move => {}
                _ => return Err(foreign()),
            }
        }
        Ok(())
    }

    /// Whether `meta` is a file claim (its body is read only where the ETag cannot tell).
    async fn is_claim(&self, meta: &ObjectMeta) -> Result<bool> {
        if is_listed_claim(meta) {
            return Ok(true);
        }
        if meta.size != CLAIM_BODY.len() as u64 {
            return Ok(false);
        }
        let body = self.store.get(&meta.location).await.during("read", meta.location.as_ref())?;
        Ok(body.bytes().await.during("read", meta.location.as_ref())?.as_ref() == CLAIM_BODY)
    }

    /// Copy the file or directory tree at `from` to `to` (server-side); 409 when `to` exists.
    pub async fn copy(&self, from: &ApiPath, to: &ApiPath) -> Result<Entry> {
        self.copy_checked(from, to, true, None).await
    }

    /// `copy` to a name just picked as free from a listing of its folder (`-Copy1`...):
    /// that listing showed no file or folder of that name, so the target is not looked up
    /// again; the create-only claim still refuses a file another server stored meanwhile.
    /// `source` is the source file's entry in that listing when it is in the same folder:
    /// its size and ETag then stand in for a HEAD of it (the COPY's answer must show that
    /// same ETag, else a HEAD of the copy decides). A single file on S3 then costs two
    /// requests: the claim (PUT) and the COPY, whose answer dates the copy.
    pub async fn copy_listed(&self, from: &ApiPath, to: &ApiPath, source: Option<&Entry>) -> Result<Entry> {
        self.copy_checked(from, to, false, source).await
    }

    async fn copy_checked(
        &self,
        from: &ApiPath,
        to: &ApiPath,
        check_target: bool,
        listed_source: Option<&Entry>,
    ) -> Result<Entry> {
        self.check_writable("copy", to)?;
        if from == to {
            return Err(Error::already_exists(to.as_str()));
        }
        self.check_transfer_paths(from, to, "copy")?;
        let (from_key, to_key) = (self.keys.file_key(from)?, self.keys.file_key(to)?);
        let noted = self.journal.has("copy", &from_key, &to_key);
        let target_exists = (check_target || noted) && self.exists(to).await?;
        if target_exists && !noted {
            return Err(Error::already_exists(to.as_str()));
        }
        let result = self.copy_to(from, to, target_exists, listed_source).await;
        self.note_outcome("copy", &from_key, &to_key, &result);
        result
    }

    async fn copy_to(
        &self,
        from: &ApiPath,
        to: &ApiPath,
        resume: bool,
        listed_source: Option<&Entry>,
    ) -> Result<Entry> {
        let source = if resume || looks_like_folder(from) {
            self.locate(from, "copy").await?
        } else {
            // A file most likely: claim and copy straight away, without a HEAD of the
            // source. A server-side COPY is atomic, so there is no version to check
            // afterwards; a missing source makes the COPY fail with 404 and the claim is
            // withdrawn before looking for a folder of that name.
            let (target, source_key) = (self.keys.file_key(to)?, self.keys.file_key(from)?);
            // The source's size for the copy's model, from the listing that named the copy
            // or asked while the claim is made: where the COPY's answer dates the copy
            // (S3), no HEAD follows it.
            let source_meta = async {
                match (self.reports_copies(), listed_source) {
                    (false, _) => None,
                    (true, Some(listed)) => listed.size.map(|size| ObjectMeta {
                        location: source_key.clone(),
                        last_modified: listed.last_modified,
                        size,
                        e_tag: listed.etag.clone(),
                        version: None,
                    }),
                    (true, None) => self.store.head(&source_key).await.ok(),
                }
            };
            let (claimed, source_meta) = futures::join!(self.claim(from, to, "copy", &target), source_meta);
            claimed?;
            match self.copy_object(&source_key, &target).await {
                Ok(copied) => return self.copied_entry(to, target, source_meta, copied).await,
                Err(object_store::Error::NotFound { .. }) => {
                    self.delete_keys(from, vec![target]).await.map_err(|e| {
                        e.leaving(format!(
                            "the placeholder claiming {:?} is left; retrying the copy removes it",
                            to.as_str()
                        ))
                    })?
                }
                Err(e) => {
                    // The copy may have landed (a lost response): roll it back with the claim.
                    let state = match self.delete_keys(from, vec![target]).await {
                        Ok(()) => "nothing was changed".to_string(),
                        Err(_) => format!(
                            "{:?} is unchanged; a placeholder or copy may be left at {:?}: retrying the copy completes it",
                            from.as_str(),
                            to.as_str()
                        ),
                    };
                    return Err(Error::from_store("copy", from.as_str(), e).leaving(state));
                }
            }
            let objects = self.tree_objects(from).await?;
            if objects.is_empty() {
                return Err(Error::not_found(from.as_str()));
            }
            Source::Tree(objects)
        };
        let mut transfer = match source {
            Source::File(meta) => {
                let mut transfer = self.plan_file(meta, to, false)?;
                // See above: a single COPY needs no check of the source's version.
                transfer.verify = false;
                transfer
            }
            Source::Tree(objects) => {
                self.check_folder_size(from, &objects)?;
                self.plan_tree(from, to, objects, false)?
            }
        };
        if resume {
            self.check_resumable(from, "copy", &transfer, false).await?;
            transfer.resume = true;
        }
        let single_file = transfer.single_file;
        self.run_transfer(from, "copy", transfer).await?;
        if single_file {
            return self.head_or_undo(to, vec![self.keys.file_key(to)?]).await;
        }
        Ok(Entry::directory(to.clone(), chrono::Utc::now()))
    }

    /// Claim, copy, check the sources did not change, then delete them. A failure says
    /// what it left.
    async fn run_transfer(&self, what: &ApiPath, op: &'static str, transfer: Transfer) -> Result<()> {
        let Transfer { copies, sources, versions, claim, single_file, dir_key, verify, target, resume, .. } = transfer;
        let (from, to) = (what.as_str(), target.as_str());
        if let (Some(claim), false) = (&claim, resume) {
            self.claim(what, &target, op, claim).await?;
        }
        let mut rollback: Vec<Path> = if resume { Vec::new() } else { claim.into_iter().collect() };
        let copied = self.copy_keys(what, op, copies, &mut rollback).await;
        let checked = match copied {
            Ok(()) if verify => self.check_unchanged(what, op, &versions, single_file).await,
            other => other,
        };
        if let Err(e) = checked {
            // Sources are untouched. Resuming, nothing is rolled back: what was moved
            // before has its only copy at the target.
            let state = if resume {
                format!("{from:?} is unchanged and the partial copy at {to:?} is kept: retrying the {op} completes it")
            } else if self.delete_keys(what, rollback).await.is_ok() {
                return Err(e);
            } else {
                format!(
                    "{from:?} is unchanged; a partial copy is left at {to:?} (it could not be removed): retrying the {op} completes it"
                )
            };
            return Err(e.leaving(state));
        }
        self.delete_keys(what, sources).await.map_err(|e| {
            let e = match e {
                Error::Store { path, said, source, .. } => {
                    Error::Store { op: "remove the originals after copying", path, said, source }
                }
                other => other,
            };
            e.leaving(format!(
                "everything was copied to {to:?} but {from:?} could not be removed, so it now exists at both paths: \
                 retrying the {op} finishes it"
            ))
        })?;
        self.delete_dir_key(dir_key).await;
        Ok(())
    }

    /// Create-only write of a claim at `key` (the target `to` of a rename or copy of
    /// `what`): the loser of a race gets 409. A file's claim has a recognisable body (never
    /// shown as a file); a folder's is its empty marker. Stores without conditional writes
    /// fall back to a plain write (see README).
    async fn claim(&self, what: &ApiPath, to: &ApiPath, op: &'static str, key: &Path) -> Result<()> {
        let body = match key.filename() == Some(DIR_MARKER) {
            true => PutPayload::default(),
            false => PutPayload::from_static(CLAIM_BODY),
        };
        match self.put_create(key, body.clone(), &new_token()).await {
            Ok(Created::Ours) => Ok(()),
            Ok(Created::Exists) => Err(Error::already_exists(to.as_str())),
            Ok(Created::Unsupported) => self.store.put(key, body).await.map(|_| ()).during(op, what.as_str()),
            Err(e) => Err(Error::from_store(op, what.as_str(), e).leaving(format!(
                "{:?} is unchanged; a placeholder may be left at {:?}: retrying the {op} completes it",
                what.as_str(),
                to.as_str()
            ))),
        }
    }

    /// 409 when a source was added, removed or rewritten since the transfer was planned.
    async fn check_unchanged(
        &self,
        what: &ApiPath,
        op: &'static str,
        planned: &BTreeMap<Path, String>,
        single_file: bool,
    ) -> Result<()> {
        let changed = || {
            Error::Conflict(format!(
                "{:?} was changed by someone else while trying to {op} it; nothing was changed, reload and try again",
                what.as_str()
            ))
        };
        let now: BTreeMap<Path, String> = match single_file {
            true => match self.head_object(what, op).await? {
                Some(meta) => [(meta.location.clone(), version(&meta))].into(),
                None => BTreeMap::new(),
            },
            false => {
                let dir_key = self.keys.dir_prefix(what)?;
                self.tree_objects(what)
                    .await?
                    .into_iter()
                    .filter(|o| Some(&o.location) != dir_key.as_ref())
                    .map(|o| {
                        let v = version(&o);
                        (o.location, v)
                    })
                    .collect()
            }
        };
        // Only the planned keys matter; a key that is not planned (the console `dir/`
        // key, skipped on purpose) is ignored unless it is new.
        let planned_keys: Vec<&Path> = planned.keys().collect();
        let now_keys: Vec<&Path> = now.keys().collect();
        if planned_keys != now_keys || planned.iter().any(|(k, v)| now.get(k) != Some(v)) {
            return Err(changed());
        }
        Ok(())
    }

    /// FileContentsManager refuses to copy a folder above `max_copy_folder_size_mb`.
    fn check_folder_size(&self, from: &ApiPath, objects: &[ObjectMeta]) -> Result<()> {
        let limit = self.max_copy_folder_bytes();
        let size: u64 = objects.iter().map(|o| o.size).sum();
        if limit > 0 && size > limit {
            const MB: f64 = 1024.0 * 1024.0;
            return Err(Error::BadRequest(format!(
                "Can't copy folders larger than {limit_mb}MB, {from:?} is {size_mb:.1}MB",
                limit_mb = limit as f64 / MB,
                from = from.as_str(),
                size_mb = size as f64 / MB,
            )));
        }
        Ok(())
    }

    fn check_transfer_paths(&self, from: &ApiPath, to: &ApiPath, op: &str) -> Result<()> {
        if from.is_root() || to.is_root() {
            return Err(Error::BadRequest(format!("cannot {op} the root directory")));
        }
        if to.is_within(from) {
            return Err(Error::BadRequest(format!(
                "cannot {op} {from:?} into itself ({to:?})",
                from = from.as_str(),
                to = to.as_str()
            )));
        }
        Ok(())
    }

    /// The plan for moving (`move_sources`) or copying the file `meta` to `to`.
    fn plan_file(&self, meta: ObjectMeta, to: &ApiPath, move_sources: bool) -> Result<Transfer> {
        let source = meta.location.clone();
        let target = self.keys.file_key(to)?;
        Ok(Transfer {
            copies: vec![(Some(source.clone()), target.clone())],
            sources: if move_sources { vec![source.clone()] } else { Vec::new() },
            versions: [(source, version(&meta))].into(),
            claim: Some(target.clone()),
            single_file: true,
            dir_key: None,
            verify: true,
            target: to.clone(),
            by_target: [(target, meta)].into(),
            resume: false,
        })
    }

    /// The plan for moving (`move_sources`) or copying the folder `from`, made of
    /// `objects`, to `to`.
    fn plan_tree(
        &self,
        from: &ApiPath,
        to: &ApiPath,
        objects: Vec<ObjectMeta>,
        move_sources: bool,
    ) -> Result<Transfer> {
        let from_prefix = self.keys.dir_prefix(from)?.unwrap_or_default();
        let to_prefix = self.keys.dir_prefix(to)?.unwrap_or_default();
        let to_marker = self.keys.marker_key(to)?;
        let mut transfer = Transfer {
            copies: Vec::with_capacity(objects.len()),
            sources: Vec::new(),
            versions: BTreeMap::new(),
            claim: Some(to_marker.clone()),
            single_file: false,
            dir_key: None,
            verify: true,
            target: to.clone(),
            by_target: BTreeMap::new(),
            resume: false,
        };
        for object in objects {
            let rel = object
                .location
                .prefix_match(&from_prefix)
                .map(|parts| parts.map(|p| p.as_ref().to_string()).collect::<Vec<_>>().join("/"));
            match rel.as_deref() {
                // The console-style `dir/` key: the claimed marker stands in for it at the
                // target; a move deletes it with the sources.
                Some("") | None => {
                    if move_sources {
                        transfer.dir_key = Some(object.location);
                    }
                }
                Some(rel) => {
                    let target = Path::parse(format!("{}/{rel}", to_prefix.as_ref()))
                        .map_err(|e| Error::invalid_path(to.as_str(), e))?;
                    transfer.versions.insert(object.location.clone(), version(&object));
                    if move_sources {
                        transfer.sources.push(object.location.clone());
                    }
                    // The claim already put the target's marker in place.
                    if target != to_marker {
                        transfer.by_target.insert(target.clone(), object.clone());
                        transfer.copies.push((Some(object.location), target));
                    }
                }
            }
        }
        Ok(transfer)
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

    /// Server-side copies, bounded concurrency. Every destination that may exist
    /// afterwards (confirmed, or failed in a way that does not prove it was not written,
    /// such as a lost response) is added to `made`, for the caller to roll back.
    async fn copy_keys(
        &self,
        what: &ApiPath,
        op: &'static str,
        pairs: Vec<(Option<Path>, Path)>,
        made: &mut Vec<Path>,
    ) -> Result<()> {
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
        let mut first_error = None;
        for (dst, result) in results {
            match result {
                Ok(()) => made.push(dst),
                // The source vanished: nothing was written at the destination.
                Err(e @ object_store::Error::NotFound { .. }) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    made.push(dst);
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            None => Ok(()),
            Some(object_store::Error::NotFound { .. }) => Err(Error::Conflict(format!(
                "{:?} was changed by someone else while trying to {op} it; nothing was changed, reload and try again",
                what.as_str()
            ))),
            Some(e) => Err(Error::from_store(op, what.as_str(), e)),
        }
    }

    /// Bulk delete (up to 1000 keys per request on S3); already-missing keys are fine.
    /// Retried here when its outcome is unknown (a reset or lost response: the client
    /// does not retry a POST), deleting again being harmless.
    pub(crate) async fn delete_keys(&self, what: &ApiPath, keys: Vec<Path>) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut attempt = 0;
        loop {
            match self.delete_keys_once(&keys).await {
                Ok(()) => return Ok(()),
                Err(e) if outcome_unknown(&e) && attempt < self.retries() => {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                // Look before failing: the deletes may have happened.
                Err(e) if outcome_unknown(&e) && self.all_gone(&keys).await => return Ok(()),
                Err(e) => return Err(Error::from_store("delete", what.as_str(), e)),
            }
        }
    }

    async fn delete_keys_once(&self, keys: &[Path]) -> std::result::Result<(), object_store::Error> {
        let owned: Vec<_> = keys.iter().map(|key| Ok(key.clone())).collect();
        let locations = stream::iter(owned).boxed();
        let mut deleted = self.store.delete_stream(locations);
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
