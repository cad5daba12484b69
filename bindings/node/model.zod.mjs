// Generated from the unified content model's JSON Schema by build.rs. Do not edit.
import { z } from "astro/zod";

/** An exact decimal amount of money in the currency's major unit. */
export const Amount = z.number().min(0);

/** Publication status of an item. */
export const ContentStatus = z.enum(["draft", "published", "archived", "deleted"]);

/** The kinds of content. */
export const ContentType = z.enum(["product", "article", "page", "collection", "media"]);

/** What a shop does when an item is out of stock. */
export const InventoryPolicy = z.enum(["deny", "continue"]);

/** Stock of a product or variant. */
export const Inventory = z.object({
  /** Whether the item can be bought when out of stock. */
  continue_selling_when_out_of_stock: z.boolean().default(false),
  /** The shop's policy when out of stock. */
  inventory_policy: InventoryPolicy.default("deny"),
  /** Units in stock. Negative when a shop has oversold. */
  quantity: z.number().int(),
  /** Whether the shop tracks stock for this item. */
  track_quantity: z.boolean().default(false),
});

/** An image or other file. */
export const MediaAsset = z.object({
  /** Alternative text for accessibility. */
  alt_text: z.string().nullable().optional(),
  /** Size in bytes. */
  file_size: z.number().int().min(0).nullable().optional(),
  /** Height in pixels. */
  height: z.number().int().min(0).nullable().optional(),
  /** The provider's id of the asset. */
  id: z.string(),
  /** MIME type, such as `image/jpeg`. */
  mime_type: z.string().nullable().optional(),
  /** Where the file is served. */
  url: z.string(),
  /** Width in pixels. */
  width: z.number().int().min(0).nullable().optional(),
});

/** A price in one currency. */
export const Price = z.object({
  /** The amount, never negative. */
  amount: Amount,
  /** The former price shown struck through, if any. */
  compare_at_amount: Amount.nullable().optional(),
  /** ISO 4217 currency code, such as `EUR`. */
  currency_code: z.string().regex(new RegExp("^[A-Z]{3}$")),
});

/** One purchasable variant of a product. */
export const ProductVariant = z.object({
  /** The provider's id of the variant. */
  id: z.string(),
  /** The variant's stock. */
  inventory: Inventory.nullable().optional(),
  /** Option values by option name, such as `{"Size": "L"}`. */
  options: z.record(z.string(), z.string()).default({}),
  /** The variant's price. */
  price: Price,
  /** The stock keeping unit, used to match stock changes from other shops. */
  sku: z.string().nullable().optional(),
  /** The variant's title, such as `Large / Blue`. */
  title: z.string(),
});

/** Where an item came from. */
export const ProviderType = z.enum(["cms", "ecommerce"]);

/** Search engine and social sharing metadata. */
export const SeoMetadata = z.object({
  /** The canonical URL. */
  canonical_url: z.string().nullable().optional(),
  /** The meta description. */
  meta_description: z.string().nullable().optional(),
  /** The `<title>`. */
  meta_title: z.string().nullable().optional(),
  /** The Open Graph description. */
  og_description: z.string().nullable().optional(),
  /** The Open Graph image URL. */
  og_image: z.string().nullable().optional(),
  /** The Open Graph title. */
  og_title: z.string().nullable().optional(),
});

/** One item of content from any provider, in the one shape every site build reads. */
export const UnifiedContent = z.object({
  /** The body, as HTML or Markdown. */
  body: z.string().nullable().optional(),
  /** What kind of content this is. */
  content_type: ContentType,
  /** When the provider created the item. */
  created_at: z.coerce.date(),
  /** A short summary. */
  description: z.string().nullable().optional(),
  /** The main image. */
  featured_image: MediaAsset.nullable().optional(),
  /** The provider's id, unique within the cache. May contain `/`, `:` and any other character. */
  id: z.string(),
  /** All images, in the provider's order. */
  images: z.array(MediaAsset).default([]),
  /** Stock of a product, summed over its variants. */
  inventory: Inventory.nullable().optional(),
  /** The price of a product (of its first variant when it has several). */
  price: Price.nullable().optional(),
  /** Provider-specific fields kept as received. Numeric ids are strings here, so that JavaScript readers see them exactly. */
  provider_data: z.record(z.string(), z.unknown()).default({}),
  /** The provider's registry name, such as `shopify` or `sanity`. */
  provider_name: z.string(),
  /** Whether the item came from a CMS or a shop. */
  provider_type: ProviderType,
  /** Search engine metadata. */
  seo: SeoMetadata.nullable().optional(),
  /** URL-safe name, unique per content type: lowercase letters, digits and hyphens. */
  slug: z.string().regex(new RegExp("^[a-z0-9-]+$")),
  /** Publication status. */
  status: ContentStatus.default("published"),
  /** When the integration layer last stored the item. */
  synced_at: z.coerce.date(),
  /** Tags, trimmed, in the provider's order. */
  tags: z.array(z.string()).default([]),
  /** The human title. */
  title: z.string(),
  /** When the provider last changed the item; newer versions win over older ones. */
  updated_at: z.coerce.date(),
  /** A product's variants. */
  variants: z.array(ProductVariant).default([]),
});
