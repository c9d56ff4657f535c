//! Server-side copies of objects of any size.
//!
//! Every rename, copy, move to the trash and checkpoint is a copy, and one copy request
//! does not reach every size: S3 refuses a single CopyObject of a source above 5 GiB,
//! and GCS may not finish a large copy that rewrites data (another storage class) within
//! one request. Above a threshold, `LargeCopyStore` hands the copy to the backend's
//! `LargeCopier`:
//!
//! * S3 (`S3PartCopier`): a multipart copy. CreateMultipartUpload (with the source's
//!   content type and metadata), UploadPartCopy per byte range (`x-amz-copy-source-range`,
//!   bound to the source's ETag so a source rewritten meanwhile fails the copy instead of
//!   mixing two versions), CompleteMultipartUpload. object_store has no ranged part copy,
//!   so these are signed requests of our own, built the way `console_dirs` builds its
//!   DELETE (SigV4, the store's credentials, endpoint and addressing style). A failed
//!   multipart copy is aborted, so no upload outlives it; nor does one whose
//!   CreateMultipartUpload answer was lost (`open_uploads` finds and aborts it).
//! * GCS (`gcs_rewrite::GcsRewriter`): the JSON API's rewrite, repeated with its token
//!   until GCS says it is done.
//! * Azure (`azure_copy::AzureCopyWaiter`): Copy Blob has no size limit inside one
//!   account but may finish after it answers; the copy is waited for.
//!
//! With the default threshold (S3's own 5 GiB limit) S3 and GCS try the single copy first
//! and the large copy only follows the store's refusal: copies of ordinary files cost the
//! one COPY they always did. A lowered threshold, or Azure (which refuses no size), asks
//! the source's size first (one HEAD).

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{stream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};
use percent_encoding::utf8_percent_encode;

use crate::contents::backend::{open_uploads_check_failed, Copied, OpenUploads, ReportingCopy};
use crate::error::{Error, Result as CoreResult};
use crate::signed_s3::{generic, xml_text, SignedS3, KEY_PATH, QUERY_VALUE};

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;
/// The largest source S3 copies in one CopyObject.
pub const S3_MAX_SINGLE_COPY: u64 = 5 * GIB;
/// Default part size of a multipart copy (grown when 10 000 parts would not hold the object).
pub const DEFAULT_COPY_PART_SIZE: u64 = 512 * MIB;
/// S3's limits on multipart uploads.
pub const S3_MIN_PART_SIZE: u64 = 5 * MIB;
pub const S3_MAX_PART_SIZE: u64 = 5 * GIB;
pub const S3_MAX_PARTS: u64 = 10_000;
/// Part copies in flight at once for one object.
const PART_CONCURRENCY: usize = 8;

/// When a copy becomes a multipart copy, and the size of its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopySettings {
    /// Sources larger than this many bytes are copied in parts.
    pub threshold: u64,
    /// Bytes per part (grown when S3_MAX_PARTS parts would not hold the object).
    pub part_size: u64,
}

impl Default for CopySettings {
    fn default() -> Self {
        Self { threshold: S3_MAX_SINGLE_COPY, part_size: DEFAULT_COPY_PART_SIZE }
    }
}

impl CopySettings {
    /// Validated settings, naming the setting that is wrong.
    pub fn new(threshold: u64, part_size: u64) -> CoreResult<Self> {
        if threshold == 0 || threshold > S3_MAX_SINGLE_COPY {
            return Err(Error::Config(format!(
                "multipart_copy_threshold must be between 1 and {S3_MAX_SINGLE_COPY} bytes (S3's single-copy \
                 limit), not {threshold}"
            )));
        }
        if !(S3_MIN_PART_SIZE..=S3_MAX_PART_SIZE).contains(&part_size) {
            return Err(Error::Config(format!(
                "multipart_copy_part_size must be between {S3_MIN_PART_SIZE} and {S3_MAX_PART_SIZE} bytes \
                 (S3's part limits), not {part_size}"
            )));
        }
        Ok(Self { threshold, part_size })
    }

