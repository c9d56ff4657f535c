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
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};

use s3contents_core::json_tape::{self, Tape, Token};

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

/// Deeper documents go to `json.loads`, which has its own recursion limit (and error).
const MAX_DEPTH: usize = 200;

/// `json.loads(data)`, value for value: the same types, the same floats to the last bit,
/// ints of any size, dict keys in document order (a repeated key keeps its first place
/// and its last value), and, for what the core does not read itself, `json.loads`' own
/// result or error. `data` is str or bytes.
///
/// The text is scanned into a tape (src/json_tape.rs) with the GIL released, and the
/// Python objects are built from it in slices with the GIL offered to other threads
/// between them: `json.loads` of a 50 MB notebook holds the GIL for 0.2-0.3 s.
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
    let built = if let Ok(bytes) = data.cast::<PyBytes>() {
        let bytes: PyBackedBytes = bytes.extract()?;
        build_scanned(py, &bytes, dict_type)
    } else if let Ok(text) = data.extract::<PyBackedStr>() {
        build_scanned(py, text.as_bytes(), dict_type)
    } else {
        None // a str with lone surrogates, a bytearray...
    };
    match built {
        Some(value) => Ok(value.unbind()),
        None => json_loads(py, data, dict_type),
    }
}

/// Scans with the GIL released and builds; `None` when `json.loads` must do it.
fn build_scanned<'py>(
    py: Python<'py>,
    input: &[u8],
    dict_type: Option<&Bound<'py, PyType>>,
) -> Option<Bound<'py, PyAny>> {
    let tape = py.detach(|| json_tape::scan(input, MAX_DEPTH))?;
    // The scanner checked the whole input is UTF-8.
    let text = std::str::from_utf8(input).ok()?;
    let built = Builder { slicer: Slicer::new(), dict_type, text, tape: &tape }.build(py).ok();
    // Freeing a large tape takes a moment: not while holding the GIL.
    py.detach(move || drop(tape));
    built
}

/// The reference: `json.loads(data)`, with `dict_type` for every object when given.
fn json_loads(py: Python<'_>, data: &Bound<'_, PyAny>, dict_type: Option<&Bound<'_, PyType>>) -> PyResult<Py<PyAny>> {
    let loads = py.import("json")?.getattr("loads")?;
    let kwargs = PyDict::new(py);
    if let Some(cls) = dict_type {
        kwargs.set_item("object_hook", cls)?;
    }
    Ok(loads.call((data,), Some(&kwargs))?.unbind())
}

/// A container being filled: a list and its next index, or a dict and its pending key.
enum Filling<'py> {
    List { list: Bound<'py, PyAny>, next: isize, len: isize },
    Dict { dict: Bound<'py, PyDict>, key: Option<Bound<'py, PyAny>>, left: u32 },
}

struct Builder<'a, 'py> {
    slicer: Slicer,
    dict_type: Option<&'a Bound<'py, PyType>>,
    text: &'a str,
    tape: &'a Tape,
}

impl<'py> Builder<'_, 'py> {
    /// Walks the tape once with an explicit stack. An error (a number Python refuses, a
    /// failed allocation) sends the whole document to `json.loads` for its own answer.
    fn build(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut stack: Vec<Filling<'py>> = Vec::new();
        for &token in &self.tape.tokens {
            self.slicer.tick(py);
            let mut value = match token {
                Token::Null => py.None().into_bound(py),
                Token::True => PyBool::new(py, true).to_owned().into_any(),
                Token::False => PyBool::new(py, false).to_owned().into_any(),
                Token::Int { .. } => int_from_text(py, self.tape.text(self.text, token))?,
                Token::Float { .. } => {
                    let text = self.tape.text(self.text, token);
                    // Correctly rounded, like CPython's float() that json.loads uses.
                    let parsed: f64 = text.parse().map_err(|_| PyValueError::new_err("float"))?;
                    PyFloat::new(py, parsed).into_any()
                }
                Token::Str { .. } | Token::Escaped { .. } => {
                    PyString::new(py, self.tape.text(self.text, token)).into_any()
                }
                Token::Array { count } => {
                    let len = isize::try_from(count).map_err(|_| PyValueError::new_err("too long"))?;
                    // SAFETY: PyList_New returns a new reference or NULL with an exception set.
                    let list = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(len))? };
                    if count > 0 {
                        stack.push(Filling::List { list, next: 0, len });
                        continue;
                    }
                    untrack(list)
                }
                Token::Object { count } => {
                    let dict = match self.dict_type {
                        Some(cls) => cls.call0()?.cast_into::<PyDict>()?,
                        None => PyDict::new(py),
                    };
                    if count > 0 {
                        stack.push(Filling::Dict { dict, key: None, left: count });
                        continue;
                    }
                    untrack(dict.into_any())
                }
            };
            // Put the value in its container; a container thereby filled is itself a value.
            loop {
                match stack.last_mut() {
                    None => return Ok(value),
                    Some(Filling::List { list, next, len }) => {
                        // SAFETY: `list` is a new list of `len` empty slots, `next < len`;
                        // PyList_SetItem steals the reference we give up with into_ptr.
                        let set = unsafe { ffi::PyList_SetItem(list.as_ptr(), *next, value.into_ptr()) };
                        if set != 0 {
                            return Err(PyErr::fetch(py));
                        }
                        *next += 1;
                        if *next < *len {
                            break;
                        }
                    }
                    Some(Filling::Dict { dict, key, left }) => match key.take() {
                        None => {
                            *key = Some(value);
                            break;
                        }
                        Some(name) => {
                            // PyDict_SetItem, not a subclass's __setitem__ (as json.loads fills
                            // a dict before object_hook sees it); a repeated key keeps its place.
                            let set = unsafe { ffi::PyDict_SetItem(dict.as_ptr(), name.as_ptr(), value.as_ptr()) };
                            if set != 0 {
                                return Err(PyErr::fetch(py));
                            }
                            *left -= 1;
                            if *left > 0 {
                                break;
                            }
                        }
                    },
                }
                value = match stack.pop() {
                    Some(Filling::List { list, .. }) => untrack(list),
                    Some(Filling::Dict { dict, .. }) => untrack(dict.into_any()),
                    None => unreachable!("the stack had a top"),
                };
            }
        }
        Err(PyValueError::new_err("empty tape"))
    }
}

/// An int from its JSON text: directly when it fits an i64 (18 digits always do), else
/// through CPython's own decimal reader, which json.loads uses too (and which applies
/// the interpreter's limit on int digits).
fn int_from_text<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    if text.len() <= 18 {
        if let Ok(small) = text.parse::<i64>() {
            return Ok(small.into_pyobject(py)?.into_any());
        }
    }
    let digits = std::ffi::CString::new(text).map_err(|_| PyValueError::new_err("int"))?;
    // SAFETY: a NUL-terminated string; returns a new reference or NULL with an exception.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromString(digits.as_ptr(), std::ptr::null_mut(), 10)) }
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
            // Lone surrogates have no UTF-8 form: json's own escaping, then UTF-8 with each
            // surrogate as its `\udXXX` escape (everything else stays as is, as above).
            Err(_) => {
                let escaped = s.py().import("json.encoder")?.getattr("encode_basestring")?.call1((s,))?;
                let encoded = escaped.call_method1("encode", ("utf-8", "backslashreplace"))?;
                self.out.extend_from_slice(encoded.cast_into::<PyBytes>()?.as_bytes());
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
