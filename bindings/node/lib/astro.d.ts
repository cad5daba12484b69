import type { ContentOptions } from '../index'

/** Options of `contentLoader`: the content type, plus any fetch option. */
export interface ContentLoaderOptions extends Omit<ContentOptions, 'types' | 'changesSince'> {
  /** The content type of the collection: `product`, `article`, `page`, `collection` or `media`. */
  type: string
}

/** An Astro object loader for one content type, syncing incrementally between builds. */
export declare function contentLoader(options: ContentLoaderOptions): {
  name: string
  load(context: any): Promise<void>
}
