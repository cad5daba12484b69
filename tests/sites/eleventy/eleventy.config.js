// content-fetch writes _data/fetched/<collection>.json, so templates read fetched.products
// etc., and filters.mjs, the generated money, date and lookup filters registered here.
import filters from "./_data/fetched/filters.mjs";

export default function (eleventyConfig) {
  eleventyConfig.ignores.add("README.md");
  for (const [name, filter] of Object.entries(filters)) eleventyConfig.addFilter(name, filter);
  return { dir: { input: ".", output: "_site" } };
}
