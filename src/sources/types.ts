import type { SyncRequest } from "../pipeline/types.js";

/** One record of a backfill source, numbered so a bad one can be pointed at. */
export interface SourceRow {
  /**
   * 1-based: for a file, the line the record starts on (the CSV header is line 1, so this is the row number a
   * spreadsheet shows); for an API listing, the record's position in the listing.
   */
  row: number;
  request: SyncRequest;
  /** Set when the row is unusable before any API call: the record ends `invalid` with this reason. */
  invalid?: string;
}

export interface SourcePage {
  rows: SourceRow[];
  /** Cursor of the next page; undefined on the last page. Opaque, JSON-safe (it travels in Inngest step output). */
  next?: string;
}

/** Where a backfill's records come from. Pages are streamed: memory stays flat whatever the audience size. */
export interface BackfillSource {
  /** "hubspot", "klaviyo", "file", "identifiers". */
  readonly kind: string;
  /** A short description for logs and summaries (e.g. the file path). */
  readonly label: string;
  /**
   * One page from `cursor` (undefined: the start). The same cursor gives the same page, so a durable runtime can
   * fetch one page per step and resume from the cursor. File sources cannot seek and do not offer it.
   */
  page?(cursor: string | undefined): Promise<SourcePage>;
  /** Every page from the start (or from `cursor`), in order. */
  pages(cursor?: string): AsyncIterable<SourcePage>;
  /** How far the stream has got, when the total is known cheaply (a file's bytes, a search's total). */
  progress?(): { done: number; total: number; unit: "bytes" | "rows" } | undefined;
}

/** Walks a cursor-paged source page by page. */
export async function* pagesFromCursor(page: (cursor: string | undefined) => Promise<SourcePage>, start?: string): AsyncGenerator<SourcePage> {
  let cursor = start;
  for (;;) {
    const p = await page(cursor);
    yield p;
    if (p.next === undefined) return;
    cursor = p.next;
  }
}

/** Cursor helpers: cursors are small JSON objects, so they survive step output and logs unchanged. */
export function encodeCursor(value: Record<string, unknown>): string {
  return JSON.stringify(value);
}

export function decodeCursor<T extends Record<string, unknown>>(cursor: string | undefined, what: string): T | undefined {
  if (cursor === undefined || cursor === "") return undefined;
  try {
    const v: unknown = JSON.parse(cursor);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as T;
  } catch {
    // fall through
  }
  throw new Error(`${what}: unusable page cursor ${JSON.stringify(cursor.slice(0, 80))}`);
}
