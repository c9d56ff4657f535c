//! GCS's copy for sources above the threshold: the JSON API's rewrite
//! (`POST .../o/{source}/rewriteTo/b/{bucket}/o/{target}`), which GCS may answer before
//! the copy is done with a token to call it again with. object_store copies with the XML
//! API's single copy, which has no such continuation, so these requests are our own,
//! sent to the store's base URL with the bearer token of the store's own credentials.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody};
use object_store::gcp::{GoogleCloudStorage, GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::path::Path;

use crate::metrics::MeteredConnector;
use object_store::{Attributes, ClientConfigKey, ClientOptions, ObjectMeta, Result};
use percent_encoding::utf8_percent_encode;

use crate::large_copy::{CopySettings, LargeCopier};
use crate::signed_s3::{retried, QUERY_VALUE};

const MIB: u64 = 1024 * 1024;
/// object_store's default, for stores without a configured base URL.
const DEFAULT_BASE_URL: &str = "https://storage.googleapis.com";

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic { store: "GCS", source: message.into() }
}

/// The bytes one rewrite call may copy: the threshold in whole MiB (GCS wants a multiple
/// of 1 MiB), so a lowered threshold also makes the copy take several calls.
pub fn bytes_per_call(threshold: u64) -> u64 {
    (threshold / MIB).max(1) * MIB
}

/// GCS's answer to a copy it cannot finish in one request: a 400 whose message (the
/// only thing telling it apart) names the rewrite.
fn asks_for_rewrite(error: &object_store::Error) -> bool {
    crate::answer::Answer::of(error).message_has("use the Rewrite method")
}

/// What one rewrite call answered.
#[derive(Debug, PartialEq, Eq)]
pub struct RewriteProgress {
    pub done: bool,
    /// The token of the next call while not done.
    pub token: Option<String>,
}

impl RewriteProgress {
    pub fn parse(body: &[u8]) -> Result<Self> {
        let answer: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| generic(format!("unreadable answer to a rewrite: {e}: {}", String::from_utf8_lossy(body))))?;
        let done = answer.get("done").and_then(|v| v.as_bool()).unwrap_or(false);
        let token = answer.get("rewriteToken").and_then(|v| v.as_str()).filter(|t| !t.is_empty()).map(str::to_string);
        if !done && token.is_none() {
            return Err(generic(format!("a rewrite neither done nor continued: {}", String::from_utf8_lossy(body))));
        }
        Ok(Self { done, token })
    }
}

/// Rewrites inside one bucket, with the store's credentials and base URL.
#[derive(Debug)]
pub struct GcsRewriter {
    gcs: Arc<GoogleCloudStorage>,
    client: HttpClient,
    /// `{base}/storage/v1/b/`
    buckets_url: String,
    /// The bucket, encoded for a URL path.
    bucket: String,
}

impl GcsRewriter {
    /// For the store `builder` built on `bucket`.
    pub fn new(
        builder: &GoogleCloudStorageBuilder,
        gcs: Arc<GoogleCloudStorage>,
        bucket: &str,
        connector: &MeteredConnector,
    ) -> Option<Self> {
        if bucket.is_empty() {
            return None;
        }
        let value = |key: GoogleConfigKey| builder.get_config_value(&key);
        let flag =
            |key: ClientConfigKey| value(GoogleConfigKey::Client(key)).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let options = ClientOptions::new()
            .with_allow_http(flag(ClientConfigKey::AllowHttp))
            .with_allow_invalid_certificates(flag(ClientConfigKey::AllowInvalidCertificates));
        let client = connector.connect(&options).ok()?;
        let base = value(GoogleConfigKey::BaseUrl).unwrap_or_else(|| DEFAULT_BASE_URL.into());
        let buckets_url = format!("{}/storage/v1/b/", base.trim_end_matches('/'));
        Some(Self { gcs, client, buckets_url, bucket: utf8_percent_encode(bucket, QUERY_VALUE).to_string() })
    }

    /// The URL of the rewrite of `from` to `to` (both in the bucket).
    fn rewrite_url(&self, from: &Path, to: &Path) -> String {
        let key = |path: &Path| utf8_percent_encode(path.as_ref(), QUERY_VALUE).to_string();
        format!("{}{bucket}/o/{}/rewriteTo/b/{bucket}/o/{}", self.buckets_url, key(from), key(to), bucket = self.bucket)
    }

