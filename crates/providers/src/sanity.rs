//! Sanity, through GROQ-powered document webhooks.
//!
//! Configure the webhook at sanity.io/manage with the URL `POST /webhooks/sanity`, trigger on
//! create, update and delete, an empty projection (the body is then the whole document) or one
//! that keeps `_id`, `_type`, `_createdAt`, `_updatedAt` and the fields below, and a secret.
//!
//! - Signature: `sanity-webhook-signature: t=<unix ms>,v1=<base64url HMAC-SHA256 of
//!   "<t>.<raw body>">`, as `@sanity/webhook` checks it; timestamps outside `max_age_secs`
//!   (default 300) are refused as replays.
//! - Delivery id: the `idempotency-key` header.
//! - Operation: the `sanity-operation` header (`create`, `update`, `delete`); a delete becomes a
//!   tombstone of `_id` (or of the `sanity-document-id` header when the body has none).
//! - Documents: `_type` is mapped by `type_map` (default `post`/`article` → article, `page` →
//!   page, `product` → product); other types are acknowledged and ignored. `drafts.` and
//!   `versions.` ids become status draft, with the id kept exactly. The Portable Text `body`
//!   (or `content`) is rendered to HTML and kept raw in `provider_data.portable_text`.
//!
//!   A numeric or decimal-string `price` becomes the item's price when `currency` is set.
//!
//! Settings: `webhook_secret` (required), `project_id` and `dataset` (to build image URLs from
//! asset references), `type_map`, `max_age_secs`, `currency` (ISO 4217, for product prices).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use unified_content::{
    ContentStatus, ContentType, ProviderType, SeoMetadata, UnifiedContent, make_js_safe, slugify,
};

use crate::change::{Change, Normalized};
use crate::error::{AdapterError, ConfigError, SignatureError};
use crate::fields::{TypeMap, currency, json_body, price, seconds, text, timestamp};
use crate::portable_text::{SanityCdn, sanity_image, to_html};
use crate::secret::Secret;
use crate::settings::Settings;
use crate::signature::{check_fresh, constant_time_eq, hmac_sha256};
use crate::{ProviderAdapter, WebhookRequest};

const NAME: &str = "sanity";
const SIGNATURE_HEADER: &str = "sanity-webhook-signature";
const OPERATION_HEADER: &str = "sanity-operation";
/// The document operations this adapter handles (a webhook's trigger).
pub const EVENTS: &[&str] = &["create", "update", "delete"];
const DEFAULT_TYPES: &[(&str, ContentType)] = &[
    ("post", ContentType::Article),
    ("article", ContentType::Article),
    ("page", ContentType::Page),
    ("product", ContentType::Product),
];

/// The Sanity adapter.
#[derive(Debug)]
pub struct SanityAdapter {
    secret: Secret,
    max_age_secs: i64,
    cdn: Option<SanityCdn>,
    types: TypeMap,
    currency: Option<String>,
}

/// Builds the adapter from its settings (see the module documentation).
pub fn build(settings: &Settings) -> Result<Arc<dyn ProviderAdapter>, ConfigError> {
    Ok(Arc::new(SanityAdapter::new(settings)?))
}

