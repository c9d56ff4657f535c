//! `ContentsStore`: every storage operation as a blocking method (GIL released while it
//! waits) and an `_async` twin returning an awaitable. Both twins run the same future.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;

use object_store::aws::AwsCredentialProvider;

use super::convert::{self, Done, PyCheckpoint, PyEntry, PyFetched};
use super::credentials::PythonCredentialProvider;
use super::download::PyDownload;
use super::headers;
use crate::py::errors::to_py_err;
use crate::runtime::{block_on, into_awaitable};
use s3contents_core::contents::backend::ResponseHeaders;
use s3contents_core::contents::download::{DownloadLink, Encoding};
use s3contents_core::contents::upload::{ChunkOutcome, Uploads, DEFAULT_PART_SIZE, MAX_PARTS};
use s3contents_core::contents::{Contents, DEFAULT_CONCURRENCY, DEFAULT_MAX_CONTENT_SIZE};
use s3contents_core::error::{Error, Place};
use s3contents_core::keys::{ApiPath, KeyMapper};
use s3contents_core::large_copy::{CopySettings, LargeCopyStore, DEFAULT_COPY_PART_SIZE, S3_MAX_SINGLE_COPY};
use s3contents_core::metrics;
use s3contents_core::store::{build_store_metered, url_prefix};
use s3contents_core::tuning::Tuning;
use std::future::Future;
use std::time::Duration;

#[pyclass(frozen, weakref, name = "ContentsStore", module = "s3contents_rs._core")]
pub struct PyContentsStore {
    contents: Arc<Contents>,
    url: String,
    place: Arc<Place>,
}

/// The operation's errors, naming the store they happened in.
async fn placed<T>(place: Arc<Place>, operation: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    operation.await.map_err(|error| error.placed(&place))
}

fn path(raw: &str) -> s3contents_core::error::Result<ApiPath> {
    ApiPath::parse(raw)
}

/// Declares each operation once; expands to `name` (sync) and `name_async` methods.
macro_rules! operations {
    (
        extra { $($extra:tt)* }
        $( fn $name:ident / $async_name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty
            = |$c:ident| $body:expr ; )*
    ) => {
        #[pymethods]
        impl PyContentsStore {
            $($extra)*
            $(
                fn $name(&self, py: Python<'_>, $($arg: $ty),*) -> PyResult<$ret> {
                    let $c = self.contents.clone();
                    block_on(py, placed(self.place.clone(), async move { $body }))
                }

                fn $async_name<'py>(&self, py: Python<'py>, $($arg: $ty),*) -> PyResult<Bound<'py, PyAny>> {
                    let $c = self.contents.clone();
                    into_awaitable(py, placed(self.place.clone(), async move { $body }))
                }
            )*
        }
    };
}

