// Every function of the package against the real `integration-api serve` with SigV4 required.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'

import * as api from '../lib/main.mjs'
import { serve, withAws, goodKeys, tempDir, REGION } from './support/server.mjs'

let server
before(async () => {
  server = await serve()
})
after(async () => {
  await server?.stop()
})

const opts = (more = {}) => ({ endpoint: server.endpoint, ...more })

test('ESM and CommonJS entry points give the same functions', () => {
  const cjs = createRequire(import.meta.url)('../lib/main.cjs')
  for (const name of ['fetchContent', 'pages', 'getContent', 'pullSnapshot', 'loadSnapshot', 'writeEngineFiles', 'collectionNames']) {
    assert.equal(typeof api[name], 'function', name)
    assert.equal(api[name], cjs[name], name)
  }
})

test('fetchContent returns validated items sorted by type then id', async () => {
  const items = await withAws(goodKeys, () => api.fetchContent(opts()))
  assert.ok(items.length > 0)
  // Grouped by type (in the model's order), ids ascending within a type.
  const types = [...new Set(items.map((i) => i.content_type))]
  assert.deepEqual(items.map((i) => i.content_type), types.flatMap((t) => items.filter((i) => i.content_type === t).map(() => t)))
  for (const t of types) {
    const ids = items.filter((i) => i.content_type === t).map((i) => i.id)
    assert.deepEqual(ids, [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), t)
  }
  const product = items.find((i) => i.content_type === 'product')
  assert.ok(product, 'the demo has products')
  assert.equal(typeof product.slug, 'string')
  assert.ok(items.every((i) => i.status === 'published'))
})

test('the types option filters, and a bad type is CONFIG with the option named', async () => {
  const items = await withAws(goodKeys, () => api.fetchContent(opts({ types: ['article'] })))
  assert.ok(items.length > 0 && items.every((i) => i.content_type === 'article'))
  await assert.rejects(
    withAws(goodKeys, () => api.fetchContent(opts({ types: ['posts'] }))),
    (e) => e instanceof Error && e.code === 'CONFIG' && /content type 'posts' is not known/.test(e.message) && /types option/.test(e.message),
  )
})

test('the endpoint comes from INTEGRATION_API_URL like the CLI', async () => {
  const items = await withAws({ ...goodKeys, INTEGRATION_API_URL: server.endpoint }, () => api.fetchContent({ types: ['page'] }))
  assert.ok(items.every((i) => i.content_type === 'page'))
  await assert.rejects(withAws(goodKeys, () => api.fetchContent({})), (e) => e.code === 'CONFIG' && /no content API endpoint/.test(e.message))
})

test('wrong keys are AUTH (403, not retried); missing credentials are AUTH', async () => {
  await assert.rejects(
    withAws({ ...goodKeys, AWS_SECRET_ACCESS_KEY: 'wrong-secret-value' }, () => api.fetchContent(opts())),
    (e) => e.code === 'AUTH' && /refused the request with 403/.test(e.message) && !e.message.includes('wrong-secret-value'),
  )
  await assert.rejects(
    withAws({ AWS_REGION: REGION }, () => api.fetchContent(opts())),
    (e) => e.code === 'AUTH' && /no usable AWS credentials/.test(e.message) && /profile option/.test(e.message),
  )
})

test('an unreachable API is NETWORK after the retries', async () => {
  await assert.rejects(
    withAws(goodKeys, () => api.fetchContent({ endpoint: 'http://127.0.0.1:9/prod', attempts: 2 })),
    (e) => e.code === 'NETWORK' && /after 2 attempt/.test(e.message) && /fallbackSnapshot option/.test(e.message),
  )
})

test('pages() yields every item once, page by page, and can stop early', async () => {
  const all = await withAws(goodKeys, () => api.fetchContent(opts()))
  const seen = []
  await withAws(goodKeys, async () => {
    for await (const page of api.pages(opts({ pageSize: 1 }))) {
      assert.equal(typeof page.contentType, 'string')
      assert.ok(page.items.every((i) => i.content_type === page.contentType))
      assert.deepEqual(page.skipped, [])
      seen.push(...page.items.map((i) => i.id))
    }
  })
  assert.deepEqual(seen.sort(), all.map((i) => i.id).sort())
  let pagesRead = 0
  await withAws(goodKeys, async () => {
    for await (const _ of api.pages(opts({ pageSize: 1 }))) {
      pagesRead += 1
      break
    }
  })
  assert.equal(pagesRead, 1)
})

