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
    BucketNotFound => BucketNotFoundError,
    AlreadyExists => AlreadyExistsError,
    Conflict => ConflictError,
    RangeNotSatisfiable => RangeNotSatisfiableError,
    TooLarge => TooLargeError,
    Storage => StorageError,
    Unavailable => StoreUnavailableError,
    Internal => InternalError,
}

/// The Python exception for a core error: its message is for the user; the whole chain
/// of a store failure nobody classified goes to the log, for whoever runs the server.
/// An operation that failed midway (`Incomplete`) raises the class of what failed it;
/// its message says what it left.
pub fn to_py_err(error: Error) -> PyErr {
    if let Error::Store { source, .. } = error.cause() {
        log::warn!("{error} (the store's whole answer: {source})");
    }
    new_exception(error.kind(), error.to_string())
}