    /// One rewrite call; a 2xx answer's body, else an error carrying the status the way
    /// object_store's do (the error mapping and the retries read it from there).
    async fn call(&self, url: &str) -> Result<Bytes> {
        let mut request =
            http::Request::builder().method(http::Method::POST).uri(url).header(http::header::CONTENT_LENGTH, "0");
        // Anonymous stores (fake-gcs-server) carry an empty token: no header then.
        let credential = self.gcs.credentials().get_credential().await?;
        if !credential.bearer.is_empty() {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {}", credential.bearer));
        }
        let request = request
            .body(HttpRequestBody::from(Bytes::new()))
            .map_err(|e| generic(format!("building POST {url}: {e}")))?;
        let start = Instant::now();
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| object_store::Error::Generic { store: "GCS", source: Box::new(e) })?;
        let status = response.status();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| object_store::Error::Generic { store: "GCS", source: Box::new(e) })?;
        log::debug!(target: crate::logged::TARGET, "POST {url} -> {status} in {:.1} ms",
            start.elapsed().as_secs_f64() * 1000.0);
        if status.is_success() {
            return Ok(body);
        }
        Err(crate::answer::ResponseError::new(status, format!("POST {url}"), &body).into_store_error("GCS", url))
    }
}

#[async_trait]
impl LargeCopier for GcsRewriter {
    async fn copy(
        &self,
        source: &ObjectMeta,
        _attributes: &Attributes,
        to: &Path,
        settings: &CopySettings,
        create: bool,
    ) -> Result<()> {
        // Without a body the target keeps the source's content type and metadata.
        let mut url = format!(
            "{}?maxBytesRewrittenPerCall={}",
            self.rewrite_url(&source.location, to),
            bytes_per_call(settings.threshold)
        );
        // Bound to the generation the size was read from: a source rewritten meanwhile
        // fails the copy (412) instead of mixing two versions.
        if let Some(generation) = &source.version {
            url.push_str(&format!("&ifSourceGenerationMatch={}", utf8_percent_encode(generation, QUERY_VALUE)));
        }
        if create {
            url.push_str("&ifGenerationMatch=0");
        }
        let mut token: Option<String> = None;
        loop {
            let call_url = match &token {
                Some(token) => format!("{url}&rewriteToken={}", utf8_percent_encode(token, QUERY_VALUE)),
                None => url.clone(),
            };
            // A call with the same token is safe to repeat.
            let body = retried(|| self.call(&call_url)).await?;
            let progress = RewriteProgress::parse(&body)?;
            if progress.done {
                return Ok(());
            }
            token = progress.token;
        }
    }

    fn refuses_single_copy(&self, error: &object_store::Error) -> bool {
        asks_for_rewrite(error)
    }

    fn refuses_too_large(&self) -> bool {
        true
    }

    fn can_create_only(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_calls_copy_whole_mebibytes() {
        assert_eq!(bytes_per_call(1), MIB);
        assert_eq!(bytes_per_call(MIB + 5), MIB);
        assert_eq!(bytes_per_call(5 * 1024 * MIB), 5 * 1024 * MIB);
    }

    #[test]
    fn rewrite_answers_are_read() {
        let more = br#"{"kind":"storage#rewriteResponse","totalBytesRewritten":"1048576","done":false,"rewriteToken":"tok+/="}"#;
        assert_eq!(
            RewriteProgress::parse(more).unwrap(),
            RewriteProgress { done: false, token: Some("tok+/=".into()) }
        );
        let done = br#"{"done":true,"rewriteToken":"","resource":{}}"#;
        assert_eq!(RewriteProgress::parse(done).unwrap(), RewriteProgress { done: true, token: None });
        assert!(RewriteProgress::parse(br#"{"done":false}"#).is_err());
        assert!(RewriteProgress::parse(b"<html>").is_err());
    }

    /// GCS's answer, as object_store reports it: fake-gcs-server never asks for a rewrite.
    #[test]
    fn gcs_asking_for_a_rewrite_is_recognised() {
        let refusal = generic(
            "Server returned non-2xx status code: 400 Bad Request: Copy spanning locations and/or storage classes \
             could not complete within 30 seconds. Please use the Rewrite method in the JSON API \
             (https://cloud.google.com/storage/docs/json_api/v1/objects/rewrite) instead."
                .into(),
        );
        assert!(asks_for_rewrite(&refusal));
        assert!(!asks_for_rewrite(&generic("Server returned non-2xx status code: 403 Forbidden".into())));
    }
}
