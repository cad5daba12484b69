//! Reading provider payloads and settings shared by the Sanity, Contentful, Snipcart and Foxy
//! adapters: JSON bodies, timestamps with offsets, and document-type-to-content-type maps.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use unified_content::{Amount, ContentType, Price, Timestamp};

use crate::error::{AdapterError, ConfigError};
use crate::settings::Settings;

/// The body as JSON, or a 400-style error naming the root path.
pub(crate) fn json_body(body: &[u8]) -> Result<Value, AdapterError> {
    serde_json::from_slice(body).map_err(|e| AdapterError::from_json(&e, "$"))
}

/// A timestamp field: RFC 3339, or ISO 8601 with a `-0700` style offset as Foxy sends it,
/// converted to UTC. `Ok(None)` when the field is absent or null.
pub(crate) fn timestamp(
    value: Option<&Value>,
    path: &str,
) -> Result<Option<Timestamp>, AdapterError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let text = value.as_str().ok_or_else(|| AdapterError::Malformed {
        path: path.to_string(),
        message: format!("expected a timestamp string, got {value}"),
    })?;
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| AdapterError::Malformed {
            path: path.to_string(),
            message: format!("'{text}' is not an RFC 3339 timestamp: {e}"),
        })
}

/// A non-empty trimmed string field.
pub(crate) fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An order line's quantity: a whole number from 0 to `i64::MAX`. A negative quantity would
/// turn a sale into a restock and a larger one cannot be held, so both are refused as a
/// malformed payload naming the line's `item` and the field's `path`.
pub(crate) fn order_quantity(
    value: Option<&Value>,
    path: &str,
    item: &str,
) -> Result<i64, AdapterError> {
    match value.and_then(Value::as_i64) {
        Some(quantity) if quantity >= 0 => Ok(quantity),
        _ => Err(AdapterError::Malformed {
            path: path.to_string(),
            message: format!(
                "item '{item}' has quantity {}; an order quantity is a whole number from 0 to {}",
                value.map_or_else(|| "none".to_string(), Value::to_string),
                i64::MAX
            ),
        }),
    }
}

/// Which provider document types become which unified content types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeMap(BTreeMap<String, ContentType>);

impl TypeMap {
    /// Reads `setting` as `doc_type=content_type` pairs separated by commas
    /// (`post=article,landingPage=page`); when the setting is absent, `defaults` apply.
    pub(crate) fn from_settings(
        settings: &Settings,
        setting: &'static str,
        defaults: &[(&str, ContentType)],
    ) -> Result<TypeMap, ConfigError> {
        let Some(raw) = settings.get(setting) else {
            return Ok(TypeMap(
                defaults.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ));
        };
        let mut map = BTreeMap::new();
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (doc_type, content_type) = pair.split_once('=').ok_or_else(|| {
                settings.invalid(
                    setting,
                    format!("'{pair}' is not of the form document_type=content_type"),
                )
            })?;
            let content_type = ContentType::parse(content_type.trim()).ok_or_else(|| {
                settings.invalid(
                    setting,
                    format!(
                        "'{}' is not a content type; use one of product, article, page, collection, media",
                        content_type.trim()
                    ),
                )
            })?;
            map.insert(doc_type.trim().to_string(), content_type);
        }
        if map.is_empty() {
            return Err(settings.invalid(setting, "maps no document type"));
        }
        Ok(TypeMap(map))
    }

    /// The content type of a provider document type, if mapped.
    pub(crate) fn get(&self, doc_type: &str) -> Option<ContentType> {
        self.0.get(doc_type).copied()
    }
}

/// The map as the setting writes it, `post=article, page=page`, for messages.
impl std::fmt::Display for TypeMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pairs = self
            .0
            .iter()
            .map(|(doc_type, content_type)| format!("{doc_type}={content_type}"))
            .collect::<Vec<_>>();
        f.write_str(&pairs.join(", "))
    }
}

/// The optional `currency` setting of a CMS that holds products: an ISO 4217 code such as
/// `EUR`, upper-cased. CMS documents carry bare numbers, never a currency.
pub(crate) fn currency(settings: &Settings) -> Result<Option<String>, ConfigError> {
    let Some(raw) = settings.get("currency") else {
        return Ok(None);
    };
    let code = raw.to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(Some(code))
    } else {
        Err(settings.invalid(
            "currency",
            format!("'{raw}' is not an ISO 4217 code such as EUR"),
        ))
    }
}

/// A product price from a number or decimal string field, in `currency`. `Ok(None)` when the
/// field is absent or no currency is configured.
pub(crate) fn price(
    value: Option<&Value>,
    currency: Option<&str>,
    path: &str,
) -> Result<Option<Price>, AdapterError> {
    let (Some(value), Some(currency)) = (value.filter(|v| !v.is_null()), currency) else {
        return Ok(None);
    };
    let amount: Amount =
        serde_json::from_value(value.clone()).map_err(|e| AdapterError::Malformed {
            path: path.to_string(),
            message: format!("expected a price: {e}"),
        })?;
    Ok(Some(Price {
        amount,
        currency_code: currency.to_string(),
        compare_at_amount: None,
    }))
}

/// An optional whole number of seconds, such as a replay window.
pub(crate) fn seconds(
    settings: &Settings,
    setting: &'static str,
    default: i64,
) -> Result<i64, ConfigError> {
    match settings.get(setting) {
        None => Ok(default),
        Some(raw) => raw.parse::<i64>().ok().filter(|s| *s > 0).ok_or_else(|| {
            settings.invalid(
                setting,
                format!("'{raw}' is not a positive number of seconds"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_with_offsets_become_utc() {
        let t = timestamp(Some(&json!("2025-01-01T01:01:01-0700")), "$.t").unwrap();
        assert_eq!(t.unwrap().to_rfc3339(), "2025-01-01T08:01:01+00:00");
        let t = timestamp(Some(&json!("2017-10-04T19:18:53.5703196Z")), "$.t").unwrap();
        assert_eq!(
            t.unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "2017-10-04T19:18:53.570Z"
        );
        assert_eq!(timestamp(None, "$.t").unwrap(), None);
        assert!(timestamp(Some(&json!("yesterday")), "$.t").is_err());
    }

    #[test]
    fn type_maps_parse_or_name_the_setting() {
        let s = Settings::from_table("sanity", [("type_map", "post=article, landing = page")]);
        let map = TypeMap::from_settings(&s, "type_map", &[]).unwrap();
        assert_eq!(map.get("landing"), Some(ContentType::Page));
        assert_eq!(map.get("page"), None);
        let s = Settings::from_table("sanity", [("type_map", "post=blog")]);
        let err = TypeMap::from_settings(&s, "type_map", &[]).unwrap_err();
        assert!(err.to_string().contains("type_map"), "{err}");
        let s = Settings::from_table("sanity", [("max_age_secs", "0")]);
        assert!(seconds(&s, "max_age_secs", 300).is_err());
    }
}
