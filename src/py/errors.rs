//! The single mapping from the core's `Error` to the Python exceptions of
//! `s3contents_rs.exceptions` (each carrying its HTTP status).

use pyo3::PyErr;

use s3contents_core::error::Error;

pyo3::import_exception!(s3contents_rs.exceptions, InvalidPathError);
pyo3::import_exception!(s3contents_rs.exceptions, BadRequestError);
pyo3::import_exception!(s3contents_rs.exceptions, NotFoundError);
pyo3::import_exception!(s3contents_rs.exceptions, AlreadyExistsError);
pyo3::import_exception!(s3contents_rs.exceptions, ConflictError);
pyo3::import_exception!(s3contents_rs.exceptions, PermissionDeniedError);
pyo3::import_exception!(s3contents_rs.exceptions, RangeNotSatisfiableError);
pyo3::import_exception!(s3contents_rs.exceptions, ConfigError);
pyo3::import_exception!(s3contents_rs.exceptions, StorageError);
pyo3::import_exception!(s3contents_rs.exceptions, InternalError);
pyo3::import_exception!(s3contents_rs.exceptions, StoreUnavailableError);
pyo3::import_exception!(s3contents_rs.exceptions, TooLargeError);

/// The message plus every distinct cause below it, for errors the user cannot fix alone.
fn with_causes(error: &Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// The Python exception for a core error: the one place that maps error kinds to classes.
pub fn to_py_err(error: Error) -> PyErr {
    let message = with_causes(&error);
    match error.cause() {
        Error::Incomplete { .. } => InternalError::new_err(message),
        Error::InvalidPath { .. } => InvalidPathError::new_err(message),
        Error::BadRequest(_) => BadRequestError::new_err(message),
        Error::NotFound { .. }
        | Error::OutsideRoot { .. }
        | Error::CheckpointNotFound { .. }
        | Error::BucketNotFound { .. } => NotFoundError::new_err(message),
        Error::AlreadyExists { .. } => AlreadyExistsError::new_err(message),
        Error::Conflict(_) => ConflictError::new_err(message),
        Error::PermissionDenied { .. } => PermissionDeniedError::new_err(message),
        Error::RangeNotSatisfiable { .. } => RangeNotSatisfiableError::new_err(message),
        Error::Config(_) => ConfigError::new_err(message),
        Error::Store { .. } => StorageError::new_err(message),
        Error::Internal(_) => InternalError::new_err(message),
        Error::Unavailable { .. } => StoreUnavailableError::new_err(message),
        Error::TooLarge { .. } => TooLargeError::new_err(message),
    }
}
