// content-fetch writes _data/fetched/<type>.json, so templates read fetched.products etc.
export default function (eleventyConfig) {
  eleventyConfig.ignores.add("README.md");
  return { dir: { input: ".", output: "_site" } };
}
