// Compiled by types.test.mjs: the published types (index.d.ts, model.d.ts, lib/*.d.ts) describe the API.
import { fetchContent, pages, getContent, type UnifiedContent, type Price } from '@content-platform/fetch'
import { contentLoader } from '@content-platform/fetch/astro'
import { getAll } from '@content-platform/fetch/next'
import { eleventyData } from '@content-platform/fetch/eleventy'
async function f() {
  const items: UnifiedContent[] = await fetchContent({ types: ['product'], strict: true })
  const p: Price | null | undefined = items[0].price
  for await (const page of pages({})) { const t: string = page.items[0].title }
  const one = await getContent('x')
  const l = contentLoader({ type: 'product' })
  const a = await getAll('product'); const e = await eleventyData('article')
  // @ts-expect-error: not an option
  await fetchContent({ nope: 1 })
  return [p, one.slug, l.name, a, e]
}
f()
