// The in-process backfill: the same steps as `sync`, streamed so a whole audience fits in flat memory.
//
//   source pages ─► validate ─► fetch profiles (bounded, adaptive) ─► map ─┬─► HubSpot: batches of 100 unique
//                                                                         │   emails, one upsert call each
//                                                                         └─► Klaviyo: bulk import jobs of up to
//                                                                             10,000 profiles / 4.5 MB, then one
//                                                                             bulk events call per job
//
// Every row ends in exactly one outcome. At most `maxInFlight` records are between "read" and "done" at any time
// (reading waits when the pipeline is full), and only a compact result per record is kept — and, past
// `fullResultsUpTo` records, only for records that did not sync or were not found — so memory does not grow with
// the size of the source.
import { ConfigError, type RetryPolicy } from "../config.js";
import { SyncError } from "../errors.js";
import { mapToHubSpot } from "../../connectors/hubspot/mapping.js";
import { mapToKlaviyo } from "../../connectors/klaviyo/mapping.js";
import type { HubSpotWriter } from "../../connectors/hubspot/writer.js";
import { KlaviyoBulkWriter, KLAVIYO_JOB_MAX_BYTES, KLAVIYO_JOB_MAX_PROFILES, jobProfileBytes, withEvent } from "../../connectors/klaviyo/bulk.js";
import type { ConnectorRecord } from "../../connectors/shared/writer.js";
import { failedOutcome } from "../../connectors/shared/writer.js";
import type { EnumOption, HubSpotMapping, KlaviyoMapping } from "../../connectors/types.js";
import { DEFAULT_MAPPING_PLAN, type MappingPlan } from "../mapping/plan.js";
import type { ProfileSource } from "../pipeline/fetch.js";
import { prepareRequest, type PreparedRequest } from "../pipeline/prepare.js";
import type { ConnectorName, ConnectorOutcome, LookupBy, RecordResult, RecordStatus, Summary } from "../pipeline/types.js";
import type { BackfillSource } from "../sources/types.js";
import type { Logger } from "../util/log.js";
import type { RateGate } from "../util/rate.js";
import { retryDelayMs, sleep } from "../util/retry.js";

export const HUBSPOT_BATCH = 100;
/** Past this many records, results list only the records that were invalid or failed (the summary counts all). */
export const FULL_RESULTS_UP_TO = 10_000;
/** 429s retried per profile on top of the normal attempts: the rate gate slows down, so they are cheap. */
export const RATE_LIMITED_RETRIES = 10;

export type ResultsMode = "all" | "problems" | "auto";

/** A record's result in a backfill report: a RecordResult plus its row; connector properties only in dry runs. */
export interface BackfillResult extends RecordResult {
  row: number;
}

export interface BackfillReport {
  summary: Summary;
  results: BackfillResult[];
  /** Records counted in `summary` but not listed in `results` (large runs list only problems). */
  omitted?: { synced: number; not_found: number };
  configError?: string;
  /** Timing and API use, for logs and the benchmark. */
  stats: BackfillStats;
}

export interface BackfillStats {
  elapsedMs: number;
  recordsPerSecond: number;
  hubspotUpserts: number;
  klaviyoJobs: number;
  klaviyoEventCalls: number;
  gates: Array<ReturnType<RateGate["stats"]>>;
}

export interface BackfillProgress {
  read: number;
  done: number;
  inFlight: number;
  counts: Summary;
  elapsedMs: number;
  /** Fraction of the source read, when the source knows its size. */
  fraction?: number;
  finished: boolean;
}

export interface LocalBackfillDeps {
  source: BackfillSource;
  connectors: ConnectorName[];
  dryRun: boolean;
  fashionai: ProfileSource;
  hubspot?: HubSpotWriter;
  klaviyo?: KlaviyoBulkWriter;
  /** The Fashion.AI gate (its 429s slow the fetches down). */
  fashionaiGate: RateGate;
  /** All gates, for the stats. */
  gates?: RateGate[];
  retry: RetryPolicy;
  fetchConcurrency: number;
  hubspotConcurrency: number;
  klaviyoJobs: number;
  /** Records between read and done at most (default 3,000). */
  maxInFlight?: number;
  /**
   * Profiles per Klaviyo bulk import job at most (default 1,000; Klaviyo allows 10,000 and 5 MB, and the job is
   * also cut at 4.5 MB). A thousand keeps a backfill to about 3 Klaviyo calls per 1,000 profiles, far inside
   * 150/min, while fewer records wait for a job to fill (memory) or finish (the end of the run).
   */
  klaviyoJobProfiles?: number;
  results?: ResultsMode;
  onProgress?: (p: BackfillProgress) => void;
  log: Logger;
  now?: () => Date;
  /** The field plan (mapping overrides); default PRODUCT.md's schema. */
  mapping?: MappingPlan;
}

