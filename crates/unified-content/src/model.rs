//! The unified content types.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::money::Amount;

/// A point in time, always held in UTC and written as RFC 3339 with a `Z` suffix.
/// Offsets in received timestamps are converted on read.
pub type Timestamp = DateTime<Utc>;

/// One item of content from any provider, in the one shape every site build reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnifiedContent {
    /// The provider's id, unique within the cache. May contain `/`, `:` and any other character.
    pub id: String,
    /// The human title.
    pub title: String,
    /// URL-safe name, unique per content type: lowercase letters, digits and hyphens.
    #[schemars(regex(pattern = r"^[a-z0-9-]+$"))]
    pub slug: String,
    /// What kind of content this is.
    pub content_type: ContentType,
    /// Publication status.
    #[serde(default)]
    pub status: ContentStatus,
    /// A short summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The body, as HTML or Markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The main image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub featured_image: Option<MediaAsset>,
    /// All images, in the provider's order.
    #[serde(default)]
    pub images: Vec<MediaAsset>,
    /// The price of a product (of its first variant when it has several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// Stock of a product, summed over its variants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
    /// A product's variants.
    #[serde(default)]
    pub variants: Vec<ProductVariant>,
    /// Search engine metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seo: Option<SeoMetadata>,
    /// Tags, trimmed, in the provider's order.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether the item came from a CMS or a shop.
    pub provider_type: ProviderType,
    /// The provider's registry name, such as `shopify` or `sanity`.
    pub provider_name: String,
    /// Provider-specific fields kept as received. Numeric ids are strings here, so that
    /// JavaScript readers see them exactly.
    #[serde(default)]
    pub provider_data: BTreeMap<String, Value>,
    /// When the provider created the item.
    pub created_at: Timestamp,
    /// When the provider last changed the item; newer versions win over older ones.
    pub updated_at: Timestamp,
    /// When the integration layer last stored the item.
    pub synced_at: Timestamp,
}

/// The kinds of content.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ContentType {
    /// Something sold in a shop.
    Product,
    /// A blog post or news article.
    Article,
    /// A standalone page.
    Page,
    /// A group of products.
    Collection,
    /// An image, video or other file.
    Media,
}

impl ContentType {
    /// Every content type, in a stable order.
    pub const ALL: [ContentType; 5] = [
        ContentType::Product,
        ContentType::Article,
        ContentType::Page,
        ContentType::Collection,
        ContentType::Media,
    ];

    /// The name used on the wire, such as `product`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Product => "product",
            ContentType::Article => "article",
            ContentType::Page => "page",
            ContentType::Collection => "collection",
            ContentType::Media => "media",
        }
    }

    /// The plural used for collections, folders and files, such as `products`.
    pub fn plural(self) -> &'static str {
        match self {
            ContentType::Product => "products",
            ContentType::Article => "articles",
            ContentType::Page => "pages",
            ContentType::Collection => "collections",
            ContentType::Media => "media",
        }
    }

    /// The type's place in [`ContentType::ALL`], which lists the types in their declaration
    /// (and so `Ord`) order: one byte that sorts as the type does, for sort keys.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// Reads a wire name (`product`) or its plural (`products`).
    pub fn parse(text: &str) -> Option<ContentType> {
        ContentType::ALL
            .into_iter()
            .find(|t| t.as_str() == text || t.plural() == text)
    }
}

impl std::fmt::Display for ContentType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Publication status of an item.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ContentStatus {
    /// Not yet public; only previews see it.
    Draft,
    /// Public.
    #[default]
    Published,
    /// Kept but no longer shown.
    Archived,
    /// A tombstone: the provider deleted the item.
    Deleted,
}

impl ContentStatus {
    /// Every status, in a stable order.
    pub const ALL: [ContentStatus; 4] = [
        ContentStatus::Draft,
        ContentStatus::Published,
        ContentStatus::Archived,
        ContentStatus::Deleted,
    ];

