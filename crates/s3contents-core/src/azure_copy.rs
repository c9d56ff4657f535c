//! Azure's copy for sources above the threshold: object_store's Copy Blob, then waiting
//! for it. Copy Blob may answer before the copy is done (`x-ms-copy-status: pending`, more
//! likely the larger the blob) and object_store does not wait; a rename would then delete
//! the source of a copy still running. So the target's copy status is read (Get Blob
//! Properties, signed with the store's own credentials through object_store's
//! `AzureAuthorizer`) until it is `success`. A copy that ends `failed` or `aborted`, or
//! does not end within `MAX_WAIT`, fails the operation and its target is deleted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use object_store::azure::{AzureAuthorizer, AzureConfigKey, MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody};
use object_store::path::Path;

use crate::metrics::MeteredConnector;
use object_store::{
    Attributes, ClientConfigKey, ClientOptions, CopyMode, CopyOptions, ObjectMeta, ObjectStore, ObjectStoreExt, Result,
};
use percent_encoding::utf8_percent_encode;
use url::Url;

use crate::large_copy::{CopySettings, LargeCopier};
use crate::signed_s3::{retried, KEY_PATH, QUERY_VALUE};

/// The longest wait for a pending copy before it is given up (aborted and its target
/// deleted).
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// The longest pause between two reads of a pending copy's status.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// The account object_store's emulator mode uses when none is configured.
const EMULATOR_ACCOUNT: &str = "devstoreaccount1";

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic { store: "MicrosoftAzure", source: message.into() }
}

/// The state of a copy onto a blob, from its properties.
#[derive(Debug, PartialEq, Eq)]
pub enum CopyState {
    /// Done (or the blob was never a copy target: nothing to wait for).
    Done,
    Pending {
        id: Option<String>,
    },
    /// `failed` or `aborted`, with Azure's description.
    Ended {
        status: String,
        description: String,
    },
}

impl CopyState {
    /// From the `x-ms-copy-*` headers of a Get Blob Properties answer.
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        match header("x-ms-copy-status").as_deref() {
            None | Some("success") => Self::Done,
            Some("pending") => Self::Pending { id: header("x-ms-copy-id") },
            Some(other) => Self::Ended {
                status: other.to_string(),
                description: header("x-ms-copy-status-description").unwrap_or_default(),
            },
        }
    }
}

/// Waits for copies inside one container, with the store's credentials and endpoint.
#[derive(Debug)]
pub struct AzureCopyWaiter {
    azure: Arc<MicrosoftAzure>,
    client: HttpClient,
    /// `{service}/{container}` (the account in the path for the emulator).
    container_url: String,
    account: String,
    sign: bool,
}

impl AzureCopyWaiter {
    /// For the store `builder` built from `url`. `None` where the blob URLs are not
    /// mirrored here (Fabric endpoints) or properties need the encryption key (CPK).
    pub fn new(
        builder: &MicrosoftAzureBuilder,
        azure: Arc<MicrosoftAzure>,
        url: &Url,
        connector: &MeteredConnector,
    ) -> Option<Self> {
        let value = |key: AzureConfigKey| builder.get_config_value(&key);
        let flag = |key: AzureConfigKey| value(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if value(AzureConfigKey::EncryptionKey).is_some() || flag(AzureConfigKey::UseFabricEndpoint) {
            return None;
        }
        let host = url.host_str()?;
        // az://container, or the Hadoop form abfss://container@account.dfs.core.windows.net.
        let (container, account_from_url) = if url.username().is_empty() {
            (host.to_string(), None)
        } else {
            let (account, domain) = host.split_once('.')?;
            if !matches!(domain, "dfs.core.windows.net" | "blob.core.windows.net") {
                return None;
            }
            (url.username().to_string(), Some(account.to_string()))
        };
        let account = account_from_url.or_else(|| value(AzureConfigKey::AccountName));
        let service = if flag(AzureConfigKey::UseEmulator) {
            let account = account.clone().unwrap_or_else(|| EMULATOR_ACCOUNT.into());
            let base = std::env::var("AZURITE_BLOB_STORAGE_URL").unwrap_or_else(|_| "http://127.0.0.1:10000".into());
            format!("{}/{account}", base.trim_end_matches('/'))
        } else {
            match value(AzureConfigKey::Endpoint) {
                Some(endpoint) => endpoint.trim_end_matches('/').to_string(),
                None => format!("https://{}.blob.core.windows.net", account.as_deref()?),
            }
        };
        let account = account.unwrap_or_else(|| EMULATOR_ACCOUNT.into());
        let client_flag = |key: ClientConfigKey| flag(AzureConfigKey::Client(key));
        let options = ClientOptions::new()
            .with_allow_http(client_flag(ClientConfigKey::AllowHttp) || flag(AzureConfigKey::UseEmulator))
            .with_allow_invalid_certificates(client_flag(ClientConfigKey::AllowInvalidCertificates));
        let client = connector.connect(&options).ok()?;
        let container_url = format!("{service}/{}", utf8_percent_encode(&container, QUERY_VALUE));
        let sign = !flag(AzureConfigKey::SkipSignature);
        Some(Self { azure, client, container_url, account, sign })
    }

    fn blob_url(&self, key: &Path, query: &str) -> String {
        format!("{}/{}{query}", self.container_url, utf8_percent_encode(key.as_ref(), KEY_PATH))
    }

    /// One signed request; the headers of a 2xx answer, else an error carrying the status
    /// the way object_store's do.
    async fn send(&self, method: http::Method, url: &str, headers: &[(&str, &str)]) -> Result<http::HeaderMap> {
        let mut builder = http::Request::builder().method(method.clone()).uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut request = builder
            .body(HttpRequestBody::from(Bytes::new()))
            .map_err(|e| generic(format!("building {method} {url}: {e}")))?;
        if self.sign {
            let credential = self.azure.credentials().get_credential().await?;
            AzureAuthorizer::new(&credential, &self.account).try_authorize(&mut request)?;
        }
        let start = Instant::now();
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| object_store::Error::Generic { store: "MicrosoftAzure", source: Box::new(e) })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().bytes().await.unwrap_or_default();
        log::debug!(target: crate::logged::TARGET, "{method} {url} -> {status} in {:.1} ms",
            start.elapsed().as_secs_f64() * 1000.0);
        if status.is_success() {
            return Ok(headers);
        }
        Err(crate::answer::ResponseError::new(status, format!("{method} {url}"), &body)
            .into_store_error("MicrosoftAzure", url))
    }

