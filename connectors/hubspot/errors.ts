import { SyncError, authMessage, kindForStatus, parseRetryAfter } from "../../src/errors.js";
import { networkFault } from "../shared/timeout.js";

interface HubSpotApiError {
  code?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The vendor's own message from an error body, without echoing request data at length. */
export function hubspotMessage(body: unknown): string | undefined {
  if (typeof body === "string") return body.slice(0, 500);
  if (body && typeof body === "object") {
    const b = body as { message?: unknown; category?: unknown; policyName?: unknown };
    if (typeof b.message === "string") return b.message.slice(0, 1000);
  }
  return undefined;
}

/** Classifies anything the HubSpot SDK throws into the shared taxonomy. */
export function classifyHubSpotError(err: unknown, what: string): SyncError {
  if (err instanceof SyncError) return err;
  const e = err as HubSpotApiError;
  if (typeof e?.code === "number" && e.code >= 100) {
    const status = e.code;
    const kind = kindForStatus(status);
    if (kind === "auth") return new SyncError("auth", "hubspot", authMessage("hubspot", status), { status });
    if (status >= 200 && status < 300) {
      return new SyncError(kind, "hubspot", `HubSpot answered ${status} to ${what} with an unusable body (cut short or not JSON)`, { status, cause: err });
    }
    const vendor = hubspotMessage(e.body);
    const policy = (e.body as { policyName?: unknown } | undefined)?.policyName;
    if (kind === "rate_limited") {
      const retryAfterMs =
        parseRetryAfter(e.headers?.["retry-after"]) ??
        // A daily quota will not clear by waiting seconds: report it without a short delay.
        (policy === "DAILY" ? undefined : 10_000);
      return new SyncError(policy === "DAILY" ? "permanent" : "rate_limited", "hubspot",
        `HubSpot rate limit (${typeof policy === "string" ? policy : "429"}) on ${what}`, {
          status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        });
    }
    return new SyncError(kind, "hubspot", `HubSpot answered ${status} to ${what}${vendor ? `: ${vendor}` : ""}`, { status });
  }
  return networkFault("hubspot", `HubSpot ${what}`, err) ??
    new SyncError("transient", "hubspot", `HubSpot ${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
