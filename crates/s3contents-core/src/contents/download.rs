//! Getting file bytes out of the store without extra copies: whole, already in the form
//! the Contents API model needs (text or base64), or as a stream of bounded pieces with
//! HTTP range and ETag support for `/files` downloads.

use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::{GetOptions, GetRange, GetResult, ObjectStoreExt};

use super::backend::ResponseHeaders;
use super::{Contents, Entry};
use crate::base64::Base64Writer;
use crate::error::{Error, Result, StoreResultExt};
use crate::keys::ApiPath;

/// Where a `/files` download comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownloadLink {
    /// A presigned URL of the object: the client is redirected to it.
    Url(String),
    /// The store cannot give one (why, for the log): the server streams the file.
    Streamed(String),
}

/// How `get` hands a file's bytes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// The raw bytes (needed when the caller hashes them).
    Bytes,
    /// UTF-8 text; anything else is a 400.
    Text,
    /// Base64, encoded while the object streams in: the raw bytes are never held whole.
    Base64,
    /// Text when the bytes are UTF-8, base64 otherwise (Jupyter's default for files).
    Auto,
}

impl FromStr for Encoding {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "bytes" => Ok(Encoding::Bytes),
            "text" => Ok(Encoding::Text),
            "base64" => Ok(Encoding::Base64),
            "auto" => Ok(Encoding::Auto),
            other => Err(Error::BadRequest(format!("unknown content encoding {other:?}"))),
        }
    }
}

/// A file's content as handed to the API layer.
#[derive(Debug)]
pub enum FileContent {
    Bytes(Bytes),
    /// Bytes already checked to be valid UTF-8.
    Text(Bytes),
    Base64(String),
}

impl FileContent {
    pub fn format(&self) -> &'static str {
        match self {
            FileContent::Bytes(_) => "bytes",
            FileContent::Text(_) => "text",
            FileContent::Base64(_) => "base64",
        }
    }
}

/// Read a whole object in the requested encoding, refusing (413) more than `limit`
/// bytes: the size the store reports is checked before anything is allocated for it,
/// and the bytes that actually arrive are counted too (a store may say less than it sends).
pub async fn read_encoded(found: GetResult, encoding: Encoding, path: &ApiPath, limit: u64) -> Result<FileContent> {
    let size = found.meta.size.max(found.range.end.saturating_sub(found.range.start));
    check_size(path, size, limit)?;
    let stream = capped(found.into_stream(), path.clone(), limit);
    match encoding {
        Encoding::Bytes => Ok(FileContent::Bytes(collect(stream, size).await?)),
        Encoding::Text => {
            let data = collect(stream, size).await?;
            match std::str::from_utf8(&data) {
                Ok(_) => Ok(FileContent::Text(data)),
                Err(_) => Err(Error::BadRequest(format!("{} is not UTF-8 encoded", path.as_str()))),
            }
        }
        Encoding::Base64 => {
            let mut out = Base64Writer::for_size(size);
            let mut stream = stream;
            while let Some(piece) = stream.next().await {
                out.push(&piece?);
            }
            Ok(FileContent::Base64(out.finish()))
        }
        Encoding::Auto => text_or_base64(stream, size).await,
    }
}

fn too_large(path: &ApiPath, size: u64, limit: u64) -> Error {
    Error::TooLarge {
        path: path.as_str().to_string(),
        detail: format!(
            "it has {size} bytes, more than the {limit} bytes this server reads into memory (max_content_size); \
             download it through /files instead"
        ),
    }
}

fn check_size(path: &ApiPath, size: u64, limit: u64) -> Result<()> {
    // Also what a buffer of this size could be allocated with at all on this machine.
    if size > limit || usize::try_from(size).is_err() {
        return Err(too_large(path, size, limit));
    }
    Ok(())
}

