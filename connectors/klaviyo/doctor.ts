// `doctor` for Klaviyo: is the private key accepted, and can it read profiles and segments? Klaviyo
// does not say which scopes a key has, so write scopes are named but cannot be checked without writing.
// Reads only; one attempt per call.
import { ApiKeySession, ProfilesApi, RetryWithExponentialBackoff, SegmentsApi } from "klaviyo-api";
import type { DoctorCheck } from "../../src/doctor/types.js";
import { withTimeout } from "../shared/timeout.js";
import { classifyKlaviyoError } from "./errors.js";

/** Scopes of the private API key: what `sync` needs, and what `setup` (segments) adds. */
export const KLAVIYO_SCOPES = {
  sync: ["profiles:read", "profiles:write", "events:write"],
  setup: ["segments:read", "segments:write"],
} as const;

export const KLAVIYO_SCOPE_FIX =
  "in Klaviyo: Settings → Account → API keys → create a private key with Custom access (Full access on Profiles, Events and Segments), then put it in KLAVIYO_API_KEY";

export interface KlaviyoDoctorOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
}

type Probe = { ok: true } | { ok: false; status?: number; message: string; unreachable: boolean };

async function probe(what: string, timeoutMs: number, fn: () => Promise<unknown>): Promise<Probe> {
  try {
    await withTimeout("klaviyo", `Klaviyo ${what}`, timeoutMs, fn());
    return { ok: true };
  } catch (err) {
    const status = (err as { response?: { status?: number } })?.response?.status;
    const classified = classifyKlaviyoError(err, what);
    return {
      ok: false, ...(status === undefined ? {} : { status }), message: classified.message,
      unreachable: classified.kind === "transient" || classified.kind === "rate_limited",
    };
  }
}

export async function checkKlaviyo(opts: KlaviyoDoctorOptions): Promise<DoctorCheck[]> {
  const session = new ApiKeySession(opts.apiKey, new RetryWithExponentialBackoff({ numRetries: 0 }));
  const profilesApi = new ProfilesApi(session);
  const segmentsApi = new SegmentsApi(session);
  profilesApi.basePath = opts.baseUrl;
  segmentsApi.basePath = opts.baseUrl;

  const [profiles, segments] = await Promise.all([
    probe("profile read", opts.timeoutMs, () => profilesApi.getProfiles({ pageSize: 1, fieldsProfile: ["email"] })),
    probe("segment read", opts.timeoutMs, () => segmentsApi.getSegments({ fieldsSegment: ["name"] })),
  ]);
  const checks: DoctorCheck[] = [];
  if ((!profiles.ok && profiles.status === 401) || (!segments.ok && segments.status === 401)) {
    return [{
      service: "klaviyo", check: "credential", status: "error", problem: "config",
      message: "Klaviyo rejected KLAVIYO_API_KEY (401: wrong or revoked private key)",
      fix: "copy a private API key (Settings → Account → API keys; it starts with pk_) into KLAVIYO_API_KEY",
    }];
  }
  const anyForbidden = [profiles, segments].some((p) => !p.ok && p.status === 403);
  if (profiles.ok || segments.ok || anyForbidden) {
    checks.push({
      service: "klaviyo", check: "credential", status: "ok",
      message: profiles.ok || segments.ok
        ? `KLAVIYO_API_KEY accepted by ${opts.baseUrl}`
        : `KLAVIYO_API_KEY is a valid key (Klaviyo answered 403, not 401), but it lacks scopes; a sync needs ${KLAVIYO_SCOPES.sync.join(", ")}`,
    });
  }
  if (profiles.ok) {
    checks.push({ service: "klaviyo", check: "profiles", status: "ok", message: "profiles can be read (profiles:read)" });
  } else if (profiles.status === 403) {
    checks.push({
      service: "klaviyo", check: "profiles", status: "error", problem: "config", missingScopes: ["profiles:read"],
      message: "KLAVIYO_API_KEY may not read profiles (403: missing scope profiles:read; a sync also needs profiles:write and events:write)",
      fix: KLAVIYO_SCOPE_FIX,
    });
  } else {
    checks.push({
      service: "klaviyo", check: "profiles", status: "error", problem: profiles.unreachable ? "unreachable" : "config",
      message: `could not read profiles: ${profiles.message}`,
    });
  }
  if (segments.ok) {
    checks.push({ service: "klaviyo", check: "segments", status: "ok", message: "segments can be read (segments:read, needed by `setup` and segment syncs)" });
  } else if (segments.status === 403) {
    checks.push({
      service: "klaviyo", check: "segments", status: "warn", missingScopes: ["segments:read"],
      message: "KLAVIYO_API_KEY may not read segments (403: missing scope segments:read); `setup` and segment syncs need segments:read/write, a sync does not",
      fix: KLAVIYO_SCOPE_FIX,
    });
  } else {
    checks.push({ service: "klaviyo", check: "segments", status: "warn", message: `could not read segments: ${segments.message}` });
  }
  if (profiles.ok || segments.ok) {
    checks.push({
      service: "klaviyo", check: "write scopes", status: "info",
      message: "not checked without writing: make sure the key also has profiles:write and events:write (and segments:write for `setup`)",
    });
  }
  return checks;
}
