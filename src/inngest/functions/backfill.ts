import type { Inngest } from "inngest";
import { NonRetriableError } from "inngest";
import { loadConfig, type AppConfig } from "../../config.js";
import { createHubSpotClient } from "../../../connectors/hubspot/client.js";
import { KlaviyoHttp } from "../../../connectors/klaviyo/http.js";
import { loadVendorLimits } from "../../backfill/limits.js";
import { prepareRequest } from "../../pipeline/prepare.js";
import { IdentifiersSource } from "../../sources/file.js";
import { HubSpotContactsSource } from "../../sources/hubspot.js";
import { KlaviyoProfilesSource } from "../../sources/klaviyo.js";
import type { BackfillSource, SourcePage } from "../../sources/types.js";
import { RateGate } from "../../util/rate.js";
import { backfillOnFailure } from "../dead-letters.js";
import { toInngestError } from "../errors.js";
import { backfillCancelled, backfillRequested, type BackfillRequested, type ProfileSyncRequested } from "../events.js";

/** Builds the source a backfill event asks for (from this server's configuration; in-process retries off). */
export type BackfillSourceProvider = (data: BackfillRequested) => BackfillSource;

export interface BackfillOptions {
  /** Records read per `step.run` (one or more source pages; each step's output carries the cursor). Default 500. */
  recordsPerStep?: number;
  /**
   * Page steps per run before the backfill continues in a new run (an Inngest run allows at most 1,000 steps;
   * each page takes two: read and send). Default 400 (200,000 records per run at 500 per step).
   */
  maxPagesPerRun?: number;
  /** Invalid rows listed in the summary (all are counted). Default 100. */
  listInvalid?: number;
}

/** What one page step returns: the syncs to queue, the rows that cannot be, and where to continue. */
export interface PageStepOutput {
  requests: ProfileSyncRequested[];
  invalid: Array<{ row: number; identifier: string; reason: string }>;
  next?: string;
}

export interface BackfillSummary {
  backfillId: string;
  source: BackfillRequested["source"];
  /** `fashionai/profile.sync.requested` events sent, in all runs so far. */
  queued: number;
  /** Rows that could not be queued (no email, malformed identifier), in all runs so far. */
  invalid: number;
  invalidRows: PageStepOutput["invalid"];
  pages: number;
  /** Set when the backfill goes on in a new run (very large sources). */
  continued?: boolean;
  run: number;
}

/** Reads one step's worth of rows (several source pages when they are small) and sorts them out. */
export async function readStep(source: BackfillSource, cursor: string | undefined, records: number, data: BackfillRequested, backfillId: string): Promise<PageStepOutput> {
  if (!source.page) throw new NonRetriableError(`source ${source.kind} cannot be paged by a durable function`);
  const out: PageStepOutput = { requests: [], invalid: [] };
  let next = cursor;
  let read = 0;
  do {
    const page: SourcePage = await source.page(next);
    for (const row of page.rows) {
      read += 1;
      if (row.invalid) {
        out.invalid.push({ row: row.row, identifier: row.request.identifier, reason: row.invalid });
        continue;
      }
      const prepared = prepareRequest(row.request);
      if (!prepared.ok) {
        out.invalid.push({ row: row.row, identifier: row.request.identifier, reason: `row ${row.row}: ${prepared.result.reason ?? "invalid"}` });
        continue;
      }
      const r = row.request;
      out.requests.push({
        identifier: r.identifier,
        ...(r.by && r.by !== "email" ? { by: r.by } : {}),
        ...(r.email ? { email: r.email } : {}),
        ...(data.connectors ? { connectors: data.connectors } : {}),
        reason: "backfill",
        backfillId,
      });
    }
    next = page.next;
  } while (next !== undefined && read < records);
  if (next !== undefined) out.next = next;
  return out;
}

/**
 * `fashionai/backfill.requested` → one `fashionai/profile.sync.requested` per record of the source. One step per
 * page (its output holds the next cursor, so a retried or resumed run never re-reads what it already queued),
 * then one `step.sendEvent` per page with that page's events. `fashionai/backfill.cancelled` with the same
 * backfillId cancels it between steps. Ends with a summary of what it queued.
 */
