//! Content digests: stable fingerprints of what an item says.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use crate::model::UnifiedContent;

/// The SHA-256 of the item's canonical JSON (keys sorted, no white space), leaving out
/// `synced_at`, as `sha256:<hex>`.
///
/// Two items with equal content have equal digests whenever they were synced, so the digest
/// tells a real change from a re-delivery and serves as a cache key for site builds.
pub fn content_digest(item: &UnifiedContent) -> String {
    let digest = write_with_digest(item, &mut Vec::new());
    format!("sha256:{}", hex::encode(digest))
}

/// Appends the item's compact JSON (what `serde_json::to_writer` writes) to `out` and returns
/// the SHA-256 that [`content_digest`] spells in hex, for a caller that needs both: the
/// canonical text is read off the JSON just written, without building a `serde_json::Value`.
pub fn write_with_digest(item: &UnifiedContent, out: &mut Vec<u8>) -> [u8; 32] {
    let start = out.len();
    serde_json::to_writer(&mut *out, item).expect("unified content always serializes");
    let mut sha = Sha256::new();
    canonical(&out[start..], true, &mut |bytes| sha.update(bytes));
    sha.finalize().into()
}

/// An object's entry: its key as text (the sort key), its key as written, its value as written.
type Entry<'a> = (Cow<'a, [u8]>, &'a [u8], &'a [u8]);

/// Emits the value at the start of `json` with every object's keys sorted by their text and
/// each key once (the last one), as a `serde_json::Value` prints them, leaving out `synced_at`
/// from the top object when `top`; returns the length of the value read. `json` is
/// serde_json's compact output, so its scalars are copied as they are: a `Value` prints the
/// same numbers and strings the same way.
fn canonical(json: &[u8], top: bool, emit: &mut dyn FnMut(&[u8])) -> usize {
    match json[0] {
        b'{' => {
            let mut entries: Vec<Entry> = Vec::new();
            let mut at = 1;
            while json[at] != b'}' {
                let key = &json[at..at + value_len(&json[at..])];
                at += key.len() + 1;
                let value = &json[at..at + value_len(&json[at..])];
                at += value.len();
                if json[at] == b',' {
                    at += 1;
                }
                if !(top && key == b"\"synced_at\"") {
                    entries.push((unescaped(key), key, value));
                }
            }
            // Stable, so that of equal keys the last read comes last: dedup keeps it.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    std::mem::swap(later, kept);
                }
                same
            });
            emit(b"{");
            for (i, (_, key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    emit(b",");
                }
                emit(key);
                emit(b":");
                canonical(value, false, emit);
            }
            emit(b"}");
            at + 1
        }
        b'[' => {
            emit(b"[");
            let mut at = 1;
            while json[at] != b']' {
                if at > 1 {
                    emit(b",");
                }
                at += canonical(&json[at..], false, emit);
                if json[at] == b',' {
                    at += 1;
                }
            }
            emit(b"]");
            at + 1
        }
        _ => {
            let len = value_len(json);
            emit(&json[..len]);
            len
        }
    }
}

/// The length of the compact JSON value at the start of `json`.
fn value_len(json: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut at = 0;
    loop {
        match json[at] {
            b'"' => {
                at += 1;
                while json[at] != b'"' {
                    at += if json[at] == b'\\' { 2 } else { 1 };
                }
                at += 1;
            }
            b'{' | b'[' => {
                depth += 1;
                at += 1;
            }
            b'}' | b']' => {
                depth -= 1;
                at += 1;
            }
            b',' | b':' => at += 1,
            _ => {
                // A number, true, false or null: up to the next delimiter.
                at += json[at..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']'))
                    .unwrap_or(json.len() - at);
            }
        }
        if depth == 0 || at >= json.len() {
            return at;
        }
    }
}

/// A JSON string's text (`key` with its quotes), unescaped only when it holds an escape.
fn unescaped(key: &[u8]) -> Cow<'_, [u8]> {
    if key.contains(&b'\\') {
        let text: String = serde_json::from_slice(key).expect("serde_json wrote a valid string");
        Cow::Owned(text.into_bytes())
    } else {
        Cow::Borrowed(&key[1..key.len() - 1])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The digest's definition: the item as a `serde_json::Value` without `synced_at`.
    fn through_value(item: &UnifiedContent) -> Vec<u8> {
        let mut value = serde_json::to_value(item).unwrap();
        value.as_object_mut().unwrap().remove("synced_at");
        serde_json::to_vec(&value).unwrap()
    }

    fn item() -> UnifiedContent {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/content/items.json");
        let items: Vec<UnifiedContent> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        items.into_iter().find(|i| !i.variants.is_empty()).unwrap()
    }

    #[test]
    fn the_canonical_text_is_the_value_path_s_on_awkward_items() {
        let awkward: Vec<(&str, Value)> = vec![
            ("plain", json!(1)),
            // Keys that sort differently escaped and unescaped: '"' (0x22) and '\' (0x5c)
            // escape to "\"" and "\\", a control character to "\u0001".
            ("a\"b", json!("quote")),
            (
                "a\\b",
                json!({"z": [1, {"y": null, "\u{1}": true}], "a": []}),
            ),
            ("a\u{1}", json!({})),
            ("aé", json!("é \u{2028} \"\\\n")),
            (
                "a",
                json!([
                    -0.0,
                    5e-324,
                    1.7976931348623157e308,
                    0.1,
                    -9007199254740993i64
                ]),
            ),
            ("ab,c]d}", json!(u64::MAX)),
            (
                "synced_at",
                json!("kept: only the top-level synced_at is left out"),
            ),
            ("", json!(i64::MIN)),
        ];
        let mut item = item();
        item.title = "t \"quoted\" \\ back, {brace} [bracket] é".into();
        item.provider_data = awkward
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let mut canonical_text = Vec::new();
        let mut json = Vec::new();
        serde_json::to_writer(&mut json, &item).unwrap();
        canonical(&json, true, &mut |b| canonical_text.extend_from_slice(b));
        assert_eq!(
            String::from_utf8(canonical_text).unwrap(),
            String::from_utf8(through_value(&item)).unwrap()
        );
    }

    #[test]
    fn a_digest_is_the_sha_of_the_value_path_and_its_json_the_item_s() {
        let mut item = item();
        let want = format!(
            "sha256:{}",
            hex::encode(Sha256::digest(through_value(&item)))
        );
        assert_eq!(content_digest(&item), want);
        let mut out = b"prefix ".to_vec();
        let digest = write_with_digest(&item, &mut out);
        assert_eq!(format!("sha256:{}", hex::encode(digest)), want);
        assert_eq!(out[7..], serde_json::to_vec(&item).unwrap()[..]);
        // synced_at does not count; every other field does.
        item.synced_at = "2031-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(content_digest(&item), want);
        item.title.push('!');
        assert_ne!(content_digest(&item), want);
    }

    #[test]
    fn of_repeated_keys_the_last_is_kept_as_a_value_map_keeps_it() {
        let mut text = Vec::new();
        canonical(br#"{"b":1,"a":2,"b":{"c":3,"c":4}}"#, false, &mut |b| {
            text.extend_from_slice(b)
        });
        assert_eq!(text, br#"{"a":2,"b":{"c":4}}"#);
    }
}
