//! Shopify: product, collection and inventory-level webhooks.
//!
//! Shopify signs the raw body with HMAC-SHA256 under the app's webhook secret and sends the
//! base64 digest in `X-Shopify-Hmac-Sha256`. Bodies escape `/` as `\/`, so the signature is
//! only ever checked over the bytes as received. Prices arrive as strings, tags as one
//! comma-separated string, and numeric ids exceed 2^53: unified ids are the GraphQL ids
//! (`gid://shopify/Product/632910392`) and numeric ids in `provider_data` are strings.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use unified_content::{
    Amount, ContentStatus, ContentType, Inventory, InventoryPolicy, MediaAsset, Price,
    ProductVariant, ProviderType, Timestamp, UnifiedContent, make_js_safe, slugify,
};

use crate::fields::json_body;
use crate::signature::{constant_time_eq, hmac_sha256};
use crate::{
    AdapterError, Change, ConfigError, InventoryUpdate, Normalized, ProviderAdapter, Secret,
    Settings, SignatureError, StockChange, StockTarget, WebhookRequest,
};

/// The registry name.
pub const NAME: &str = "shopify";

const SIGNATURE_HEADER: &str = "X-Shopify-Hmac-Sha256";
const TOPIC_HEADER: &str = "X-Shopify-Topic";
const DELIVERY_HEADER: &str = "X-Shopify-Webhook-Id";
const SHOP_HEADER: &str = "X-Shopify-Shop-Domain";
/// When Shopify says the event happened; deletes carry no timestamp of their own.
const TRIGGERED_AT_HEADER: &str = "X-Shopify-Triggered-At";

/// The webhook topics this adapter handles, as `X-Shopify-Topic` names them.
pub const EVENTS: &[&str] = &[
    "products/create",
    "products/update",
    "products/delete",
    "collections/create",
    "collections/update",
    "collections/delete",
    "inventory_levels/update",
];

/// Product fields mapped onto unified fields; everything else is kept in `provider_data`.
const MAPPED_PRODUCT_FIELDS: &[&str] = &[
    "title",
    "body_html",
    "status",
    "tags",
    "variants",
    "images",
    "image",
    "media",
    "created_at",
    "updated_at",
];

/// Collection fields mapped onto unified fields.
const MAPPED_COLLECTION_FIELDS: &[&str] = &["title", "body_html", "image", "updated_at"];

/// The Shopify adapter.
#[derive(Debug)]
pub struct ShopifyAdapter {
    webhook_secret: Secret,
    currency: String,
    shop_domain: Option<String>,
}

/// Builds the adapter for the registry.
pub fn build(settings: &Settings) -> Result<Arc<dyn ProviderAdapter>, ConfigError> {
    Ok(Arc::new(ShopifyAdapter::from_settings(settings)?))
}

impl ShopifyAdapter {
    /// Reads `webhook_secret` (required), `currency` (required, ISO 4217 such as `EUR`: product
    /// webhooks carry no currency) and `shop_domain` (optional: when set, deliveries for other
    /// shops are refused).
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let webhook_secret = settings.require_secret("webhook_secret")?;
        let currency = settings.require("currency")?.to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(settings.invalid(
                "currency",
                format!(
                    "'{currency}' is not an ISO 4217 code; set the shop's currency as three \
                     letters, like EUR or USD"
                ),
            ));
        }
        let shop_domain = settings.get("shop_domain").map(|d| d.to_ascii_lowercase());
        Ok(ShopifyAdapter {
            webhook_secret,
            currency,
            shop_domain,
        })
    }
}

