import { NonRetriableError, RetryAfterError } from "inngest";
import { ConfigError } from "../config.js";
import { SyncError, type FaultKind } from "../errors.js";
import { redact } from "../util/redact.js";

/**
 * The same taxonomy as the in-process retry loop, in Inngest's terms: rate limits wait for the API's
 * delay, transient faults use Inngest's backoff, everything else is final.
 */
export function toInngestError(err: unknown): Error {
  if (err instanceof NonRetriableError || err instanceof RetryAfterError) return err;
  if (err instanceof ConfigError) return new NonRetriableError(redact(err.message));
  if (err instanceof SyncError) return forFault(err.kind, redact(err.message), err.retryAfterMs);
  return new Error(redact((err as Error)?.message ?? String(err)));
}

export function forFault(kind: FaultKind, message: string, retryAfterMs?: number): Error {
  switch (kind) {
    case "rate_limited":
      return new RetryAfterError(message, retryAfterMs ?? 10_000);
    case "transient":
      return new Error(message);
    default:
      return new NonRetriableError(message);
  }
}
