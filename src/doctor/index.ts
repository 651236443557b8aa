// `doctor`: checks the configuration and each configured credential with a cheap read, and the HubSpot
// schema against the mapping. Reads only; never prints a token. Services are checked in parallel.
import { checkHubSpot } from "../../connectors/hubspot/doctor.js";
import { hubspotPropertyDefinitions, type HubSpotPropertyDefinition } from "../../connectors/hubspot/schema.js";
import { checkKlaviyo } from "../../connectors/klaviyo/doctor.js";
import type { AppConfig } from "../config.js";
import { SyncError } from "../errors.js";
import { FashionAiClient } from "../fashionai/client.js";
import { DEFAULT_MAPPING_PLAN, describePlanChanges } from "../mapping/plan.js";
import { exitCodeForChecks, type DoctorCheck, type DoctorReport, type HubSpotSchemaReport } from "./types.js";

export * from "./types.js";

/** A syntactically valid identifier that no customer has (.invalid is reserved): 404 means the token works. */
export const DOCTOR_PROBE_EMAIL = "fashionai-sync-doctor@doctor.invalid";

export interface DoctorOptions {
  /** Mapping overrides plug in here: the HubSpot properties and group this installation writes. */
  hubspot?: { definitions?: HubSpotPropertyDefinition[]; group?: { name: string; label: string } };
}

export async function checkFashionAi(config: AppConfig): Promise<DoctorCheck[]> {
  const token = config.fashionai.token;
  if (!token) {
    return [{
      service: "fashionai", check: "credential", status: "error", problem: "config",
      message: "FASHIONAI_APP_TOKEN is not set; every sync needs it",
      fix: "set FASHIONAI_APP_TOKEN to your Fashion.AI app token (`npm run demo` needs none)",
    }];
  }
  const client = new FashionAiClient({ baseUrl: config.fashionai.baseUrl, token, timeoutMs: config.timeoutMs, connections: 1 });
  try {
    await client.fetchProfile("email", DOCTOR_PROBE_EMAIL);
    return [{ service: "fashionai", check: "credential", status: "ok", message: `FASHIONAI_APP_TOKEN accepted by ${config.fashionai.baseUrl}` }];
  } catch (err) {
    if (!(err instanceof SyncError)) throw err;
    switch (err.kind) {
      case "not_found":
        return [{
          service: "fashionai", check: "credential", status: "ok",
          message: `FASHIONAI_APP_TOKEN accepted by ${config.fashionai.baseUrl} (a test lookup answered 404 "no profile", as expected)`,
        }];
      case "auth":
        return [{
          service: "fashionai", check: "credential", status: "error", problem: "config",
          message: `Fashion.AI rejected FASHIONAI_APP_TOKEN (${err.status ?? 401}: wrong or expired token)`,
          fix: "check FASHIONAI_APP_TOKEN (sent as the X-FashionAI-APP-Token header) and FASHIONAI_BASE_URL",
        }];
      case "rate_limited":
        return [{
          service: "fashionai", check: "credential", status: "warn",
          message: `Fashion.AI answered 429 (too many requests), so the token could not be confirmed; try again shortly`,
        }];
      default:
        return [{
          service: "fashionai", check: "credential", status: "error", problem: err.kind === "transient" ? "unreachable" : "config",
          message: `could not check FASHIONAI_APP_TOKEN: ${err.message}`,
          fix: "check FASHIONAI_BASE_URL and the network",
        }];
    }
  } finally {
    await client.close();
  }
}

/** Which connectors are on, and whether `serve` could start. No network. */
export function configChecks(config: AppConfig, env: Record<string, string | undefined>): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  if (!config.hubspot && !config.klaviyo) {
    checks.push({
      service: "config", check: "connectors", status: "error", problem: "config",
      message: "neither HUBSPOT_ACCESS_TOKEN nor KLAVIYO_API_KEY is set: a sync has nowhere to write (a --dry-run still previews the mapping)",
      fix: "set HUBSPOT_ACCESS_TOKEN and/or KLAVIYO_API_KEY",
    });
  }
  if (config.mapping?.source) {
    const changes = (["hubspot", "klaviyo"] as const).flatMap((crm) => {
      const c = describePlanChanges(config.mapping![crm]);
      return c.length ? [`${crm === "hubspot" ? "HubSpot" : "Klaviyo"}: ${c.join("; ")}`] : [];
    });
    checks.push({
      service: "config", check: "mapping", status: "info",
      message: `mapping overrides from ${config.mapping.source}: ${changes.length ? changes.join(" | ") : "no change to the default schema"}`,
    });
  }
  if (!config.hubspot) checks.push({ service: "hubspot", check: "credential", status: "info", message: "not configured (HUBSPOT_ACCESS_TOKEN is not set): the HubSpot connector is off" });
  if (!config.klaviyo) checks.push({ service: "klaviyo", check: "credential", status: "info", message: "not configured (KLAVIYO_API_KEY is not set): the Klaviyo connector is off" });

  const dev = env.INNGEST_DEV;
  if (dev !== undefined && dev !== "" && dev !== "0") {
    checks.push({
      service: "inngest", check: "mode", status: "info",
      message: `dev mode (INNGEST_DEV=${dev}): \`serve\` talks to ${env.INNGEST_BASE_URL || "the local Inngest Dev Server"}`,
    });
  } else if (env.INNGEST_SIGNING_KEY) {
    checks.push({
      service: "inngest", check: "mode", status: "ok",
      message: `cloud mode: INNGEST_SIGNING_KEY is set${env.INNGEST_BASE_URL ? ` (self-hosted server ${env.INNGEST_BASE_URL})` : ""}` +
        (env.INNGEST_EVENT_KEY ? "; INNGEST_EVENT_KEY is set" : "; INNGEST_EVENT_KEY is not set, so `backfill` cannot send events"),
    });
  } else {
    checks.push({
      service: "inngest", check: "mode", status: "warn",
      message: "`serve` will refuse to start: set INNGEST_SIGNING_KEY (Inngest Cloud or a self-hosted server) or INNGEST_DEV=1 (local Dev Server); `sync` does not need either",
    });
  }
  return checks;
}

export async function runDoctor(config: AppConfig, env: Record<string, string | undefined>, opts: DoctorOptions = {}): Promise<DoctorReport> {
  let hubspotSchema: HubSpotSchemaReport | undefined;
  // The schema is checked against the field plan (mapping overrides), unless the caller names it.
  const plan = (config.mapping ?? DEFAULT_MAPPING_PLAN).hubspot;
  const hubspotOpts = opts.hubspot ?? { definitions: hubspotPropertyDefinitions(plan), group: plan.group };
  const [fashionai, hubspot, klaviyo] = await Promise.all([
    checkFashionAi(config),
    config.hubspot
      ? checkHubSpot({ ...config.hubspot, timeoutMs: config.timeoutMs, ...hubspotOpts }).then((r) => {
          hubspotSchema = r.schema;
          return r.checks;
        })
      : Promise.resolve([]),
    config.klaviyo ? checkKlaviyo({ ...config.klaviyo, timeoutMs: config.timeoutMs }) : Promise.resolve([]),
  ]);
  const checks = [...fashionai, ...hubspot, ...klaviyo, ...configChecks(config, env)];
  const order = ["config", "fashionai", "hubspot", "klaviyo", "inngest"];
  checks.sort((a, b) => order.indexOf(a.service) - order.indexOf(b.service));
  const exitCode = exitCodeForChecks(checks);
  return { ok: exitCode === 0, exitCode, checks, ...(hubspotSchema ? { schema: { hubspot: hubspotSchema } } : {}) };
}