#[async_trait]
impl ProviderAdapter for ShopifyAdapter {
    fn name(&self) -> &'static str {
        NAME
    }

    fn provider_type(&self) -> ProviderType {
        ProviderType::Ecommerce
    }

    fn events(&self) -> &'static [&'static str] {
        EVENTS
    }

    async fn verify(&self, request: &WebhookRequest<'_>) -> Result<(), SignatureError> {
        let header = request.signature_header(SIGNATURE_HEADER)?;
        let given = BASE64
            .decode(header.trim())
            .map_err(|e| SignatureError::Malformed {
                header: SIGNATURE_HEADER,
                reason: format!("not base64: {e}"),
            })?;
        let expected = hmac_sha256(&self.webhook_secret, request.body);
        if !constant_time_eq(&given, &expected) {
            return Err(SignatureError::Mismatch {
                header: SIGNATURE_HEADER,
            });
        }
        if let Some(configured) = &self.shop_domain {
            let shop = request.header(SHOP_HEADER).unwrap_or_default();
            if !shop.eq_ignore_ascii_case(configured) {
                return Err(SignatureError::Rejected {
                    reason: format!(
                        "delivery is for shop '{shop}' but shop_domain is '{configured}'"
                    ),
                });
            }
        }
        Ok(())
    }

    fn delivery_id(&self, request: &WebhookRequest<'_>) -> Option<String> {
        request.header(DELIVERY_HEADER).map(str::to_string)
    }

    async fn normalize(&self, request: &WebhookRequest<'_>) -> Result<Normalized, AdapterError> {
        let topic = request
            .header(TOPIC_HEADER)
            .ok_or(AdapterError::MissingHeader(TOPIC_HEADER))?;
        let changes = match topic {
            "products/create" | "products/update" => {
                let raw = json_body(request.body)?;
                vec![Change::Upsert(self.product(&raw, request.received_at)?)]
            }
            "collections/create" | "collections/update" => {
                let raw = json_body(request.body)?;
                vec![Change::Upsert(self.collection(&raw, request.received_at)?)]
            }
            "products/delete" => vec![tombstone(request, "Product", ContentType::Product)?],
            "collections/delete" => {
                vec![tombstone(request, "Collection", ContentType::Collection)?]
            }
            "inventory_levels/update" => {
                let level: InventoryLevelPayload = typed(&json_body(request.body)?)?;
                // `available` is null when the item stopped being stocked at the location:
                // there is no level to set.
                level
                    .available
                    .map(|available| {
                        Change::Inventory(InventoryUpdate {
                            provider_name: NAME.to_string(),
                            target: StockTarget::InventoryItem(level.inventory_item_id.to_string()),
                            stock: StockChange::Set(available),
                            updated_at: level.updated_at.unwrap_or(request.received_at),
                        })
                    })
                    .into_iter()
                    .collect()
            }
            other => {
                tracing::debug!(
                    topic = other,
                    "ignoring Shopify topic this adapter does not map"
                );
                Vec::new()
            }
        };
        Ok(Normalized {
            event: topic.to_string(),
            changes,
        })
    }
}

impl ShopifyAdapter {
    fn price(&self, amount: Amount, compare_at: Option<Amount>) -> Price {
        Price {
            amount,
            currency_code: self.currency.clone(),
            // Shops without a former price send null or "0.00"; neither is a price to strike.
            compare_at_amount: compare_at.filter(|a| *a != Amount::ZERO),
        }
    }

    fn product(&self, raw: &Value, received_at: Timestamp) -> Result<UnifiedContent, AdapterError> {
        let product: ProductPayload = typed(raw)?;
        let option_names = option_names(&product.options);
        let mut inventory_item_ids = Map::new();
        let variants = product
            .variants
            .iter()
            .map(|v| {
                let id = gid_or("ProductVariant", v.id, v.admin_graphql_api_id.as_deref());
                if let Some(item) = v.inventory_item_id {
                    inventory_item_ids.insert(item.to_string(), Value::String(id.clone()));
                }
                ProductVariant {
                    title: v.title.clone().unwrap_or_default(),
                    sku: v.sku.clone().filter(|s| !s.trim().is_empty()),
                    price: self.price(v.price, v.compare_at_price),
                    inventory: v.inventory_quantity.map(|quantity| {
                        let policy = v.policy();
                        Inventory {
                            quantity,
                            track_quantity: v.inventory_management.is_some(),
                            continue_selling_when_out_of_stock: policy == InventoryPolicy::Continue,
                            inventory_policy: policy,
                        }
                    }),
                    options: [&v.option1, &v.option2, &v.option3]
                        .into_iter()
                        .zip(&option_names)
                        .filter_map(|(value, name)| Some((name.clone(), value.clone()?)))
                        .collect(),
                    id,
                }
            })
            .collect::<Vec<_>>();

        let id = gid_or(
            "Product",
            product.id,
            product.admin_graphql_api_id.as_deref(),
        );
        let inventory = product_inventory(&id, &variants)?;
        let images = product.images.iter().map(media).collect::<Vec<_>>();
        let featured_image = product
            .image
            .as_ref()
            .map(media)
            .or_else(|| images.first().cloned());
        let updated_at = product.updated_at.unwrap_or(received_at);
        let status = match product.status.as_deref() {
            None | Some("active") | Some("unlisted") => ContentStatus::Published,
            Some("draft") => ContentStatus::Draft,
            Some("archived") => ContentStatus::Archived,
            Some(other) => {
                return Err(AdapterError::Malformed {
                    path: "$.status".into(),
                    message: format!(
                        "unknown product status '{other}'; expected active, draft or archived"
                    ),
                });
            }
        };

        let mut provider_data = remaining_fields(raw, MAPPED_PRODUCT_FIELDS);
        provider_data.insert(
            "inventory_item_ids".into(),
            Value::Object(inventory_item_ids),
        );
        let mut item = UnifiedContent {
            id,
            slug: slugify(product.handle.as_deref().unwrap_or(&product.title)),
            title: product.title,
            content_type: ContentType::Product,
            status,
            description: None,
            body: product.body_html,
            featured_image,
            images,
            price: variants.first().map(|v| v.price.clone()),
            inventory,
            variants,
            seo: None,
            tags: split_tags(product.tags.as_deref()),
            provider_type: ProviderType::Ecommerce,
            provider_name: NAME.to_string(),
            provider_data: js_safe(provider_data),
            created_at: product.created_at.unwrap_or(updated_at).min(updated_at),
            updated_at,
            synced_at: received_at,
        };
        item.normalize();
        Ok(item)
    }

