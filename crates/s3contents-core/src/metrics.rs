//! Counters of the store's HTTP requests, for the Prometheus metrics of the server.
//!
//! Every HTTP request a store sends goes through one `HttpClient` made by
//! [`MeteredConnector`]: object_store's own requests (the builders' `with_http_connector`)
//! and the raw ones the core signs itself (`signed_s3`, `gcs_rewrite`, `azure_copy`).
//! Each attempt is counted once, as a proxy in front of the store would see it: by
//! operation (from the method, query and copy headers) and outcome (from the status, or
//! the transport error), with its latency (until the answer's headers) and the bytes of
//! its body each way. All counters are atomics; `snapshot` reads them for the exporter.
//!
//! object_store retries inside its client and tells nobody (its `RetryConfig` has no
//! hook, its retry loop only logs through `tracing`). A retry is counted here when a
//! request repeats the method and URL of a request of the same store that failed in a
//! transient way (5xx, 429, timeout, no answer) less than [`RETRY_WINDOW`] before: that
//! is exactly what object_store's retry loop and our own (`signed_s3::retried`) send.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use http_body::{Body, Frame, SizeHint};
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpResponseBody, HttpService,
    ReqwestConnector,
};
use object_store::ClientOptions;

/// The operations requests are counted by (label `operation`).
pub const OPERATIONS: [&str; 12] = [
    "LIST",
    "GET",
    "HEAD",
    "PUT",
    "COPY",
    "DELETE",
    "MULTIPART_CREATE",
    "MULTIPART_PART",
    "MULTIPART_COMPLETE",
    "MULTIPART_ABORT",
    "CREDENTIALS",
    "OTHER",
];

/// The outcomes requests are counted by (label `outcome`).
pub const OUTCOMES: [&str; 10] = [
    "ok",
    "not_found",
    "denied",
    "precondition",
    "already_exists",
    "other_4xx",
    "throttled",
    "5xx",
    "timeout",
    "error",
];

/// Upper bounds (seconds) of the latency histogram's buckets; one more bucket is +Inf.
pub const LATENCY_BUCKETS: [f64; 14] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// How long after a transient failure the same request counts as its retry.
pub const RETRY_WINDOW: Duration = Duration::from_secs(300);

const OPS: usize = OPERATIONS.len();
const OUTS: usize = OUTCOMES.len();
const BUCKETS: usize = LATENCY_BUCKETS.len() + 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    List = 0,
    Get,
    Head,
    Put,
    Copy,
    Delete,
    MultipartCreate,
    MultipartPart,
    MultipartComplete,
    MultipartAbort,
    Credentials,
    Other,
}

impl Operation {
    pub fn name(self) -> &'static str {
        OPERATIONS[self as usize]
    }
}

/// The outcome of one HTTP request by its status.
pub fn outcome_of_status(status: u16) -> &'static str {
    match status {
        100..=399 => "ok",
        404 => "not_found",
        401 | 403 => "denied",
        412 => "precondition",
        409 => "already_exists",
        429 | 503 => "throttled",
        400..=499 => "other_4xx",
        _ => "5xx",
    }
}

fn outcome_index(name: &str) -> usize {
    OUTCOMES.iter().position(|o| *o == name).unwrap_or(OUTS - 1)
}

fn is_transient(outcome: &str) -> bool {
    matches!(outcome, "throttled" | "5xx" | "timeout" | "error")
}

/// Where credentials come from rather than where objects are: instance metadata, STS,
/// the OAuth endpoints of Google and Microsoft.
fn is_credential_request(uri: &Uri) -> bool {
    let host = uri.host().unwrap_or_default();
    let query = uri.query().unwrap_or_default();
    matches!(
        host,
        "169.254.169.254"
            | "169.254.170.2"
            | "[fd00:ec2::254]"
            | "metadata.google.internal"
            | "oauth2.googleapis.com"
            | "login.microsoftonline.com"
    ) || host.starts_with("sts.")
        || query.contains("Action=AssumeRole")
        || uri.path().ends_with("/oauth2/token")
        || uri.path().ends_with("/oauth2/v2.0/token")
}

