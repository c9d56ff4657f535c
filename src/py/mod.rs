//! The Python edge: the only module that knows about pyo3 types.

mod convert;
mod credentials;
mod download;
mod errors;
mod store;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<store::PyContentsStore>()?;
    m.add_class::<convert::PyEntry>()?;
    m.add_class::<convert::PyCheckpoint>()?;
    m.add_class::<download::PyDownload>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
