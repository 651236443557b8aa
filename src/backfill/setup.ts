// Wires a local backfill from the configuration: the source, one rate gate per API (sized from the vendor
// limits), the Fashion.AI client, the HubSpot writer and the Klaviyo bulk writer.
import { ConfigError, enabledConnectors, type AppConfig } from "../config.js";
import { FashionAiClient } from "../fashionai/client.js";
import { createHubSpotClient } from "../../connectors/hubspot/client.js";
import { HubSpotWriter } from "../../connectors/hubspot/writer.js";
import { KlaviyoHttp } from "../../connectors/klaviyo/http.js";
import { KlaviyoBulkWriter } from "../../connectors/klaviyo/bulk.js";
import type { ConnectorName } from "../pipeline/types.js";
import { FileSource } from "../sources/file.js";
import { HubSpotContactsSource } from "../sources/hubspot.js";
import { KlaviyoProfilesSource } from "../sources/klaviyo.js";
import type { BackfillSource } from "../sources/types.js";
import type { Logger } from "../util/log.js";
import { RateGate } from "../util/rate.js";
import type { VendorLimits } from "./limits.js";
import { runLocalBackfill, type BackfillProgress, type BackfillReport, type LocalBackfillDeps, type ResultsMode } from "./local.js";

export type SourceSpec = { kind: "hubspot" } | { kind: "klaviyo" } | { kind: "file"; path: string };

export function parseSourceSpec(value: string): SourceSpec {
  const v = value.trim();
  if (v === "hubspot") return { kind: "hubspot" };
  if (v === "klaviyo") return { kind: "klaviyo" };
  return { kind: "file", path: v };
}

export interface LocalBackfillOptions {
  source: SourceSpec;
  to?: ConnectorName[];
  dryRun: boolean;
  modifiedSince?: Date;
  results?: ResultsMode;
  onProgress?: (p: BackfillProgress) => void;
  log: Logger;
  /** Records between read and done at most. */
  maxInFlight?: number;
}

export interface LocalBackfill {
  deps: LocalBackfillDeps;
  gates: Record<string, RateGate>;
  run(): Promise<BackfillReport>;
  close(): Promise<void>;
}

/**
 * The same rule as `sync` (runtime.ts resolveConnectors), restated here so a backfill does not load the
 * klaviyo-api SDK through the runtime (about 80 MB of memory it has no use for).
 */
export function backfillConnectors(config: AppConfig, to: ConnectorName[] | undefined, dryRun: boolean): ConnectorName[] {
  const enabled = enabledConnectors(config);
  if (dryRun && enabled.length === 0) return to ?? ["hubspot", "klaviyo"];
  if (to) {
    for (const name of to) {
      if (!enabled.includes(name) && !dryRun) {
        throw new ConfigError(`--to ${name} needs ${name === "hubspot" ? "HUBSPOT_ACCESS_TOKEN" : "KLAVIYO_API_KEY"} to be set`);
      }
    }
    return to;
  }
  if (enabled.length === 0) {
    throw new ConfigError("no CRM is configured: set HUBSPOT_ACCESS_TOKEN and/or KLAVIYO_API_KEY (or use --dry-run to preview)");
  }
  return enabled;
}

export function createLocalBackfill(config: AppConfig, limits: VendorLimits, opts: LocalBackfillOptions): LocalBackfill {
  const connectors = backfillConnectors(config, opts.to, opts.dryRun);
  if (!config.fashionai.token) throw new ConfigError("FASHIONAI_APP_TOKEN is not set (the Fashion.AI app token)");
  const log = opts.log;
  const gates = {
    fashionai: new RateGate({ name: "fashionai", maxConcurrency: limits.fetchConcurrency, windows: limits.fashionai, log }),
    hubspot: new RateGate({ name: "hubspot", maxConcurrency: limits.hubspotConcurrency + 2, windows: limits.hubspot, log }),
    hubspotSearch: new RateGate({ name: "hubspot-search", maxConcurrency: 1, windows: limits.hubspotSearch, log }),
    klaviyoBulk: new RateGate({ name: "klaviyo-bulk-import", maxConcurrency: limits.klaviyoJobs + 1, windows: limits.klaviyoBulk, log }),
    klaviyoEvents: new RateGate({ name: "klaviyo-events", maxConcurrency: 2, windows: limits.klaviyoEvents, log }),
    klaviyoProfiles: new RateGate({ name: "klaviyo-profiles", maxConcurrency: 2, windows: limits.klaviyoProfiles, log }),
  };
  const retry = config.retry;
  const timeoutMs = config.timeoutMs;

  let source: BackfillSource;
  const spec = opts.source;
  const klaviyoHttp = config.klaviyo ? new KlaviyoHttp({ ...config.klaviyo, timeoutMs, connections: limits.klaviyoJobs + 4 }) : undefined;
  if (spec.kind === "hubspot") {
    if (!config.hubspot) throw new ConfigError("--source hubspot needs HUBSPOT_ACCESS_TOKEN to be set");
    source = new HubSpotContactsSource({
      client: createHubSpotClient(config.hubspot), retry, timeoutMs, gate: gates.hubspot, searchGate: gates.hubspotSearch,
      ...(opts.modifiedSince ? { modifiedSince: opts.modifiedSince } : {}),
    });
  } else if (spec.kind === "klaviyo") {
    if (!klaviyoHttp) throw new ConfigError("--source klaviyo needs KLAVIYO_API_KEY to be set");
    source = new KlaviyoProfilesSource({
      http: klaviyoHttp, retry, gate: gates.klaviyoProfiles,
      ...(opts.modifiedSince ? { modifiedSince: opts.modifiedSince } : {}),
    });
  } else {
    if (opts.modifiedSince) throw new ConfigError("--modified-since applies to --source hubspot or klaviyo, not to a file");
    source = new FileSource({ path: spec.path });
  }

  const fashionai = new FashionAiClient({
    baseUrl: config.fashionai.baseUrl, token: config.fashionai.token, timeoutMs, connections: limits.fetchConcurrency,
  });
  const deps: LocalBackfillDeps = {
    source, connectors, dryRun: opts.dryRun, fashionai, fashionaiGate: gates.fashionai, gates: Object.values(gates),
    retry, fetchConcurrency: limits.fetchConcurrency, hubspotConcurrency: limits.hubspotConcurrency, klaviyoJobs: limits.klaviyoJobs,
    log, ...(opts.results ? { results: opts.results } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.maxInFlight ? { maxInFlight: opts.maxInFlight } : {}),
    ...(config.mapping ? { mapping: config.mapping } : {}),
  };
  if (!opts.dryRun && connectors.includes("hubspot") && config.hubspot) {
    deps.hubspot = new HubSpotWriter({ ...config.hubspot, retry, timeoutMs, log, gate: gates.hubspot, ...(config.mapping ? { plan: config.mapping.hubspot } : {}) });
  }
  if (!opts.dryRun && connectors.includes("klaviyo") && config.klaviyo) {
    deps.klaviyo = new KlaviyoBulkWriter({
      ...config.klaviyo, retry, timeoutMs, log, jobsGate: gates.klaviyoBulk, eventsGate: gates.klaviyoEvents, ...(klaviyoHttp ? { http: klaviyoHttp } : {}),
    });
  }
  return {
    deps,
    gates,
    run: () => runLocalBackfill(deps),
    async close() {
      for (const g of Object.values(gates)) g.close();
      await fashionai.close();
      await klaviyoHttp?.close();
    },
  };
}
