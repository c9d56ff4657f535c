//! s3contents-rs: Jupyter contents in object storage, with the storage logic in Rust.
//!
//! Everything but `py` is plain Rust, testable with `cargo test` without an interpreter.

pub mod checkpoints;
pub mod console_dirs;
pub mod contents;
pub mod download;
pub mod error;
pub mod json_tape;
pub mod keys;
pub mod large_copy;
pub mod logged;
mod py;
pub mod runtime;
pub mod store;
pub mod tuning;
pub mod upload;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::record_pid();
    py::init_logging(m.py());
    py::register(m)
}
