import { registerSecret } from "./util/redact.js";
import type { ConnectorName } from "./pipeline/types.js";
import type { MappingPlan } from "./mapping/plan.js";
import { loadMappingPlan } from "./overrides/load.js";

/** A usage or configuration problem: one line naming the variable or flag, exit code 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export const DEFAULT_BASE_URLS = {
  fashionai: "https://catalog.api.fashionaiale.com/api/v1/crm",
  hubspot: "https://api.hubapi.com",
  klaviyo: "https://a.klaviyo.com",
} as const;

export interface RetryPolicy {
  /** Attempts in all, including the first. 1 = no in-process retry (Inngest retries instead). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface AppConfig {
  fashionai: { baseUrl: string; token: string | undefined };
  hubspot: { baseUrl: string; token: string } | undefined;
  klaviyo: { baseUrl: string; apiKey: string } | undefined;
  port: number;
  retry: RetryPolicy;
  /** Profiles fetched at once by an in-process run. */
  concurrency: number;
  /** Per-request timeout for every API. */
  timeoutMs: number;
  /**
   * The field plan: property names, forms, group, tone synonyms and caps, from the mapping override file
   * (fashionai-sync.config.json, FASHIONAI_SYNC_CONFIG or --config). Absent = PRODUCT.md's defaults.
   */
  mapping?: MappingPlan;
}

type Env = Record<string, string | undefined>;

function readUrl(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL (expected e.g. ${fallback})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${name} must be an http(s) URL`);
  }
  return raw.replace(/\/+$/, "");
}

function readToken(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const token = raw.trim();
  registerSecret(token);
  if (/\s/.test(token)) throw new ConfigError(`${name} contains whitespace; paste the token alone`);
  return token;
}

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function checkChoice(env: Env, name: string, allowed: readonly string[]): void {
  const raw = env[name]?.trim();
  if (raw && !allowed.includes(raw.toLowerCase())) {
    throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  }
}

/**
 * Reads the environment once, and the mapping override file when there is one (see src/overrides/load.ts;
 * `cwd` is where the default file is looked for). Throws ConfigError naming the variable or file at fault.
 */
export function loadConfig(env: Env = process.env, opts: { cwd?: string } = {}): AppConfig {
  checkChoice(env, "LOG_LEVEL", ["debug", "info", "warn", "error", "silent"]);
  checkChoice(env, "LOG_FORMAT", ["json", "pretty"]);
  const hubspotToken = readToken(env, "HUBSPOT_ACCESS_TOKEN");
  const klaviyoKey = readToken(env, "KLAVIYO_API_KEY");
  return {
    fashionai: {
      baseUrl: readUrl(env, "FASHIONAI_BASE_URL", DEFAULT_BASE_URLS.fashionai),
      token: readToken(env, "FASHIONAI_APP_TOKEN"),
    },
    hubspot: hubspotToken
      ? { baseUrl: readUrl(env, "HUBSPOT_BASE_URL", DEFAULT_BASE_URLS.hubspot), token: hubspotToken }
      : undefined,
    klaviyo: klaviyoKey
      ? { baseUrl: readUrl(env, "KLAVIYO_BASE_URL", DEFAULT_BASE_URLS.klaviyo), apiKey: klaviyoKey }
      : undefined,
    port: readInt(env, "PORT", 3000, 1, 65535),
    retry: {
      attempts: readInt(env, "FASHIONAI_SYNC_RETRY_ATTEMPTS", 4, 1, 10),
      baseDelayMs: readInt(env, "FASHIONAI_SYNC_RETRY_BASE_MS", 500, 0, 60_000),
      maxDelayMs: 60_000,
    },
    concurrency: readInt(env, "FASHIONAI_SYNC_CONCURRENCY", 8, 1, 256),
    timeoutMs: readInt(env, "FASHIONAI_SYNC_TIMEOUT_MS", 15_000, 100, 300_000),
    mapping: loadMappingPlan(env, opts),
  };
}

export function requireFashionAiToken(config: AppConfig): string {
  if (!config.fashionai.token) {
    throw new ConfigError("FASHIONAI_APP_TOKEN is not set (the Fashion.AI app token; `npm run demo` needs none)");
  }
  return config.fashionai.token;
}

export function enabledConnectors(config: AppConfig): ConnectorName[] {
  const out: ConnectorName[] = [];
  if (config.hubspot) out.push("hubspot");
  if (config.klaviyo) out.push("klaviyo");
  return out;
}
