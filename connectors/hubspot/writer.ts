import type { Client } from "@hubspot/api-client";
import type { RetryPolicy } from "../../src/config.js";
import { SyncError } from "../../src/errors.js";
import type { Logger } from "../../src/util/log.js";
import type { RateGate } from "../../src/util/rate.js";
import { withRetry } from "../../src/util/retry.js";
import type { HubSpotMapping } from "../types.js";
import { batchesByUniqueEmail, failedOutcome, type ConnectorOutcomes, type ConnectorRecord, type ConnectorWriter } from "../shared/writer.js";
import { withTimeout } from "../shared/timeout.js";
import { createHubSpotClient } from "./client.js";
import { classifyHubSpotError } from "./errors.js";
import { HubSpotSchemaSync, type SchemaChanges } from "./schema-sync.js";
import { hubspotSchema } from "./schema.js";
import type { HubSpotPlan } from "../../src/mapping/plan.js";

/** HubSpot's batch endpoints take at most 100 inputs per call. */
export const HUBSPOT_BATCH_SIZE = 100;

export interface HubSpotWriterOptions {
  baseUrl: string;
  token: string;
  retry: RetryPolicy;
  timeoutMs: number;
  log: Logger;
  /** Told about every schema change, so a sync can request a segment refresh for new tone values. */
  onSchemaChange?: (changes: SchemaChanges) => void;
  /** Client-side rate control (local backfills): every HubSpot call, schema calls included, goes through it. */
  gate?: Pick<RateGate, "run">;
  /** The field plan: which group and properties the schema sync keeps in place (default PRODUCT.md's). */
  plan?: HubSpotPlan;
}

type Batch = ConnectorRecord<HubSpotMapping>[];

export class HubSpotWriter implements ConnectorWriter<HubSpotMapping> {
  readonly name = "hubspot" as const;
  readonly client: Client;
  readonly schema: HubSpotSchemaSync;

  constructor(private readonly opts: HubSpotWriterOptions) {
    this.client = createHubSpotClient(opts);
    this.schema = new HubSpotSchemaSync(this.client, opts, hubspotSchema(opts.plan));
  }

  async write(records: Batch): Promise<ConnectorOutcomes> {
    const outcomes: ConnectorOutcomes = new Map();
    if (records.length === 0) return outcomes;
    await this.ensureSchemaFor(records);
    for (const batch of batchesByUniqueEmail(records, HUBSPOT_BATCH_SIZE)) {
      await this.writeBatch(batch, outcomes, true);
    }
    return outcomes;
  }

  private async ensureSchemaFor(records: Batch): Promise<void> {
    const needed: Record<string, Map<string, { value: string; label: string }>> = {};
    for (const r of records) {
      for (const [name, options] of Object.entries(r.mapping.options)) {
        const map = (needed[name] ??= new Map());
        for (const o of options) if (!map.has(o.value)) map.set(o.value, o);
      }
    }
    const changes = await this.schema.ensure(Object.fromEntries(Object.entries(needed).map(([k, v]) => [k, [...v.values()]])));
    this.opts.onSchemaChange?.(changes);
  }

  private upsert(batch: Batch) {
    const inputs = batch.map((r) => ({ id: r.email, idProperty: "email", properties: r.mapping.properties }));
    const attempt = async () => {
      try {
        return await withTimeout("hubspot", "HubSpot batch upsert", this.opts.timeoutMs,
          this.client.crm.contacts.batchApi.upsert({ inputs }));
      } catch (err) {
        throw classifyHubSpotError(err, "batch upsert of contacts");
      }
    };
    return withRetry(() => (this.opts.gate ? this.opts.gate.run(attempt) : attempt()), this.opts.retry);
  }

  /**
   * One call for up to 100 records. When HubSpot rejects the whole batch because of some records,
   * the batch is split in halves until the bad records are alone, so the others still land.
   */
  private async writeBatch(batch: Batch, outcomes: ConnectorOutcomes, mayRefreshSchema: boolean): Promise<void> {
    let response;
    try {
      response = await this.upsert(batch);
    } catch (err) {
      if (!(err instanceof SyncError) || err.kind === "auth") throw err;
      if (err.kind === "permanent" && mayRefreshSchema && /INVALID_OPTION|PROPERTY_DOESNT_EXIST|does not exist|not one of the allowed options/i.test(err.message)) {
        // Another run may have replaced the option list since we cached it: re-read once and retry.
        this.schema.invalidate();
        await this.ensureSchemaFor(batch);
        return this.writeBatch(batch, outcomes, false);
      }
      if (err.kind === "permanent" && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await this.writeBatch(batch.slice(0, half), outcomes, false);
        await this.writeBatch(batch.slice(half), outcomes, false);
        return;
      }
      for (const r of batch) outcomes.set(r.key, failedOutcome(r.mapping.properties, err));
      return;
    }
    const rejected = rejectedEmails(response);
    for (const r of batch) {
      const reason = rejected.get(r.email);
      outcomes.set(r.key, reason
        ? { status: "failed", properties: r.mapping.properties, reason: `HubSpot rejected the contact: ${reason}`, fault: "permanent" }
        : { status: "written", properties: r.mapping.properties });
    }
  }
}

/** A 207 answer lists per-input errors; their context names the ids (emails) concerned. */
function rejectedEmails(response: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const errors = (response as { errors?: Array<{ message?: string; context?: Record<string, string[]> }> }).errors ?? [];
  for (const e of errors) {
    for (const id of e.context?.ids ?? e.context?.id ?? []) out.set(id.toLowerCase(), e.message ?? "rejected");
  }
  return out;
}
