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
  for (const name of ['fetchContent', 'pages', 'getContent', 'pullSnapshot', 'loadSnapshot', 'writeEngineFiles']) {
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
  const again = await withAws(goodKeys, () => api.writeEngineFiles('eleventy', opts(), { out, incremental: true }))
  assert.equal(again.incremental, true)
  assert.equal(again.filesWritten, 0)
  await assert.rejects(api.writeEngineFiles('hugo', { from: join(dir, 'none.json') }), (e) => e.code === 'CONFIG' && /hugo/.test(e.message))
})

test('fetchContent returns a catalog past napi\'s one-million-node budget of one JSON value', async () => {
  const { spawn } = await import('node:child_process')
  const big = spawn(process.execPath, [join(import.meta.dirname, '../bench/server.mjs'), '30000'], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const [line] = await new Promise((ok) => big.stdout.once('data', (d) => ok([String(d)])))
    const endpoint = /listening on (\S+)/.exec(line)[1]
    const items = await withAws(goodKeys, () => api.fetchContent({ endpoint, types: ['product'], pageSize: 1000 }))
    assert.equal(items.length, 30000)
    assert.equal(new Set(items.map((i) => i.id)).size, 30000)
  } finally {
    big.kill()
  }
})
