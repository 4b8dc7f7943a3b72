//! Python's `json.dumps` with default arguments, reproduced byte for byte (PROTOCOLS.md): the
//! chat-bridge checksum covers the server's re-serialisation of the parsed body, so keys keep
//! the order the client sent, separators are `", "` and `": "`, every character outside
//! printable ASCII is escaped as `\uXXXX` (surrogate pairs above U+FFFF), `/` is not escaped.
//!
//! Parsing goes through serde_json into [`PyValue`], which keeps key order and, like a Python
//! dict, lets a repeated key replace the earlier value in its first position. Integers beyond
//! 64 bits lose precision (Python keeps them exact) and `-0` reads as `-0.0` (Python: `0`);
//! no chat-bridge field is a number.
use std::fmt::{self, Write as _};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A parsed JSON value as Python's `json.loads` sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    List(Vec<PyValue>),
    Dict(Vec<(String, PyValue)>),
}

impl PyValue {
    /// The value of `key` in a dict.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            PyValue::Dict(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            PyValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A dict without `key` (the body the checksum covers).
    pub fn without(&self, key: &str) -> PyValue {
        match self {
            PyValue::Dict(items) => {
                PyValue::Dict(items.iter().filter(|(k, _)| k != key).cloned().collect())
            }
            other => other.clone(),
        }
    }
}

struct PyVisitor;

impl<'de> Visitor<'de> for PyVisitor {
    type Value = PyValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<PyValue, E> {
        Ok(PyValue::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<PyValue, E> {
        Ok(PyValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<PyValue, E> {
        Ok(PyValue::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<PyValue, E> {
        Ok(PyValue::Int(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<PyValue, E> {
        Ok(PyValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<PyValue, E> {
        Ok(PyValue::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<PyValue, E> {
        Ok(PyValue::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PyValue, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(PyValue::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PyValue, A::Error> {
        let mut items: Vec<(String, PyValue)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, PyValue>()? {
            match items.iter_mut().find(|(key, _)| *key == k) {
                Some(slot) => slot.1 = v,
                None => items.push((k, v)),
            }
        }
        Ok(PyValue::Dict(items))
    }
}

impl<'de> Deserialize<'de> for PyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PyVisitor)
    }
}

/// Parse a JSON text like `json.loads`.
pub fn loads(text: &[u8]) -> Result<PyValue, serde_json::Error> {
    serde_json::from_slice(text)
}

/// Serialise like `json.dumps(value)`.
pub fn dumps(value: &PyValue) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &PyValue) {
    match value {
        PyValue::Null => out.push_str("null"),
        PyValue::Bool(true) => out.push_str("true"),
        PyValue::Bool(false) => out.push_str("false"),
        PyValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        PyValue::Float(f) => out.push_str(&float_repr(*f)),
        PyValue::Str(s) => write_str(out, s),
        PyValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        PyValue::Dict(items) => {
            out.push('{');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, k);
                out.push_str(": ");
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// A string as `json.dumps` writes it with `ensure_ascii=True`.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// `repr(float)`: the shortest digits that round-trip, in positional notation when the
/// decimal exponent is in -4..16, otherwise as `d.ddde+XX`; always with a `.0` or exponent.
fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. `-1.2345e-7`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Python's `decpt`: the value is 0.DIGITS × 10^decpt.
    let decpt = exp + 1;
    let body = if (-3..=16).contains(&decpt) {
        if decpt <= 0 {
            format!("0.{}{digits}", "0".repeat((-decpt) as usize))
        } else if decpt as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(decpt as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            format!("{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{exp_sign}{:02}", exp.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(text: &str) -> String {
        dumps(&loads(text.as_bytes()).unwrap())
    }

    // Expected outputs are what CPython 3.11 prints for `json.dumps(json.loads(text))`.
    #[test]
    fn matches_python_json_dumps() {
        let vectors = [
            (r#"{"b":1,"a":2}"#, r#"{"b": 1, "a": 2}"#),
            (
                r#"{"jid_room":"room@conference.localhost","callback_uri":"http://x/y?a=1&b=/c"}"#,
                r#"{"jid_room": "room@conference.localhost", "callback_uri": "http://x/y?a=1&b=/c"}"#,
            ),
            (
                r#"{"user_name":"Jürgen Åström","message":"Grüße 😀 ok"}"#,
                r#"{"user_name": "J\u00fcrgen \u00c5str\u00f6m", "message": "Gr\u00fc\u00dfe \ud83d\ude00 ok"}"#,
            ),
            (
                r#"{"n":{"x":[1,2,{"y":null}],"t":true,"f":false},"e":{},"l":[]}"#,
                r#"{"n": {"x": [1, 2, {"y": null}], "t": true, "f": false}, "e": {}, "l": []}"#,
            ),
            (
                r#"{"q":"say \"hi\"\\ \n\t\r\b\f \u0001 \u007f /"}"#,
                r#"{"q": "say \"hi\"\\ \n\t\r\b\f \u0001 \u007f /"}"#,
            ),
            (r#"{"a":1,"b":2,"a":3}"#, r#"{"a": 3, "b": 2}"#),
            (
                r#"[0, -1, 0.0, -0.0, 1.5, 1e2, 1E-5, 0.0001, 1e16, 1e15, 123456789012345678, 0.1, -2.5e-300, 1.7976931348623157e308]"#,
                r#"[0, -1, 0.0, -0.0, 1.5, 100.0, 1e-05, 0.0001, 1e+16, 1000000000000000.0, 123456789012345678, 0.1, -2.5e-300, 1.7976931348623157e+308]"#,
            ),
            (r#""日本""#, r#""\u65e5\u672c""#),
            ("[1.0e1, 3.14159, 12345.678]", "[10.0, 3.14159, 12345.678]"),
        ];
        for (input, expected) in vectors {
            assert_eq!(round(input), expected, "for {input}");
        }
    }

    #[test]
    fn without_drops_only_that_key_and_keeps_order() {
        let v = loads(br#"{"message":"m","checksum":"c","user_name":"u"}"#).unwrap();
        assert_eq!(
            dumps(&v.without("checksum")),
            r#"{"message": "m", "user_name": "u"}"#
        );
        assert_eq!(v.get("user_name").and_then(PyValue::as_str), Some("u"));
    }

    #[test]
    fn refuses_what_is_not_json() {
        assert!(loads(b"{\"a\":").is_err());
        assert!(loads(b"user_name=x").is_err());
    }
}
