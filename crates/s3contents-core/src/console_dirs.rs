//! Deleting the zero-byte `dir/` keys the AWS console creates for folders.
//!
//! object_store's `Path` cannot name a key ending in "/", so neither its delete nor its
//! bulk delete can remove them; this sends that one DELETE itself, signed as
//! object_store signs (`SignedS3`).

use async_trait::async_trait;
use object_store::client::HttpRequestBody;
use object_store::path::Path;

use crate::contents::backend::DirKeys;
use crate::signed_s3::SignedS3;

#[derive(Debug)]
pub struct DirKeyDeleter {
    s3: SignedS3,
}

impl DirKeyDeleter {
    pub fn new(s3: SignedS3) -> Self {
        Self { s3 }
    }
}

#[async_trait]
impl DirKeys for DirKeyDeleter {
    async fn delete_dir_key(&self, dir: &Path) -> object_store::Result<()> {
        let generic =
            |source: Box<dyn std::error::Error + Send + Sync>| object_store::Error::Generic { store: "S3", source };
        let url = self.s3.url(dir, "/");
        let request = http::Request::builder()
            .method(http::Method::DELETE)
            .uri(&url)
            .body(HttpRequestBody::empty())
            .map_err(|e| generic(Box::new(e)))?;
        let response = self.s3.execute(request).await?;
        let status = response.status();
        if status.is_success() || status == http::StatusCode::NOT_FOUND {
            return Ok(());
        }
        let body = response.into_body().bytes().await.unwrap_or_default();
        Err(crate::answer::ResponseError::new(status, format!("DELETE {url}"), &body).into_store_error("S3", &url))
    }
}
