import { SyncError } from "../errors.js";
import type { RetryPolicy } from "../config.js";
import type { ParseResult } from "../profile/types.js";
import type { Logger } from "../util/log.js";
import { withRetry } from "../util/retry.js";
import type { PreparedRequest } from "./prepare.js";
import type { LookupBy } from "./types.js";

export interface ProfileSource {
  fetchProfile(by: LookupBy, value: string): Promise<ParseResult>;
}

export type FetchOutcome =
  | { status: "found"; parsed: ParseResult }
  | { status: "not_found"; reason: string }
  | { status: "failed"; reason: string; error: SyncError };

/**
 * One profile, with the in-process retry policy. Auth faults are rethrown: they stop the run.
 */
export async function fetchOne(source: ProfileSource, req: PreparedRequest, retry: RetryPolicy, log: Logger): Promise<FetchOutcome> {
  try {
    const parsed = await withRetry(() => source.fetchProfile(req.by, req.lookup), retry, {
      onRetry: (err, attempt, delayMs) =>
        log.warn("retrying Fashion.AI lookup", {
          record: req.identifier, connector: "fashionai", step: "fetch", outcome: "retry", attempt, delayMs, reason: err.message,
        }),
    });
    return { status: "found", parsed };
  } catch (err) {
    if (!(err instanceof SyncError)) throw err;
    if (err.kind === "auth") throw err;
    if (err.kind === "not_found") return { status: "not_found", reason: "no Fashion.AI profile" };
    const attempts = err.retryable ? ` after ${retry.attempts} attempt${retry.attempts === 1 ? "" : "s"}` : "";
    return { status: "failed", reason: `${err.message}${attempts}`, error: err };
  }
}
