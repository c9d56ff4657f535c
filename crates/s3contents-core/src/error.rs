//! The one error type of the core, and its single mapping to HTTP statuses.
//!
//! Messages are written for the person using Jupyter: what failed and why. They never
//! contain credentials (object_store errors carry URLs and keys, never secrets).

use std::fmt;

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
    pub fn from_store(op: &'static str, path: impl Into<String>, source: object_store::Error) -> Self {
        let path = path.into();
        match source {
            source if is_missing_bucket(&source) => Error::BucketNotFound { detail: source.to_string() },
            object_store::Error::NotFound { .. } => Error::NotFound { path },
            object_store::Error::AlreadyExists { .. } => Error::AlreadyExists { path },
            object_store::Error::Precondition { .. } => Error::Conflict(format!(
                "{path:?} was changed by someone else while trying to {op} it; reload and try again"
            )),
            source if is_login_failure(&source) => Error::PermissionDenied {
                op,
                path,
                detail: format!("no credentials for the store: the login was refused or could not be made ({source})"),
            },
            object_store::Error::PermissionDenied { source, .. }
            | object_store::Error::Unauthenticated { source, .. } => refused(op, path, source.as_ref()),
            source if is_refusal(&source) => refused(op, path, &source),
            source if is_unavailable(&source) => Error::Unavailable { op, path, detail: source.to_string() },
            source => Error::Store { op, path, source },
        }
    }
}

/// What S3 (and GCS's XML API), GCS's JSON API and Azure answer for a bucket or container
/// that does not exist; object_store reports it as a plain 404 or a generic error.
const MISSING_BUCKET_MARKS: [&str; 3] =
    ["<Code>NoSuchBucket</Code>", "The specified bucket does not exist", "<Code>ContainerNotFound</Code>"];

fn is_missing_bucket(error: &object_store::Error) -> bool {
    let text = error.to_string();
    MISSING_BUCKET_MARKS.iter().any(|mark| text.contains(mark))
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
const CREDENTIAL_ERROR_CODES: [&str; 2] = ["<Code>ExpiredToken</Code>", "<Code>InvalidToken</Code>"];

/// Signs that getting credentials failed before the store was asked: the token exchange
/// (STS AssumeRoleWithWebIdentity, OAuth) refused the login, or a token file a login
/// needs cannot be read. object_store reports these as generic errors, so only the text
/// tells them apart.
const LOGIN_FAILURES: [&str; 6] = [
    "the credential provider", // src/py/credentials.rs: credential_provider, boto3_session, AWS_PROFILE
    "<Code>InvalidIdentityToken</Code>",
    "<Code>ExpiredTokenException</Code>",
    "<Code>IDPRejectedClaim</Code>",
    "Failed to read token file",
    "Failed to read EKS token file",
];

fn is_login_failure(error: &object_store::Error) -> bool {
    let text = error.to_string();
    LOGIN_FAILURES.iter().any(|mark| text.contains(mark))
        || (text.contains("Error performing token request") && matches!(http_status(error), Some(400..=499)))
}

/// object_store reports a refused LIST (and a few others) as a generic error; the HTTP
/// status is then only in the message of the request error it wraps.
fn is_refusal(error: &object_store::Error) -> bool {
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = cause {
        let text = e.to_string();
        if text.contains("status code: 401")
            || text.contains("status code: 403")
            || CREDENTIAL_ERROR_CODES.iter().any(|code| text.contains(code))
        {
            return true;
        }
        cause = e.source();
    }
    false
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
/// the retries: the store is down or overloaded, not the request wrong.
pub(crate) fn is_unavailable(error: &object_store::Error) -> bool {
    use object_store::client::{HttpError, HttpErrorKind};
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(http) = cause.downcast_ref::<HttpError>() {
            if matches!(
                http.kind(),
                HttpErrorKind::Connect | HttpErrorKind::Request | HttpErrorKind::Timeout | HttpErrorKind::Interrupted
            ) {
                return true;
            }
        }
        source = cause.source();
    }
    matches!(http_status(error), Some(500..=599)) || error.to_string().contains("SlowDown")
}

/// The HTTP status the store answered, for errors object_store does not classify (its
/// list and bulk-delete errors are `Generic`, and its retry error type is private: the
/// text is the only handle on the status).
fn http_status(error: &object_store::Error) -> Option<u16> {
    const MARK: &str = "Server returned non-2xx status code: ";
    let text = error.to_string();
    let at = text.find(MARK)? + MARK.len();
    text.get(at..at + 3)?.parse().ok()
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

    #[test]
    fn refusals_hidden_in_generic_errors_are_403() {
        let generic = |text: &str| object_store::Error::Generic { store: "S3", source: text.to_string().into() };
        let denied = Error::from_store(
            "list",
            "a",
            generic("Error performing list request: Server returned non-2xx status code: 403 Forbidden: ..."),
        );
        assert_eq!(denied.status_code(), 403);
        let expired = generic("status code: 400 Bad Request: <Error><Code>ExpiredToken</Code></Error>");
        assert_eq!(Error::from_store("list", "a", expired).status_code(), 403);
        // A store still failing after the retries is unavailable (503), not a bug here.
        let failed = Error::from_store("list", "a", generic("Server returned non-2xx status code: 500 Internal"));
        assert_eq!(failed.status_code(), 503);
        let odd = Error::from_store("list", "a", generic("Server returned non-2xx status code: 418 Teapot"));
        assert_eq!(odd.status_code(), 500);
    }

    #[test]
    fn a_missing_bucket_is_404_and_says_so() {
        let generic = |text: &str| object_store::Error::Generic { store: "S3", source: text.to_string().into() };
        let missing = Error::from_store(
            "list",
            "",
            generic("Server returned non-2xx status code: 404 Not Found: <Error><Code>NoSuchBucket</Code></Error>"),
        );
        assert_eq!(missing.status_code(), 404);
        assert!(missing.to_string().starts_with("the bucket does not exist"), "{missing}");
        let key = object_store::Error::NotFound { path: "a".into(), source: "<Code>NoSuchKey</Code>".into() };
        assert!(matches!(Error::from_store("read", "a", key), Error::NotFound { .. }));
    }

    #[test]
    fn failed_logins_are_403() {
        let generic = |text: &str| object_store::Error::Generic { store: "S3", source: text.to_string().into() };
        for text in [
            "Error performing POST REDACTED - Server returned non-2xx status code: 400 Bad Request: \
             <ErrorResponse><Error><Code>InvalidIdentityToken</Code></Error></ErrorResponse>",
            "Failed to read token file '/var/run/token': No such file or directory (os error 2)",
            "Error performing token request: Error performing POST https://accounts.google.com/o/oauth2/token \
             - Server returned non-2xx status code: 400 Bad Request: {\"error\": \"invalid_grant\"}",
        ] {
            let error = Error::from_store("save", "a.txt", generic(text));
            assert_eq!(error.status_code(), 403, "{text}");
            assert!(error.to_string().contains("no credentials for the store"), "{error}");
        }
        // A token endpoint that is down is a store outage, not a refused login.
        let down = generic("Error performing token request: Server returned non-2xx status code: 503 Unavailable");
        assert_eq!(Error::from_store("save", "a.txt", down).status_code(), 503);
    }
}
