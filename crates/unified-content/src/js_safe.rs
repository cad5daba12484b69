//! Keeping ids exact for JavaScript readers.

use std::io;

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

/// The largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Rewrites a JSON value so that JavaScript reads every id exactly: integers beyond 2^53 - 1
/// anywhere, and integers under keys that name ids (`id`, `*_id`, `*Id`, `*_ids`), become
/// strings.
///
/// Shopify ids exceed 2^53, and `JSON.parse` would silently round them.
pub fn make_js_safe(value: &mut Value) {
    walk(value, false);
}

fn is_id_key(key: &str) -> bool {
    key == "id" || key.ends_with("_id") || key.ends_with("Id") || key.ends_with("_ids")
}

/// Whether JavaScript readers need an integer of `magnitude` written as a string where it
/// sits: under the object key `key` (the nearest one, through arrays), or `None` outside any
/// object. The rule of [`make_js_safe`], for writers that build their own JSON tree.
pub fn quoted_in_js(magnitude: u128, key: Option<&str>) -> bool {
    quoted(magnitude, key.is_some_and(is_id_key))
}

/// The one rule of both rewrites: an integer of this magnitude becomes a string.
fn quoted(magnitude: u128, under_id_key: bool) -> bool {
    under_id_key || magnitude > u128::from(MAX_SAFE_INTEGER)
}

fn walk(value: &mut Value, under_id_key: bool) {
    match value {
        Value::Number(n) => {
            let magnitude = n
                .as_u64()
                .map(u128::from)
                .or_else(|| n.as_i64().map(|v| u128::from(v.unsigned_abs())));
            if magnitude.is_some_and(|m| quoted(m, under_id_key)) {
                *value = Value::String(n.to_string());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| walk(v, under_id_key)),
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                walk(v, is_id_key(key));
            }
        }
        _ => {}
    }
}

/// `value` as compact JSON text that JavaScript reads exactly: the same JSON as
/// [`make_js_safe`] on its JSON value gives (keys in the order they are serialized), written in
/// one pass without building the value, which costs more than the writing.
pub fn to_js_safe_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(1024);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JsSafe::default());
    value.serialize(&mut ser)?;
    Ok(out)
}

/// Where the writer is: each open array holds whether its elements sit under an id key; each
/// open object, the key being written (to know whether its value does).
#[derive(Default)]
struct JsSafe {
    /// Per open container: `Some(under_id)` for an array, `None` for an object.
    open: Vec<Option<bool>>,
    /// The current key of the innermost object, as written.
    key: String,
    /// Whether the current object key is an id key.
    key_is_id: bool,
    /// Inside an object key (whose integers, from integer map keys, are left as they are).
    in_key: bool,
}

impl JsSafe {
    /// Whether a value written now sits under an id key.
    fn under_id(&self) -> bool {
        match self.open.last() {
            Some(Some(array_under_id)) => *array_under_id,
            Some(None) => self.key_is_id,
            None => false,
        }
    }

    fn integer<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        magnitude: u128,
        text: String,
    ) -> io::Result<()> {
        if !self.in_key && quoted(magnitude, self.under_id()) {
            writer.write_all(b"\"")?;
            writer.write_all(text.as_bytes())?;
            writer.write_all(b"\"")
        } else {
            writer.write_all(text.as_bytes())
        }
    }
}

