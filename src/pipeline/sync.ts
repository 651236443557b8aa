import { ConfigError, type RetryPolicy } from "../config.js";
import { SyncError } from "../errors.js";
import type { HubSpotMapping, KlaviyoMapping, MappingContext } from "../../connectors/types.js";
import { mapToHubSpot } from "../../connectors/hubspot/mapping.js";
import { mapToKlaviyo } from "../../connectors/klaviyo/mapping.js";
import { failedOutcome, type ConnectorOutcomes, type ConnectorRecord, type ConnectorWriter } from "../../connectors/shared/writer.js";
import type { Logger } from "../util/log.js";
import { mapConcurrent } from "../util/retry.js";
import { fetchOne, type ProfileSource } from "./fetch.js";
import { prepareRequest, type PreparedRequest } from "./prepare.js";
import type { ParsedProfile } from "../profile/types.js";
import {
  summarize, type ConnectorName, type ConnectorOutcome, type RecordResult, type SyncReport, type SyncRequest,
} from "./types.js";

export interface Writers {
  hubspot?: ConnectorWriter<HubSpotMapping>;
  klaviyo?: ConnectorWriter<KlaviyoMapping>;
}

export interface PipelineDeps {
  source: ProfileSource;
  /** Connectors to write to, in order. In a dry run, the connectors to plan for (no writer needed). */
  connectors: ConnectorName[];
  writers: Writers;
  dryRun: boolean;
  retry: RetryPolicy;
  concurrency: number;
  log: Logger;
  now?: () => Date;
}

/** A fetched profile waiting for its connector writes. */
interface Pending {
  index: number;
  req: PreparedRequest;
  profile: ParsedProfile;
  warnings: string[];
  connectors: Partial<Record<ConnectorName, ConnectorOutcome>>;
}

/** Message for a fault that stops the whole run (a wrong credential, a schema conflict). */
function stopReason(err: unknown): string | undefined {
  if (err instanceof ConfigError) return err.message;
  if (err instanceof SyncError && err.kind === "auth") return err.message;
  return undefined;
}

/**
 * The whole job for a list of requests: validate → fetch → map → write to each connector. Every
 * request ends in exactly one outcome, in request order; one bad record never blocks the others.
 */
export async function runSync(requests: readonly SyncRequest[], deps: PipelineDeps): Promise<SyncReport> {
  const results: Array<RecordResult | undefined> = new Array(requests.length);
  const ctx: MappingContext = { syncedAt: (deps.now ?? (() => new Date()))() };
  let configError: string | undefined;

  const prepared: Array<{ index: number; req: PreparedRequest }> = [];
  requests.forEach((request, index) => {
    const p = prepareRequest(request);
    if (p.ok) prepared.push({ index, req: p.value });
    else results[index] = p.result;
  });

  const pending: Pending[] = [];
  await mapConcurrent(prepared, deps.concurrency, async ({ index, req }) => {
    if (configError) return;
    try {
      const outcome = await fetchOne(deps.source, req, deps.retry, deps.log);
      const base = { identifier: req.identifier, by: req.by, email: req.email };
      if (outcome.status === "found") {
        pending.push({ index, req, profile: outcome.parsed.profile, warnings: [...outcome.parsed.warnings], connectors: {} });
      } else {
        results[index] = { ...base, status: outcome.status, reason: outcome.reason, warnings: [] };
      }
    } catch (err) {
      configError ??= stopReason(err);
      if (!configError) throw err;
    }
  });
  pending.sort((a, b) => a.index - b.index);

  if (!configError) {
    for (const name of deps.connectors) {
      try {
        await writeConnector(name, pending, deps, ctx);
      } catch (err) {
        configError ??= stopReason(err);
        if (!configError) throw err;
        break;
      }
    }
  }

  for (const p of pending) results[p.index] = finish(p, deps.connectors, configError);
  for (let i = 0; i < results.length; i++) {
    if (!results[i]) {
      const req = requests[i]!;
      results[i] = {
        identifier: req.identifier, by: req.by ?? "email", status: "failed",
        reason: `not attempted: ${configError ?? "the run stopped early"}`, warnings: [],
      };
    }
  }
  const done = results as RecordResult[];
  return { summary: summarize(done), results: done, ...(configError ? { configError } : {}) };
}

async function writeConnector(name: ConnectorName, pending: Pending[], deps: PipelineDeps, ctx: MappingContext): Promise<void> {
  if (name === "hubspot") {
    const records = pending.map((p) => mapped(p, mapToHubSpot(p.profile, ctx)));
    await writeOrPlan(name, records, pending, deps.dryRun ? undefined : deps.writers.hubspot);
  } else {
    const records = pending.map((p) => mapped(p, mapToKlaviyo(p.profile, ctx)));
    await writeOrPlan(name, records, pending, deps.dryRun ? undefined : deps.writers.klaviyo);
  }
}

function mapped<M extends { warnings: string[] }>(p: Pending, mapping: M): ConnectorRecord<M> {
  for (const w of mapping.warnings) if (!p.warnings.includes(w)) p.warnings.push(w);
  return { key: p.index, email: p.req.email, mapping };
}

async function writeOrPlan<M extends HubSpotMapping | KlaviyoMapping>(
  name: ConnectorName, records: ConnectorRecord<M>[], pending: Pending[], writer: ConnectorWriter<M> | undefined,
): Promise<void> {
  const byKey = new Map(pending.map((p) => [p.index, p]));
  if (!writer) {
    for (const r of records) byKey.get(r.key)!.connectors[name] = planned(r.mapping);
    return;
  }
  let outcomes: ConnectorOutcomes;
  try {
    outcomes = await writer.write(records);
  } catch (err) {
    // A fault before any write that is neither a credential nor a schema conflict (e.g. HubSpot's schema
    // read still answering 5xx after the retries) fails this connector's records, not the whole run.
    if (!(err instanceof SyncError) || err.kind === "auth") throw err;
    outcomes = new Map(records.map((r) => [r.key, failedOutcome(r.mapping.properties, err)]));
  }
  for (const r of records) {
    byKey.get(r.key)!.connectors[name] = outcomes.get(r.key) ?? { status: "failed", reason: `${name} returned no outcome for this record` };
  }
}

function planned(mapping: HubSpotMapping | KlaviyoMapping): ConnectorOutcome {
  const outcome: ConnectorOutcome = { status: "planned", properties: mapping.properties };
  if ("event" in mapping && mapping.event) {
    outcome.event = { metric: mapping.event.metric, uniqueId: mapping.event.uniqueId, status: "planned" };
  }
  return outcome;
}

function finish(p: Pending, connectors: ConnectorName[], configError: string | undefined): RecordResult {
  const result: RecordResult = {
    identifier: p.req.identifier, by: p.req.by, email: p.req.email, status: "synced",
    userProfileId: p.profile.userProfileId, warnings: p.warnings, connectors: p.connectors,
  };
  const problems: string[] = [];
  for (const name of connectors) {
    const c = p.connectors[name];
    if (!c) {
      p.connectors[name] = { status: "skipped", reason: `not attempted: ${configError ?? "the run stopped early"}` };
      problems.push(`${name}: not attempted: ${configError ?? "the run stopped early"}`);
    } else if (c.status === "failed") {
      problems.push(`${name}: ${c.reason ?? "failed"}`);
    }
  }
  if (problems.length > 0) {
    result.status = "failed";
    result.reason = problems.join("; ");
  }
  return result;
}