    /// The name used on the wire, such as `published`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentStatus::Draft => "draft",
            ContentStatus::Published => "published",
            ContentStatus::Archived => "archived",
            ContentStatus::Deleted => "deleted",
        }
    }

    /// Reads a wire name.
    pub fn parse(text: &str) -> Option<ContentStatus> {
        ContentStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for ContentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an item came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderType {
    /// A content management system.
    Cms,
    /// An e-commerce provider.
    Ecommerce,
}

/// An image or other file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MediaAsset {
    /// The provider's id of the asset.
    pub id: String,
    /// Where the file is served.
    pub url: String,
    /// Alternative text for accessibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// MIME type, such as `image/jpeg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// A price in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Price {
    /// The amount, never negative.
    pub amount: Amount,
    /// ISO 4217 currency code, such as `EUR`.
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency_code: String,
    /// The former price shown struck through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_at_amount: Option<Amount>,
}

/// Stock of a product or variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Inventory {
    /// Units in stock. Negative when a shop has oversold.
    pub quantity: i64,
    /// Whether the shop tracks stock for this item.
    #[serde(default)]
    pub track_quantity: bool,
    /// Whether the item can be bought when out of stock.
    #[serde(default)]
    pub continue_selling_when_out_of_stock: bool,
    /// The shop's policy when out of stock.
    #[serde(default)]
    pub inventory_policy: InventoryPolicy,
}

/// What a shop does when an item is out of stock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InventoryPolicy {
    /// Stop selling.
    #[default]
    Deny,
    /// Keep selling.
    Continue,
}

/// One purchasable variant of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProductVariant {
    /// The provider's id of the variant.
    pub id: String,
    /// The variant's title, such as `Large / Blue`.
    pub title: String,
    /// The stock keeping unit, used to match stock changes from other shops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// The variant's price.
    pub price: Price,
    /// The variant's stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
    /// Option values by option name, such as `{"Size": "L"}`.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// Search engine and social sharing metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeoMetadata {
    /// The `<title>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_title: Option<String>,
    /// The meta description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_description: Option<String>,
    /// The canonical URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_url: Option<String>,
    /// The Open Graph title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub og_title: Option<String>,
    /// The Open Graph description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub og_description: Option<String>,
    /// The Open Graph image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub og_image: Option<String>,
}

impl UnifiedContent {
    /// Whether the item is a tombstone of a deleted item.
    pub fn is_deleted(&self) -> bool {
        self.status == ContentStatus::Deleted
    }

    /// Trims every string, drops empty optional strings and empty tags, so that equal content
    /// from any provider compares equal.
    pub fn normalize(&mut self) {
        fn trim(s: &mut String) {
            let trimmed = s.trim();
            if trimmed.len() != s.len() {
                *s = trimmed.to_string();
            }
        }
        fn trim_opt(s: &mut Option<String>) {
            if let Some(inner) = s {
                trim(inner);
                if inner.is_empty() {
                    *s = None;
                }
            }
        }
        fn media(m: &mut MediaAsset) {
            trim(&mut m.id);
            trim(&mut m.url);
            trim_opt(&mut m.alt_text);
            trim_opt(&mut m.mime_type);
        }
        fn price(p: &mut Price) {
            trim(&mut p.currency_code);
        }

        trim(&mut self.id);
        trim(&mut self.title);
        trim(&mut self.slug);
        trim(&mut self.provider_name);
        trim_opt(&mut self.description);
        trim_opt(&mut self.body);
        if let Some(m) = &mut self.featured_image {
            media(m);
        }
        self.images.iter_mut().for_each(media);
        if let Some(p) = &mut self.price {
            price(p);
        }
        for v in &mut self.variants {
            trim(&mut v.id);
            trim(&mut v.title);
            trim_opt(&mut v.sku);
            price(&mut v.price);
            let options = std::mem::take(&mut v.options);
            v.options = options
                .into_iter()
                .map(|(k, val)| (k.trim().to_string(), val.trim().to_string()))
                .collect();
        }
        if let Some(seo) = &mut self.seo {
            for field in [
                &mut seo.meta_title,
                &mut seo.meta_description,
                &mut seo.canonical_url,
                &mut seo.og_title,
                &mut seo.og_description,
                &mut seo.og_image,
            ] {
                trim_opt(field);
            }
        }
        self.tags.iter_mut().for_each(trim);
        self.tags.retain(|t| !t.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_s_rank_is_its_place_in_all_and_sorts_as_it_does() {
        for (place, content_type) in ContentType::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(content_type.rank()), place);
        }
        assert!(ContentType::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
