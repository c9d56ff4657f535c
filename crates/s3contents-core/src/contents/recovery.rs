//! What makes a failed operation safe to simply retry.
//!
//! * Create-only writes carry a random token in their metadata: when the response of
//!   one is lost (or a retry of it answers "already exists"), the object there is checked
//!   for the token instead of failing: it is ours, the write happened.
//! * A file claim (the placeholder a rename or copy writes at its target first) has a
//!   fixed body: listings (S3/GCS: by size and ETag) and gets (by its token) never show
//!   it as a file.
//! * Operations that fail after they may have written at their target are noted in a
//!   journal (this process's memory). Retrying the same operation finds the note and
//!   resumes: what it left at the target is recognised as its own (each object there is
//!   a claim, or equal to its source) instead of being reported as a conflict.
//! * Bulk deletes and conditional writes, which the HTTP client does not retry on a reset
//!   or timeout (their requests are not idempotent), are retried here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use object_store::path::Path;
use object_store::{Attribute, GetOptions, ObjectMeta, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::Contents;

/// The body of a file claim: recognisable, and saying what it is to anyone who reads it.
pub(crate) const CLAIM_BODY: &[u8] =
    b"s3contents-rs placeholder: a rename or copy to this name is in progress or was interrupted; retrying it completes it\n";
/// MD5 of `CLAIM_BODY`: the ETag S3 and GCS give it.
const CLAIM_MD5: &str = "55399940ee2e255eeca472bb9245cf14";
/// Metadata key of the token a create-only write carries (x-amz-meta-..., x-goog-meta-...,
/// x-ms-meta-...). Letters and digits only: Azure wants a C# identifier (no '-'), and
/// some proxies drop headers with '_'.
pub(crate) const TOKEN_KEY: &str = "s3contentsrstoken";

/// How many interrupted operations the journal remembers (oldest forgotten first).
const JOURNAL_SIZE: usize = 1024;

pub(crate) fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A listing entry that is a file claim (S3/GCS: the ETag is the body's MD5).
pub(crate) fn is_listed_claim(meta: &ObjectMeta) -> bool {
    meta.size == CLAIM_BODY.len() as u64
        && meta.e_tag.as_deref().is_some_and(|e| e.trim_matches('"').eq_ignore_ascii_case(CLAIM_MD5))
}

/// ETags that are the MD5 of the content (S3 and GCS single-part objects): a copy has the
/// same one as its source. Others (Azure) differ per write and cannot be compared.
fn content_etag(etag: &str) -> bool {
    let etag = etag.trim_matches('"');
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `target` holds the same bytes as `source` as far as listings tell: same size,
/// and the same ETag where ETags are content hashes.
pub(crate) fn same_object(source: &ObjectMeta, target: &ObjectMeta) -> bool {
    if source.size != target.size {
        return false;
    }
    match (&source.e_tag, &target.e_tag) {
        (Some(a), Some(b)) if content_etag(a) && content_etag(b) => a == b,
        _ => true,
    }
}

/// Errors after which the request may or may not have been carried out, and which a
/// new attempt may get past (resets, timeouts, lost responses, 5xx).
pub(crate) fn outcome_unknown(error: &object_store::Error) -> bool {
    use object_store::Error as E;
    match error {
        E::NotFound { .. }
        | E::AlreadyExists { .. }
        | E::Precondition { .. }
        | E::NotModified { .. }
        | E::PermissionDenied { .. }
        | E::Unauthenticated { .. }
        | E::NotImplemented { .. }
        | E::NotSupported { .. }
        | E::InvalidPath { .. } => false,
        other => crate::error::is_unavailable(other),
    }
}

pub(crate) fn backoff(attempt: usize) -> Duration {
    Duration::from_millis(100u64 << attempt.min(5)).min(Duration::from_secs(2))
}

/// What a create-only write found.
pub(crate) enum Created {
    /// The object is there and this call wrote it.
    Ours,
    /// Something else is there.
    Exists,
    /// The store cannot write create-only (see README).
    Unsupported,
}

/// Operations that failed after they may have written at their target, by
/// (operation, source key, target key).
#[derive(Debug, Default)]
pub struct Journal {
    entries: Mutex<HashMap<(&'static str, String, String), u64>>,
    next: std::sync::atomic::AtomicU64,
}

impl Journal {
    pub(crate) fn note(&self, op: &'static str, from: &Path, to: &Path) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= JOURNAL_SIZE {
            if let Some(oldest) = entries.iter().min_by_key(|(_, n)| **n).map(|(k, _)| k.clone()) {
                entries.remove(&oldest);
            }
        }
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        entries.insert((op, from.to_string(), to.to_string()), n);
    }

    pub(crate) fn has(&self, op: &'static str, from: &Path, to: &Path) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.contains_key(&(op, from.to_string(), to.to_string()))
    }

    pub(crate) fn forget(&self, op: &'static str, from: &Path, to: &Path) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&(op, from.to_string(), to.to_string()));
    }
}

impl Contents {
    /// Create-only write of `payload` at `key`, carrying `token`. Retried here on errors
    /// that leave the outcome unknown (the HTTP client does not retry it: not idempotent);
    /// a conflict, or a last failure, is resolved by looking for the token at `key`.
    pub(crate) async fn put_create(
        &self,
        key: &Path,
        payload: PutPayload,
        token: &str,
    ) -> std::result::Result<Created, object_store::Error> {
        let mut with_token = true;
        let mut attempt = 0;
        loop {
            let mut options = PutOptions::from(PutMode::Create);
            if with_token {
                options.attributes.insert(Attribute::Metadata(TOKEN_KEY.into()), token.to_string().into());
            }
            match self.store.put_opts(key, payload.clone(), options).await {
                Ok(_) => return Ok(Created::Ours),
                Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                    // An earlier attempt (ours, or the client's own retry of a 5xx) may
                    // have written it before its response was lost.
                    if with_token && self.carries_token(key, token).await.unwrap_or(false) {
                        return Ok(Created::Ours);
                    }
                    return Ok(Created::Exists);
                }
                // Stores that keep no metadata (local files): write without the token.
                Err(object_store::Error::NotImplemented { .. }) if with_token => with_token = false,
                Err(object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. }) => {
                    return Ok(Created::Unsupported)
                }
                Err(e) if outcome_unknown(&e) => {
                    if attempt >= self.retries() {
                        // Look before failing: the write may have landed.
                        if with_token && self.carries_token(key, token).await.unwrap_or(false) {
                            return Ok(Created::Ours);
                        }
                        return Err(e);
                    }
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether the object at `key` carries `token` (one HEAD).
    async fn carries_token(&self, key: &Path, token: &str) -> std::result::Result<bool, object_store::Error> {
        match self.store.get_opts(key, GetOptions { head: true, ..Default::default() }).await {
            Ok(found) => Ok(found
                .attributes
                .get(&Attribute::Metadata(TOKEN_KEY.into()))
                .is_some_and(|value| value.as_ref() == token)),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Delete `key`; when the outcome is unknown (a lost response), look: gone is done.
    pub(crate) async fn delete_resolved(&self, key: &Path) -> std::result::Result<(), object_store::Error> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) if outcome_unknown(&e) && self.all_gone(std::slice::from_ref(key)).await => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether none of `keys` exists (one HEAD each): how a bulk delete whose response
    /// was lost is known to have happened.
    pub(crate) async fn all_gone(&self, keys: &[Path]) -> bool {
        use futures::StreamExt;
        let store = self.store.clone();
        let found: Vec<bool> = futures::stream::iter(keys.to_vec())
            .map(move |key| {
                let store = store.clone();
                async move { matches!(store.head(&key).await, Err(object_store::Error::NotFound { .. })) }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        found.into_iter().all(|gone| gone)
    }
}
