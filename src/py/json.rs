//! JSON reading and writing that let other Python threads run.
//!
//! `json.loads` and `json.dumps` of a 50 MB notebook are single C calls that hold the GIL
//! for 0.2–0.3 s each: even in a worker thread they stop the Jupyter server's event loop
//! for that long. Here the text is parsed (or escaped) with the GIL released, and Python
//! objects are built (or walked) in slices with the GIL released between them, so the
//! loop thread gets it within a few ms.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use serde_json::Value;

use super::convert::bytes_copy;

/// How long objects are built or walked before the GIL is offered to other threads
/// (CPython asks a thread for it after waiting 5 ms).
const SLICE: Duration = Duration::from_millis(1);
/// How long the GIL is left free at the end of a slice.
const HANDOFF: Duration = Duration::from_micros(100);
/// How many values are handled between looks at the clock.
const CHECK_EVERY: u32 = 256;
/// Strings from this length on are escaped with the GIL released.
const LONG_STRING: usize = 64 * 1024;

/// Gives the GIL away for a moment once a slice of work has taken long enough.
struct Slicer {
    started: Instant,
    since_check: u32,
}

impl Slicer {
    fn new() -> Self {
        Slicer { started: Instant::now(), since_check: 0 }
    }

    fn tick(&mut self, py: Python<'_>) {
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

// ------------------------------------------------------------------------- reading

/// Parse `data` (str or UTF-8 bytes) as JSON into dicts, lists, str, int, float, bool
/// and None, like `json.loads`. Raises ValueError for what serde_json refuses (invalid
/// JSON, and also NaN/Infinity literals, lone surrogates, numbers beyond f64) so that
/// the caller can fall back to `json.loads` for those rare documents. Object keys come
/// out sorted, as nbformat writes them.
///
/// With `dict_type` (a dict subclass such as nbformat's NotebookNode), every object is
/// built as an instance of it, as `nbformat.from_dict` would make it.
///
/// The containers are left untracked by the cyclic garbage collector (as CPython itself
/// does for dicts of plain values): a notebook's tens of thousands of dicts and lists
/// would otherwise be walked by every full collection while they live, one pass of
/// 0.1 s and more with the GIL held. A tree just parsed from JSON holds no cycle; a
/// dict is tracked again by CPython as soon as a container is put into it.
#[pyfunction]
#[pyo3(signature = (data, dict_type=None))]
pub fn loads_yielding(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    dict_type: Option<&Bound<'_, PyType>>,
) -> PyResult<Py<PyAny>> {
    if let Some(cls) = dict_type {
        if !cls.is_subclass_of::<PyDict>()? {
            return Err(PyTypeError::new_err("dict_type must be a subclass of dict"));
        }
    }
    let parsed: Result<Value, serde_json::Error> = if data.is_instance_of::<PyBytes>() {
        let bytes: PyBackedBytes = data.extract()?;
        py.detach(|| serde_json::from_slice(&bytes))
    } else {
        let text: PyBackedStr = data.extract()?;
        py.detach(|| serde_json::from_str(&text))
    };
    let value = parsed.map_err(|e| PyValueError::new_err(format!("not JSON that the fast parser reads: {e}")))?;
    let mut builder = Builder { slicer: Slicer::new(), dict_type };
    let built = builder.build(py, &value).map(Bound::unbind);
    // Freeing millions of parsed values takes tens of ms: not while holding the GIL.
    py.detach(move || drop(value));
    built
}

struct Builder<'a, 'py> {
    slicer: Slicer,
    dict_type: Option<&'a Bound<'py, PyType>>,
}

impl<'py> Builder<'_, 'py> {
    fn build(&mut self, py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        self.slicer.tick(py);
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
                untrack(list.into_any())
            }
            Value::Object(map) => {
                let dict = match self.dict_type {
                    Some(cls) => cls.call0()?.cast_into::<PyDict>()?,
                    None => PyDict::new(py),
                };
                for (key, item) in map {
                    dict.set_item(PyString::new(py, key), self.build(py, item)?)?;
                }
                untrack(dict.into_any())
            }
        })
    }
}

