//! What the store answered, read out of an `object_store::Error`: the HTTP status, the
//! error code and message of the answer's body, or the transport failure that left no
//! answer. `error.rs` classifies errors from this, never from their text.
//!
//! Statuses come from types wherever there are types: object_store's variants
//! (`NotFound` is 404, `PermissionDenied` 403, ...), its public `HttpError` (transport
//! failures), and [`ResponseError`], the error of the requests this crate sends itself.
//! The one thing no type exposes is the status and body of object_store's own request
//! error for the errors it leaves `Generic` (listings, bulk deletes, token requests):
//! [`object_store_wording`] reads them from its text, and is the only place that does.

use std::fmt;

use object_store::client::{HttpError, HttpErrorKind};

/// A request this crate sent itself (signed_s3.rs, gcs_rewrite.rs, azure_copy.rs,
/// console_dirs.rs) that the store answered with an error: status and body as fields.
#[derive(Debug)]
pub struct ResponseError {
    pub status: http::StatusCode,
    /// What was asked, e.g. "DELETE https://...".
    pub request: String,
    pub body: String,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the store answered {}: {}: {}", self.status, self.request, self.body)
    }
}

impl std::error::Error for ResponseError {}

impl ResponseError {
    pub fn new(status: http::StatusCode, request: impl Into<String>, body: &[u8]) -> Self {
        Self { status, request: request.into(), body: String::from_utf8_lossy(body).into_owned() }
    }

    /// As object_store reports such an answer: a missing object (404, S3's NoSuchKey)
    /// `NotFound`, 412 `Precondition`, else `Generic` of `store` (a missing bucket too:
    /// `Error::from_store` reads it from the code).
    pub fn into_store_error(self, store: &'static str, path: &str) -> object_store::Error {
        let path = path.to_string();
        let code = Answer::code_of(&self.body);
        let bucket_missing = code.as_deref().is_some_and(|code| MISSING_BUCKET_CODES.contains(&code));
        match (self.status, code.as_deref()) {
            (http::StatusCode::NOT_FOUND, _) | (_, Some("NoSuchKey")) if !bucket_missing => {
                object_store::Error::NotFound { path, source: Box::new(self) }
            }
            (http::StatusCode::PRECONDITION_FAILED, _) | (_, Some("PreconditionFailed")) => {
                object_store::Error::Precondition { path, source: Box::new(self) }
            }
            _ => object_store::Error::Generic { store, source: Box::new(self) },
        }
    }
}

/// The codes S3 (and GCS's XML API) and Azure answer for a bucket or container that does
/// not exist.
pub const MISSING_BUCKET_CODES: [&str; 2] = ["NoSuchBucket", "ContainerNotFound"];

/// A login that failed before the store was asked: a credential provider (Python
/// callback, boto3 session, profile) that raised or returned nothing usable.
#[derive(Debug)]
pub struct LoginFailure(pub String);

impl fmt::Display for LoginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoginFailure {}

/// What the store answered to a failed request, as far as the error tells.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status, when the store answered.
    pub status: Option<u16>,
    /// The error code of the body: `<Code>` of an XML error (S3, GCS's XML API, Azure,
    /// STS), `error` of an OAuth token error, the first `reason` of a GCS JSON error.
    pub code: Option<String>,
    /// The human message of the body (`<Message>`, `message`, `error_description`).
    pub message: Option<String>,
    /// The request failed without an answer (connection, timeout, interrupted).
    pub transport: Option<HttpErrorKind>,
    /// The answer came from a token exchange (OAuth / STS), not from the store.
    pub login: bool,
    /// A local credential source failed (a token file, a credential provider).
    pub no_credentials: bool,
}

impl Answer {
    pub fn of(error: &object_store::Error) -> Self {
        use object_store::Error as E;
        let mut answer = Answer {
            status: match error {
                E::NotFound { .. } => Some(404),
                E::AlreadyExists { .. } => Some(409),
                E::Precondition { .. } => Some(412),
                E::NotModified { .. } => Some(304),
                E::PermissionDenied { .. } => Some(403),
                E::Unauthenticated { .. } => Some(401),
                _ => None,
            },
            ..Answer::default()
        };
        let mut body = None;
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = cause {
            if let Some(http) = e.downcast_ref::<HttpError>() {
                answer.transport = Some(http.kind());
            } else if let Some(response) = e.downcast_ref::<ResponseError>() {
                answer.status = Some(response.status.as_u16());
                body = Some(response.body.clone());
            } else if e.downcast_ref::<LoginFailure>().is_some() {
                answer.no_credentials = true;
            } else if let Some(said) = object_store_wording(e) {
                match said {
                    Said::Answered { status, body: text } => {
                        answer.status = status.or(answer.status);
                        body = Some(text);
                    }
                    Said::TokenRequest => answer.login = true,
                    Said::NoTokenFile => answer.no_credentials = true,
                }
            }
            cause = e.source();
        }
        if let Some(body) = body {
            answer.code = Self::code_of(&body);
            answer.message = Self::message_of(&body);
            // An OAuth error (RFC 6749 5.2) is only ever the answer of a token endpoint.
            answer.login |= oauth_error(&body).is_some();
        }
        answer
    }

    /// The error code of an error body (XML or JSON).
    pub fn code_of(body: &str) -> Option<String> {
        if let Some(code) = xml_text(body, "Code") {
            return Some(code.to_string());
        }
        if let Some(code) = oauth_error(body) {
            return Some(code);
        }
        let json: serde_json::Value = serde_json::from_str(body).ok()?;
        let reason = json.pointer("/error/errors/0/reason")?.as_str()?;
        Some(reason.to_string())
    }

