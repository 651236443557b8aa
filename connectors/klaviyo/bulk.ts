// Klaviyo writes in bulk, for batches and backfills:
//   - profiles through bulk import jobs (POST /api/profile-bulk-import-jobs, up to 10,000 profiles and 5 MB per
//     job; per-profile errors are read back from the job's import-errors once it completes), and
//   - Novo Comportamento events through POST /api/event-bulk-create-jobs (up to 1,000 events per call). That
//     endpoint rejects the WHOLE request when a unique_id repeats inside it, so events are deduplicated by
//     (email, unique_id) and the same unique_id never goes twice into one call.
// Both endpoints allow 10/s burst and 150/min steady (job reads count too), so one job per batch and one
// events call per job keep a batch at three or four calls whatever its size.
import type { RetryPolicy } from "../../src/config.js";
import { SyncError } from "../../src/errors.js";
import type { ConnectorOutcome } from "../../src/pipeline/types.js";
import type { Logger } from "../../src/util/log.js";
import type { RateGate } from "../../src/util/rate.js";
import { sleep as defaultSleep, withRetry, type Sleep } from "../../src/util/retry.js";
import type { KlaviyoEventPlan, KlaviyoMapping } from "../types.js";
import { batchesByUniqueEmail, failedOutcome, type ConnectorOutcomes, type ConnectorRecord, type ConnectorWriter } from "../shared/writer.js";
import { KlaviyoHttp, nextPageCursor } from "./http.js";

export const KLAVIYO_JOB_MAX_PROFILES = 10_000;
/** Klaviyo's limit is 5 MB per request; stay under it with room for the envelope. */
export const KLAVIYO_JOB_MAX_BYTES = 4_500_000;
export const KLAVIYO_EVENTS_PER_CALL = 1_000;
export const KLAVIYO_EVENTS_MAX_BYTES = 4_500_000;

type KRecord = ConnectorRecord<KlaviyoMapping>;

export interface KlaviyoBulkOptions {
  baseUrl: string;
  apiKey: string;
  retry: RetryPolicy;
  timeoutMs: number;
  log: Logger;
  /** Gate for the bulk import endpoints (create and job reads share 10/s, 150/min). */
  jobsGate?: RateGate;
  /** Gate for event-bulk-create-jobs (10/s, 150/min). */
  eventsGate?: RateGate;
  /** First wait between job status reads (doubles up to maxPollMs). Default 500 ms. */
  pollMs?: number;
  maxPollMs?: number;
  /** Give up waiting for a job after this long (its records fail, retryable). Default 15 min. */
  maxWaitMs?: number;
  sleep?: Sleep;
  /** An existing client (default: one of its own, closed by close()). */
  http?: KlaviyoHttp;
}

export interface JobStatus {
  id: string;
  status: string;
  total: number;
  completed: number;
  failed: number;
}

/** One profile as it goes into a job. */
export function jobProfile(record: KRecord) {
  return { type: "profile", attributes: { email: record.email, properties: record.mapping.properties } };
}

/** Approximate bytes a record adds to a job request (for the 5 MB limit). */
export function jobProfileBytes(record: KRecord): number {
  return Buffer.byteLength(JSON.stringify({ type: "profile", attributes: { email: record.email, properties: record.mapping.properties } })) + 1;
}

export interface EventItem {
  key: number;
  email: string;
  event: KlaviyoEventPlan;
}

/** Result of sending events: per record key, undefined when sent, else the error. */
export type EventResults = Map<number, SyncError | undefined>;

export class KlaviyoBulkWriter implements ConnectorWriter<KlaviyoMapping> {
  readonly name = "klaviyo" as const;
  readonly http: KlaviyoHttp;
  private readonly ownsHttp: boolean;
  private readonly sleep: Sleep;

  constructor(private readonly opts: KlaviyoBulkOptions) {
    this.ownsHttp = !opts.http;
    this.http = opts.http ?? new KlaviyoHttp(opts);
    this.sleep = opts.sleep ?? defaultSleep;
  }

  async close(): Promise<void> {
    if (this.ownsHttp) await this.http.close();
  }

  private call<T>(gate: RateGate | undefined, fn: () => Promise<T>, retry: RetryPolicy = this.opts.retry): Promise<T> {
    return withRetry(() => (gate ? gate.run(fn) : fn()), retry);
  }

