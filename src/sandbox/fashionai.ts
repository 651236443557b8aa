// Local stand-in of the Fashion.AI Profiles API (GET /protected/profile/{by}/{value} under /api/v1/crm).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  SandboxServer,
  reasonPhrase,
  type RecordedRequest,
  type Reply,
  type RequestContext,
  type SandboxServerOptions,
  type VendorStyle,
} from "./http.js";

export type FashionAiLookupBy = "email" | "phone" | "document" | "user-profile-id";
export const FASHIONAI_LOOKUP_KINDS: readonly FashionAiLookupBy[] = ["email", "phone", "document", "user-profile-id"];

export const FASHIONAI_BASE_PATH = "/api/v1/crm";
export const DEFAULT_FASHIONAI_TOKEN = "sandbox-fashionai-token";
export const FASHIONAI_TOKEN_HEADER = "x-fashionai-app-token";

/** One scripted answer, in the format of ../shared/cases/*.json `responses`. */
export interface FashionAiScriptedResponse {
  status: number;
  /** `"@HTTPDATE+N"` as a value (e.g. for retry-after) becomes an HTTP date N seconds after the response. */
  headers?: Record<string, string>;
  body?: unknown;
  bodyText?: string;
  /** Served forever once reached. */
  repeat?: boolean;
  delayMs?: number;
}

export interface FashionAiIdentifiers {
  email?: string;
  phone?: string;
  document?: string;
  /** Defaults to the body's userProfileId. */
  userProfileId?: string;
}

/** One row of a profiles index.json (../shared/fixtures/profiles/index.json). */
export interface FashionAiProfileIndexEntry extends FashionAiIdentifiers {
  file: string;
}

export interface FashionAiLookup {
  by: FashionAiLookupBy;
  /** The percent-decoded identifier the API received. */
  value: string;
  /** Status answered (0: connection destroyed by a fault). */
  status: number;
  at: number;
}

export interface FashionAiSandboxOptions extends SandboxServerOptions {
  /** Valid X-FashionAI-APP-Token (default `sandbox-fashionai-token`). */
  token?: string;
  /** A directory with an index.json like ../shared/fixtures/profiles, loaded at start and on reset(). */
  profilesDir?: string;
  /**
   * Consulted when no stored profile matches: returns the body to serve, or undefined for a 404. For very large
   * generated audiences (the benchmark), where storing every profile would dwarf the process being measured.
   */
  resolve?: (by: FashionAiLookupBy, value: string) => unknown;
}

const JSON_TYPE = "application/json; charset=utf-8";

function errorBody(status: number, message: string): Reply {
  return { status, body: { error: reasonPhrase(status), message } };
}

function fashionAiStyle(token: string): VendorStyle {
  return {
    contentType: JSON_TYPE,
    retryAfterByDefault: true,
    error: (status, message) => errorBody(status, message),
    authenticate(ctx: RequestContext) {
      const given = ctx.headers[FASHIONAI_TOKEN_HEADER];
      // The API authenticates by its own header only; a stray Authorization header is refused.
      if (ctx.headers.authorization !== undefined || given !== token) {
        return errorBody(401, "Invalid or missing authentication token");
      }
      return undefined;
    },
    rateLimited: () => errorBody(429, "Too many requests, please slow down"),
  };
}

const key = (by: FashionAiLookupBy, value: string) => `${by}\u0000${value}`;

export class FashionAiSandbox extends SandboxServer {
  readonly token: string;
  private readonly profilesDir: string | undefined;
  private profiles = new Map<string, unknown>();
  private scripts = new Map<string, FashionAiScriptedResponse[]>();
  private readonly resolver: FashionAiSandboxOptions["resolve"];

  constructor(opts: FashionAiSandboxOptions = {}) {
    const token = opts.token ?? DEFAULT_FASHIONAI_TOKEN;
    super(fashionAiStyle(token), { ...opts, basePath: opts.basePath ?? FASHIONAI_BASE_PATH });
    this.token = token;
    this.profilesDir = opts.profilesDir;
    this.resolver = opts.resolve;
    for (const by of FASHIONAI_LOOKUP_KINDS) {
      this.route("GET", `/protected/profile/${by}/{value}`, (ctx) => this.lookup(by, ctx.params.value ?? ""));
    }
    this.seed();
  }

