// Eleventy over the addon: `export default () => eleventyData('product')` in `_data/*.js`, or
// `eleventyConfig.addPlugin(contentFetchPlugin)` for collections named as the CLI's data keys.
import { fetchContent, collectionNames } from './main.mjs'

/** The CLI's collection names (its `_data/fetched/<name>.json` keys), by content type. */
export const COLLECTIONS = Object.freeze(collectionNames())

/** Every item of one content type, for a `_data/*.js` file. */
export function eleventyData(type, options = {}) {
  return fetchContent({ ...options, types: [type] })
}

/** Adds one collection per content type, from a single fetch per build. */
export function contentFetchPlugin(eleventyConfig, options = {}) {
  let all
  for (const [type, name] of Object.entries(COLLECTIONS)) {
    eleventyConfig.addCollection(name, async () => {
      all ??= fetchContent(options)
      return (await all).filter((item) => item.content_type === type)
    })
  }
}