/// The object's pieces, failing once more than `limit` bytes have arrived.
fn capped(
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    path: ApiPath,
    limit: u64,
) -> BoxStream<'static, Result<Bytes>> {
    let mut seen: u64 = 0;
    stream
        .map(move |piece| {
            let piece = piece.during("read", path.as_str())?;
            seen = seen.saturating_add(piece.len() as u64);
            if seen > limit {
                return Err(too_large(&path, seen, limit));
            }
            Ok(piece)
        })
        .boxed()
}

/// All pieces in one buffer, allocated once for the `size` the store announced.
async fn collect(mut stream: BoxStream<'static, Result<Bytes>>, size: u64) -> Result<Bytes> {
    let Some(first) = stream.next().await.transpose()? else { return Ok(Bytes::new()) };
    let Some(second) = stream.next().await.transpose()? else { return Ok(first) };
    let mut buffer = BytesMut::with_capacity(usize::try_from(size).unwrap_or(0).max(first.len() + second.len()));
    buffer.extend_from_slice(&first);
    buffer.extend_from_slice(&second);
    while let Some(piece) = stream.next().await {
        buffer.extend_from_slice(&piece?);
    }
    Ok(buffer.freeze())
}

/// Text while the bytes stay valid UTF-8; at the first invalid byte, switch to base64
/// and stop keeping raw bytes, so a binary file is never held whole in both forms.
async fn text_or_base64(mut stream: BoxStream<'static, Result<Bytes>>, size: u64) -> Result<FileContent> {
    let mut raw = BytesMut::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut checked = 0;
    while let Some(piece) = stream.next().await {
        raw.extend_from_slice(&piece?);
        match std::str::from_utf8(&raw[checked..]) {
            Ok(_) => checked = raw.len(),
            // A character cut by the piece boundary: check it with the next piece.
            Err(e) if e.error_len().is_none() => checked += e.valid_up_to(),
            Err(_) => break,
        }
    }
    if checked == raw.len() {
        return Ok(FileContent::Text(raw.freeze()));
    }
    let mut out = Base64Writer::for_size(size);
    out.push(&raw);
    drop(raw);
    while let Some(piece) = stream.next().await {
        out.push(&piece?);
    }
    Ok(FileContent::Base64(out.finish()))
}

/// The one byte range a download asks for (RFC 9110 section 14.1.2). The HTTP layer
/// parses the Range header into this; a header it cannot use (malformed, several ranges,
/// another unit) arrives as no range at all, and the whole object is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// `a-b` (inclusive) or `a-`.
    From { start: u64, end: Option<u64> },
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The byte range to send for an object of `size` bytes, or `None` if unsatisfiable.
    pub fn resolve(self, size: u64) -> Option<Range<u64>> {
        match self {
            ByteRange::Suffix(0) => None,
            ByteRange::Suffix(n) => (size > 0).then(|| size.saturating_sub(n)..size),
            ByteRange::From { start, .. } if start >= size => None,
            ByteRange::From { start, end } => Some(start..end.map_or(size, |e| e.saturating_add(1).min(size))),
        }
    }
}

/// An If-None-Match precondition, parsed by the HTTP layer from the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfNoneMatch {
    /// `*`: any current version of the file matches.
    Any,
    /// The opaque tags the client holds, without quotes or `W/`: If-None-Match compares
    /// weakly (RFC 9110 section 13.1.2), so a weak tag matches its strong twin.
    Tags(Vec<String>),
}

impl IfNoneMatch {
    /// Whether the file whose ETag is `etag` is one the client already has.
    pub fn matches(&self, etag: Option<&str>) -> bool {
        match self {
            IfNoneMatch::Any => true,
            IfNoneMatch::Tags(tags) => etag.is_some_and(|etag| tags.iter().any(|tag| tag == opaque_tag(etag))),
        }
    }

