//! Deleting the zero-byte `dir/` keys the AWS console creates for folders.
//!
//! object_store's `Path` cannot name a key ending in "/", so neither its delete nor its
//! bulk delete can remove them; this sends that one DELETE itself, signed the way
//! object_store signs (SigV4, same credentials, endpoint and addressing style).

use std::sync::Arc;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::path::Path;
use object_store::{ClientConfigKey, ClientOptions};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The characters object_store leaves unencoded in S3 key paths.
const KEY_PATH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

#[derive(Debug)]
pub struct DirKeyDeleter {
    s3: Arc<AmazonS3>,
    client: HttpClient,
    bucket_endpoint: String,
    region: String,
    sign: bool,
}

impl DirKeyDeleter {
    /// For the store `builder` built on `bucket` (the builder only learns the bucket of
    /// its URL when it builds).
    pub fn new(builder: &AmazonS3Builder, s3: Arc<AmazonS3>, bucket: &str) -> Option<Self> {
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
        let client = ReqwestConnector::default().connect(&options).ok()?;
        let sign = !flag(AmazonS3ConfigKey::SkipSignature);
        Some(Self { s3, client, bucket_endpoint, region, sign })
    }

    /// Delete the object `<dir>/` (a missing one is fine).
    pub async fn delete(&self, dir: &Path) -> object_store::Result<()> {
        let generic =
            |source: Box<dyn std::error::Error + Send + Sync>| object_store::Error::Generic { store: "S3", source };
        let url = format!("{}/{}/", self.bucket_endpoint, utf8_percent_encode(dir.as_ref(), KEY_PATH));
        let mut request = http::Request::builder()
            .method(http::Method::DELETE)
            .uri(&url)
            .body(HttpRequestBody::empty())
            .map_err(|e| generic(Box::new(e)))?;
        if self.sign {
            let credential = self.s3.credentials().get_credential().await?;
            AwsAuthorizer::new(&credential, "s3", &self.region).try_authorize(&mut request, None)?;
        }
        let response = self.client.execute(request).await.map_err(|e| generic(Box::new(e)))?;
        let status = response.status();
        if status.is_success() || status == http::StatusCode::NOT_FOUND {
            return Ok(());
        }
        let body = response.into_body().bytes().await.unwrap_or_default();
        let body = String::from_utf8_lossy(&body);
        Err(generic(format!("Server returned non-2xx status code: {status}: deleting {url}: {body}").into()))
    }
}
