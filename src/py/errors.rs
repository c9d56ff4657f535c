//! The single mapping from the core's `Error` to the Python exceptions of
//! `s3contents_rs.exceptions` (each carrying its HTTP status).

use pyo3::prelude::*;
use pyo3::types::PyDict;

use s3contents_core::error::{Error, ErrorKind};

/// The one table from error kind to Python class (in `s3contents_rs.exceptions`); the
/// classes take their HTTP status from `ErrorKind::status` through `ERROR_STATUS`.
macro_rules! exception_classes {
    ($($kind:ident => $class:ident),* $(,)?) => {
        $(pyo3::import_exception!(s3contents_rs.exceptions, $class);)*

        fn new_exception(kind: ErrorKind, message: String) -> PyErr {
            match kind {
                $(ErrorKind::$kind => $class::new_err(message),)*
            }
        }

        /// `{class name: HTTP status}`, exported to Python as `_core.ERROR_STATUS`.
        pub fn error_statuses(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
            let statuses = PyDict::new(py);
            $(statuses.set_item(stringify!($class), ErrorKind::$kind.status())?;)*
            Ok(statuses)
        }
    };
}

exception_classes! {
    InvalidPath => InvalidPathError,
    BadRequest => BadRequestError,
    Config => ConfigError,
    PermissionDenied => PermissionDeniedError,
    NotFound => NotFoundError,
    AlreadyExists => AlreadyExistsError,
    Conflict => ConflictError,
    RangeNotSatisfiable => RangeNotSatisfiableError,
    TooLarge => TooLargeError,
    Storage => StorageError,
    Unavailable => StoreUnavailableError,
    Internal => InternalError,
}

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

/// The Python exception for a core error. An operation that failed midway (`Incomplete`)
/// raises the class of what failed it; its message says what it left.
pub fn to_py_err(error: Error) -> PyErr {
    new_exception(error.kind(), with_causes(&error))
}