    /// The condition as the store's conditional GET takes it, or `None` when there is
    /// nothing to ask (no tags).
    fn store_header(&self) -> Option<String> {
        match self {
            IfNoneMatch::Any => Some("*".to_string()),
            IfNoneMatch::Tags(tags) if tags.is_empty() => None,
            IfNoneMatch::Tags(tags) => Some(tags.iter().map(|tag| format!("\"{tag}\"")).collect::<Vec<_>>().join(", ")),
        }
    }

    /// The ETag of the file when the client named exactly one.
    fn only_tag(&self) -> Option<String> {
        match self {
            IfNoneMatch::Tags(tags) if tags.len() == 1 => Some(format!("\"{}\"", tags[0])),
            _ => None,
        }
    }
}

/// An ETag as a store reports it (quoted or not, possibly weak) reduced to its opaque tag.
fn opaque_tag(etag: &str) -> &str {
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    etag.strip_prefix('"').and_then(|tag| tag.strip_suffix('"')).unwrap_or(etag)
}

/// Pieces handed to the HTTP layer are at least this big (fewer, larger writes)...
const PIECE_TARGET: usize = 256 * 1024;

/// An object being streamed out of the store for a download.
pub struct Download {
    pub entry: Entry,
    /// The part being sent when the request asked for a range.
    pub range: Option<Range<u64>>,
    /// The client's cached copy is current (If-None-Match matched): nothing to send.
    pub not_modified: bool,
    stream: Option<BoxStream<'static, object_store::Result<Bytes>>>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download").field("entry", &self.entry).field("range", &self.range).finish_non_exhaustive()
    }
}

impl Download {
    /// Nothing to send: the client's copy of `entry` is current.
    fn not_modified(entry: Entry) -> Self {
        Download { entry, range: None, not_modified: true, stream: None }
    }

    /// The next piece of the body (at most a few hundred KiB), or `None` at the end.
    pub async fn next_piece(&mut self) -> Result<Option<Bytes>> {
        let Some(stream) = self.stream.as_mut() else { return Ok(None) };
        let mut gathered: Option<BytesMut> = None;
        let mut first: Option<Bytes> = None;
        while let Some(piece) = stream.next().await {
            let piece = piece.during("read", self.entry.path.as_str())?;
            match (&mut first, &mut gathered) {
                (None, _) => first = Some(piece),
                (Some(f), None) => {
                    let mut buffer = BytesMut::with_capacity(PIECE_TARGET.max(f.len() + piece.len()));
                    buffer.extend_from_slice(f);
                    buffer.extend_from_slice(&piece);
                    gathered = Some(buffer);
                }
                (Some(_), Some(buffer)) => buffer.extend_from_slice(&piece),
            }
            let held = gathered.as_ref().map_or_else(|| first.as_ref().map_or(0, Bytes::len), BytesMut::len);
            if held >= PIECE_TARGET {
                break;
            }
        }
        let piece = gathered.map(BytesMut::freeze).or(first);
        if piece.is_none() {
            self.stream = None;
        }
        Ok(piece)
    }
}

