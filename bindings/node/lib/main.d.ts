// The package's types: the addon's generated declarations of what the package passes on,
// and the functions that parse the addon's JSON text into the model's types.
import type { ContentOptions, RawPage, SnapshotHeader } from '../index'
import type { UnifiedContent } from '../model'

export { collectionNames, pullSnapshot, writeEngineFiles } from '../index'
export type {
  ContentOptions,
  OutputOptions,
  PulledSnapshot,
  RunSummary,
  SkippedItem,
  SnapshotHeader,
  WriteReport,
} from '../index'
export type * from '../model'

/** One page of valid items of one content type. */
export interface Page extends Omit<RawPage, 'items'> {
  /** The valid items, in the order received. */
  items: UnifiedContent[]
}

/** A snapshot read by `loadSnapshot`. */
export interface LoadedSnapshot {
  /** What it holds. */
  header: SnapshotHeader
  /** Its items, sorted by content type then id. */
  items: UnifiedContent[]
}

/**
 * Every item matching the options, validated (invalid items are skipped with a process
 * warning, or fail the call with `strict`), sorted by content type then id. Falls back to
 * `fallbackSnapshot` when the API stays unreachable, with a warning.
 */
export declare function fetchContent(options?: ContentOptions | null): Promise<UnifiedContent[]>
/**
 * The pages of a run as an async iterator, for catalogs too big for one array; leaving the
 * loop early (`return()`) stops the fetch at once, and a `next()` still waiting then settles as
 * done. With `fallbackSnapshot`, a page with `restart` set starts the snapshot's pages over when
 * the API failed part-way.
 */
export declare function pages(options?: ContentOptions | null): AsyncIterableIterator<Page, undefined>
/** One item by id, checked like any other. Fails with code `NOT_FOUND` when there is none. */
export declare function getContent(id: string, options?: ContentOptions | null): Promise<UnifiedContent>
/** Reads a snapshot file and checks its format, schema version, count, order and digests. */
export declare function loadSnapshot(path: string): Promise<LoadedSnapshot>
