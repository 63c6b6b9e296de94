//! JSON partial updates (`PARTIAL_UPDATE_ROWS_EVENT`, `binlog_row_value_options=PARTIAL_JSON`):
//! the after image of a JSON column holds diffs against the before image instead of the whole
//! document. Each diff is `| 1 operation (0 REPLACE, 1 INSERT, 2 REMOVE) | lenenc path |
//! [lenenc length | binary JSON value] |`. We apply them to the before image's text and
//! print the result as MySQL does (object keys ordered by length, then bytes).
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/classJson__diff.html>
// Positions are bounded by the (checked) input lengths.
#![allow(clippy::arithmetic_side_effects)]

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{DecodeError, DecodeResult};
use super::json;
use super::reader::Reader;

/// A JSON document; scalars keep their exact text (numbers are never re-formatted).
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Scalar(String),
    Array(Vec<Node>),
    /// Members as (raw key text with quotes, decoded key, value).
    Object(Vec<(String, String, Node)>),
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, why: &'static str) -> DecodeError {
        DecodeError::invalid("json_diff.document", self.pos as u64, why)
    }

    fn ws(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> DecodeResult<()> {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err("unexpected character"))
        }
    }

    fn value(&mut self) -> DecodeResult<Node> {
        self.ws();
        if self.depth > json::MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.depth += 1;
                let mut members = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                } else {
                    loop {
                        self.ws();
                        let (raw, key) = self.string()?;
                        self.eat(b':')?;
                        let v = self.value()?;
                        members.push((raw, key, v));
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b'}') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.err("expected , or }")),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Node::Object(members))
            }
            Some(b'[') => {
                self.pos += 1;
                self.depth += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                } else {
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.err("expected , or ]")),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Node::Array(items))
            }
            Some(b'"') => Ok(Node::Scalar(self.string()?.0)),
            Some(_) => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| !matches!(c, b',' | b']' | b'}') && !c.is_ascii_whitespace())
                {
                    self.pos += 1;
                }
                let tok = self.s.get(start..self.pos).unwrap_or_default();
                if tok.is_empty() {
                    return Err(self.err("empty value"));
                }
                Ok(Node::Scalar(String::from_utf8_lossy(tok).into_owned()))
            }
            None => Err(self.err("document ends early")),
        }
    }

    /// A string: its raw text (with quotes) and its decoded value.
    fn string(&mut self) -> DecodeResult<(String, String)> {
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a string"));
        }
        let start = self.pos;
        self.pos += 1;
        let mut decoded = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or_else(|| self.err("unterminated escape"))?;
                    self.pos += 1;
                    match c {
                        b'u' => {
                            let hex = self
                                .s
                                .get(self.pos..self.pos + 4)
                                .ok_or_else(|| self.err("short \\u escape"))?;
                            let hex =
                                std::str::from_utf8(hex).map_err(|_| self.err("bad \\u escape"))?;
                            let code = u32::from_str_radix(hex, 16)
                                .map_err(|_| self.err("bad \\u escape"))?;
                            self.pos += 4;
                            let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            decoded.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        b'n' => decoded.push(b'\n'),
                        b't' => decoded.push(b'\t'),
                        b'r' => decoded.push(b'\r'),
                        b'b' => decoded.push(0x08),
                        b'f' => decoded.push(0x0c),
                        other => decoded.push(other),
                    }
                }
                Some(c) => {
                    decoded.push(c);
                    self.pos += 1;
                }
            }
        }
        let raw =
            String::from_utf8_lossy(self.s.get(start..self.pos).unwrap_or_default()).into_owned();
        Ok((raw, String::from_utf8_lossy(&decoded).into_owned()))
    }
}

