import type { Inngest } from "inngest";
import { NonRetriableError } from "inngest";
import type { SegmentOutcome } from "../../../connectors/shared/segments.js";
import { SyncError } from "../../errors.js";
import type { ConnectorName } from "../../pipeline/types.js";
import {
  buildReport, collectTones, ensureSegment, planSegments, provisionHubSpotSchema, type SchemaReport, type SegmentServices,
  type SetupReport, type ToneCatalog,
} from "../../segments/setup.js";
import { toInngestError } from "../errors.js";
import { segmentsSyncRequested } from "../events.js";

/** What a segments run needs: the CRM clients (in-process retries off: attempts 1), the cap, the configured CRMs. */
export interface SegmentsContext {
  services: SegmentServices;
  /** FASHIONAI_SEGMENT_CAP for every CRM; undefined: the mapping override file's toneCap per CRM, else 50. */
  cap?: number | undefined;
  enabled: ConnectorName[];
}

export type SegmentsProvider = () => SegmentsContext;

export interface SyncSegmentsOptions {
  /**
   * Pause between Klaviyo segment writes, in ms (default 4000). Klaviyo allows 15 segment writes a
   * minute, so 4 s keeps a long run under the steady limit even when each step runs on another worker.
   * 0 turns the pause off (tests).
   */
  klaviyoPaceMs?: number;
}

/**
 * `setup` as a durable function, on `fashionai/segments.sync.requested` (sent by sync-profiles when a
 * write created a tone option). One step per side effect: collect the tone values, bring the HubSpot
 * schema up to date, then one step per list / segment (found by name first, so a retried or repeated
 * run never duplicates one). Permanent failures and conflicts are reported in the result; 429s and
 * transient faults retry the step alone, honouring Retry-After.
 */
export function createSyncSegments(inngest: Inngest.Any, provide: SegmentsProvider, opts: SyncSegmentsOptions = {}) {
  return inngest.createFunction(
    {
      id: "sync-segments",
      name: "Sync Fashion.AI segments to CRMs",
      triggers: [segmentsSyncRequested],
      retries: 4,
      // A backfill that creates many tone options starts one run, not thousands: the run starts once
      // no new request has come for 2 minutes, and at most 10 minutes after the first.
      debounce: { period: "2m", timeout: "10m" },
      // One provisioning run at a time: two runs racing to create the same list would only collide.
      concurrency: { limit: 1 },
    },
    async ({ event, step }): Promise<SetupReport> => {
      const ctx = provideOrFail(provide);
      const targets = chooseConnectors(ctx.enabled, event.data.connectors);
      const svc = ctx.services;

      const catalog: ToneCatalog = await step.run("collect-tones", () => settle(() => collectTones(svc)));
      let schema: SchemaReport | undefined;
      if (targets.includes("hubspot")) {
        schema = await step.run("hubspot-schema", () => settle(() => provisionHubSpotSchema(svc, catalog.tones, false)));
      }
      const outcomes: SegmentOutcome[] = [];
      for (const crm of targets) {
        // Per CRM: its field plan decides the synonyms, the cap and which segments it has.
        const { specs } = planSegments(svc.mapping, crm, catalog, ctx.cap);
        for (const [i, spec] of specs.entries()) {
          const id = `${crm === "hubspot" ? "hubspot-list" : "klaviyo-segment"}:${spec.key}`;
          const outcome: SegmentOutcome = await step.run(id, () => settleSegment(crm, spec.key, spec.name, () => ensureSegment(svc, crm, spec, false)));
          outcomes.push(outcome);
          const wrote = outcome.status === "created" || outcome.status === "updated";
          const pace = opts.klaviyoPaceMs ?? 4_000;
          if (crm === "klaviyo" && wrote && i < specs.length - 1 && pace > 0) await step.sleep(`klaviyo-pace:${spec.key}`, pace);
        }
      }
      return buildReport({ dryRun: false, cap: ctx.cap, targets, catalog, mapping: svc.mapping, ...(schema ? { schema } : {}), segments: outcomes });
    },
  );
}

function provideOrFail(provide: SegmentsProvider): SegmentsContext {
  try {
    return provide();
  } catch (err) {
    throw toInngestError(err);
  }
}

function chooseConnectors(enabled: ConnectorName[], asked: ConnectorName[] | undefined): ConnectorName[] {
  if (enabled.length === 0) throw new NonRetriableError("no CRM is configured on this server: set HUBSPOT_ACCESS_TOKEN and/or KLAVIYO_API_KEY");
  if (!asked) return enabled;
  const missing = asked.filter((c) => !enabled.includes(c));
  if (missing.length) throw new NonRetriableError(`event asks for ${missing.join(", ")}, which has no credential configured on this server`);
  return asked;
}

async function settle<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toInngestError(err);
  }
}

/** A list/segment the CRM refused for good is a result (`failed`); passing faults retry the step. */
async function settleSegment(crm: ConnectorName, key: string, name: string, fn: () => Promise<SegmentOutcome>): Promise<SegmentOutcome> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SyncError && (err.kind === "permanent" || err.kind === "invalid" || err.kind === "not_found")) {
      return { crm, key, name, status: "failed", reason: err.message };
    }
    throw toInngestError(err);
  }
}
