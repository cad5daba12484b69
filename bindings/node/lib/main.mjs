// The ES module face of main.cjs: one implementation for both module systems. Node's own
// require loads it, so bundlers that evaluate this file (Vite in Astro's config) leave the
// native addon to Node.
import { createRequire } from 'node:module'

const api = createRequire(import.meta.url)('./main.cjs')

export const {
  fetchContent,
  pages,
  getContent,
  pullSnapshot,
  loadSnapshot,
  writeEngineFiles,
  collectionNames,
} = api