    fn collection(
        &self,
        raw: &Value,
        received_at: Timestamp,
    ) -> Result<UnifiedContent, AdapterError> {
        let collection: CollectionPayload = typed(raw)?;
        let updated_at = collection.updated_at.unwrap_or(received_at);
        let featured_image = collection.image.as_ref().map(media);
        let mut item = UnifiedContent {
            id: gid_or(
                "Collection",
                collection.id,
                collection.admin_graphql_api_id.as_deref(),
            ),
            slug: slugify(collection.handle.as_deref().unwrap_or(&collection.title)),
            title: collection.title,
            content_type: ContentType::Collection,
            // An unpublished collection has no publication date.
            status: if collection.published_at.is_some() {
                ContentStatus::Published
            } else {
                ContentStatus::Draft
            },
            description: None,
            body: collection.body_html,
            images: featured_image.iter().cloned().collect(),
            featured_image,
            price: None,
            inventory: None,
            variants: Vec::new(),
            seo: None,
            tags: Vec::new(),
            provider_type: ProviderType::Ecommerce,
            provider_name: NAME.to_string(),
            provider_data: js_safe(remaining_fields(raw, MAPPED_COLLECTION_FIELDS)),
            // Collection webhooks carry no creation time.
            created_at: collection
                .published_at
                .unwrap_or(updated_at)
                .min(updated_at),
            updated_at,
            synced_at: received_at,
        };
        item.normalize();
        Ok(item)
    }
}

/// Reads a typed payload, naming the JSON path of a bad field, such as `$.variants[0].price`.
fn typed<T: DeserializeOwned>(raw: &Value) -> Result<T, AdapterError> {
    serde_path_to_error::deserialize(raw).map_err(AdapterError::from_json_path)
}

/// A delete carries only the numeric id; the tombstone gets the same GraphQL id the upserts use.
fn tombstone(
    request: &WebhookRequest<'_>,
    kind: &str,
    content_type: ContentType,
) -> Result<Change, AdapterError> {
    let deleted: DeletePayload = typed(&json_body(request.body)?)?;
    let deleted_at = request
        .header(TRIGGERED_AT_HEADER)
        .and_then(|t| t.parse::<Timestamp>().ok())
        .unwrap_or(request.received_at);
    Ok(Change::Tombstone {
        id: gid_or(kind, deleted.id, deleted.admin_graphql_api_id.as_deref()),
        content_type: Some(content_type),
        provider_name: NAME.to_string(),
        deleted_at,
    })
}

/// The GraphQL id Shopify sent, or the one it would have sent for this numeric id.
fn gid_or(kind: &str, id: u64, gid: Option<&str>) -> String {
    gid.map(str::to_string)
        .unwrap_or_else(|| format!("gid://shopify/{kind}/{id}"))
}

fn option_names(options: &[OptionPayload]) -> Vec<String> {
    let mut options = options.iter().collect::<Vec<_>>();
    options.sort_by_key(|o| o.position);
    options.into_iter().map(|o| o.name.clone()).collect()
}

