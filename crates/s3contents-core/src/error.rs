//! The one error type of the core, and its single mapping to HTTP statuses.
//!
//! Messages are written for the person using Jupyter: what failed and why. They never
//! contain credentials (object_store errors carry URLs and keys, never secrets).

use std::fmt;

use crate::answer::{Answer, MISSING_BUCKET_CODES};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A path the API cannot map to a key (traversal, control characters, too long).
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },

    /// A request that does not make sense for what is stored (type mismatch, bad data).
    #[error("{0}")]
    BadRequest(String),

    #[error("file or directory does not exist: {path:?}")]
    NotFound { path: String },

    /// A path whose `..` segments lead above the contents root (404, as FileContentsManager).
    #[error("{path:?} is outside the contents root")]
    OutsideRoot { path: String },

    /// The bucket (S3, GCS) or container (Azure) itself does not exist. The bucket's
    /// name is filled in by [`Error::placed`].
    #[error("bucket '{bucket}' does not exist (create it, or fix the bucket setting)")]
    BucketNotFound { bucket: String },

    #[error("checkpoint {id:?} of {path:?} does not exist")]
    CheckpointNotFound { path: String, id: String },

    #[error("file already exists: {path:?}")]
    AlreadyExists { path: String },

    /// The store refused a conditional request (the object changed underneath us).
    #[error("{0}")]
    Conflict(String),

    /// A download asked for bytes past the end of the file.
    #[error("range not satisfiable: {path:?} has {size} bytes")]
    RangeNotSatisfiable { path: String, size: u64 },

    #[error("permission denied while trying to {op} {path:?}: {detail}")]
    PermissionDenied { op: &'static str, path: String, detail: String },

    /// The store refused the credentials' request: which permission they lack, where.
    #[error("access denied to {place}: the credentials need {needs} (to {op} {path:?}; the store said: {said})")]
    AccessDenied { op: &'static str, path: String, place: String, needs: &'static str, said: String },

    /// No credentials could be had: none configured and none found, or a login refused.
    #[error("cannot log in to {place}: {detail}")]
    LoginFailed { place: String, detail: String },

    /// Invalid configuration, reported at startup with the name of the setting.
    #[error("{0}")]
    Config(String),

    /// Anything else the store reported; `said` is its answer in short (status, code,
    /// message), the whole error goes to the log.
    #[error("storage error while trying to {op} {path:?}: {said}")]
    Store {
        op: &'static str,
        path: String,
        said: String,
        #[source]
        source: Box<object_store::Error>,
    },

    /// Nothing answered at the store's endpoint (refused, timed out, no route), after
    /// the configured retries.
    #[error("cannot reach {endpoint}: {detail} (check endpoint_url, the network, and that the store is up)")]
    Unreachable { endpoint: String, detail: String },

    /// The store answered, but kept failing (5xx, throttling) after the configured retries.
    #[error("the store at {endpoint} kept failing to {op} {path:?} after retries: {said}")]
    Unavailable { op: &'static str, path: String, endpoint: String, said: String },

    #[error("internal error: {0}")]
    Internal(String),

    /// More bytes than the server will hold in memory, or than one upload can take.
    #[error("{path:?} is too large: {detail}")]
    TooLarge { path: String, detail: String },

    /// An operation that failed midway, with what it left behind (so the user knows the
    /// state, and that retrying it is safe). Same status as the failure itself.
    #[error("{source}; {state}")]
    Incomplete { state: String, source: Box<Error> },
}

/// What kind of failure an [`Error`] is: the Python exception class and the HTTP status
/// Jupyter answers with. `ErrorKind::status` is the one table of statuses (the bindings
/// hand it to Python, whose exception classes take their `status_code` from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidPath,
    BadRequest,
    Config,
    PermissionDenied,
    NotFound,
    BucketNotFound,
    AlreadyExists,
    Conflict,
    RangeNotSatisfiable,
    TooLarge,
    Storage,
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::InvalidPath,
        ErrorKind::BadRequest,
        ErrorKind::Config,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::BucketNotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::Conflict,
        ErrorKind::RangeNotSatisfiable,
        ErrorKind::TooLarge,
        ErrorKind::Storage,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];

    /// The HTTP status Jupyter should answer with.
    pub const fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidPath | ErrorKind::BadRequest | ErrorKind::Config => 400,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::NotFound | ErrorKind::BucketNotFound => 404,
            ErrorKind::AlreadyExists | ErrorKind::Conflict => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::RangeNotSatisfiable => 416,
            ErrorKind::Storage | ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
        }
    }
}

