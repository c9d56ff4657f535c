//! Base64 of file contents, the form the Contents API gives binary files in: encoded
//! piece by piece while an object streams in (reads), and decoded in one pass for saves.
//!
//! Both use SIMD (base64-simd picks AVX2, SSE4.1 or NEON at run time, a scalar loop
//! elsewhere): a 5 MB file is 6.7 MB of base64, a few milliseconds with a scalar codec and
//! well under one here, on every read and save of it.

use base64_simd::STANDARD;

/// Base64 encoding fed piece by piece into one buffer of the final size; the output is
/// the same as encoding the whole object at once.
pub struct Base64Writer {
    out: String,
    /// The 0-2 bytes of a 3-byte group that a piece boundary split.
    pending: [u8; 2],
    pending_len: usize,
}

impl Base64Writer {
    pub fn for_size(size: u64) -> Self {
        let capacity = usize::try_from(size).ok().and_then(encoded_len).unwrap_or(0);
        Self { out: String::with_capacity(capacity), pending: [0; 2], pending_len: 0 }
    }

    pub fn push(&mut self, mut piece: &[u8]) {
        if self.pending_len > 0 {
            let need = 3 - self.pending_len;
            if piece.len() < need {
                self.pending[self.pending_len..self.pending_len + piece.len()].copy_from_slice(piece);
                self.pending_len += piece.len();
                return;
            }
            let mut group = [0u8; 3];
            group[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
            group[self.pending_len..].copy_from_slice(&piece[..need]);
            STANDARD.encode_append(group, &mut self.out);
            piece = &piece[need..];
            self.pending_len = 0;
        }
        let whole = piece.len() / 3 * 3;
        STANDARD.encode_append(&piece[..whole], &mut self.out);
        let rest = &piece[whole..];
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    pub fn finish(mut self) -> String {
        STANDARD.encode_append(&self.pending[..self.pending_len], &mut self.out);
        self.out
    }
}

/// The length of the padded base64 of `size` bytes, if it fits in memory at all.
fn encoded_len(size: usize) -> Option<usize> {
    size.checked_add(2).map(|n| n / 3).and_then(|groups| groups.checked_mul(4))
}

/// The size of the bytes that `text` decodes to, when it is canonical base64: the
/// standard alphabet, padded, no whitespace. `None` for anything else, which the caller
/// decodes its own (more lenient) way.
pub fn canonical_decoded_len(text: &[u8]) -> Option<usize> {
    if text.len() % 4 != 0 {
        return None;
    }
    STANDARD.decoded_length(text).ok()
}

/// Decode canonical base64 into `out` (of `canonical_decoded_len`'s size); false when it
/// is not canonical base64 after all (a symbol outside the alphabet, a misplaced `=`, or
/// final bits that are not zero), and `out` is then not to be used.
pub fn decode_canonical(text: &[u8], out: &mut [u8]) -> bool {
    match STANDARD.decode(text, base64_simd::Out::from_slice(out)) {
        Ok(decoded) => decoded.len() == out.len(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    fn reference(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    #[test]
    fn pieces_of_any_size_encode_as_the_whole() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for split in [1usize, 2, 3, 4, 5, 7, 64, 500, 1000] {
            let mut writer = Base64Writer::for_size(data.len() as u64);
            for piece in data.chunks(split) {
                writer.push(piece);
            }
            let got = writer.finish();
            assert_eq!(got, reference(&data), "split {split}");
            assert_eq!(got.capacity(), got.len(), "one allocation of the final size");
        }
        for len in 0..10 {
            let mut writer = Base64Writer::for_size(len as u64);
            writer.push(&data[..len]);
            assert_eq!(writer.finish(), reference(&data[..len]), "length {len}");
        }
    }

    #[test]
    fn canonical_base64_decodes_as_the_reference_decoder() {
        let data: Vec<u8> = (0..=255u8).rev().cycle().take(300).collect();
        for len in 0..300 {
            let text = reference(&data[..len]);
            let size = canonical_decoded_len(text.as_bytes()).expect("canonical");
            let mut out = vec![0u8; size];
            assert!(decode_canonical(text.as_bytes(), &mut out), "length {len}");
            assert_eq!(out, &data[..len]);
        }
    }

    #[test]
    fn anything_else_is_left_to_the_caller() {
        // Whitespace, missing padding, a symbol outside the alphabet, non-zero final bits,
        // padding in the middle: Python decides (and words the error) for these.
        for text in ["QUJD\nRA==", "QQ", "QUJD=", "QR==", "QU-D", "QQ==QUJD", "Q===", "QUJ D"] {
            let accepted = canonical_decoded_len(text.as_bytes()).is_some_and(|size| {
                let mut out = vec![0u8; size];
                decode_canonical(text.as_bytes(), &mut out)
            });
            assert!(!accepted, "{text:?}");
        }
    }
}
