//! Presigned GET URLs (`/files` redirects straight to the store), on object_store's
//! `Signer`: SigV4 query signing on S3, V4 signing with the service account's key on GCS,
//! a service SAS on Azure.
//!
//! S3 and GCS fold `response-content-disposition` and `response-content-type` into the
//! signature (`Signer::signed_url_opts`), so the store answers a `?download=1` link with
//! the attachment header. An Azure SAS could carry them too (its `rscd`/`rsct` fields),
//! but object_store's SAS signer signs a fixed set of fields and takes no extras: there a
//! download that needs Content-Disposition is refused here, and the server streams it. So
//! is an Azure blob whose name URLs encode (a space, non-ASCII): object_store 0.14 signs
//! its SAS over the encoded path, which Azure answers with 403.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use object_store::path::Path;
use object_store::signer::{Method, SignedUrlOptions, Signer};

use crate::contents::backend::{ResponseHeaders, UrlSigner};

/// The longest lifetime S3 and GCS accept for a presigned URL (7 days).
pub const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug)]
pub struct PresignedGets {
    signer: Arc<dyn Signer>,
    /// The store signs `response-content-*` query parameters (S3, GCS).
    response_headers: bool,
}

impl PresignedGets {
    /// S3 and GCS: URLs carry the response headers.
    pub fn with_response_headers(signer: Arc<dyn Signer>) -> Self {
        Self { signer, response_headers: true }
    }

    /// Azure: URLs answer with the blob's own headers.
    pub fn without_response_headers(signer: Arc<dyn Signer>) -> Self {
        Self { signer, response_headers: false }
    }
}

#[async_trait]
impl UrlSigner for PresignedGets {
    fn refuses(&self, key: &Path, headers: &ResponseHeaders) -> Option<&'static str> {
        if self.response_headers {
            return None;
        }
        if headers.content_disposition.is_some() {
            return Some(
                "Azure presigned URLs cannot set Content-Disposition (object_store's SAS signs no response \
                 headers), so downloads (?download=1) stream through the server",
            );
        }
        // object_store signs the SAS over the percent-encoded blob name (`Url::path`) where
        // Azure (and Azurite) expect the name itself: such URLs are refused with 403.
        if key.as_ref().bytes().any(|b| !(b.is_ascii_alphanumeric() || b"-._~/".contains(&b))) {
            return Some(
                "object_store signs Azure URLs of names with spaces or other characters that URLs \
                 encode in a way Azure refuses, so those files stream through the server",
            );
        }
        None
    }

    async fn signed_get(
        &self,
        key: &Path,
        expires_in: Duration,
        headers: &ResponseHeaders,
    ) -> object_store::Result<String> {
        let mut options = SignedUrlOptions::default();
        if self.response_headers {
            let query = [
                ("response-content-disposition", &headers.content_disposition),
                ("response-content-type", &headers.content_type),
            ];
            options = options.with_query(query.into_iter().filter_map(|(name, value)| Some((name, value.clone()?))));
        }
        Ok(self.signer.signed_url_opts(Method::GET, key, expires_in, &options).await?.to_string())
    }
}
