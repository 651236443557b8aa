import { SyncError, type Service } from "../../src/errors.js";

/**
 * The vendor SDKs take no abort signal, so a stalled call is raced against a timer; the late answer
 * is ignored. Reported as transient, so the retry policy decides what happens next.
 */
export function withTimeout<T>(service: Service, what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SyncError("transient", service, `${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Connection-level failures (refused, reset, DNS) from fetch/axios, worded for people. */
export function networkFault(service: Service, what: string, err: unknown): SyncError | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown; message?: unknown }; message?: unknown; name?: unknown };
  const code = typeof e?.code === "string" ? e.code : typeof e?.cause?.code === "string" ? e.cause.code : undefined;
  const message = typeof e?.message === "string" ? e.message : "";
  if (code || /fetch failed|socket hang up|network|ECONN|ETIMEDOUT|terminated/i.test(message)) {
    return new SyncError("transient", service, `${what} failed: connection error${code ? ` (${code})` : ""}`, { cause: err });
  }
  return undefined;
}
