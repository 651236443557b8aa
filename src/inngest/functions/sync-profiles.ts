import type { Inngest } from "inngest";
import { NonRetriableError } from "inngest";
import { mapToHubSpot } from "../../../connectors/hubspot/mapping.js";
import { HubSpotWriter } from "../../../connectors/hubspot/writer.js";
import { mapToKlaviyo } from "../../../connectors/klaviyo/mapping.js";
import { SyncError } from "../../errors.js";
import { DEFAULT_MAPPING_PLAN, segmentProperties } from "../../mapping/plan.js";
import { prepareRequest } from "../../pipeline/prepare.js";
import type { ConnectorName, ConnectorOutcome, RecordResult } from "../../pipeline/types.js";
import type { ParseResult } from "../../profile/types.js";
import type { Runtime } from "../../runtime.js";
import { forFault, toInngestError } from "../errors.js";
import { profileSyncRequested, segmentsSyncRequested } from "../events.js";

/** Builds (or reuses) the pipeline for a run; in-process retries must be off (attempts: 1). */
export type RuntimeProvider = () => Runtime;

type Fetched = { found: true; parsed: ParseResult } | { found: false; reason: string };

export interface SyncProfilesOptions {
  /**
   * Send `fashionai/segments.sync.requested` when a HubSpot write created a new tone option. On when
   * sync-segments is served alongside (createFunctions in inngest.config.ts); off by default, since the
   * event has no consumer otherwise.
   */
  requestSegmentsSync?: boolean;
}

/**
 * One profile per run: a step for the fetch and one per connector write, so a failed Klaviyo write is
 * retried alone and never redoes HubSpot. Retries are Inngest's only (the runtime's policy has 1 attempt).
 */
export function createSyncProfiles(inngest: Inngest.Any, provide: RuntimeProvider, opts: SyncProfilesOptions = {}) {
  return inngest.createFunction(
    { id: "sync-profiles", name: "Sync Fashion.AI profile to CRMs", triggers: [profileSyncRequested], retries: 4 },
    async ({ event, step }) => {
      const data = event.data;
      const runtime = provideOrFail(provide);
      const connectors = chooseConnectors(runtime.deps.connectors, data.connectors);
      const prepared = prepareRequest(data);
      if (!prepared.ok) return prepared.result;
      const req = prepared.value;
      const base = { identifier: req.identifier, by: req.by, email: req.email };

      const fetched: Fetched = await step.run("fetch-profile", async () => {
        try {
          return { found: true as const, parsed: await runtime.fashionai.fetchProfile(req.by, req.lookup) };
        } catch (err) {
          if (err instanceof SyncError && err.kind === "not_found") return { found: false as const, reason: "no Fashion.AI profile" };
          throw toInngestError(err);
        }
      });
      if (!fetched.found) return { ...base, status: "not_found", reason: fetched.reason, warnings: [] } satisfies RecordResult;

      const warnings = [...fetched.parsed.warnings];
      const outcomes: Partial<Record<ConnectorName, ConnectorOutcome>> = {};
      const newToneOptions: string[] = [];
      for (const name of connectors) {
        const written = await step.run(`write-${name}`, () => writeOne(runtime, name, req.email, fetched.parsed));
        outcomes[name] = written.outcome;
        for (const w of written.warnings) if (!warnings.includes(w)) warnings.push(w);
        // (Memoized output of an older deployment's step may lack the field.)
        newToneOptions.push(...((written as { newToneOptions?: string[] }).newToneOptions ?? []));
      }
      // A tone value HubSpot did not know yet deserves its segments: ask for a refresh (sync-segments is
      // debounced, so a backfill introducing many values still starts one run).
      if (opts.requestSegmentsSync && newToneOptions.length > 0) {
        await step.sendEvent("request-segments-sync", { name: segmentsSyncRequested.event, data: {} });
      }
      const failed = Object.entries(outcomes).filter(([, o]) => o?.status === "failed");
      const result: RecordResult = {
        ...base, status: failed.length ? "failed" : "synced", userProfileId: fetched.parsed.profile.userProfileId,
        warnings, connectors: outcomes,
      };
      if (failed.length) result.reason = failed.map(([n, o]) => `${n}: ${o?.reason ?? "failed"}`).join("; ");
      return result;
    },
  );
}

function provideOrFail(provide: RuntimeProvider): Runtime {
  try {
    return provide();
  } catch (err) {
    throw toInngestError(err);
  }
}

function chooseConnectors(enabled: ConnectorName[], asked: ConnectorName[] | undefined): ConnectorName[] {
  if (!asked) return enabled;
  const missing = asked.filter((c) => !enabled.includes(c));
  if (missing.length) throw new NonRetriableError(`event asks for ${missing.join(", ")}, which has no credential configured on this server`);
  return asked;
}

async function writeOne(runtime: Runtime, name: ConnectorName, email: string, parsed: ParseResult) {
  const ctx = { syncedAt: new Date() };
  // The field plan the runtime was built with (mapping override file, or the defaults).
  const plan = runtime.deps.mapping ?? DEFAULT_MAPPING_PLAN;
  try {
    if (name === "hubspot") {
      const mapping = mapToHubSpot(parsed.profile, ctx, plan.hubspot);
      const writer = runtime.writers.hubspot!;
      // The schema first, explicitly, to learn which tone options this write is the first to need
      // (the writer's own ensure then finds nothing left to do).
      const changes = writer instanceof HubSpotWriter ? await writer.schema.ensure(mapping.options) : undefined;
      const outcome = (await writer.write([{ key: 0, email, mapping }])).get(0);
      // Only an enumeration tone field has segments (segmentProperties); then its new options ask for them.
      const tone = segmentProperties(plan.hubspot).tone;
      const tones = tone === undefined ? [] : (mapping.options[tone] ?? []);
      const newToneOptions = tone === undefined ? []
        : changes?.propertiesCreated.includes(tone) ? tones.map((o) => o.value) : (changes?.optionsAdded[tone] ?? []);
      return { outcome: settle(outcome), warnings: mapping.warnings, newToneOptions };
    }
    const mapping = mapToKlaviyo(parsed.profile, ctx, plan.klaviyo);
    const outcome = (await runtime.writers.klaviyo!.write([{ key: 0, email, mapping }])).get(0);
    return { outcome: settle(outcome), warnings: mapping.warnings, newToneOptions: [] as string[] };
  } catch (err) {
    throw toInngestError(err);
  }
}

/** A record the CRM rejected for good is a result; a passing fault is thrown so Inngest retries the step. */
function settle(outcome: ConnectorOutcome | undefined): ConnectorOutcome {
  if (!outcome) throw new Error("connector returned no outcome");
  if (outcome.status === "failed" && (outcome.fault === "transient" || outcome.fault === "rate_limited")) {
    throw forFault(outcome.fault, outcome.reason ?? "write failed", outcome.retryAfterMs);
  }
  return outcome;
}