export function createBackfill(inngest: Inngest.Any, sources: BackfillSourceProvider, opts: BackfillOptions = {}) {
  const recordsPerStep = opts.recordsPerStep ?? 500;
  const maxPages = opts.maxPagesPerRun ?? 400;
  const listInvalid = opts.listInvalid ?? 100;
  return inngest.createFunction(
    {
      id: "backfill",
      name: "Backfill Fashion.AI profiles into the CRMs",
      triggers: [backfillRequested],
      cancelOn: [{ event: backfillCancelled, if: "async.data.backfillId == event.data.backfillId" }],
      // One run per backfill at a time (a continuation waits for its predecessor), a few backfills at once.
      concurrency: [{ limit: 3 }, { limit: 1, key: "event.data.backfillId" }],
      retries: 4,
      // A backfill that fails for good leaves a fashionai/backfill.failed dead letter with the request to send again.
      onFailure: backfillOnFailure(),
    },
    async ({ event, step }): Promise<BackfillSummary> => {
      const data = event.data as BackfillRequested;
      const backfillId = data.backfillId ?? `bf_${event.id ?? "unnamed"}`;
      const c = data.continuation;
      let source: BackfillSource;
      try {
        source = sources(data);
      } catch (err) {
        throw toInngestError(err);
      }
      const summary: BackfillSummary = {
        backfillId, source: data.source, queued: c?.queued ?? 0, invalid: c?.invalid ?? 0, invalidRows: [],
        pages: c?.pages ?? 0, run: c?.run ?? 1,
      };
      let cursor = c?.cursor;
      for (let n = 0; ; n++) {
        const page = await step.run(`read-page-${n}`, async (): Promise<PageStepOutput> => {
          try {
            return await readStep(source, cursor, recordsPerStep, data, backfillId);
          } catch (err) {
            throw toInngestError(err);
          }
        });
        summary.pages += 1;
        summary.invalid += page.invalid.length;
        for (const bad of page.invalid) if (summary.invalidRows.length < listInvalid) summary.invalidRows.push(bad);
        if (page.requests.length > 0) {
          await step.sendEvent(`queue-page-${n}`, page.requests.map((data) => ({ name: "fashionai/profile.sync.requested" as const, data })));
          summary.queued += page.requests.length;
        }
        cursor = page.next;
        if (cursor === undefined) return summary;
        if (n + 1 >= maxPages) {
          // Inngest caps the steps of one run: the rest of the source goes on in a new run, same backfillId.
          await step.sendEvent("continue", {
            name: "fashionai/backfill.requested" as const,
            data: {
              ...data, backfillId,
              continuation: { cursor, queued: summary.queued, invalid: summary.invalid, pages: summary.pages, run: summary.run + 1 },
            },
          });
          return { ...summary, continued: true };
        }
      }
    },
  );
}

/**
 * The sources of a durable backfill, from the environment: HubSpot contacts and Klaviyo profiles through their
 * APIs (retries are Inngest's: one attempt in-process; the HubSpot search API's own ~4/s limit is kept
 * in-process), and the event's own `identifiers`.
 */
export function envBackfillSources(env: Record<string, string | undefined> = process.env): BackfillSourceProvider {
  let config: AppConfig | undefined;
  let searchGate: RateGate | undefined;
  let klaviyo: KlaviyoHttp | undefined;
  return (data) => {
    if (data.source === "identifiers") return new IdentifiersSource(data.identifiers ?? [], { ...(data.by ? { by: data.by } : {}) });
    config ??= loadConfig(env);
    const retry = { ...config.retry, attempts: 1 };
    const modifiedSince = data.modifiedSince ? new Date(data.modifiedSince) : undefined;
    if (data.source === "hubspot") {
      if (!config.hubspot) throw new NonRetriableError("backfill source hubspot needs HUBSPOT_ACCESS_TOKEN on this server");
      searchGate ??= new RateGate({ name: "hubspot-search", maxConcurrency: 1, windows: loadVendorLimits(env).hubspotSearch });
      return new HubSpotContactsSource({
        client: createHubSpotClient(config.hubspot), retry, timeoutMs: config.timeoutMs, searchGate, ...(modifiedSince ? { modifiedSince } : {}),
      });
    }
    if (!config.klaviyo) throw new NonRetriableError("backfill source klaviyo needs KLAVIYO_API_KEY on this server");
    klaviyo ??= new KlaviyoHttp({ ...config.klaviyo, timeoutMs: config.timeoutMs });
    return new KlaviyoProfilesSource({ http: klaviyo, retry, ...(modifiedSince ? { modifiedSince } : {}) });
  };
}
