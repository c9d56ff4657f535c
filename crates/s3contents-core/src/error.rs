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

    /// The bucket (S3, GCS) or container (Azure) itself does not exist.
    #[error("the bucket does not exist (create it, or fix the bucket setting): {detail}")]
    BucketNotFound { detail: String },

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

    /// Invalid configuration, reported at startup with the name of the setting.
    #[error("{0}")]
    Config(String),

    /// Anything else the store reported (network, 5xx, ...).
    #[error("storage error while trying to {op} {path:?}: {source}")]
    Store {
        op: &'static str,
        path: String,
        #[source]
        source: object_store::Error,
    },

    /// The store could not be reached, or kept failing after the configured retries.
    #[error("the object store is unavailable while trying to {op} {path:?} (the request was retried and timed out or kept failing; check endpoint_url, the network, and the retry/timeout settings): {detail}")]
    Unavailable { op: &'static str, path: String, detail: String },

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
    AlreadyExists,
    Conflict,
    RangeNotSatisfiable,
    TooLarge,
    Storage,
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::InvalidPath,
        ErrorKind::BadRequest,
        ErrorKind::Config,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
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
            ErrorKind::NotFound => 404,
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
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::NotFound { .. }
            | Error::OutsideRoot { .. }
            | Error::CheckpointNotFound { .. }
            | Error::BucketNotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::RangeNotSatisfiable { .. } => ErrorKind::RangeNotSatisfiable,
            Error::TooLarge { .. } => ErrorKind::TooLarge,
            Error::Store { .. } => ErrorKind::Storage,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
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
            source if is_missing_bucket(&answer) => Error::BucketNotFound { detail: source.to_string() },
            object_store::Error::NotFound { .. } => Error::NotFound { path },
            object_store::Error::AlreadyExists { .. } => Error::AlreadyExists { path },
            object_store::Error::Precondition { .. } => Error::Conflict(format!(
                "{path:?} was changed by someone else while trying to {op} it; reload and try again"
            )),
            source if is_login_failure(&answer) => Error::PermissionDenied {
                op,
                path,
                detail: format!("no credentials for the store: the login was refused or could not be made ({source})"),
            },
            object_store::Error::PermissionDenied { source, .. }
            | object_store::Error::Unauthenticated { source, .. } => refused(op, path, source.as_ref()),
            source if is_refusal(&answer) => refused(op, path, &source),
            source if unavailable(&answer) => Error::Unavailable { op, path, detail: source.to_string() },
            source => Error::Store { op, path, source },
        }
    }
}

fn is_missing_bucket(answer: &Answer) -> bool {
    answer.code_is(&MISSING_BUCKET_CODES)
        // GCS's JSON API has only the generic reason "notFound"; its message says which.
        || (answer.status == Some(404) && answer.message_has("The specified bucket does not exist"))
}

fn refused(op: &'static str, path: String, source: &dyn std::error::Error) -> Error {
    Error::PermissionDenied {
        op,
        path,
        detail: format!(
            "the store refused the request ({source}); the credentials need {} on the bucket and prefix",
            permission_needed(op)
        ),
    }
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
        assert!(error.to_string().contains("no credentials for the store"), "{error}");
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
