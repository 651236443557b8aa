// Shared plumbing for the local stand-ins of Fashion.AI, HubSpot and Klaviyo: a tiny router on
// node:http bound to 127.0.0.1, JSON body reading with a size limit, request recording, scripted
// faults, rate limiting and call statistics. Each vendor supplies its own error style (VendorStyle),
// so a fault, a 404 or a 429 looks the way that vendor's real API answers.

import { randomUUID } from "node:crypto";
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Default request-body ceiling: 5 MB (Klaviyo's documented payload limit; HubSpot's is similar). */
export const DEFAULT_BODY_LIMIT_BYTES = 5 * 1024 * 1024;

export const LOOPBACK_HOST = "127.0.0.1";

/** A request as the stand-in saw it, with the status it was answered with (0: socket destroyed). */
export interface RecordedRequest {
  method: string;
  /** Full pathname, percent-encoding kept (e.g. `/api/v1/crm/protected/profile/email/a%40b.com`). */
  path: string;
  /** Query parameters; a key given more than once becomes an array. */
  query: Record<string, string | string[]>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, the raw text otherwise, undefined when empty or over the limit. */
  body: unknown;
  /** Size of the request body in bytes. */
  bodyBytes: number;
  status: number;
  /** Arrival time, ms since the epoch. */
  at: number;
  /** "METHOD template" of the matched route (the stats() key), when a route matched. */
  route?: string;
  /** True when a scripted fault, the rate limiter or a chaos rule answered instead of the normal handler. */
  injected?: "fault" | "rate_limit" | "chaos";
  /** The chaos fault this request drew, if any (see SandboxServer.chaos). */
  chaos?: ChaosKind;
}

/** A path matcher: a string is a prefix of the request path (with or without the service's base path). */
export type PathMatcher = string | RegExp;

export interface FaultSpec {
  /** Only requests with this method (case-insensitive). */
  method?: string;
  /** Only requests whose path starts with this string, or matches this RegExp. */
  path?: PathMatcher;
  /**
   * Status to answer with. Omit it (and destroySocket) to only delay the normal response by delayMs.
   * Defaults to 500 when a body is given.
   */
  status?: number;
  /** Response headers; `"@HTTPDATE+N"` as a value becomes an HTTP date N seconds from now. */
  headers?: Record<string, string>;
  /** JSON body. When neither body nor bodyText is given, the vendor's own error body for `status` is used. */
  body?: unknown;
  /** Raw body text (content-type from headers, else text/plain). */
  bodyText?: string;
  /** How many matching requests this fault answers (default 1; Infinity allowed). */
  times?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Close the connection without any response (the client sees a reset / "socket hang up"). */
  destroySocket?: boolean;
}

/**
 * Seeded random faults (SandboxServer.chaos). What each does to a request:
 *   - "429": a 429 with Retry-After (retryAfterSeconds, default 1); the request is not processed.
 *   - "429-no-retry-after": the vendor's 429 body without Retry-After; not processed.
 *   - "500", "503": the vendor's error body; not processed.
 *   - "reset": the connection is destroyed without an answer; half the time before the request is processed,
 *     half the time after (the write happened, the answer is lost).
 *   - "slow": the normal answer, slowMs late (past the client's timeout, it is an answer nobody reads).
 *   - "truncated": processed; the right status and headers, then the JSON body cut in the middle (a body-less
 *     answer announces a body and closes the connection after part of it).
 *   - "non-json": an HTML page (a proxy's or load balancer's) with status 200 or 502; not processed.
 */
export type ChaosKind = "429" | "429-no-retry-after" | "500" | "503" | "reset" | "slow" | "truncated" | "non-json";
export const CHAOS_KINDS: readonly ChaosKind[] = ["429", "429-no-retry-after", "500", "503", "reset", "slow", "truncated", "non-json"];

