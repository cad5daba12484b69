// A loopback content API serving N generated products in pages (the content API's shape:
// { items, count, next_cursor }), for the benchmark and the tests. It checks only that a
// request is signed: both clients sign, so signing costs the same on either side.
// Usage: node bench/server.mjs [N] [K] [F] [hang]: with K, every K-th product (from the first) has
// a slug the model refuses; with F, every page from product F on answers 503 (the API going down
// part-way through a run), or with `hang` never answers: the server prints `waiting <cursor>` when
// such a request comes and `dropped <cursor>` when the client gives it up.
import { createServer } from 'node:http'
import { product } from './items.mjs'

const total = Number(process.argv[2] ?? 100_000)
const invalidEvery = Number(process.argv[3] ?? 0)
const downFrom = Number(process.argv[4] ?? Infinity)
const hang = process.argv[5] === 'hang'

function item(i) {
  return invalidEvery && i % invalidEvery === 0 ? product(i, `Bad Slug ${i}`) : product(i)
}

createServer((req, res) => {
  const url = new URL(req.url, 'http://x')
  if (!req.headers.authorization?.startsWith('AWS4-HMAC-SHA256')) {
    res.writeHead(403).end('{"error":"unsigned"}')
    return
  }
  if (url.searchParams.get('content_type') !== 'product') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":[],"count":0,"next_cursor":null}')
    return
  }
  const limit = Math.min(Number(url.searchParams.get('limit') ?? 100), 1000)
  const from = Number(url.searchParams.get('cursor') ?? 0)
  if (from >= downFrom && hang) {
    process.stdout.write(`waiting ${from}\n`)
    res.on('close', () => process.stdout.write(`dropped ${from}\n`))
    return
  }
  if (from >= downFrom) {
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}')
    return
  }
  const items = []
  for (let i = from; i < Math.min(from + limit, total); i++) items.push(item(i))
  const next = from + limit < total ? String(from + limit) : null
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ items, count: items.length, next_cursor: next }))
}).listen(0, '127.0.0.1', function () {
  process.stdout.write(`listening on http://127.0.0.1:${this.address().port}/prod\n`)
})
