//! The SQL tokenizer under the DDL parser.
//!
//! Produces tokens on demand, so a statement that is not DDL (an `INSERT`, `BEGIN`, a stored
//! procedure body) is classified from its first words without reading the rest.
//!
//! What it understands, following the MySQL manual's "Comments", "Schema Object Names" and
//! "String Literals" pages:
//!
//! - whitespace; `# …` and `-- …` (the dashes followed by whitespace or a control character)
//!   to the end of the line; `/* … */`;
//! - versioned comments `/*!NNNNN … */` (5 or 6 version digits, or none) whose content is SQL,
//!   and MariaDB's `/*M!NNNNNN … */`, SQL for [`Flavor::MariaDb`] and a comment for MySQL (which
//!   ignores them). The version is not compared: the statement comes from the server's binlog,
//!   so the server that wrote it ran the content, and any server version this crate reads is
//!   newer than the versions mysqldump puts there;
//! - `` `quoted` `` identifiers with ``` `` ``` for a backtick; `"…"` is an identifier under
//!   `ANSI_QUOTES`, else a string;
//! - `'…'` and `"…"` strings with doubled quotes and backslash escapes (unless
//!   `NO_BACKSLASH_ESCAPES`);
//! - words (identifiers and keywords: ASCII letters, digits, `_`, `$` and any non-ASCII
//!   character), numbers, and single-character punctuation.
//!
//! A lexing failure (an unterminated string, identifier or comment) is an
//! [`TokenKind::Error`] token, so that it only matters when the parser reaches it.

use super::Dialect;
use super::Flavor;

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An unquoted word: a keyword or an identifier.
    Word(String),
    /// A backtick-quoted identifier (or a double-quoted one under `ANSI_QUOTES`), unescaped.
    Quoted(String),
    /// A string literal, unescaped; `double` when it was written in double quotes.
    Str { value: String, double: bool },
    /// A number (digits, with an optional fraction and exponent).
    Number(String),
    /// One punctuation character.
    Punct(char),
    /// The end of the input.
    End,
    /// The input cannot be tokenized here.
    Error(&'static str),
}

/// A token and the byte offset where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) offset: usize,
}

impl Token {
    /// Whether this is the unquoted word `kw` (ASCII case-insensitive).
    pub(crate) fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    /// Whether this is the punctuation character `c`.
    pub(crate) fn is_punct(&self, c: char) -> bool {
        self.kind == TokenKind::Punct(c)
    }

    /// Whether the statement ends here (end of input or `;`).
    pub(crate) fn is_end(&self) -> bool {
        matches!(self.kind, TokenKind::End | TokenKind::Punct(';'))
    }

    /// A short rendering for error messages.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            TokenKind::Word(w) => format!("`{w}`"),
            TokenKind::Quoted(q) => format!("identifier `{q}`"),
            TokenKind::Str { .. } => "a string".to_owned(),
            TokenKind::Number(n) => format!("number {n}"),
            TokenKind::Punct(c) => format!("`{c}`"),
            TokenKind::End => "the end of the statement".to_owned(),
            TokenKind::Error(e) => (*e).to_owned(),
        }
    }
}

/// The tokenizer: an iterator-like cursor over one SQL text.
#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    dialect: Dialect,
    /// Inside `/*! … */`: the next `*/` closes it and is skipped.
    in_versioned: bool,
    /// An error token was returned: everything after it is the end.
    failed: bool,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Bytes to a string. The input is a `&str` cut only at ASCII bytes, so this is always valid
