// Wires a local backfill from the configuration: the source, one rate gate per API (sized from the vendor
// limits), the Fashion.AI client, the HubSpot writer and the Klaviyo bulk writer.
import { ConfigError, type AppConfig } from "../config.js";
import { FashionAiClient } from "../fashionai/client.js";
import { createHubSpotClient } from "../../connectors/hubspot/client.js";
import { HubSpotWriter } from "../../connectors/hubspot/writer.js";
import { createKlaviyoApis } from "../../connectors/klaviyo/client.js";
import { KlaviyoBulkWriter } from "../../connectors/klaviyo/bulk.js";
import type { ConnectorName } from "../pipeline/types.js";
import { resolveConnectors } from "../runtime.js";
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

export function createLocalBackfill(config: AppConfig, limits: VendorLimits, opts: LocalBackfillOptions): LocalBackfill {
  const connectors = resolveConnectors(config, opts.to, opts.dryRun);
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
  if (spec.kind === "hubspot") {
    if (!config.hubspot) throw new ConfigError("--source hubspot needs HUBSPOT_ACCESS_TOKEN to be set");
    source = new HubSpotContactsSource({
      client: createHubSpotClient(config.hubspot), retry, timeoutMs, gate: gates.hubspot, searchGate: gates.hubspotSearch,
      ...(opts.modifiedSince ? { modifiedSince: opts.modifiedSince } : {}),
    });
  } else if (spec.kind === "klaviyo") {
    if (!config.klaviyo) throw new ConfigError("--source klaviyo needs KLAVIYO_API_KEY to be set");
    source = new KlaviyoProfilesSource({
      profiles: createKlaviyoApis(config.klaviyo).profiles, retry, timeoutMs, gate: gates.klaviyoProfiles,
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
  };
  if (!opts.dryRun && connectors.includes("hubspot") && config.hubspot) {
    deps.hubspot = new HubSpotWriter({ ...config.hubspot, retry, timeoutMs, log, gate: gates.hubspot });
  }
  if (!opts.dryRun && connectors.includes("klaviyo") && config.klaviyo) {
    deps.klaviyo = new KlaviyoBulkWriter({
      ...config.klaviyo, retry, timeoutMs, log, jobsGate: gates.klaviyoBulk, eventsGate: gates.klaviyoEvents,
    });
  }
  return {
    deps,
    gates,
    run: () => runLocalBackfill(deps),
    async close() {
      for (const g of Object.values(gates)) g.close();
      await fashionai.close();
    },
  };
}
