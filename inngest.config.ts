// The Inngest client and the registry of functions served at /api/inngest.
import { Inngest } from "inngest";
import { enabledConnectors, loadConfig } from "./src/config.js";
import { createSyncProfiles, type RuntimeProvider } from "./src/inngest/functions/sync-profiles.js";
import { createBackfill, envBackfillSources } from "./src/inngest/functions/backfill.js";
import { createScheduledRefresh, readRefreshSettings } from "./src/inngest/functions/scheduled-refresh.js";
import { createSyncSegments, type SegmentsContext, type SegmentsProvider } from "./src/inngest/functions/sync-segments.js";
import { createSegmentServices, readKlaviyoWriteRate, readSegmentCapOverride } from "./src/segments/setup.js";
import { createRuntime, type Runtime } from "./src/runtime.js";
import { createLogger, type Logger } from "./src/util/log.js";

export const APP_ID = "fashionai-crm-sync";

/** Local dev server mode only when asked (INNGEST_DEV=1); otherwise the SDK's cloud mode, which needs keys. */
export function createInngest(env: Record<string, string | undefined> = process.env): Inngest {
  const dev = env.INNGEST_DEV;
  return new Inngest({
    id: APP_ID,
    // The SDK's own messages go through our logger too: same format, same redaction.
    logger: inngestLogger(createLogger({ env })),
    ...(dev !== undefined && dev !== "" && dev !== "0" ? { isDev: true } : {}),
  });
}

function inngestLogger(log: Logger) {
  const text = (args: unknown[]) =>
    args.map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : JSON.stringify(a))).join(" ");
  return {
    info: (...args: unknown[]) => log.info(text(args), { source: "inngest" }),
    warn: (...args: unknown[]) => log.warn(text(args), { source: "inngest" }),
    error: (...args: unknown[]) => log.error(text(args), { source: "inngest" }),
    debug: (...args: unknown[]) => log.debug(text(args), { source: "inngest" }),
  };
}

/**
 * The runtime for durable runs: built once per process from the environment (and the mapping override
 * file: FASHIONAI_SYNC_CONFIG, else ./fashionai-sync.config.json), with in-process retries off so that
 * Inngest's retries are the only ones.
 */
export function envRuntimeProvider(env: Record<string, string | undefined> = process.env): RuntimeProvider {
  let runtime: Runtime | undefined;
  return () => {
    if (!runtime) {
      const config = loadConfig(env);
      runtime = createRuntime(config, { log: createLogger(), retry: { ...config.retry, attempts: 1 } });
    }
    return runtime;
  };
}

/** The CRM clients of sync-segments, built once per process from the environment and the override file (in-process retries off). */
export function envSegmentsProvider(env: Record<string, string | undefined> = process.env): SegmentsProvider {
  let context: SegmentsContext | undefined;
  return () => {
    if (!context) {
      const config = loadConfig(env);
      const services = createSegmentServices(config, {
        log: createLogger(), retry: { ...config.retry, attempts: 1 }, klaviyoWriteRate: readKlaviyoWriteRate(env),
      });
      const cap = readSegmentCapOverride(env);
      context = { services, ...(cap === undefined ? {} : { cap }), enabled: enabledConnectors(config) };
    }
    return context;
  };
}

export function createFunctions(
  inngest: Inngest, provide: RuntimeProvider, segments: SegmentsProvider = envSegmentsProvider(), env: Record<string, string | undefined> = process.env,
) {
  // The scheduled refresh exists only when FASHIONAI_REFRESH_CRON is set.
  const refresh = readRefreshSettings(env);
  return [
    createSyncProfiles(inngest, provide, { requestSegmentsSync: true, deadLetters: true }),
    createSyncSegments(inngest, segments),
    createBackfill(inngest, envBackfillSources(env)),
    ...(refresh ? [createScheduledRefresh(inngest, refresh)] : []),
  ];
}

export const inngest = createInngest();
export const functions = createFunctions(inngest, envRuntimeProvider());