test('getContent finds one item, and NOT_FOUND says which id', async () => {
  const [first] = await withAws(goodKeys, () => api.fetchContent(opts()))
  const one = await withAws(goodKeys, () => api.getContent(first.id, opts()))
  assert.deepEqual(one, first)
  await assert.rejects(
    withAws(goodKeys, () => api.getContent('no/such:id', opts())),
    (e) => e.code === 'NOT_FOUND' && e.message === "no item with id 'no/such:id'",
  )
})

test('pullSnapshot then loadSnapshot and from: give the same items offline', async () => {
  const dir = tempDir()
  const file = join(dir, 'content.snapshot.json')
  const online = await withAws(goodKeys, () => api.fetchContent(opts()))
  const pulled = await withAws(goodKeys, () => api.pullSnapshot(file, opts()))
  assert.equal(pulled.path, file)
  assert.equal(pulled.header.count, online.length)
  assert.match(pulled.header.digest, /^sha256:[0-9a-f]{64}$/)
  assert.equal(pulled.summary.source, 'api')
  const loaded = await api.loadSnapshot(file)
  assert.deepEqual(loaded.header, pulled.header)
  assert.deepEqual(loaded.items, online)
  // Offline: no credentials, no endpoint.
  const offline = await withAws({}, () => api.fetchContent({ from: file }))
  assert.deepEqual(offline, online)
  writeFileSync(file, readFileSync(file, 'utf8').slice(0, 200))
  await assert.rejects(api.loadSnapshot(file), (e) => e.code === 'SNAPSHOT' && e.message.includes(file))
})

test('fallbackSnapshot takes over when the API is down, with a warning; too old is SNAPSHOT', async () => {
  const dir = tempDir()
  const file = join(dir, 'last-good.json')
  const online = await withAws(goodKeys, () => api.pullSnapshot(file, opts()))
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    const items = await withAws(goodKeys, () =>
      api.fetchContent({ endpoint: 'http://127.0.0.1:9/prod', attempts: 1, fallbackSnapshot: file }),
    )
    assert.equal(items.length, online.header.count)
    await new Promise((r) => setImmediate(r))
    assert.ok(warnings.some((w) => w.name === 'ContentFetchWarning'), warnings.map(String).join('\n'))
  } finally {
    process.off('warning', onWarning)
  }
  await assert.rejects(
    withAws(goodKeys, () =>
      api.fetchContent({ endpoint: 'http://127.0.0.1:9/prod', attempts: 1, fallbackSnapshot: file, fallbackMaxAge: '0s' }),
    ),
    (e) => e.code === 'SNAPSHOT' && /fallbackMaxAge option/.test(e.message),
  )
})

test('an API that goes down part-way: fetchContent gives the fallback snapshot\'s items alone, sorted', async () => {
  const dir = tempDir()
  const file = join(dir, 'last-good.json')
  await withAws(goodKeys, () => api.pullSnapshot(file, opts()))
  const { items: snapshot } = await api.loadSnapshot(file)
  // Its first page (1,000 products) arrives; the second answers 503.
  const failing = await loopback(3000, 0, 1000)
  try {
    const options = { endpoint: failing.endpoint, types: ['product'], pageSize: 1000, attempts: 1, fallbackSnapshot: file }
    const pages = await withAws(goodKeys, async () => {
      const pages = []
      for await (const page of api.pages(options)) pages.push(page)
      return pages
    })
    assert.equal(pages[0].items.length, 1000, 'the API\'s page came first')
    assert.equal(pages[1].restart, true)
    const items = await withAws(goodKeys, () => api.fetchContent(options))
    const products = snapshot.filter((i) => i.content_type === 'product')
    assert.ok(products.length > 0)
    assert.deepEqual(items, products)
  } finally {
    failing.stop()
  }
})

