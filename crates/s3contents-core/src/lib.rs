//! The storage logic of s3contents-rs: Jupyter contents (files, folders, notebooks,
//! checkpoints, chunked uploads) in an `object_store`, addressed by Jupyter API paths.
//!
//! This crate knows no Python (it does not depend on pyo3): the extension crate at the
//! repository root is the only place that does, and the compiler keeps it so.

pub mod answer;
pub mod azure_copy;
pub mod base64;
pub mod console_dirs;
pub mod contents;
pub mod error;
pub mod gcs_rewrite;
pub mod json_tape;
pub mod keys;
pub mod large_copy;
pub mod logged;
pub mod metrics;
pub mod open_uploads;
pub mod presign;
pub mod signed_s3;
pub mod store;
pub mod tuning;