impl Contents {
    /// File content for `get`, in the requested encoding.
    pub async fn read_file(&self, path: &ApiPath, encoding: Encoding) -> Result<Option<(Entry, FileContent)>> {
        let key = self.keys().file_key(path)?;
        match self.store().get(&key).await {
            // A placeholder of a rename or copy in progress (or interrupted) is no file.
            Ok(found) if super::is_listed_claim(&found.meta) => Ok(None),
            Ok(found) => {
                let entry = Entry::file(path.clone(), &found.meta);
                Ok(Some((entry, read_encoded(found, encoding, path, self.max_content_size()).await?)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::from_store("read", path.as_str(), e)),
        }
    }

    /// Start streaming the file at `path`: the whole object, or one byte range of it.
    /// `if_none_match` holds the client's cached ETags: when one is current, nothing is
    /// sent (304). One GET; two requests (HEAD + GET) for a range, which must be checked
    /// against the size first.
    pub async fn open_download(
        &self,
        path: &ApiPath,
        range: Option<ByteRange>,
        if_none_match: Option<&IfNoneMatch>,
    ) -> Result<Download> {
        let key = self.keys().file_key(path)?;
        let if_none_match = if_none_match.filter(|condition| condition.store_header().is_some());
        let mut options =
            GetOptions { if_none_match: if_none_match.and_then(IfNoneMatch::store_header), ..Default::default() };
        let mut served = None;
        if let Some(wanted) = range {
            let Some(entry) = self.head_file(path).await? else { return Err(self.missing_file(path).await) };
            // The precondition comes before the range (RFC 9110 section 13.2.2).
            if if_none_match.is_some_and(|condition| condition.matches(entry.etag.as_deref())) {
                return Ok(Download::not_modified(entry));
            }
            let size = entry.size.unwrap_or(0);
            let Some(bytes) = wanted.resolve(size) else {
                return Err(Error::RangeNotSatisfiable { path: path.as_str().to_string(), size });
            };
            // The object must not change between the HEAD and the GET.
            options.if_match = entry.etag.clone();
            options.range = Some(GetRange::Bounded(bytes.clone()));
            served = Some(bytes);
        }
        match self.store().get_opts(&key, options).await {
            // A placeholder of a rename or copy in progress (or interrupted) is no file.
            Ok(found) if super::is_listed_claim(&found.meta) => Err(self.missing_file(path).await),
            Ok(found) => {
                let entry = Entry::file(path.clone(), &found.meta);
                // Stores compare tags their own way (exactly, or against an unquoted ETag),
                // so a current copy may still come back whole: it is not sent either.
                if if_none_match.is_some_and(|condition| condition.matches(entry.etag.as_deref())) {
                    return Ok(Download::not_modified(entry));
                }
                Ok(Download { entry, range: served, not_modified: false, stream: Some(found.into_stream()) })
            }
            Err(object_store::Error::NotModified { .. }) => {
                // Only the ETag goes back with a 304: the one the client named, or, for `*`
                // or a list, the file's own (one HEAD).
                let etag = match if_none_match.and_then(IfNoneMatch::only_tag) {
                    Some(etag) => Some(etag),
                    None => self.head_file(path).await.ok().flatten().and_then(|entry| entry.etag),
                };
                Ok(Download::not_modified(Entry { etag, ..Entry::file_placeholder(path.clone()) }))
            }
            Err(object_store::Error::NotFound { .. }) => Err(self.missing_file(path).await),
            Err(e) => Err(Error::from_store("read", path.as_str(), e)),
        }
    }

    /// A presigned GET URL of the file at `path`, valid for `expires_in`, that answers with
    /// `headers` (for `/files` redirects); `DownloadLink::Streamed` with the reason where
    /// the store cannot give one, and the server streams the file instead. The same checks
    /// as `open_download`: a missing file is 404, a directory 400.
    pub async fn download_link(
        &self,
        path: &ApiPath,
        expires_in: Duration,
        headers: &ResponseHeaders,
    ) -> Result<DownloadLink> {
        if expires_in.is_zero() || expires_in > crate::presign::MAX_EXPIRY {
            return Err(Error::Config(format!(
                "a presigned URL lives from 1 second to {} seconds (7 days), not {} seconds",
                crate::presign::MAX_EXPIRY.as_secs(),
                expires_in.as_secs_f64()
            )));
        }
        let Some(signer) = self.url_signer() else {
            return Ok(DownloadLink::Streamed(
                "the store cannot presign URLs (anonymous access, a SAS token, local files or memory)".into(),
            ));
        };
        let key = self.keys().file_key(path)?;
        if let Some(reason) = signer.refuses(&key, headers) {
            return Ok(DownloadLink::Streamed(reason.into()));
        }
        match self.head_object(path, "read").await? {
            // A placeholder of a rename or copy in progress (or interrupted) is no file.
            Some(meta) if !super::is_listed_claim(&meta) => {}
            _ => return Err(self.missing_file(path).await),
        }
        match signer.signed_get(&key, expires_in, headers).await {
            Ok(url) => Ok(DownloadLink::Url(url)),
            Err(e @ (object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented { .. })) => {
                Ok(DownloadLink::Streamed(format!("the store cannot presign URLs: {e}")))
            }
            Err(e) => Err(Error::from_store("sign a download URL of", path.as_str(), e)),
        }
    }

    /// The error for a file that is not there: 400 when it is a directory, else 404.
    async fn missing_file(&self, path: &ApiPath) -> Error {
        match self.dir_exists(path).await {
            Ok(true) => Error::BadRequest(format!("{} is a directory, not a file", path.as_str())),
            Ok(false) => Error::not_found(path.as_str()),
            Err(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    #[test]
    fn ranges_against_the_size() {
        let from = |start, end| ByteRange::From { start, end };
        assert_eq!(from(0, Some(99)).resolve(50), Some(0..50));
        assert_eq!(from(10, Some(19)).resolve(50), Some(10..20));
        assert_eq!(ByteRange::Suffix(5).resolve(50), Some(45..50));
        assert_eq!(ByteRange::Suffix(500).resolve(50), Some(0..50));
        assert_eq!(from(50, None).resolve(50), None);
        assert_eq!(from(0, Some(u64::MAX)).resolve(50), Some(0..50));
        assert_eq!(ByteRange::Suffix(0).resolve(50), None);
        assert_eq!(ByteRange::Suffix(3).resolve(0), None);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let tags = IfNoneMatch::Tags(vec!["abc".into(), "def".into()]);
        for etag in ["\"abc\"", "abc", "W/\"def\""] {
            assert!(tags.matches(Some(etag)), "{etag}");
        }
        for etag in [Some("\"abcd\""), Some("ab"), None] {
            assert!(!tags.matches(etag), "{etag:?}");
        }
        assert!(IfNoneMatch::Any.matches(Some("\"x\"")));
        assert_eq!(tags.store_header().as_deref(), Some("\"abc\", \"def\""));
        assert_eq!(IfNoneMatch::Any.store_header().as_deref(), Some("*"));
        assert_eq!(IfNoneMatch::Tags(vec![]).store_header(), None);
        assert_eq!(IfNoneMatch::Tags(vec!["abc".into()]).only_tag().as_deref(), Some("\"abc\""));
        assert_eq!(tags.only_tag(), None);
    }

    fn stream_of(data: &[u8], split: usize) -> BoxStream<'static, Result<Bytes>> {
        let pieces: Vec<Result<Bytes>> = data.chunks(split).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        futures::stream::iter(pieces).boxed()
    }

    #[tokio::test]
    async fn auto_detects_text_across_pieces_and_switches_to_base64() {
        let text = "héllo ✓ wörld ".repeat(50);
        for split in [1usize, 2, 3, 5, 64] {
            match text_or_base64(stream_of(text.as_bytes(), split), text.len() as u64).await.unwrap() {
                FileContent::Text(got) => assert_eq!(got.as_ref(), text.as_bytes(), "split {split}"),
                other => panic!("expected text, got {other:?}"),
            }
            let mut binary = text.as_bytes().to_vec();
            binary[300] = 0xff;
            match text_or_base64(stream_of(&binary, split), binary.len() as u64).await.unwrap() {
                FileContent::Base64(got) => {
                    assert_eq!(got, base64::engine::general_purpose::STANDARD.encode(&binary), "split {split}")
                }
                other => panic!("expected base64, got {other:?}"),
            }
        }
        // A multi-byte character cut off at the very end is not text.
        let cut = &"ok ✓".as_bytes()[..5];
        assert!(matches!(text_or_base64(stream_of(cut, 2), 5).await.unwrap(), FileContent::Base64(_)));
    }
}
