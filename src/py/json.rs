//! JSON parsing that lets other Python threads run.
//!
//! `json.loads` of a 50 MB notebook is one C call that holds the GIL for about 0.3 s: in
//! the async manager's worker thread it still stops the event loop for that long. Here
//! the text is parsed with the GIL released, and the Python objects are built in slices
//! with the GIL released between them, so the loop thread gets it within a few ms.

use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyDict, PyFloat, PyList, PyString};
use serde_json::Value;

/// How long objects are built before the GIL is offered to other threads (CPython asks
/// a thread for it after waiting 5 ms).
const SLICE: Duration = Duration::from_millis(1);
/// How long the GIL is left free at the end of a slice.
const HANDOFF: Duration = Duration::from_micros(100);
/// How many values are built between looks at the clock.
const CHECK_EVERY: u32 = 1024;

/// Parse `text` as JSON into dicts, lists, str, int, float, bool and None, like
/// `json.loads`. Raises ValueError for what serde_json refuses (invalid JSON, and also
/// NaN/Infinity literals, lone surrogates, numbers beyond f64) so that the caller can
/// fall back to `json.loads` for those rare documents. Object keys come out sorted, as
/// nbformat writes them.
#[pyfunction]
pub fn loads_yielding(py: Python<'_>, text: PyBackedStr) -> PyResult<Py<PyAny>> {
    let value: Value = py
        .detach(|| serde_json::from_str(&text))
        .map_err(|e| PyValueError::new_err(format!("not JSON that the fast parser reads: {e}")))?;
    drop(text);
    // Millions of new dicts and lists would set off full cyclic-GC passes over every
    // object in the process, each one a long stretch with the GIL held; they hold no
    // cycles, so the collector waits until they are built (as it would after json.loads).
    let gc = py.import("gc")?;
    let gc_was_enabled = gc.call_method0("isenabled")?.is_truthy()?;
    if gc_was_enabled {
        gc.call_method0("disable")?;
    }
    let mut builder = Builder { started: Instant::now(), since_check: 0 };
    let built = builder.build(py, &value).map(Bound::unbind);
    if gc_was_enabled {
        gc.call_method0("enable")?;
    }
    // Freeing millions of parsed values takes tens of ms: not while holding the GIL.
    py.detach(move || drop(value));
    built
}

struct Builder {
    started: Instant,
    since_check: u32,
}

impl Builder {
    fn build<'py>(&mut self, py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        self.maybe_yield(py);
        Ok(match value {
            Value::Null => py.None().into_bound(py),
            Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    i.into_pyobject(py)?.into_any()
                } else if let Some(u) = n.as_u64() {
                    u.into_pyobject(py)?.into_any()
                } else {
                    // Also integers beyond u64 (serde_json reads them as f64, json.loads
                    // keeps them exact: none occurs in a notebook written by Jupyter).
                    PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
                }
            }
            Value::String(s) => PyString::new(py, s).into_any(),
            Value::Array(items) => {
                let list = PyList::empty(py);
                for item in items {
                    list.append(self.build(py, item)?)?;
                }
                list.into_any()
            }
            Value::Object(map) => {
                let dict = PyDict::new(py);
                for (key, item) in map {
                    dict.set_item(PyString::new(py, key), self.build(py, item)?)?;
                }
                dict.into_any()
            }
        })
    }

    fn maybe_yield(&mut self, py: Python<'_>) {
        self.since_check += 1;
        if self.since_check < CHECK_EVERY {
            return;
        }
        self.since_check = 0;
        if self.started.elapsed() >= SLICE {
            // Releasing and at once retaking the GIL would win it back before a waiting
            // thread wakes up: leave it free for a moment.
            py.detach(|| std::thread::sleep(HANDOFF));
            self.started = Instant::now();
        }
    }
}
