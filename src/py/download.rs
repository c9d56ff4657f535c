//! `Download`: an object streaming out of the store in bounded pieces, for `/files`.

use std::sync::Arc;

use pyo3::prelude::*;
use tokio::sync::Mutex;

use super::convert::{Blob, PyEntry};
use crate::runtime::{block_on, into_awaitable};
use s3contents_core::contents::download::Download;

#[pyclass(frozen, name = "Download", module = "s3contents_rs._core")]
pub struct PyDownload {
    inner: Arc<Mutex<Download>>,
    /// The file (size is the whole object's, not the range's).
    #[pyo3(get)]
    entry: PyEntry,
    /// `(start, end)` of the bytes being sent (end exclusive) for a range request.
    #[pyo3(get)]
    range: Option<(u64, u64)>,
    /// The client's cached copy is current: answer 304 without a body.
    #[pyo3(get)]
    not_modified: bool,
}

impl From<Download> for PyDownload {
    fn from(download: Download) -> Self {
        Self {
            entry: PyEntry::from(download.entry.clone()),
            range: download.range.as_ref().map(|r| (r.start, r.end)),
            not_modified: download.not_modified,
            inner: Arc::new(Mutex::new(download)),
        }
    }
}

#[pymethods]
impl PyDownload {
    /// The next piece of the body as `bytes` (a few hundred KiB at most); `b""` at the end.
    fn read(&self, py: Python<'_>) -> PyResult<Blob> {
        let inner = self.inner.clone();
        block_on(py, async move { Ok(Blob(inner.lock().await.next_piece().await?.unwrap_or_default())) })
    }

    fn read_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        into_awaitable(py, async move { Ok(Blob(inner.lock().await.next_piece().await?.unwrap_or_default())) })
    }
}
