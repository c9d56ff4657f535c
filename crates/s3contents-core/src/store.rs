//! Builds the object store named by a URL (`s3://bucket`, `gs://bucket`, `az://container`,
//! `file:///dir`, `memory://`) from string options, the same keys object_store documents.
//!
//! Every store goes through the same builder path, so the contents logic never knows
//! which backend it talks to.

use std::sync::Arc;

use async_trait::async_trait;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, AwsCredential, AwsCredentialProvider};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GcpCredential, GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{CredentialProvider, ObjectStore, StaticCredentialProvider};
use url::Url;

use crate::answer::LoginFailure;
use crate::azure_copy::AzureCopyWaiter;
use crate::console_dirs::DirKeyDeleter;
use crate::contents::backend::{DirKeys, OneKeyProbe, OpenUploads, ReportingCopy, UrlSigner};
use crate::error::{Error, Result};
use crate::gcs_rewrite::GcsRewriter;
use crate::large_copy::{LargeCopier, S3PartCopier};
use crate::logged::LoggedStore;
use crate::metrics::StoreMetrics;
use crate::open_uploads::UploadJanitor;
use crate::presign::PresignedGets;
use crate::signed_s3::SignedS3;
use crate::tuning::Tuning;

/// A store and the key prefix the URL's path contributed (`s3://bucket/some/prefix`).
pub struct BuiltStore {
    pub store: Arc<dyn ObjectStore>,
    pub url_prefix: String,
    /// S3 only: deletes console-style `dir/` keys, which `store` cannot address.
    pub dir_keys: Option<Arc<dyn DirKeys>>,
    /// Copies objects above 5 GiB (or a lowered threshold) the way one copy request
    /// cannot (S3: in parts; GCS: a rewrite; Azure: waiting for Copy Blob to finish).
    pub large_copier: Option<Arc<dyn LargeCopier>>,
    /// S3 only: lists and aborts the multipart uploads a lost answer left open.
    pub open_uploads: Option<Arc<dyn OpenUploads>>,
    /// Cloud stores: existence asked with a one-key listing.
    pub one_key: Option<Arc<dyn OneKeyProbe>>,
    /// S3 only: single copies that say the copy's time and ETag (no HEAD after a copy).
    pub reporting_copy: Option<Arc<dyn ReportingCopy>>,
    /// Presigned download URLs; `None` where the store cannot sign (anonymous access, SAS
    /// tokens, local files, memory).
    pub url_signer: Option<Arc<dyn UrlSigner>>,
    /// Where requests go, for messages (`https://s3.us-east-1.amazonaws.com`).
    pub endpoint: String,
    /// The counters of every HTTP request the store and its helpers send.
    pub metrics: Arc<StoreMetrics>,
}

/// The key prefix a store URL's path contributes (`s3://bucket/some/prefix` -> `some/prefix`).
pub fn url_prefix(url: &str) -> Result<String> {
    let parsed = Url::parse(url).map_err(|e| Error::Config(format!("invalid store URL {url:?}: {e}")))?;
    if parsed.scheme() == "file" {
        return Ok(String::new()); // the path is the folder, not a key prefix
    }
    Ok(parsed.path().trim_matches('/').to_string())
}

/// `aws_credentials` replaces every other source of S3 credentials (keys, environment,
/// instance metadata); it is an error for other stores.
pub fn build_store(
    url: &str,
    options: &[(String, String)],
    aws_credentials: Option<AwsCredentialProvider>,
) -> Result<BuiltStore> {
    build_store_tuned(url, options, aws_credentials, &Tuning::default())
}

/// `build_store` with explicit retries and timeouts (ignored by the local stores).
pub fn build_store_tuned(
    url: &str,
    options: &[(String, String)],
    aws_credentials: Option<AwsCredentialProvider>,
    tuning: &Tuning,
) -> Result<BuiltStore> {
    build_store_metered(url, options, aws_credentials, tuning, StoreMetrics::new())
}

