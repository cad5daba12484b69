//! The checks every item passes, from the API or a snapshot: it reads as the model and
//! validates after normalization.

use serde::Serialize;
use serde_json::value::RawValue;
use unified_content::{ContentType, UnifiedContent};

use super::{FetchOptions, FetchedPage};
use crate::error::FetchError;

/// An item that broke the model's rules and was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidItem {
    /// The item's id, or `<no id>`.
    pub id: String,
    /// The field path.
    pub field: String,
    /// The broken rule.
    pub reason: String,
}

/// Checks one item as the API sent it: it must read as [`UnifiedContent`] and pass
/// [`check_model`]. It is read straight from its text, with no JSON tree in between. Unknown
/// fields are ignored by the model, never an error.
pub(crate) fn check_raw(raw: &RawValue) -> Result<UnifiedContent, InvalidItem> {
    // Tracking the field path costs about a tenth of a fetch's CPU; only an item that does
    // not read is read again to name its field.
    match serde_json::from_str(raw.get()) {
        Ok(item) => check_model(item),
        Err(_) => Err(unreadable(raw)),
    }
}

/// Why `raw` does not read as the model, naming the field.
fn unreadable(raw: &RawValue) -> InvalidItem {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let Err(e) = serde_path_to_error::deserialize::<_, UnifiedContent>(&mut de) else {
        unreachable!("an item that failed to read fails again");
    };
    // The item's own text is not the page's: a line and column in it would mislead.
    let position = format!(
        " at line {} column {}",
        e.inner().line(),
        e.inner().column()
    );
    let message = e.inner().to_string();
    let message = message
        .strip_suffix(&position)
        .unwrap_or(&message)
        .to_string();
    let path = e.path().to_string();
    // A missing field is reported at its parent; name the field itself.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next());
    let field = match (path.as_str(), missing) {
        ("." | "", Some(name)) => name.to_string(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (path, None) => path.to_string(),
    };
    InvalidItem {
        id: raw_id(raw),
        field,
        reason: message,
    }
}

/// The `id` of an item that did not read as the model, for its error.
fn raw_id(raw: &RawValue) -> String {
    #[derive(serde::Deserialize)]
    struct Id {
        id: Option<serde_json::Value>,
    }
    serde_json::from_str::<Id>(raw.get())
        .ok()
        .and_then(|i| i.id?.as_str().map(str::to_string))
        .unwrap_or_else(|| "<no id>".to_string())
}

/// Checks an item read as the model (from the API or a snapshot): normalized, it must pass
/// the model's validation.
pub(crate) fn check_model(mut item: UnifiedContent) -> Result<UnifiedContent, InvalidItem> {
    item.normalize();
    item.validate().map_err(|errors| {
        let first = errors.first();
        InvalidItem {
            id: first.item_id.clone(),
            field: first.field.clone(),
            reason: first.to_string(),
        }
    })?;
    Ok(item)
}

/// Sorts checked items into a page, or fails on the first invalid one when strict.
pub(crate) fn build_page(
    content_type: ContentType,
    index: usize,
    last: bool,
    checked: impl ExactSizeIterator<Item = Result<UnifiedContent, InvalidItem>>,
    options: &FetchOptions,
    origin: &str,
) -> Result<FetchedPage, FetchError> {
    let mut page = FetchedPage {
        content_type,
        index,
        last,
        items: Vec::with_capacity(checked.len()),
        skipped: Vec::new(),
    };
    for checked in checked {
        match checked {
            Ok(item) => page.items.push(options.filters.as_seen(item)),
            Err(invalid) if options.strict => {
                return Err(FetchError::InvalidItem {
                    id: invalid.id,
                    field: invalid.field,
                    reason: invalid.reason,
                    url: origin.to_string(),
                });
            }
            Err(invalid) => {
                tracing::warn!(
                    id = %invalid.id,
                    field = %invalid.field,
                    from = origin,
                    "skipping invalid item: {}",
                    invalid.reason
                );
                page.skipped.push(invalid);
            }
        }
    }
    Ok(page)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::{Value, json};

    pub(in crate::fetch) fn raw(id: &str, slug: &str) -> Value {
        json!({
            "id": id, "title": "T", "slug": slug, "content_type": "article",
            "provider_type": "cms", "provider_name": "sanity",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00+01:00",
            "synced_at": "2026-01-03T00:00:00Z", "surprise_field": {"kept": "or ignored"}
        })
    }

    /// `value` checked as the API's text of it.
    pub(in crate::fetch) fn checked(value: &Value) -> Result<UnifiedContent, InvalidItem> {
        check_raw(&RawValue::from_string(value.to_string()).unwrap())
    }

    #[test]
    fn items_are_checked_leniently_or_strictly() {
        let mut bad_price = raw("d", "ok-d");
        bad_price["price"] = json!({"amount": "x", "currency_code": "EUR"});
        let items = [
            raw("a", "ok"),
            raw("b", "Not A Slug"),
            json!({"id": "c"}),
            bad_price,
        ];
        let lenient = FetchOptions::default();
        let strict = FetchOptions {
            strict: true,
            ..FetchOptions::default()
        };
        let page = build_page(
            ContentType::Article,
            0,
            true,
            items.iter().map(checked),
            &lenient,
            "u",
        )
        .unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(
            page.items[0].updated_at.to_rfc3339(),
            "2026-01-01T23:00:00+00:00"
        );
        assert_eq!(
            page.skipped
                .iter()
                .map(|s| (s.id.as_str(), s.field.as_str()))
                .collect::<Vec<_>>(),
            vec![("b", "slug"), ("c", "title"), ("d", "price.amount")]
        );
        let err = build_page(
            ContentType::Article,
            0,
            true,
            items.iter().map(checked),
            &strict,
            "u",
        )
        .unwrap_err();
        assert!(
            matches!(&err, FetchError::InvalidItem { id, field, .. } if id == "b" && field == "slug"),
            "{err}"
        );
    }
}