interface Rec {
  row: number;
  req: PreparedRequest;
  warnings: string[];
  userProfileId?: string;
  connectors: Partial<Record<ConnectorName, ConnectorOutcome>>;
  waiting: number;
}

type HRecord = ConnectorRecord<HubSpotMapping> & { rec: Rec };
type KRecord = ConnectorRecord<KlaviyoMapping> & { rec: Rec };

/** A counting semaphore with FIFO waiters. */
class Slots {
  private free: number;
  private readonly waiters: Array<() => void> = [];
  constructor(n: number) {
    this.free = n;
  }
  get waiting(): number {
    return this.waiters.length;
  }
  tryAcquire(): boolean {
    if (this.free <= 0) return false;
    this.free -= 1;
    return true;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free += 1;
  }
}

export async function runLocalBackfill(deps: LocalBackfillDeps): Promise<BackfillReport> {
  return new LocalBackfill(deps).run();
}

class LocalBackfill {
  private readonly started = Date.now();
  private readonly syncedAt: Date;
  private readonly counts: Summary = { requested: 0, synced: 0, not_found: 0, invalid: 0, failed: 0 };
  private results: BackfillResult[] = [];
  private mode: "all" | "problems";
  private omitted = { synced: 0, not_found: 0 };
  private read = 0;
  private done = 0;
  private configError: string | undefined;
  private readonly inFlight: Slots;
  private readonly fetchSlots: Slots;
  private readonly hubspotSlots: Slots;
  private readonly klaviyoSlots: Slots;
  private readonly tasks = new Set<Promise<void>>();
  private hsBuffer: HRecord[] = [];
  private hsEmails = new Set<string>();
  private hsOverflow: HRecord[] = [];
  private klBuffer: KRecord[] = [];
  private klBytes = 0;
  private klEmails = new Set<string>();
  private klOverflow: KRecord[] = [];
  private readonly klMax: number;
  private seq = 0;
  private schemaLock: Promise<unknown> = Promise.resolve();
  private hubspotUpserts = 0;
  private hubspotActive = 0;
  private klaviyoActive = 0;
  private klaviyoJobs = 0;
  private klaviyoEventCalls = 0;
  private lastProgress = 0;

  constructor(private readonly deps: LocalBackfillDeps) {
    this.syncedAt = (deps.now ?? (() => new Date()))();
    const maxInFlight = deps.maxInFlight ?? 3_000;
    this.inFlight = new Slots(maxInFlight);
    this.fetchSlots = new Slots(deps.fetchConcurrency);
    this.hubspotSlots = new Slots(deps.hubspotConcurrency);
    this.klaviyoSlots = new Slots(deps.klaviyoJobs);
    this.klMax = Math.max(1, Math.min(deps.klaviyoJobProfiles ?? 1_000, KLAVIYO_JOB_MAX_PROFILES, Math.floor(maxInFlight / 2)));
    this.mode = deps.results === "problems" ? "problems" : "all";
    if (!deps.dryRun) {
      if (deps.connectors.includes("hubspot") && !deps.hubspot) throw new Error("backfill: hubspot connector without a writer");
      if (deps.connectors.includes("klaviyo") && !deps.klaviyo) throw new Error("backfill: klaviyo connector without a writer");
    }
  }

