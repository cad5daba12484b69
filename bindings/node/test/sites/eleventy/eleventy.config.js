import { contentFetchPlugin } from '@content-platform/fetch/eleventy'

export default function (eleventyConfig) {
  eleventyConfig.addPlugin(contentFetchPlugin)
  return { dir: { input: '.', output: '_site' } }
}