test('pages() goes on from fallbackSnapshot like fetchContent: restart set, a warning, the snapshot\'s items', async () => {
  const dir = tempDir()
  const file = join(dir, 'last-good.json')
  const online = await withAws(goodKeys, () => api.fetchContent(opts()))
  await withAws(goodKeys, () => api.pullSnapshot(file, opts()))
  const down = { endpoint: 'http://127.0.0.1:9/prod', attempts: 1, fallbackSnapshot: file }
  const { value: pages, warnings } = await warningsOf(() =>
    withAws(goodKeys, async () => {
      const seen = []
      for await (const page of api.pages(down)) seen.push(page)
      return seen
    }),
  )
  assert.equal(pages[0].restart, true)
  assert.ok(pages.slice(1).every((p) => p.restart === false))
  assert.deepEqual(pages.flatMap((p) => p.items).map((i) => i.id).sort(), online.map((i) => i.id).sort())
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /the API was unreachable .*using fallback snapshot/)
  // Without it, the same run fails as NETWORK.
  await assert.rejects(
    withAws(goodKeys, async () => { for await (const _ of api.pages({ ...down, fallbackSnapshot: undefined })); }),
    (e) => e.code === 'NETWORK',
  )
})

test('a snapshot with drafts is refused without includeDrafts', async () => {
  const dir = tempDir()
  const file = join(dir, 'preview.json')
  await withAws(goodKeys, () => api.pullSnapshot(file, opts({ includeDrafts: true })))
  await assert.rejects(api.fetchContent({ from: file }), (e) => e.code === 'SNAPSHOT' && /includeDrafts: true/.test(e.message))
  assert.ok((await api.fetchContent({ from: file, includeDrafts: true })).length > 0)
})

test('writeEngineFiles is the CLI --engine run and reports it; a bad engine is CONFIG', async () => {
  const dir = tempDir()
  const out = join(dir, 'out')
  const report = await withAws(goodKeys, () => api.writeEngineFiles('eleventy', opts(), { out }))
  assert.equal(report.incremental, false)
  assert.ok(report.items > 0 && report.filesWritten > 0)
  assert.ok(existsSync(join(out, 'products.json')))
  // The Eleventy helpers' collection names are the writers' file names.
  const names = api.collectionNames()
  assert.equal(names.collection, 'productCollections')
  assert.deepEqual(Object.keys(names).sort(), ['article', 'collection', 'media', 'page', 'product'])
  for (const name of Object.values(names)) assert.ok(existsSync(join(out, `${name}.json`)), name)
  const { COLLECTIONS } = await import('../lib/eleventy.mjs')
  assert.deepEqual(COLLECTIONS, names)
  const again = await withAws(goodKeys, () => api.writeEngineFiles('eleventy', opts(), { out, incremental: true }))
  assert.equal(again.incremental, true)
  assert.equal(again.filesWritten, 0)
  await assert.rejects(api.writeEngineFiles('hugo', { from: join(dir, 'none.json') }), (e) => e.code === 'CONFIG' && /hugo/.test(e.message))
})

/**
 * The loopback API of bench/server.mjs with `n` products, every `invalidEvery`-th invalid, and
 * pages from product `downFrom` on failing (503) or, with `hang`, never answered; `said(text)`
 * resolves once the server has printed `text`.
 */