impl SanityAdapter {
    /// Checks every setting up front.
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let secret = settings.require_secret("webhook_secret")?;
        let cdn =
            match (settings.get("project_id"), settings.get("dataset")) {
                (Some(project), Some(dataset)) => Some(SanityCdn::new(project, dataset)),
                (None, None) => None,
                (Some(_), None) => {
                    return Err(settings
                        .invalid("dataset", "is needed with project_id to build image URLs"));
                }
                (None, Some(_)) => {
                    return Err(settings
                        .invalid("project_id", "is needed with dataset to build image URLs"));
                }
            };
        Ok(SanityAdapter {
            secret,
            max_age_secs: seconds(settings, "max_age_secs", 300)?,
            cdn,
            types: TypeMap::from_settings(settings, "type_map", DEFAULT_TYPES)?,
            currency: currency(settings)?,
        })
    }

    fn document(
        &self,
        doc: &Value,
        request: &WebhookRequest<'_>,
    ) -> Result<Option<UnifiedContent>, AdapterError> {
        let Some(doc_type) = text(doc.get("_type")) else {
            return Err(AdapterError::Malformed {
                path: "$._type".into(),
                message: "the document has no _type; keep _type in the webhook projection".into(),
            });
        };
        let Some(content_type) = self.types.get(doc_type) else {
            return Ok(None);
        };
        let id = document_id(doc, request)?;
        let title = text(doc.get("title"))
            .or_else(|| text(doc.get("name")))
            .unwrap_or(&id)
            .to_string();
        let slug = text(doc.pointer("/slug/current"))
            .or_else(|| text(doc.get("slug")))
            .map_or_else(|| slugify(&title), slugify);
        let status = if id.starts_with("drafts.") || id.starts_with("versions.") {
            ContentStatus::Draft
        } else {
            ContentStatus::Published
        };
        let portable_text = ["body", "content"]
            .into_iter()
            .find_map(|k| doc.get(k).filter(|v| v.is_array()));
        let body = portable_text.map(|blocks| to_html(blocks, self.cdn.as_ref()));
        let featured_image = ["mainImage", "image", "featuredImage", "coverImage"]
            .into_iter()
            .find_map(|k| doc.get(k))
            .and_then(|image| sanity_image(image, self.cdn.as_ref()));
        let tags = doc
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| text(Some(t)).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let seo = doc
            .get("seo")
            .map(|seo| SeoMetadata {
                meta_title: text(seo.get("metaTitle")).map(str::to_string),
                meta_description: text(seo.get("metaDescription")).map(str::to_string),
                ..SeoMetadata::default()
            })
            .filter(|seo| *seo != SeoMetadata::default());
        let created_at =
            timestamp(doc.get("_createdAt"), "$._createdAt")?.unwrap_or(request.received_at);
        let updated_at = timestamp(doc.get("_updatedAt"), "$._updatedAt")?.unwrap_or(created_at);

        let mut provider_data = BTreeMap::new();
        provider_data.insert("document_type".into(), json!(doc_type));
        if let Some(rev) = doc.get("_rev") {
            provider_data.insert("revision".into(), rev.clone());
        }
        if let Some(blocks) = portable_text {
            provider_data.insert("portable_text".into(), blocks.clone());
        }
        for value in provider_data.values_mut() {
            make_js_safe(value);
        }
        let mut item = UnifiedContent {
            id,
            title,
            slug,
            content_type,
            status,
            description: ["excerpt", "description", "summary"]
                .into_iter()
                .find_map(|k| text(doc.get(k)))
                .map(str::to_string),
            body,
            images: featured_image.iter().cloned().collect(),
            featured_image,
            price: price(doc.get("price"), self.currency.as_deref(), "$.price")?,
            inventory: None,
            variants: Vec::new(),
            seo,
            tags,
            provider_type: ProviderType::Cms,
            provider_name: NAME.into(),
            provider_data,
            created_at,
            updated_at,
            synced_at: request.received_at,
        };
        item.normalize();
        Ok(Some(item))
    }
}

/// The document id: `_id` of the body, else the `sanity-document-id` header.
fn document_id(doc: &Value, request: &WebhookRequest<'_>) -> Result<String, AdapterError> {
    text(doc.get("_id"))
        .or_else(|| {
            request
                .header("sanity-document-id")
                .map(str::trim)
                .filter(|s| !s.is_empty())
        })
        .map(str::to_string)
        .ok_or_else(|| AdapterError::Malformed {
            path: "$._id".into(),
            message: "the document has no _id; keep _id in the webhook projection".into(),
        })
}

/// `(timestamp ms, signature)` of a `t=<ms>,v1=<sig>` header (a space may follow the comma).
fn parse_signature_header(header: &str) -> Option<(i64, &str)> {
    let rest = header.trim().strip_prefix("t=")?;
    let (t, rest) = rest.split_once([',', ' '])?;
    let sig = rest.trim_start_matches([',', ' ']).strip_prefix("v1=")?;
    if t.is_empty()
        || !t.bytes().all(|b| b.is_ascii_digit())
        || sig.is_empty()
        || sig.contains([',', ' '])
    {
        return None;
    }
    Some((t.parse().ok()?, sig))
}

