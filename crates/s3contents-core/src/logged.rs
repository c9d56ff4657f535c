//! A store wrapper that logs every request at debug level with its timing.
//!
//! Records go through the `log` facade under the target `s3contents_rs::store`; the
//! extension routes them to Python's `logging` (pyo3-log), where the Jupyter server shows
//! them with `--log-level=DEBUG`. Only the method, key, outcome and time are logged:
//! never options, credentials or error bodies.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use crate::metrics::StoreMetrics;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, Result, UploadPart,
};

/// Python sees it as the logger `s3contents_rs.store`.
pub const TARGET: &str = "s3contents_rs::store";

fn enabled() -> bool {
    log::log_enabled!(target: TARGET, log::Level::Debug)
}

fn outcome<T>(result: &Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(object_store::Error::NotFound { .. }) => "not found",
        Err(object_store::Error::AlreadyExists { .. }) => "already exists",
        Err(object_store::Error::Precondition { .. }) => "precondition failed",
        Err(object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }) => "denied",
        Err(_) => "error",
    }
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

pub(crate) fn log_request<T>(what: fmt::Arguments<'_>, start: Instant, result: &Result<T>) {
    log::debug!(target: TARGET, "{what} -> {} in {:.1} ms", outcome(result), ms(start));
}

#[derive(Debug)]
pub struct LoggedStore {
    inner: Arc<dyn ObjectStore>,
    metrics: Option<Arc<StoreMetrics>>,
}

impl LoggedStore {
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self { inner, metrics: None }
    }

    /// Counts the multipart uploads it holds open in `metrics` (the HTTP requests
    /// themselves are counted by the store's client, `metrics::MeteredConnector`).
    pub fn with_metrics(mut self, metrics: Arc<StoreMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }
}

impl fmt::Display for LoggedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

/// Logs a streamed listing or bulk delete once it is finished (or dropped).
struct StreamLog {
    what: String,
    start: Instant,
    items: usize,
    failed: bool,
}

impl Drop for StreamLog {
    fn drop(&mut self) {
        let outcome = if self.failed { "error" } else { "ok" };
        log::debug!(target: TARGET, "{} -> {outcome}, {} keys in {:.1} ms", self.what, self.items, ms(self.start));
    }
}

fn logged_stream<T: Send + 'static>(
    what: String,
    stream: BoxStream<'static, Result<T>>,
) -> BoxStream<'static, Result<T>> {
    if !enabled() {
        return stream;
    }
    let mut guard = StreamLog { what, start: Instant::now(), items: 0, failed: false };
    stream
        .inspect(move |item| {
            let guard = &mut guard; // capture the whole guard, so it logs when the stream drops
            match item {
                Ok(_) => guard.items += 1,
                Err(_) => guard.failed = true,
            }
        })
        .boxed()
}

#[async_trait]
impl ObjectStore for LoggedStore {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        let (start, size) = (Instant::now(), payload.content_length());
        let result = self.inner.put_opts(location, payload, opts).await;
        log_request(format_args!("PUT {location} ({size} bytes)"), start, &result);
        result
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        let start = Instant::now();
        let result = self.inner.put_multipart_opts(location, opts).await;
        log_request(format_args!("MULTIPART START {location}"), start, &result);
        let inner = result?;
        let open = OpenUpload::new(self.metrics.clone());
        Ok(Box::new(LoggedUpload { inner, location: location.clone(), parts: 0, open }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let (start, method) = (Instant::now(), if options.head { "HEAD" } else { "GET" });
        let result = self.inner.get_opts(location, options).await;
        match &result {
            Ok(found) if !found.range.is_empty() => log_request(
                format_args!("{method} {location} ({} bytes)", found.range.end - found.range.start),
                start,
                &result,
            ),
            _ => log_request(format_args!("{method} {location}"), start, &result),
        }
        result
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let start = Instant::now();
        let result = self.inner.get_ranges(location, ranges).await;
        log_request(format_args!("GET {location} ({} ranges)", ranges.len()), start, &result);
        result
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        logged_stream("DELETE".to_string(), self.inner.delete_stream(locations))
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let what = format!("LIST {} (recursive)", prefix.map(|p| p.as_ref()).unwrap_or(""));
        logged_stream(what, self.inner.list(prefix))
    }

    fn list_with_offset(&self, prefix: Option<&Path>, offset: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        let what = format!("LIST {} (recursive, after {offset})", prefix.map(|p| p.as_ref()).unwrap_or(""));
        logged_stream(what, self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let start = Instant::now();
        let result = self.inner.list_with_delimiter(prefix).await;
        let shown = prefix.map(|p| p.as_ref()).unwrap_or("");
        match &result {
            Ok(listing) => log_request(
                format_args!(
                    "LIST {shown}/ ({} files, {} folders)",
                    listing.objects.len(),
                    listing.common_prefixes.len()
                ),
                start,
                &result,
            ),
            Err(_) => log_request(format_args!("LIST {shown}/"), start, &result),
        }
        result
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let start = Instant::now();
        let result = self.inner.copy_opts(from, to, options).await;
        log_request(format_args!("COPY {from} -> {to}"), start, &result);
        result
    }
}

/// One multipart upload in the `open_multipart_uploads` gauge until it completes, is
/// aborted, or is dropped.
#[derive(Debug)]
struct OpenUpload(Option<Arc<StoreMetrics>>);

impl OpenUpload {
    fn new(metrics: Option<Arc<StoreMetrics>>) -> Self {
        if let Some(m) = &metrics {
            m.multipart_opened(1);
        }
        Self(metrics)
    }

    fn close(&mut self) {
        if let Some(m) = self.0.take() {
            m.multipart_opened(-1);
        }
    }
}

impl Drop for OpenUpload {
    fn drop(&mut self) {
        self.close();
    }
}

#[derive(Debug)]
struct LoggedUpload {
    inner: Box<dyn MultipartUpload>,
    location: Path,
    parts: usize,
    open: OpenUpload,
}

#[async_trait]
impl MultipartUpload for LoggedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts += 1;
        let (start, size, number, location) =
            (Instant::now(), data.content_length(), self.parts, self.location.clone());
        self.inner
            .put_part(data)
            .map(move |result| {
                log_request(format_args!("PART {number} of {location} ({size} bytes)"), start, &result);
                result
            })
            .boxed()
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let start = Instant::now();
        let result = self.inner.complete().await;
        if result.is_ok() {
            self.open.close();
        }
        log_request(format_args!("MULTIPART COMPLETE {} ({} parts)", self.location, self.parts), start, &result);
        result
    }

    async fn abort(&mut self) -> Result<()> {
        let start = Instant::now();
        let result = self.inner.abort().await;
        self.open.close();
        log_request(format_args!("MULTIPART ABORT {}", self.location), start, &result);
        result
    }
}