/// The operation of an HTTP request to S3 (or GCS's XML API), GCS's JSON rewrite, or
/// Azure Blob.
pub fn classify(method: &Method, uri: &Uri, headers: &HeaderMap) -> Operation {
    if is_credential_request(uri) {
        return Operation::Credentials;
    }
    let query = uri.query().unwrap_or_default();
    let has =
        |name: &str| query.split('&').any(|p| p == name || p.strip_prefix(name).is_some_and(|r| r.starts_with('=')));
    let param = |name: &str, value: &str| query.split('&').any(|p| p.strip_prefix(name) == Some(value));
    let copy_source =
        ["x-amz-copy-source", "x-goog-copy-source", "x-ms-copy-source"].iter().any(|h| headers.contains_key(*h));
    match *method {
        Method::HEAD => Operation::Head,
        Method::GET if has("list-type") || has("delimiter") || has("uploads") || param("comp", "=list") => {
            Operation::List
        }
        Method::GET => Operation::Get,
        Method::PUT if has("partNumber") || param("comp", "=block") => Operation::MultipartPart,
        Method::PUT if param("comp", "=blocklist") => Operation::MultipartComplete,
        Method::PUT if copy_source || param("comp", "=copy") => Operation::Copy,
        Method::PUT => Operation::Put,
        Method::POST if has("uploads") => Operation::MultipartCreate,
        Method::POST if has("uploadId") => Operation::MultipartComplete,
        Method::POST if has("delete") || param("comp", "=batch") => Operation::Delete,
        Method::POST if uri.path().contains("/rewriteTo/") => Operation::Copy,
        Method::DELETE if has("uploadId") => Operation::MultipartAbort,
        Method::DELETE => Operation::Delete,
        _ => Operation::Other,
    }
}

/// The counters of one store (one `store` label).
#[derive(Debug, Default)]
pub struct StoreMetrics {
    requests: [[AtomicU64; OUTS]; OPS],
    retries: [AtomicU64; OPS],
    latency: [[AtomicU64; BUCKETS]; OPS],
    latency_micros: [AtomicU64; OPS],
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    open_multipart: AtomicI64,
    /// Requests (hash of method and URL) that failed transiently, for retries; only
    /// touched after a failure (`failed_count` keeps the usual path lock-free).
    failed: Mutex<HashMap<u64, (Instant, u32)>>,
    failed_count: AtomicUsize,
}

/// What `snapshot` reads: non-zero counts only.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// (operation, outcome, count)
    pub requests: Vec<(&'static str, &'static str, u64)>,
    /// (operation, count)
    pub retries: Vec<(&'static str, u64)>,
    /// (operation, cumulative counts per bucket of `LATENCY_BUCKETS` then +Inf, sum in seconds)
    pub latency: Vec<(&'static str, Vec<u64>, f64)>,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub open_multipart_uploads: i64,
}

fn request_hash(method: &Method, uri: &Uri) -> u64 {
    let mut hasher = DefaultHasher::new();
    method.hash(&mut hasher);
    uri.hash(&mut hasher);
    hasher.finish()
}

impl StoreMetrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A connector whose clients count their requests here.
    pub fn connector(self: &Arc<Self>) -> MeteredConnector {
        MeteredConnector { metrics: self.clone() }
    }

    /// One HTTP request (attempt) finished with `outcome` after `elapsed`.
    pub fn record(&self, operation: Operation, outcome: &str, elapsed: Duration) {
        let op = operation as usize;
        self.requests[op][outcome_index(outcome)].fetch_add(1, Relaxed);
        let seconds = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS.iter().position(|le| seconds <= *le).unwrap_or(BUCKETS - 1);
        self.latency[op][bucket].fetch_add(1, Relaxed);
        self.latency_micros[op].fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    /// Counts a retry when this request repeats one that failed transiently.
    fn note_attempt(&self, operation: Operation, key: u64) {
        if self.failed_count.load(Relaxed) == 0 {
            return;
        }
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        let Some((when, times)) = failed.get_mut(&key) else { return };
        if when.elapsed() <= RETRY_WINDOW {
            self.retries[operation as usize].fetch_add(1, Relaxed);
        }
        *times -= 1;
        if *times == 0 || when.elapsed() > RETRY_WINDOW {
            failed.remove(&key);
        }
        self.failed_count.store(failed.len(), Relaxed);
    }

    fn note_failure(&self, key: u64) {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        if failed.len() >= 1024 {
            failed.retain(|_, (when, _)| when.elapsed() <= RETRY_WINDOW);
        }
        let entry = failed.entry(key).or_insert((Instant::now(), 0));
        *entry = (Instant::now(), entry.1 + 1);
        self.failed_count.store(failed.len(), Relaxed);
    }

    pub fn add_bytes_read(&self, n: u64) {
        self.bytes_read.fetch_add(n, Relaxed);
    }

    pub fn add_bytes_written(&self, n: u64) {
        self.bytes_written.fetch_add(n, Relaxed);
    }

    /// A multipart upload opened (+1) or finished, aborted or dropped (-1).
    pub fn multipart_opened(&self, delta: i64) {
        self.open_multipart.fetch_add(delta, Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot {
            bytes_read: self.bytes_read.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            open_multipart_uploads: self.open_multipart.load(Relaxed),
            ..Snapshot::default()
        };
        for (op, name) in OPERATIONS.iter().enumerate() {
            for (out, outcome) in OUTCOMES.iter().enumerate() {
                let n = self.requests[op][out].load(Relaxed);
                if n > 0 {
                    snapshot.requests.push((name, outcome, n));
                }
            }
            let retries = self.retries[op].load(Relaxed);
            if retries > 0 {
                snapshot.retries.push((name, retries));
            }
            let mut total = 0;
            let cumulative: Vec<u64> = self.latency[op]
                .iter()
                .map(|b| {
                    total += b.load(Relaxed);
                    total
                })
                .collect();
            if total > 0 {
                let sum = self.latency_micros[op].load(Relaxed) as f64 / 1e6;
                snapshot.latency.push((name, cumulative, sum));
            }
        }
        snapshot
    }
}

/// The counters of every store this process built, by `store` label: stores with the
/// same label (the same place) share one set, so counts survive a manager's rebuild.
type Registry = Mutex<Vec<(String, Arc<StoreMetrics>)>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// The counters of the store labelled `label` (created on first use).
pub fn for_store(label: &str) -> Arc<StoreMetrics> {
    let mut stores = registry().lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, metrics)) = stores.iter().find(|(l, _)| l == label) {
        return metrics.clone();
    }
    let metrics = StoreMetrics::new();
    stores.push((label.to_string(), metrics.clone()));
    metrics
}

