import type { ContentOptions, UnifiedContent } from '../index'

/** Fetch options for this process, set before the first call. */
export declare function configure(options: ContentOptions): void
/** Every item of a content type, sorted by slug; fetched once per `next build`. */
export declare function getAll(type: string): Promise<UnifiedContent[]>
/** One item of a content type by slug, or `undefined`. */
export declare function getBySlug(type: string, slug: string): Promise<UnifiedContent | undefined>