/// Takes a finished container of a JSON tree out of the cyclic collector's lists.
fn untrack(container: Bound<'_, PyAny>) -> Bound<'_, PyAny> {
    // SAFETY: the object is alive (we own a reference) and is a GC container; CPython
    // checks whether it is tracked before untracking, and again when it is freed.
    unsafe { ffi::PyObject_GC_UnTrack(container.as_ptr().cast()) };
    container
}

// ------------------------------------------------------------------------- writing

/// `json.dumps(obj, default=default, ensure_ascii=False).encode()`, byte for byte, except
/// that a lone surrogate in a string is written as a `\udXXX` escape (as `json.dumps`
/// with its default `ensure_ascii=True` does) rather than failing to encode. Same
/// separators, key order, float and int spelling, NaN/Infinity, `default` calls for
/// other objects, and errors for circular references and unsupported keys.
///
/// The objects are walked in slices with the GIL released between them, and long
/// strings are escaped without it: called from a worker thread, it lets the event loop
/// run. The objects must not be changed by another thread meanwhile.
#[pyfunction]
pub fn dumps_yielding<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    default: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut writer = Writer {
        out: Vec::new(),
        stack: Vec::new(),
        markers: HashSet::new(),
        slicer: Slicer::new(),
        float_repr: py.get_type::<PyFloat>().getattr("__repr__")?,
        int_repr: py.get_type::<PyInt>().getattr("__repr__")?,
        default,
    };
    writer.write(obj)?;
    let out = writer.out;
    let bytes = bytes_copy(py, &out);
    py.detach(move || drop(out));
    Ok(bytes)
}

/// A list item (no key) or a dict item.
type Item<'py> = (Option<Bound<'py, PyAny>>, Bound<'py, PyAny>);

/// What is being written: each frame holds the object it marked (see `markers`), so that
/// the object lives, and its address names only it, until the frame is left. (An object
/// `default` made, such as the list it makes of a set, is held by nothing else.)
enum Frame<'py> {
    /// A list or a dict (`marked`): its items (keys None for a list), taken when it was
    /// entered, where we are in them, and its closing bracket.
    Container { marked: Bound<'py, PyAny>, items: Vec<Item<'py>>, next: usize, close: u8 },
    /// An object handed to `default`, marked until what `default` returned is written.
    Defaulted { marked: Bound<'py, PyAny> },
}

struct Writer<'a, 'py> {
    out: Vec<u8>,
    stack: Vec<Frame<'py>>,
    /// The containers (and defaulted objects) being written: meeting one again is a cycle.
    markers: HashSet<usize>,
    slicer: Slicer,
    float_repr: Bound<'py, PyAny>,
    int_repr: Bound<'py, PyAny>,
    default: &'a Bound<'py, PyAny>,
}

