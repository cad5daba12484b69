// The helpers in real site builds: an Astro site through contentLoader, an Eleventy site
// through the plugin and a data file. The sites' npm packages are those installed for
// tests/sites (scripts/install-test-deps); the package is copied in as installed.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, existsSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'

import { fetchContent } from '../lib/main.mjs'
import { serve, withAws, goodKeys, tempDir, demoBody } from './support/server.mjs'

const repo = resolve(import.meta.dirname, '../../..')
const pkg = resolve(import.meta.dirname, '..')

let server
before(async () => {
  server = await serve()
})
after(async () => {
  await server?.stop()
})

/** A copy of a site in a temp folder, with the test site's node_modules and this package. */
function site(name, modulesFrom) {
  const dir = join(tempDir(), name)
  cpSync(join(import.meta.dirname, 'sites', name), dir, { recursive: true })
  const modules = join(dir, 'node_modules')
  mkdirSync(join(modules, '@content-platform'), { recursive: true })
  const from = join(repo, 'tests/sites', modulesFrom, 'node_modules')
  // Caches stay the copy's own: Astro keeps its data store in node_modules/.astro.
  for (const entry of readdirSync(from)) {
    if (!['.astro', '.vite', '.cache'].includes(entry)) symlinkSync(join(from, entry), join(modules, entry))
  }
  // The package is copied in, as npm installs it, so that its own imports (astro/zod) resolve
  // from the site's node_modules.
  const files = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).files
  for (const entry of readdirSync(pkg)) {
    if (entry === 'package.json' || files.some((f) => entry === f || (f.startsWith('*') && entry.endsWith(f.slice(1))))) {
      cpSync(join(pkg, entry), join(modules, '@content-platform', 'fetch', entry), { recursive: true })
    }
  }
  return dir
}

function build(dir, bin, args) {
  const env = { ...process.env, ...goodKeys, INTEGRATION_API_URL: server.endpoint, AWS_EC2_METADATA_DISABLED: 'true' }
  // The site's own Node (Astro 7 needs Node 22) comes first, as `npm run build` would put it.
  env.PATH = `${join(dir, 'node_modules', '.bin')}:${env.PATH}`
  return execFileSync(join(dir, 'node_modules', '.bin', bin), args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

test('Astro builds through contentLoader, and a second build syncs incrementally', async () => {
  const dir = site('astro', 'astro')
  const log = build(dir, 'astro', ['build'])
  const html = readFileSync(join(dir, 'dist', 'index.html'), 'utf8')
  const expected = await withAws(goodKeys, () => fetchContent({ endpoint: server.endpoint, types: ['product', 'article'] }))
  for (const item of expected) assert.ok(html.includes(`data-id="${item.id}"`), `${item.id} missing`)
  const article = expected.find((i) => i.content_type === 'article' && i.body)
  assert.ok(article, 'the demo has an article with a body')
  assert.match(log, /article: full sync/)
  // The loader's schema is the model's zod schema (with Astro's zod): an item passes, a
  // broken one does not.
  const check = `import { contentLoader } from '@content-platform/fetch/astro'
    const { schema } = contentLoader({ type: 'article' })
    const item = JSON.parse(process.env.ITEM)
    console.log(JSON.stringify([schema.safeParse(item).success, schema.safeParse({ ...item, content_type: 'post' }).success, schema.safeParse({ ...item, id: undefined }).success]))`
  const verdicts = execFileSync(process.execPath, ['--input-type=module', '-e', check], { cwd: dir, env: { ...process.env, ITEM: JSON.stringify(article) }, encoding: 'utf8' })
  assert.deepEqual(JSON.parse(verdicts), [true, false, false])
  const again = build(dir, 'astro', ['build'])
  assert.match(again, /article: incremental sync, 0 changed, 0 removed/)

  // One product changes and one is deleted: the next build takes just those.
  const tee = demoBody('01-shopify-product-tee.json')
  const title = /"title":"([^"]*)"/.exec(tee)[1]
  server.shopify('products/update', tee.replace(`"title":"${title}"`, '"title":"Renamed Tee"').replace(/"updated_at":"[^"]*"/, `"updated_at":"${new Date().toISOString()}"`))
  const mug = /"id":(\d+)/.exec(demoBody('02-shopify-product-mug.json'))[1]
  server.shopify('products/delete', `{"id":${mug}}`)
  const third = build(dir, 'astro', ['build'])
  assert.match(third, /product: incremental sync, 1 changed, 1 removed/)
  const after = readFileSync(join(dir, 'dist', 'index.html'), 'utf8')
  assert.ok(after.includes('Renamed Tee') && !after.includes(`>${title}<`))
  assert.ok(!after.includes(`data-id="gid://shopify/Product/${mug}"`), 'the deleted product is gone')
  assert.ok(html.includes(`data-id="gid://shopify/Product/${mug}"`), 'it was there before')
})

test('Eleventy builds through the plugin (collections) and a data file', async () => {
  const dir = site('eleventy', 'eleventy')
  build(dir, 'eleventy', [])
  const html = readFileSync(join(dir, '_site', 'index.html'), 'utf8')
  const expected = await withAws(goodKeys, () => fetchContent({ endpoint: server.endpoint, types: ['product', 'article'] }))
  assert.ok(expected.length > 0)
  for (const item of expected) assert.ok(html.includes(`data-id="${item.id}"`), `${item.id} missing`)
})

test('Next builds through getAll and getBySlug, fetching once for the whole build', async () => {
  const dir = site('next', 'next')
  // Webpack: Turbopack compiles nothing outside the site's root, where the linked modules live.
  build(dir, 'next', ['build', '--webpack'])
  const expected = await withAws(goodKeys, () => fetchContent({ endpoint: server.endpoint, types: ['product'] }))
  const index = readFileSync(join(dir, 'out', 'index.html'), 'utf8')
  for (const item of expected) {
    assert.ok(index.includes(`data-id="${item.id}"`), `${item.id} missing`)
    assert.ok(readFileSync(join(dir, 'out', 'products', `${item.slug}.html`), 'utf8').includes(item.title))
  }
  const cache = readdirSync(join(dir, '.next', 'cache', 'content-fetch'))
  assert.equal(cache.filter((f) => f.endsWith('.snapshot.json')).length, 1, cache.join(', '))
})
