import { SyncError, authMessage, kindForStatus, parseRetryAfter } from "../../src/errors.js";
import { networkFault } from "../shared/timeout.js";

interface AxiosLikeError {
  response?: { status?: number; headers?: Record<string, unknown>; data?: unknown };
}

/** The first JSON:API error's detail (Klaviyo says what was wrong there). */
export function klaviyoMessage(data: unknown): string | undefined {
  const errors = (data as { errors?: Array<{ detail?: unknown; title?: unknown }> } | undefined)?.errors;
  const first = Array.isArray(errors) ? errors[0] : undefined;
  const text = typeof first?.detail === "string" ? first.detail : typeof first?.title === "string" ? first.title : undefined;
  return text?.slice(0, 1000);
}

/** Classifies anything the Klaviyo SDK (axios) throws into the shared taxonomy. */
export function classifyKlaviyoError(err: unknown, what: string): SyncError {
  if (err instanceof SyncError) return err;
  const status = (err as AxiosLikeError)?.response?.status;
  if (typeof status === "number") {
    const kind = kindForStatus(status);
    if (kind === "auth") return new SyncError("auth", "klaviyo", authMessage("klaviyo", status), { status });
    const headers = (err as AxiosLikeError).response?.headers ?? {};
    if (kind === "rate_limited") {
      const retryAfterMs = parseRetryAfter(String(headers["retry-after"] ?? "")) ?? 1_000;
      return new SyncError("rate_limited", "klaviyo", `Klaviyo rate limit (429) on ${what}`, { status, retryAfterMs });
    }
    const vendor = klaviyoMessage((err as AxiosLikeError).response?.data);
    return new SyncError(kind, "klaviyo", `Klaviyo answered ${status} to ${what}${vendor ? `: ${vendor}` : ""}`, { status });
  }
  return networkFault("klaviyo", `Klaviyo ${what}`, err) ??
    new SyncError("transient", "klaviyo", `Klaviyo ${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
