//! s3s-fs (an S3 server over a directory, crates.io) for the rename benchmark, with the
//! answers it gets wrong put right, as S3 gives them. Everything else is s3s-fs's own code,
//! called as is.
//!
//! s3s-fs keeps a key `a/b` as the file `<root>/<bucket>/a/b`, so the folder `a/` of a key
//! `a/b` is a real directory. S3 has no directories: a HEAD, GET or DELETE of the key `a`
//! is about the object `a`, which does not exist. s3s-fs instead opens the directory and
//! answers 500 (EISDIR), which makes clients retry and then fail. Here a HEAD or GET of
//! such a key is a 404 NoSuchKey, and a DELETE or DeleteObjects entry for it succeeds
//! (deleting a missing key succeeds on S3).
//!
//! s3s-fs also reads `delimiter=` (empty, as s3fs sends it for a recursive listing) as a
//! delimiter that matches nothing, and lists no key; S3 reads it as no delimiter. Here an
//! empty delimiter is dropped.
//!
//! Without both, PyPI s3contents (s3fs) cannot rename a folder on s3s-fs: its recursive
//! delete of the sources lists nothing, and deletes the folder's own name, a directory.
//!
//! Usage: bench-s3s-fs --port PORT --access-key KEY --secret-key SECRET ROOT  (127.0.0.1)

use std::path::{Path, PathBuf};

use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use tokio::net::TcpListener;

struct Server {
    fs: FileSystem,
    root: PathBuf,
}

impl Server {
    /// Whether `key` (without a trailing `/`) names a directory rather than an object.
    fn is_directory(&self, bucket: &str, key: &str) -> bool {
        !key.ends_with('/') && self.root.join(bucket).join(key).is_dir()
    }
}

#[async_trait::async_trait]
impl S3 for Server {
    // s3s-fs's own, but for an empty delimiter in the listings (see the top) and the
    // four methods after them.
    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.fs.delete_bucket(req).await
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn list_objects(&self, mut req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        if req.input.delimiter.as_deref() == Some("") {
            req.input.delimiter = None;
        }
        self.fs.list_objects(req).await
    }

    async fn list_objects_v2(
        &self,
        mut req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        if req.input.delimiter.as_deref() == Some("") {
            req.input.delimiter = None;
        }
        self.fs.list_objects_v2(req).await
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        self.fs.put_object(req).await
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        self.fs.copy_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        self.fs.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.fs.upload_part_copy(req).await
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        self.fs.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.fs.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.fs.abort_multipart_upload(req).await
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        if self.is_directory(&req.input.bucket, &req.input.key) {
            return Err(s3_error!(NoSuchKey));
        }
        self.fs.head_object(req).await
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        if self.is_directory(&req.input.bucket, &req.input.key) {
            return Err(s3_error!(NoSuchKey));
        }
        self.fs.get_object(req).await
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        if self.is_directory(&req.input.bucket, &req.input.key) {
            return Ok(S3Response::new(DeleteObjectOutput::default()));
        }
        self.fs.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        mut req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let (missing, objects): (Vec<_>, Vec<_>) =
            req.input.delete.objects.drain(..).partition(|o| self.is_directory(&bucket, &o.key));
        req.input.delete.objects = objects;
        let mut response = self.fs.delete_objects(req).await?;
        let deleted = response.output.deleted.get_or_insert_with(Vec::new);
        deleted.extend(missing.into_iter().map(|o| DeletedObject {
            key: Some(o.key),
            version_id: o.version_id,
            ..Default::default()
        }));
        Ok(response)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: bench-s3s-fs --port PORT --access-key KEY --secret-key SECRET ROOT";
    let (mut port, mut access, mut secret, mut root) = (None, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse::<u16>().ok()),
            "--access-key" => access = args.next(),
            "--secret-key" => secret = args.next(),
            _ if !arg.starts_with('-') && root.is_none() => root = Some(PathBuf::from(arg)),
            _ => return Err(usage.into()),
        }
    }
    let (Some(port), Some(access), Some(secret), Some(root)) = (port, access, secret, root) else {
        return Err(usage.into());
    };
    let root = std::fs::canonicalize(Path::new(&root))?;
    let server = Server { fs: FileSystem::new(&root).map_err(|e| format!("{root:?}: {e:?}"))?, root };
    let service = {
        let mut builder = S3ServiceBuilder::new(server);
        builder.set_auth(SimpleAuth::from_single(access, secret));
        builder.build()
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let http = ConnBuilder::new(TokioExecutor::new());
    loop {
        let (socket, _) = listener.accept().await?;
        let conn = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
