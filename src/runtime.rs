//! The one tokio runtime (pyo3-async-runtimes' own), and the two ways Python waits on it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use futures::FutureExt;
use pyo3::prelude::*;

use s3contents_core::error::Error;

use crate::py::errors::to_py_err;

static LOADED_IN_PID: OnceLock<u32> = OnceLock::new();

/// Remember the process that loaded the module; tokio's threads do not survive fork().
pub fn record_pid() {
    LOADED_IN_PID.get_or_init(std::process::id);
}

fn check_fork() -> Result<(), Error> {
    match LOADED_IN_PID.get() {
        Some(pid) if *pid != std::process::id() => Err(Error::Internal(
            "s3contents_rs was used in a process forked after it started its I/O threads; \
             create the contents manager in the child process instead"
                .into(),
        )),
        _ => Ok(()),
    }
}

/// Turn a panic in Rust code into an internal error (a bare PanicException would escape
/// Jupyter's error handling as a BaseException).
async fn catch_panics<F, T>(fut: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>>,
{
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Internal(what))
        }
    }
}

/// Run `fut` to completion for a synchronous Python call, with the GIL released so
/// other Python threads (and credential callbacks that need the GIL) keep running.
pub fn block_on<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = Result<T, Error>> + Send,
    T: Send,
{
    check_fork().map_err(to_py_err)?;
    py.detach(|| pyo3_async_runtimes::tokio::get_runtime().block_on(catch_panics(fut))).map_err(to_py_err)
}

/// Wrap `fut` as a Python awaitable on the running asyncio loop; cancelling the
/// awaitable drops (cancels) the Rust future.
pub fn into_awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    check_fork().map_err(to_py_err)?;
    pyo3_async_runtimes::tokio::future_into_py(py, async move { catch_panics(fut).await.map_err(to_py_err) })
}