impl<'py> Writer<'_, 'py> {
    fn write(&mut self, root: &Bound<'py, PyAny>) -> PyResult<()> {
        self.value(root.clone())?;
        while let Some(frame) = self.stack.last_mut() {
            match frame {
                Frame::Container { items, next, close, .. } => {
                    let Some((key, item)) = items.get(*next).cloned() else {
                        let close = *close;
                        self.out.push(close);
                        self.leave();
                        continue;
                    };
                    if *next > 0 {
                        self.out.extend_from_slice(b", ");
                    }
                    *next += 1;
                    if let Some(key) = key {
                        self.key(&key)?;
                        self.out.extend_from_slice(b": ");
                    }
                    self.value(item)?;
                }
                Frame::Defaulted { .. } => self.leave(),
            }
        }
        Ok(())
    }

    /// Writes a scalar, or opens a container (its items are written by `write`'s loop).
    fn value(&mut self, mut obj: Bound<'py, PyAny>) -> PyResult<()> {
        self.slicer.tick(obj.py());
        loop {
            let ptr = obj.as_ptr();
            // SAFETY: the singletons' addresses, only compared.
            let (py_true, py_false) = unsafe { (ffi::Py_True(), ffi::Py_False()) };
            if obj.is_none() {
                self.out.extend_from_slice(b"null");
            } else if ptr == py_true {
                self.out.extend_from_slice(b"true");
            } else if ptr == py_false {
                self.out.extend_from_slice(b"false");
            } else if let Ok(s) = obj.cast::<PyString>() {
                self.string(s)?;
            } else if obj.is_instance_of::<PyInt>() {
                self.int(&obj)?;
            } else if obj.is_instance_of::<PyFloat>() {
                self.float(&obj)?;
            } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
                let items = obj.try_iter()?.map(|item| Ok((None, item?))).collect::<PyResult<_>>()?;
                self.open(&obj, items, b"[]")?;
            } else if let Ok(dict) = obj.cast::<PyDict>() {
                let items = if dict.is_empty() { Vec::new() } else { dict_items(dict)? };
                self.open(&obj, items, b"{}")?;
            } else {
                self.enter(&obj)?;
                let returned = self.default.call1((&obj,))?;
                self.stack.push(Frame::Defaulted { marked: obj });
                obj = returned;
                continue;
            }
            return Ok(());
        }
    }

    /// Writes an empty container whole (json does not mark those), or opens it.
    fn open(&mut self, obj: &Bound<'py, PyAny>, items: Vec<Item<'py>>, brackets: &[u8; 2]) -> PyResult<()> {
        if items.is_empty() {
            self.out.extend_from_slice(brackets);
            return Ok(());
        }
        self.enter(obj)?;
        self.out.push(brackets[0]);
        self.stack.push(Frame::Container { marked: obj.clone(), items, next: 0, close: brackets[1] });
        Ok(())
    }

    fn enter(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        if !self.markers.insert(obj.as_ptr() as usize) {
            return Err(PyValueError::new_err("Circular reference detected"));
        }
        Ok(())
    }

    /// Pops the innermost frame and unmarks its object.
    fn leave(&mut self) {
        if let Some(Frame::Container { marked, .. } | Frame::Defaulted { marked }) = self.stack.pop() {
            self.markers.remove(&(marked.as_ptr() as usize));
        }
    }

    fn key(&mut self, key: &Bound<'py, PyAny>) -> PyResult<()> {
        // SAFETY: the singletons' addresses, only compared.
        let (py_true, py_false) = unsafe { (ffi::Py_True(), ffi::Py_False()) };
        if let Ok(s) = key.cast::<PyString>() {
            return self.string(s);
        }
        self.out.push(b'"');
        if key.as_ptr() == py_true {
            self.out.extend_from_slice(b"true");
        } else if key.as_ptr() == py_false {
            self.out.extend_from_slice(b"false");
        } else if key.is_none() {
            self.out.extend_from_slice(b"null");
        } else if key.is_instance_of::<PyFloat>() {
            self.float(key)?;
        } else if key.is_instance_of::<PyInt>() {
            self.int(key)?;
        } else {
            let type_name = key.get_type().name()?;
            return Err(PyTypeError::new_err(format!("keys must be str, int, float, bool or None, not {type_name}")));
        }
        self.out.push(b'"');
        Ok(())
    }

    fn int(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        // int's own spelling, also for subclasses (an IntEnum is written as its number).
        match obj.extract::<i64>() {
            Ok(i) => self.out.extend_from_slice(i.to_string().as_bytes()),
            Err(_) => {
                let text = self.int_repr.call1((obj,))?;
                self.out.extend_from_slice(text.extract::<PyBackedStr>()?.as_bytes());
            }
        }
        Ok(())
    }

    fn float(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<()> {
        let value: f64 = obj.extract()?;
        if value.is_nan() {
            self.out.extend_from_slice(b"NaN");
        } else if value.is_infinite() {
            self.out.extend_from_slice(if value > 0.0 { b"Infinity" } else { b"-Infinity" });
        } else {
            // float.__repr__ (shortest round-trip, Python's exponent style), as json does.
            let text = self.float_repr.call1((obj,))?;
            self.out.extend_from_slice(text.extract::<PyBackedStr>()?.as_bytes());
        }
        Ok(())
    }

    fn string(&mut self, s: &Bound<'py, PyString>) -> PyResult<()> {
        match s.extract::<PyBackedStr>() {
            Ok(text) if text.len() >= LONG_STRING => {
                let out = &mut self.out;
                s.py().detach(|| escape_into(out, &text));
            }
            Ok(text) => escape_into(&mut self.out, &text),
            // Lone surrogates have no UTF-8 form: json's ASCII escaping writes them.
            Err(_) => {
                let escaped = s.py().import("json.encoder")?.getattr("encode_basestring_ascii")?.call1((s,))?;
                self.out.extend_from_slice(escaped.extract::<PyBackedStr>()?.as_bytes());
            }
        }
        Ok(())
    }
}

/// A dict's items in the order json.dumps writes them: for a dict subclass, what its
/// `items()` gives (json calls it too).
fn dict_items<'py>(dict: &Bound<'py, PyDict>) -> PyResult<Vec<Item<'py>>> {
    if dict.is_exact_instance_of::<PyDict>() {
        return Ok(dict.iter().map(|(key, value)| (Some(key), value)).collect());
    }
    // SAFETY: PyMapping_Items returns a new reference (a list) or NULL with an exception set.
    let items = unsafe { Bound::from_owned_ptr_or_err(dict.py(), ffi::PyMapping_Items(dict.as_ptr()))? };
    items.try_iter()?.map(|pair| pair?.extract().map(|(key, value)| (Some(key), value))).collect()
}

/// Appends `text` as a JSON string: quotes, backslashes and control characters escaped
/// as json.dumps escapes them, everything else (non-ASCII included) as is.
fn escape_into(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut unicode = *b"\\u0000";
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                unicode[4] = HEX[(b >> 4) as usize];
                unicode[5] = HEX[(b & 0xf) as usize];
                &unicode
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}