export interface ChaosSpec {
  /** Same seed, same sequence of decisions (the n-th matching request always draws the same fault). */
  seed: number;
  /** Share of matching requests that get a fault, 0 to 1. */
  rate: number;
  /** Faults to draw from, equally likely (default all of CHAOS_KINDS). */
  kinds?: readonly ChaosKind[];
  /** Delay of "slow" answers (default 2,000 ms). */
  slowMs?: number;
  /** Retry-After of "429" answers, in whole seconds (default 1). */
  retryAfterSeconds?: number;
  /** Only requests with this method. */
  method?: string;
  /** Only requests whose path starts with this string, or matches this RegExp. */
  path?: PathMatcher;
}

/** A small, fast, seedable PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RateLimitSpec {
  /** Requests allowed per window. */
  limit: number;
  /** Rolling window length in ms. */
  windowMs: number;
  /** Send `Retry-After` (whole seconds until a slot frees) with 429s. Default depends on the vendor. */
  retryAfter?: boolean;
  /** Only count and limit requests with this method. */
  method?: string;
  /** Only count and limit requests with this path prefix / RegExp. */
  path?: PathMatcher;
  /** HubSpot only: the policy named in the 429 body (default TEN_SECONDLY_ROLLING). */
  policyName?: "TEN_SECONDLY_ROLLING" | "DAILY" | "SECONDLY";
}

export interface RateLimitState {
  spec: RateLimitSpec;
  /** Requests still allowed in the current window. */
  remaining: number;
  /** Ms until the oldest counted request leaves the window (0 when the window is empty). */
  resetMs: number;
  /** Retry-After value in whole seconds (at least 1). */
  retryAfterSeconds: number;
}

/** What a handler answers. `body` is sent as JSON, `bodyText` as is; neither: an empty body. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  bodyText?: string;
}

export interface RequestContext {
  method: string;
  /** Full pathname (still percent-encoded). */
  path: string;
  /** Route parameters, percent-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  /** Parsed JSON body (undefined when empty). */
  body: unknown;
  rawBody: Buffer;
  /** `http://127.0.0.1:PORT` — for absolute links in responses. */
  origin: string;
  at: number;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

export interface RouteOptions {
  /** A smaller body limit for this route (answers 413 past it). */
  bodyLimitBytes?: number;
  /** Skip the vendor's authentication check (default false). */
  public?: boolean;
}

/** How one vendor answers the generic situations. */
export interface VendorStyle {
  /** Content type of JSON responses. */
  contentType: string;
  /** The vendor's error body for a status; `code` is a vendor-specific category/code override. */
  error(status: number, message: string, code?: string): Reply;
  /** Returns an error reply when the request is not authenticated / authorised, undefined when it is. */
  authenticate?(ctx: RequestContext): Reply | undefined;
  /** Validates vendor-wide headers after authentication (Klaviyo's revision header). */
  checkHeaders?(ctx: RequestContext): Reply | undefined;
  /** The 429 reply (Retry-After is added by the server when the limiter asks for it). */
  rateLimited(state: RateLimitState): Reply;
  /** Headers describing the limiter added to every answered request while a limiter is set. */
  rateLimitHeaders?(state: RateLimitState): Record<string, string>;
  /** Whether 429s carry Retry-After when the limiter does not say. */
  retryAfterByDefault: boolean;
}

interface Route {
  method: string;
  template: string;
  key: string;
  regex: RegExp;
  names: string[];
  handler: Handler;
  options: RouteOptions;
}

interface ActiveFault extends FaultSpec {
  remaining: number;
}

interface ActiveLimiter {
  spec: RateLimitSpec;
  hits: number[];
}

interface ActiveChaos {
  spec: ChaosSpec;
  random: () => number;
}

/** A chaos fault applied after the handler ran (its answer is spoiled or lost). */
type LateChaos = "reset" | "truncated";

