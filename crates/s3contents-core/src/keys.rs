//! Mapping between Jupyter API paths and object keys under the configured prefix.
//!
//! API paths are `/`-separated, relative to the contents root, with no leading or
//! trailing slash (`""` is the root). Keys are raw object_store paths: we never
//! percent-encode, so a bucket written by other tools (or by `s3contents`) reads the same.

use object_store::path::Path;

use crate::error::{Error, Result};

/// Zero-byte object marking an empty directory (the name `s3contents` uses).
pub const DIR_MARKER: &str = ".s3keep";
/// Folder holding checkpoints next to the files they belong to, as FileCheckpoints does.
pub const CHECKPOINT_DIR: &str = ".ipynb_checkpoints";
/// Top-level folder where deletes go when `delete_to_trash` is on; never reachable
/// through the API and never listed.
pub const TRASH_DIR: &str = ".Trash";
/// S3's limit on key length, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// A validated API path (no leading/trailing slash, no empty or relative segments).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiPath(String);

impl ApiPath {
    pub const ROOT: ApiPath = ApiPath(String::new());

    /// Parse and validate a path coming from the API.
    pub fn parse(raw: &str) -> Result<Self> {
        let trimmed = raw.trim_matches('/');
        if trimmed.is_empty() {
            return Ok(Self::ROOT);
        }
        if climbs_above_root(trimmed) {
            // FileContentsManager answers 404 for a path outside its root directory.
            return Err(Error::OutsideRoot { path: raw.to_string() });
        }
        for segment in trimmed.split('/') {
            check_segment(raw, segment)?;
        }
        if trimmed.split('/').next() == Some(TRASH_DIR) {
            return Err(Error::invalid_path(raw, format!("{TRASH_DIR:?} is reserved for deleted files")));
        }
        Ok(ApiPath(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Last segment ("" for the root).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// Parent directory (the root is its own parent).
    pub fn parent(&self) -> ApiPath {
        match self.0.rsplit_once('/') {
            Some((parent, _)) => ApiPath(parent.to_string()),
            None => Self::ROOT,
        }
    }

    /// Child path; `name` must be a single valid segment.
    pub fn join(&self, name: &str) -> Result<ApiPath> {
        check_segment(name, name)?;
        Ok(if self.is_root() { ApiPath(name.to_string()) } else { ApiPath(format!("{}/{}", self.0, name)) })
    }

    /// True when `self` is `other` or lies inside it.
    pub fn is_within(&self, other: &ApiPath) -> bool {
        other.is_root()
            || self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// True when any segment is hidden (starts with a dot), like jupyter_core's is_hidden.
    pub fn is_hidden(&self) -> bool {
        !self.is_root() && self.0.split('/').any(|s| s.starts_with('.'))
    }
}

impl std::fmt::Display for ApiPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// True when the `..` segments of `path` lead above the root. Other `..` uses (and
/// `.`) are refused as invalid by `check_segment`.
fn climbs_above_root(path: &str) -> bool {
    let mut depth: usize = 0;
    for segment in path.split('/') {
        match segment {
            ".." if depth == 0 => return true,
            ".." => depth -= 1,
            "" | "." => {}
            _ => depth += 1,
        }
    }
    false
}

fn check_segment(whole: &str, segment: &str) -> Result<()> {
    if segment.is_empty() {
        return Err(Error::invalid_path(whole, "empty path segment"));
    }
    if segment == "." || segment == ".." {
        return Err(Error::invalid_path(whole, "relative segments ('.', '..') are not allowed"));
    }
    // A client that double-encodes ".." must not get a traversal through a later decode.
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
    if decoded == "." || decoded == ".." {
        return Err(Error::invalid_path(whole, "encoded relative segments are not allowed"));
    }
    if segment.contains('/') {
        return Err(Error::invalid_path(whole, "a name cannot contain '/'"));
    }
    if segment.contains('\\') {
        return Err(Error::invalid_path(whole, "backslashes are not allowed in names"));
    }
    if segment.chars().any(|c| c.is_control()) {
        return Err(Error::invalid_path(whole, "control characters are not allowed in names"));
    }
    Ok(())
}

fn is_staging_name(segment: &str) -> bool {
    matches!(segment.rsplit_once('#'), Some((_, digits)) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Maps API paths to keys under a fixed prefix, and back.
#[derive(Clone, Debug)]
pub struct KeyMapper {
    /// Normalised prefix without leading/trailing slashes; may be empty.
    prefix: String,
    /// object_store's local filesystem store keeps `<name>#<n>` for its staging files.
    refuse_staging_names: bool,
}

impl KeyMapper {
    pub fn new(prefix: &str) -> Result<Self> {
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            for segment in prefix.split('/') {
                check_segment(prefix, segment)
                    .map_err(|e| Error::Config(format!("prefix {prefix:?} is not a valid key prefix: {e}")))?;
            }
        }
        Ok(Self { prefix: prefix.to_string(), refuse_staging_names: false })
    }

    /// For the local filesystem store, which cannot hold names ending in `#<digits>`.
    pub fn for_local_files(mut self) -> Self {
        self.refuse_staging_names = true;
        self
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn raw_key(&self, path: &ApiPath) -> String {
        match (self.prefix.is_empty(), path.is_root()) {
            (true, _) => path.as_str().to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{}", self.prefix, path.as_str()),
        }
    }

    /// Key of the object holding the file at `path`.
    pub fn file_key(&self, path: &ApiPath) -> Result<Path> {
        if path.is_root() {
            return Err(Error::BadRequest("the root is a directory, not a file".into()));
        }
        self.checked(path, self.raw_key(path))
    }

    /// Listing prefix for the directory at `path` (`None` = the whole bucket).
    pub fn dir_prefix(&self, path: &ApiPath) -> Result<Option<Path>> {
        let raw = self.raw_key(path);
        if raw.is_empty() {
            return Ok(None);
        }
        self.checked(path, raw).map(Some)
    }

    /// Key of the marker object that keeps the directory at `path` alive when empty.
    pub fn marker_key(&self, path: &ApiPath) -> Result<Path> {
        let raw = self.raw_key(path);
        let key = if raw.is_empty() { DIR_MARKER.to_string() } else { format!("{raw}/{DIR_MARKER}") };
        self.checked(path, key)
    }

    /// Key of the trashed copy of the object at `rel` (relative to the prefix).
    pub fn trash_key(&self, stamp: &str, rel: &ApiPath) -> Result<Path> {
        let inside = ApiPath(format!("{TRASH_DIR}/{stamp}/{}", rel.as_str()));
        self.checked(rel, self.raw_key(&inside))
    }

    fn checked(&self, path: &ApiPath, key: String) -> Result<Path> {
        if key.len() + 1 > MAX_KEY_BYTES {
            return Err(Error::invalid_path(
                path.as_str(),
                format!("the name is too long for the store (keys are limited to {MAX_KEY_BYTES} bytes)"),
            ));
        }
        if self.refuse_staging_names && path.as_str().split('/').any(is_staging_name) {
            return Err(Error::invalid_path(
                path.as_str(),
                "the local filesystem store cannot hold names ending in '#' and digits",
            ));
        }
        Path::parse(&key).map_err(|e| Error::invalid_path(path.as_str(), e))
    }

    /// API path of a key listed under the prefix; `None` for keys outside it.
    pub fn api_path(&self, key: &Path) -> Option<ApiPath> {
        let key = key.as_ref();
        let rel = if self.prefix.is_empty() {
            key
        } else if key == self.prefix {
            ""
        } else {
            key.strip_prefix(self.prefix.as_str())?.strip_prefix('/')?
        };
        Some(ApiPath(rel.to_string()))
    }
}

/// Split a file name like Python's `os.path.splitext`: `a.tar.gz` -> (`a.tar`, `.gz`),
/// `.bashrc` -> (`.bashrc`, ``).
pub fn split_ext(name: &str) -> (&str, &str) {
    let stem_start = name.len() - name.trim_start_matches('.').len();
    match name[stem_start..].rfind('.') {
        Some(i) => name.split_at(stem_start + i),
        None => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_strips_slashes_and_keeps_specials() {
        assert_eq!(ApiPath::parse("/a b/c#?%&+.ipynb/").unwrap().as_str(), "a b/c#?%&+.ipynb");
        assert!(ApiPath::parse("///").unwrap().is_root());
    }

    #[test]
    fn parse_rejects_traversal_and_controls() {
        for bad in ["a/../b", "./a", "a//b", "a/%2e%2E/b", "a\\b", "a\0b", "a\nb", ".Trash", "/.Trash/x"] {
            assert!(matches!(ApiPath::parse(bad), Err(Error::InvalidPath { .. })), "{bad:?}");
        }
        for outside in ["..", "../a", "/../a", "a/../../b", "a/./../../b"] {
            assert!(matches!(ApiPath::parse(outside), Err(Error::OutsideRoot { .. })), "{outside:?}");
        }
    }

    #[test]
    fn keys_under_prefix() {
        let m = KeyMapper::new("/team/alice/").unwrap();
        let p = ApiPath::parse("x/ü n.ipynb").unwrap();
        assert_eq!(m.file_key(&p).unwrap().as_ref(), "team/alice/x/ü n.ipynb");
        assert_eq!(m.dir_prefix(&ApiPath::ROOT).unwrap().unwrap().as_ref(), "team/alice");
        assert_eq!(m.marker_key(&ApiPath::ROOT).unwrap().as_ref(), "team/alice/.s3keep");
        let back = m.api_path(&Path::parse("team/alice/x/ü n.ipynb").unwrap()).unwrap();
        assert_eq!(back, p);
        assert!(m.api_path(&Path::parse("team/alice2/secret").unwrap()).is_none());
        assert!(m.api_path(&Path::parse("team/alice").unwrap()).unwrap().is_root());
    }

    #[test]
    fn no_prefix_root_lists_the_bucket() {
        let m = KeyMapper::new("").unwrap();
        assert!(m.dir_prefix(&ApiPath::ROOT).unwrap().is_none());
        assert_eq!(m.marker_key(&ApiPath::ROOT).unwrap().as_ref(), ".s3keep");
        assert!(m.file_key(&ApiPath::ROOT).is_err());
    }

    #[test]
    fn prefix_must_be_valid() {
        assert!(matches!(KeyMapper::new("a/../b"), Err(Error::Config(_))));
    }

    #[test]
    fn long_names_are_rejected() {
        let m = KeyMapper::new("p").unwrap();
        let long = ApiPath::parse(&"x".repeat(MAX_KEY_BYTES)).unwrap();
        assert!(matches!(m.file_key(&long), Err(Error::InvalidPath { .. })));
    }

    #[test]
    fn within_and_hidden() {
        let a = ApiPath::parse("a").unwrap();
        assert!(ApiPath::parse("a/b").unwrap().is_within(&a));
        assert!(!ApiPath::parse("ab").unwrap().is_within(&a));
        assert!(ApiPath::parse("x/.y/z").unwrap().is_hidden());
        assert!(!ApiPath::parse("x/y.z").unwrap().is_hidden());
    }

    #[test]
    fn split_ext_like_python() {
        assert_eq!(split_ext("a.tar.gz"), ("a.tar", ".gz"));
        assert_eq!(split_ext(".bashrc"), (".bashrc", ""));
        assert_eq!(split_ext("noext"), ("noext", ""));
        assert_eq!(split_ext("..a.b"), ("..a", ".b"));
    }

    #[test]
    fn local_files_refuse_staging_names_only() {
        let local = KeyMapper::new("p").unwrap().for_local_files();
        for bad in ["a #1/x.txt", "x#22", "d/f#0"] {
            let path = ApiPath::parse(bad).unwrap();
            assert!(matches!(local.file_key(&path), Err(Error::InvalidPath { .. })), "{bad:?}");
            assert!(KeyMapper::new("p").unwrap().file_key(&path).is_ok(), "{bad:?}");
        }
        for good in ["a #x/b.txt", "#1a", "x#", "no#1.txt"] {
            assert!(local.file_key(&ApiPath::parse(good).unwrap()).is_ok(), "{good:?}");
        }
    }
}