fn parse(text: &[u8]) -> DecodeResult<Node> {
    let mut p = Parser {
        s: text,
        pos: 0,
        depth: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.pos != text.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(v)
}

/// One step of a JSON path.
#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn parse_path(path: &[u8], at: u64) -> DecodeResult<Vec<Step>> {
    let bad = |why| DecodeError::invalid("json_diff.path", at, why);
    let s = std::str::from_utf8(path).map_err(|_| bad("not UTF-8"))?;
    let rest = s
        .trim()
        .strip_prefix('$')
        .ok_or_else(|| bad("does not start with $"))?;
    let b = rest.as_bytes();
    let mut i = 0;
    let mut steps = Vec::new();
    while i < b.len() {
        match b.get(i) {
            Some(b' ') => i += 1,
            Some(b'.') => {
                i += 1;
                if b.get(i) == Some(&b'"') {
                    let mut p = Parser {
                        s: b,
                        pos: i,
                        depth: 0,
                    };
                    let (_, key) = p.string()?;
                    steps.push(Step::Key(key));
                    i = p.pos;
                } else {
                    let start = i;
                    while b.get(i).is_some_and(|&c| c != b'.' && c != b'[') {
                        i += 1;
                    }
                    let key = rest.get(start..i).ok_or_else(|| bad("bad key"))?;
                    if key.is_empty() {
                        return Err(bad("empty key"));
                    }
                    steps.push(Step::Key(key.to_owned()));
                }
            }
            Some(b'[') => {
                let end = b
                    .iter()
                    .skip(i)
                    .position(|&c| c == b']')
                    .ok_or_else(|| bad("unterminated ["))?
                    + i;
                let n = rest.get(i + 1..end).ok_or_else(|| bad("bad index"))?.trim();
                steps.push(Step::Index(
                    n.parse().map_err(|_| bad("index is not a number"))?,
                ));
                i = end + 1;
            }
            _ => return Err(bad("unexpected character")),
        }
    }
    Ok(steps)
}

fn quote(key: &str) -> String {
    let mut out = BytesMut::new();
    json::write_string_pub(&mut out, key);
    String::from_utf8_lossy(&out).into_owned()
}

/// Applies one diff. `value` is `None` for REMOVE.
fn apply(doc: &mut Node, op: u8, steps: &[Step], value: Option<Node>, at: u64) -> DecodeResult<()> {
    let bad = |why| DecodeError::invalid("json_diff", at, why);
    let Some((last, parents)) = steps.split_last() else {
        // The path is `$`: only REPLACE of the whole document makes sense.
        return match (op, value) {
            (0, Some(v)) => {
                *doc = v;
                Ok(())
            }
            _ => Err(bad("INSERT or REMOVE at the document root")),
        };
    };
    let mut node = doc;
    for step in parents {
        node = match (step, node) {
            (Step::Key(k), Node::Object(m)) => m
                .iter_mut()
                .find(|(_, key, _)| key == k)
                .map(|(_, _, v)| v)
                .ok_or_else(|| bad("path names a missing member"))?,
            (Step::Index(i), Node::Array(a)) => a
                .get_mut(*i)
                .ok_or_else(|| bad("path index out of range"))?,
            _ => return Err(bad("path does not match the document")),
        };
    }
    match (op, last, node, value) {
        (0, Step::Key(k), Node::Object(m), Some(v)) => {
            let slot = m
                .iter_mut()
                .find(|(_, key, _)| key == k)
                .ok_or_else(|| bad("REPLACE of a missing member"))?;
            slot.2 = v;
        }
        (0, Step::Index(i), Node::Array(a), Some(v)) => {
            *a.get_mut(*i)
                .ok_or_else(|| bad("REPLACE index out of range"))? = v;
        }
        (1, Step::Key(k), Node::Object(m), Some(v)) => {
            if m.iter().any(|(_, key, _)| key == k) {
                return Err(bad("INSERT of an existing member"));
            }
            m.push((quote(k), k.clone(), v));
        }
        (1, Step::Index(i), Node::Array(a), Some(v)) => {
            let i = (*i).min(a.len());
            a.insert(i, v);
        }
        (2, Step::Key(k), Node::Object(m), None) => {
            let before = m.len();
            m.retain(|(_, key, _)| key != k);
            if m.len() == before {
                return Err(bad("REMOVE of a missing member"));
            }
        }
        (2, Step::Index(i), Node::Array(a), None) => {
            if *i >= a.len() {
                return Err(bad("REMOVE index out of range"));
            }
            a.remove(*i);
        }
        _ => return Err(bad("operation does not match the document")),
    }
    Ok(())
}

fn print(node: &Node, out: &mut BytesMut) {
    match node {
        Node::Scalar(s) => out.put_slice(s.as_bytes()),
        Node::Array(items) => {
            out.put_u8(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.put_slice(b", ");
                }
                print(v, out);
            }
            out.put_u8(b']');
        }
        Node::Object(members) => {
            // MySQL keeps object keys ordered by length, then bytes.
            let mut sorted: Vec<&(String, String, Node)> = members.iter().collect();
            sorted.sort_by(|a, b| {
                a.1.len()
                    .cmp(&b.1.len())
                    .then_with(|| a.1.as_bytes().cmp(b.1.as_bytes()))
            });
            out.put_u8(b'{');
            for (i, (raw, _, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.put_slice(b", ");
                }
                out.put_slice(raw.as_bytes());
                out.put_slice(b": ");
                print(v, out);
            }
            out.put_u8(b'}');
        }
    }
}