export interface SandboxServerOptions {
  /** Port to listen on (default 0: an ephemeral port). */
  port?: number;
  /** Path prefix of every route (e.g. `/api/v1/crm`); also accepted as a prefix in fault/limit paths. */
  basePath?: string;
  bodyLimitBytes?: number;
}

/** Replaces `"@HTTPDATE+N"` (or `-N`) with an HTTP date N seconds from now (rounded up to a whole second). */
export function resolveHeaderValue(value: string, now: number = Date.now()): string {
  const m = /^@HTTPDATE([+-]\d+(?:\.\d+)?)$/.exec(value.trim());
  if (!m) return value;
  const at = Math.ceil((now + Number(m[1]) * 1000) / 1000) * 1000;
  return new Date(at).toUTCString();
}

export function resolveHeaders(headers: Record<string, string> | undefined, now: number = Date.now()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = resolveHeaderValue(String(v), now);
  return out;
}

export function correlationId(): string {
  return randomUUID();
}

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? "Unknown";
}

function compileTemplate(template: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const pattern = template
    .replace(/\/$/, "")
    .split("/")
    .map((seg) => {
      const m = /^\{([^}]+)\}$/.exec(seg);
      if (m) {
        names.push(m[1] as string);
        return "([^/]+)";
      }
      return seg.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { regex: new RegExp(`^${pattern}/?$`), names };
}

function flattenHeaders(headers: IncomingMessage["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

function queryRecord(q: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(q.keys())) {
    const all = q.getAll(key);
    out[key] = all.length === 1 ? (all[0] as string) : all;
  }
  return out;
}

function isJsonType(contentType: string | undefined): boolean {
  return contentType !== undefined && /[/+]json\b/i.test(contentType);
}

/**
 * One loopback HTTP server with a route table. The three stand-ins extend it. Pipeline per request:
 * body (413 past the limit) → scripted faults → rate limiters → route (404/405) → authentication →
 * vendor header checks → content type (415) and JSON parsing (400) → handler (500 when it throws).
 */
export class SandboxServer {
  /** Every request received since start (or the last reset()/clearRequests()). */
  readonly requests: RecordedRequest[] = [];
  protected readonly basePath: string;
  protected readonly bodyLimitBytes: number;
  private readonly routes: Route[] = [];
  private faults: ActiveFault[] = [];
  private limiters: ActiveLimiter[] = [];
  private chaosRules: ActiveChaos[] = [];
  private chaosCounts = new Map<ChaosKind, number>();
  private counts = new Map<string, number>();
  private server: Server | undefined;
  private readonly requestedPort: number;
  private listeningPort = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    protected readonly vendor: VendorStyle,
    opts: SandboxServerOptions = {},
  ) {
    this.basePath = (opts.basePath ?? "").replace(/\/$/, "");
    this.bodyLimitBytes = opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
    this.requestedPort = opts.port ?? 0;
  }

  /** Registers a route; `template` is relative to the base path and uses `{name}` segments. */
  protected route(method: string, template: string, handler: Handler, options: RouteOptions = {}): void {
    const full = this.basePath + template;
    const { regex, names } = compileTemplate(full);
    const m = method.toUpperCase();
    this.routes.push({ method: m, template: full, key: `${m} ${full}`, regex, names, handler, options });
  }

  async start(): Promise<this> {
    if (this.server) return this;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          this.write(res, this.vendor.error(500, err instanceof Error ? err.message : String(err)));
        } else {
          res.destroy();
        }
      });
    });
    // Like the real APIs, keep idle connections a few seconds: a 1 s hint makes undici (which subtracts a 1 s
    // safety margin from the server's keep-alive hint) open a new connection for every request.
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.requestedPort, LOOPBACK_HOST, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    this.listeningPort = (server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  get port(): number {
    if (!this.server) throw new Error("sandbox server is not started");
    return this.listeningPort;
  }

  /** `http://127.0.0.1:PORT` */
  get origin(): string {
    return `http://${LOOPBACK_HOST}:${this.port}`;
  }

  /** The URL clients are configured with (origin + base path). */
  get baseUrl(): string {
    return this.origin + this.basePath;
  }

  /** Queues a scripted fault. Faults are tried in the order given; each answers `times` requests. */
  fault(spec: FaultSpec): void {
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new Error("fault times must be positive");
    this.faults.push({ ...spec, remaining: times });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Faults that still have answers left. */
  pendingFaults(): FaultSpec[] {
    return this.faults.map(({ remaining, ...spec }) => ({ ...spec, times: remaining }));
  }

  /** Adds a rolling-window rate limiter. Returns a function that removes it. */
  rateLimit(spec: RateLimitSpec): () => void {
    if (!(spec.limit >= 0) || !(spec.windowMs > 0)) throw new Error("rateLimit needs limit >= 0 and windowMs > 0");
    const limiter: ActiveLimiter = { spec, hits: [] };
    this.limiters.push(limiter);
    return () => {
      this.limiters = this.limiters.filter((l) => l !== limiter);
    };
  }

  clearRateLimits(): void {
    this.limiters = [];
  }

  /**
   * Adds seeded random faults (see ChaosKind) to every matching request that a scripted fault does not
   * answer. Returns a function that removes them. Deterministic for a seed: the n-th matching request draws
   * the same fault every run (which request is n-th depends on the client's concurrency).
   */
  chaos(spec: ChaosSpec): () => void {
    if (!(spec.rate >= 0 && spec.rate <= 1)) throw new Error("chaos rate must be between 0 and 1");
    if (spec.kinds && spec.kinds.length === 0) throw new Error("chaos kinds must not be empty");
    const rule: ActiveChaos = { spec, random: seededRandom(spec.seed) };
    this.chaosRules.push(rule);
    return () => {
      this.chaosRules = this.chaosRules.filter((r) => r !== rule);
    };
  }

  clearChaos(): void {
    this.chaosRules = [];
    this.chaosCounts.clear();
  }

  /** How many requests each chaos fault has hit since the last reset()/clearChaos(). */
  chaosStats(): Partial<Record<ChaosKind, number>> {
    return Object.fromEntries(this.chaosCounts) as Partial<Record<ChaosKind, number>>;
  }

  /** Calls per "METHOD template" (unmatched requests count under "METHOD path"). */
  stats(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  clearRequests(): void {
    this.requests.length = 0;
    this.counts.clear();
  }

  /** Forgets recorded requests, stats, faults and rate limiters. Stand-ins also reset their data. */
  reset(): void {
    this.clearRequests();
    this.clearFaults();
    this.clearRateLimits();
    this.clearChaos();
  }

  // ---------------------------------------------------------------------------------------------

  private matchesPath(matcher: PathMatcher | undefined, path: string): boolean {
    if (matcher === undefined) return true;
    if (matcher instanceof RegExp) return matcher.test(path);
    if (path.startsWith(matcher)) return true;
    if (this.basePath && path.startsWith(this.basePath)) return path.slice(this.basePath.length).startsWith(matcher);
    return false;
  }

  private matchesMethod(method: string | undefined, actual: string): boolean {
    return method === undefined || method.toUpperCase() === actual;
  }

  private readBody(req: IncomingMessage, limit: number): Promise<{ buf: Buffer; bytes: number; tooLarge: boolean }> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let tooLarge = false;
      req.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > limit) {
          tooLarge = true;
          chunks.length = 0; // keep draining so the client can read the 413, but hold nothing
        } else {
          chunks.push(chunk);
        }
      });
      req.on("end", () => resolve({ buf: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), bytes, tooLarge }));
      req.on("error", reject);
    });
  }

  private limiterState(l: ActiveLimiter, now: number): RateLimitState {
    l.hits = l.hits.filter((t) => now - t < l.spec.windowMs);
    const oldest = l.hits[0];
    const resetMs = oldest === undefined ? 0 : Math.max(0, oldest + l.spec.windowMs - now);
    return {
      spec: l.spec,
      remaining: Math.max(0, l.spec.limit - l.hits.length),
      resetMs,
      retryAfterSeconds: Math.max(1, Math.ceil(resetMs / 1000)),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", "http://sandbox.invalid");
    const path = url.pathname;
    const headers = flattenHeaders(req.headers);

    // Route lookup first: the template names the call in stats() even when a fault answers it.
    let route: Route | undefined;
    let match: RegExpExecArray | null = null;
    let pathKnown = false;
    for (const r of this.routes) {
      const m = r.regex.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (r.method === method) {
        route = r;
        match = m;
        break;
      }
    }
    const statKey = route ? route.key : `${method} ${path}`;
    this.counts.set(statKey, (this.counts.get(statKey) ?? 0) + 1);

    const limit = Math.min(this.bodyLimitBytes, route?.options.bodyLimitBytes ?? Infinity);
    const { buf, bytes, tooLarge } = await this.readBody(req, limit);
    const text = buf.toString("utf8");
    let body: unknown = undefined;
    let jsonError: string | undefined;
    if (text.length > 0) {
      if (isJsonType(headers["content-type"]) || /^\s*[[{]/.test(text)) {
        try {
          body = JSON.parse(text);
        } catch (e) {
          body = text;
          jsonError = e instanceof Error ? e.message : String(e);
        }
      } else {
        body = text;
      }
    }

    const record: RecordedRequest = {
      method,
      path,
      query: queryRecord(url.searchParams),
      headers,
      body,
      bodyBytes: bytes,
      status: 0,
      at,
    };
    if (route) record.route = route.key;
    this.requests.push(record);

    const send = (reply: Reply) => {
      record.status = reply.status;
      this.write(res, reply, this.rateHeaders(method, path, Date.now()));
    };

    if (tooLarge) {
      send(this.vendor.error(413, `Request body is ${bytes} bytes; the limit is ${limit} bytes`));
      return;
    }

    // 1. Scripted faults.
    const fault = this.faults.find((f) => this.matchesMethod(f.method, method) && this.matchesPath(f.path, path));
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
      if (fault.delayMs && fault.delayMs > 0) await this.delay(fault.delayMs);
      if (fault.destroySocket) {
        record.injected = "fault";
        record.status = 0;
        req.socket.destroy();
        return;
      }
      const hasBody = fault.body !== undefined || fault.bodyText !== undefined;
      if (fault.status !== undefined || hasBody) {
        record.injected = "fault";
        const status = fault.status ?? 500;
        let reply: Reply;
        if (fault.bodyText !== undefined) reply = { status, bodyText: fault.bodyText };
        else if (fault.body !== undefined) reply = { status, body: fault.body };
        else if (status === 429) {
          const state: RateLimitState = {
            spec: { limit: 0, windowMs: 1000 },
            remaining: 0,
            resetMs: 1000,
            retryAfterSeconds: 1,
          };
          reply = { ...this.vendor.rateLimited(state), status };
        } else reply = { ...this.vendor.error(status, reasonPhrase(status)), status };
        reply.headers = { ...(reply.headers ?? {}), ...resolveHeaders(fault.headers) };
        send(reply);
        return;
      }
      // Only a delay: fall through to normal handling.
    }

    // 1b. Seeded random faults (only when no scripted fault answered).
    let late: LateChaos | undefined;
    const drawn = fault ? undefined : this.drawChaos(method, path);
    if (drawn) {
      record.chaos = drawn.kind;
      const early = await this.chaosEarly(drawn, record, req, send);
      if (early === "answered") return;
      late = early;
    }

    // 2. Rate limiting.
    const now = Date.now();
    for (const l of this.limiters) {
      if (!this.matchesMethod(l.spec.method, method) || !this.matchesPath(l.spec.path, path)) continue;
      const state = this.limiterState(l, now);
      if (state.remaining <= 0) {
        record.injected = "rate_limit";
        const reply = this.vendor.rateLimited(state);
        const extra: Record<string, string> = {};
        if (l.spec.retryAfter ?? this.vendor.retryAfterByDefault) extra["retry-after"] = String(state.retryAfterSeconds);
        reply.headers = { ...(reply.headers ?? {}), ...extra };
        send({ ...reply, status: 429 });
        return;
      }
    }
    for (const l of this.limiters) {
      if (this.matchesMethod(l.spec.method, method) && this.matchesPath(l.spec.path, path)) l.hits.push(now);
    }

    // 3. Routing.
    if (!route || !match) {
      send(
        pathKnown
          ? this.vendor.error(405, `Method ${method} is not allowed on ${path}`)
          : this.vendor.error(404, `No route for ${method} ${path}`),
      );
      return;
    }
    const params: Record<string, string> = {};
    for (const [i, name] of route.names.entries()) {
      const raw = match[i + 1] ?? "";
      try {
        params[name] = decodeURIComponent(raw);
      } catch {
        send(this.vendor.error(400, `Malformed percent-encoding in path segment: ${raw}`));
        return;
      }
    }
    const ctx: RequestContext = {
      method,
      path,
      params,
      query: url.searchParams,
      headers: req.headers,
      body,
      rawBody: buf,
      origin: `http://${req.headers.host ?? `${LOOPBACK_HOST}:${this.listeningPort}`}`,
      at,
    };

    // 4. Authentication and vendor-wide headers.
    if (!route.options.public) {
      const denied = this.vendor.authenticate?.(ctx);
      if (denied) {
        send(denied);
        return;
      }
    }
    const badHeaders = this.vendor.checkHeaders?.(ctx);
    if (badHeaders) {
      send(badHeaders);
      return;
    }

    // 5. Body type and syntax.
    if (text.length > 0) {
      if (!isJsonType(headers["content-type"])) {
        send(
          this.vendor.error(
            415,
            `Unsupported Media Type: expected a JSON body, got content-type ${headers["content-type"] ?? "(none)"}`,
          ),
        );
        return;
      }
      if (jsonError !== undefined) {
        send(this.vendor.error(400, `Invalid JSON in request body: ${jsonError}`));
        return;
      }
    }

    // 6. Handler.
    let reply: Reply;
    try {
      reply = await route.handler(ctx);
    } catch (err) {
      reply = this.vendor.error(500, err instanceof Error ? err.message : String(err));
    }
    if (late) return this.chaosLate(late, reply, record, req, res);
    send(reply);
  }

  private drawChaos(method: string, path: string): { kind: ChaosKind; spec: ChaosSpec; random: () => number } | undefined {
    for (const rule of this.chaosRules) {
      const { spec } = rule;
      if (!this.matchesMethod(spec.method, method) || !this.matchesPath(spec.path, path)) continue;
      // Two draws per request whatever the outcome, so one seed gives one sequence.
      const hit = rule.random();
      const pick = rule.random();
      if (hit >= spec.rate) continue;
      const kinds = spec.kinds ?? CHAOS_KINDS;
      const kind = kinds[Math.min(kinds.length - 1, Math.floor(pick * kinds.length))]!;
      this.chaosCounts.set(kind, (this.chaosCounts.get(kind) ?? 0) + 1);
      return { kind, spec, random: rule.random };
    }
    return undefined;
  }

  /** Answers a chaos fault that strikes before the handler; returns what to do after it otherwise. */
  private async chaosEarly(
    drawn: { kind: ChaosKind; spec: ChaosSpec; random: () => number },
    record: RecordedRequest,
    req: IncomingMessage,
    send: (reply: Reply) => void,
  ): Promise<"answered" | LateChaos | undefined> {
    const { kind, spec } = drawn;
    const mark = () => (record.injected = "chaos");
    switch (kind) {
      case "429":
      case "429-no-retry-after": {
        mark();
        const seconds = Math.max(1, Math.round(spec.retryAfterSeconds ?? 1));
        const reply = this.vendor.rateLimited({ spec: { limit: 0, windowMs: seconds * 1000 }, remaining: 0, resetMs: seconds * 1000, retryAfterSeconds: seconds });
        const headers = { ...(reply.headers ?? {}) };
        delete headers["retry-after"];
        delete headers["Retry-After"];
        if (kind === "429") headers["retry-after"] = String(seconds);
        send({ ...reply, status: 429, headers });
        return "answered";
      }
      case "500":
      case "503":
        mark();
        send({ ...this.vendor.error(Number(kind), reasonPhrase(Number(kind))), status: Number(kind) });
        return "answered";
      case "non-json": {
        mark();
        const status = drawn.random() < 0.5 ? 200 : 502;
        send({
          status,
          headers: { "content-type": "text/html; charset=utf-8" },
          bodyText: `<!DOCTYPE html><html><head><title>${status} ${reasonPhrase(status)}</title></head><body><h1>${status === 200 ? "Service temporarily unavailable" : "502 Bad Gateway"}</h1></body></html>`,
        });
        return "answered";
      }
      case "reset":
        if (drawn.random() < 0.5) {
          mark();
          record.status = 0;
          req.socket.destroy();
          return "answered";
        }
        return "reset"; // after the handler: the write happens, the answer is lost
      case "slow":
        await this.delay(spec.slowMs ?? 2_000);
        return undefined;
      case "truncated":
        return "truncated";
    }
  }

  /** Spoils the handler's answer: the connection dies (reset) or the body is cut (truncated). */
  private chaosLate(late: LateChaos, reply: Reply, record: RecordedRequest, req: IncomingMessage, res: ServerResponse): void {
    record.injected = "chaos";
    if (late === "reset" || res.destroyed || res.headersSent) {
      record.status = 0;
      req.socket.destroy();
      return;
    }
    record.status = reply.status;
    const headers: Record<string, string> = { ...resolveHeaders(reply.headers) };
    const full = reply.bodyText ?? (reply.body !== undefined ? JSON.stringify(reply.body) : "");
    if (reply.bodyText === undefined && reply.body !== undefined) headers["content-type"] ??= this.vendor.contentType;
    if (full.length >= 2) {
      // A valid HTTP message whose JSON stops in the middle.
      const cut = full.slice(0, Math.floor(full.length / 2));
      headers["content-length"] = String(Buffer.byteLength(cut));
      res.writeHead(reply.status, headers);
      res.end(cut);
      return;
    }
    // Nothing to cut: announce a body, send part of it, and close the connection.
    headers["content-length"] = "64";
    res.writeHead(reply.status, headers);
    res.write("{\"data\":");
    setImmediate(() => req.socket.destroy());
  }

  private rateHeaders(method: string, path: string, now: number): Record<string, string> {
    if (!this.vendor.rateLimitHeaders) return {};
    const l = this.limiters.find((x) => this.matchesMethod(x.spec.method, method) && this.matchesPath(x.spec.path, path));
    return l ? this.vendor.rateLimitHeaders(this.limiterState(l, now)) : {};
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private write(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
    if (res.destroyed || res.headersSent) return;
    const headers: Record<string, string> = { ...extraHeaders, ...resolveHeaders(reply.headers) };
    let payload: string | undefined;
    if (reply.bodyText !== undefined) {
      payload = reply.bodyText;
      headers["content-type"] ??= "text/plain; charset=utf-8";
    } else if (reply.body !== undefined) {
      payload = JSON.stringify(reply.body);
      headers["content-type"] ??= this.vendor.contentType;
    }
    if (payload !== undefined) headers["content-length"] = String(Buffer.byteLength(payload));
    else headers["content-length"] = "0";
    res.writeHead(reply.status, headers);
    res.end(payload);
  }
}
