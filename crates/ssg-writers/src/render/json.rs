//! An item's JSON as its templates see it, read from its spool line without copying the
//! strings that need no unescaping: the same keys in the same (sorted) order, the same
//! numbers and the same JavaScript-safe ids as a `serde_json::Value` with
//! [`unified_content::make_js_safe`] applied, at a fraction of the cost (building and dropping
//! that value was a third of a render thread's time).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// One JSON value, borrowing its strings from the text it was read from where it can.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Json<'a> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Sorted by key, each key once (the last one read wins), as a `serde_json::Map`.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// Reads `text`, then writes every integer JavaScript would round, or that sits under an
    /// id key, as a string.
    pub(super) fn parse(text: &'a [u8]) -> serde_json::Result<Json<'a>> {
        let mut value: Json = serde_json::from_slice(text)?;
        value.make_js_safe(None);
        Ok(value)
    }

    fn make_js_safe(&mut self, key: Option<&str>) {
        let magnitude = match self {
            Json::U64(n) => u128::from(*n),
            Json::I64(n) => u128::from(n.unsigned_abs()),
            Json::Array(items) => return items.iter_mut().for_each(|v| v.make_js_safe(key)),
            Json::Object(entries) => {
                return entries
                    .iter_mut()
                    .for_each(|(k, v)| v.make_js_safe(Some(k)));
            }
            _ => return,
        };
        if unified_content::quoted_in_js(magnitude, key) {
            let text = match self {
                Json::U64(n) => n.to_string(),
                Json::I64(n) => n.to_string(),
                _ => unreachable!("only integers are quoted"),
            };
            *self = Json::Str(Cow::Owned(text));
        }
    }

    /// The value of the object's `key`.
    pub(super) fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(entries) => entries
                .binary_search_by(|(k, _)| k.as_ref().cmp(key))
                .ok()
                .map(|i| &entries[i].1),
            _ => None,
        }
    }

    /// The string, when this is one.
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Sets the object's `key` to `value`, in its place among the keys.
    pub(super) fn set(&mut self, key: &'a str, value: Json<'a>) {
        if let Json::Object(entries) = self {
            match entries.binary_search_by(|(k, _)| k.as_ref().cmp(key)) {
                Ok(i) => entries[i].1 = value,
                Err(i) => entries.insert(i, (Cow::Borrowed(key), value)),
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::I64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::U64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        Ok(Json::F64(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        Json::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut entries: Vec<(Cow<'de, str>, Json<'de>)> = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            entries.push((key.0, map.next_value()?));
        }
        // Stable: of equal keys the last read stays last, and is the one kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(Cow<'de, str>, Json<'de>)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match kept.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => kept.push(entry),
            }
        }
        Ok(Json::Object(kept))
    }
}

/// An object key, borrowed when it needs no unescaping.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::U64(n) => serializer.serialize_u64(*n),
            Json::I64(n) => serializer.serialize_i64(*n),
            Json::F64(n) => serializer.serialize_f64(*n),
            Json::Str(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use minijinja::value::{Serde, Value as Ctx};

    use super::*;

    /// Pretty and compact text, and template values, equal to the `serde_json::Value` path's
    /// for awkward inputs: unsorted and repeated keys, escapes in keys and strings, integers
    /// at and past 2^53 - 1, negative ones, ids as integers (in arrays too), floats, nesting.
    #[test]
    fn writes_what_a_js_safe_value_writes() {
        let texts = [
            r#"{"b":1,"a":{"z":[1,2,{"y_id":7}],"x":null},"b":2,"c\"d":"e\nf","id":12}"#,
            r#"{"n":9007199254740991,"m":9007199254740992,"neg":-9007199254740993,"f":1.5e300}"#,
            r#"{"tag_ids":[1,[2,3]],"userId":-4,"width":1200,"ok":true,"no":false,"s":"\u00e9\/"}"#,
            r#"[{"id":1},2,"x",[]]"#,
            r#"{"empty":{},"list":[],"float":-0.0,"small":1e-7}"#,
        ];
        for text in texts {
            let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
            unified_content::make_js_safe(&mut value);
            let json = Json::parse(text.as_bytes()).unwrap();
            assert_eq!(
                serde_json::to_string_pretty(&json).unwrap(),
                serde_json::to_string_pretty(&value).unwrap(),
                "{text}"
            );
            assert_eq!(
                serde_json::to_string(&json).unwrap(),
                serde_json::to_string(&value).unwrap(),
                "{text}"
            );
            assert_eq!(
                format!("{:?}", Ctx::from(Serde(&json))),
                format!("{:?}", Ctx::from(Serde(&value))),
                "{text}"
            );
        }
    }

    /// Setting a key keeps the keys sorted; getting one finds it.
    #[test]
    fn set_and_get_keep_the_order() {
        let mut json = Json::parse(br#"{"a":1,"title":"t","z":2}"#).unwrap();
        json.set("slug", Json::Str("new".into()));
        json.set("a", Json::Bool(true));
        assert_eq!(
            serde_json::to_string(&json).unwrap(),
            r#"{"a":true,"slug":"new","title":"t","z":2}"#
        );
        assert_eq!(json.get("slug").and_then(Json::as_str), Some("new"));
        assert_eq!(json.get("missing"), None);
    }
}
