// Fashion.AI Profiles API client: one attempt per call, every outcome mapped to a SyncError kind so the
// retry loop (in-process) or Inngest (durable) can decide from `kind` alone. Retrying here as well would
// multiply attempts, so this file never retries.

import { Agent, type Dispatcher } from "undici";
import { SyncError, authMessage, kindForStatus, parseRetryAfter, type FaultKind } from "../errors.js";
import { lookupPath } from "../identifiers.js";
import type { LookupBy } from "../pipeline/types.js";
import type { ParseResult } from "../profile/types.js";
import { bodySnippet, parseProfileBody } from "./schema.js";

export const DEFAULT_FASHIONAI_BASE_URL = "https://catalog.api.fashionaiale.com/api/v1/crm";
export const NOT_FOUND_REASON = "no Fashion.AI profile";

export interface FashionAiClientOptions {
  /** Default {@link DEFAULT_FASHIONAI_BASE_URL}; may carry a path prefix. */
  baseUrl?: string;
  token: string;
  /** Applies separately to connecting, waiting for headers and each gap in the body. Default 10 000. */
  timeoutMs?: number;
  /** Keep-alive connections per origin. Default 16. */
  connections?: number;
}

/** A profile is a few KB; anything this large is not a profile and must not be buffered. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const API_MESSAGE_CHARS = 80;

export class FashionAiClient {
  readonly #origin: string;
  readonly #basePath: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #agent: Agent;
  #closing: Promise<void> | undefined;

  constructor(options: FashionAiClientOptions) {
    const base = parseBaseUrl(options.baseUrl ?? DEFAULT_FASHIONAI_BASE_URL);
    this.#origin = base.origin;
    this.#basePath = base.pathname.replace(/\/+$/, "");
    this.#token = checkToken(options.token);
    this.#timeoutMs = positive(options.timeoutMs ?? 10_000, "timeoutMs");
    this.#agent = new Agent({
      connections: positive(options.connections ?? 16, "connections"),
      connect: { timeout: this.#timeoutMs },
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      maxResponseSize: MAX_RESPONSE_BYTES,
    });
  }

  /** `normalizedValue` must come from normalizeIdentifier; it is percent-encoded here. */
  async fetchProfile(by: LookupBy, normalizedValue: string, signal?: AbortSignal): Promise<ParseResult> {
    const path = this.#basePath + lookupPath(by, normalizedValue);
    const { status, headers, text } = await this.#get(path, signal);
    if (status >= 200 && status < 300) return parseProfileBody(text);
    throw this.#statusError(status, headers, text);
  }

  close(): Promise<void> {
    this.#closing ??= this.#agent.close();
    return this.#closing;
  }

  async #get(path: string, signal: AbortSignal | undefined) {
    try {
      const res = await this.#agent.request({
        origin: this.#origin,
        path,
        method: "GET",
        headers: {
          "X-FashionAI-APP-Token": this.#token,
          "Content-Type": "application/json",
          Accept: "application/json",
        },
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: signal ?? null,
      });
      // Always drain the body: an unread body keeps the socket from going back to the pool.
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text };
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err; // the caller cancelled: not a fault to retry
      throw this.#networkError(err);
    }
  }

  #statusError(status: number, headers: Dispatcher.ResponseData["headers"], text: string): SyncError {
    const kind = kindForStatus(status);
    switch (kind) {
      case "auth":
        return this.#error(kind, authMessage("fashionai", status), { status });
      case "not_found":
        return this.#error(kind, NOT_FOUND_REASON, { status });
      case "rate_limited":
        return this.#rateLimited(status, firstHeader(headers["retry-after"]));
      case "transient":
        return this.#error(kind, `Fashion.AI answered ${status}: ${apiMessage(text)}`, { status });
      default:
        return this.#error(kind, `Fashion.AI rejected the lookup (${status}): ${apiMessage(text)}`, { status });
    }
  }

  #rateLimited(status: number, retryAfter: string | undefined): SyncError {
    const retryAfterMs = parseRetryAfter(retryAfter);
    const wait = retryAfterMs === undefined ? "" : `; retry after ${Math.ceil(retryAfterMs / 1000)} s`;
    const opts = retryAfterMs === undefined ? { status } : { status, retryAfterMs };
    return this.#error("rate_limited", `Fashion.AI rate limit reached (${status})${wait}`, opts);
  }

  #networkError(err: unknown): SyncError {
    const code = errorCode(err);
    const [kind, what] = describeNetworkFault(code, this.#timeoutMs, this.#origin);
    const detail = code === undefined ? errorMessage(err) : code;
    return this.#error(kind, `${what} (${detail})`, { cause: err });
  }

  /** The single place errors are built, so the token can never leak through a message. */
  #error(kind: FaultKind, message: string, opts: { status?: number; retryAfterMs?: number; cause?: unknown }) {
    return new SyncError(kind, "fashionai", message.split(this.#token).join("[redacted]"), opts);
  }
}

function describeNetworkFault(code: string | undefined, timeoutMs: number, origin: string): [FaultKind, string] {
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return ["transient", `could not connect to Fashion.AI at ${origin} within ${timeoutMs} ms`];
    case "UND_ERR_HEADERS_TIMEOUT":
      return ["transient", `Fashion.AI did not answer within ${timeoutMs} ms`];
    case "UND_ERR_BODY_TIMEOUT":
      return ["transient", `Fashion.AI stopped sending the response body for ${timeoutMs} ms`];
    case "ECONNREFUSED":
      return ["transient", `Fashion.AI at ${origin} refused the connection`];
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
      return ["transient", "the connection to Fashion.AI closed before the response was complete"];
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return ["transient", `could not resolve the Fashion.AI host of ${origin}`];
    case "UND_ERR_RES_EXCEEDED_MAX_SIZE":
      return ["transient", `Fashion.AI sent a response larger than ${MAX_RESPONSE_BYTES} bytes`];
    case "UND_ERR_CLOSED":
    case "UND_ERR_DESTROYED":
      return ["permanent", "the Fashion.AI client is closed"];
    case "UND_ERR_INVALID_ARG":
      return ["permanent", "the Fashion.AI request could not be built"];
    default:
      return ["transient", "the request to Fashion.AI failed"];
  }
}

function parseBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`Fashion.AI base URL (FASHIONAI_BASE_URL) is not a valid URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`Fashion.AI base URL (FASHIONAI_BASE_URL) must be http or https, got ${url.protocol}`);
  }
  if (url.search !== "" || url.hash !== "") {
    throw new Error("Fashion.AI base URL (FASHIONAI_BASE_URL) must not carry a query or fragment");
  }
  return url;
}

function checkToken(token: string): string {
  // Checked here (without echoing it) so undici never builds an error around the raw header value.
  if (token.trim() === "" || /[\u0000-\u001f\u007f]/.test(token)) {
    throw new SyncError("auth", "fashionai", "FASHIONAI_APP_TOKEN is empty or not a valid header value");
  }
  return token;
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`FashionAiClient ${name} must be a positive integer`);
  return n;
}

/** The API's own `{ error, message }` explanation when there is one, else a short excerpt. */
function apiMessage(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null) {
      const { message, error } = body as { message?: unknown; error?: unknown };
      const said = typeof message === "string" && message.trim() !== "" ? message : error;
      if (typeof said === "string" && said.trim() !== "") return bodySnippet(said, API_MESSAGE_CHARS);
    }
  } catch {
    // not JSON: fall through to an excerpt
  }
  return text.trim() === "" ? "empty body" : bodySnippet(text, API_MESSAGE_CHARS);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
