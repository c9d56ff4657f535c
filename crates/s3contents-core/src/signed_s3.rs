//! Raw S3 requests that object_store cannot express (the console's `dir/` keys, ranged
//! part copies), sent to the store's own endpoint and signed the way object_store signs
//! (SigV4, the same credentials, endpoint, addressing style and TLS/HTTP options).

use std::sync::Arc;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, HttpResponse, ReqwestConnector};
use object_store::path::Path;
use object_store::{ClientConfigKey, ClientOptions};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The characters object_store leaves unencoded in S3 key paths.
pub(crate) const KEY_PATH: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

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

    /// The URL of `key` in the bucket, `suffix` (e.g. "/" or "?uploads") appended.
    pub fn url(&self, key: &Path, suffix: &str) -> String {
        format!("{}/{}{suffix}", self.bucket_endpoint, utf8_percent_encode(key.as_ref(), KEY_PATH))
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
}