/// UTF-8; the lossy path is a fallback that never runs.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl<'a> Lexer<'a> {
    /// A tokenizer over `sql`.
    pub(crate) fn new(sql: &'a str, dialect: Dialect) -> Self {
        Self {
            src: sql.as_bytes(),
            pos: 0,
            dialect,
            in_versioned: false,
            failed: false,
        }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.src.get(at).copied()
    }

    fn peek_byte(&self, ahead: usize) -> Option<u8> {
        self.pos.checked_add(ahead).and_then(|i| self.byte(i))
    }

    fn bump(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.src.len());
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.src.get(self.pos..).is_some_and(|r| r.starts_with(s))
    }

    /// Skips to just after the next `*/`; `false` when there is none.
    fn skip_block_comment(&mut self) -> bool {
        while self.pos < self.src.len() {
            if self.starts_with(b"*/") {
                self.bump(2);
                return true;
            }
            self.bump(1);
        }
        false
    }

    fn skip_line(&mut self) {
        while let Some(b) = self.peek_byte(0) {
            self.bump(1);
            if b == b'\n' {
                break;
            }
        }
    }

    /// Skips whitespace and comments. `Err` names an unterminated comment.
    fn skip_trivia(&mut self) -> Result<(), &'static str> {
        loop {
            let Some(b) = self.peek_byte(0) else {
                return Ok(());
            };
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => self.bump(1),
                b'#' => self.skip_line(),
                b'-' if self.peek_byte(1) == Some(b'-')
                    && self.peek_byte(2).is_none_or(|c| c <= b' ') =>
                {
                    self.skip_line();
                }
                b'*' if self.in_versioned && self.peek_byte(1) == Some(b'/') => {
                    self.in_versioned = false;
                    self.bump(2);
                }
                b'/' if self.peek_byte(1) == Some(b'*') => {
                    let versioned = match (self.peek_byte(2), self.peek_byte(3)) {
                        (Some(b'!'), _) => Some(3),
                        (Some(b'M'), Some(b'!')) if self.dialect.flavor == Flavor::MariaDb => {
                            Some(4)
                        }
                        _ => None,
                    };
                    match versioned {
                        Some(skip) if !self.in_versioned => {
                            self.bump(skip);
                            let digits = self
                                .src
                                .get(self.pos..)
                                .unwrap_or_default()
                                .iter()
                                .take_while(|b| b.is_ascii_digit())
                                .count();
                            // MySQL reads a 5-digit version (6 digits for 10.0+ versions).
                            match digits {
                                0..=4 => {}
                                6 => self.bump(6),
                                _ => self.bump(5),
                            }
                            self.in_versioned = true;
                        }
                        _ => {
                            self.bump(2);
                            if !self.skip_block_comment() {
                                return Err("an unterminated /* comment");
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// The next token; after [`TokenKind::End`] or an error, always `End`.
    pub(crate) fn next_token(&mut self) -> Token {
        if self.failed {
            return Token {
                kind: TokenKind::End,
                offset: self.src.len(),
            };
        }
        if let Err(e) = self.skip_trivia() {
            return self.fail(e, self.pos);
        }
        let offset = self.pos;
        let Some(b) = self.peek_byte(0) else {
            return Token {
                kind: TokenKind::End,
                offset,
            };
        };
        let kind = match b {
            b'`' => match self.quoted(b'`', false) {
                Some(s) => TokenKind::Quoted(s),
                None => return self.fail("an unterminated `quoted` identifier", offset),
            },
            b'"' if self.dialect.ansi_quotes => match self.quoted(b'"', false) {
                Some(s) => TokenKind::Quoted(s),
                None => return self.fail("an unterminated \"quoted\" identifier", offset),
            },
            b'\'' | b'"' => match self.quoted(b, !self.dialect.no_backslash_escapes) {
                Some(value) => TokenKind::Str {
                    value,
                    double: b == b'"',
                },
                None => return self.fail("an unterminated string", offset),
            },
            b if is_word_byte(b) => self.word(),
            _ => {
                self.bump(1);
                TokenKind::Punct(char::from(b))
            }
        };
        Token { kind, offset }
    }

    fn fail(&mut self, why: &'static str, offset: usize) -> Token {
        self.failed = true;
        Token {
            kind: TokenKind::Error(why),
            offset,
        }
    }

    /// A word or a number starting at the current position.
    fn word(&mut self) -> TokenKind {
        let start = self.pos;
        while self.peek_byte(0).is_some_and(is_word_byte) {
            self.bump(1);
        }
        let all_digits = self
            .src
            .get(start..self.pos)
            .is_some_and(|w| w.iter().all(u8::is_ascii_digit));
        if all_digits {
            // A fraction: `1.5` (a `.` then a digit; `db.tbl` never starts with a digit).
            if self.peek_byte(0) == Some(b'.')
                && self.peek_byte(1).is_some_and(|b| b.is_ascii_digit())
            {
                self.bump(1);
                while self.peek_byte(0).is_some_and(|b| b.is_ascii_digit()) {
                    self.bump(1);
                }
            }
            // An exponent: `1.5e-3` (`1e5` already read as a word; `1.5e` continues here).
            if matches!(self.peek_byte(0), Some(b'e' | b'E')) {
                let sign = usize::from(matches!(self.peek_byte(1), Some(b'+' | b'-')));
                if self
                    .peek_byte(sign.saturating_add(1))
                    .is_some_and(|b| b.is_ascii_digit())
                {
                    self.bump(sign.saturating_add(1));
                    while self.peek_byte(0).is_some_and(|b| b.is_ascii_digit()) {
                        self.bump(1);
                    }
                }
            }
        }
        let s = text(self.src.get(start..self.pos).unwrap_or_default().to_vec());
        if all_digits {
            TokenKind::Number(s)
        } else {
            TokenKind::Word(s)
        }
    }

    /// A quoted string or identifier opening at the current position; `None` when it is not
    /// closed.
    fn quoted(&mut self, quote: u8, backslash: bool) -> Option<String> {
        self.bump(1);
        let mut out = Vec::new();
        loop {
            let b = self.peek_byte(0)?;
            self.bump(1);
            if b == quote {
                if self.peek_byte(0) == Some(quote) {
                    out.push(quote);
                    self.bump(1);
                    continue;
                }
                return Some(text(out));
            }
            if b == b'\\' && backslash {
                let e = self.peek_byte(0)?;
                self.bump(1);
                match e {
                    b'0' => out.push(0),
                    b'b' => out.push(0x08),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'Z' => out.push(0x1a),
                    // `\%` and `\_` keep their backslash (they are LIKE escapes).
                    b'%' | b'_' => out.extend_from_slice(&[b'\\', e]),
                    _ => out.push(e),
                }
                continue;
            }
            out.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str, flavor: Flavor) -> Vec<TokenKind> {
        let mut l = Lexer::new(sql, Dialect::from(flavor));
        let mut out = Vec::new();
        loop {
            let t = l.next_token();
            if t.kind == TokenKind::End {
                return out;
            }
            out.push(t.kind);
        }
    }

    fn w(s: &str) -> TokenKind {
        TokenKind::Word(s.to_owned())
    }

    #[test]
    fn comments_and_versioned_comments() {
        let sql = "/*!40101 SET @x=1 */; -- hi\n# too\n/* c */ /*M!100100 a */ /*!b*/ --x";
        assert_eq!(
            kinds(sql, Flavor::MySql),
            vec![
                w("SET"),
                TokenKind::Punct('@'),
                w("x"),
                TokenKind::Punct('='),
                TokenKind::Number("1".into()),
                TokenKind::Punct(';'),
                w("b"),
                TokenKind::Punct('-'),
                TokenKind::Punct('-'),
                w("x"),
            ]
        );
        assert_eq!(
            kinds("/*M!100100 a */ /*!999999 b */", Flavor::MariaDb),
            vec![w("a"), w("b")]
        );
    }

    #[test]
    fn quoting() {
        let sql = r#"`a``b`.`c.d` 'it''s\n' "x\"y" 1.5e3 _utf8mb4'z' é"#;
        assert_eq!(
            kinds(sql, Flavor::MySql),
            vec![
                TokenKind::Quoted("a`b".into()),
                TokenKind::Punct('.'),
                TokenKind::Quoted("c.d".into()),
                TokenKind::Str {
                    value: "it's\n".into(),
                    double: false
                },
                TokenKind::Str {
                    value: "x\"y".into(),
                    double: true
                },
                TokenKind::Number("1.5e3".into()),
                w("_utf8mb4"),
                TokenKind::Str {
                    value: "z".into(),
                    double: false
                },
                w("é"),
            ]
        );
        let ansi = Dialect {
            ansi_quotes: true,
            no_backslash_escapes: true,
            ..Dialect::from(Flavor::MySql)
        };
        let mut l = Lexer::new(r#""t" 'a\'"#, ansi);
        assert_eq!(l.next_token().kind, TokenKind::Quoted("t".into()));
        assert_eq!(
            l.next_token().kind,
            TokenKind::Str {
                value: "a\\".into(),
                double: false
            }
        );
    }

    #[test]
    fn unterminated_input_is_an_error_token() {
        for sql in ["'abc", "`abc", "/* abc", "\"a\\"] {
            let k = kinds(sql, Flavor::MySql);
            assert!(
                matches!(k.last(), Some(TokenKind::Error(_))),
                "{sql}: {k:?}"
            );
        }
    }
}
