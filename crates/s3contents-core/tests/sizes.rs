//! Sizes and concurrency on a wrapped in-memory store (no interpreter, no server):
//! a store that reports sizes nothing can allocate, a store whose multipart uploads
//! start slowly or whose parts upload slowly, and one that enforces S3's part rules.

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result, UploadPart,
};
use s3contents_core::contents::download::{ByteRange, Encoding};
use s3contents_core::contents::upload::{ChunkOutcome, Uploads, MIN_PART_SIZE};
use s3contents_core::contents::{Contents, Fetched};
use s3contents_core::keys::{ApiPath, KeyMapper};

const MIB: usize = 1024 * 1024;

fn p(s: &str) -> ApiPath {
    ApiPath::parse(s).unwrap()
}

/// What the wrapped store does differently from InMemory.
#[derive(Debug, Default)]
struct Quirks {
    /// Every object claims this size (sizes no machine can allocate).
    reported_size: Option<u64>,
    /// Starting a multipart upload takes this long.
    start_delay: Duration,
    /// Each part upload takes this long.
    part_delay: Duration,
    /// S3's rules: at most this many parts, each but the last at least MIN_PART_SIZE.
    max_parts: Option<usize>,
}

#[derive(Debug)]
struct TestStore {
    inner: InMemory,
    quirks: Quirks,
    /// Multipart uploads started and neither completed nor aborted.
    open_uploads: Arc<AtomicI64>,
    started_uploads: AtomicUsize,
}

impl TestStore {
    fn new(quirks: Quirks) -> Arc<Self> {
        Arc::new(Self {
            inner: InMemory::new(),
            quirks,
            open_uploads: Arc::default(),
            started_uploads: AtomicUsize::new(0),
        })
    }

    fn resize(&self, mut meta: ObjectMeta) -> ObjectMeta {
        if let Some(size) = self.quirks.reported_size {
            meta.size = size;
        }
        meta
    }

    async fn bytes(&self, key: &str) -> Bytes {
        self.inner.get(&Path::parse(key).unwrap()).await.unwrap().bytes().await.unwrap()
    }
}

impl fmt::Display for TestStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TestStore")
    }
}

