import type { Inngest } from "inngest";
import { mapToHubSpot } from "../../../connectors/hubspot/mapping.js";
import { HubSpotWriter } from "../../../connectors/hubspot/writer.js";
import { KlaviyoBulkWriter, withEvent, type EventItem } from "../../../connectors/klaviyo/bulk.js";
import { mapToKlaviyo } from "../../../connectors/klaviyo/mapping.js";
import type { ConnectorRecord } from "../../../connectors/shared/writer.js";
import type { EnumOption, HubSpotMapping, KlaviyoEventPlan, KlaviyoMapping } from "../../../connectors/types.js";
import { loadVendorLimits, sustainedRate } from "../../backfill/limits.js";
import { ConfigError } from "../../config.js";
import { SyncError, type FaultKind } from "../../errors.js";
import { DEFAULT_MAPPING_PLAN, segmentProperties } from "../../mapping/plan.js";
import { prepareRequest, type PreparedRequest } from "../../pipeline/prepare.js";
import {
  LOOKUP_KINDS, summarize, type ConnectorName, type ConnectorOutcome, type LookupBy, type RecordResult, type SyncReport,
} from "../../pipeline/types.js";
import type { ParseResult } from "../../profile/types.js";
import type { Runtime } from "../../runtime.js";
import { parseRateWindow } from "../../util/rate.js";
import { mapConcurrent } from "../../util/retry.js";
import { profileSyncOnFailure, sendDeadLettersForResults, withDeadLetters } from "../dead-letters.js";
import { forFault, toInngestError } from "../errors.js";
import { describeEventProblems, profileSyncRequestedSchema, segmentsSyncRequested } from "../events.js";

/** Builds (or reuses) the pipeline for a run; in-process retries must be off (attempts: 1). */
export type RuntimeProvider = () => Runtime;

/** Up to this many `fashionai/profile.sync.requested` events become one run. */
export const SYNC_BATCH_SIZE = 100;
export const SYNC_BATCH_TIMEOUT = "5s";

export interface SyncProfilesOptions {
  /**
   * Send `fashionai/segments.sync.requested` when a HubSpot write created a new tone option. On when
   * sync-segments is served alongside (createFunctions in inngest.config.ts); off by default, since the
   * event has no consumer otherwise.
   */
  requestSegmentsSync?: boolean;
  /** Environment the throttle and concurrency keys are sized from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Rounds of re-fetching the profiles whose fetch hit a passing fault (default 3: 4 attempts in all). */
  fetchRetries?: number;
  /** Klaviyo import job status reads before giving up (default 20, spaced 2 s doubling to 60 s). */
  klaviyoPolls?: number;
  /**
   * Send a `fashionai/profile.sync.failed` dead letter for each request that fails for good (src/inngest/dead-letters.ts):
   * the records that end `failed`, or every request of a run that fails for good. On in createFunctions.
   */
  deadLetters?: boolean;
}

type Env = Record<string, string | undefined>;

/**
 * Flow control from the vendors' limits (VENDOR-LIMITS.md, overridable per deployment):
 *  - throttle: run starts per minute, from the tightest connector. A run makes one HubSpot batch upsert (80% of
 *    HUBSPOT_RATE_LIMIT is given to these runs, the rest left to backfill paging, setup and segments) and about
 *    two Klaviyo bulk-import calls (job + status; KLAVIYO_BULK_RATE_LIMIT) plus one bulk events call
 *    (KLAVIYO_EVENTS_RATE_LIMIT). FASHIONAI_SYNC_THROTTLE ("60/1m") sets it directly.
 *  - concurrency: account-wide keys per CRM ("hubspot", "klaviyo"), so other functions that take the same keys
 *    share one budget: HUBSPOT_WRITE_CONCURRENCY (default 4) and KLAVIYO_JOBS_IN_FLIGHT (default 3).
 */
