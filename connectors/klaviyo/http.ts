// A lean JSON:API client for the few Klaviyo endpoints a backfill hammers (bulk import jobs, bulk events,
// profile listing), on undici. The klaviyo-api SDK costs about 80 MB of resident memory just to load (every
// model of every API), which alone would be most of a backfill's memory budget; these endpoints need none of it.
// Same revision header as the SDK, same error classification (classifyKlaviyoError).
import { Agent } from "undici";
import { classifyKlaviyoError } from "./errors.js";

/** The API revision the SDK in package.json speaks (klaviyo-api v23). */
export const KLAVIYO_REVISION = "2026-07-15";

export interface KlaviyoHttpOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  connections?: number;
}

export interface JsonApiDocument {
  data?: unknown;
  links?: { next?: string | null; self?: string } | null;
  [key: string]: unknown;
}

export class KlaviyoHttp {
  private readonly origin: string;
  private readonly basePath: string;
  private readonly agent: Agent;

  constructor(private readonly opts: KlaviyoHttpOptions) {
    const url = new URL(opts.baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.agent = new Agent({
      connections: opts.connections ?? 8,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connect: { timeout: opts.timeoutMs },
    });
  }

  /** GET `path` (with query) → parsed body; errors classified like the SDK's. */
  get(path: string, query: Record<string, string | undefined>, what: string): Promise<JsonApiDocument> {
    const qs = Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v!)}`).join("&");
    return this.send("GET", qs ? `${path}?${qs}` : path, undefined, what);
  }

  post(path: string, body: unknown, what: string): Promise<JsonApiDocument> {
    return this.send("POST", path, JSON.stringify(body), what);
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async send(method: "GET" | "POST", path: string, body: string | undefined, what: string): Promise<JsonApiDocument> {
    let status: number;
    let headers: Record<string, unknown>;
    let text: string;
    try {
      const res = await this.agent.request({
        origin: this.origin,
        path: this.basePath + path,
        method,
        headers: {
          Authorization: `Klaviyo-API-Key ${this.opts.apiKey}`,
          revision: KLAVIYO_REVISION,
          Accept: "application/vnd.api+json",
          ...(body !== undefined ? { "Content-Type": "application/vnd.api+json" } : {}),
        },
        ...(body !== undefined ? { body } : {}),
      });
      status = res.statusCode;
      headers = res.headers as Record<string, unknown>;
      text = await res.body.text();
    } catch (err) {
      throw classifyKlaviyoError(err, what);
    }
    let data: unknown = undefined;
    if (text !== "") {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
        // A success status with a body that is not JSON (a proxy's HTML page, a body cut short) is unusable:
        // transient (see classifyKlaviyoError), never a success.
        if (status >= 200 && status < 300) throw classifyKlaviyoError({ response: { status, headers, data } }, what);
      }
    }
    if (status >= 200 && status < 300) return (data && typeof data === "object" ? data : {}) as JsonApiDocument;
    // Same shape as an axios error, so the SDK writer's classification applies unchanged.
    throw classifyKlaviyoError({ response: { status, headers, data } }, what);
  }
}

/** The page[cursor] of a `links.next` URL. */
export function nextPageCursor(link: string | null | undefined): string | undefined {
  if (!link) return undefined;
  try {
    return new URL(link).searchParams.get("page[cursor]") ?? link;
  } catch {
    return link;
  }
}
