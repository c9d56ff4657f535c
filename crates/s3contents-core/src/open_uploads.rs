//! Closing the S3 multipart uploads that a lost answer left open.
//!
//! When the answer to CreateMultipartUpload is lost, the bucket holds an upload whose id
//! nobody knows: object_store can neither list nor abort it, so it would stay open until
//! a lifecycle rule aborts it. The janitor lists the open uploads of one key
//! (ListMultipartUploads) and aborts the ones that appeared during our own operation.
//! What was open before the operation started belongs to someone else (another server,
//! another client) and is never touched.
//!
//! S3 only: object_store offers no listing of open uploads for GCS or Azure.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use object_store::path::Path;
use percent_encoding::utf8_percent_encode;

use crate::contents::backend::OpenUploads;
use crate::signed_s3::{xml_text, SignedS3, QUERY_VALUE};

/// Pages of a listing followed at most (1000 uploads each).
const MAX_PAGES: usize = 100;

/// One multipart upload still open in the bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenUpload {
    pub upload_id: String,
    pub initiated: Option<DateTime<Utc>>,
}

/// Lists and aborts the open multipart uploads of a key (raw signed requests).
#[derive(Debug)]
pub struct UploadJanitor {
    s3: SignedS3,
}

impl UploadJanitor {
    pub fn new(s3: SignedS3) -> Self {
        Self { s3 }
    }

    /// The open uploads whose key is exactly `key` (the prefix also matches longer keys).
    pub async fn list(&self, key: &Path) -> object_store::Result<Vec<OpenUpload>> {
        let prefix = utf8_percent_encode(key.as_ref(), QUERY_VALUE).to_string();
        let mut found = Vec::new();
        let mut marker: Option<(String, String)> = None;
        for _ in 0..MAX_PAGES {
            // Query parameters in sorted order, as SigV4's canonical request has them.
            let mut query = String::new();
            if let Some((key_marker, upload_marker)) = &marker {
                query.push_str(&format!("key-marker={}&", utf8_percent_encode(key_marker, QUERY_VALUE)));
                query.push_str(&format!("prefix={prefix}&"));
                query.push_str(&format!("upload-id-marker={}&", utf8_percent_encode(upload_marker, QUERY_VALUE)));
            } else {
                query.push_str(&format!("prefix={prefix}&"));
            }
            query.push_str("uploads=");
            let url = self.s3.bucket_url(&query);
            let body = self.s3.send_retried(http::Method::GET, &url, &[]).await?;
            let page = parse_listing(&String::from_utf8_lossy(&body));
            found.extend(page.uploads.into_iter().filter(|(k, _)| k == key.as_ref()).map(|(_, upload)| upload));
            match page.next {
                // Keys come in order: past `key`, nothing more of it can follow.
                Some((next_key, _)) if next_key.as_str() > key.as_ref() => break,
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        Ok(found)
    }

    /// Abort upload `upload_id` of `key`; one that is already gone (completed or aborted)
    /// is fine.
    pub async fn abort(&self, key: &Path, upload_id: &str) -> object_store::Result<()> {
        let url = self.s3.url(key, &format!("?uploadId={}", utf8_percent_encode(upload_id, QUERY_VALUE)));
        match self.s3.send_retried(http::Method::DELETE, &url, &[]).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) if crate::answer::Answer::of(&e).code_is(&["NoSuchUpload"]) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl OpenUploads for UploadJanitor {
    /// The ids of the open uploads of `key` (what was there before an operation).
    async fn ids(&self, key: &Path) -> object_store::Result<HashSet<String>> {
        Ok(self.list(key).await?.into_iter().map(|u| u.upload_id).collect())
    }

    /// Abort every open upload of `key` not in `before`; returns how many were aborted.
    /// Only for a key whose own upload is finished (or never started): whatever else
    /// appeared since `before` was listed is ours, left by a lost answer.
    async fn abort_new(&self, key: &Path, before: &HashSet<String>) -> object_store::Result<usize> {
        let mut aborted = 0;
        for upload in self.list(key).await? {
            if before.contains(&upload.upload_id) {
                continue;
            }
            self.abort(key, &upload.upload_id).await?;
            log::info!(target: crate::logged::TARGET,
                "aborted the multipart upload of {key} a lost answer left open (initiated {})",
                upload.initiated.map(|t| t.to_rfc3339()).unwrap_or_else(|| "at an unknown time".into()));
            aborted += 1;
        }
        Ok(aborted)
    }
}

/// One page of a ListMultipartUploads answer: (key, upload) pairs, and the markers of the
/// next page when the answer is truncated.
struct Page {
    uploads: Vec<(String, OpenUpload)>,
    next: Option<(String, String)>,
}

fn parse_listing(xml: &str) -> Page {
    let mut uploads = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<Upload>") {
        let after = &rest[start + "<Upload>".len()..];
        let Some(end) = after.find("</Upload>") else { break };
        let entry = &after[..end];
        if let (Some(key), Some(id)) = (xml_text(entry, "Key"), xml_text(entry, "UploadId")) {
            let initiated = xml_text(entry, "Initiated")
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            uploads.push((unescape(key), OpenUpload { upload_id: unescape(id), initiated }));
        }
        rest = &after[end..];
    }
    let truncated = xml_text(xml, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next = match (xml_text(xml, "NextKeyMarker"), xml_text(xml, "NextUploadIdMarker")) {
        (Some(key), Some(id)) if truncated && !key.is_empty() => Some((unescape(key), unescape(id))),
        _ => None,
    };
    Page { uploads, next }
}

/// XML text as written: the predefined entities and character references resolved.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..end];
        let resolved = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(|dec| dec.parse::<u32>()))
                .and_then(|n| n.ok())
                .and_then(char::from_u32),
        };
        match resolved {
            Some(c) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_keeps_keys_and_ids_and_follows_pages() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>p/a &amp; b.txt.bak</NextKeyMarker><NextUploadIdMarker>id3</NextUploadIdMarker>
  <Prefix>p/a &amp; b.txt</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>true</IsTruncated>
  <Upload><Key>p/a &amp; b.txt</Key><UploadId>id1+/=</UploadId>
    <Initiator><ID>x</ID></Initiator><Initiated>2026-12-05T08:00:00.000Z</Initiated></Upload>
  <Upload><Key>p/a &amp; b.txt</Key><UploadId>id2</UploadId><Initiated>bad</Initiated></Upload>
  <Upload><Key>p/a &amp; b.txt.bak</Key><UploadId>id3</UploadId></Upload>
</ListMultipartUploadsResult>"#;
        let page = parse_listing(xml);
        let keys: Vec<&str> = page.uploads.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["p/a & b.txt", "p/a & b.txt", "p/a & b.txt.bak"]);
        assert_eq!(page.uploads[0].1.upload_id, "id1+/=");
        assert_eq!(page.uploads[0].1.initiated.unwrap().to_rfc3339(), "2026-12-05T08:00:00+00:00");
        assert_eq!(page.uploads[1].1.initiated, None);
        assert_eq!(page.next, Some(("p/a & b.txt.bak".to_string(), "id3".to_string())));

        let last =
            parse_listing("<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>");
        assert!(last.uploads.is_empty());
        assert_eq!(last.next, None);
    }

    #[test]
    fn xml_text_is_unescaped() {
        assert_eq!(unescape("a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;"), "a & b <c> \"d\" 'e'");
        assert_eq!(unescape("tab&#9;x&#x41;"), "tab\tx\u{41}");
        assert_eq!(unescape("lone & and &bogus; stay"), "lone & and &bogus; stay");
        assert_eq!(unescape("plain"), "plain");
    }
}
