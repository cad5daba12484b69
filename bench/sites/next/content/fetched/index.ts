// Hand-written loader for the bench: the data content-fetch wrote, read with fs the way the
// Next.js docs show (`path.join(process.cwd(), ...)`), exporting what the test site's pages use.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";

type Price = { amount: number; currency_code: string };
export type Item = {
  id: string;
  slug: string;
  title: string;
  created_at: string;
  body?: string | null;
  price?: Price | null;
};

const dir = path.join(process.cwd(), "content/fetched");

function list(plural: string): Item[] {
  return JSON.parse(readFileSync(path.join(dir, `${plural}.json`), "utf8"));
}

// The slugs come from the site's own generateStaticParams, so the file is read directly: the
// cheapest loader, and so the strictest baseline for the generated one.
async function entry(plural: string, slug: string): Promise<Item | undefined> {
  return JSON.parse(await readFile(path.join(dir, plural, `${slug}.json`), "utf8"));
}

export const getAllProducts = () => list("products");
export const getAllArticles = () => list("articles");
export const getAllProductCollections = () => list("productCollections");
export const getArticleBySlug = (slug: string) => entry("articles", slug);

export async function getProductByProviderId(id: string): Promise<Item | undefined> {
  const found = getAllProducts().find((item) => item.id === id);
  return found && entry("products", found.slug);
}

export function newestFirst(a: Item, b: Item): number {
  return a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0;
}

export function formatPrice(price: Price | null | undefined, locale: string): string {
  if (!price) return "";
  return new Intl.NumberFormat(locale, { style: "currency", currency: price.currency_code }).format(
    price.amount,
  );
}

export function formatDate(value: string, locale: string): string {
  return new Date(value).toLocaleDateString(locale, { dateStyle: "long", timeZone: "UTC" });
}