/// Applies the diffs in `diffs` (the column's partial value) to `before` (JSON text) and
/// returns the new document's text.
///
/// # Errors
/// Malformed diffs or paths that do not fit the document.
pub(crate) fn apply_diffs(before: &[u8], diffs: Bytes, base: u64) -> DecodeResult<Bytes> {
    let mut doc = parse(before)?;
    let mut r = Reader::new(diffs, base);
    let mut scratch = BytesMut::new();
    while !r.is_empty() {
        let at = r.offset();
        let op = r.try_u8("json_diff.operation")?;
        if op > 2 {
            return Err(DecodeError::invalid(
                "json_diff.operation",
                at,
                "unknown operation",
            ));
        }
        let path = r.try_lenenc_bytes("json_diff.path")?;
        let steps = parse_path(&path, at)?;
        let value = if op == 2 {
            None
        } else {
            let v = r.try_lenenc_bytes("json_diff.value")?;
            scratch.clear();
            json::to_text(&v, &mut scratch, at)?;
            Some(parse(&scratch)?)
        };
        apply(&mut doc, op, &steps, value, at)?;
    }
    let mut out = BytesMut::with_capacity(before.len());
    print(&doc, &mut out);
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(op: u8, path: &str, value: Option<&[u8]>) -> Vec<u8> {
        let mut v = vec![op, u8::try_from(path.len()).unwrap()];
        v.extend_from_slice(path.as_bytes());
        if let Some(val) = value {
            v.push(u8::try_from(val.len()).unwrap());
            v.extend_from_slice(val);
        }
        v
    }

    fn run(before: &str, diffs: &[Vec<u8>]) -> String {
        let all: Vec<u8> = diffs.concat();
        String::from_utf8(
            apply_diffs(before.as_bytes(), Bytes::from(all), 0)
                .unwrap()
                .to_vec(),
        )
        .unwrap()
    }

    #[test]
    fn replace_insert_remove() {
        // binary JSON: int16 7 = [0x05, 7, 0]; string "x" = [0x0c, 1, b'x']
        let seven: &[u8] = &[0x05, 7, 0];
        let x: &[u8] = &[0x0c, 1, b'x'];
        assert_eq!(
            run(r#"{"a": 1, "b": [1, 2]}"#, &[diff(0, "$.a", Some(seven))]),
            r#"{"a": 7, "b": [1, 2]}"#
        );
        assert_eq!(
            run(r#"{"a": 1, "b": [1, 2]}"#, &[diff(1, "$.b[1]", Some(x))]),
            r#"{"a": 1, "b": [1, "x", 2]}"#
        );
        assert_eq!(
            run(r#"{"a": 1, "b": [1, 2]}"#, &[diff(2, "$.b[0]", None)]),
            r#"{"a": 1, "b": [2]}"#
        );
        assert_eq!(
            run(r#"{"a": 1, "bb": 2}"#, &[diff(1, "$.c", Some(x))]),
            r#"{"a": 1, "c": "x", "bb": 2}"#
        );
        assert_eq!(
            run(
                r#"{"a": {"k y": 9.00}}"#,
                &[diff(0, "$.a.\"k y\"", Some(seven))]
            ),
            r#"{"a": {"k y": 7}}"#
        );
        assert_eq!(run(r#"{"a": 9.00}"#, &[diff(2, "$.a", None)]), r#"{}"#);
    }

    #[test]
    fn bad_diffs_are_errors() {
        for (before, d) in [
            (r#"{"a": 1}"#, diff(0, "$.b", Some(&[0x05, 1, 0]))),
            (r#"{"a": 1}"#, diff(2, "$[0]", None)),
            (r#"[1]"#, diff(2, "$[5]", None)),
            (r#"{"a": 1}"#, diff(7, "$.a", None)),
            (r#"{"a": 1}"#, diff(0, "a", Some(&[0x05, 1, 0]))),
        ] {
            assert!(
                apply_diffs(before.as_bytes(), Bytes::from(d), 0).is_err(),
                "{before}"
            );
        }
        assert!(apply_diffs(b"{\"a\": ", Bytes::new(), 0).is_err());
    }
}
