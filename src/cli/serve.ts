import { createFunctions, createInngest, envRuntimeProvider, envSegmentsProvider } from "../../inngest.config.js";
import { ConfigError, loadConfig } from "../config.js";
import { checkServeMode, createAppServer } from "../server.js";
import { HUBSPOT_WEBHOOK_PATH, hubspotWebhookFromEnv } from "../webhooks/hubspot.js";
import { createLogger } from "../util/log.js";
import { ownsHubSpotProperty } from "../mapping/plan.js";
import { UsageError, parse } from "./args.js";
import type { CommandIo } from "./sync.js";

export async function serveCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { port: { type: "string" } }, "serve");
  if (positionals.length) throw new UsageError(`serve: unexpected argument "${positionals[0]}"`);
  const env: Record<string, string | undefined> = { ...io.env, ...(values.port !== undefined ? { PORT: values.port } : {}) };
  // The mode first: without INNGEST_SIGNING_KEY or INNGEST_DEV=1 nothing else matters.
  const mode = checkServeMode(env);
  const config = loadConfig(env);
  const log = createLogger({ env: io.env, write: (line) => io.stderr(line + "\n") });
  const inngest = createInngest(env);
  // POST /webhooks/hubspot when HUBSPOT_CLIENT_SECRET is set; its events need a way to Inngest.
  // Changes to the properties this service writes never trigger a sync (that would loop): the names come
  // from the field plan, so renamed properties (mapping overrides) count as ours too.
  const hubspotWebhook = hubspotWebhookFromEnv(env, {
    send: (events) => inngest.send(events), log, ...(config.hubspot ? { hubspot: config.hubspot } : {}),
    ownProperty: ownsHubSpotProperty(config.mapping?.hubspot),
  });
  if (hubspotWebhook && mode === "cloud" && !env.INNGEST_EVENT_KEY) {
    throw new ConfigError("HUBSPOT_CLIENT_SECRET is set but INNGEST_EVENT_KEY is not: the HubSpot webhook could not send its sync requests");
  }
  const server = createAppServer({
    inngest, functions: createFunctions(inngest, envRuntimeProvider(env), envSegmentsProvider(env)), log, ...(hubspotWebhook ? { hubspotWebhook } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "EADDRINUSE" || err.code === "EACCES"
        ? new ConfigError(`port ${config.port} is ${err.code === "EADDRINUSE" ? "already in use" : "not allowed"}; choose another with --port or PORT`)
        : err));
    server.listen(config.port, resolve);
  });
  log.info(`serving Inngest functions at http://localhost:${config.port}/api/inngest (${mode} mode); health at /healthz` +
    (hubspotWebhook ? `; HubSpot webhooks at ${HUBSPOT_WEBHOOK_PATH}` : ""));
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}
