// Next.js over the addon, for server components and generateStaticParams only (it loads a
// native addon). One `next build` fetches once: the first process of the build pulls a
// snapshot into .next/cache/content-fetch, and the build's page workers read it.
import { mkdirSync, openSync, closeSync, existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pullSnapshot, loadSnapshot } from './main.mjs'

let items
let fetchOptions = {}

/** Fetch options for this process (endpoint, types, includeDrafts, ...), before the first call. */
export function configure(options) {
  fetchOptions = options
  items = undefined
}

/** One key per build: Next's page workers are children of the `next build` process. */
function buildKey() {
  return String(process.env.IS_NEXT_WORKER ? process.ppid : process.pid)
}

async function load() {
  const dir = join(process.cwd(), '.next', 'cache', 'content-fetch')
  mkdirSync(dir, { recursive: true })
  const snapshot = join(dir, `${buildKey()}.snapshot.json`)
  const lock = `${snapshot}.lock`
  for (let waited = 0; !existsSync(snapshot); waited += 50) {
    let fd
    try {
      fd = openSync(lock, 'wx')
    } catch {
      // Another process of this build is fetching; a lock older than the fetch's own deadline
      // (a killed process) is taken over.
      if (waited > 330_000) rmSync(lock, { force: true })
      await sleep(50)
      continue
    }
    try {
      await pullSnapshot(snapshot, fetchOptions)
    } finally {
      closeSync(fd)
      rmSync(lock, { force: true })
    }
  }
  return (await loadSnapshot(snapshot)).items
}

function all() {
  items ??= load()
  return items
}

/** Every item of a content type, sorted by slug. */
export async function getAll(type) {
  const list = (await all()).filter((item) => item.content_type === type)
  return list.sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0))
}

/** One item of a content type by slug, or `undefined`. */
export async function getBySlug(type, slug) {
  return (await all()).find((item) => item.content_type === type && item.slug === slug)
}