/// A snapshot of every registered store, with its label.
pub fn snapshot_all() -> Vec<(String, Snapshot)> {
    let stores: Vec<_> = registry().lock().unwrap_or_else(|e| e.into_inner()).clone();
    stores.into_iter().map(|(label, metrics)| (label, metrics.snapshot())).collect()
}

/// object_store's reqwest connector, its clients counting into one `StoreMetrics`.
#[derive(Debug, Clone)]
pub struct MeteredConnector {
    metrics: Arc<StoreMetrics>,
}

impl HttpConnector for MeteredConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(MeteredService { inner, metrics: self.metrics.clone() }))
    }
}

#[derive(Debug)]
struct MeteredService {
    inner: HttpClient,
    metrics: Arc<StoreMetrics>,
}

#[async_trait]
impl HttpService for MeteredService {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let operation = classify(request.method(), request.uri(), request.headers());
        let key = request_hash(request.method(), request.uri());
        self.metrics.note_attempt(operation, key);
        self.metrics.add_bytes_written(request.body().content_length() as u64);
        let start = Instant::now();
        let result = self.inner.execute(request).await;
        let outcome = match &result {
            Ok(response) => outcome_of_status(response.status().as_u16()),
            Err(e) if e.kind() == HttpErrorKind::Timeout => "timeout",
            Err(_) => "error",
        };
        self.metrics.record(operation, outcome, start.elapsed());
        if is_transient(outcome) {
            self.metrics.note_failure(key);
        }
        let response = result?;
        let (parts, body) = response.into_parts();
        let body = HttpResponseBody::new(CountedBody { inner: body, metrics: self.metrics.clone() });
        Ok(HttpResponse::from_parts(parts, body))
    }
}

/// A response body that adds its bytes to `bytes_read` as they arrive.
#[derive(Debug)]
struct CountedBody {
    inner: HttpResponseBody,
    metrics: Arc<StoreMetrics>,
}

