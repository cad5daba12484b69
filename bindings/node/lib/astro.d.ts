import type { ContentOptions } from '../index'
// @ts-ignore: astro/zod resolves in an Astro site, where the schema gets its type; elsewhere
// (a type check without Astro installed) it is untyped.
import type { z } from 'astro/zod'

/** Options of `contentLoader`: the content type, plus any fetch option. */
export interface ContentLoaderOptions extends Omit<ContentOptions, 'types' | 'changesSince'> {
  /** The content type of the collection: `product`, `article`, `page`, `collection` or `media`. */
  type: string
}

/** An Astro object loader for one content type, syncing incrementally between builds. */
export declare function contentLoader(options: ContentLoaderOptions): {
  name: string
  /** The model's zod schema (`UnifiedContent`), generated from its JSON Schema. */
  schema: z.ZodType
  load(context: any): Promise<void>
}
