import { SyncError, treatmentOf } from "../errors.js";
import type { RetryPolicy } from "../config.js";

export type Sleep = (ms: number) => Promise<void>;
export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Delay before attempt `attempt + 1`: the API's Retry-After when it gave one, else jittered exponential. */
export function retryDelayMs(err: SyncError, attempt: number, policy: RetryPolicy, random = Math.random): number {
  const treatment = treatmentOf(err);
  const backoff = policy.baseDelayMs * 2 ** (attempt - 1) * (0.75 + random() * 0.5);
  return Math.min(policy.maxDelayMs, (treatment.retry ? treatment.afterMs : undefined) ?? backoff);
}

/**
 * The one in-process retry loop: retries only faults the taxonomy calls retryable. Under Inngest the
 * policy has attempts = 1, so the function's own retries are the only ones.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  opts: { sleep?: Sleep; onRetry?: (err: SyncError, attempt: number, delayMs: number) => void } = {},
): Promise<T> {
  const wait = opts.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof SyncError) || !treatmentOf(err).retry || attempt >= policy.attempts) throw err;
      const delay = retryDelayMs(err, attempt, policy);
      opts.onRetry?.(err, attempt, delay);
      await wait(delay);
    }
  }
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping result order. */
export async function mapConcurrent<I, O>(items: readonly I[], limit: number, fn: (item: I, index: number) => Promise<O>): Promise<O[]> {
  const out = new Array<O>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as I, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