    /// The message of an error body; a body that is neither XML nor JSON is all message.
    fn message_of(body: &str) -> Option<String> {
        if let Some(message) = xml_text(body, "Message") {
            return Some(message.to_string());
        }
        match serde_json::from_str::<serde_json::Value>(body) {
            Ok(json) => {
                let message = json.pointer("/error/message").or_else(|| json.get("error_description"))?.as_str()?;
                Some(message.to_string())
            }
            Err(_) if body.trim_start().starts_with('<') => None,
            Err(_) => Some(body.to_string()).filter(|body| !body.is_empty()),
        }
    }

    /// The answer in a few words for a message: its code and message, else its status.
    pub fn summary(&self) -> Option<String> {
        let message = self.message.as_deref().map(|m| shortened(m.trim(), 300));
        match (self.code.as_deref(), message, self.status) {
            (Some(code), Some(message), _) => Some(format!("{code}: {message}")),
            (Some(code), None, _) => Some(code.to_string()),
            (None, Some(message), _) => Some(message),
            (None, None, Some(status)) => Some(format!("status {status}")),
            (None, None, None) => None,
        }
    }

    pub fn code_is(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|code| codes.contains(&code))
    }

    pub fn message_has(&self, text: &str) -> bool {
        self.message.as_deref().is_some_and(|message| message.contains(text))
    }
}

fn shortened(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim())
}

/// The `error` of an OAuth error answer: `{"error": "invalid_grant", ...}` (a string; GCS
/// JSON errors have an object there).
fn oauth_error(body: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
    Some(json.get("error")?.as_str()?.to_string())
}

/// What object_store's wording says about one error of a source chain.
#[derive(Debug, PartialEq, Eq)]
enum Said {
    /// Its request error: the status (absent for an error inside a 200 answer) and body.
    Answered { status: Option<u16>, body: String },
    /// Its failed token request (GCP and Azure OAuth, STS web identity).
    TokenRequest,
    /// Its credential error for a token file it could not read.
    NoTokenFile,
}

/// The only reading of object_store's wording. It must read text because the types that
/// carry these facts are private to object_store: its request error
/// (`client::retry::RetryError`, whose `status()` and `body()` would answer this) sits in
/// a private module, so it cannot be named for a downcast, and neither can its
/// credential errors (`aws::credential::Error`, `gcp::credential::Error`). object_store
/// leaves listings, bulk deletes and token requests `Generic`, so without this a refused
/// LIST would be a 500. tests/test_error_classification.py runs these against errors the
/// local S3, GCS and Azure servers produce: a change of wording fails a test there.
fn object_store_wording(error: &dyn std::error::Error) -> Option<Said> {
    // RequestError::Status and RequestError::Response (client/retry.rs).
    const STATUS: &str = "Server returned non-2xx status code: ";
    const RESPONSE: &str = "Server returned error response: ";
    let text = error.to_string();
    if let Some(rest) = text.strip_prefix(STATUS) {
        // "{status}: {body}", the status as http::StatusCode shows it ("403 Forbidden").
        let status = rest.get(..3).and_then(|code| code.parse().ok());
        let body = rest.split_once(": ").map(|(_, body)| body).unwrap_or_default();
        return Some(Said::Answered { status, body: body.to_string() });
    }
    if let Some(body) = text.strip_prefix(RESPONSE) {
        return Some(Said::Answered { status: None, body: body.to_string() });
    }
    // gcp::credential::Error::TokenRequest, azure::credential::Error::TokenRequest.
    if text.starts_with("Error performing token request") {
        return Some(Said::TokenRequest);
    }
    // aws::credential::Error::ReadTokenFile, EKS pod identity's token file, gcp's.
    if text.starts_with("Failed to read token file") || text.starts_with("Failed to read EKS token file") {
        return Some(Said::NoTokenFile);
    }
    None
}

/// A transport failure: the store never answered.
pub fn unreachable(answer: &Answer) -> bool {
    matches!(
        answer.transport,
        Some(HttpErrorKind::Connect | HttpErrorKind::Request | HttpErrorKind::Timeout | HttpErrorKind::Interrupted)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_give_their_codes() {
        let s3 = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>";
        assert_eq!(Answer::code_of(s3).as_deref(), Some("NoSuchBucket"));
        assert_eq!(Answer::message_of(s3).as_deref(), Some("gone"));
        let oauth = r#"{"error": "invalid_grant", "error_description": "bad"}"#;
        assert_eq!(Answer::code_of(oauth).as_deref(), Some("invalid_grant"));
        assert_eq!(oauth_error(oauth).as_deref(), Some("invalid_grant"));
        let gcs = r#"{"error": {"code": 404, "message": "nope", "errors": [{"reason": "notFound"}]}}"#;
        assert_eq!(Answer::code_of(gcs).as_deref(), Some("notFound"));
        assert_eq!(Answer::message_of(gcs).as_deref(), Some("nope"));
        assert_eq!(oauth_error(gcs), None);
        assert_eq!(Answer::code_of("plain text"), None);
    }

    #[test]
    fn own_requests_are_read_by_type() {
        let refused =
            ResponseError::new(http::StatusCode::FORBIDDEN, "GET x", b"<Error><Code>AccessDenied</Code></Error>")
                .into_store_error("S3", "x");
        let answer = Answer::of(&refused);
        assert_eq!((answer.status, answer.code.as_deref()), (Some(403), Some("AccessDenied")));
        let missing = ResponseError::new(http::StatusCode::NOT_FOUND, "GET x", b"").into_store_error("S3", "x");
        assert!(matches!(missing, object_store::Error::NotFound { .. }));
        let changed =
            ResponseError::new(http::StatusCode::PRECONDITION_FAILED, "PUT x", b"").into_store_error("S3", "x");
        assert!(matches!(changed, object_store::Error::Precondition { .. }));
    }
}
