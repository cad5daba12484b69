//! Keeping ids exact for JavaScript readers.

use serde_json::Value;

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

fn walk(value: &mut Value, under_id_key: bool) {
    match value {
        Value::Number(n) => {
            let unsafe_int = n.as_u64().is_some_and(|v| v > MAX_SAFE_INTEGER)
                || n.as_i64()
                    .is_some_and(|v| v.unsigned_abs() > MAX_SAFE_INTEGER);
            let is_int = n.is_i64() || n.is_u64();
            if unsafe_int || (under_id_key && is_int) {
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
            "nested": [{"product_id": 632910392}]
        });
        make_js_safe(&mut v);
        assert_eq!(
            v,
            json!({
                "id": "7",
                "admin_graphql_api_id": "gid://shopify/Product/1",
                "variant_ids": ["9007199254740993", "2"],
                "inventoryItemId": "3",
                "count": 12,
                "huge": "9007199254740993",
                "nested": [{"product_id": "632910392"}]
            })
        );
    }
}