  /** Splits records into jobs that respect the profile count and byte limits, one email per job. */
  static jobs(records: readonly KRecord[], maxProfiles = KLAVIYO_JOB_MAX_PROFILES, maxBytes = KLAVIYO_JOB_MAX_BYTES): KRecord[][] {
    const out: KRecord[][] = [];
    for (const unique of batchesByUniqueEmail(records, maxProfiles)) {
      let current: KRecord[] = [];
      let bytes = 0;
      for (const r of unique) {
        const b = jobProfileBytes(r);
        if (current.length > 0 && bytes + b > maxBytes) {
          out.push(current);
          current = [];
          bytes = 0;
        }
        current.push(r);
        bytes += b;
      }
      if (current.length > 0) out.push(current);
    }
    return out;
  }

  /** Submits one bulk import job (the caller keeps within the limits; see `jobs`). Returns the job id. */
  async submit(records: readonly KRecord[]): Promise<string> {
    const res = await this.call(this.opts.jobsGate, () =>
      this.http.post("/api/profile-bulk-import-jobs", {
        data: { type: "profile-bulk-import-job", attributes: { profiles: { data: records.map(jobProfile) } } },
      }, "profile bulk import"),
    );
    const id = (res.data as { id?: string } | undefined)?.id;
    if (!id) throw new SyncError("transient", "klaviyo", "Klaviyo accepted the bulk import job but returned no job id");
    return id;
  }

  async status(jobId: string, retry?: RetryPolicy): Promise<JobStatus> {
    const res = await this.call(this.opts.jobsGate, () =>
      this.http.get(`/api/profile-bulk-import-jobs/${encodeURIComponent(jobId)}`, {}, "bulk import job status"), retry);
    const a = ((res.data as { attributes?: unknown } | undefined)?.attributes ?? {}) as {
      status?: string; total_count?: number; completed_count?: number; failed_count?: number;
    };
    return { id: jobId, status: String(a.status ?? "unknown"), total: a.total_count ?? 0, completed: a.completed_count ?? 0, failed: a.failed_count ?? 0 };
  }

