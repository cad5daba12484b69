// The products the bench server serves, for server.mjs and slices.mjs: the demo snapshot's
// product under a generated id, slug and title.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

const snapshot = readFileSync(resolve(import.meta.dirname, '../../../examples/demo/content.snapshot.json'), 'utf8')
const template = JSON.parse(snapshot).items.map((i) => i.content).find((c) => c.content_type === 'product')

/** Product `i`, with `slug` in place of its generated one. */
export function product(i, slug = `bench-item-${i}`) {
  return { ...template, id: `bench-${i}`, slug, title: `Bench item ${i}` }
}