impl Error {
    /// The kind of failure; an incomplete operation has the kind of what failed it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidPath { .. } => ErrorKind::InvalidPath,
            Error::BadRequest(_) => ErrorKind::BadRequest,
            Error::Config(_) => ErrorKind::Config,
            Error::PermissionDenied { .. } | Error::AccessDenied { .. } | Error::LoginFailed { .. } => {
                ErrorKind::PermissionDenied
            }
            Error::NotFound { .. } | Error::OutsideRoot { .. } | Error::CheckpointNotFound { .. } => {
                ErrorKind::NotFound
            }
            Error::BucketNotFound { .. } => ErrorKind::BucketNotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::RangeNotSatisfiable { .. } => ErrorKind::RangeNotSatisfiable,
            Error::TooLarge { .. } => ErrorKind::TooLarge,
            Error::Store { .. } => ErrorKind::Storage,
            Error::Unavailable { .. } | Error::Unreachable { .. } => ErrorKind::Unavailable,
            Error::Internal(_) => ErrorKind::Internal,
            Error::Incomplete { source, .. } => source.kind(),
        }
    }

    /// The HTTP status Jupyter should answer with.
    pub fn status_code(&self) -> u16 {
        self.kind().status()
    }

    /// This error, saying what state the failed operation left.
    pub fn leaving(self, state: impl Into<String>) -> Self {
        let state = state.into();
        match self {
            Error::Incomplete { source, .. } => Error::Incomplete { state, source },
            other => Error::Incomplete { state, source: Box::new(other) },
        }
    }

    /// The failure itself, without the state an `Incomplete` adds.
    pub fn cause(&self) -> &Error {
        match self {
            Error::Incomplete { source, .. } => source.cause(),
            other => other,
        }
    }

    pub fn invalid_path(path: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::InvalidPath { path: path.into(), reason: reason.to_string() }
    }

    pub fn not_found(path: impl Into<String>) -> Self {
        Error::NotFound { path: path.into() }
    }

    pub fn already_exists(path: impl Into<String>) -> Self {
        Error::AlreadyExists { path: path.into() }
    }

    /// Refusal of a write by a manager configured with `read_only`.
    pub fn read_only(op: &'static str, path: impl Into<String>) -> Self {
        Error::PermissionDenied {
            op,
            path: path.into(),
            detail: "this contents manager is read-only (read_only = True); nothing can be changed here".into(),
        }
    }

    /// Wrap a store error with what we were doing, mapping the kinds Jupyter cares about.
    /// Decided by the error's variant and what the store answered (`Answer`: status and
    /// error code), never by the error's text.
    pub fn from_store(op: &'static str, path: impl Into<String>, source: object_store::Error) -> Self {
        let path = path.into();
        let answer = Answer::of(&source);
        match source {
            _ if is_missing_bucket(&answer) => Error::BucketNotFound { bucket: String::new() },
            object_store::Error::NotFound { .. } => Error::NotFound { path },
            object_store::Error::AlreadyExists { .. } => Error::AlreadyExists { path },
            object_store::Error::Precondition { .. } => Error::Conflict(format!(
                "{path:?} was changed by someone else while trying to {op} it; reload and try again"
            )),
            source if is_login_failure(&answer) => {
                Error::LoginFailed { place: String::new(), detail: login_detail(&answer, &source) }
            }
            _ if is_refusal(&answer) => Error::AccessDenied {
                op,
                path,
                place: String::new(),
                needs: permission_needed(op),
                said: answer.summary().unwrap_or_else(|| "access denied".into()),
            },
            source if crate::answer::unreachable(&answer) => {
                Error::Unreachable { endpoint: String::new(), detail: innermost(&source) }
            }
            source if unavailable(&answer) => Error::Unavailable {
                op,
                path,
                endpoint: String::new(),
                said: answer.summary().unwrap_or_else(|| innermost(&source)),
            },
            source => {
                let said = answer.summary().unwrap_or_else(|| source.to_string());
                Error::Store { op, path, said, source: Box::new(source) }
            }
        }
    }

    /// This error, naming the store it happened in (the core's operations know paths, not
    /// where the store is): the bucket, `s3://bucket/prefix`, the endpoint.
    pub fn placed(self, place: &Place) -> Self {
        let fill = |named: String, value: &str| if named.is_empty() { value.to_string() } else { named };
        match self {
            Error::BucketNotFound { bucket } => Error::BucketNotFound { bucket: fill(bucket, &place.bucket) },
            Error::AccessDenied { op, path, place: named, needs, said } => {
                Error::AccessDenied { op, path, place: fill(named, &place.url), needs, said }
            }
            Error::LoginFailed { place: named, detail } => {
                Error::LoginFailed { place: fill(named, &place.url), detail }
            }
            Error::Unreachable { endpoint, detail } => {
                Error::Unreachable { endpoint: fill(endpoint, &place.endpoint), detail }
            }
            Error::Unavailable { op, path, endpoint, said } => {
                Error::Unavailable { op, path, endpoint: fill(endpoint, &place.endpoint), said }
            }
            Error::Incomplete { state, source } => Error::Incomplete { state, source: Box::new(source.placed(place)) },
            other => other,
        }
    }
}

