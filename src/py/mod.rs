//! The Python edge: the only module that knows about pyo3 types.

mod convert;
mod credentials;
mod download;
pub(crate) mod errors;
mod headers;
mod json;
mod store;

use std::sync::OnceLock;

use pyo3::prelude::*;

static LOG_RESET: OnceLock<pyo3_log::ResetHandle> = OnceLock::new();

/// Route the core's `log` records to Python's `logging`: our own (logger
/// `s3contents_rs.store`, debug and up) and warnings of the libraries below. Levels are
/// cached on the Rust side so a disabled record costs no GIL; `reset_log_cache` drops
/// that cache after the Python side changes a level.
pub fn init_logging(py: Python<'_>) {
    let Ok(logger) = pyo3_log::Logger::new(py, pyo3_log::Caching::LoggersAndLevels) else { return };
    let logger = logger.filter(log::LevelFilter::Warn).filter_target("s3contents_rs".into(), log::LevelFilter::Debug);
    if let Ok(handle) = logger.install() {
        let _ = LOG_RESET.set(handle);
    }
}

/// Forget the cached Python log levels (call after changing a logger's level).
#[pyfunction]
fn reset_log_cache() {
    if let Some(handle) = LOG_RESET.get() {
        handle.reset();
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<store::PyContentsStore>()?;
    m.add_class::<convert::PyEntry>()?;
    m.add_class::<convert::PyCheckpoint>()?;
    m.add_function(wrap_pyfunction!(reset_log_cache, m)?)?;
    m.add_function(wrap_pyfunction!(store::store_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(json::loads_yielding, m)?)?;
    m.add_function(wrap_pyfunction!(json::dumps_yielding, m)?)?;
    m.add_function(wrap_pyfunction!(convert::decode_base64, m)?)?;
    m.add_class::<download::PyDownload>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ERROR_STATUS", errors::error_statuses(m.py())?)?;
    Ok(())
}
