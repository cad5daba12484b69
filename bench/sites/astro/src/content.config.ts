// Hand-written collections for the bench: Astro's own glob loader over the JSON files
// content-fetch wrote, with no schema.
import { defineCollection } from "astro:content";
import { glob } from "astro/loaders";

const json = (name: string) =>
  defineCollection({ loader: glob({ pattern: "**/*.json", base: `./src/content/fetched/${name}` }) });

export const collections = {
  products: json("products"),
  articles: json("articles"),
  pages: json("pages"),
  productCollections: json("productCollections"),
  media: json("media"),
};
