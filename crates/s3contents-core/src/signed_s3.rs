//! Raw S3 requests that object_store cannot express (the console's `dir/` keys, ranged
//! part copies), sent to the store's own endpoint and signed the way object_store signs
//! (SigV4, the same credentials, endpoint, addressing style and TLS/HTTP options).
//! `send` and `send_retried` are the one way these requests are sent, logged and retried.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, HttpResponse};
use object_store::path::Path;

use crate::metrics::MeteredConnector;
use object_store::{ClientConfigKey, ClientOptions};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The characters object_store leaves unencoded in S3 key paths.
pub(crate) const KEY_PATH: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

/// Query values: everything but unreserved characters is encoded (SigV4's canonical form).
pub(crate) const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Attempts of a request that is safe to repeat and failed in a transient way.
const ATTEMPTS: usize = 3;

pub(crate) fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic { store: "S3", source: message.into() }
}

/// The text of the first `<tag>` element of an XML answer.
pub(crate) fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// A failure worth one more attempt: the server failed (5xx, SlowDown) or never answered.
pub(crate) fn is_transient(error: &object_store::Error) -> bool {
    let answer = crate::answer::Answer::of(error);
    match answer.status {
        Some(code) => code >= 500 || answer.code_is(&["SlowDown", "InternalError"]),
        None => true,
    }
}

/// `attempt()`, repeated after a transient failure (5xx, no answer): for requests that
/// are safe to repeat.
pub(crate) async fn retried<T, F, Fut>(mut attempt: F) -> object_store::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = object_store::Result<T>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) if attempts < ATTEMPTS && is_transient(&e) => {
                tokio::time::sleep(Duration::from_millis(200 << attempts)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The bucket's endpoint and a client to send signed requests to it.
#[derive(Debug, Clone)]
pub struct SignedS3 {
    s3: Arc<AmazonS3>,
    client: HttpClient,
    bucket_endpoint: String,
    region: String,
    sign: bool,
}

impl SignedS3 {
    /// For the store `builder` built on `bucket` (the builder only learns the bucket of
    /// its URL when it builds).
    pub fn new(
        builder: &AmazonS3Builder,
        s3: Arc<AmazonS3>,
        bucket: &str,
        connector: &MeteredConnector,
    ) -> Option<Self> {
        if bucket.is_empty() || bucket.contains(':') {
            return None; // access point ARNs: addressing not mirrored here
        }
        let value = |key: AmazonS3ConfigKey| builder.get_config_value(&key);
        let flag = |key: AmazonS3ConfigKey| value(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let region = value(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
        let endpoint = value(AmazonS3ConfigKey::S3Endpoint).or_else(|| value(AmazonS3ConfigKey::Endpoint));
        let virtual_hosted = flag(AmazonS3ConfigKey::VirtualHostedStyleRequest);
        let bucket_endpoint = match (endpoint, virtual_hosted) {
            (Some(endpoint), true) => endpoint,
            (Some(endpoint), false) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
            (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        };
        let client_flag = |key: ClientConfigKey| flag(AmazonS3ConfigKey::Client(key));
        let options = ClientOptions::new()
            .with_allow_http(client_flag(ClientConfigKey::AllowHttp))
            .with_allow_invalid_certificates(client_flag(ClientConfigKey::AllowInvalidCertificates));
        let client = connector.connect(&options).ok()?;
        let sign = !flag(AmazonS3ConfigKey::SkipSignature);
        Some(Self { s3, client, bucket_endpoint, region, sign })
    }

    /// The URL of `key` in the bucket, `suffix` (e.g. "/" or "?uploads") appended.
    pub fn url(&self, key: &Path, suffix: &str) -> String {
        format!("{}/{}{suffix}", self.bucket_endpoint, utf8_percent_encode(key.as_ref(), KEY_PATH))
    }

    /// The URL of the bucket itself with `query` (e.g. "uploads=").
    pub fn bucket_url(&self, query: &str) -> String {
        format!("{}/?{query}", self.bucket_endpoint)
    }

    /// Sign `request` (unless the store sends unsigned requests) and send it.
    pub async fn execute(&self, mut request: http::Request<HttpRequestBody>) -> object_store::Result<HttpResponse> {
        if self.sign {
            let credential = self.s3.credentials().get_credential().await?;
            AwsAuthorizer::new(&credential, "s3", &self.region).try_authorize(&mut request, None)?;
        }
        self.client
            .execute(request)
            .await
            .map_err(|e| object_store::Error::Generic { store: "S3", source: Box::new(e) })
    }

    /// One signed request; the body of a 2xx answer, else a `ResponseError` (404 and
    /// NoSuchKey as `NotFound`, 412 as `Precondition`).
    pub async fn send(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> object_store::Result<(http::StatusCode, Bytes)> {
        let mut builder = http::Request::builder().method(method.clone()).uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let request =
            builder.body(HttpRequestBody::from(body)).map_err(|e| generic(format!("building {method} {url}: {e}")))?;
        let start = Instant::now();
        let response = self.execute(request).await?;
        let status = response.status();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| object_store::Error::Generic { store: "S3", source: Box::new(e) })?;
        log::debug!(target: crate::logged::TARGET, "{method} {url} -> {status} in {:.1} ms",
            start.elapsed().as_secs_f64() * 1000.0);
        let text = String::from_utf8_lossy(&body);
        // UploadPartCopy and CompleteMultipartUpload may answer 200 with an error inside.
        let failed = !status.is_success() || (method != http::Method::DELETE && text.contains("<Error>"));
        if !failed {
            return Ok((status, body));
        }
        Err(crate::answer::ResponseError::new(status, format!("{method} {url}"), &body).into_store_error("S3", url))
    }

    /// `send` without a body, repeated after a transient failure (5xx, no answer): for
    /// requests that are safe to repeat.
    pub async fn send_retried(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, String)],
    ) -> object_store::Result<Bytes> {
        retried(|| async { self.send(method.clone(), url, headers, Bytes::new()).await.map(|(_, body)| body) }).await
    }
}
