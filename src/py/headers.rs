//! The HTTP headers of `/files` downloads parsed into the core's typed values: the core
//! never sees header text.

use s3contents_core::contents::download::{ByteRange, IfNoneMatch};

/// The one byte range of a Range header. `None` for anything but one well-formed byte
/// range: the whole object is then served (RFC 9110 allows ignoring a Range header).
pub fn byte_range(header: &str) -> Option<ByteRange> {
    let spec = header.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim(), end.trim());
    let number = |s: &str| s.parse::<u64>().ok();
    match (start.is_empty(), end.is_empty()) {
        (true, false) => Some(ByteRange::Suffix(number(end)?)),
        (false, true) => Some(ByteRange::From { start: number(start)?, end: None }),
        (false, false) => {
            let (start, end) = (number(start)?, number(end)?);
            (end >= start).then_some(ByteRange::From { start, end: Some(end) })
        }
        (true, true) => None,
    }
}

/// An If-None-Match header: `*`, or a list of entity tags (weak or strong; a tag sent
/// without its quotes is taken as it is). `None` when it names nothing or a quote is
/// left open: the header is then ignored and the file sent.
pub fn if_none_match(header: &str) -> Option<IfNoneMatch> {
    let mut tags = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let unweak = rest.strip_prefix("W/").unwrap_or(rest);
        let (tag, after) = match unweak.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"')?,
            None => {
                let (tag, after) = unweak.split_once(',').unwrap_or((unweak, ""));
                let tag = tag.trim();
                if tag == "*" {
                    return Some(IfNoneMatch::Any);
                }
                (tag, after)
            }
        };
        if !tag.is_empty() {
            tags.push(tag.to_string());
        }
        rest = after;
    }
    (!tags.is_empty()).then_some(IfNoneMatch::Tags(tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_headers() {
        assert_eq!(byte_range("bytes=0-99"), Some(ByteRange::From { start: 0, end: Some(99) }));
        assert_eq!(byte_range("bytes=10-"), Some(ByteRange::From { start: 10, end: None }));
        assert_eq!(byte_range("bytes=-5"), Some(ByteRange::Suffix(5)));
        assert_eq!(byte_range(" bytes= 1 - 2 "), Some(ByteRange::From { start: 1, end: Some(2) }));
        for ignored in ["bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=-", "bytes=a-b", "", "bytes=1"] {
            assert_eq!(byte_range(ignored), None, "{ignored}");
        }
        let r = |h: &str, size| byte_range(h).unwrap().resolve(size);
        assert_eq!(r("bytes=0-99", 50), Some(0..50));
        assert_eq!(r("bytes=10-19", 50), Some(10..20));
        assert_eq!(r("bytes=-5", 50), Some(45..50));
        assert_eq!(r("bytes=-500", 50), Some(0..50));
        assert_eq!(r("bytes=50-", 50), None);
        assert_eq!(r("bytes=-0", 50), None);
        assert_eq!(r("bytes=-3", 0), None);
    }

    #[test]
    fn if_none_match_headers() {
        let tags = |t: &[&str]| Some(IfNoneMatch::Tags(t.iter().map(|s| s.to_string()).collect()));
        assert_eq!(if_none_match("*"), Some(IfNoneMatch::Any));
        assert_eq!(if_none_match(" * "), Some(IfNoneMatch::Any));
        assert_eq!(if_none_match("\"abc\""), tags(&["abc"]));
        assert_eq!(if_none_match("W/\"abc\""), tags(&["abc"]));
        assert_eq!(if_none_match("abc"), tags(&["abc"]));
        assert_eq!(if_none_match("\"a\", W/\"b\" ,\"c,d\""), tags(&["a", "b", "c,d"]));
        for ignored in ["", " , ", "\"abc", "\"\""] {
            assert_eq!(if_none_match(ignored), None, "{ignored:?}");
        }
    }
}