  /**
   * Indexes a profile response body (`{ userProfileId, profile }`, or anything else to serve as is)
   * under each given identifier. Identifiers match exactly (the client normalises before lookup).
   */
  addProfile(ids: FashionAiIdentifiers, body: unknown): void {
    const upid =
      ids.userProfileId ??
      (body && typeof body === "object" && typeof (body as { userProfileId?: unknown }).userProfileId === "string"
        ? (body as { userProfileId: string }).userProfileId
        : undefined);
    const entries: [FashionAiLookupBy, string | undefined][] = [
      ["email", ids.email],
      ["phone", ids.phone],
      ["document", ids.document],
      ["user-profile-id", upid],
    ];
    for (const [by, value] of entries) if (value !== undefined) this.profiles.set(key(by, value), structuredClone(body));
  }

  removeProfile(by: FashionAiLookupBy, value: string): boolean {
    return this.profiles.delete(key(by, value));
  }

  /** The body stored for an identifier, if any. */
  profileFor(by: FashionAiLookupBy, value: string): unknown {
    return this.profiles.get(key(by, value));
  }

  /**
   * Scripts the answers for one lookup, served in turn before the stored profile (or 404). A response
   * with `repeat: true` is served forever once reached. Calling again appends to that lookup's queue.
   */
  script(by: FashionAiLookupBy, value: string, responses: readonly FashionAiScriptedResponse[]): void {
    const k = key(by, value);
    this.scripts.set(k, [...(this.scripts.get(k) ?? []), ...responses.map((r) => structuredClone(r))]);
  }

  /** Reads `index.json` in `dir` and adds each listed file. Returns the index rows. */
  loadProfilesFromDir(dir: string): FashionAiProfileIndexEntry[] {
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as FashionAiProfileIndexEntry[];
    if (!Array.isArray(index)) throw new Error(`${join(dir, "index.json")} is not a JSON array`);
    for (const entry of index) {
      const body: unknown = JSON.parse(readFileSync(join(dir, entry.file), "utf8"));
      const { file: _file, ...ids } = entry;
      this.addProfile(ids, body);
    }
    return index;
  }

  /** Every profile call received, decoded, in order (including those answered by faults or 401s). */
  lookups(): FashionAiLookup[] {
    const prefix = `${this.basePath}/protected/profile/`;
    const out: FashionAiLookup[] = [];
    for (const r of this.requests) {
      if (r.method !== "GET" || !r.path.startsWith(prefix)) continue;
      const [by, raw, ...rest] = r.path.slice(prefix.length).split("/");
      if (rest.length > 0 || raw === undefined || !FASHIONAI_LOOKUP_KINDS.includes(by as FashionAiLookupBy)) continue;
      let value = raw;
      try {
        value = decodeURIComponent(raw);
      } catch {
        // keep the raw segment
      }
      out.push({ by: by as FashionAiLookupBy, value, status: r.status, at: r.at });
    }
    return out;
  }

  /** Back to the started state: no requests, faults, limits or scripts; only the profilesDir profiles. */
  override reset(): void {
    super.reset();
    this.seed();
  }

  /** Convenience for tests: the recorded requests for profile lookups. */
  profileRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(`${this.basePath}/protected/profile/`));
  }

  private seed(): void {
    this.profiles = new Map();
    this.scripts = new Map();
    if (this.profilesDir) this.loadProfilesFromDir(this.profilesDir);
  }

  private async lookup(by: FashionAiLookupBy, value: string): Promise<Reply> {
    const queue = this.scripts.get(key(by, value));
    const next = queue?.[0];
    if (queue && next) {
      if (!next.repeat) queue.shift();
      if (next.delayMs && next.delayMs > 0) await new Promise((r) => setTimeout(r, next.delayMs));
      const reply: Reply = { status: next.status, headers: { ...(next.headers ?? {}) } };
      if (next.bodyText !== undefined) reply.bodyText = next.bodyText;
      else if (next.body !== undefined) reply.body = next.body;
      return reply;
    }
    const body = this.profiles.get(key(by, value)) ?? this.resolver?.(by, value);
    if (body === undefined) return errorBody(404, "Profile not found");
    return { status: 200, body };
  }
}

export async function startFashionAiSandbox(opts: FashionAiSandboxOptions = {}): Promise<FashionAiSandbox> {
  return new FashionAiSandbox(opts).start();
}