async function loopback(n, invalidEvery = 0, downFrom = Infinity, hang = false) {
  const { spawn } = await import('node:child_process')
  const args = [String(n), String(invalidEvery), String(downFrom), ...(hang ? ['hang'] : [])]
  const child = spawn(process.execPath, [join(import.meta.dirname, '../bench/server.mjs'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const said = (text) =>
    new Promise((ok) => {
      const look = () => out.includes(text) && (child.stdout.off('data', look), ok())
      child.stdout.on('data', look)
      look()
    })
  await said('listening on')
  return { endpoint: /listening on (\S+)/.exec(out)[1], said, stop: () => child.kill() }
}

/** The ContentFetchWarning messages `fn` emits. */
async function warningsOf(fn) {
  const warnings = []
  const onWarning = (w) => w.name === 'ContentFetchWarning' && warnings.push(w.message)
  process.on('warning', onWarning)
  try {
    const value = await fn()
    await new Promise((r) => setImmediate(r))
    return { value, warnings }
  } finally {
    process.off('warning', onWarning)
  }
}

test('fetchContent returns a large catalog whole and in order, across many JSON chunks', async () => {
  const big = await loopback(5000)
  try {
    const items = await withAws(goodKeys, () => api.fetchContent({ endpoint: big.endpoint, types: ['product'], pageSize: 1000 }))
    assert.equal(items.length, 5000)
    const ids = items.map((i) => i.id)
    assert.deepEqual(ids, [...ids].sort())
    assert.equal(new Set(ids).size, 5000)
  } finally {
    big.stop()
  }
})

test('lenient runs give invalid items back as warnings; strict runs fail with VALIDATION', async () => {
  const api10 = await loopback(10, 4)
  const options = { endpoint: api10.endpoint, types: ['product'], pageSize: 3 }
  try {
    const { value: items, warnings } = await warningsOf(() => withAws(goodKeys, () => api.fetchContent(options)))
    assert.deepEqual(items.map((i) => i.id), ['bench-1', 'bench-2', 'bench-3', 'bench-5', 'bench-6', 'bench-7', 'bench-9'])
    assert.deepEqual(
      warnings.map((w) => /skipping invalid item '([^']+)': field 'slug'/.exec(w)?.[1]),
      ['bench-0', 'bench-4', 'bench-8'],
    )
    const skipped = []
    await withAws(goodKeys, async () => {
      for await (const page of api.pages(options)) skipped.push(...page.skipped)
    })
    assert.deepEqual(skipped.map((s) => [s.id, s.field]), [['bench-0', 'slug'], ['bench-4', 'slug'], ['bench-8', 'slug']])
    assert.ok(skipped.every((s) => s.reason.length > 0))
    for (const strictRun of [() => api.fetchContent({ ...options, strict: true }), async () => { for await (const _ of api.pages({ ...options, strict: true })); }]) {
      await assert.rejects(
        withAws(goodKeys, strictRun),
        (e) => e.code === 'VALIDATION' && /invalid item 'bench-0'/.test(e.message) && /field 'slug'/.test(e.message) && /strict: false/.test(e.message),
      )
    }
  } finally {
    api10.stop()
  }
})

test('leaving pages() early stops the request in flight', { timeout: 20_000 }, async () => {
  // Page 0 holds product 0; the request for the next page, sent ahead, is never answered.
  const hung = await loopback(3, 0, 1, true)
  try {
    await withAws(goodKeys, async () => {
      for await (const page of api.pages({ endpoint: hung.endpoint, types: ['product'], pageSize: 1 })) {
        assert.deepEqual(page.items.map((i) => i.id), ['bench-0'])
        await hung.said('waiting 1')
        break
      }
    })
    // Well before the client's own 30 s request timeout.
    const gaveUp = await Promise.race([hung.said('dropped 1').then(() => true), new Promise((ok) => setTimeout(ok, 5000, false))])
    assert.ok(gaveUp, 'the request for the next page is still open after the loop was left')
  } finally {
    hung.stop()
  }
})

test('return() while a next() waits settles both at once and stops the request in flight', { timeout: 20_000 }, async () => {
  // Page 0 holds product 0; the request for the next page is never answered.
  const hung = await loopback(3, 0, 1, true)
  // Well before the client's own 30 s request timeout.
  const soon = (promise) => Promise.race([promise, new Promise((ok) => setTimeout(ok, 5000, 'still pending after 5 s'))])
  try {
    await withAws(goodKeys, async () => {
      const it = api.pages({ endpoint: hung.endpoint, types: ['product'], pageSize: 1 })
      assert.deepEqual((await it.next()).value.items.map((i) => i.id), ['bench-0'])
      const waiting = it.next()
      await hung.said('waiting 1')
      const returned = it.return('left')
      assert.deepEqual(await soon(waiting), { value: undefined, done: true })
      assert.deepEqual(await soon(returned), { value: 'left', done: true })
      assert.deepEqual(await it.next(), { value: undefined, done: true })
    })
    assert.equal(await soon(hung.said('dropped 1').then(() => 'dropped')), 'dropped')
  } finally {
    hung.stop()
  }
})
