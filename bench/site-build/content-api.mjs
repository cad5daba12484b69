// A loopback content API for bench/site-build.sh: `GET /content` pages through N items made
// from the test fixture (tests/fixtures/content/items.json). Copy k of fixture item j gets the
// id, slug and title suffix `-k` (copy 0 keeps the fixture's own, so the test sites' lookups,
// such as gid://shopify/Product/42, still find their item). Requests are not checked for
// SigV4: the fetch client signs them, and the bench measures the site builds, not the API.
// Usage: node content-api.mjs N   (prints the endpoint on stdout, serves until killed)
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'

const count = Number(process.argv[2] ?? 10_000)
const fixture = JSON.parse(
  readFileSync(new URL('../../tests/fixtures/content/items.json', import.meta.url), 'utf8'),
)

function item(i) {
  const base = fixture[i % fixture.length]
  const copy = Math.floor(i / fixture.length)
  if (copy === 0) return base
  return { ...base, id: `${base.id}-${copy}`, slug: `${base.slug}-${copy}`, title: `${base.title} ${copy}` }
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1')
  if (url.pathname !== '/content') {
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: `no route ${url.pathname}` }))
    return
  }
  // The cursor is the next index to scan; the client asks type by type.
  const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 100), 1), 1000)
  const type = url.searchParams.get('content_type')
  let i = Number(url.searchParams.get('cursor') ?? 0)
  const items = []
  for (; i < count && items.length < limit; i++) {
    if (!type || fixture[i % fixture.length].content_type === type) items.push(item(i))
  }
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ items, count: items.length, next_cursor: i < count ? String(i) : null }))
})
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${server.address().port}`))
