//! JSON request bodies read strictly, into a `serde_json::Value`.
//!
//! Two things serde_json does by default are wrong for a payments API:
//!
//! - A key given twice keeps the last value silently, so `{"amount": 1000, "amount": 5000000}`
//!   would mean whatever the last copy says, and a proxy or log that reads the first one sees
//!   another request. Here a repeated key is refused, naming its path.
//! - `113.0` is a float, which an integer field refuses. JSON Schema's `integer` is "a number
//!   with a zero fractional part", so `113.0` and `1.13e2` are the integer 113; they are turned
//!   into integers as they are read. `113.5` stays a float and is refused by the field that wants
//!   a whole number.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a body could not be read.
#[derive(Debug)]
pub enum StrictJsonError {
    /// Not JSON (serde_json's message names the line and column).
    Syntax(serde_json::Error),
    /// A key appears twice in one object; the key's path (`beneficiary.name`).
    DuplicateKey(String),
}

/// Reads `bytes` as one JSON value, refusing duplicate keys and turning whole-number floats
/// into integers.
pub fn parse(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let seed = Strict {
        path: String::new(),
        duplicate: &duplicate,
    };
    let result = seed
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (result, duplicate.into_inner()) {
        (_, Some(path)) => Err(StrictJsonError::DuplicateKey(path)),
        (Ok(value), None) => Ok(value),
        (Err(e), None) => Err(StrictJsonError::Syntax(e)),
    }
}

/// The integer a float with no fraction stands for; other floats as they are.
pub fn whole_number(f: f64) -> Value {
    // 2^63 and 2^64, exactly representable: casts below them cannot saturate.
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
    if f.fract() == 0.0 {
        if (-TWO_POW_63..TWO_POW_63).contains(&f) {
            return Value::from(f as i64);
        }
        if (0.0..TWO_POW_64).contains(&f) {
            return Value::from(f as u64);
        }
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// A value at `path`; records the path of the first repeated key it meets.
struct Strict<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl Strict<'_> {
    fn child(&self, segment: &str) -> Strict<'_> {
        let path = if self.path.is_empty() {
            segment.to_string()
        } else if segment.starts_with('[') {
            format!("{}{segment}", self.path)
        } else {
            format!("{}.{segment}", self.path)
        };
        Strict {
            path,
            duplicate: self.duplicate,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(whole_number(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child(&format!("[{}]", items.len())))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let path = self.child(&key).path;
                *self.duplicate.borrow_mut() = Some(path);
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(self.child(&key))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_number_floats_are_integers_and_fractions_stay_floats() {
        let value = parse(br#"{"a": 113.0, "b": 1.13e2, "c": 113.5, "d": -0.0, "e": [2.0]}"#)
            .unwrap_or_default();
        assert_eq!(
            value,
            json!({"a": 113, "b": 113, "c": 113.5, "d": 0, "e": [2]})
        );
        assert!(value["a"].is_i64());
    }

    #[test]
    fn a_repeated_key_is_refused_with_its_path() {
        for (body, path) in [
            (r#"{"amount": 1, "amount": 2}"#, "amount"),
            (r#"{"b": {"d": {"n": "1", "n": "2"}}}"#, "b.d.n"),
            (r#"{"e": [{}, {"x": 1, "x": 1}]}"#, "e[1].x"),
        ] {
            match parse(body.as_bytes()) {
                Err(StrictJsonError::DuplicateKey(p)) => assert_eq!(p, path),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn syntax_errors_and_trailing_text_are_refused() {
        assert!(matches!(parse(b"{"), Err(StrictJsonError::Syntax(_))));
        assert!(matches!(parse(b"{} x"), Err(StrictJsonError::Syntax(_))));
        assert!(matches!(parse(b""), Err(StrictJsonError::Syntax(_))));
    }
}