    /// Whether the size must be known before copying (a lowered threshold); else the
    /// single copy is tried and S3's refusal says the object is too large.
    fn asks_size_first(&self) -> bool {
        self.threshold < S3_MAX_SINGLE_COPY
    }
}

/// The byte ranges of a multipart copy of `size` bytes: parts of `part_size`, grown (in
/// whole MiB) when S3_MAX_PARTS of them would not hold the object. `None` when the
/// object is larger than S3 allows at all.
pub fn part_ranges(size: u64, part_size: u64) -> Option<Vec<Range<u64>>> {
    let needed = size.div_ceil(S3_MAX_PARTS).div_ceil(MIB) * MIB;
    let part = part_size.max(needed).max(S3_MIN_PART_SIZE);
    if part > S3_MAX_PART_SIZE {
        return None;
    }
    let mut ranges = Vec::new();
    let mut start = 0;
    while start < size {
        let end = (start + part).min(size);
        ranges.push(start..end);
        start = end;
    }
    Some(ranges)
}

/// S3's answer to a CopyObject whose source is above 5 GiB: 400 InvalidRequest, which
/// only its message tells apart from other invalid requests.
fn is_too_large_for_copy(error: &object_store::Error) -> bool {
    let answer = crate::answer::Answer::of(error);
    answer.code_is(&["InvalidRequest"]) && answer.message_has("copy source is larger than the maximum allowable size")
}

/// A backend's copy for sources above the threshold (see the module comment).
#[async_trait]
pub trait LargeCopier: fmt::Debug + Send + Sync {
    /// Copy `source` (with its `attributes`) to `to`; with `create`, only if `to` does not
    /// exist yet.
    async fn copy(
        &self,
        source: &ObjectMeta,
        attributes: &Attributes,
        to: &Path,
        settings: &CopySettings,
        create: bool,
    ) -> Result<()>;

    /// Whether `error`, the store's answer to a single copy, says the source needs this copy.
    fn refuses_single_copy(&self, error: &object_store::Error) -> bool;

    /// Whether the store refuses a single copy it cannot do (`refuses_single_copy`): then,
    /// at the default threshold, the single copy is tried first; else the size is asked.
    fn refuses_too_large(&self) -> bool;

    /// Whether `copy` can be create-only; else create-only copies stay single copies.
    fn can_create_only(&self) -> bool;
}

/// Signed S3 requests object_store cannot make: the multipart copy's.
#[derive(Debug)]
pub struct S3PartCopier {
    s3: SignedS3,
    bucket: String,
    /// Server-side encryption the store applies to its writes (SSE-S3/KMS); SSE-C
    /// copies are not supported (see README).
    encryption: Vec<(&'static str, String)>,
    janitor: Option<Arc<dyn OpenUploads>>,
}

impl S3PartCopier {
    /// For the store `builder` built on `bucket`, sending through `s3`.
    pub fn new(builder: &AmazonS3Builder, s3: SignedS3, bucket: &str) -> Self {
        // object_store does not export its encryption key enum: look the keys up by name.
        let sse = |name: &str| name.parse::<AmazonS3ConfigKey>().ok().and_then(|key| builder.get_config_value(&key));
        let mut encryption = Vec::new();
        if let Some(kind) = sse("aws_server_side_encryption") {
            if kind != "sse-c" {
                encryption.push(("x-amz-server-side-encryption", kind));
            }
        }
        if let Some(key_id) = sse("aws_sse_kms_key_id") {
            encryption.push(("x-amz-server-side-encryption-aws-kms-key-id", key_id));
        }
        if let Some(enabled) = sse("aws_sse_bucket_key_enabled") {
            encryption.push(("x-amz-server-side-encryption-bucket-key-enabled", enabled));
        }
        Self { s3, bucket: bucket.to_string(), encryption, janitor: None }
    }

    /// Aborts the upload of a multipart copy whose start failed after S3 opened it.
    pub fn with_open_uploads(mut self, janitor: Option<Arc<dyn OpenUploads>>) -> Self {
        self.janitor = janitor;
        self
    }

    fn url(&self, key: &Path, query: &str) -> String {
        self.s3.url(key, &format!("?{query}"))
    }