/// `build_store_tuned` counting its requests into `metrics` (see `metrics::for_store`).
pub fn build_store_metered(
    url: &str,
    options: &[(String, String)],
    aws_credentials: Option<AwsCredentialProvider>,
    tuning: &Tuning,
    metrics: Arc<StoreMetrics>,
) -> Result<BuiltStore> {
    let connector = metrics.connector();
    let parsed = Url::parse(url).map_err(|e| Error::Config(format!("invalid store URL {url:?}: {e}")))?;
    let url_prefix = parsed.path().trim_matches('/').to_string();
    if aws_credentials.is_some() && !matches!(parsed.scheme(), "s3" | "s3a") {
        return Err(Error::Config(format!("a credential provider is only supported for S3, not {url:?}")));
    }
    let mut dir_keys: Option<Arc<dyn DirKeys>> = None;
    let mut large_copier: Option<Arc<dyn LargeCopier>> = None;
    let mut open_uploads: Option<Arc<dyn OpenUploads>> = None;
    let mut url_signer: Option<Arc<dyn UrlSigner>> = None;
    let mut endpoint = url.to_string();
    let mut one_key: Option<Arc<dyn OneKeyProbe>> = None;
    let mut reporting_copy: Option<Arc<dyn ReportingCopy>> = None;
    let store: Arc<dyn ObjectStore> = match parsed.scheme() {
        "s3" | "s3a" => {
            let mut builder = AmazonS3Builder::from_env()
                .with_url(url)
                .with_retry(tuning.retry())
                .with_http_connector(connector.clone());
            for (key, value) in tuning.client_config().iter().chain(options) {
                builder = builder.with_config(parse_key(key, "S3")?, value);
            }
            let value = |builder: &AmazonS3Builder, key| builder.get_config_value(&key);
            let region = value(&builder, AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
            endpoint = value(&builder, AmazonS3ConfigKey::Endpoint)
                .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
            if let Some(credentials) = aws_credentials {
                builder = builder.with_credentials(credentials);
            } else if only_instance_metadata(&builder) {
                let metadata = builder.clone().build().map_err(config_error)?.credentials().clone();
                builder = builder.with_credentials(Arc::new(LastResortCredentials { metadata }));
            }
            let s3 = Arc::new(builder.clone().build().map_err(config_error)?);
            if !is_true(builder.get_config_value(&AmazonS3ConfigKey::SkipSignature)) {
                url_signer = Some(Arc::new(PresignedGets::with_response_headers(s3.clone())));
            }
            let bucket = parsed.host_str().unwrap_or_default();
            if let Some(signed) = SignedS3::new(&builder, s3.clone(), bucket, &connector) {
                let janitor: Arc<dyn OpenUploads> = Arc::new(UploadJanitor::new(signed.clone()));
                let copier = Arc::new(
                    S3PartCopier::new(&builder, signed.clone(), bucket).with_open_uploads(Some(janitor.clone())),
                );
                large_copier = Some(copier.clone());
                reporting_copy = Some(copier);
                open_uploads = Some(janitor);
                dir_keys = Some(Arc::new(DirKeyDeleter::new(signed)));
            }
            one_key = Some(Arc::new(PagedProbe(s3.clone())));
            s3
        }
        "gs" | "gcs" => {
            let mut builder = GoogleCloudStorageBuilder::from_env()
                .with_url(url)
                .with_retry(tuning.retry())
                .with_http_connector(connector.clone());
            for (key, value) in tuning.client_config().iter().chain(options) {
                builder = builder.with_config(parse_key(key, "GCS")?, value);
            }
            if builder.get_config_value(&GoogleConfigKey::SkipSignature).as_deref() == Some("true") {
                // object_store skips the token for reads but still fetches one (from the
                // metadata server) for uploads; an empty token keeps anonymous access anonymous.
                let anonymous = GcpCredential { bearer: String::new() };
                builder = builder.with_credentials(Arc::new(StaticCredentialProvider::new(anonymous)));
            }
            endpoint = builder
                .get_config_value(&GoogleConfigKey::BaseUrl)
                .unwrap_or_else(|| "https://storage.googleapis.com".into());
            let gcs = Arc::new(builder.clone().build().map_err(config_error)?);
            if !is_true(builder.get_config_value(&GoogleConfigKey::SkipSignature)) {
                url_signer = Some(Arc::new(PresignedGets::with_response_headers(gcs.clone())));
            }
            if let Some(rewriter) =
                GcsRewriter::new(&builder, gcs.clone(), parsed.host_str().unwrap_or_default(), &connector)
            {
                large_copier = Some(Arc::new(rewriter));
            }
            one_key = Some(Arc::new(PagedProbe(gcs.clone())));
            gcs
        }
        "az" | "azure" | "abfs" | "abfss" => {
            let mut builder = MicrosoftAzureBuilder::from_env()
                .with_url(url)
                .with_retry(tuning.retry())
                .with_http_connector(connector.clone());
            for (key, value) in tuning.client_config().iter().chain(options) {
                builder = builder.with_config(parse_key(key, "Azure")?, value);
            }
            let account = builder.get_config_value(&AzureConfigKey::AccountName).unwrap_or_default();
            endpoint = builder
                .get_config_value(&AzureConfigKey::Endpoint)
                .unwrap_or_else(|| format!("https://{account}.blob.core.windows.net"));
            let azure = Arc::new(builder.clone().build().map_err(config_error)?);
            // A SAS token cannot sign another SAS; anonymous access signs nothing.
            let set = |key| builder.get_config_value(&key).is_some_and(|v| !v.is_empty());
            if !is_true(builder.get_config_value(&AzureConfigKey::SkipSignature)) && !set(AzureConfigKey::SasKey) {
                url_signer = Some(Arc::new(PresignedGets::without_response_headers(azure.clone())));
            }
            if let Some(waiter) = AzureCopyWaiter::new(&builder, azure.clone(), &parsed, &connector) {
                large_copier = Some(Arc::new(waiter));
            }
            one_key = Some(Arc::new(PagedProbe(azure.clone())));
            azure
        }
        "file" => {
            reject_options(options, "local filesystem")?;
            let dir = parsed.to_file_path().map_err(|_| Error::Config(format!("invalid file URL {url:?}")))?;
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::Config(format!("cannot create {}: {e}", dir.display())))?;
            // Folders left empty by deletes go too, as they would in a bucket.
            let fs = LocalFileSystem::new_with_prefix(&dir).map_err(config_error)?.with_automatic_cleanup(true);
            return Ok(BuiltStore {
                store: Arc::new(LoggedStore::new(Arc::new(fs)).with_metrics(metrics.clone())),
                url_prefix: String::new(),
                dir_keys: None,
                large_copier: None,
                open_uploads: None,
                one_key: None,
                reporting_copy: None,
                url_signer: None,
                endpoint,
                metrics,
            });
        }
        "memory" => {
            reject_options(options, "in-memory")?;
            Arc::new(InMemory::new())
        }
        other => {
            return Err(Error::Config(format!(
                "unsupported store URL scheme {other:?} in {url:?} (use s3://, gs://, az://, file:// or memory://)"
            )))
        }
    };
    // Bucket URLs carry the bucket in the host; anything after it is a key prefix.
    Ok(BuiltStore {
        store: Arc::new(LoggedStore::new(store).with_metrics(metrics.clone())),
        url_prefix,
        dir_keys,
        large_copier,
        open_uploads,
        one_key,
        reporting_copy,
        url_signer,
        endpoint,
        metrics,
    })
}