    async fn copy_state(&self, to: &Path) -> Result<CopyState> {
        let url = self.blob_url(to, "");
        retried(|| async { self.send(http::Method::HEAD, &url, &[]).await.map(|h| CopyState::from_headers(&h)) }).await
    }

    /// Wait until the copy onto `to` is done; a copy that ended otherwise, or took too
    /// long, is an error.
    async fn wait(&self, from: &Path, to: &Path) -> Result<()> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            match self.copy_state(to).await? {
                CopyState::Done => return Ok(()),
                CopyState::Ended { status, description } => {
                    return Err(generic(format!("the copy of {from} to {to} ended {status}: {description}")));
                }
                CopyState::Pending { id } if start.elapsed() >= MAX_WAIT => {
                    if let Some(id) = id {
                        // Abort Copy Blob: a pending target cannot be deleted otherwise.
                        let url =
                            self.blob_url(to, &format!("?comp=copy&copyid={}", utf8_percent_encode(&id, QUERY_VALUE)));
                        if let Err(e) = self
                            .send(http::Method::PUT, &url, &[("x-ms-copy-action", "abort"), ("content-length", "0")])
                            .await
                        {
                            log::warn!(target: crate::logged::TARGET, "could not abort the copy to {to}: {e}");
                        }
                    }
                    return Err(generic(format!("the copy of {from} to {to} was still pending after {MAX_WAIT:?}")));
                }
                CopyState::Pending { .. } => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_POLL_INTERVAL);
                }
            }
        }
    }
}

#[async_trait]
impl LargeCopier for AzureCopyWaiter {
    async fn copy(
        &self,
        source: &ObjectMeta,
        _attributes: &Attributes,
        to: &Path,
        _settings: &CopySettings,
        create: bool,
    ) -> Result<()> {
        let mode = if create { CopyMode::Create } else { CopyMode::Overwrite };
        self.azure.copy_opts(&source.location, to, CopyOptions::new().with_mode(mode)).await?;
        let waited = self.wait(&source.location, to).await;
        if waited.is_err() {
            // No partial or failed copy stays behind under the target's name.
            if let Err(e) = self.azure.delete(to).await {
                log::warn!(target: crate::logged::TARGET, "could not delete the failed copy {to}: {e}");
            }
        }
        waited
    }

    fn refuses_single_copy(&self, _error: &object_store::Error) -> bool {
        false
    }

    fn refuses_too_large(&self) -> bool {
        false // Copy Blob takes any size inside one account: only the size can tell
    }

    fn can_create_only(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_states_are_read_from_the_properties() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = http::HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, http::HeaderValue::from_static(value));
            }
            map
        };
        assert_eq!(CopyState::from_headers(&headers(&[])), CopyState::Done);
        assert_eq!(CopyState::from_headers(&headers(&[("x-ms-copy-status", "success")])), CopyState::Done);
        assert_eq!(
            CopyState::from_headers(&headers(&[("x-ms-copy-status", "pending"), ("x-ms-copy-id", "abc")])),
            CopyState::Pending { id: Some("abc".into()) }
        );
        assert_eq!(
            CopyState::from_headers(&headers(&[
                ("x-ms-copy-status", "failed"),
                ("x-ms-copy-status-description", "500 InternalError")
            ])),
            CopyState::Ended { status: "failed".into(), description: "500 InternalError".into() }
        );
    }
}
