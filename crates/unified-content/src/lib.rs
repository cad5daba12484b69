//! The unified content model shared by every part of the platform.
//!
//! Providers normalize their webhooks into [`UnifiedContent`], the integration API stores and
//! serves it, and the fetcher validates it and writes it out for the static site generators.
//! This crate holds the types, their validation, deterministic slugs, content digests and the
//! JSON Schema from which the TypeScript and Zod outputs are generated. It does no I/O.
#![deny(missing_docs)]

pub mod api;
mod digest;
mod event;
mod js_safe;
mod model;
mod money;
mod schema;
mod slug;
mod validate;
mod version;

pub use digest::{content_digest, write_with_digest};
pub use event::{ContentEvent, Environment, EventType};
pub use js_safe::{make_js_safe, quoted_in_js, to_js_safe_vec};
pub use model::{
    ContentStatus, ContentType, Inventory, InventoryPolicy, MediaAsset, Price, ProductVariant,
    ProviderType, SeoMetadata, Timestamp, UnifiedContent,
};
pub use money::{Amount, AmountError, MAX_SIGNIFICANT_DIGITS};
pub use schema::{SCHEMA_VERSION, json_schema};
pub use slug::{MAX_SLUG_LEN, is_valid_slug, slugify};
pub use validate::{Rule, ValidationError, ValidationErrors};
pub use version::Version;
