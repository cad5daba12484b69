// Astro content loader over the addon: `defineCollection({ loader: contentLoader({ type: 'product' }) })`.
// Entries are stored with a digest of the item (so unchanged entries are skipped), the newest
// `synced_at` is kept in the loader's meta, and the next load asks only for what changed since,
// removing tombstoned items from the store. Entries are checked against the model's zod schema,
// generated from its JSON Schema (model.zod.mjs, with Astro's zod).
import { pages } from './main.mjs'
import { UnifiedContent } from '../model.zod.mjs'

/** The newest of two RFC 3339 UTC times (as written by the content cache), or the one given. */
const newest = (a, b) => (!a || (b && Date.parse(b) > Date.parse(a)) ? b : a)

export function contentLoader({ type, ...options }) {
  return {
    name: `content-fetch:${type}`,
    schema: UnifiedContent,
    async load({ store, meta, logger, generateDigest, parseData }) {
      const since = meta.get('synced_at')
      if (!since) store.clear()
      let syncedAt = since
      let changed = 0
      let removed = 0
      for await (const page of pages({ ...options, types: [type], changesSince: since })) {
        for (const skipped of page.skipped) {
          logger.warn(`skipping invalid item '${skipped.id}': field '${skipped.field}': ${skipped.reason}`)
        }
        for (const item of page.items) {
          syncedAt = newest(syncedAt, item.synced_at)
          if (item.status === 'deleted') {
            if (store.has(item.id)) removed += 1
            store.delete(item.id)
            continue
          }
          // synced_at changes when the cache re-stores an unchanged item: leave it out.
          const { synced_at: _, ...content } = item
          const data = parseData ? await parseData({ id: item.id, data: item }) : item
          const entry = { id: item.id, data, digest: generateDigest(content) }
          if (typeof item.body === 'string' && item.body.trimStart().startsWith('<')) {
            entry.rendered = { html: item.body }
          }
          if (store.set(entry)) changed += 1
        }
      }
      if (syncedAt) meta.set('synced_at', syncedAt)
      logger.info(`${type}: ${since ? 'incremental' : 'full'} sync, ${changed} changed, ${removed} removed`)
    },
  }
}