impl Formatter for JsSafe {
    fn write_i64<W: ?Sized + io::Write>(&mut self, w: &mut W, v: i64) -> io::Result<()> {
        self.integer(w, u128::from(v.unsigned_abs()), v.to_string())
    }
    fn write_u64<W: ?Sized + io::Write>(&mut self, w: &mut W, v: u64) -> io::Result<()> {
        self.integer(w, u128::from(v), v.to_string())
    }
    fn write_i128<W: ?Sized + io::Write>(&mut self, w: &mut W, v: i128) -> io::Result<()> {
        self.integer(w, v.unsigned_abs(), v.to_string())
    }
    fn write_u128<W: ?Sized + io::Write>(&mut self, w: &mut W, v: u128) -> io::Result<()> {
        self.integer(w, v, v.to_string())
    }
    fn write_i8<W: ?Sized + io::Write>(&mut self, w: &mut W, v: i8) -> io::Result<()> {
        self.write_i64(w, i64::from(v))
    }
    fn write_i16<W: ?Sized + io::Write>(&mut self, w: &mut W, v: i16) -> io::Result<()> {
        self.write_i64(w, i64::from(v))
    }
    fn write_i32<W: ?Sized + io::Write>(&mut self, w: &mut W, v: i32) -> io::Result<()> {
        self.write_i64(w, i64::from(v))
    }
    fn write_u8<W: ?Sized + io::Write>(&mut self, w: &mut W, v: u8) -> io::Result<()> {
        self.write_u64(w, u64::from(v))
    }
    fn write_u16<W: ?Sized + io::Write>(&mut self, w: &mut W, v: u16) -> io::Result<()> {
        self.write_u64(w, u64::from(v))
    }
    fn write_u32<W: ?Sized + io::Write>(&mut self, w: &mut W, v: u32) -> io::Result<()> {
        self.write_u64(w, u64::from(v))
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        let under_id = self.under_id();
        self.open.push(Some(under_id));
        CompactFormatter.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open.pop();
        CompactFormatter.end_array(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open.push(None);
        CompactFormatter.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open.pop();
        CompactFormatter.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.in_key = true;
        self.key.clear();
        CompactFormatter.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.in_key = false;
        self.key_is_id = is_id_key(&self.key);
        CompactFormatter.end_object_key(w)
    }
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if self.in_key {
            self.key.push_str(fragment);
        }
        CompactFormatter.write_string_fragment(w, fragment)
    }
    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        if self.in_key {
            self.key.push(match escape {
                CharEscape::Quote => '"',
                CharEscape::ReverseSolidus => '\\',
                CharEscape::Solidus => '/',
                CharEscape::Backspace => '\u{8}',
                CharEscape::FormFeed => '\u{c}',
                CharEscape::LineFeed => '\n',
                CharEscape::CarriageReturn => '\r',
                CharEscape::Tab => '\t',
                CharEscape::AsciiControl(byte) => char::from(byte),
            });
        }
        CompactFormatter.write_char_escape(w, escape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn large_and_id_integers_become_strings() {
        let mut v = json!({
            "id": 7,
            "admin_graphql_api_id": "gid://shopify/Product/1",
            "variant_ids": [9007199254740993u64, 2],
            "inventoryItemId": 3,
            "count": 12,
            "huge": 9007199254740993u64,
            "nested": [{"product_id": 632910392}],
            "deep_ids": [[1, {"x": 2, "y": 9007199254740993u64}], -9007199254740993i64],
            "floats": [1.5, 2.0, 9007199254740993.0],
            "esc\"_id": 4,
            "id_of": {"k": 5}
        });
        let text = to_js_safe_vec(&v).unwrap();
        make_js_safe(&mut v);
        assert_eq!(text, serde_json::to_vec(&v).unwrap());
        assert_eq!(
            v,
            json!({
                "id": "7",
                "admin_graphql_api_id": "gid://shopify/Product/1",
                "variant_ids": ["9007199254740993", "2"],
                "inventoryItemId": "3",
                "count": 12,
                "huge": "9007199254740993",
                "nested": [{"product_id": "632910392"}],
                "deep_ids": [["1", {"x": 2, "y": "9007199254740993"}], "-9007199254740993"],
                "floats": [1.5, 2.0, 9007199254740993.0],
                "esc\"_id": "4",
                "id_of": {"k": 5}
            })
        );
    }
}

#[cfg(test)]
mod typed {
    use std::collections::BTreeMap;

    use super::*;

    /// Integer map keys stay keys; typed integers follow the same rules as values.
    #[test]
    fn typed_values_match_make_js_safe() {
        #[derive(Serialize)]
        struct Item {
            id: u64,
            quantity: i64,
            by_number: BTreeMap<u64, u8>,
            parent_ids: Vec<i32>,
        }
        let item = Item {
            id: 3,
            quantity: i64::MIN,
            by_number: BTreeMap::from([(9007199254740993, 1), (2, 3)]),
            parent_ids: vec![-1, 2],
        };
        let mut value = serde_json::to_value(&item).unwrap();
        make_js_safe(&mut value);
        let text = to_js_safe_vec(&item).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&text).unwrap(), value);
    }
}