/// Where a store is, as messages name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// `scheme://bucket/prefix`, never with a user or password.
    pub url: String,
    /// The bucket (S3, GCS) or container (Azure).
    pub bucket: String,
    /// Where requests go: `https://s3.us-east-1.amazonaws.com`, `http://127.0.0.1:9000`.
    pub endpoint: String,
}

impl Place {
    /// The place of the store at `url` (`s3://bucket`, `file:///dir`), under `prefix`.
    pub fn new(url: &str, prefix: &str, endpoint: String) -> Self {
        let (mut shown, bucket) = match url::Url::parse(url) {
            Ok(parsed) if parsed.scheme() != "file" && parsed.host_str().is_some() => {
                let bucket = parsed.host_str().unwrap_or_default().to_string();
                (format!("{}://{bucket}", parsed.scheme()), bucket)
            }
            _ => (url.trim_end_matches('/').to_string(), String::new()),
        };
        if !prefix.is_empty() {
            shown.push('/');
            shown.push_str(prefix.trim_matches('/'));
        }
        Place { url: shown, bucket, endpoint }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// The last error of a chain: the transport's own words ("Connection refused"), without
/// the URLs and request wrappers above it.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// What a failed login says: a credential source's own message (our [`LoginFailure`]s are
/// written for users), else the token endpoint's answer.
fn login_detail(answer: &Answer, source: &object_store::Error) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source);
    while let Some(e) = cause {
        if let Some(failure) = e.downcast_ref::<crate::answer::LoginFailure>() {
            return failure.to_string();
        }
        cause = e.source();
    }
    match answer.summary() {
        Some(said) => format!("the login was refused: {said}"),
        None => format!("the login could not be made: {}", innermost(source)),
    }
}

fn is_missing_bucket(answer: &Answer) -> bool {
    answer.code_is(&MISSING_BUCKET_CODES)
        // GCS's JSON API has only the generic reason "notFound"; its message says which.
        || (answer.status == Some(404) && answer.message_has("The specified bucket does not exist"))
}

/// S3 answers a bad or expired session token with 400, not 403.
const CREDENTIAL_ERROR_CODES: [&str; 2] = ["ExpiredToken", "InvalidToken"];

/// What STS answers AssumeRoleWithWebIdentity with a token it does not accept.
const LOGIN_REFUSAL_CODES: [&str; 3] = ["InvalidIdentityToken", "ExpiredTokenException", "IDPRejectedClaim"];

/// Getting credentials failed before the store was asked: the token exchange (STS
/// AssumeRoleWithWebIdentity, OAuth) refused the login, or a credential source (a token
/// file, the credential provider of src/py/credentials.rs) gave nothing.
fn is_login_failure(answer: &Answer) -> bool {
    answer.no_credentials
        || answer.code_is(&LOGIN_REFUSAL_CODES)
        || (answer.login && matches!(answer.status, Some(400..=499)))
}