operations! {
    extra {
        #[new]
        #[pyo3(signature = (url, prefix = "", options = None, concurrency = DEFAULT_CONCURRENCY,
                            upload_part_size = DEFAULT_PART_SIZE, upload_timeout = 3600.0,
                            read_only = false, max_retries = 3, retry_timeout = 30.0,
                            connect_timeout = 5.0, request_timeout = 60.0, credential_provider = None,
                            multipart_copy_threshold = S3_MAX_SINGLE_COPY,
                            multipart_copy_part_size = DEFAULT_COPY_PART_SIZE,
                            max_content_size = DEFAULT_MAX_CONTENT_SIZE, upload_max_parts = MAX_PARTS))]
        #[allow(clippy::too_many_arguments)]
        fn new(
            url: &str,
            prefix: &str,
            options: Option<HashMap<String, String>>,
            concurrency: usize,
            upload_part_size: usize,
            upload_timeout: f64,
            read_only: bool,
            max_retries: usize,
            retry_timeout: f64,
            connect_timeout: f64,
            request_timeout: f64,
            credential_provider: Option<Py<PyAny>>,
            multipart_copy_threshold: u64,
            multipart_copy_part_size: u64,
            max_content_size: u64,
            upload_max_parts: usize,
        ) -> PyResult<Self> {
            let mut options: Vec<(String, String)> = options.unwrap_or_default().into_iter().collect();
            options.sort();
            let credentials = credential_provider
                .map(|callback| Arc::new(PythonCredentialProvider::new(callback)) as AwsCredentialProvider);
            let tuning = Tuning::from_seconds(max_retries, retry_timeout, connect_timeout, request_timeout).map_err(to_py_err)?;
            let copy_settings = CopySettings::new(multipart_copy_threshold, multipart_copy_part_size).map_err(to_py_err)?;
            let url_prefix = url_prefix(url).map_err(to_py_err)?;
            let full_prefix = [url_prefix.as_str(), prefix.trim_matches('/')]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("/");
            // The metrics' `store` label: the place, as messages name it (no credentials).
            let label = Place::new(url, &full_prefix, String::new()).url;
            let mut built = build_store_metered(url, &options, credentials, &tuning, metrics::for_store(&label))
                .map_err(to_py_err)?;
            if let Some(copier) = built.large_copier.take() {
                built.store = Arc::new(LargeCopyStore::new(built.store, copier, copy_settings));
            }
            let mut keys = KeyMapper::new(&full_prefix).map_err(to_py_err)?;
            if url.starts_with("file:") {
                keys = keys.for_local_files();
            }
            if !(upload_timeout.is_finite() && upload_timeout > 0.0) {
                return Err(to_py_err(Error::Config("upload_timeout must be a positive number of seconds".into())));
            }
            let uploads =
                Uploads::with_max_parts(upload_part_size, Duration::from_secs_f64(upload_timeout), upload_max_parts).map_err(to_py_err)?;
            let contents = Contents::new(built.store, keys).with_concurrency(concurrency)
                .with_retries(tuning.max_retries)
                .with_uploads(uploads)
                .with_read_only(read_only)
                .with_max_content_size(max_content_size)
                .with_dir_keys(built.dir_keys)
                .with_one_key_probe(built.one_key)
                // A lowered multipart-copy threshold splits copies the single COPY would make.
                .with_reporting_copy(built.reporting_copy.filter(|_| copy_settings.threshold >= S3_MAX_SINGLE_COPY))
                .with_open_uploads(built.open_uploads)
                .with_url_signer(built.url_signer);
            let place = Place::new(url, &full_prefix, built.endpoint);
            Ok(Self { contents: Arc::new(contents), url: url.to_string(), place: Arc::new(place) })
        }

        /// The key prefix everything lives under (without slashes; may be empty).
        #[getter]
        fn prefix(&self) -> &str {
            self.contents.keys().prefix()
        }

        #[getter]
        fn url(&self) -> &str {
            &self.url
        }

        /// Where the contents are, as messages and the log name it: `s3://bucket/prefix`.
        #[getter]
        fn place(&self) -> &str {
            &self.place.url
        }

        /// The object key for an API path (validates the path).
        fn key_for(&self, api_path: &str) -> PyResult<String> {
            let p = path(api_path).map_err(to_py_err)?;
            Ok(if p.is_root() {
                self.contents.keys().prefix().to_string()
            } else {
                self.contents.keys().file_key(&p).map_err(to_py_err)?.to_string()
            })
        }

        #[getter]
        fn read_only(&self) -> bool {
            self.contents.read_only()
        }

        /// The largest folder `copy` accepts, in bytes (0: no limit).
        fn set_max_copy_folder_bytes(&self, limit: u64) {
            self.contents.set_max_copy_folder_bytes(limit);
        }

        /// Number of chunked uploads in progress.
        #[getter]
        fn uploads_in_progress(&self) -> usize {
            self.contents.uploads().in_progress()
        }

        fn __repr__(&self) -> String {
            // Only the location: options may hold credentials.
            format!("ContentsStore(url={:?}, prefix={:?})", self.url, self.contents.keys().prefix())
        }
    }

    fn get / get_async(api_path: String, encoding: Option<String>) -> PyFetched
        = |c| {
            let encoding = encoding.map(|e| e.parse::<Encoding>()).transpose()?;
            Ok(convert::fetched(c.get(&path(&api_path)?, encoding).await?))
        };
    fn open_download / open_download_async(api_path: String, range: Option<String>, if_none_match: Option<String>) -> PyDownload
        = |c| {
            // Header text stops here: the core takes the parsed values.
            let range = range.as_deref().and_then(headers::byte_range);
            let if_none_match = if_none_match.as_deref().and_then(headers::if_none_match);
            c.open_download(&path(&api_path)?, range, if_none_match.as_ref()).await.map(PyDownload::from)
        };
    fn download_link / download_link_async(api_path: String, expires_in: f64, content_disposition: Option<String>, content_type: Option<String>) -> (Option<String>, Option<String>)
        = |c| {
            let expires_in = Duration::try_from_secs_f64(expires_in)
                .map_err(|_| Error::Config(format!("files_redirect_expiry must be a number of seconds, not {expires_in}")))?;
            let headers = ResponseHeaders { content_disposition, content_type };
            Ok(match c.download_link(&path(&api_path)?, expires_in, &headers).await? {
                DownloadLink::Url(url) => (Some(url), None),
                DownloadLink::Streamed(reason) => (None, Some(reason)),
            })
        };
    fn stat / stat_async(api_path: String) -> Option<PyEntry>
        = |c| Ok(c.stat(&path(&api_path)?).await?.map(PyEntry::from));
    fn list_dir / list_dir_async(api_path: String) -> Option<Vec<PyEntry>>
        = |c| Ok(c.list_dir(&path(&api_path)?).await?.map(convert::entries));
    fn child_names / child_names_async(api_path: String, file: Option<String>) -> (Vec<String>, Option<PyEntry>)
        = |c| c.child_names(&path(&api_path)?, file.as_deref()).await.map(|(names, found)| (names, found.map(PyEntry::from)));
    fn list_stored / list_stored_async(api_path: String) -> Option<Vec<PyEntry>>
        = |c| Ok(c.list_stored(&path(&api_path)?).await?.map(convert::entries));
    fn check_store / check_store_async() -> Done
        = |c| c.check_store().await.map(|_| Done);
    fn exists / exists_async(api_path: String) -> bool
        = |c| c.exists(&path(&api_path)?).await;
    fn file_exists / file_exists_async(api_path: String) -> bool
        = |c| c.file_exists(&path(&api_path)?).await;
    fn dir_exists / dir_exists_async(api_path: String) -> bool
        = |c| c.dir_exists(&path(&api_path)?).await;
    fn write / write_async(api_path: String, data: PyBackedBytes) -> PyEntry
        = |c| c.write(&path(&api_path)?, Bytes::from_owner(data)).await.map(PyEntry::from);
    fn write_chunk / write_chunk_async(api_path: String, chunk: i64, data: PyBackedBytes) -> (Option<PyEntry>, u64)
        = |c| Ok(match c.write_chunk(&path(&api_path)?, chunk, Bytes::from_owner(data)).await? {
            ChunkOutcome::InProgress { received } => (None::<PyEntry>, received),
            ChunkOutcome::Complete(entry) => {
                let size = entry.size.unwrap_or_default();
                (Some(entry.into()), size)
            }
        });
    fn abort_uploads / abort_uploads_async() -> usize
        = |c| Ok(c.abort_uploads().await);
    fn create / create_async(api_path: String, data: PyBackedBytes) -> PyEntry
        = |c| c.create(&path(&api_path)?, Bytes::from_owner(data)).await.map(PyEntry::from);
    fn create_listed / create_listed_async(api_path: String, data: PyBackedBytes) -> PyEntry
        = |c| c.create_listed(&path(&api_path)?, Bytes::from_owner(data)).await.map(PyEntry::from);
    fn create_with_checkpoint / create_with_checkpoint_async(api_path: String, data: PyBackedBytes, listed: bool, keep: usize) -> PyEntry
        = |c| c.create_with_checkpoint(&path(&api_path)?, Bytes::from_owner(data), listed, keep).await.map(PyEntry::from);
    fn create_dir / create_dir_async(api_path: String) -> PyEntry
        = |c| c.create_dir(&path(&api_path)?).await.map(PyEntry::from);
    fn move_to_trash / move_to_trash_async(api_path: String, allow_non_empty: bool) -> (String, &'static str)
        = |c| c.move_to_trash(&path(&api_path)?, allow_non_empty).await.map(|(trash, kind)| (trash, kind.as_str()));
    fn abort_upload / abort_upload_async(api_path: String) -> bool
        = |c| Ok(c.abort_upload(&path(&api_path)?).await);
    fn make_dir / make_dir_async(api_path: String) -> PyEntry
        = |c| c.make_dir(&path(&api_path)?).await.map(PyEntry::from);
    fn delete / delete_async(api_path: String, allow_non_empty: bool) -> &'static str
        = |c| c.delete(&path(&api_path)?, allow_non_empty).await.map(|kind| kind.as_str());
    fn rename / rename_async(old_path: String, new_path: String) -> &'static str
        = |c| c.rename(&path(&old_path)?, &path(&new_path)?).await.map(|kind| kind.as_str());
    fn copy / copy_async(from_path: String, to_path: String) -> PyEntry
        = |c| c.copy(&path(&from_path)?, &path(&to_path)?).await.map(PyEntry::from);
    fn copy_listed / copy_listed_async(from_path: String, to_path: String, source: Option<Py<PyEntry>>) -> PyEntry
        = |c| {
            let source = source.as_ref().and_then(|entry| entry.get().listed_file());
            c.copy_listed(&path(&from_path)?, &path(&to_path)?, source.as_ref()).await.map(PyEntry::from)
        };
    fn create_checkpoint / create_checkpoint_async(api_path: String, keep: usize) -> PyCheckpoint
        = |c| c.create_checkpoint(&path(&api_path)?, keep).await.map(PyCheckpoint::from);
    fn add_checkpoint / add_checkpoint_async(api_path: String, keep: usize) -> String
        = |c| c.add_checkpoint(&path(&api_path)?, keep).await.map(|(id, _)| id);
    fn list_checkpoints / list_checkpoints_async(api_path: String) -> Vec<PyCheckpoint>
        = |c| Ok(convert::checkpoints(c.list_checkpoints(&path(&api_path)?).await?));
    fn restore_checkpoint / restore_checkpoint_async(api_path: String, checkpoint_id: String) -> Done
        = |c| c.restore_checkpoint(&path(&api_path)?, &checkpoint_id).await.map(|_| Done);
    fn delete_checkpoint / delete_checkpoint_async(api_path: String, checkpoint_id: String) -> Done
        = |c| c.delete_checkpoint(&path(&api_path)?, &checkpoint_id).await.map(|_| Done);
    fn rename_checkpoint / rename_checkpoint_async(checkpoint_id: String, old_path: String, new_path: String) -> Done
        = |c| c.rename_checkpoint(&checkpoint_id, &path(&old_path)?, &path(&new_path)?).await.map(|_| Done);
}

/// The request counters of every store this process built, for the Prometheus exporter
/// (python/s3contents_rs/metrics.py): one dict per `store` label.
#[pyfunction]
pub fn store_metrics(py: Python<'_>) -> PyResult<Vec<Bound<'_, pyo3::types::PyDict>>> {
    use pyo3::types::PyDict;
    metrics::snapshot_all()
        .into_iter()
        .map(|(label, s)| {
            let d = PyDict::new(py);
            d.set_item("store", label)?;
            d.set_item("requests", s.requests)?;
            d.set_item("retries", s.retries)?;
            d.set_item("latency", s.latency)?;
            d.set_item("latency_buckets", metrics::LATENCY_BUCKETS.to_vec())?;
            d.set_item("bytes_read", s.bytes_read)?;
            d.set_item("bytes_written", s.bytes_written)?;
            d.set_item("open_multipart_uploads", s.open_multipart_uploads)?;
            Ok(d)
        })
        .collect()
}