export function syncProfilesFlowControl(env: Env = process.env) {
  const limits = loadVendorLimits(env);
  let perMinute: number;
  let period = "1m";
  const override = env.FASHIONAI_SYNC_THROTTLE?.trim();
  const parsed = override ? parseRateWindow(override) : undefined;
  if (override && (!parsed || parsed.windowMs < 1000)) {
    throw new ConfigError(`FASHIONAI_SYNC_THROTTLE must look like "60/1m" or "10/10s", got "${override}"`);
  }
  if (parsed) {
    perMinute = parsed.limit;
    period = `${Math.round(parsed.windowMs / 1000)}s`;
  } else {
    const candidates: number[] = [];
    if (env.HUBSPOT_ACCESS_TOKEN) candidates.push(sustainedRate(limits.hubspot) * 60 * 0.8);
    if (env.KLAVIYO_API_KEY) {
      candidates.push((sustainedRate(limits.klaviyoBulk) * 60 * 0.9) / 2, sustainedRate(limits.klaviyoEvents) * 60 * 0.9);
    }
    const finite = candidates.filter(Number.isFinite);
    perMinute = finite.length ? Math.max(1, Math.floor(Math.min(...finite))) : 60;
  }
  return {
    throttle: { limit: perMinute, period: period as "1m", burst: Math.max(1, Math.floor(perMinute / 10)) },
    concurrency: [
      { scope: "account" as const, key: '"hubspot"', limit: limits.hubspotConcurrency },
      { scope: "account" as const, key: '"klaviyo"', limit: limits.klaviyoJobs },
    ] as [{ scope: "account"; key: string; limit: number }, { scope: "account"; key: string; limit: number }],
  };
}

/** One event of the batch, once checked. */
interface Item {
  index: number;
  identifier: string;
  by: LookupBy;
  result?: RecordResult;
  req?: PreparedRequest;
  connectors?: ConnectorName[];
}

/** Fetch outcome per lookup (kept small: it is step output). */
type Fetched =
  | { s: "found"; parsed: ParseResult }
  | { s: "not_found" }
  | { s: "failed"; kind: FaultKind; message: string; retryAfterMs?: number };

type Outcomes = Record<string, ConnectorOutcome>;

const lookupKey = (req: PreparedRequest) => `${req.by}:${req.lookup}`;

/**
 * Batched: up to 100 `fashionai/profile.sync.requested` events per run (batchEvents). One step fetches every
 * profile (bounded concurrency), then one step per side effect: `write-hubspot` (one batch upsert for the whole
 * batch), `write-klaviyo` (one bulk import job), `klaviyo-import-result` (reads the job and its per-profile
 * errors; polls with step.sleep while the job runs) and `klaviyo-events` (one bulk events call). A failed
 * Klaviyo step is retried alone and never redoes HubSpot. Each event still ends in exactly one outcome
 * (synced / not_found / invalid / failed); the run returns them all, in event order.
 *
 * Faults: a 401/403 or a missing credential fails the run for good (NonRetriableError); a 429 or 5xx on a
 * write throws RetryAfterError / Error so Inngest retries that step. For fetches, when every profile of the
 * batch hit a passing fault the fetch step throws the same way; when only some did, those are fetched again
 * in later steps (after the API's Retry-After, via step.sleep) and fail alone if they keep failing.
 */