    /// Copy `source` (described by `meta` and `attributes`) to `to` in parts.
    pub async fn copy_in_parts(
        &self,
        source: &ObjectMeta,
        attributes: &Attributes,
        to: &Path,
        part_size: u64,
    ) -> Result<()> {
        let ranges = part_ranges(source.size, part_size)
            .ok_or_else(|| generic(format!("{} has {} bytes, more than S3 can copy", source.location, source.size)))?;
        let mut headers = self.encryption.clone();
        let mut owned: Vec<(String, String)> = Vec::new();
        for (attribute, value) in attributes {
            let name = match attribute {
                Attribute::ContentType => "content-type",
                Attribute::ContentEncoding => "content-encoding",
                Attribute::ContentDisposition => "content-disposition",
                Attribute::ContentLanguage => "content-language",
                Attribute::CacheControl => "cache-control",
                Attribute::StorageClass => "x-amz-storage-class",
                Attribute::Metadata(key) => {
                    owned.push((format!("x-amz-meta-{key}"), value.to_string()));
                    continue;
                }
                _ => continue,
            };
            headers.push((name, value.to_string()));
        }
        let mut create_headers: Vec<(&str, String)> = headers.clone();
        create_headers.extend(owned.iter().map(|(k, v)| (k.as_str(), v.clone())));
        // The uploads of `to` open before ours: a start whose answer is lost leaves one
        // more, which is then ours to abort.
        let before = match &self.janitor {
            Some(janitor) => janitor.ids(to).await.map_err(|e| open_uploads_check_failed(to, &e)).ok(),
            None => None,
        };
        let created = self.s3.send(http::Method::POST, &self.url(to, "uploads="), &create_headers, Bytes::new()).await;
        let upload_id = created.and_then(|(_, answer)| {
            let answer = String::from_utf8_lossy(&answer);
            xml_text(&answer, "UploadId")
                .map(str::to_string)
                .ok_or_else(|| generic(format!("no UploadId in the answer to CreateMultipartUpload: {answer}")))
        });
        let upload_id = match upload_id {
            Ok(id) => id,
            Err(e) => {
                if let (Some(janitor), Some(before)) = (&self.janitor, &before) {
                    if let Err(e) = janitor.abort_new(to, before).await {
                        open_uploads_check_failed(to, &e);
                    }
                }
                return Err(e);
            }
        };
        let copied = self.copy_parts(source, to, &upload_id, ranges).await;
        if copied.is_err() {
            // Free the parts copied so far: no upload outlives a failed copy.
            let url = self.url(to, &format!("uploadId={}", utf8_percent_encode(&upload_id, QUERY_VALUE)));
            if let Err(e) = self.s3.send_retried(http::Method::DELETE, &url, &[]).await {
                log::warn!(target: crate::logged::TARGET, "could not abort the multipart copy to {to}: {e}");
            }
        }
        copied
    }

