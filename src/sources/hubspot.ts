// HubSpot contacts as a backfill source.
//
// Without a date: the contacts list endpoint (GET /crm/v3/objects/contacts, 100 per page, `after` cursor) — no
// result cap, one call per 100 contacts.
// With `modifiedSince`: the list endpoint cannot filter, so the CRM search API is used, with a filter
// `lastmodifieddate >= since` AND `hs_object_id > <last id seen>`, sorted by hs_object_id. Every page is a fresh
// query that starts after the last id, so the search API's 10,000-result window (`after` may not pass 10,000)
// is never reached, however many contacts match, and a contact modified while the backfill runs is neither
// skipped nor repeated. Search calls share their own gate (HubSpot allows about 4-5 per second per token).
import type { Client } from "@hubspot/api-client";
import type { RetryPolicy } from "../config.js";
import { classifyHubSpotError } from "../../connectors/hubspot/errors.js";
import { withTimeout } from "../../connectors/shared/timeout.js";
import type { RateGate } from "../util/rate.js";
import { withRetry } from "../util/retry.js";
import { decodeCursor, encodeCursor, pagesFromCursor, type BackfillSource, type SourcePage, type SourceRow } from "./types.js";

export const HUBSPOT_LIST_PAGE_SIZE = 100;
/** The search API's page size ceiling is 200; 100 keeps pages the same size as the list endpoint's. */
export const HUBSPOT_SEARCH_PAGE_SIZE = 100;

export interface HubSpotSourceOptions {
  client: Client;
  retry: RetryPolicy;
  timeoutMs: number;
  /** Only contacts modified at or after this time (uses the search API). */
  modifiedSince?: Date;
  /** Gate for HubSpot's general limit (shared with the writer: reads and writes count against one budget). */
  gate?: RateGate;
  /** Gate for the search API's own limit (used in addition to `gate`). */
  searchGate?: RateGate;
  pageSize?: number;
}

interface ListCursor extends Record<string, unknown> {
  after?: string;
  /** Rows already produced (so row numbers continue across pages and steps). */
  r: number;
}

interface SearchCursor extends Record<string, unknown> {
  /** Last hs_object_id seen. */
  id: string;
  r: number;
}

interface ContactLike {
  id: string;
  properties: Record<string, string | null>;
}

export class HubSpotContactsSource implements BackfillSource {
  readonly kind = "hubspot";
  readonly label: string;

  constructor(private readonly opts: HubSpotSourceOptions) {
    this.label = opts.modifiedSince ? `HubSpot contacts modified since ${opts.modifiedSince.toISOString()}` : "HubSpot contacts";
  }

  pages(cursor?: string): AsyncIterable<SourcePage> {
    return pagesFromCursor((c) => this.page(c), cursor);
  }

  page(cursor: string | undefined): Promise<SourcePage> {
    return this.opts.modifiedSince ? this.searchPage(this.opts.modifiedSince, cursor) : this.listPage(cursor);
  }

  private call<T>(what: string, fn: () => Promise<T>, search = false): Promise<T> {
    const attempt = () =>
      withTimeout("hubspot", `HubSpot ${what}`, this.opts.timeoutMs, fn()).catch((err: unknown) => {
        throw classifyHubSpotError(err, what);
      });
    const gated = () => {
      const general = this.opts.gate ? () => this.opts.gate!.run(attempt) : attempt;
      return search && this.opts.searchGate ? this.opts.searchGate.run(general) : general();
    };
    return withRetry(gated, this.opts.retry);
  }

  private async listPage(cursor: string | undefined): Promise<SourcePage> {
    const c = decodeCursor<ListCursor>(cursor, "HubSpot contacts") ?? { r: 0 };
    const size = this.opts.pageSize ?? HUBSPOT_LIST_PAGE_SIZE;
    const res = await this.call("list contacts", () =>
      this.opts.client.crm.contacts.basicApi.getPage(size, c.after, ["email"], undefined, undefined, false),
    );
    const rows = toRows(res.results as ContactLike[], c.r);
    const after = res.paging?.next?.after;
    return { rows, ...(after ? { next: encodeCursor({ after, r: c.r + rows.length } satisfies ListCursor) } : {}) };
  }

  private async searchPage(since: Date, cursor: string | undefined): Promise<SourcePage> {
    const c = decodeCursor<SearchCursor>(cursor, "HubSpot contact search") ?? { id: "0", r: 0 };
    const limit = this.opts.pageSize ?? HUBSPOT_SEARCH_PAGE_SIZE;
    const request = {
      filterGroups: [{
        filters: [
          { propertyName: "lastmodifieddate", operator: "GTE", value: String(since.getTime()) },
          { propertyName: "hs_object_id", operator: "GT", value: c.id },
        ],
      }],
      // The SDK types sorts as strings; the API takes { propertyName, direction } objects.
      sorts: [{ propertyName: "hs_object_id", direction: "ASCENDING" }] as unknown as string[],
      properties: ["email"],
      limit,
    };
    const res = await this.call("search contacts", () => this.opts.client.crm.contacts.searchApi.doSearch(request as never), true);
    const results = res.results as ContactLike[];
    const rows = toRows(results, c.r);
    const last = results[results.length - 1];
    const more = results.length === limit && last !== undefined;
    return { rows, ...(more ? { next: encodeCursor({ id: last.id, r: c.r + rows.length } satisfies SearchCursor) } : {}) };
  }
}

function toRows(contacts: ContactLike[], before: number): SourceRow[] {
  return contacts.map((contact, i) => {
    const row = before + i + 1;
    const email = contact.properties?.email?.trim();
    if (!email) {
      return { row, request: { identifier: `hubspot-contact:${contact.id}`, by: "email" }, invalid: `row ${row}: HubSpot contact ${contact.id} has no email` };
    }
    return { row, request: { identifier: email, by: "email" } };
  });
}
