{#- Money and date helpers, one source for TypeScript (`typed`) and the Eleventy filters. -#}
{%- macro t(ty) %}{% if typed %}: {{ ty }}{% endif %}{% endmacro -%}
/** Number formats by locale and currency, made once: builds format thousands of prices. */
const priceFormats = new Map{% if typed %}<string, Intl.NumberFormat>{% endif %}();

/**
 * A price for display in its own currency, e.g. `formatPrice(price, "en-GB")` gives `£0.30`
 * for `{ amount: 0.3, currency_code: "GBP" }`; an empty string when there is no price.
 * Amounts are exact decimals of at most 15 significant digits, which a number holds exactly.
 */
export function formatPrice(
  price{{ t("{ amount: number; currency_code: string } | null | undefined") }},
  locale{{ t("string") }},
){{ t("string") }} {
  if (!price) return "";
  const key = `${locale}\u0000${price.currency_code}`;
  let format = priceFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, { style: "currency", currency: price.currency_code });
    priceFormats.set(key, format);
  }
  return format.format(price.amount);
}

/** A date from an entry: a `Date` already (Astro's schema) or the UTC RFC 3339 text of the files. */
export function toDate(value{{ t("Date | string") }}){{ t("Date") }} {
  return value instanceof Date ? value : new Date(value);
}

/**
 * A date for display, e.g. `formatDate(item.created_at, "en-GB")` gives `7 January 2026`.
 * In UTC unless `options.timeZone` says otherwise, so every machine builds the same text.
 */
export function formatDate(
  value{{ t("Date | string") }},
  locale{{ t("string") }},
  options{{ t("Intl.DateTimeFormatOptions") }} = { dateStyle: "long" },
){{ t("string") }} {
  return new Intl.DateTimeFormat(locale, { timeZone: "UTC", ...options }).format(toDate(value));
}

/** Compares by `created_at`, newest first: `items.sort(newestFirst)` for a blog listing. */
export function newestFirst(
  a{{ t("{ created_at: Date | string }") }},
  b{{ t("{ created_at: Date | string }") }},
){{ t("number") }} {
  return toDate(b.created_at).getTime() - toDate(a.created_at).getTime();
}