export function createSyncProfiles(inngest: Inngest.Any, provide: RuntimeProvider, opts: SyncProfilesOptions = {}) {
  const fetchRetries = opts.fetchRetries ?? 3;
  const polls = opts.klaviyoPolls ?? 20;
  const flow = syncProfilesFlowControl(opts.env ?? process.env);
  return inngest.createFunction(
    {
      id: "sync-profiles",
      name: "Sync Fashion.AI profiles to CRMs",
      // No schema on the trigger: Inngest would reject a whole batch for one bad event. Each event is checked
      // below instead, and a bad one ends `invalid`, naming the field.
      triggers: [{ event: "fashionai/profile.sync.requested" }],
      batchEvents: { maxSize: SYNC_BATCH_SIZE, timeout: SYNC_BATCH_TIMEOUT },
      throttle: flow.throttle,
      concurrency: flow.concurrency,
      retries: 4,
      // A run that failed where the body could not catch it still leaves dead letters (see withDeadLetters below).
      ...(opts.deadLetters ? { onFailure: profileSyncOnFailure() } : {}),
    },
    async (ctx): Promise<SyncReport> => deadLettered(ctx, async () => {
      const { events, step } = ctx;
      const runtime = provideOrFail(provide);
      const enabled = runtime.deps.connectors;
      const items = events.map((ev, index) => check(index, ev.data as Record<string, unknown>, enabled));

      // 1. Fetch: one lookup per distinct identifier.
      const lookups = new Map<string, PreparedRequest>();
      for (const it of items) if (it.req) lookups.set(lookupKey(it.req), it.req);
      const fetched: Record<string, Fetched> = {};
      const attempts: Record<string, number> = {};
      if (lookups.size > 0) {
        Object.assign(fetched, await step.run("fetch-profiles", () => fetchMany(runtime, [...lookups.values()], true)));
        for (const k of lookups.keys()) attempts[k] = 1;
        for (let round = 1; round <= fetchRetries; round++) {
          const pending = [...lookups.entries()].filter(([k]) => retryable(fetched[k]));
          if (pending.length === 0) break;
          const wait = Math.max(1000, ...pending.map(([k]) => (fetched[k] as { retryAfterMs?: number }).retryAfterMs ?? 1000 * 2 ** round));
          await step.sleep(`fetch-retry-wait-${round}`, Math.min(wait, 60_000));
          Object.assign(fetched, await step.run(`fetch-profiles-retry-${round}`, () => fetchMany(runtime, pending.map(([, r]) => r), false)));
          for (const [k] of pending) attempts[k] = round + 1;
        }
      }
      for (const it of items) {
        if (!it.req || it.result) continue;
        const f = fetched[lookupKey(it.req)]!;
        const base = { identifier: it.identifier, by: it.by, email: it.req.email, warnings: [] as string[] };
        if (f.s === "not_found") it.result = { ...base, status: "not_found", reason: "no Fashion.AI profile" };
        else if (f.s === "failed") {
          const n = attempts[lookupKey(it.req)] ?? 1;
          it.result = { ...base, status: "failed", reason: retryable(f) ? `${f.message} after ${n} attempt${n === 1 ? "" : "s"}` : f.message };
        }
      }

      // 2. Writes: one record per email (the latest request for an email wins), one call per CRM.
      const ready = items.filter((it) => it.req && !it.result);
      const byEmail = (name: ConnectorName) => {
        const m = new Map<string, Item>();
        for (const it of ready) if (it.connectors!.includes(name)) m.set(it.req!.email, it);
        return [...m.values()];
      };
      const plan = runtime.deps.mapping ?? DEFAULT_MAPPING_PLAN;
      const outcomes: Partial<Record<ConnectorName, Outcomes>> = {};
      const warnings: Record<string, string[]> = {};
      const addWarnings = (w: Record<string, string[]>) => {
        for (const [email, list] of Object.entries(w)) warnings[email] = [...new Set([...(warnings[email] ?? []), ...list])];
      };

      const hsItems = byEmail("hubspot");
      if (hsItems.length > 0) {
        const written = await step.run("write-hubspot", async () => {
          try {
            const ctx = { syncedAt: new Date() };
            const records: ConnectorRecord<HubSpotMapping>[] = hsItems.map((it) => ({
              key: it.index, email: it.req!.email, mapping: mapToHubSpot(profileOf(fetched, it), ctx, plan.hubspot),
            }));
            const writer = runtime.writers.hubspot!;
            // The schema first, explicitly, to learn which tone options this batch is the first to need.
            const needed = unionOptions(records);
            const changes = writer instanceof HubSpotWriter ? await writer.schema.ensure(needed) : undefined;
            const result = await writer.write(records);
            const out: Outcomes = {};
            for (const r of records) out[r.email] = settle(result.get(r.key));
            const tone = segmentProperties(plan.hubspot).tone;
            const newToneOptions = tone === undefined ? []
              : changes?.propertiesCreated.includes(tone) ? (needed[tone] ?? []).map((o) => o.value) : (changes?.optionsAdded[tone] ?? []);
            return { outcomes: out, warnings: Object.fromEntries(records.map((r) => [r.email, r.mapping.warnings])), newToneOptions };
          } catch (err) {
            throw toInngestError(err);
          }
        });
        outcomes.hubspot = written.outcomes as Outcomes;
        addWarnings(written.warnings);
        // A tone value HubSpot did not know yet deserves its segments: ask for a refresh (sync-segments is
        // debounced, so a backfill introducing many values still starts one run).
        if (opts.requestSegmentsSync && written.newToneOptions.length > 0) {
          await step.sendEvent("request-segments-sync", { name: segmentsSyncRequested.event, data: {} });
        }
      }

      const klItems = byEmail("klaviyo");
      if (klItems.length > 0) {
        const bulk = runtime.klaviyoBulk;
        if (bulk) outcomes.klaviyo = await writeKlaviyoBulk(step, bulk, klItems, fetched, plan.klaviyo, polls, addWarnings);
        else {
          // No bulk writer (a custom runtime): the per-profile writer, in one step.
          const written = await step.run("write-klaviyo", async () => {
            try {
              const ctx = { syncedAt: new Date() };
              const records = klItems.map((it) => ({ key: it.index, email: it.req!.email, mapping: mapToKlaviyo(profileOf(fetched, it), ctx, plan.klaviyo) }));
              const result = await runtime.writers.klaviyo!.write(records);
              const out: Outcomes = {};
              for (const r of records) out[r.email] = settle(result.get(r.key));
              return { outcomes: out, warnings: Object.fromEntries(records.map((r) => [r.email, r.mapping.warnings])) };
            } catch (err) {
              throw toInngestError(err);
            }
          });
          outcomes.klaviyo = written.outcomes as Outcomes;
          addWarnings(written.warnings);
        }
      }

      // 3. One outcome per event, in event order.
      const results = items.map((it): RecordResult => {
        if (it.result) return it.result;
        const f = fetched[lookupKey(it.req!)] as { s: "found"; parsed: ParseResult };
        const email = it.req!.email;
        const connectors: Partial<Record<ConnectorName, ConnectorOutcome>> = {};
        for (const name of it.connectors!) connectors[name] = outcomes[name]?.[email] ?? { status: "failed", reason: `${name} returned no outcome for this record` };
        const problems = Object.entries(connectors).filter(([, o]) => o?.status === "failed");
        const result: RecordResult = {
          identifier: it.identifier, by: it.by, email, status: problems.length ? "failed" : "synced",
          userProfileId: f.parsed.profile.userProfileId, warnings: [...new Set([...f.parsed.warnings, ...(warnings[email] ?? [])])], connectors,
        };
        if (problems.length) result.reason = problems.map(([n, o]) => `${n}: ${o?.reason ?? "failed"}`).join("; ");
        return result;
      });
      if (opts.deadLetters) await sendDeadLettersForResults(step, events, results, ctx.runId, "sync-profiles");
      return { summary: summarize(results), results };
    }),
  );

  /** With dead letters on, a run that fails for good sends one per request of its batch before failing. */
  function deadLettered<T>(ctx: Parameters<typeof withDeadLetters>[0], body: () => Promise<T>): Promise<T> {
    return opts.deadLetters ? withDeadLetters(ctx, "sync-profiles", body) : body();
  }
}

