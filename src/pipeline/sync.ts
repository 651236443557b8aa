import { ConfigError, type RetryPolicy } from "../config.js";
import { SyncError } from "../errors.js";
import type { HubSpotMapping, KlaviyoMapping, MappingContext } from "../../connectors/types.js";
import { mapToHubSpot } from "../../connectors/hubspot/mapping.js";
import { mapToKlaviyo } from "../../connectors/klaviyo/mapping.js";
import { DEFAULT_MAPPING_PLAN, type MappingPlan } from "../mapping/plan.js";
import { failedOutcome, type ConnectorOutcomes, type ConnectorRecord, type ConnectorWriter } from "../../connectors/shared/writer.js";
import { diffProperties, type CurrentReader } from "../../connectors/shared/current.js";
import { withFields, type Logger } from "../util/log.js";
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
  /** Dry run only: read each CRM's current values to show old → new per property (connectors not listed are planned without a diff). */
  readers?: Partial<Record<ConnectorName, CurrentReader>>;
  /** The field plan (mapping overrides); default PRODUCT.md's schema. */
  mapping?: MappingPlan;
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
  const startedAt = Date.now();
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
  const report: SyncReport = { summary: summarize(done), results: done, ...(configError ? { configError } : {}) };
  logOutcomes(done, report, deps, startedAt);
  return report;
}

async function writeConnector(name: ConnectorName, pending: Pending[], deps: PipelineDeps, ctx: MappingContext): Promise<void> {
  const plan = deps.mapping ?? DEFAULT_MAPPING_PLAN;
  if (name === "hubspot") {
    const records = pending.map((p) => mapped(p, mapToHubSpot(p.profile, ctx, plan.hubspot)));
    await writeOrPlan(name, records, pending, deps.dryRun ? undefined : deps.writers.hubspot, deps);
  } else {
    const records = pending.map((p) => mapped(p, mapToKlaviyo(p.profile, ctx, plan.klaviyo)));
    await writeOrPlan(name, records, pending, deps.dryRun ? undefined : deps.writers.klaviyo, deps);
  }
}

function mapped<M extends { warnings: string[] }>(p: Pending, mapping: M): ConnectorRecord<M> {
  for (const w of mapping.warnings) if (!p.warnings.includes(w)) p.warnings.push(w);
  return { key: p.index, email: p.req.email, mapping };
}

async function writeOrPlan<M extends HubSpotMapping | KlaviyoMapping>(
  name: ConnectorName, records: ConnectorRecord<M>[], pending: Pending[], writer: ConnectorWriter<M> | undefined,
  deps: PipelineDeps,
): Promise<void> {
  const byKey = new Map(pending.map((p) => [p.index, p]));
  if (!writer) {
    for (const r of records) byKey.get(r.key)!.connectors[name] = planned(r.mapping);
    const reader = deps.dryRun ? deps.readers?.[name] : undefined;
    if (reader && records.length > 0) await addDiffs(reader, records, byKey, deps.log);
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
  let failed = 0;
  for (const r of records) {
    const outcome = outcomes.get(r.key) ?? { status: "failed", reason: `${name} returned no outcome for this record` };
    if (outcome.status === "failed") failed++;
    byKey.get(r.key)!.connectors[name] = outcome;
  }
  deps.log.debug(`${name} write finished`, {
    connector: name, step: "write", outcome: failed ? "partial" : "written", records: records.length, failed,
  });
}

/**
 * Dry run: what the CRM holds now for these records, as old → new per property. Reads only. A wrong
 * credential stops the run like any 401/403; any other read fault leaves the plan without a diff.
 */
async function addDiffs<M extends HubSpotMapping | KlaviyoMapping>(
  reader: CurrentReader, records: ConnectorRecord<M>[], byKey: Map<number, Pending>, log: Logger,
): Promise<void> {
  const properties = [...new Set(records.flatMap((r) => Object.keys(r.mapping.properties)))];
  let current;
  try {
    current = await reader.readCurrent(records.map((r) => r.email), properties);
  } catch (err) {
    if (stopReason(err) !== undefined || !(err instanceof SyncError)) throw err;
    log.warn(`could not read current ${reader.name} values for the dry-run diff`, {
      connector: reader.name, step: "read", outcome: "failed", reason: err.message,
    });
    for (const r of records) byKey.get(r.key)!.connectors[reader.name]!.diffError = err.message;
    return;
  }
  for (const r of records) {
    const outcome = byKey.get(r.key)!.connectors[reader.name]!;
    const held = current.get(r.email.toLowerCase());
    const { changed, unchanged } = diffProperties(held, r.mapping.properties, (p, a, b) => reader.same(p, a, b));
    outcome.exists = held !== undefined;
    outcome.diff = changed;
    outcome.unchanged = unchanged;
  }
  log.debug(`${reader.name} current values read`, {
    connector: reader.name, step: "read", outcome: "read", records: records.length, existing: current.size,
  });
}

/**
 * One line per record at debug (warn for a failed one, unless the run stopped before trying it: that
 * cause is logged once), then the run's counts at info. A 10k-record backfill stays quiet by default.
 */
function logOutcomes(results: readonly RecordResult[], report: Pick<SyncReport, "summary" | "configError">, deps: PipelineDeps, startedAt: number): void {
  for (const r of results) {
    const notAttempted = report.configError !== undefined && r.status === "failed" && /^not attempted|: not attempted/.test(r.reason ?? "");
    const log = withFields(deps.log, { record: r.identifier, step: "record", outcome: r.status });
    const fields: Record<string, unknown> = { by: r.by };
    if (r.reason) fields.reason = r.reason;
    for (const [name, c] of Object.entries(r.connectors ?? {})) if (c) fields[name] = c.status;
    if (r.warnings.length) fields.warnings = r.warnings.length;
    if (r.status === "failed" && !notAttempted) log.warn("record failed", fields);
    else log.debug(`record ${r.status}`, fields);
  }
  const s = report.summary;
  const fields = {
    step: "run", outcome: report.configError ? "stopped" : "done", dryRun: deps.dryRun, connectors: deps.connectors,
    requested: s.requested, synced: s.synced, not_found: s.not_found, invalid: s.invalid, failed: s.failed,
    durationMs: Date.now() - startedAt,
  };
  if (report.configError) deps.log.error("sync stopped: configuration error", { ...fields, reason: report.configError });
  else deps.log.info(deps.dryRun ? "dry run finished" : "sync finished", fields);
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
