//! A validating JSON scanner that records a document as a flat tape of tokens.
//!
//! The scanner runs without Python (so the bindings can release the GIL while it works),
//! and it accepts only documents whose Python value it can describe exactly as
//! `json.loads` would build it: everything else (NaN/Infinity literals, lone surrogates,
//! control characters in strings, a byte-order mark, invalid UTF-8, nesting deeper than
//! asked, and every invalid document) is refused, so the caller hands it to `json.loads`
//! and gets `json.loads`' own value or error.
//!
//! Numbers are kept as spans of the input text, so that the builder can make them the way
//! `json.loads` does (a correctly rounded float, an exact int of any size); strings
//! without escapes are spans too, and only escaped strings are decoded into a side
//! buffer. A token is 12 bytes: the tape stays well under the size of the Python tree
//! built from it, and no intermediate tree of values is ever made.

/// One JSON value, or the start of a container whose items follow it on the tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    Null,
    True,
    False,
    /// An integer literal (no fraction, no exponent): `input[start..start + len]`.
    Int {
        start: u32,
        len: u32,
    },
    /// A number with a fraction or an exponent: `input[start..start + len]`.
    Float {
        start: u32,
        len: u32,
    },
    /// A string without escapes: `input[start..start + len]`, quotes excluded.
    Str {
        start: u32,
        len: u32,
    },
    /// A string with escapes, decoded: `Tape::unescaped[start..start + len]`.
    Escaped {
        start: u32,
        len: u32,
    },
    /// A list; its `count` items follow.
    Array {
        count: u32,
    },
    /// A dict; its `count` key/value pairs follow, key first (keys are `Str`/`Escaped`).
    Object {
        count: u32,
    },
}

/// A scanned document: its tokens in document order and the decoded escaped strings.
#[derive(Debug, Default)]
pub struct Tape {
    pub tokens: Vec<Token>,
    pub unescaped: String,
}

impl Tape {
    /// The text of a number or string token.
    pub fn text<'a>(&'a self, input: &'a str, token: Token) -> &'a str {
        let span = |start: u32, len: u32| start as usize..start as usize + len as usize;
        match token {
            Token::Int { start, len } | Token::Float { start, len } | Token::Str { start, len } => {
                &input[span(start, len)]
            }
            Token::Escaped { start, len } => &self.unescaped[span(start, len)],
            _ => "",
        }
    }
}

/// Scans `input` as one JSON document. `None` means "not read here": invalid JSON, or
/// JSON whose `json.loads` value the tape cannot describe exactly (see the module doc).
/// `max_depth` bounds the nesting (`json.loads` has its own recursion limit: deeper
/// documents go to it).
pub fn scan(input: &[u8], max_depth: usize) -> Option<Tape> {
    // Spans are u32; a JSON text of 4 GiB is not a notebook.
    if u32::try_from(input.len()).is_err() {
        return None;
    }
    // UTF-8 once for the whole text; spans then start and end at ASCII bytes.
    std::str::from_utf8(input).ok()?;
    let mut scanner = Scanner {
        input,
        pos: 0,
        tape: Tape { tokens: Vec::with_capacity(input.len() / 16), unescaped: String::new() },
        open: Vec::new(),
        max_depth,
    };
    scanner.document()?;
    Some(scanner.tape)
}

/// A container being scanned: where its token is and how many items it has so far.
struct Open {
    token: usize,
    count: u32,
    object: bool,
}

struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
    tape: Tape,
    open: Vec<Open>,
    max_depth: usize,
}