/// A product's stock: the sum over its variants, tracked if any variant is, sellable when out
/// of stock if any variant is. A sum past the 64-bit range is refused, naming the product
/// `id` and the variant where it overflowed, rather than wrapped.
fn product_inventory(
    id: &str,
    variants: &[ProductVariant],
) -> Result<Option<Inventory>, AdapterError> {
    let levels = variants
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((i, v.inventory.as_ref()?)))
        .collect::<Vec<_>>();
    if levels.is_empty() {
        return Ok(None);
    }
    let mut quantity = 0i64;
    for (i, level) in &levels {
        quantity = quantity
            .checked_add(level.quantity)
            .ok_or_else(|| AdapterError::Malformed {
                path: format!("$.variants[{i}].inventory_quantity"),
                message: format!(
                    "product {id}: the variants' inventory_quantity values add up past the \
                     64-bit integer range ({} to {}); correct the variant's stock in Shopify",
                    i64::MIN,
                    i64::MAX
                ),
            })?;
    }
    let continues = levels
        .iter()
        .any(|(_, i)| i.continue_selling_when_out_of_stock);
    Ok(Some(Inventory {
        quantity,
        track_quantity: levels.iter().any(|(_, i)| i.track_quantity),
        continue_selling_when_out_of_stock: continues,
        inventory_policy: if continues {
            InventoryPolicy::Continue
        } else {
            InventoryPolicy::Deny
        },
    }))
}

fn media(image: &ImagePayload) -> MediaAsset {
    MediaAsset {
        id: image
            .admin_graphql_api_id
            .clone()
            .or_else(|| {
                image
                    .id
                    .map(|id| format!("gid://shopify/ProductImage/{id}"))
            })
            .unwrap_or_else(|| image.src.clone()),
        url: image.src.clone(),
        alt_text: image.alt.clone(),
        width: image.width,
        height: image.height,
        file_size: None,
        mime_type: None,
    }
}

fn split_tags(tags: Option<&str>) -> Vec<String> {
    tags.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// The payload's fields that no unified field holds, kept for templates.
fn remaining_fields(raw: &Value, mapped: &[&str]) -> BTreeMap<String, Value> {
    raw.as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| !mapped.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

fn js_safe(data: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    let mut value = Value::Object(data.into_iter().collect());
    make_js_safe(&mut value);
    match value {
        Value::Object(map) => map.into_iter().collect(),
        _ => unreachable!("make_js_safe keeps an object an object"),
    }
}

#[derive(Deserialize)]
struct ProductPayload {
    id: u64,
    admin_graphql_api_id: Option<String>,
    title: String,
    body_html: Option<String>,
    handle: Option<String>,
    status: Option<String>,
    tags: Option<String>,
    created_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
    #[serde(default)]
    variants: Vec<VariantPayload>,
    #[serde(default)]
    options: Vec<OptionPayload>,
    #[serde(default)]
    images: Vec<ImagePayload>,
    image: Option<ImagePayload>,
}

#[derive(Deserialize)]
struct VariantPayload {
    id: u64,
    admin_graphql_api_id: Option<String>,
    title: Option<String>,
    sku: Option<String>,
    price: Amount,
    compare_at_price: Option<Amount>,
    option1: Option<String>,
    option2: Option<String>,
    option3: Option<String>,
    inventory_item_id: Option<u64>,
    inventory_quantity: Option<i64>,
    inventory_policy: Option<String>,
    /// `shopify` when Shopify tracks the variant's stock, null when nobody does.
    inventory_management: Option<String>,
}

impl VariantPayload {
    fn policy(&self) -> InventoryPolicy {
        match self.inventory_policy.as_deref() {
            Some("continue") => InventoryPolicy::Continue,
            _ => InventoryPolicy::Deny,
        }
    }
}

#[derive(Deserialize)]
struct OptionPayload {
    name: String,
    #[serde(default)]
    position: u32,
}

#[derive(Deserialize)]
struct ImagePayload {
    id: Option<u64>,
    admin_graphql_api_id: Option<String>,
    src: String,
    alt: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
}

#[derive(Deserialize)]
struct CollectionPayload {
    id: u64,
    admin_graphql_api_id: Option<String>,
    title: String,
    handle: Option<String>,
    body_html: Option<String>,
    published_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
    image: Option<ImagePayload>,
}

#[derive(Deserialize)]
struct DeletePayload {
    id: u64,
    admin_graphql_api_id: Option<String>,
}

#[derive(Deserialize)]
struct InventoryLevelPayload {
    inventory_item_id: u64,
    available: Option<i64>,
    updated_at: Option<Timestamp>,
}
