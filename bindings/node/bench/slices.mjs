// Where fetchContent's longest event-loop delay comes from, without the fetch: N products'
// JSON (the bench server's items) cut into chunks of K items, parsed and kept one chunk per
// macrotask the way lib/main.cjs does. Prints the longest delay, the longest JS task with the
// GC pauses that fell inside it taken out (the package's own share), and V8's longest pause of
// each kind. Usage: node bench/slices.mjs [N] [K...]
import { monitorEventLoopDelay, PerformanceObserver, constants } from 'node:perf_hooks'
import { product } from './items.mjs'

const [, , n = '100000', ...sizes] = process.argv
const kinds = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks' }
const turn = () => new Promise((ok) => setImmediate(ok))

if (sizes.length > 1) {
  // One process per chunk size, so that each starts from the same heap.
  const { execFileSync } = await import('node:child_process')
  for (const k of sizes) process.stdout.write(execFileSync(process.execPath, [import.meta.filename, n, k], { encoding: 'utf8' }))
  process.exit(0)
}
const k = Number(sizes[0] ?? 50)
const chunks = []
for (let from = 0; from < Number(n); from += k) {
  const items = []
  for (let i = from; i < Math.min(Number(n), from + k); i++) items.push(product(i))
  chunks.push(Buffer.from(JSON.stringify(items)))
}
const pauses = []
const gc = new PerformanceObserver((list) => list.getEntries().forEach((e) => pauses.push(e)))
gc.observe({ entryTypes: ['gc'] })
const delay = monitorEventLoopDelay({ resolution: 1 })
delay.enable()
const kept = []
const tasks = []
for (const chunk of chunks) {
  await turn()
  const start = performance.now()
  for (const item of JSON.parse(chunk.toString('utf8'))) kept.push(item)
  tasks.push([start, performance.now()])
}
await new Promise((ok) => setTimeout(ok, 50))
delay.disable()
gc.disconnect()
const own = tasks.map(([a, b]) => b - a - pauses.filter((p) => p.startTime >= a && p.startTime + p.duration <= b).reduce((sum, p) => sum + p.duration, 0)).sort((x, y) => y - x)
const longest = {}
for (const p of pauses) longest[kinds[p.detail?.kind] ?? 'other'] = Math.max(longest[kinds[p.detail?.kind] ?? 'other'] ?? 0, p.duration)
const ms = (x) => x.toFixed(1)
console.log(
  `${k} items (${Math.round(chunks[0].length / 1024)} KiB) a chunk: longest delay ${ms(delay.max / 1e6)} ms; JS task without GC longest ${ms(own[0])} ms, median ${ms(own[own.length >> 1])} ms; ` +
    `longest GC ${Object.entries(longest).map(([kind, d]) => `${kind} ${ms(d)} ms`).join(', ')} (${pauses.length} GCs, ${kept.length} items)`,
)
