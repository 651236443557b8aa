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
    if (status >= 200 && status < 300) {
      return new SyncError(kind, "klaviyo", `Klaviyo answered ${status} to ${what} with an unusable body (cut short or not JSON)`, { status, cause: err });
    }
    const vendor = klaviyoMessage((err as AxiosLikeError).response?.data);
    return new SyncError(kind, "klaviyo", `Klaviyo answered ${status} to ${what}${vendor ? `: ${vendor}` : ""}`, { status });
  }
  return networkFault("klaviyo", `Klaviyo ${what}`, err) ??
    new SyncError("transient", "klaviyo", `Klaviyo ${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/**
 * The SDK (axios) hands a success answer that is not JSON (a proxy's HTML page, a body cut short) back as a
 * plain string without an error. Klaviyo's answers are JSON:API documents or empty (202): anything else is an
 * unusable body, a transient fault, since the request may never have reached Klaviyo.
 */
export function checkKlaviyoAnswer<T>(answer: T, what: string): T {
  const res = (answer as { response?: { status?: number; headers?: Record<string, unknown>; data?: unknown } } | undefined)?.response;
  const status = res?.status;
  if (typeof status !== "number" || status < 200 || status >= 300 || status === 204) return answer;
  const type = String(res?.headers?.["content-type"] ?? "");
  // axios parses valid JSON into an object; a non-empty string left over means it was not JSON.
  const unparsed = typeof res?.data === "string" && res.data.trim() !== "";
  if ((type !== "" && !/json/i.test(type)) || unparsed) {
    throw new SyncError("transient", "klaviyo", `Klaviyo answered ${status} to ${what} with an unusable body (${unparsed && /json/i.test(type) ? "JSON cut short" : type.split(";")[0] || "not JSON"})`, { status });
  }
  return answer;
}
