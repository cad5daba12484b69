import { defineConfig } from 'astro/config'

// The addon loads a native module: Vite must leave the package to Node.
export default defineConfig({ vite: { ssr: { external: ['@content-platform/fetch'] } } })