type Step = Parameters<Parameters<Inngest.Any["createFunction"]>[1]>[0]["step"];

/** Klaviyo through a bulk import job: submit, read the result (polling while it runs), then the events. */
async function writeKlaviyoBulk(
  step: Step, bulk: KlaviyoBulkWriter, klItems: Item[], fetched: Record<string, Fetched>, plan: typeof DEFAULT_MAPPING_PLAN.klaviyo,
  polls: number, addWarnings: (w: Record<string, string[]>) => void,
): Promise<Outcomes> {
  const submitted = await step.run("write-klaviyo", async () => {
    try {
      const ctx = { syncedAt: new Date() };
      const records: ConnectorRecord<KlaviyoMapping>[] = klItems.map((it) => ({
        key: it.index, email: it.req!.email, mapping: mapToKlaviyo(profileOf(fetched, it), ctx, plan),
      }));
      const jobs: Array<{ id: string; emails: string[] }> = [];
      for (const job of KlaviyoBulkWriter.jobs(records)) jobs.push({ id: await bulk.submit(job), emails: job.map((r) => r.email) });
      const events: Record<string, KlaviyoEventPlan> = {};
      for (const r of records) if (r.mapping.event) events[r.email] = r.mapping.event;
      return { jobs, events, warnings: Object.fromEntries(records.map((r) => [r.email, r.mapping.warnings])) };
    } catch (err) {
      throw toInngestError(err);
    }
  });
  addWarnings(submitted.warnings);

  // The job runs on Klaviyo's side: read it, and wait between reads (step.sleep holds no worker).
  let rejected: Record<string, string> | undefined;
  for (let poll = 0; poll < polls; poll++) {
    const read = await step.run(poll === 0 ? "klaviyo-import-result" : `klaviyo-import-result-${poll}`, async () => {
      try {
        const errors: Record<string, string> = {};
        for (const job of submitted.jobs) {
          const status = await bulk.status(job.id);
          if (status.status === "cancelled") throw new SyncError("permanent", "klaviyo", `Klaviyo bulk import job ${job.id} was cancelled`);
          if (status.status !== "complete") return { done: false as const };
          if (status.failed > 0) {
            const found = await bulk.importErrors(job.id, job.emails.map((email: string, key: number) => ({ key, email })));
            for (const [key, reason] of found) errors[job.emails[key]!] = reason;
          }
        }
        return { done: true as const, errors };
      } catch (err) {
        throw toInngestError(err);
      }
    });
    if (read.done) {
      rejected = read.errors;
      break;
    }
    await step.sleep(`klaviyo-import-wait-${poll}`, Math.min(60_000, 2000 * 2 ** poll));
  }
  const out: Outcomes = {};
  for (const job of submitted.jobs) {
    for (const email of job.emails) {
      if (!rejected) out[email] = { status: "failed", reason: `Klaviyo bulk import job ${job.id} did not complete in time`, fault: "transient" };
      else if (rejected[email]) out[email] = { status: "failed", reason: `Klaviyo rejected the profile: ${rejected[email]}`, fault: "permanent" };
      else out[email] = { status: "written" };
    }
  }

  const events: EventItem[] = Object.entries(submitted.events as Record<string, KlaviyoEventPlan>)
    .filter(([email]) => out[email]?.status === "written")
    .map(([email, event], key) => ({ key, email, event }));
  if (events.length > 0) {
    const sent = await step.run("klaviyo-events", async () => {
      try {
        const results = await bulk.sendEvents(events);
        const failed: Record<string, string> = {};
        for (const e of events) {
          const err = results.get(e.key);
          if (!err) continue;
          // A passing fault: Inngest retries this step alone (the unique_id makes a resend harmless).
          if (err.retryable) throw forFault(err.kind, err.message, err.retryAfterMs);
          failed[e.email] = err.message;
        }
        return { failed };
      } catch (err) {
        throw toInngestError(err);
      }
    });
    for (const e of events) {
      const record = { key: e.key, email: e.email, mapping: { properties: {}, event: e.event, warnings: [] } };
      const error = sent.failed[e.email];
      const outcome = withEvent(out[e.email]!, record, new Map([[e.key, error ? new SyncError("permanent", "klaviyo", error) : undefined]]));
      const { properties: _p, ...rest } = outcome;
      out[e.email] = rest;
    }
  }
  return out;
}

