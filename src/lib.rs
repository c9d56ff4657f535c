//! s3contents-rs: Jupyter contents in object storage, with the storage logic in Rust.
//!
//! The Python extension module `s3contents_rs._core`: bindings (`py`) and the runtime that
//! Python waits on, over the pyo3-free core crate `s3contents-core` (crates/s3contents-core).

mod py;
pub mod runtime;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::record_pid();
    py::init_logging(m.py());
    py::register(m)
}