  /** Per-record import errors of a completed job: record key → reason. */
  async importErrors(jobId: string, records: ReadonlyArray<{ key: number; email: string }>, retry?: RetryPolicy): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const byEmail = new Map(records.map((r) => [r.email.toLowerCase(), r.key]));
    let cursor: string | undefined;
    for (let pages = 0; pages < 1000; pages++) {
      const res = await this.call(this.opts.jobsGate, () =>
        this.http.get(`/api/profile-bulk-import-jobs/${encodeURIComponent(jobId)}/import-errors`, { "page[size]": "100", "page[cursor]": cursor }, "bulk import errors"), retry);
      for (const e of (Array.isArray(res.data) ? res.data : []) as Array<{ attributes?: unknown }>) {
        const a = (e.attributes ?? {}) as { detail?: string; title?: string; source?: { pointer?: string }; original_payload?: { email?: unknown } | null };
        const m = /\/data\/attributes\/profiles\/data\/(\d+)/.exec(a.source?.pointer ?? "");
        const index = m ? Number(m[1]) : undefined;
        const email = typeof a.original_payload?.email === "string" ? a.original_payload.email.toLowerCase() : undefined;
        const key = index !== undefined && records[index] ? records[index]!.key : email !== undefined ? byEmail.get(email) : undefined;
        if (key !== undefined) out.set(key, a.detail ?? a.title ?? "rejected");
      }
      cursor = nextPageCursor(res.links?.next);
      if (!cursor) break;
    }
    return out;
  }

  /** Polls until the job is complete; returns its last status. Throws a retryable SyncError past maxWaitMs. */
  async waitFor(jobId: string): Promise<JobStatus> {
    const started = Date.now();
    let delay = this.opts.pollMs ?? 500;
    for (;;) {
      const s = await this.status(jobId);
      if (s.status === "complete") return s;
      if (s.status === "cancelled") throw new SyncError("permanent", "klaviyo", `Klaviyo bulk import job ${jobId} was cancelled`);
      if (Date.now() - started > (this.opts.maxWaitMs ?? 15 * 60_000)) {
        throw new SyncError("transient", "klaviyo", `Klaviyo bulk import job ${jobId} did not complete within ${Math.round((this.opts.maxWaitMs ?? 900_000) / 1000)} s`);
      }
      await this.sleep(delay);
      delay = Math.min(delay * 2, this.opts.maxPollMs ?? 5_000);
    }
  }

  /** Outcomes of a completed job: written, or failed with Klaviyo's reason. */
  static outcomes(records: readonly KRecord[], errors: Map<number, string>): ConnectorOutcomes {
    const out: ConnectorOutcomes = new Map();
    for (const r of records) {
      const reason = errors.get(r.key);
      out.set(r.key, reason
        ? { status: "failed", properties: r.mapping.properties, reason: `Klaviyo rejected the profile: ${reason}`, fault: "permanent" }
        : { status: "written", properties: r.mapping.properties });
    }
    return out;
  }

  /**
   * Sends events in as few calls as the API allows. Each call carries at most 1,000 events, stays under 5 MB,
   * and never holds one unique_id twice; a (email, unique_id) pair seen twice is sent once and reported for both.
   */
  async sendEvents(items: readonly EventItem[]): Promise<EventResults> {
    const results: EventResults = new Map();
    const unique = new Map<string, EventItem[]>();
    for (const item of items) {
      const k = `${item.email.toLowerCase()}\u0000${item.event.metric}\u0000${item.event.uniqueId}`;
      const list = unique.get(k);
      if (list) list.push(item);
      else unique.set(k, [item]);
    }
    const firsts = [...unique.values()].map((list) => ({ item: list[0]!, email: list[0]!.event.uniqueId, all: list }));
    // batchesByUniqueEmail keeps one "email" per batch: keyed by unique_id here.
    for (const batch of batchesByUniqueEmail(firsts, KLAVIYO_EVENTS_PER_CALL)) {
      for (const part of splitByBytes(batch, (b) => eventBytes(b.item), KLAVIYO_EVENTS_MAX_BYTES)) {
        let error: SyncError | undefined;
        try {
          await this.call(this.opts.eventsGate, () =>
            this.http.post("/api/event-bulk-create-jobs", {
              data: { type: "event-bulk-create-job", attributes: { "events-bulk-create": { data: part.map((p) => eventEntry(p.item)) } } },
            }, "event bulk create"),
          );
        } catch (err) {
          if (!(err instanceof SyncError) || err.kind === "auth") throw err;
          error = err;
        }
        for (const p of part) for (const it of p.all) results.set(it.key, error);
      }
    }
    return results;
  }

  /** Whole write for one batch: jobs, wait, import errors, then events for the profiles that landed. */
  async write(records: KRecord[]): Promise<ConnectorOutcomes> {
    const outcomes: ConnectorOutcomes = new Map();
    for (const job of KlaviyoBulkWriter.jobs(records)) {
      let jobOutcomes: ConnectorOutcomes;
      try {
        const id = await this.submit(job);
        const status = await this.waitFor(id);
        const errors = status.failed > 0 ? await this.importErrors(id, job) : new Map<number, string>();
        jobOutcomes = KlaviyoBulkWriter.outcomes(job, errors);
      } catch (err) {
        if (!(err instanceof SyncError) || err.kind === "auth") throw err;
        for (const r of job) outcomes.set(r.key, failedOutcome(r.mapping.properties, err));
        continue;
      }
      const events = job.filter((r) => r.mapping.event && jobOutcomes.get(r.key)?.status === "written")
        .map((r) => ({ key: r.key, email: r.email, event: r.mapping.event! }));
      const sent = events.length ? await this.sendEvents(events) : new Map<number, SyncError | undefined>();
      for (const r of job) outcomes.set(r.key, withEvent(jobOutcomes.get(r.key)!, r, sent));
    }
    return outcomes;
  }
}

/** Adds the event's fate to a written profile's outcome (a failed event fails the record: it must be retried). */
export function withEvent(outcome: ConnectorOutcome, record: KRecord, sent: EventResults): ConnectorOutcome {
  const event = record.mapping.event;
  if (!event || outcome.status !== "written" || !sent.has(record.key)) return outcome;
  const err = sent.get(record.key);
  if (err) {
    return {
      ...failedOutcome(record.mapping.properties, err),
      reason: `profile written, but the ${event.metric} event failed: ${err.message}`,
    };
  }
  return { ...outcome, event: { metric: event.metric, uniqueId: event.uniqueId, status: "sent" } };
}

function eventEntry(item: EventItem) {
  return {
    type: "event-bulk-create",
    attributes: {
      profile: { data: { type: "profile", attributes: { email: item.email } } },
      events: {
        data: [{
          type: "event",
          attributes: {
            properties: item.event.properties,
            unique_id: item.event.uniqueId,
            metric: { data: { type: "metric", attributes: { name: item.event.metric } } },
          },
        }],
      },
    },
  };
}

function eventBytes(item: EventItem): number {
  return Buffer.byteLength(JSON.stringify(item.event.properties)) + item.email.length + item.event.uniqueId.length + 300;
}

function splitByBytes<T>(items: readonly T[], size: (t: T) => number, max: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const it of items) {
    const b = size(it);
    if (cur.length > 0 && bytes + b > max) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += b;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