  async run(): Promise<BackfillReport> {
    try {
      await this.produce();
    } catch (err) {
      if (!this.stopOn(err)) throw err;
    }
    // The source is read: the Klaviyo job filling up goes now, alongside the last fetches (which make a small last
    // job), rather than after them. Then whatever is still buffered goes out (or fails as not attempted).
    this.flushKlaviyo();
    await this.settle();
    while (this.hsBuffer.length > 0 || this.klBuffer.length > 0) {
      this.flushHubSpot();
      this.flushKlaviyo();
      await this.settle();
    }
    this.progress(true);
    const elapsedMs = Date.now() - this.started;
    const results = this.results.sort((a, b) => a.row - b.row);
    const report: BackfillReport = {
      summary: { ...this.counts },
      results,
      stats: {
        elapsedMs,
        recordsPerSecond: elapsedMs > 0 ? Math.round((this.counts.requested * 1000 * 10) / elapsedMs) / 10 : 0,
        hubspotUpserts: this.hubspotUpserts,
        klaviyoJobs: this.klaviyoJobs,
        klaviyoEventCalls: this.klaviyoEventCalls,
        gates: (this.deps.gates ?? [this.deps.fashionaiGate]).map((g) => g.stats()),
      },
    };
    if (this.mode === "problems") report.omitted = { ...this.omitted };
    if (this.configError) report.configError = this.configError;
    return report;
  }