/** Checks one event: schema, connectors, identifier. Sets `result` when it cannot go further. */
function check(index: number, data: Record<string, unknown>, enabled: ConnectorName[]): Item {
  const rawBy = typeof data?.by === "string" && (LOOKUP_KINDS as readonly string[]).includes(data.by) ? (data.by as LookupBy) : "email";
  const item: Item = { index, identifier: typeof data?.identifier === "string" ? data.identifier : "", by: rawBy };
  const parsed = profileSyncRequestedSchema.safeParse(data ?? {});
  if (!parsed.success) {
    item.result = { identifier: item.identifier, by: rawBy, status: "invalid", reason: `event rejected: ${describeEventProblems(parsed.error)}`, warnings: [] };
    return item;
  }
  const asked = parsed.data.connectors;
  const missing = (asked ?? []).filter((c) => !enabled.includes(c));
  if (missing.length) {
    item.result = {
      identifier: item.identifier, by: rawBy, status: "failed", warnings: [],
      reason: `event asks for ${missing.join(", ")}, which has no credential configured on this server`,
    };
    return item;
  }
  item.connectors = asked ?? enabled;
  const prepared = prepareRequest(parsed.data);
  if (!prepared.ok) item.result = prepared.result;
  else item.req = prepared.value;
  return item;
}

