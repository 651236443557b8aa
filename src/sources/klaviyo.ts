// Klaviyo profiles as a backfill source: GET /api/profiles, 100 per page, cursor paging (`links.next`), only
// the email field requested. With `modifiedSince`, the filter `greater-than(updated,<date>)` (Klaviyo's profile
// filter supports greater-than/less-than on `updated`). Profile listing allows 75/s burst, 750/min steady.
import type { RetryPolicy } from "../config.js";
import { nextPageCursor, type KlaviyoHttp } from "../../connectors/klaviyo/http.js";
import type { RateGate } from "../util/rate.js";
import { withRetry } from "../util/retry.js";
import { decodeCursor, encodeCursor, pagesFromCursor, type BackfillSource, type SourcePage, type SourceRow } from "./types.js";

export const KLAVIYO_PROFILES_PAGE_SIZE = 100;

export interface KlaviyoSourceOptions {
  http: KlaviyoHttp;
  retry: RetryPolicy;
  modifiedSince?: Date;
  gate?: RateGate;
  pageSize?: number;
}

interface KCursor extends Record<string, unknown> {
  c?: string;
  r: number;
}

interface ProfileLike {
  id?: string;
  attributes?: { email?: string | null };
}

export class KlaviyoProfilesSource implements BackfillSource {
  readonly kind = "klaviyo";
  readonly label: string;

  constructor(private readonly opts: KlaviyoSourceOptions) {
    this.label = opts.modifiedSince ? `Klaviyo profiles updated after ${opts.modifiedSince.toISOString()}` : "Klaviyo profiles";
  }

  pages(cursor?: string): AsyncIterable<SourcePage> {
    return pagesFromCursor((c) => this.page(c), cursor);
  }

  async page(cursor: string | undefined): Promise<SourcePage> {
    const c = decodeCursor<KCursor>(cursor, "Klaviyo profiles") ?? { r: 0 };
    const attempt = () =>
      this.opts.http.get("/api/profiles", {
        "fields[profile]": "email",
        "page[size]": String(this.opts.pageSize ?? KLAVIYO_PROFILES_PAGE_SIZE),
        "page[cursor]": c.c,
        filter: this.opts.modifiedSince ? `greater-than(updated,${this.opts.modifiedSince.toISOString()})` : undefined,
      }, "list profiles");
    const res = await withRetry(() => (this.opts.gate ? this.opts.gate.run(attempt) : attempt()), this.opts.retry);
    const data = (Array.isArray(res.data) ? res.data : []) as ProfileLike[];
    const rows: SourceRow[] = data.map((p, i) => {
      const row = c.r + i + 1;
      const email = p.attributes?.email?.trim();
      if (!email) {
        return { row, request: { identifier: `klaviyo-profile:${p.id ?? "?"}`, by: "email" }, invalid: `row ${row}: Klaviyo profile ${p.id ?? "?"} has no email` };
      }
      return { row, request: { identifier: email, by: "email" } };
    });
    const next = nextPageCursor(res.links?.next);
    return { rows, ...(next ? { next: encodeCursor({ c: next, r: c.r + rows.length } satisfies KCursor) } : {}) };
  }
}
