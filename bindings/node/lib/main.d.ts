// The package's types: the addon's generated declarations, plus pages().
import type { ContentOptions, Page } from '../index'

export * from '../index'
export type * from '../model'

/** The pages of a run as an async iterator; leaving the loop early stops the fetch. */
export declare function pages(options?: ContentOptions): AsyncGenerator<Page, void, undefined>