#[async_trait]
impl ObjectStore for TestStore {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        tokio::time::sleep(self.quirks.start_delay).await;
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        self.open_uploads.fetch_add(1, Ordering::SeqCst);
        self.started_uploads.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(TestUpload {
            inner,
            open: self.open_uploads.clone(),
            sizes: Vec::new(),
            part_delay: self.quirks.part_delay,
            max_parts: self.quirks.max_parts,
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let mut found = self.inner.get_opts(location, options).await?;
        if let Some(size) = self.quirks.reported_size {
            found.meta.size = size;
            // The body still holds only what is stored.
            found.range = 0..size;
        }
        Ok(found)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let size = self.quirks.reported_size;
        self.inner
            .list(prefix)
            .map(move |m| {
                m.map(|mut m| {
                    if let Some(size) = size {
                        m.size = size;
                    }
                    m
                })
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let mut listing = self.inner.list_with_delimiter(prefix).await?;
        listing.objects = listing.objects.into_iter().map(|m| self.resize(m)).collect();
        Ok(listing)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[derive(Debug)]
struct TestUpload {
    inner: Box<dyn MultipartUpload>,
    open: Arc<AtomicI64>,
    sizes: Vec<usize>,
    part_delay: Duration,
    max_parts: Option<usize>,
}

fn refused(message: String) -> object_store::Error {
    object_store::Error::Generic { store: "TestStore", source: message.into() }
}

#[async_trait]
impl MultipartUpload for TestUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.sizes.push(data.content_length());
        if self.max_parts.is_some_and(|max| self.sizes.len() > max) {
            let count = self.sizes.len();
            return async move { Err(refused(format!("part {count} is past the part-count limit"))) }.boxed();
        }
        let upload = self.inner.put_part(data);
        let delay = self.part_delay;
        async move {
            tokio::time::sleep(delay).await;
            upload.await
        }
        .boxed()
    }

    async fn complete(&mut self) -> Result<PutResult> {
        if self.max_parts.is_some() {
            let (last, rest) = self.sizes.split_last().unwrap_or((&0, &[]));
            if let Some(small) = rest.iter().find(|&&s| s < MIN_PART_SIZE) {
                return Err(refused(format!("a part of {small} bytes (before the last, of {last})")));
            }
        }
        let result = self.inner.complete().await;
        self.open.fetch_sub(1, Ordering::SeqCst);
        result
    }

    async fn abort(&mut self) -> Result<()> {
        self.open.fetch_sub(1, Ordering::SeqCst);
        self.inner.abort().await
    }
}

fn contents(store: Arc<TestStore>, uploads: Uploads) -> Arc<Contents> {
    Arc::new(Contents::new(store, KeyMapper::new("root").unwrap()).with_uploads(uploads))
}

fn data(size: usize, seed: u8) -> Vec<u8> {
    (0..size).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 13) as u8).collect()
}

// ============================================================================ huge sizes
#[tokio::test]
async fn a_size_that_cannot_be_allocated_is_a_413_not_an_abort() {
    for reported in [u64::MAX, u64::MAX / 2, 1 << 50, 3 << 30] {
        let store = TestStore::new(Quirks { reported_size: Some(reported), ..Default::default() });
        store.inner.put(&Path::parse("root/big.bin").unwrap(), PutPayload::from_static(b"tiny")).await.unwrap();
        let c = contents(store.clone(), Uploads::default());
        for encoding in [Encoding::Bytes, Encoding::Text, Encoding::Base64, Encoding::Auto] {
            let error = c.get(&p("big.bin"), Some(encoding)).await.unwrap_err();
            assert_eq!(error.status_code(), 413, "{error}");
            let message = error.to_string();
            assert!(message.contains(&reported.to_string()) && message.contains("max_content_size"), "{message}");
        }
        // Everything that does not hold the content in memory still works.
        match c.get(&p("big.bin"), None).await.unwrap() {
            Fetched::File { entry, .. } => assert_eq!(entry.size, Some(reported)),
            other => panic!("{other:?}"),
        }
        let listed = c.list_dir(&ApiPath::ROOT).await.unwrap().unwrap();
        assert_eq!(listed[0].size, Some(reported));
        // A range download past what is stored asks the store, which answers.
        let mut download =
            c.open_download(&p("big.bin"), Some(ByteRange::From { start: 0, end: Some(u64::MAX) }), None).await;
        if let Ok(d) = download.as_mut() {
            let _ = d.next_piece().await;
        }
        let mut whole = c.open_download(&p("big.bin"), None, None).await.unwrap();
        assert_eq!(whole.next_piece().await.unwrap().unwrap().as_ref(), b"tiny");
    }
}

#[tokio::test]
async fn max_content_size_counts_the_bytes_that_arrive_too() {
    let store = TestStore::new(Quirks { reported_size: Some(3), ..Default::default() });
    store.inner.put(&Path::parse("root/a.txt").unwrap(), PutPayload::from(vec![b'x'; 5000])).await.unwrap();
    let c = Arc::new(Contents::new(store.clone(), KeyMapper::new("root").unwrap()).with_max_content_size(4096));
    // The store says 3 bytes but sends 5000: refused once past the limit.
    let error = c.get(&p("a.txt"), Some(Encoding::Auto)).await.unwrap_err();
    assert_eq!(error.status_code(), 413, "{error}");
    let fine = Contents::new(store, KeyMapper::new("root").unwrap()).with_max_content_size(5000);
    assert!(fine.get(&p("a.txt"), Some(Encoding::Bytes)).await.is_ok());
}

// ============================================================================ part sizes
#[tokio::test]
async fn a_long_upload_grows_its_parts_instead_of_failing_at_the_end() {
    // 10 parts allowed: 60 MiB would need 12 parts of 5 MiB.
    let store = TestStore::new(Quirks { max_parts: Some(10), ..Default::default() });
    let uploads = Uploads::with_max_parts(MIN_PART_SIZE, Duration::from_secs(60), 10).unwrap();
    let c = contents(store.clone(), uploads);
    let all = data(60 * MIB + 123, 1);
    let chunks: Vec<&[u8]> = all.chunks(MIB).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let number = if i == chunks.len() - 1 { -1 } else { i as i64 + 1 };
        let outcome = c.write_chunk(&p("big.bin"), number, Bytes::copy_from_slice(chunk)).await.unwrap();
        if number == -1 {
            assert!(matches!(outcome, ChunkOutcome::Complete(_)));
        }
    }
    assert_eq!(store.bytes("root/big.bin").await.as_ref(), all.as_slice());
    assert_eq!(store.open_uploads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_upload_past_every_part_is_refused_clearly_and_aborted() {
    let store = TestStore::new(Quirks::default());
    let uploads = Uploads::with_max_parts(MIN_PART_SIZE, Duration::from_secs(60), 10).unwrap();
    let limit = uploads.max_upload_size();
    assert!(limit >= 10 * MIN_PART_SIZE as u64);
    let c = contents(store.clone(), uploads);
    // One chunk as large as everything allowed plus one byte.
    let error = c.write_chunk(&p("x.bin"), 1, Bytes::from(vec![0u8; limit as usize + 1])).await.unwrap_err();
    assert_eq!(error.status_code(), 413, "{error}");
    assert!(error.to_string().contains(&limit.to_string()), "{error}");
    assert_eq!(store.open_uploads.load(Ordering::SeqCst), 0);
    assert_eq!(c.uploads().in_progress(), 0);
}

// ============================================================================ concurrency
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_first_chunks_at_once_one_wins_and_nothing_is_orphaned() {
    let store = TestStore::new(Quirks { start_delay: Duration::from_millis(300), ..Default::default() });
    let c = contents(store.clone(), Uploads::default());
    let (a, b) = (Bytes::from(data(1000, 1)), Bytes::from(data(1000, 2)));
    let path = p("f.bin");
    let (first, second) = tokio::join!(c.write_chunk(&path, 1, a.clone()), c.write_chunk(&path, 1, b.clone()));
    let (winner, loser) = match (&first, &second) {
        (Ok(_), Err(e)) => (a, e),
        (Err(e), Ok(_)) => (b, e),
        other => panic!("exactly one upload must win: {other:?}"),
    };
    assert_eq!(loser.status_code(), 409, "{loser}");
    assert_eq!(store.started_uploads.load(Ordering::SeqCst), 1, "the loser started no multipart upload");
    c.write_chunk(&p("f.bin"), -1, Bytes::from_static(b"end")).await.unwrap();
    let mut expected = winner.to_vec();
    expected.extend_from_slice(b"end");
    assert_eq!(store.bytes("root/f.bin").await.as_ref(), expected.as_slice());
    assert_eq!(store.open_uploads.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_dropped_mid_part_can_be_retried_and_the_object_is_exact() {
    let store = TestStore::new(Quirks { part_delay: Duration::from_millis(300), ..Default::default() });
    let uploads = Uploads::with_max_parts(MIN_PART_SIZE, Duration::from_secs(60), 10_000).unwrap();
    let c = contents(store.clone(), uploads);
    let all = data(13 * MIB + 7, 3);
    let chunks: Vec<Bytes> = all.chunks(MIB).map(Bytes::copy_from_slice).collect();
    let last = chunks.len() - 1;
    let path = p("f.bin");
    for (i, chunk) in chunks.iter().enumerate() {
        let number = if i == last { -1 } else { i as i64 + 1 };
        // Chunks 5 and 10 fill a part (5 MiB), whose upload takes 300 ms: the request is
        // dropped while the part is on its way, then the client sends the chunk again.
        // The last chunk is dropped while the rest goes up, then retried as well.
        if number == 5 || number == 10 || number == -1 {
            let dropped = tokio::time::timeout(Duration::from_millis(50), c.write_chunk(&path, number, chunk.clone()));
            assert!(dropped.await.is_err(), "the request was dropped mid-part");
        }
        let outcome = c.write_chunk(&p("f.bin"), number, chunk.clone()).await.unwrap();
        match (number, outcome) {
            (-1, ChunkOutcome::Complete(entry)) => assert_eq!(entry.size, Some(all.len() as u64)),
            (n, ChunkOutcome::InProgress { received }) if n > 0 => assert_eq!(received, (n as u64) * MIB as u64),
            (n, other) => panic!("chunk {n}: {other:?}"),
        }
    }
    assert_eq!(store.bytes("root/f.bin").await.as_ref(), all.as_slice());
    assert_eq!(store.open_uploads.load(Ordering::SeqCst), 0);
    assert_eq!(c.uploads().in_progress(), 0);
}
