import { NonRetriableError, RetryAfterError } from "inngest";
import { ConfigError } from "../config.js";
import { SyncError, treatmentOf, type FaultKind } from "../errors.js";
import { redact } from "../util/redact.js";

/**
 * The same taxonomy as the in-process retry loop, in Inngest's terms (both go through treatmentOf): rate
 * limits wait for the API's delay (RetryAfterError), transient faults and rate limits without a delay use
 * Inngest's backoff (a plain Error), everything else is final (NonRetriableError).
 */
export function toInngestError(err: unknown): Error {
  if (err instanceof NonRetriableError || err instanceof RetryAfterError) return err;
  if (err instanceof ConfigError) return new NonRetriableError(redact(err.message));
  if (err instanceof SyncError) return forFault(err.kind, redact(err.message), err.retryAfterMs);
  return new Error(redact((err as Error)?.message ?? String(err)));
}

export function forFault(kind: FaultKind, message: string, retryAfterMs?: number): Error {
  const treatment = treatmentOf(retryAfterMs === undefined ? { kind } : { kind, retryAfterMs });
  if (!treatment.retry) return new NonRetriableError(message);
  return treatment.afterMs === undefined ? new Error(message) : new RetryAfterError(message, treatment.afterMs);
}
