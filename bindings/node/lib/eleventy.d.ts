import type { ContentOptions, UnifiedContent } from '../index'

/** The CLI's collection names by content type. */
export declare const COLLECTIONS: Record<string, string>
/** Every item of one content type, for a `_data/*.js` file. */
export declare function eleventyData(type: string, options?: ContentOptions): Promise<UnifiedContent[]>
/** Adds one Eleventy collection per content type (products, articles, ...), fetched once. */
export declare function contentFetchPlugin(eleventyConfig: any, options?: ContentOptions): void