    async fn copy_parts(&self, source: &ObjectMeta, to: &Path, upload_id: &str, ranges: Vec<Range<u64>>) -> Result<()> {
        let copy_source = format!("{}/{}", self.bucket, utf8_percent_encode(source.location.as_ref(), KEY_PATH));
        let upload = utf8_percent_encode(upload_id, QUERY_VALUE).to_string();
        let etags: Vec<(usize, String)> = stream::iter(ranges.into_iter().enumerate())
            .map(|(index, range)| {
                let number = index + 1;
                let mut headers = vec![
                    ("x-amz-copy-source", copy_source.clone()),
                    ("x-amz-copy-source-range", format!("bytes={}-{}", range.start, range.end - 1)),
                ];
                if let Some(etag) = &source.e_tag {
                    headers.push(("x-amz-copy-source-if-match", etag.clone()));
                }
                let url = self.url(to, &format!("partNumber={number}&uploadId={upload}"));
                async move {
                    let answer = self.s3.send_retried(http::Method::PUT, &url, &headers).await?;
                    let answer = String::from_utf8_lossy(&answer);
                    let etag = xml_text(&answer, "ETag")
                        .ok_or_else(|| generic(format!("no ETag in the answer to UploadPartCopy: {answer}")))?;
                    Ok::<_, object_store::Error>((number, etag.to_string()))
                }
            })
            .buffer_unordered(PART_CONCURRENCY)
            .try_collect()
            .await?;
        let mut etags = etags;
        etags.sort();
        let mut body = String::from("<CompleteMultipartUpload>");
        for (number, etag) in &etags {
            // The ETag goes back exactly as S3 wrote it (already XML-escaped).
            body.push_str(&format!("<Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>"));
        }
        body.push_str("</CompleteMultipartUpload>");
        let url = self.url(to, &format!("uploadId={upload}"));
        self.s3
            .send(http::Method::POST, &url, &[("content-type", "application/xml".into())], Bytes::from(body))
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl LargeCopier for S3PartCopier {
    async fn copy(
        &self,
        source: &ObjectMeta,
        attributes: &Attributes,
        to: &Path,
        settings: &CopySettings,
        _create: bool,
    ) -> Result<()> {
        self.copy_in_parts(source, attributes, to, settings.part_size).await
    }

    fn refuses_single_copy(&self, error: &object_store::Error) -> bool {
        is_too_large_for_copy(error)
    }

    fn refuses_too_large(&self) -> bool {
        true
    }

    fn can_create_only(&self) -> bool {
        false // CompleteMultipartUpload has no create-only form everywhere S3 is spoken
    }
}

#[async_trait]
impl ReportingCopy for S3PartCopier {
    async fn copy_reporting(&self, from: &Path, to: &Path) -> Result<Option<Copied>> {
        let copy_source = format!("{}/{}", self.bucket, utf8_percent_encode(from.as_ref(), KEY_PATH));
        let mut headers = self.encryption.clone();
        headers.push(("x-amz-copy-source", copy_source));
        // CopyObject is safe to repeat: the same source makes the same copy.
        let answer = self.s3.send_retried(http::Method::PUT, &self.s3.url(to, ""), &headers).await?;
        Ok(copy_result(&String::from_utf8_lossy(&answer)))
    }

    fn is_too_large(&self, error: &object_store::Error) -> bool {
        is_too_large_for_copy(error)
    }
}

/// The copy's time and ETag from a CopyObjectResult (the ETag's quotes may come escaped).
fn copy_result(xml: &str) -> Option<Copied> {
    let last_modified = chrono::DateTime::parse_from_rfc3339(xml_text(xml, "LastModified")?.trim()).ok()?;
    let e_tag = xml_text(xml, "ETag").map(|t| t.trim().replace("&quot;", "\"").replace("&#34;", "\""));
    Some(Copied { last_modified: last_modified.with_timezone(&chrono::Utc), e_tag })
}

/// A store whose copies work for every size the backend allows (see the module comment).
#[derive(Debug)]
pub struct LargeCopyStore {
    inner: Arc<dyn ObjectStore>,
    copier: Arc<dyn LargeCopier>,
    settings: CopySettings,
}

impl LargeCopyStore {
    pub fn new(inner: Arc<dyn ObjectStore>, copier: Arc<dyn LargeCopier>, settings: CopySettings) -> Self {
        Self { inner, copier, settings }
    }

    async fn copy_large(&self, to: &Path, head: GetResult, create: bool) -> Result<()> {
        self.copier.copy(&head.meta, &head.attributes, to, &self.settings, create).await
    }

    async fn head(&self, location: &Path) -> Result<GetResult> {
        self.inner.get_opts(location, GetOptions { head: true, ..Default::default() }).await
    }
}

impl fmt::Display for LargeCopyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

#[async_trait]
impl ObjectStore for LargeCopyStore {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(&self, prefix: Option<&Path>, offset: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let create = options.mode == CopyMode::Create;
        if create && !self.copier.can_create_only() {
            return self.inner.copy_opts(from, to, options).await;
        }
        if self.settings.asks_size_first() || !self.copier.refuses_too_large() {
            let head = self.head(from).await?;
            if head.meta.size > self.settings.threshold {
                return self.copy_large(to, head, create).await;
            }
            return self.inner.copy_opts(from, to, options).await;
        }
        match self.inner.copy_opts(from, to, options).await {
            Err(e) if self.copier.refuses_single_copy(&e) => {
                let head = self.head(from).await?;
                self.copy_large(to, head, create).await
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_results_give_the_time_and_the_quoted_etag() {
        let aws = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
            <LastModified>2026-12-06T01:02:03.456Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></CopyObjectResult>";
        let copied = copy_result(aws).unwrap();
        assert_eq!(copied.last_modified.to_rfc3339(), "2026-12-06T01:02:03.456+00:00");
        assert_eq!(copied.e_tag.as_deref(), Some("\"9b2cf535f27731c974343645a3985328\""));
        let plain = "<CopyObjectResult><ETag>\"abc\"</ETag><LastModified>2026-12-06T01:02:03Z</LastModified></CopyObjectResult>";
        assert_eq!(copy_result(plain).unwrap().e_tag.as_deref(), Some("\"abc\""));
        assert_eq!(copy_result("<CopyObjectResult><ETag>x</ETag></CopyObjectResult>"), None);
    }

    #[test]
    fn parts_cover_the_object_exactly_within_s3_limits() {
        let ranges = part_ranges(12 * MIB + 5, 5 * MIB).unwrap();
        assert_eq!(ranges, vec![0..5 * MIB, 5 * MIB..10 * MIB, 10 * MIB..12 * MIB + 5]);
        // 5 TiB, S3's largest object, with the default part size: grown to fit 10 000 parts.
        let size = 5 * 1024 * GIB;
        let ranges = part_ranges(size, DEFAULT_COPY_PART_SIZE).unwrap();
        assert!(ranges.len() as u64 <= S3_MAX_PARTS, "{}", ranges.len());
        assert_eq!(ranges.last().unwrap().end, size);
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
        assert!(ranges.iter().all(|r| r.end - r.start <= S3_MAX_PART_SIZE));
        // 6 GiB with tiny parts still fits 10 000 parts of at least 5 MiB.
        let ranges = part_ranges(6 * GIB, S3_MIN_PART_SIZE).unwrap();
        assert!(ranges.len() as u64 <= S3_MAX_PARTS);
        assert!(ranges[0].end >= S3_MIN_PART_SIZE);
        assert!(part_ranges(S3_MAX_PARTS * S3_MAX_PART_SIZE + 1, DEFAULT_COPY_PART_SIZE).is_none());
        assert_eq!(part_ranges(0, S3_MIN_PART_SIZE).unwrap(), Vec::<Range<u64>>::new());
    }

    /// AWS's answer, as object_store reports it: no local server refuses a 5 GiB copy.
    #[test]
    fn s3_refusal_of_a_large_copy_is_recognised() {
        let refusal = generic(
            "Server returned non-2xx status code: 400 Bad Request: <Error><Code>InvalidRequest</Code><Message>The \
             specified copy source is larger than the maximum allowable size for a copy source: 5368709120\
             </Message></Error>"
                .into(),
        );
        assert!(is_too_large_for_copy(&refusal));
        assert!(!is_too_large_for_copy(&generic("status code: 400 Bad Request: other".into())));
    }

    #[test]
    fn settings_are_checked() {
        assert!(CopySettings::new(0, S3_MIN_PART_SIZE).is_err());
        assert!(CopySettings::new(S3_MAX_SINGLE_COPY + 1, S3_MIN_PART_SIZE).is_err());
        assert!(CopySettings::new(MIB, MIB).is_err());
        assert!(CopySettings::new(MIB, S3_MIN_PART_SIZE).unwrap().asks_size_first());
        assert!(!CopySettings::default().asks_size_first());
    }

    #[test]
    fn xml_answers_are_read() {
        let answer = "<InitiateMultipartUploadResult><Bucket>b</Bucket><UploadId>abc+/=</UploadId>";
        assert_eq!(xml_text(answer, "UploadId"), Some("abc+/="));
        assert_eq!(xml_text(answer, "ETag"), None);
        assert!(crate::signed_s3::is_transient(&generic(
            "Server returned non-2xx status code: 503 Service Unavailable".into()
        )));
        assert!(!crate::signed_s3::is_transient(&generic("Server returned non-2xx status code: 403 Forbidden".into())));
    }
}
