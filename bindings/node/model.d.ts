// Generated from the unified content model's JSON Schema by build.rs. Do not edit.

/** An exact decimal amount of money in the currency's major unit. */
export type Amount = number;

/** Publication status of an item. */
export type ContentStatus = "draft" | "published" | "archived" | "deleted";

/** The kinds of content. */
export type ContentType = "product" | "article" | "page" | "collection" | "media";

/** What a shop does when an item is out of stock. */
export type InventoryPolicy = "deny" | "continue";

/** Stock of a product or variant. */
export type Inventory = {
  /** Whether the item can be bought when out of stock. */
  continue_selling_when_out_of_stock: boolean;
  /** The shop's policy when out of stock. */
  inventory_policy: InventoryPolicy;
  /** Units in stock. Negative when a shop has oversold. */
  quantity: number;
  /** Whether the shop tracks stock for this item. */
  track_quantity: boolean;
};

/** An image or other file. */
export type MediaAsset = {
  /** Alternative text for accessibility. */
  alt_text?: string | null;
  /** Size in bytes. */
  file_size?: number | null;
  /** Height in pixels. */
  height?: number | null;
  /** The provider's id of the asset. */
  id: string;
  /** MIME type, such as `image/jpeg`. */
  mime_type?: string | null;
  /** Where the file is served. */
  url: string;
  /** Width in pixels. */
  width?: number | null;
};

/** A price in one currency. */
export type Price = {
  /** The amount, never negative. */
  amount: Amount;
  /** The former price shown struck through, if any. */
  compare_at_amount?: Amount | null;
  /** ISO 4217 currency code, such as `EUR`. */
  currency_code: string;
};

/** One purchasable variant of a product. */
export type ProductVariant = {
  /** The provider's id of the variant. */
  id: string;
  /** The variant's stock. */
  inventory?: Inventory | null;
  /** Option values by option name, such as `{"Size": "L"}`. */
  options: Record<string, string>;
  /** The variant's price. */
  price: Price;
  /** The stock keeping unit, used to match stock changes from other shops. */
  sku?: string | null;
  /** The variant's title, such as `Large / Blue`. */
  title: string;
};

/** Where an item came from. */
export type ProviderType = "cms" | "ecommerce";

/** Search engine and social sharing metadata. */
export type SeoMetadata = {
  /** The canonical URL. */
  canonical_url?: string | null;
  /** The meta description. */
  meta_description?: string | null;
  /** The `<title>`. */
  meta_title?: string | null;
  /** The Open Graph description. */
  og_description?: string | null;
  /** The Open Graph image URL. */
  og_image?: string | null;
  /** The Open Graph title. */
  og_title?: string | null;
};

/** One item of content from any provider, in the one shape every site build reads. */
export type UnifiedContent = {
  /** The body, as HTML or Markdown. */
  body?: string | null;
  /** What kind of content this is. */
  content_type: ContentType;
  /** When the provider created the item. */
  created_at: string;
  /** A short summary. */
  description?: string | null;
  /** The main image. */
  featured_image?: MediaAsset | null;
  /** The provider's id, unique within the cache. May contain `/`, `:` and any other character. */
  id: string;
  /** All images, in the provider's order. */
  images: MediaAsset[];
  /** Stock of a product, summed over its variants. */
  inventory?: Inventory | null;
  /** The price of a product (of its first variant when it has several). */
  price?: Price | null;
  /** Provider-specific fields kept as received. Numeric ids are strings here, so that JavaScript readers see them exactly. */
  provider_data: Record<string, unknown>;
  /** The provider's registry name, such as `shopify` or `sanity`. */
  provider_name: string;
  /** Whether the item came from a CMS or a shop. */
  provider_type: ProviderType;
  /** Search engine metadata. */
  seo?: SeoMetadata | null;
  /** URL-safe name, unique per content type: lowercase letters, digits and hyphens. */
  slug: string;
  /** Publication status. */
  status: ContentStatus;
  /** When the integration layer last stored the item. */
  synced_at: string;
  /** Tags, trimmed, in the provider's order. */
  tags: string[];
  /** The human title. */
  title: string;
  /** When the provider last changed the item; newer versions win over older ones. */
  updated_at: string;
  /** A product's variants. */
  variants: ProductVariant[];
};
