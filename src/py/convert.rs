//! Rust values as Python objects.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyNone, PyString};

use s3contents_core::base64::{canonical_decoded_len, decode_canonical};
use s3contents_core::contents::checkpoints::Checkpoint;
use s3contents_core::contents::download::FileContent;
use s3contents_core::contents::{Entry, Fetched, Kind};
use s3contents_core::keys::ApiPath;

/// One file or directory as the store describes it.
#[pyclass(frozen, get_all, skip_from_py_object, name = "Entry", module = "s3contents_rs._core")]
#[derive(Clone)]
pub struct PyEntry {
    pub name: String,
    pub path: String,
    pub kind: &'static str,
    pub size: Option<u64>,
    pub last_modified: DateTime<Utc>,
    pub etag: Option<String>,
}

#[pymethods]
impl PyEntry {
    fn __repr__(&self) -> String {
        format!(
            "Entry(path={:?}, kind={:?}, size={:?}, last_modified={:?})",
            self.path,
            self.kind,
            self.size,
            self.last_modified.to_rfc3339()
        )
    }
}

impl From<Entry> for PyEntry {
    fn from(entry: Entry) -> Self {
        PyEntry {
            name: entry.name().to_string(),
            path: entry.path.as_str().to_string(),
            kind: entry.kind.as_str(),
            size: entry.size,
            last_modified: entry.last_modified,
            etag: entry.etag,
        }
    }
}

impl PyEntry {
    /// The core's entry of a listed file handed back (a copy's source, `copy_listed`);
    /// `None` for anything else.
    pub fn listed_file(&self) -> Option<Entry> {
        if self.kind != Kind::File.as_str() {
            return None;
        }
        Some(Entry {
            path: ApiPath::parse(&self.path).ok()?,
            kind: Kind::File,
            size: self.size,
            last_modified: self.last_modified,
            etag: self.etag.clone(),
        })
    }
}

#[pyclass(frozen, get_all, name = "Checkpoint", module = "s3contents_rs._core")]
pub struct PyCheckpoint {
    pub id: String,
    pub last_modified: DateTime<Utc>,
}

impl From<Checkpoint> for PyCheckpoint {
    fn from(c: Checkpoint) -> Self {
        PyCheckpoint { id: c.id, last_modified: c.last_modified }
    }
}

/// Bytes handed to Python as `bytes` (one copy, at the edge).
pub struct Blob(pub Bytes);

impl<'py> IntoPyObject<'py> for Blob {
    type Target = PyBytes;
    type Output = Bound<'py, PyBytes>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(bytes_copy(py, &self.0))
    }
}

/// A Python `bytes` copy of `data`. A large buffer is copied with the GIL released: at
/// 50 MB, allocating and filling the object holds it for tens of ms, and other threads
/// (the Jupyter server's event loop) would wait that long.
/// A saved file's base64 content as bytes, decoded without the GIL, when it is canonical
/// base64 (what JupyterLab sends); `None` for anything else, which the caller decodes
/// the lenient way Python's `base64` does (line breaks...) and words the errors of.
#[pyfunction]
pub fn decode_base64<'py>(py: Python<'py>, content: PyBackedStr) -> PyResult<Option<Bound<'py, PyBytes>>> {
    let text = content.as_bytes();
    let Some(size) = canonical_decoded_len(text) else { return Ok(None) };
    let mut decoded = false;
    let bytes = PyBytes::new_with(py, size, |out| {
        decoded = py.detach(|| decode_canonical(text, out));
        Ok(())
    })?;
    Ok(decoded.then_some(bytes))
}

pub fn bytes_copy<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    const LARGE: usize = 1 << 20;
    if data.len() < LARGE {
        return PyBytes::new(py, data);
    }
    // SAFETY: a new bytes object with room for `data`, not yet visible to any other
    // code, is filled before it is handed out (CPython allows this for a fresh object;
    // its address is passed as an integer because raw pointers are not Send).
    unsafe {
        let object = ffi::PyBytes_FromStringAndSize(std::ptr::null(), data.len() as ffi::Py_ssize_t);
        let object = Bound::from_owned_ptr(py, object).cast_into_unchecked::<PyBytes>();
        let buffer = ffi::PyBytes_AsString(object.as_ptr()) as usize;
        py.detach(|| std::ptr::copy_nonoverlapping(data.as_ptr(), buffer as *mut u8, data.len()));
        object
    }
}

/// A finished operation with nothing to return: Python `None` (not an empty tuple).
pub struct Done;

impl<'py> IntoPyObject<'py> for Done {
    type Target = PyNone;
    type Output = Borrowed<'py, 'py, PyNone>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(PyNone::get(py))
    }
}

/// File content as Python wants it: `bytes` for raw bytes, `str` for text and base64
/// (one copy into the Python object; no intermediate buffers).
pub struct PyFileContent(pub FileContent);

impl<'py> IntoPyObject<'py> for PyFileContent {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(match self.0 {
            FileContent::Bytes(data) => bytes_copy(py, &data).into_any(),
            FileContent::Text(data) => {
                let text = std::str::from_utf8(&data).unwrap_or_default();
                PyString::new(py, text).into_any()
            }
            FileContent::Base64(text) => PyString::new(py, &text).into_any(),
        })
    }
}

/// `get` result: `(entry, content or None, format or None, children or None)`, where
/// format is "bytes", "text" or "base64" and says what content holds.
pub type PyFetched = (PyEntry, Option<PyFileContent>, Option<&'static str>, Option<Vec<PyEntry>>);

pub fn fetched(f: Fetched) -> PyFetched {
    match f {
        Fetched::File { entry, data } => {
            let format = data.as_ref().map(FileContent::format);
            (entry.into(), data.map(PyFileContent), format, None)
        }
        Fetched::Directory { entry, children } => {
            (entry.into(), None, None, children.map(|c| c.into_iter().map(PyEntry::from).collect()))
        }
    }
}

pub fn entries(list: Vec<Entry>) -> Vec<PyEntry> {
    list.into_iter().map(PyEntry::from).collect()
}

pub fn checkpoints(list: Vec<Checkpoint>) -> Vec<PyCheckpoint> {
    list.into_iter().map(PyCheckpoint::from).collect()
}