/** Fetches profiles (bounded concurrency). A wrong credential fails the run; with `throwIfAllPassing`, so does a batch where every fetch hit a passing fault (Inngest then retries the step). */
async function fetchMany(runtime: Runtime, reqs: PreparedRequest[], throwIfAllPassing: boolean): Promise<Record<string, Fetched>> {
  const out: Record<string, Fetched> = {};
  let auth: unknown;
  await mapConcurrent(reqs, Math.max(1, runtime.deps.concurrency), async (req) => {
    if (auth) return;
    try {
      out[lookupKey(req)] = { s: "found", parsed: await runtime.fashionai.fetchProfile(req.by, req.lookup) };
    } catch (err) {
      if (!(err instanceof SyncError)) throw toInngestError(err);
      if (err.kind === "auth") auth ??= err;
      else if (err.kind === "not_found") out[lookupKey(req)] = { s: "not_found" };
      else out[lookupKey(req)] = { s: "failed", kind: err.kind, message: err.message, ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }) };
    }
  });
  if (auth) throw toInngestError(auth);
  const values = Object.values(out);
  if (throwIfAllPassing && values.length > 0 && values.every(retryable)) {
    const limited = values.filter((v): v is Extract<Fetched, { s: "failed" }> => v.s === "failed" && v.kind === "rate_limited");
    if (limited.length > 0) {
      const wait = Math.max(...limited.map((v) => v.retryAfterMs ?? 0));
      throw forFault("rate_limited", limited[0]!.message, wait > 0 ? wait : undefined);
    }
    const first = values[0] as Extract<Fetched, { s: "failed" }>;
    throw forFault(first.kind, first.message, first.retryAfterMs);
  }
  return out;
}

function retryable(f: Fetched | undefined): boolean {
  return f?.s === "failed" && (f.kind === "rate_limited" || f.kind === "transient");
}

function profileOf(fetched: Record<string, Fetched>, it: Item) {
  return (fetched[lookupKey(it.req!)] as { s: "found"; parsed: ParseResult }).parsed.profile;
}

function unionOptions(records: ReadonlyArray<ConnectorRecord<HubSpotMapping>>): Record<string, EnumOption[]> {
  const needed: Record<string, Map<string, EnumOption>> = {};
  for (const r of records) {
    for (const [name, options] of Object.entries(r.mapping.options)) {
      const map = (needed[name] ??= new Map());
      for (const o of options) if (!map.has(o.value)) map.set(o.value, o);
    }
  }
  return Object.fromEntries(Object.entries(needed).map(([k, v]) => [k, [...v.values()]]));
}

function provideOrFail(provide: RuntimeProvider): Runtime {
  try {
    return provide();
  } catch (err) {
    throw toInngestError(err);
  }
}

/**
 * A record the CRM rejected for good is a result; a passing fault is thrown so Inngest retries the step.
 * Outcomes are kept small in step output: the status and reason, not the properties written.
 */
function settle(outcome: ConnectorOutcome | undefined): ConnectorOutcome {
  if (!outcome) throw new Error("connector returned no outcome");
  if (outcome.status === "failed" && (outcome.fault === "transient" || outcome.fault === "rate_limited")) {
    throw forFault(outcome.fault, outcome.reason ?? "write failed", outcome.retryAfterMs);
  }
  const { properties: _p, ...rest } = outcome;
  return rest;
}