  private async settle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
  }

  private track(p: Promise<void>): void {
    const t = p.catch((err: unknown) => {
      if (!this.stopOn(err)) this.deps.log.error("backfill task failed", { error: (err as Error)?.message ?? String(err) });
    }).finally(() => this.tasks.delete(t));
    this.tasks.add(t);
  }

  /** A 401/403 or a schema conflict stops the run: returns true when `err` is one (and records why). */
  private stopOn(err: unknown): boolean {
    const reason = err instanceof ConfigError ? err.message : err instanceof SyncError && err.kind === "auth" ? err.message : undefined;
    if (reason === undefined) return false;
    if (!this.configError) {
      this.configError = reason;
      this.deps.log.error("backfill stopped", { reason });
    }
    return true;
  }

  private async produce(): Promise<void> {
    const source = this.deps.source;
    for await (const page of readAhead(source.pages(), 2)) {
      for (const row of page.rows) {
        this.read += 1;
        if (this.configError) {
          this.finishResult({ identifier: row.request.identifier, by: row.request.by ?? "email", row: row.row, status: "failed", reason: `not attempted: ${this.configError}`, warnings: [] });
          continue;
        }
        if (row.invalid) {
          this.finishResult({ identifier: row.request.identifier, by: row.request.by ?? "email", row: row.row, status: "invalid", reason: row.invalid, warnings: [] });
          continue;
        }
        const prepared = prepareRequest(row.request);
        if (!prepared.ok) {
          const r = prepared.result;
          this.finishResult({ ...r, row: row.row, reason: `row ${row.row}: ${r.reason ?? "invalid"}` });
          continue;
        }
        await this.admit();
        await this.fetchSlots.acquire();
        const rec: Rec = { row: row.row, req: prepared.value, warnings: [], connectors: {}, waiting: 0 };
        this.track(this.fetch(rec).finally(() => this.fetchSlots.release()));
      }
      this.progress(false);
      // An API source is not read further after a stop (it would cost calls); a file is drained above, cheaply.
      if (this.configError && source.kind !== "file") break;
    }
  }

  /**
   * Waits for room in the pipeline. When it is full and no write is under way that would make room, the
   * partly filled batches go out (otherwise a Klaviyo job waiting to fill up could hold every slot).
   */
  private async admit(): Promise<void> {
    if (this.inFlight.tryAcquire()) return;
    const got = this.inFlight.acquire();
    let done = false;
    void got.then(() => (done = true));
    while (!done) {
      await Promise.race([got, sleep(250)]);
      if (done) break;
      if (this.klaviyoActive === 0 && this.klBuffer.length > 0) this.flushKlaviyo();
      if (this.hubspotActive === 0 && this.hsBuffer.length > 0) this.flushHubSpot();
    }
  }

  private async fetch(rec: Rec): Promise<void> {
    if (this.configError) return this.finishRec(rec, "failed", `not attempted: ${this.configError}`);
    let outcome: Awaited<ReturnType<LocalBackfill["fetchProfile"]>>;
    try {
      outcome = await this.fetchProfile(rec.req);
    } catch (err) {
      if (this.stopOn(err)) return this.finishRec(rec, "failed", `not attempted: ${this.configError}`);
      // Never lose a record, even to a bug: it fails with the error, the run goes on.
      this.deps.log.error("unexpected error while fetching a profile", { record: rec.req.identifier, error: (err as Error)?.message ?? String(err) });
      return this.finishRec(rec, "failed", `unexpected error: ${(err as Error)?.message ?? String(err)}`);
    }
    if (outcome.status !== "found") return this.finishRec(rec, outcome.status, outcome.reason);
    if (this.configError) return this.finishRec(rec, "failed", `not attempted: ${this.configError}`);
    const profile = outcome.profile;
    rec.userProfileId = profile.userProfileId;
    rec.warnings.push(...outcome.warnings);
    const ctx = { syncedAt: this.syncedAt };
    const key = this.seq++;
    rec.waiting = this.deps.connectors.length;
    for (const name of this.deps.connectors) {
      if (name === "hubspot") {
        const mapping = mapToHubSpot(profile, ctx, (this.deps.mapping ?? DEFAULT_MAPPING_PLAN).hubspot);
        this.addWarnings(rec, mapping.warnings);
        if (this.deps.dryRun) this.connectorDone(rec, name, { status: "planned", properties: mapping.properties });
        else this.addHubSpot({ key, email: rec.req.email, mapping, rec });
      } else {
        const mapping = mapToKlaviyo(profile, ctx, (this.deps.mapping ?? DEFAULT_MAPPING_PLAN).klaviyo);
        this.addWarnings(rec, mapping.warnings);
        if (this.deps.dryRun) {
          const planned: ConnectorOutcome = { status: "planned", properties: mapping.properties };
          if (mapping.event) planned.event = { metric: mapping.event.metric, uniqueId: mapping.event.uniqueId, status: "planned" };
          this.connectorDone(rec, name, planned);
        } else this.addKlaviyo({ key, email: rec.req.email, mapping, rec });
      }
    }
  }

  private addWarnings(rec: Rec, warnings: readonly string[]): void {
    for (const w of warnings) if (!rec.warnings.includes(w)) rec.warnings.push(w);
  }

  private async fetchProfile(req: PreparedRequest) {
    const retry = this.deps.retry;
    let attempts = 0;
    let limited = 0;
    for (;;) {
      try {
        const parsed = await this.deps.fashionaiGate.run(() => this.deps.fashionai.fetchProfile(req.by, req.lookup));
        return { status: "found" as const, profile: parsed.profile, warnings: parsed.warnings };
      } catch (err) {
        if (!(err instanceof SyncError) || err.kind === "auth") throw err;
        if (err.kind === "not_found") return { status: "not_found" as const, reason: "no Fashion.AI profile" };
        // The gate has slowed down (and paused everything if 429s came in numbers); this call waits its own
        // Retry-After, then goes through the gate again.
        if (err.kind === "rate_limited" && limited < RATE_LIMITED_RETRIES) {
          limited += 1;
          await sleep(Math.min(retry.maxDelayMs, err.retryAfterMs ?? 1000));
          continue;
        }
        attempts += 1;
        if (!err.retryable || attempts >= retry.attempts) {
          const tries = attempts + limited;
          return { status: "failed" as const, reason: err.retryable ? `${err.message} after ${tries} attempt${tries === 1 ? "" : "s"}` : err.message };
        }
        await sleep(retryDelayMs(err, attempts, retry));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- HubSpot

  private addHubSpot(r: HRecord): void {
    if (this.hsEmails.has(r.email)) {
      this.hsOverflow.push(r); // HubSpot rejects a batch naming one contact twice: next batch
      return;
    }
    this.hsBuffer.push(r);
    this.hsEmails.add(r.email);
    if (this.hsBuffer.length >= HUBSPOT_BATCH) this.flushHubSpot();
  }

  /** Sends the buffered batch; records held back as repeats of an email start the next one. */
  private flushHubSpot(): void {
    if (this.hsBuffer.length === 0) return;
    const batch = this.hsBuffer;
    this.hsBuffer = [];
    this.hsEmails = new Set();
    const overflow = this.hsOverflow;
    this.hsOverflow = [];
    this.track(this.writeHubSpot(batch));
    for (const r of overflow) this.addHubSpot(r);
  }

  private async writeHubSpot(batch: HRecord[]): Promise<void> {
    this.hubspotActive += 1;
    await this.hubspotSlots.acquire();
    try {
      if (this.configError) {
        for (const r of batch) this.connectorDone(r.rec, "hubspot", { status: "skipped", reason: `not attempted: ${this.configError}` });
        return;
      }
      const writer = this.deps.hubspot!;
      let outcomes: Map<number, ConnectorOutcome>;
      try {
        // Options are created under a lock: two concurrent PATCHes of one option list would drop each other's.
        const needed = neededOptions(batch);
        if (Object.keys(needed).length > 0) {
          const ensure = this.schemaLock.then(() => writer.schema.ensure(needed));
          this.schemaLock = ensure.catch(() => undefined);
          await ensure;
        }
        this.hubspotUpserts += 1;
        outcomes = await writer.write(batch.map(({ key, email, mapping }) => ({ key, email, mapping })));
      } catch (err) {
        if (this.stopOn(err)) {
          for (const r of batch) this.connectorDone(r.rec, "hubspot", { status: "skipped", reason: `not attempted: ${this.configError}` });
          return;
        }
        for (const r of batch) this.connectorDone(r.rec, "hubspot", failedOutcome(r.mapping.properties, asSyncError(err, "hubspot", this.deps.log)));
        return;
      }
      for (const r of batch) {
        this.connectorDone(r.rec, "hubspot", outcomes.get(r.key) ?? { status: "failed", reason: "hubspot returned no outcome for this record" });
      }
    } finally {
      this.hubspotSlots.release();
      this.hubspotActive -= 1;
    }
  }

  // ---------------------------------------------------------------------------------------------- Klaviyo

  private addKlaviyo(r: KRecord): void {
    if (this.klEmails.has(r.email)) {
      this.klOverflow.push(r);
      return;
    }
    const bytes = jobProfileBytes(r);
    if (this.klBuffer.length > 0 && this.klBytes + bytes > KLAVIYO_JOB_MAX_BYTES) this.flushKlaviyo();
    this.klBuffer.push(r);
    this.klEmails.add(r.email);
    this.klBytes += bytes;
    if (this.klBuffer.length >= this.klMax) this.flushKlaviyo();
  }

  /** Submits the buffered job; records held back as repeats of an email start the next one. */
  private flushKlaviyo(): void {
    if (this.klBuffer.length === 0) return;
    const job = this.klBuffer;
    this.klBuffer = [];
    this.klBytes = 0;
    this.klEmails = new Set();
    const overflow = this.klOverflow;
    this.klOverflow = [];
    this.track(this.writeKlaviyo(job));
    for (const r of overflow) this.addKlaviyo(r);
  }

  private async writeKlaviyo(job: KRecord[]): Promise<void> {
    this.klaviyoActive += 1;
    await this.klaviyoSlots.acquire();
    try {
      if (this.configError) {
        for (const r of job) this.connectorDone(r.rec, "klaviyo", { status: "skipped", reason: `not attempted: ${this.configError}` });
        return;
      }
      const writer = this.deps.klaviyo!;
      const records = job.map(({ key, email, mapping }) => ({ key, email, mapping }));
      let outcomes: Map<number, ConnectorOutcome>;
      try {
        this.klaviyoJobs += 1;
        const id = await writer.submit(records);
        const status = await writer.waitFor(id);
        const errors = status.failed > 0 ? await writer.importErrors(id, records) : new Map<number, string>();
        outcomes = KlaviyoBulkWriter.outcomes(records, errors);
        const events = records.filter((r) => r.mapping.event && outcomes.get(r.key)?.status === "written")
          .map((r) => ({ key: r.key, email: r.email, event: r.mapping.event! }));
        if (events.length > 0) {
          this.klaviyoEventCalls += Math.ceil(events.length / 1000);
          const sent = await writer.sendEvents(events);
          for (const r of records) outcomes.set(r.key, withEvent(outcomes.get(r.key)!, r, sent));
        }
      } catch (err) {
        if (this.stopOn(err)) {
          for (const r of job) this.connectorDone(r.rec, "klaviyo", { status: "skipped", reason: `not attempted: ${this.configError}` });
          return;
        }
        for (const r of job) this.connectorDone(r.rec, "klaviyo", failedOutcome(r.mapping.properties, asSyncError(err, "klaviyo", this.deps.log)));
        return;
      }
      for (const r of job) this.connectorDone(r.rec, "klaviyo", outcomes.get(r.key) ?? { status: "failed", reason: "klaviyo returned no outcome for this record" });
    } finally {
      this.klaviyoSlots.release();
      this.klaviyoActive -= 1;
    }
  }

  // ---------------------------------------------------------------------------------------------- outcomes

  private connectorDone(rec: Rec, name: ConnectorName, outcome: ConnectorOutcome): void {
    rec.connectors[name] = this.deps.dryRun ? outcome : compact(outcome);
    rec.waiting -= 1;
    if (rec.waiting > 0) return;
    const problems: string[] = [];
    for (const n of this.deps.connectors) {
      const c = rec.connectors[n];
      if (!c) problems.push(`${n}: not attempted`);
      else if (c.status === "failed" || c.status === "skipped") problems.push(`${n}: ${c.reason ?? c.status}`);
    }
    this.finishRec(rec, problems.length ? "failed" : "synced", problems.length ? problems.join("; ") : undefined);
  }

  private finishRec(rec: Rec, status: RecordStatus, reason: string | undefined): void {
    const r: BackfillResult = {
      identifier: rec.req.identifier, by: rec.req.by, row: rec.row, email: rec.req.email, status, warnings: rec.warnings,
    };
    if (rec.userProfileId !== undefined) r.userProfileId = rec.userProfileId;
    if (reason !== undefined) r.reason = reason;
    if (Object.keys(rec.connectors).length > 0) r.connectors = rec.connectors;
    this.finishResult(r);
    this.inFlight.release();
  }

  private finishResult(r: BackfillResult): void {
    this.counts.requested += 1;
    this.counts[r.status] += 1;
    this.done += 1;
    if (this.mode === "all" && this.deps.results !== "all" && this.counts.requested > FULL_RESULTS_UP_TO) {
      this.mode = "problems";
      this.results = this.results.filter((x) => {
        if (x.status === "synced" || x.status === "not_found") {
          this.omitted[x.status] += 1;
          return false;
        }
        return true;
      });
    }
    if (this.mode === "problems" && (r.status === "synced" || r.status === "not_found")) this.omitted[r.status] += 1;
    else this.results.push(r);
    this.progress(false);
  }

  private progress(finished: boolean): void {
    if (!this.deps.onProgress) return;
    const now = Date.now();
    if (!finished && now - this.lastProgress < 100) return;
    this.lastProgress = now;
    const p = this.deps.source.progress?.();
    this.deps.onProgress({
      read: this.read, done: this.done, inFlight: this.read - this.done, counts: { ...this.counts },
      elapsedMs: now - this.started, finished,
      ...(p && p.total > 0 ? { fraction: Math.min(1, p.done / p.total) } : {}),
    });
  }
}

/** Iterates `it` while fetching up to `n` items ahead (the next source page is read while this one is processed). */
export async function* readAhead<T>(it: AsyncIterable<T>, n: number): AsyncGenerator<T> {
  const iter = it[Symbol.asyncIterator]();
  const queue: Array<Promise<IteratorResult<T>>> = [];
  const pull = () => {
    const p = iter.next();
    p.catch(() => undefined); // rethrown when awaited below; never an unhandled rejection meanwhile
    queue.push(p);
  };
  for (let i = 0; i < n; i++) pull();
  for (;;) {
    const r = await queue.shift()!;
    if (r.done) return;
    pull();
    yield r.value;
  }
}

/** A write that failed with something other than a SyncError (a bug) still fails its records, with the error. */
function asSyncError(err: unknown, service: "hubspot" | "klaviyo", log: Logger): SyncError {
  if (err instanceof SyncError) return err;
  log.error("unexpected error while writing a batch", { connector: service, error: (err as Error)?.message ?? String(err) });
  return new SyncError("permanent", service, `unexpected error: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** Keeps a written record's outcome small: the status (and event), not the properties written. */
function compact(o: ConnectorOutcome): ConnectorOutcome {
  const { properties: _p, ...rest } = o;
  return rest;
}

function neededOptions(batch: readonly HRecord[]): Record<string, EnumOption[]> {
  const needed: Record<string, Map<string, EnumOption>> = {};
  for (const r of batch) {
    for (const [name, options] of Object.entries(r.mapping.options)) {
      const map = (needed[name] ??= new Map());
      for (const o of options) if (!map.has(o.value)) map.set(o.value, o);
    }
  }
  return Object.fromEntries(Object.entries(needed).map(([k, v]) => [k, [...v.values()]]));
}

/** A result of a record that never reached an API (kept for symmetry with the sync report). */
export function invalidResult(identifier: string, by: LookupBy, row: number, reason: string): BackfillResult {
  return { identifier, by, row, status: "invalid", reason, warnings: [] };
}
