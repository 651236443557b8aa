import { ConfigError, type AppConfig, type RetryPolicy, enabledConnectors, requireFashionAiToken } from "./config.js";
import { FashionAiClient } from "./fashionai/client.js";
import { HubSpotWriter } from "../connectors/hubspot/writer.js";
import { KlaviyoWriter } from "../connectors/klaviyo/writer.js";
import { KlaviyoBulkWriter } from "../connectors/klaviyo/bulk.js";
import { HubSpotReader } from "../connectors/hubspot/reader.js";
import { KlaviyoReader } from "../connectors/klaviyo/reader.js";
import type { CurrentReader } from "../connectors/shared/current.js";
import type { SchemaChanges } from "../connectors/hubspot/schema-sync.js";
import type { PipelineDeps, Writers } from "./pipeline/sync.js";
import type { ConnectorName } from "./pipeline/types.js";
import { hubspotPropertyDefinitions } from "../connectors/hubspot/schema.js";
import { DEFAULT_MAPPING_PLAN } from "./mapping/plan.js";
import type { Logger } from "./util/log.js";

export interface RuntimeOptions {
  /** Connectors asked for (`--to`, event `connectors`); undefined = every configured one. */
  to?: ConnectorName[];
  dryRun?: boolean;
  log: Logger;
  /** Overrides the configured policy (Inngest passes attempts: 1 so only Inngest retries). */
  retry?: RetryPolicy;
  onSchemaChange?: (changes: SchemaChanges) => void;
}

export interface Runtime {
  deps: PipelineDeps;
  fashionai: FashionAiClient;
  writers: Writers;
  /** Klaviyo bulk import jobs and bulk events, for batched runs (Inngest sync-profiles); set with writers.klaviyo. */
  klaviyoBulk?: KlaviyoBulkWriter;
  close(): Promise<void>;
}

/**
 * Which connectors a run writes to. Asking for one that has no credential is a configuration error;
 * a dry run with no CRM configured plans for both, so the mapping can be previewed before any token exists.
 */
export function resolveConnectors(config: AppConfig, to: ConnectorName[] | undefined, dryRun: boolean): ConnectorName[] {
  const enabled = enabledConnectors(config);
  if (dryRun && enabled.length === 0) return to ?? ["hubspot", "klaviyo"];
  if (to) {
    for (const name of to) {
      if (!enabled.includes(name)) {
        const variable = name === "hubspot" ? "HUBSPOT_ACCESS_TOKEN" : "KLAVIYO_API_KEY";
        if (!dryRun) throw new ConfigError(`--to ${name} needs ${variable} to be set`);
      }
    }
    return to;
  }
  if (enabled.length === 0) {
    throw new ConfigError("no CRM is configured: set HUBSPOT_ACCESS_TOKEN and/or KLAVIYO_API_KEY (or use --dry-run to preview)");
  }
  return enabled;
}

export function createRuntime(config: AppConfig, opts: RuntimeOptions): Runtime {
  const dryRun = opts.dryRun ?? false;
  const connectors = resolveConnectors(config, opts.to, dryRun);
  const token = requireFashionAiToken(config);
  const retry = opts.retry ?? config.retry;
  const fashionai = new FashionAiClient({
    baseUrl: config.fashionai.baseUrl, token, timeoutMs: config.timeoutMs, connections: Math.max(config.concurrency, 4),
  });
  const writers: Writers = {};
  let klaviyoBulk: KlaviyoBulkWriter | undefined;
  const common = { retry, timeoutMs: config.timeoutMs, log: opts.log };
  // The field plan (mapping overrides, or PRODUCT.md's defaults) decides names, forms and group everywhere.
  const mapping = config.mapping ?? DEFAULT_MAPPING_PLAN;
  if (!dryRun && connectors.includes("hubspot") && config.hubspot) {
    writers.hubspot = new HubSpotWriter({
      ...config.hubspot, ...common, plan: mapping.hubspot, ...(opts.onSchemaChange ? { onSchemaChange: opts.onSchemaChange } : {}),
    });
  }
  if (!dryRun && connectors.includes("klaviyo") && config.klaviyo) {
    writers.klaviyo = new KlaviyoWriter({ ...config.klaviyo, ...common });
    klaviyoBulk = new KlaviyoBulkWriter({ ...config.klaviyo, ...common });
  }
  // A dry run reads what each configured CRM holds now, to show old → new (reads only).
  const readers: Partial<Record<ConnectorName, CurrentReader>> = {};
  if (dryRun && connectors.includes("hubspot") && config.hubspot) {
    readers.hubspot = new HubSpotReader({ ...config.hubspot, retry, timeoutMs: config.timeoutMs, definitions: hubspotPropertyDefinitions(mapping.hubspot) });
  }
  if (dryRun && connectors.includes("klaviyo") && config.klaviyo) {
    readers.klaviyo = new KlaviyoReader({ ...config.klaviyo, retry, timeoutMs: config.timeoutMs });
  }
  return {
    fashionai,
    writers,
    deps: { source: fashionai, connectors, writers, dryRun, retry, concurrency: config.concurrency, log: opts.log, readers, mapping },
    ...(klaviyoBulk ? { klaviyoBulk } : {}),
    close: async () => {
      await fashionai.close();
      await klaviyoBulk?.close();
    },
  };
}
