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

    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status Jupyter should answer with.
    pub fn status_code(&self) -> u16 {
        match self {
            Error::InvalidPath { .. } | Error::BadRequest(_) | Error::Config(_) => 400,
            Error::PermissionDenied { .. } => 403,
            Error::NotFound { .. } | Error::CheckpointNotFound { .. } => 404,
            Error::AlreadyExists { .. } | Error::Conflict(_) => 409,
            Error::RangeNotSatisfiable { .. } => 416,
            Error::Store { .. } | Error::Internal(_) => 500,
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

    /// Wrap a store error with what we were doing, mapping the kinds Jupyter cares about.
    pub fn from_store(op: &'static str, path: impl Into<String>, source: object_store::Error) -> Self {
        let path = path.into();
        match source {
            object_store::Error::NotFound { .. } => Error::NotFound { path },
            object_store::Error::AlreadyExists { .. } => Error::AlreadyExists { path },
            object_store::Error::Precondition { .. } => Error::Conflict(format!(
                "{path:?} was changed by someone else while trying to {op} it; reload and try again"
            )),
            object_store::Error::PermissionDenied { source, .. }
            | object_store::Error::Unauthenticated { source, .. } => refused(op, path, source.as_ref()),
            source if is_refusal(&source) => refused(op, path, &source),
            source => Error::Store { op, path, source },
        }
    }
}

fn refused(op: &'static str, path: String, source: &dyn std::error::Error) -> Error {
    Error::PermissionDenied {
        op,
        path,
        detail: format!(
            "the store refused the request ({source}); check that the credentials allow this operation on the bucket and prefix"
        ),
    }
}

/// S3 answers a bad or expired session token with 400, not 403.
const CREDENTIAL_ERROR_CODES: [&str; 2] = ["<Code>ExpiredToken</Code>", "<Code>InvalidToken</Code>"];

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
        let failed = Error::from_store("list", "a", generic("Server returned non-2xx status code: 500 Internal"));
        assert_eq!(failed.status_code(), 500);
    }
}
