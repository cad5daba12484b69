// The Node peer of `cargo bench --bench ssg_write`: what a site would write by hand instead of
// `content-fetch --engine astro`. Every page of every content type is fetched with aws4fetch
// (SigV4-signed GETs, three types at a time and 1,000 items a page, as content-fetch pages),
// parsed with JSON.parse, and each entry written with writeFile as pretty JSON into
// OUT/<type>/<slug>.json. No checks, no sort, no atomic swap: a floor for a Node script.
// Usage: node aws4fetch-writefile.mjs ENDPOINT OUT EXPECTED, with BENCH_NODE_MODULES the folder
// whose node_modules holds aws4fetch. Prints `RESULT seconds peak-RSS-MiB`.
import { mkdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [, , endpoint, out, expected] = process.argv
const require = createRequire(join(process.env.BENCH_NODE_MODULES, 'package.json'))
const { AwsClient } = await import(pathToFileURL(require.resolve('aws4fetch')))
const aws = new AwsClient({
  accessKeyId: 'AKIDBENCH',
  secretAccessKey: 'bench-secret',
  region: 'us-east-1',
  service: 'execute-api',
})
const types = ['product', 'article', 'page', 'collection', 'media']

const start = performance.now()
let count = 0
async function fetchType(type) {
  const dir = join(out, type)
  await mkdir(dir, { recursive: true })
  let cursor = null
  do {
    const url = `${endpoint}/content?content_type=${type}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`
    const response = await aws.fetch(url)
    if (!response.ok) throw new Error(`${url}: ${response.status}`)
    const page = await response.json()
    await Promise.all(page.items.map((item) => writeFile(join(dir, `${item.slug}.json`), JSON.stringify(item, null, 2))))
    count += page.items.length
    cursor = page.next_cursor
  } while (cursor)
}
const queue = [...types]
await Promise.all([0, 1, 2].map(async () => {
  while (queue.length) await fetchType(queue.shift())
}))
const seconds = (performance.now() - start) / 1000
if (count !== Number(expected)) throw new Error(`${count} items, expected ${expected}`)
console.log(`RESULT ${seconds.toFixed(2)} ${(process.resourceUsage().maxRSS / 1024).toFixed(1)}`)
