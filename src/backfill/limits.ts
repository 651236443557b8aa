// Vendor rate limits as configured for this deployment (defaults from the vendors' published limits, see
// VENDOR-LIMITS.md), read from the environment. Local backfills pace themselves with them client-side; the
// Inngest functions size their throttles from them.
import { ConfigError } from "../config.js";
import { parseRateWindows, type RateWindow } from "../util/rate.js";

type Env = Record<string, string | undefined>;

export interface VendorLimits {
  /** HubSpot, every call of the private app (Free/Starter: 100 per 10 s; Professional/Enterprise: 190). */
  hubspot: RateWindow[];
  /** HubSpot CRM search (about 4-5 per second per token), on top of `hubspot`. */
  hubspotSearch: RateWindow[];
  /** Klaviyo profile bulk import jobs: create and job reads (10/s burst, 150/min steady). */
  klaviyoBulk: RateWindow[];
  /** Klaviyo event-bulk-create-jobs (10/s, 150/min). */
  klaviyoEvents: RateWindow[];
  /** Klaviyo GET /api/profiles (75/s, 750/min). */
  klaviyoProfiles: RateWindow[];
  /** Fashion.AI: not published, so none by default (found adaptively from 429s); set one if it is known. */
  fashionai: RateWindow[];
  /** Profile fetches in flight at most (adaptive concurrency moves below this). */
  fetchConcurrency: number;
  /** HubSpot batch upserts in flight at most. */
  hubspotConcurrency: number;
  /** Klaviyo bulk import jobs in flight (submitted, not yet finished) at most. */
  klaviyoJobs: number;
}

export const LIMIT_VARIABLES = {
  hubspot: ["HUBSPOT_RATE_LIMIT", "100/10s"],
  hubspotSearch: ["HUBSPOT_SEARCH_RATE_LIMIT", "4/s"],
  klaviyoBulk: ["KLAVIYO_BULK_RATE_LIMIT", "10/s,150/m"],
  klaviyoEvents: ["KLAVIYO_EVENTS_RATE_LIMIT", "10/s,150/m"],
  klaviyoProfiles: ["KLAVIYO_PROFILES_RATE_LIMIT", "75/s,750/m"],
  fashionai: ["FASHIONAI_RATE_LIMIT", "off"],
} as const;

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

export function loadVendorLimits(env: Env = process.env): VendorLimits {
  const windows = (key: keyof typeof LIMIT_VARIABLES) => {
    const [name, fallback] = LIMIT_VARIABLES[key];
    return parseRateWindows(env[name] ?? fallback, name) ?? [];
  };
  return {
    hubspot: windows("hubspot"),
    hubspotSearch: windows("hubspotSearch"),
    klaviyoBulk: windows("klaviyoBulk"),
    klaviyoEvents: windows("klaviyoEvents"),
    klaviyoProfiles: windows("klaviyoProfiles"),
    fashionai: windows("fashionai"),
    fetchConcurrency: readInt(env, "FASHIONAI_BACKFILL_CONCURRENCY", 32, 1, 1024),
    hubspotConcurrency: readInt(env, "HUBSPOT_WRITE_CONCURRENCY", 4, 1, 64),
    klaviyoJobs: readInt(env, "KLAVIYO_JOBS_IN_FLIGHT", 3, 1, 32),
  };
}

/** Calls per second a set of windows allows in the long run (the tightest window). */
export function sustainedRate(windows: readonly RateWindow[]): number {
  return windows.reduce((min, w) => Math.min(min, (w.limit * 1000) / w.windowMs), Infinity);
}
