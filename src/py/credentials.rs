//! S3 credentials from a Python callable (`credential_provider`, or a boto3 session's
//! refreshable credentials), asked again shortly before they expire.
//!
//! The callable runs on a blocking thread that takes the GIL there: tokio workers never
//! wait for the GIL, and a sync call (which releases the GIL while it waits) cannot
//! deadlock with it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use object_store::aws::AwsCredential;
use object_store::CredentialProvider;
use pyo3::prelude::*;
use tokio::sync::Mutex;

/// Ask for new credentials this long before the current ones expire (as object_store's
/// own token providers do).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// What the callable returns: key, secret, session token, expiry (Unix seconds).
type Fresh = (String, String, Option<String>, Option<f64>);

#[derive(Debug)]
struct Cached {
    credential: Arc<AwsCredential>,
    expires: Option<SystemTime>,
}

#[derive(Debug)]
pub struct PythonCredentialProvider {
    callback: Arc<Py<PyAny>>,
    cached: Mutex<Option<Cached>>,
}

impl PythonCredentialProvider {
    pub fn new(callback: Py<PyAny>) -> Self {
        Self { callback: Arc::new(callback), cached: Mutex::new(None) }
    }
}

fn still_fresh(cached: &Cached) -> bool {
    match cached.expires {
        None => true,
        Some(expires) => expires.duration_since(SystemTime::now()).is_ok_and(|left| left > REFRESH_MARGIN),
    }
}

fn refused(message: String) -> object_store::Error {
    let failure = s3contents_core::answer::LoginFailure(message);
    object_store::Error::Unauthenticated { path: String::new(), source: Box::new(failure) }
}

#[async_trait]
impl CredentialProvider for PythonCredentialProvider {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref().filter(|c| still_fresh(c)) {
            return Ok(current.credential.clone());
        }
        let callback = self.callback.clone();
        let fresh = tokio::task::spawn_blocking(move || {
            Python::attach(|py| -> PyResult<Fresh> { callback.bind(py).call0()?.extract() })
        })
        .await
        .map_err(|e| refused(format!("the credential provider did not finish: {e}")))?
        .map_err(|e| refused(format!("the credential provider failed: {e}")))?;
        let (key_id, secret_key, token, expiry) = fresh;
        if key_id.is_empty() || secret_key.is_empty() {
            return Err(refused("the credential provider returned an empty access key or secret".into()));
        }
        let expires = expiry.filter(|t| t.is_finite()).map(|t| UNIX_EPOCH + Duration::from_secs_f64(t.max(0.0)));
        let credential = Arc::new(AwsCredential { key_id, secret_key, token });
        *cached = Some(Cached { credential: credential.clone(), expires });
        Ok(credential)
    }
}