/// `OneKeyProbe` through the paginated listing of S3, GCS and Azure (`max-keys=1`,
/// `maxResults=1`, `maxresults=1`).
#[derive(Debug)]
struct PagedProbe<S>(Arc<S>);

#[async_trait]
impl<S: PaginatedListStore + std::fmt::Debug> OneKeyProbe for PagedProbe<S> {
    async fn any_key_under(&self, dir: &Path) -> object_store::Result<bool> {
        let start = std::time::Instant::now();
        // Unlike `list`, the paginated listing adds no delimiter to the prefix.
        let prefix = if dir.as_ref().is_empty() { None } else { Some(format!("{dir}/")) };
        let options = PaginatedListOptions { max_keys: Some(1), ..Default::default() };
        let page = self.0.list_paginated(prefix.as_deref(), options).await;
        crate::logged::log_request(format_args!("LIST {} (one key)", prefix.as_deref().unwrap_or("")), start, &page);
        Ok(!page?.result.objects.is_empty())
    }
}

/// No S3 credentials configured, none in the environment, no web identity or container
/// credentials: object_store falls back to the EC2 instance metadata service.
fn only_instance_metadata(builder: &AmazonS3Builder) -> bool {
    use AmazonS3ConfigKey as Key;
    let set = |key| builder.get_config_value(&key).is_some_and(|v| !v.is_empty());
    let skip_signature = builder.get_config_value(&Key::SkipSignature).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    !skip_signature
        && ![
            Key::AccessKeyId,
            Key::SecretAccessKey,
            Key::WebIdentityTokenFile,
            Key::ContainerCredentialsRelativeUri,
            Key::ContainerCredentialsFullUri,
        ]
        .into_iter()
        .any(set)
}

/// Where S3 credentials are looked for, in order, for the message that says none were found.
pub const AWS_CREDENTIAL_SOURCES: &str = "the access_key_id/secret_access_key, credential_provider and \
boto3_session settings; the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); \
the shared files ~/.aws/credentials and ~/.aws/config (AWS_PROFILE, else the default profile); web \
identity (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN); container credentials \
(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI); the EC2 instance metadata service";

/// The instance metadata service as the last source of S3 credentials. Off EC2 its
/// failure reads as a network error to 169.254.169.254; it says instead that no
/// credentials were found, and where they were looked for.
#[derive(Debug)]
struct LastResortCredentials {
    metadata: AwsCredentialProvider,
}

#[async_trait]
impl CredentialProvider for LastResortCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        self.metadata.get_credential().await.map_err(|error| {
            log::debug!("the EC2 instance metadata service gave no credentials: {error}");
            let failure = format!(
                "no AWS credentials found. Looked in {AWS_CREDENTIAL_SOURCES} (which did not answer: not on EC2, \
                 or blocked). Set access_key_id and secret_access_key, or anon = True for a public bucket"
            );
            object_store::Error::Generic { store: "S3", source: Box::new(LoginFailure(failure)) }
        })
    }
}

fn is_true(value: Option<String>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn parse_key<K: std::str::FromStr>(key: &str, store: &str) -> Result<K> {
    key.parse().map_err(|_| Error::Config(format!("unknown {store} store option {key:?}")))
}

fn reject_options(options: &[(String, String)], store: &str) -> Result<()> {
    match options.first() {
        Some((key, _)) => Err(Error::Config(format!("the {store} store takes no option {key:?}"))),
        None => Ok(()),
    }
}

fn config_error(e: object_store::Error) -> Error {
    Error::Config(format!("invalid store configuration: {e}"))
}