/// A refusal object_store may leave generic (a refused LIST): 401/403, or S3's 400 for a
/// bad session token.
fn is_refusal(answer: &Answer) -> bool {
    matches!(answer.status, Some(401 | 403)) || answer.code_is(&CREDENTIAL_ERROR_CODES)
}

/// The permissions an operation needs, named as in IAM policies (S3 is the common case;
/// other stores have equivalent roles).
fn permission_needed(op: &str) -> &'static str {
    match op {
        "read" | "read a checkpoint of" => "s3:GetObject",
        "list" | "list checkpoints of" => "s3:ListBucket",
        "delete" | "delete a checkpoint of" => "s3:DeleteObject (and s3:ListBucket)",
        "copy"
        | "rename"
        | "move to the trash"
        | "create a checkpoint of"
        | "restore a checkpoint of"
        | "rename a checkpoint of" => "s3:GetObject, s3:PutObject and s3:DeleteObject",
        _ => "s3:PutObject",
    }
}

/// Transport failures (refused connections, timeouts) and server errors that outlived
/// the retries (5xx, S3's SlowDown): the store is down or overloaded, not the request wrong.
fn unavailable(answer: &Answer) -> bool {
    crate::answer::unreachable(answer) || matches!(answer.status, Some(500..=599)) || answer.code_is(&["SlowDown"])
}

/// `unavailable`, for an error not yet read.
pub(crate) fn is_unavailable(error: &object_store::Error) -> bool {
    unavailable(&Answer::of(error))
}

/// Extension to attach the operation and path to store results in one call.
pub trait StoreResultExt<T> {
    fn during(self, op: &'static str, path: &str) -> Result<T>;
}

impl<T> StoreResultExt<T> for std::result::Result<T, object_store::Error> {
    fn during(self, op: &'static str, path: &str) -> Result<T> {
        self.map_err(|e| Error::from_store(op, path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The classification of errors the local S3, GCS and Azure servers produce is tested
    // against those servers: tests/test_error_classification.py (and the login tests of
    // tests/test_s3_connection.py, tests/test_backend_gcs.py). What stays here are the
    // answers only the cloud gives (AWS's SlowDown and ExpiredToken, OAuth refusals of
    // Google's token endpoint), built as object_store reports them.

    fn generic(text: &str) -> object_store::Error {
        object_store::Error::Generic { store: "S3", source: text.to_string().into() }
    }

    #[test]
    fn answers_only_the_cloud_gives() {
        // AWS: an expired session token is a 400, but a refusal.
        let expired =
            generic("Server returned non-2xx status code: 400 Bad Request: <Error><Code>ExpiredToken</Code></Error>");
        assert_eq!(Error::from_store("list", "a", expired).status_code(), 403);
        // AWS: throttling that outlived the retries.
        let slow = generic("Server returned error response: <Error><Code>SlowDown</Code></Error>");
        assert_eq!(Error::from_store("list", "a", slow).status_code(), 503);
        // A status nobody maps is the store's failure (500), not ours to guess.
        let odd = generic("Server returned non-2xx status code: 418 I'm a teapot: <Error><Code>Teapot</Code></Error>");
        assert_eq!(Error::from_store("list", "a", odd).status_code(), 500);
    }

    #[test]
    fn oauth_refusals_are_failed_logins_and_token_outages_are_not() {
        // Google's token endpoint refusing a service account (fake-gcs-server has none).
        let refused = generic("Server returned non-2xx status code: 400 Bad Request: {\"error\": \"invalid_grant\"}");
        let error = Error::from_store("save", "a.txt", refused);
        assert_eq!(error.status_code(), 403);
        assert!(error.to_string().starts_with("cannot log in to"), "{error}");
        assert!(error.to_string().contains("invalid_grant"), "{error}");
        let down = generic("Server returned non-2xx status code: 503 Service Unavailable: {\"error\": \"backend\"}");
        assert_eq!(Error::from_store("save", "a.txt", down).status_code(), 503);
    }

    #[test]
    fn every_kind_has_one_status() {
        for kind in ErrorKind::ALL {
            assert!((400..=599).contains(&kind.status()), "{kind:?}");
        }
    }
}
