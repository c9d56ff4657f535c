//! Presigned download URLs: what the store layer builds for each store, and the checks
//! `download_link` keeps. Signing is local (no request), so real signers are used; the
//! URLs themselves are downloaded from real servers in tests/test_files_redirect.py.

use std::time::Duration;

use object_store::path::Path;
use s3contents_core::contents::backend::ResponseHeaders;
use s3contents_core::contents::download::DownloadLink;
use s3contents_core::contents::Contents;
use s3contents_core::error::Error;
use s3contents_core::keys::{ApiPath, KeyMapper};
use s3contents_core::store::build_store;

fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn s3_options() -> Vec<(String, String)> {
    options(&[
        ("aws_access_key_id", "AKIDEXAMPLE"),
        ("aws_secret_access_key", "secret"),
        ("aws_region", "eu-west-1"),
        ("aws_endpoint", "http://127.0.0.1:9"),
        ("aws_allow_http", "true"),
    ])
}

#[tokio::test]
async fn s3_urls_sign_the_response_headers() {
    let built = build_store("s3://bucket", &s3_options(), None).unwrap();
    let signer = built.url_signer.expect("S3 with keys signs");
    let headers = ResponseHeaders {
        content_disposition: Some("attachment; filename*=utf-8''a%20b.txt".into()),
        content_type: Some("text/plain; charset=UTF-8".into()),
    };
    assert_eq!(signer.refuses(&Path::from("dir/a b.txt"), &headers), None);
    let url = signer.signed_get(&Path::from("dir/a b.txt"), Duration::from_secs(300), &headers).await.unwrap();
    assert!(url.starts_with("http://127.0.0.1:9/bucket/dir/a%20b.txt?"), "{url}");
    assert!(url.contains("X-Amz-Expires=300"), "{url}");
    assert!(url.contains("response-content-disposition=attachment%3B%20filename%2A%3Dutf-8%27%27a%2520b.txt"), "{url}");
    assert!(url.contains("response-content-type=text%2Fplain%3B%20charset%3DUTF-8"), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
}

#[tokio::test]
async fn anonymous_and_local_stores_give_no_signer() {
    let mut anonymous = s3_options();
    anonymous.push(("aws_skip_signature".into(), "true".into()));
    assert!(build_store("s3://bucket", &anonymous, None).unwrap().url_signer.is_none());
    assert!(build_store("memory://", &[], None).unwrap().url_signer.is_none());
    let gcs_anonymous = options(&[("google_skip_signature", "true"), ("google_base_url", "http://127.0.0.1:9")]);
    assert!(build_store("gs://bucket", &gcs_anonymous, None).unwrap().url_signer.is_none());
}

#[tokio::test]
async fn azure_urls_cannot_carry_content_disposition() {
    let azure = options(&[
        ("azure_storage_account_name", "devstoreaccount1"),
        ("azure_storage_account_key", "Zm9vYmFy"),
        ("azure_storage_use_emulator", "true"),
    ]);
    let signer = build_store("az://container", &azure, None).unwrap().url_signer.expect("a key signs");
    let download = ResponseHeaders { content_disposition: Some("attachment".into()), content_type: None };
    assert!(signer.refuses(&Path::from("a.txt"), &download).unwrap().contains("Content-Disposition"));
    let plain = ResponseHeaders { content_disposition: None, content_type: Some("text/plain".into()) };
    assert_eq!(signer.refuses(&Path::from("d-1/a_b.txt"), &plain), None);
    assert!(signer.refuses(&Path::from("a b.txt"), &plain).unwrap().contains("spaces"));
    let url = signer.signed_get(&Path::from("a.txt"), Duration::from_secs(60), &plain).await.unwrap();
    assert!(url.contains("/devstoreaccount1/container/a.txt?") && url.contains("sig="), "{url}");
}

#[tokio::test]
async fn a_store_without_signer_streams_and_lifetimes_are_checked() {
    let built = build_store("memory://", &[], None).unwrap();
    let contents = Contents::new(built.store, KeyMapper::new("").unwrap());
    let link = contents
        .download_link(&ApiPath::parse("a.txt").unwrap(), Duration::from_secs(60), &ResponseHeaders::default())
        .await
        .unwrap();
    assert!(matches!(link, DownloadLink::Streamed(reason) if reason.contains("cannot presign")));

    // A lifetime outside 1 s to 7 days is refused before any request.
    let built = build_store("s3://bucket", &s3_options(), None).unwrap();
    let contents = Contents::new(built.store, KeyMapper::new("").unwrap()).with_url_signer(built.url_signer);
    let result = contents
        .download_link(&ApiPath::parse("a.txt").unwrap(), Duration::from_secs(0), &ResponseHeaders::default())
        .await;
    assert!(matches!(result, Err(Error::Config(message)) if message.contains("1 second")));
}
