// Benchmark: fetchContent of N products from a loopback content API against the same fetch
// with aws4fetch in Node (signed GETs, JSON.parse, every page), the peak RSS of pages() and of
// fetchContent, and the event loop's longest delay while each runs. Each measure runs in its
// own process so that peak RSS is its own. Each line also gives the client process's CPU time
// (the machine may be shared) and its longest garbage-collection pause and its kind, the part
// of the event loop's delay that is V8's own. Usage: node bench/fetch.mjs [N] [addon dir]
// (BENCH_MODES, a comma-separated list, picks the measures, among them `JSON.parse`, the same
// page bodies parsed with no library; BENCH_PAGE_SIZE, the page size, 1000 by default).
import { spawn, execFileSync } from 'node:child_process'
import { monitorEventLoopDelay, PerformanceObserver, constants } from 'node:perf_hooks'
import { resolve } from 'node:path'
import { once } from 'node:events'

const [, self, n = '100000', addon = resolve(import.meta.dirname, '..'), mode] = process.argv
// What a GC entry's detail.kind means.
const gcKinds = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
}
const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDBENCH', AWS_SECRET_ACCESS_KEY: 'bench-secret', AWS_REGION: 'eu-west-1', AWS_EC2_METADATA_DISABLED: 'true' }

if (mode) {
  // One measure, in this process.
  const endpoint = process.env.BENCH_ENDPOINT
  const pageSize = Number(process.env.BENCH_PAGE_SIZE ?? 1000)
  // Loaded before measuring: loading the addon is not part of a fetch.
  const { fetchContent, pages } = await import(resolve(addon, 'lib/main.mjs'))
  const { AwsClient } = await import('aws4fetch')
  const aws = new AwsClient({ accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, region: 'eu-west-1', service: 'execute-api' })
  const page = (cursor) => aws.fetch(`${endpoint}/content?content_type=product&limit=${pageSize}${cursor ? `&cursor=${cursor}` : ''}`)
  // `JSON.parse` mode: the same pages' bytes, fetched before measuring, parsed one page a
  // macrotask with no library at all (the floor of any client that keeps every item).
  const bodies = []
  for (let cursor = null; mode === 'JSON.parse' && (bodies.length === 0 || cursor); ) {
    bodies.push(Buffer.from(await (await page(cursor)).arrayBuffer()))
    cursor = JSON.parse(bodies.at(-1)).next_cursor
  }
  const delay = monitorEventLoopDelay({ resolution: 1 })
  let maxGc = 0
  let maxGcKind = 'none'
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration > maxGc) [maxGc, maxGcKind] = [entry.duration, gcKinds[entry.detail?.kind] ?? 'other']
    }
  })
  gc.observe({ entryTypes: ['gc'] })
  let peak = 0
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5)
  delay.enable()
  const start = performance.now()
  const cpuStart = process.cpuUsage()
  let count = 0
  if (mode === 'fetchContent') {
    count = (await fetchContent({ endpoint, types: ['product'], pageSize })).length
  } else if (mode === 'pages') {
    for await (const page of pages({ endpoint, types: ['product'], pageSize })) count += page.items.length
  } else if (mode === 'JSON.parse') {
    const items = []
    for (const body of bodies) {
      await new Promise((resolve) => setImmediate(resolve))
      items.push(...JSON.parse(body.toString('utf8')).items)
    }
    count = items.length
  } else {
    const items = []
    let cursor = null
    do {
      const body = await (await page(cursor)).json()
      items.push(...body.items)
      cursor = body.next_cursor
    } while (cursor)
    count = items.length
  }
  const seconds = (performance.now() - start) / 1000
  const cpu = process.cpuUsage(cpuStart)
  delay.disable()
  gc.disconnect()
  clearInterval(sample)
  peak = Math.max(peak, process.memoryUsage().rss)
  console.log(JSON.stringify({ mode, count, seconds, peakRssMiB: peak / 2 ** 20, maxDelayMs: delay.max / 1e6, p99DelayMs: delay.percentile(99) / 1e6, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxGcMs: maxGc, maxGcKind }))
  process.exit(0)
}

const server = spawn(process.execPath, [resolve(import.meta.dirname, 'server.mjs'), n], { stdio: ['ignore', 'pipe', 'inherit'] })
const [line] = await once(server.stdout, 'data')
const endpoint = /listening on (\S+)/.exec(String(line))[1]
console.log(`${n} products from ${endpoint}, addon ${addon}`)
const modes = process.env.BENCH_MODES?.split(',') ?? ['aws4fetch', 'fetchContent', 'aws4fetch', 'fetchContent', 'pages']
for (const mode of modes) {
  const out = execFileSync(process.execPath, [self, n, addon, mode], { env: { ...env, BENCH_ENDPOINT: endpoint }, encoding: 'utf8' })
  const r = JSON.parse(out.trim().split('\n').pop())
  console.log(
    `${r.mode.padEnd(12)} ${r.count} items  ${r.seconds.toFixed(2)} s (CPU ${r.cpuSeconds.toFixed(2)} s)  peak RSS ${r.peakRssMiB.toFixed(1)} MiB  ` +
      `event loop max delay ${r.maxDelayMs.toFixed(1)} ms (p99 ${r.p99DelayMs.toFixed(1)} ms, longest GC pause ${r.maxGcMs.toFixed(1)} ms, ${r.maxGcKind})`,
  )
}
server.kill()