impl Body for CountedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.metrics.add_bytes_read(data.len() as u64);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: Method, url: &str, headers: &[&str]) -> &'static str {
        let mut map = HeaderMap::new();
        for h in headers {
            map.insert(http::HeaderName::from_bytes(h.as_bytes()).unwrap(), "x".parse().unwrap());
        }
        classify(&method, &url.parse().unwrap(), &map).name()
    }

    #[test]
    fn s3_requests_are_classified() {
        let b = "http://127.0.0.1:5000/bucket";
        assert_eq!(op(Method::GET, &format!("{b}?list-type=2&prefix=a%2F&delimiter=%2F"), &[]), "LIST");
        assert_eq!(op(Method::GET, &format!("{b}?uploads=&prefix=a"), &[]), "LIST");
        assert_eq!(op(Method::GET, &format!("{b}/a/b.ipynb"), &[]), "GET");
        assert_eq!(op(Method::HEAD, &format!("{b}/a/b.ipynb"), &[]), "HEAD");
        assert_eq!(op(Method::PUT, &format!("{b}/a/b.ipynb"), &[]), "PUT");
        assert_eq!(op(Method::PUT, &format!("{b}/a/c.ipynb"), &["x-amz-copy-source"]), "COPY");
        assert_eq!(op(Method::POST, &format!("{b}/a/big?uploads"), &[]), "MULTIPART_CREATE");
        assert_eq!(op(Method::PUT, &format!("{b}/a/big?partNumber=1&uploadId=x"), &[]), "MULTIPART_PART");
        assert_eq!(
            op(Method::PUT, &format!("{b}/a/big?partNumber=2&uploadId=x"), &["x-amz-copy-source"]),
            "MULTIPART_PART"
        );
        assert_eq!(op(Method::POST, &format!("{b}/a/big?uploadId=x"), &[]), "MULTIPART_COMPLETE");
        assert_eq!(op(Method::DELETE, &format!("{b}/a/big?uploadId=x"), &[]), "MULTIPART_ABORT");
        assert_eq!(op(Method::DELETE, &format!("{b}/a/b.ipynb"), &[]), "DELETE");
        assert_eq!(op(Method::POST, &format!("{b}?delete"), &[]), "DELETE");
        assert_eq!(op(Method::PUT, "http://169.254.169.254/latest/api/token", &[]), "CREDENTIALS");
        assert_eq!(op(Method::POST, "https://sts.amazonaws.com/?Action=AssumeRoleWithWebIdentity", &[]), "CREDENTIALS");
    }

    #[test]
    fn gcs_and_azure_requests_are_classified() {
        let g = "http://127.0.0.1:4443/storage/v1/b/bucket/o/a/rewriteTo/b/bucket/o/b";
        assert_eq!(op(Method::POST, g, &[]), "COPY");
        let a = "http://127.0.0.1:10000/devstoreaccount1/container";
        assert_eq!(op(Method::GET, &format!("{a}?restype=container&comp=list&prefix=x"), &[]), "LIST");
        assert_eq!(op(Method::PUT, &format!("{a}/x?comp=block&blockid=AA"), &[]), "MULTIPART_PART");
        assert_eq!(op(Method::PUT, &format!("{a}/x?comp=blocklist"), &[]), "MULTIPART_COMPLETE");
        assert_eq!(op(Method::PUT, &format!("{a}/y"), &["x-ms-copy-source"]), "COPY");
        assert_eq!(op(Method::PUT, &format!("{a}/y?comp=copy&copyid=z"), &[]), "COPY");
        assert_eq!(op(Method::POST, "http://127.0.0.1:10000/devstoreaccount1?comp=batch", &[]), "DELETE");
        assert_eq!(op(Method::POST, "https://login.microsoftonline.com/t/oauth2/v2.0/token", &[]), "CREDENTIALS");
    }

    #[test]
    fn statuses_have_outcomes() {
        let cases = [(200, "ok"), (204, "ok"), (304, "ok"), (404, "not_found"), (403, "denied"), (401, "denied")];
        for (status, outcome) in cases {
            assert_eq!(outcome_of_status(status), outcome);
        }
        let cases = [(412, "precondition"), (409, "already_exists"), (400, "other_4xx"), (503, "throttled")];
        for (status, outcome) in cases {
            assert_eq!(outcome_of_status(status), outcome);
        }
        assert_eq!(outcome_of_status(429), "throttled");
        assert_eq!(outcome_of_status(500), "5xx");
    }

    #[test]
    fn a_repeat_of_a_failed_request_is_a_retry_and_histograms_are_cumulative() {
        let m = StoreMetrics::new();
        let uri: Uri = "http://x/b/k".parse().unwrap();
        let key = request_hash(&Method::GET, &uri);
        m.note_attempt(Operation::Get, key);
        m.record(Operation::Get, "throttled", Duration::from_millis(2));
        m.note_failure(key);
        m.note_attempt(Operation::Get, key); // the retry
        m.record(Operation::Get, "ok", Duration::from_millis(20));
        m.note_attempt(Operation::Get, key); // a new read, not a retry
        m.record(Operation::Get, "ok", Duration::from_secs(500));
        let s = m.snapshot();
        assert_eq!(s.retries, vec![("GET", 1)]);
        assert_eq!(s.requests, vec![("GET", "ok", 2), ("GET", "throttled", 1)]);
        let (name, buckets, sum) = &s.latency[0];
        assert_eq!(*name, "GET");
        assert_eq!(buckets[0], 1); // <= 5 ms
        assert_eq!(buckets[2], 2); // <= 25 ms
        assert_eq!(buckets[LATENCY_BUCKETS.len() - 1], 2); // <= 120 s
        assert_eq!(*buckets.last().unwrap(), 3); // +Inf
        assert!((sum - 500.022).abs() < 1e-6);
    }

    #[test]
    fn stores_with_one_label_share_counters() {
        let a = for_store("memory://metrics-test-shared");
        a.add_bytes_read(7);
        let b = for_store("memory://metrics-test-shared");
        assert_eq!(b.snapshot().bytes_read, 7);
        assert!(snapshot_all().iter().any(|(label, s)| label == "memory://metrics-test-shared" && s.bytes_read == 7));
    }
}
