// One classification of every fault from the three APIs. The in-process retry loop and the Inngest
// functions both decide from `kind` alone, so a given fault gets the same treatment everywhere.

export type Service = "fashionai" | "hubspot" | "klaviyo";

export type FaultKind =
  /** 401/403: a credential is wrong or lacks a scope. Stops the run; never retried. */
  | "auth"
  /** 404 on a lookup: no profile for that identifier. */
  | "not_found"
  /** The request itself is unusable (bad identifier, rejected value). Never retried. */
  | "invalid"
  /** 429: retry after `retryAfterMs` (or a backoff when the API gave none). */
  | "rate_limited"
  /** 5xx, timeouts, connection resets, unusable bodies: retried with backoff. */
  | "transient"
  /** Anything else a retry cannot fix (a 400 from a CRM, a schema conflict). */
  | "permanent";

/** The environment variable that holds each service's credential, named in auth errors. */
export const CREDENTIAL_VARIABLE: Record<Service, string> = {
  fashionai: "FASHIONAI_APP_TOKEN",
  hubspot: "HUBSPOT_ACCESS_TOKEN",
  klaviyo: "KLAVIYO_API_KEY",
};

export class SyncError extends Error {
  readonly kind: FaultKind;
  readonly service: Service;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(
    kind: FaultKind,
    service: Service,
    message: string,
    opts: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "SyncError";
    this.kind = kind;
    this.service = service;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }

  get retryable(): boolean {
    return this.kind === "rate_limited" || this.kind === "transient";
  }
}

/** Kind for an HTTP status from any of the three APIs (bodies are judged separately). */
export function kindForStatus(status: number): FaultKind {
  // A success status reaches a classifier only when its answer was unusable (cut short, not JSON): transient.
  if (status >= 200 && status < 300) return "transient";
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limited";
  if (status >= 500 || status === 408) return "transient";
  return "permanent";
}

export function authMessage(service: Service, status: number): string {
  const label = { fashionai: "Fashion.AI", hubspot: "HubSpot", klaviyo: "Klaviyo" }[service];
  return status === 403
    ? `${label} refused the credential in ${CREDENTIAL_VARIABLE[service]} (403: missing scope or permission)`
    : `${label} rejected the credential in ${CREDENTIAL_VARIABLE[service]} (401: wrong or expired token)`;
}

/**
 * Parses a Retry-After header: delta-seconds or an HTTP date. Returns milliseconds (never negative),
 * or undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // Only the HTTP-date forms (IMF-fixdate, RFC 850, asctime): Date.parse alone accepts junk like "-5".
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * What to do about a fault, decided from its kind alone. The in-process retry loop (withRetry) and the
 * Inngest functions (toInngestError) both call this, so a fault gets the same treatment everywhere:
 *   - auth, not_found, invalid, permanent: final, never retried;
 *   - rate_limited: retried after the API's delay when it gave one, else after the usual backoff;
 *   - transient: retried after the usual backoff.
 * Only the backoff itself differs: withRetry's jittered exponential in-process, Inngest's own under Inngest.
 */
export type Treatment = { retry: false } | { retry: true; afterMs?: number };

export function treatmentOf(fault: Pick<SyncError, "kind" | "retryAfterMs">): Treatment {
  switch (fault.kind) {
    case "rate_limited":
      return fault.retryAfterMs === undefined ? { retry: true } : { retry: true, afterMs: fault.retryAfterMs };
    case "transient":
      return { retry: true };
    default:
      return { retry: false };
  }
}