impl Scanner<'_> {
    fn document(&mut self) -> Option<()> {
        'value: loop {
            self.skip_whitespace();
            match self.peek()? {
                open @ (b'[' | b'{') => {
                    if self.open.len() >= self.max_depth {
                        return None;
                    }
                    self.pos += 1;
                    let object = open == b'{';
                    let token = self.tape.tokens.len();
                    self.tape.tokens.push(if object { Token::Object { count: 0 } } else { Token::Array { count: 0 } });
                    self.open.push(Open { token, count: 0, object });
                    self.skip_whitespace();
                    let close = if object { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.pos += 1;
                        self.open.pop();
                    } else {
                        if object {
                            self.key()?;
                        }
                        continue 'value;
                    }
                }
                b'"' => {
                    let token = self.string()?;
                    self.tape.tokens.push(token);
                }
                b't' => self.literal(b"true", Token::True)?,
                b'f' => self.literal(b"false", Token::False)?,
                b'n' => self.literal(b"null", Token::Null)?,
                b'-' | b'0'..=b'9' => {
                    let token = self.number()?;
                    self.tape.tokens.push(token);
                }
                _ => return None,
            }
            // A value is complete: count it in its container, then read what follows it.
            loop {
                let Some(top) = self.open.last_mut() else {
                    self.skip_whitespace();
                    return (self.pos == self.input.len()).then_some(());
                };
                top.count = top.count.checked_add(1)?;
                let object = top.object;
                self.skip_whitespace();
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        if object {
                            self.key()?;
                        }
                        continue 'value;
                    }
                    b']' if !object => self.close(),
                    b'}' if object => self.close(),
                    _ => return None,
                }
            }
        }
    }

    /// Ends the innermost container and writes its item count into its token.
    fn close(&mut self) {
        self.pos += 1;
        if let Some(done) = self.open.pop() {
            self.tape.tokens[done.token] =
                if done.object { Token::Object { count: done.count } } else { Token::Array { count: done.count } };
        }
    }

    /// A key and its colon, before the value.
    fn key(&mut self) -> Option<()> {
        self.skip_whitespace();
        if self.peek()? != b'"' {
            return None;
        }
        let token = self.string()?;
        self.tape.tokens.push(token);
        self.skip_whitespace();
        (self.peek()? == b':').then(|| self.pos += 1)
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// JSON's whitespace, the only kind `json.loads` skips.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &[u8], token: Token) -> Option<()> {
        if !self.input[self.pos..].starts_with(word) {
            return None;
        }
        self.pos += word.len();
        self.tape.tokens.push(token);
        Some(())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`, as `json.loads` reads numbers. A
    /// fraction or exponent without digits is refused (json.loads stops the number
    /// before it and then fails on what is left).
    fn number(&mut self) -> Option<Token> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None, // "-Infinity" and the like
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.required_digits()?;
            float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.required_digits()?;
            float = true;
        }
        let (start, len) = (start as u32, (self.pos - start) as u32);
        Some(if float { Token::Float { start, len } } else { Token::Int { start, len } })
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn required_digits(&mut self) -> Option<()> {
        let before = self.pos;
        self.digits();
        (self.pos > before).then_some(())
    }

    /// A string from its opening quote. Control characters are refused (json.loads is
    /// strict by default), so are lone surrogates (a Rust string cannot hold them).
    fn string(&mut self) -> Option<Token> {
        self.pos += 1;
        let start = self.pos;
        let plain_end = self.input[start..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)? + start;
        if self.input[plain_end] == b'"' {
            self.pos = plain_end + 1;
            return Some(Token::Str { start: start as u32, len: (plain_end - start) as u32 });
        }
        let out_start = self.tape.unescaped.len();
        self.pos = plain_end;
        let mut run_start = start;
        loop {
            let byte = self.peek()?;
            match byte {
                b'"' => {
                    self.push_run(run_start);
                    self.pos += 1;
                    let len = self.tape.unescaped.len() - out_start;
                    return Some(Token::Escaped {
                        start: u32::try_from(out_start).ok()?,
                        len: u32::try_from(len).ok()?,
                    });
                }
                b'\\' => {
                    self.push_run(run_start);
                    self.pos += 1;
                    let decoded = self.escape()?;
                    self.tape.unescaped.push(decoded);
                    run_start = self.pos;
                }
                0..=0x1f => return None,
                _ => self.pos += 1,
            }
        }
    }

    /// Copies the unescaped text between `run_start` and the current position.
    fn push_run(&mut self, run_start: usize) {
        // The whole input is UTF-8 and the run ends before an ASCII byte.
        if let Ok(run) = std::str::from_utf8(&self.input[run_start..self.pos]) {
            self.tape.unescaped.push_str(run);
        }
    }

    /// The character of an escape, after its backslash.
    fn escape(&mut self) -> Option<char> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                match unit {
                    0xD800..=0xDBFF => {
                        // Only a high surrogate followed by an escaped low one is a character.
                        if !self.input[self.pos..].starts_with(b"\\u") {
                            return None;
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    _ => char::from_u32(unit)?, // None for a lone low surrogate
                }
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.input.get(self.pos..self.pos + 4)?;
        let mut unit = 0;
        for &digit in digits {
            unit = unit * 16 + (digit as char).to_digit(16)?;
        }
        self.pos += 4;
        Some(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Option<Vec<Token>> {
        scan(text.as_bytes(), 64).map(|tape| tape.tokens)
    }

    #[test]
    fn containers_carry_their_item_counts() {
        let tape = scan(br#" {"a": [1, 2.5, "x"], "b": {}, "c": []} "#, 64).unwrap();
        assert_eq!(tape.tokens[0], Token::Object { count: 3 });
        assert_eq!(tape.tokens[2], Token::Array { count: 3 });
        assert!(matches!(tape.tokens[3], Token::Int { .. }));
        assert!(matches!(tape.tokens[4], Token::Float { .. }));
        assert_eq!(tape.tokens[7], Token::Object { count: 0 });
        assert_eq!(tape.tokens[9], Token::Array { count: 0 });
    }

    #[test]
    fn numbers_keep_their_text() {
        let input = "[-0, 123456789012345678901234567890, 1E+5, -0.0e-7]";
        let tape = scan(input.as_bytes(), 64).unwrap();
        let texts: Vec<_> = tape.tokens[1..].iter().map(|&t| tape.text(input, t)).collect();
        assert_eq!(texts, ["-0", "123456789012345678901234567890", "1E+5", "-0.0e-7"]);
        assert!(matches!(tape.tokens[2], Token::Int { .. }));
        assert!(matches!(tape.tokens[3], Token::Float { .. }));
    }

    #[test]
    fn escapes_are_decoded_and_plain_strings_borrowed() {
        let input = r#"["plain é", "a\"b\\c\/\b\f\n\r\t", "\u00e9\ud83d\ude00x"]"#;
        let tape = scan(input.as_bytes(), 64).unwrap();
        assert!(matches!(tape.tokens[1], Token::Str { .. }));
        let texts: Vec<_> = tape.tokens[1..].iter().map(|&t| tape.text(input, t)).collect();
        assert_eq!(texts, ["plain é", "a\"b\\c/\u{8}\u{c}\n\r\t", "é😀x"]);
    }

    #[test]
    fn refuses_what_it_cannot_describe_exactly() {
        for text in [
            "NaN",
            "[Infinity]",
            "-Infinity",
            r#""\ud800""#,
            r#""\udc00x""#,
            r#""\ud800\u0041""#,
            "\"tab\there\"",
            "\u{feff}{}",
            "01",
            "1.",
            "1e",
            ".5",
            "+1",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1: 2}",
            "[1 2]",
            "",
            "   ",
            "[",
            "\"open",
            "tru",
            "{} x",
            "\"\\x\"",
            "\"\\u12\"",
        ] {
            assert_eq!(tokens(text), None, "{text:?}");
        }
        assert!(scan(b"\"\xff\"", 64).is_none());
        assert!(scan(b"\"\xed\xa0\x80\"", 64).is_none()); // a surrogate encoded in UTF-8
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(scan(deep(64).as_bytes(), 64).is_some());
        assert!(scan(deep(65).as_bytes(), 64).is_none());
    }

    #[test]
    fn accepts_json_whitespace_only() {
        assert!(tokens(" \t\r\n[ 1 ,\n2 ] \n").is_some());
        assert!(tokens("[1,\u{a0}2]").is_none());
        assert!(tokens("[1,\u{c}2]").is_none());
    }
}