/// The `sanity-webhook-signature` header value for `body` signed at `t_ms`, as Sanity sends it.
fn sign(secret: &Secret, t_ms: i64, body: &[u8]) -> String {
    let mut message = format!("{t_ms}.").into_bytes();
    message.extend_from_slice(body);
    format!(
        "t={t_ms},v1={}",
        URL_SAFE_NO_PAD.encode(hmac_sha256(secret, &message))
    )
}

#[async_trait]
impl ProviderAdapter for SanityAdapter {
    fn name(&self) -> &'static str {
        NAME
    }

    fn provider_type(&self) -> ProviderType {
        ProviderType::Cms
    }

    fn events(&self) -> &'static [&'static str] {
        EVENTS
    }

    async fn verify(&self, request: &WebhookRequest<'_>) -> Result<(), SignatureError> {
        let header = request.signature_header(SIGNATURE_HEADER)?;
        let (t_ms, given) =
            parse_signature_header(header).ok_or_else(|| SignatureError::Malformed {
                header: SIGNATURE_HEADER,
                reason: "expected t=<unix milliseconds>,v1=<base64url signature>".into(),
            })?;
        let expected = sign(&self.secret, t_ms, request.body);
        let expected_sig = expected.rsplit_once("v1=").map_or("", |(_, s)| s);
        if !constant_time_eq(expected_sig.as_bytes(), given.as_bytes()) {
            return Err(SignatureError::Mismatch {
                header: SIGNATURE_HEADER,
            });
        }
        check_fresh(
            SIGNATURE_HEADER,
            t_ms,
            request.received_at,
            self.max_age_secs,
        )
    }

    fn delivery_id(&self, request: &WebhookRequest<'_>) -> Option<String> {
        request
            .header("idempotency-key")
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
    }

    async fn normalize(&self, request: &WebhookRequest<'_>) -> Result<Normalized, AdapterError> {
        let doc = json_body(request.body)?;
        let operation = request
            .header(OPERATION_HEADER)
            .map(str::trim)
            .unwrap_or("update");
        let changes = match operation {
            "delete" => {
                let id = document_id(&doc, request)?;
                let deleted_at = timestamp(
                    request
                        .header("sanity-transaction-time")
                        .map(|t| json!(t))
                        .as_ref(),
                    "header sanity-transaction-time",
                )?
                .unwrap_or(request.received_at);
                let doc_type = text(doc.get("_type"));
                match doc_type.map(|t| self.types.get(t)) {
                    // A type the site does not map was never stored.
                    Some(None) => Vec::new(),
                    content_type => vec![Change::Tombstone {
                        id,
                        content_type: content_type.flatten(),
                        provider_name: NAME.into(),
                        deleted_at,
                    }],
                }
            }
            "create" | "update" => self
                .document(&doc, request)?
                .map(Change::Upsert)
                .into_iter()
                .collect(),
            other => {
                return Err(AdapterError::Malformed {
                    path: format!("header {OPERATION_HEADER}"),
                    message: format!(
                        "unknown operation '{other}'; expected create, update or delete"
                    ),
                });
            }
        };
        Ok(Normalized {
            event: operation.to_string(),
            changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_sanity_webhook_toolkit() {
        // The vector of @sanity/webhook's own test suite.
        let header = sign(
            &Secret::new("try-me"),
            1633518820676,
            br#"{"title":"GROQ-Hooks are neat"}"#,
        );
        assert_eq!(
            header,
            "t=1633518820676,v1=e7C9h2sfbFfc4V7TEz7PSOp4IoNzl0UdVsBV-1wgdeA"
        );
        assert_eq!(
            parse_signature_header(
                "t=1633470609222, v1=7kTYPaw6SmCoN2VJzFL24oEjV-ac7lRwbljOkh7d13A"
            ),
            Some((1633470609222, "7kTYPaw6SmCoN2VJzFL24oEjV-ac7lRwbljOkh7d13A"))
        );
        assert_eq!(parse_signature_header("t=1633470609222,v3=abc"), None);
        assert_eq!(parse_signature_header("t=,v1=abc"), None);
    }
}
