// Local stand-in of the Klaviyo APIs the product uses (revision 2026-07-15): profile import, profile
// listing with filters and cursor paging, events (deduplicated by unique_id), and bulk profile import
// jobs with their import errors. JSON:API shapes follow ../shared/specs/klaviyo/*.json.

import { Buffer } from "node:buffer";
import {
  SandboxServer,
  correlationId,
  type RateLimitState,
  type Reply,
  type RequestContext,
  type SandboxServerOptions,
  type VendorStyle,
} from "./http.js";
import { splitEventBulkCreate } from "./klaviyo-event-bulk.js";
import { KlaviyoSegmentStore, type KlaviyoSegment, type SegmentWriteLimits } from "./klaviyo-segments.js";

export type { KlaviyoSegment, SegmentWriteLimits } from "./klaviyo-segments.js";

export const DEFAULT_KLAVIYO_KEY = "sandbox-klaviyo-key";
export const KLAVIYO_REVISION = "2026-07-15";
export const KLAVIYO_PAGE_SIZE_MAX = 100;
export const KLAVIYO_BULK_PROFILES_MAX = 10_000;
/** profile-import payload limit, and per-profile limit inside a bulk job (100 KB). */
export const KLAVIYO_PROFILE_PAYLOAD_MAX_BYTES = 100 * 1024;
export const KLAVIYO_EVENT_STRING_MAX_BYTES = 100 * 1024;

const JSONAPI_TYPE = "application/vnd.api+json";

export interface KlaviyoLocation {
  address1?: string | null;
  address2?: string | null;
  city?: string | null;
  country?: string | null;
  latitude?: string | number | null;
  longitude?: string | number | null;
  region?: string | null;
  zip?: string | null;
  timezone?: string | null;
  ip?: string | null;
}

export interface KlaviyoProfile {
  id: string;
  email: string | null;
  phone_number: string | null;
  external_id: string | null;
  first_name: string | null;
  last_name: string | null;
  organization: string | null;
  locale: string | null;
  title: string | null;
  image: string | null;
  location: KlaviyoLocation | null;
  properties: Record<string, unknown>;
  created: string;
  updated: string;
  last_event_date: string | null;
}

/** A stored (deduplicated) event. */
export interface KlaviyoEvent {
  id: string;
  metric: string;
  profileId: string;
  email: string | null;
  uniqueId: string;
  properties: Record<string, unknown>;
  /** ISO time, truncated to the second. */
  time: string;
  value?: number | null;
  receivedAt: number;
}

/** Every accepted POST /api/events, duplicates included. */
export interface KlaviyoEventPost {
  metric: string;
  email: string | null;
  profileId: string;
  /** unique_id as sent, or the default (the event time to the second). */
  uniqueId: string;
  uniqueIdSent: boolean;
  properties: Record<string, unknown>;
  time: string;
  /** True when an event with the same profile, metric and unique_id was already recorded. */
  duplicate: boolean;
  at: number;
}

export interface KlaviyoImportError {
  id: string;
  code: string;
  title: string;
  detail: string;
  source: { pointer: string };
  original_payload: unknown;
}

export type KlaviyoJobStatus = "queued" | "processing" | "complete" | "cancelled";

export interface KlaviyoBulkImportJob {
  id: string;
  status: KlaviyoJobStatus;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  expires_at: string | null;
  total_count: number;
  completed_count: number;
  failed_count: number;
  /** Import errors (visible through the API once the job completes). */
  errors: KlaviyoImportError[];
}

export interface KlaviyoSandboxOptions extends SandboxServerOptions {
  /** Valid private key (default `sandbox-klaviyo-key`). */
  apiKey?: string;
  /** Keys that authenticate but lack scopes: every call with them answers 403 permission_denied. */
  forbiddenKeys?: string[];
  /** Bulk import jobs complete this many ms after creation (default 0: immediately). */
  bulkJobDelayMs?: number;
  /** Rate limits on segment writes (POST/PATCH /api/segments), e.g. Klaviyo's { perSecond: 1, perMinute: 15, perDay: 100 }. Default: none. */
  segmentWriteLimits?: SegmentWriteLimits;
}

type Attrs = Record<string, unknown>;

interface PendingJob {
  job: KlaviyoBulkImportJob;
  readyAt: number;
  profiles: { attrs: Attrs; meta: unknown; id: string | undefined }[];
}

const STRING_ATTRS = [
  "email",
  "phone_number",
  "external_id",
  "first_name",
  "last_name",
  "organization",
  "locale",
  "title",
  "image",
] as const;
type StringAttr = (typeof STRING_ATTRS)[number];
const PROFILE_ATTR_KEYS = new Set<string>([...STRING_ATTRS, "_kx", "location", "properties"]);
const EVENT_PROFILE_ATTR_KEYS = new Set<string>([...PROFILE_ATTR_KEYS, "anonymous_id", "meta"]);
const LOCATION_KEYS = new Set(["address1", "address2", "city", "country", "latitude", "longitude", "region", "zip", "timezone", "ip"]);
const EMAIL_RX = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const PHONE_RX = /^\+[1-9]\d{6,14}$/;
const REVISION_RX = /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/;

const TITLES: Record<string, string> = {
  invalid: "Invalid input.",
  not_authenticated: "Authentication credentials were not provided.",
  authentication_failed: "Incorrect authentication credentials.",
  permission_denied: "You do not have permission to perform this action.",
  not_found: "Not found.",
  method_not_allowed: "Method not allowed.",
  conflict: "Conflict.",
  payload_too_large: "Request payload too large.",
  unsupported_media_type: "Unsupported media type.",
  throttled: "Request was throttled.",
  error: "A server error occurred.",
  service_unavailable: "Service unavailable.",
};

const CODE_BY_STATUS: Record<number, string> = {
  400: "invalid",
  401: "not_authenticated",
  403: "permission_denied",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "throttled",
  503: "service_unavailable",
};

export interface KlaviyoErrorSource {
  pointer?: string;
  parameter?: string;
}

export function klaviyoError(status: number, detail: string, code?: string, source: KlaviyoErrorSource = { pointer: "/data/" }): Reply {
  const c = code ?? CODE_BY_STATUS[status] ?? (status >= 500 ? "error" : "invalid");
  return {
    status,
    body: {
      errors: [{ id: correlationId(), status, code: c, title: TITLES[c] ?? "Error.", detail, source, links: {}, meta: {} }],
    },
  };
}

function klaviyoStyle(apiKey: string, forbidden: ReadonlySet<string>): VendorStyle {
  return {
    contentType: JSONAPI_TYPE,
    retryAfterByDefault: true,
    error: (status, message, code) => klaviyoError(status, message, code),
    authenticate(ctx: RequestContext) {
      const auth = ctx.headers.authorization;
      const m = typeof auth === "string" ? /^Klaviyo-API-Key\s+(\S+)\s*$/.exec(auth) : null;
      if (!m) return klaviyoError(401, "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.", "not_authenticated");
      const key = m[1] as string;
      if (forbidden.has(key)) {
        return klaviyoError(403, "Your API key is missing required scopes for this request.", "permission_denied");
      }
      if (key !== apiKey) return klaviyoError(401, "Incorrect authentication credentials.", "authentication_failed");
      return undefined;
    },
    checkHeaders(ctx: RequestContext) {
      const rev = ctx.headers.revision;
      if (rev === undefined || rev === "") {
        return klaviyoError(400, "Missing revision header", "invalid", { parameter: "revision" });
      }
      if (typeof rev !== "string" || !REVISION_RX.test(rev)) {
        return klaviyoError(400, `Invalid revision header: ${String(rev)}. Use a date like ${KLAVIYO_REVISION}`, "invalid", {
          parameter: "revision",
        });
      }
      return undefined;
    },
    rateLimited(state: RateLimitState) {
      return klaviyoError(
        429,
        `Request was throttled. Expected available in ${state.retryAfterSeconds} second${state.retryAfterSeconds === 1 ? "" : "s"}.`,
        "throttled",
      );
    },
    rateLimitHeaders(state: RateLimitState) {
      return {
        "RateLimit-Limit": String(state.spec.limit),
        "RateLimit-Remaining": String(state.remaining),
        "RateLimit-Reset": String(Math.ceil(state.resetMs / 1000)),
      };
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function encodeCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString("base64url");
}

function decodeCursor(cursor: string): number | undefined {
  // Clients (and the SDK, for https links) may pass the whole `links.next` URL as the cursor.
  if (/^https?:\/\//.test(cursor)) {
    const inner = new URL(cursor).searchParams.get("page[cursor]");
    if (inner === null) return undefined;
    cursor = inner;
  }
  const m = /^o:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  return m ? Number(m[1]) : undefined;
}

function toSecondIso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

// --------------------------------------------------------------------------- filter parsing

type FilterValue = string | number | boolean | null | FilterValue[];
interface FilterTerm {
  op: string;
  field: string;
  value: FilterValue;
}

/** Parses Klaviyo's filter syntax: comma-separated `op(field,value)` terms, ANDed. */
export function parseKlaviyoFilter(input: string): FilterTerm[] {
  let i = 0;
  const ws = () => {
    while (i < input.length && /\s/.test(input[i] as string)) i++;
  };
  const fail = (msg: string): never => {
    throw new Error(`${msg} at position ${i}`);
  };
  const ident = (): string => {
    ws();
    const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(input.slice(i));
    if (!m) fail("expected a name");
    i += (m as RegExpExecArray)[0].length;
    return (m as RegExpExecArray)[0];
  };
  const expect = (ch: string) => {
    ws();
    if (input[i] !== ch) fail(`expected '${ch}'`);
    i++;
  };
  const value = (): FilterValue => {
    ws();
    const ch = input[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < input.length && input[j] !== '"') j += input[j] === "\\" ? 2 : 1;
      if (j >= input.length) fail("unterminated string");
      const s = JSON.parse(input.slice(i, j + 1)) as string;
      i = j + 1;
      return s;
    }
    if (ch === "'") {
      const j = input.indexOf("'", i + 1);
      if (j < 0) fail("unterminated string");
      const s = input.slice(i + 1, j);
      i = j + 1;
      return s;
    }
    if (ch === "[") {
      i++;
      const items: FilterValue[] = [];
      ws();
      if (input[i] === "]") {
        i++;
        return items;
      }
      for (;;) {
        items.push(value());
        ws();
        if (input[i] === ",") {
          i++;
          continue;
        }
        expect("]");
        return items;
      }
    }
    const m = /^[^,)\]\s]+/.exec(input.slice(i));
    if (!m) return fail("expected a value");
    i += m[0].length;
    const raw = m[0];
    if (raw === "true") return true;
    if (raw === "false") return false;
    if (raw === "null") return null;
    if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
    return raw; // unquoted datetimes, e.g. 2024-01-01T00:00:00Z
  };
  const terms: FilterTerm[] = [];
  for (;;) {
    const op = ident();
    expect("(");
    const field = ident();
    expect(",");
    const v = value();
    expect(")");
    terms.push({ op, field, value: v });
    ws();
    if (i >= input.length) return terms;
    expect(",");
  }
}

// --------------------------------------------------------------------------- sandbox

export class KlaviyoSandbox extends SandboxServer {
  readonly apiKey: string;
  readonly bulkJobDelayMs: number;
  private store = new Map<string, KlaviyoProfile>();
  /** Lower-cased email → profile id (lookups by email stay O(1) for large audiences). */
  private emailIndex = new Map<string, string>();
  private storedEvents: KlaviyoEvent[] = [];
  private posts: KlaviyoEventPost[] = [];
  private eventKeys = new Set<string>();
  private jobs = new Map<string, PendingJob>();
  private seq = 0;
  private readonly segmentStore = new KlaviyoSegmentStore(() => this.profiles());

  constructor(opts: KlaviyoSandboxOptions = {}) {
    const apiKey = opts.apiKey ?? DEFAULT_KLAVIYO_KEY;
    super(klaviyoStyle(apiKey, new Set(opts.forbiddenKeys ?? [])), opts);
    this.apiKey = apiKey;
    this.bulkJobDelayMs = opts.bulkJobDelayMs ?? 0;

    this.route("POST", "/api/profile-import", (c) => this.profileImport(c), { bodyLimitBytes: KLAVIYO_PROFILE_PAYLOAD_MAX_BYTES });
    this.route("GET", "/api/profiles", (c) => this.listProfiles(c));
    this.route("GET", "/api/profiles/{id}", (c) => this.getProfile(c));
    this.route("POST", "/api/events", (c) => this.createEvent(c));
    this.route("POST", "/api/profile-bulk-import-jobs", (c) => this.createJob(c));
    this.route("GET", "/api/profile-bulk-import-jobs/{id}", (c) => this.getJob(c));
    this.route("GET", "/api/profile-bulk-import-jobs/{id}/import-errors", (c) => this.jobErrors(c));
    this.route("POST", "/api/event-bulk-create-jobs", (c) => this.bulkCreateEvents(c));
    this.segmentStore.register((method, template, handler) => this.route(method, template, handler));
    if (opts.segmentWriteLimits) this.limitSegmentWrites(opts.segmentWriteLimits);
  }

  /** Every segment, with its definition. */
  segments(): KlaviyoSegment[] {
    return this.segmentStore.all();
  }

  /** The segment with this exact name. */
  segment(name: string): KlaviyoSegment | undefined {
    return this.segmentStore.byName(name);
  }

  /** Emails of the profiles a segment's definition selects now. */
  segmentMembers(name: string): string[] {
    return this.segmentStore.members(name);
  }

  /** Seeds a segment directly, skipping validation (e.g. one edited by hand in Klaviyo). */
  addSegment(segment: Pick<KlaviyoSegment, "name" | "definition"> & Partial<KlaviyoSegment>): KlaviyoSegment {
    return this.segmentStore.add(segment);
  }

  /** Rate-limits segment writes like Klaviyo (429 with Retry-After past a limit). Returns a remover. */
  limitSegmentWrites(limits: SegmentWriteLimits): () => void {
    const removers: Array<() => void> = [];
    const windows: Array<[number | undefined, number]> = [[limits.perSecond, 1000], [limits.perMinute, 60_000], [limits.perDay, 86_400_000]];
    for (const method of ["POST", "PATCH"]) {
      for (const [limit, windowMs] of windows) {
        if (limit !== undefined) removers.push(this.rateLimit({ limit, windowMs, method, path: "/api/segments" }));
      }
    }
    return () => removers.forEach((r) => r());
  }

  // ------------------------------------------------------------------------------ inspectors

  /** The custom properties of the profile with this email (case-insensitive), or undefined. */
  profile(email: string): Record<string, unknown> | undefined {
    const p = this.profileRecord(email);
    return p?.properties;
  }

  /** The whole stored profile with this email. */
  profileRecord(email: string): KlaviyoProfile | undefined {
    this.settleJobs();
    const p = this.byEmail(email);
    return p ? structuredClone(p) : undefined;
  }

  profiles(): KlaviyoProfile[] {
    this.settleJobs();
    return [...this.store.values()].map((p) => structuredClone(p));
  }

  /** Stored events (deduplicated by profile, metric and unique_id), in order. */
  events(): KlaviyoEvent[] {
    return this.storedEvents.map((e) => structuredClone(e));
  }

  /** Every accepted event post, duplicates included. */
  eventPosts(): KlaviyoEventPost[] {
    return this.posts.map((e) => structuredClone(e));
  }

  job(id: string): KlaviyoBulkImportJob | undefined {
    this.settleJobs();
    const j = this.jobs.get(id);
    return j ? structuredClone(j.job) : undefined;
  }

  jobsList(): KlaviyoBulkImportJob[] {
    this.settleJobs();
    return [...this.jobs.values()].map((j) => structuredClone(j.job));
  }

  /** Seeds a profile directly (no validation). */
  addProfile(email: string, properties: Record<string, unknown> = {}, attrs: Partial<Record<StringAttr, string>> = {}): KlaviyoProfile {
    const { profile } = this.upsert({ ...attrs, email, properties }, undefined, undefined);
    return structuredClone(profile);
  }

  /** Back to the started state: no profiles, events, jobs or traffic. */
  override reset(): void {
    super.reset();
    this.store = new Map();
    this.emailIndex = new Map();
    this.storedEvents = [];
    this.posts = [];
    this.eventKeys = new Set();
    this.jobs = new Map();
    this.seq = 0;
    this.segmentStore?.reset();
  }

  // ------------------------------------------------------------------------------ internals

  private newId(): string {
    let n = ++this.seq;
    let s = "";
    while (n > 0) {
      s = CROCKFORD[n % 32] + s;
      n = Math.floor(n / 32);
    }
    return `01KSBX${s.padStart(20, "0")}`;
  }

  /** Keeps the email index (lower-cased email → profile id) in step with a profile whose email changed. */
  private indexEmail(profile: KlaviyoProfile, before: string | null): void {
    if (before !== null && this.emailIndex.get(before.toLowerCase()) === profile.id) this.emailIndex.delete(before.toLowerCase());
    if (profile.email !== null) this.emailIndex.set(profile.email.toLowerCase(), profile.id);
  }

  private byEmail(email: string): KlaviyoProfile | undefined {
    const e = email.trim().toLowerCase();
    const id = this.emailIndex.get(e);
    const p = id === undefined ? undefined : this.store.get(id);
    return p && p.email !== null && p.email.toLowerCase() === e ? p : undefined;
  }

  private find(attrs: Attrs, id: string | undefined): KlaviyoProfile | undefined {
    if (id) return this.store.get(id);
    if (typeof attrs.email === "string") {
      const p = this.byEmail(attrs.email);
      if (p) return p;
    }
    for (const key of ["phone_number", "external_id"] as const) {
      const v = attrs[key];
      if (typeof v !== "string") continue;
      for (const p of this.store.values()) if (p[key] === v) return p;
    }
    return undefined;
  }

  /** Structural validation of profile attributes (answers 400 for the whole request). */
  private checkAttrs(attrs: unknown, pointer: string, allowed: ReadonlySet<string>): Reply | undefined {
    if (!isRecord(attrs)) return klaviyoError(400, "attributes must be an object", "invalid", { pointer });
    for (const [k, v] of Object.entries(attrs)) {
      if (!allowed.has(k)) {
        return klaviyoError(400, `'${k}' is not a valid field for the resource 'profile'.`, "invalid", { pointer: `${pointer}/${k}` });
      }
      if ((STRING_ATTRS as readonly string[]).includes(k) || k === "_kx" || k === "anonymous_id") {
        if (v !== null && typeof v !== "string") {
          return klaviyoError(400, `'${k}' must be a string or null.`, "invalid", { pointer: `${pointer}/${k}` });
        }
      }
      if (k === "properties" && v !== null && !isRecord(v)) {
        return klaviyoError(400, "'properties' must be an object.", "invalid", { pointer: `${pointer}/properties` });
      }
      if (k === "location" && v !== null) {
        if (!isRecord(v)) return klaviyoError(400, "'location' must be an object.", "invalid", { pointer: `${pointer}/location` });
        for (const lk of Object.keys(v)) {
          if (!LOCATION_KEYS.has(lk)) {
            return klaviyoError(400, `'${lk}' is not a valid field for 'location'.`, "invalid", { pointer: `${pointer}/location/${lk}` });
          }
        }
      }
    }
    return undefined;
  }

  /** Semantic validation: identifiers present and well-formed. Returns [detail, pointer] or undefined. */
  private checkIdentifiers(attrs: Attrs, id: string | undefined, pointer: string, extraIds: string[] = []): [string, string] | undefined {
    const has = (k: string) => typeof attrs[k] === "string" && (attrs[k] as string) !== "";
    if (!id && !has("email") && !has("phone_number") && !has("external_id") && !extraIds.some(has)) {
      return ["One of email, phone_number, or external_id is required to identify a profile.", pointer];
    }
    if (has("email") && !EMAIL_RX.test((attrs.email as string).trim())) {
      return [`Invalid email address: ${String(attrs.email)}`, `${pointer}/email`];
    }
    if (has("phone_number") && !PHONE_RX.test(attrs.phone_number as string)) {
      return [
        `Invalid phone number format (Example of a valid phone number format: +12345678901): ${String(attrs.phone_number)}`,
        `${pointer}/phone_number`,
      ];
    }
    return undefined;
  }

  /** Creates or updates a profile from validated attributes. */
  private upsert(attrs: Attrs, meta: unknown, id: string | undefined): { profile: KlaviyoProfile; created: boolean } {
    const now = new Date().toISOString();
    let profile = this.find(attrs, id);
    const created = profile === undefined;
    if (!profile) {
      profile = {
        id: this.newId(),
        email: null,
        phone_number: null,
        external_id: null,
        first_name: null,
        last_name: null,
        organization: null,
        locale: null,
        title: null,
        image: null,
        location: null,
        properties: {},
        created: now,
        updated: now,
        last_event_date: null,
      };
      this.store.set(profile.id, profile);
    }
    const emailBefore = profile.email;
    for (const k of STRING_ATTRS) {
      if (!(k in attrs)) continue;
      const v = attrs[k];
      profile[k] = typeof v === "string" ? (k === "email" ? v.trim() : v) : null;
    }
    if (profile.email !== emailBefore) this.indexEmail(profile, emailBefore);
    if ("location" in attrs) {
      const loc = attrs.location;
      profile.location = loc === null ? null : { ...(profile.location ?? {}), ...(loc as KlaviyoLocation) };
    }
    if (isRecord(attrs.properties)) {
      for (const [k, v] of Object.entries(attrs.properties)) {
        if (v === null) delete profile.properties[k];
        else profile.properties[k] = structuredClone(v);
      }
    }
    const patch = isRecord(meta) && isRecord(meta.patch_properties) ? meta.patch_properties : undefined;
    if (patch) {
      const unset = typeof patch.unset === "string" ? [patch.unset] : Array.isArray(patch.unset) ? patch.unset : [];
      for (const k of unset) if (typeof k === "string") delete profile.properties[k];
      if (isRecord(patch.append)) {
        for (const [k, v] of Object.entries(patch.append)) {
          const cur = profile.properties[k];
          profile.properties[k] = [...(Array.isArray(cur) ? cur : cur === undefined ? [] : [cur]), v];
        }
      }
      if (isRecord(patch.unappend)) {
        for (const [k, v] of Object.entries(patch.unappend)) {
          const cur = profile.properties[k];
          if (Array.isArray(cur)) profile.properties[k] = cur.filter((x) => JSON.stringify(x) !== JSON.stringify(v));
        }
      }
    }
    profile.updated = now;
    return { profile, created };
  }

  private resource(p: KlaviyoProfile, origin: string, fields?: string[]) {
    const self = `${origin}/api/profiles/${p.id}/`;
    const all: Record<string, unknown> = {
      email: p.email,
      phone_number: p.phone_number,
      external_id: p.external_id,
      first_name: p.first_name,
      last_name: p.last_name,
      organization: p.organization,
      locale: p.locale,
      title: p.title,
      image: p.image,
      created: p.created,
      updated: p.updated,
      last_event_date: p.last_event_date,
      location: p.location,
      properties: p.properties,
    };
    let attributes = all;
    if (fields && fields.length > 0) {
      const keep = new Set(fields.map((f) => f.split(".")[0]));
      attributes = Object.fromEntries(Object.entries(all).filter(([k]) => keep.has(k)));
    }
    const rel = (name: string) => ({
      links: { self: `${origin}/api/profiles/${p.id}/relationships/${name}/`, related: `${origin}/api/profiles/${p.id}/${name}/` },
    });
    return {
      type: "profile",
      id: p.id,
      attributes,
      relationships: { lists: rel("lists"), segments: rel("segments") },
      links: { self },
    };
  }

  private fields(ctx: RequestContext): string[] | undefined {
    const f = ctx.query.get("fields[profile]");
    return f ? f.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
  }

  // ------------------------------------------------------------------------------ profiles

  private profileImport(ctx: RequestContext): Reply {
    const body = ctx.body;
    if (!isRecord(body) || !isRecord(body.data)) return klaviyoError(400, "'data' is a required field.", "invalid", { pointer: "/data" });
    const data = body.data;
    if (data.type !== "profile") {
      return klaviyoError(409, `The type '${String(data.type)}' does not match the resource type 'profile'.`, "conflict", {
        pointer: "/data/type",
      });
    }
    const id = typeof data.id === "string" && data.id !== "" ? data.id : undefined;
    const bad = this.checkAttrs(data.attributes, "/data/attributes", PROFILE_ATTR_KEYS);
    if (bad) return bad;
    const attrs = data.attributes as Attrs;
    const idProblem = this.checkIdentifiers(attrs, id, "/data/attributes");
    if (idProblem) return klaviyoError(400, idProblem[0], "invalid", { pointer: idProblem[1] });
    if (id && !this.store.has(id)) return klaviyoError(404, `A profile with id ${id} does not exist.`, "not_found");
    const { profile, created } = this.upsert(attrs, data.meta, id);
    return { status: created ? 201 : 200, body: { data: this.resource(profile, ctx.origin, this.fields(ctx)), links: { self: `${ctx.origin}/api/profile-import/` } } };
  }

  private getProfile(ctx: RequestContext): Reply {
    this.settleJobs();
    const p = this.store.get(ctx.params.id ?? "");
    if (!p) return klaviyoError(404, `A profile with id ${ctx.params.id ?? ""} does not exist.`, "not_found");
    return { status: 200, body: { data: this.resource(p, ctx.origin, this.fields(ctx)), links: { self: `${ctx.origin}/api/profiles/${p.id}/` } } };
  }

  private matches(p: KlaviyoProfile, t: FilterTerm): boolean {
    const cmpString = (a: string | null, b: FilterValue, ci: boolean) =>
      typeof b === "string" && a !== null && (ci ? a.toLowerCase() === b.toLowerCase() : a === b);
    const fieldValue = (f: string): string | null =>
      f === "id" ? p.id : (p[f as "email" | "phone_number" | "external_id" | "created" | "updated"] ?? null);
    if (t.op === "equals") return cmpString(fieldValue(t.field), t.value, t.field === "email");
    if (t.op === "any") return Array.isArray(t.value) && t.value.some((v) => cmpString(fieldValue(t.field), v, t.field === "email"));
    const a = Date.parse(fieldValue(t.field) ?? "");
    const b = typeof t.value === "string" ? Date.parse(t.value) : NaN;
    if (t.op === "greater-than") return a > b;
    if (t.op === "greater-or-equal") return a >= b;
    if (t.op === "less-than") return a < b;
    if (t.op === "less-or-equal") return a <= b;
    return false;
  }

  private validateFilter(terms: FilterTerm[]): string | undefined {
    const idFields = new Set(["id", "email", "phone_number", "external_id"]);
    const dateFields = new Set(["created", "updated"]);
    for (const t of terms) {
      if (t.op === "equals" || t.op === "any") {
        if (!idFields.has(t.field)) return `'${t.op}' is not supported for field '${t.field}'`;
        if (t.op === "any" && !Array.isArray(t.value)) return "'any' needs a list value";
        if (t.op === "equals" && typeof t.value !== "string") return `'equals' on '${t.field}' needs a string value`;
      } else if (["greater-than", "greater-or-equal", "less-than", "less-or-equal"].includes(t.op)) {
        if (!dateFields.has(t.field)) return `'${t.op}' is not supported for field '${t.field}'`;
        if (typeof t.value !== "string" || Number.isNaN(Date.parse(t.value))) return `'${t.op}' needs a datetime value`;
      } else {
        return `Unsupported operator '${t.op}'`;
      }
    }
    return undefined;
  }

  private pageParams(ctx: RequestContext): { size: number; offset: number } | Reply {
    const sizeRaw = ctx.query.get("page[size]");
    const size = sizeRaw === null ? 20 : Number(sizeRaw);
    if (!Number.isInteger(size) || size < 1 || size > KLAVIYO_PAGE_SIZE_MAX) {
      return klaviyoError(400, `Invalid page size: must be an integer between 1 and ${KLAVIYO_PAGE_SIZE_MAX}.`, "invalid", {
        parameter: "page[size]",
      });
    }
    const cursor = ctx.query.get("page[cursor]");
    let offset = 0;
    if (cursor !== null && cursor !== "") {
      const o = decodeCursor(cursor);
      if (o === undefined) return klaviyoError(400, "Invalid page cursor.", "invalid", { parameter: "page[cursor]" });
      offset = o;
    }
    return { size, offset };
  }

  private links(ctx: RequestContext, offset: number, size: number, total: number) {
    const build = (o: number) => {
      const u = new URL(ctx.path, ctx.origin);
      for (const [k, v] of ctx.query) if (k !== "page[cursor]") u.searchParams.append(k, v);
      if (o > 0) u.searchParams.set("page[cursor]", encodeCursor(o));
      return u.toString();
    };
    const links: { self: string; next?: string; prev?: string } = { self: build(offset) };
    if (offset + size < total) links.next = build(offset + size);
    if (offset > 0) links.prev = build(Math.max(0, offset - size));
    return links;
  }

  private listProfiles(ctx: RequestContext): Reply {
    this.settleJobs();
    const page = this.pageParams(ctx);
    if ("status" in page) return page;
    let list = [...this.store.values()];
    const filter = ctx.query.get("filter");
    if (filter !== null && filter !== "") {
      let terms: FilterTerm[];
      try {
        terms = parseKlaviyoFilter(filter);
      } catch (e) {
        return klaviyoError(400, `Invalid filter provided: ${e instanceof Error ? e.message : String(e)}`, "invalid", { parameter: "filter" });
      }
      const problem = this.validateFilter(terms);
      if (problem) return klaviyoError(400, `Invalid filter provided: ${problem}`, "invalid", { parameter: "filter" });
      list = list.filter((p) => terms.every((t) => this.matches(p, t)));
    }
    const sort = ctx.query.get("sort");
    if (sort) {
      const desc = sort.startsWith("-");
      const key = desc ? sort.slice(1) : sort;
      if (!["created", "updated", "email", "id"].includes(key)) {
        return klaviyoError(400, `Invalid sort field: ${sort}`, "invalid", { parameter: "sort" });
      }
      const val = (p: KlaviyoProfile) => String((key === "id" ? p.id : p[key as "created" | "updated" | "email"]) ?? "");
      list.sort((a, b) => (desc ? -1 : 1) * val(a).localeCompare(val(b)));
    }
    const fields = this.fields(ctx);
    const data = list.slice(page.offset, page.offset + page.size).map((p) => this.resource(p, ctx.origin, fields));
    return { status: 200, body: { data, links: this.links(ctx, page.offset, page.size, list.length) } };
  }

  // ------------------------------------------------------------------------------ events

  private createEvent(ctx: RequestContext): Reply {
    const body = ctx.body;
    if (!isRecord(body) || !isRecord(body.data)) return klaviyoError(400, "'data' is a required field.", "invalid", { pointer: "/data" });
    const data = body.data;
    if (data.type !== "event") {
      return klaviyoError(409, `The type '${String(data.type)}' does not match the resource type 'event'.`, "conflict", {
        pointer: "/data/type",
      });
    }
    const a = data.attributes;
    if (!isRecord(a)) return klaviyoError(400, "'attributes' is a required field.", "invalid", { pointer: "/data/attributes" });
    if (!isRecord(a.properties)) {
      return klaviyoError(400, "'properties' is a required field and must be an object.", "invalid", { pointer: "/data/attributes/properties" });
    }
    if (Object.keys(a.properties).length > 400) {
      return klaviyoError(400, "Events may not have more than 400 properties.", "invalid", { pointer: "/data/attributes/properties" });
    }
    const tooLong = (v: unknown): boolean =>
      typeof v === "string"
        ? Buffer.byteLength(v) > KLAVIYO_EVENT_STRING_MAX_BYTES
        : Array.isArray(v)
          ? v.some(tooLong)
          : isRecord(v) && Object.values(v).some(tooLong);
    if (tooLong(a.properties)) {
      return klaviyoError(400, "A string in the event properties is larger than 100 KB.", "invalid", { pointer: "/data/attributes/properties" });
    }
    const metric = isRecord(a.metric) && isRecord(a.metric.data) ? a.metric.data : undefined;
    if (!metric || metric.type !== "metric" || !isRecord(metric.attributes) || typeof metric.attributes.name !== "string" || metric.attributes.name.trim() === "") {
      return klaviyoError(400, "A metric with a 'name' is required.", "invalid", { pointer: "/data/attributes/metric/data" });
    }
    const prof = isRecord(a.profile) && isRecord(a.profile.data) ? a.profile.data : undefined;
    if (!prof || prof.type !== "profile") {
      return klaviyoError(400, "A profile is required.", "invalid", { pointer: "/data/attributes/profile/data" });
    }
    const pid = typeof prof.id === "string" && prof.id !== "" ? prof.id : undefined;
    const pattrs = prof.attributes ?? {};
    const bad = this.checkAttrs(pattrs, "/data/attributes/profile/data/attributes", EVENT_PROFILE_ATTR_KEYS);
    if (bad) return bad;
    const idProblem = this.checkIdentifiers(pattrs as Attrs, pid, "/data/attributes/profile/data/attributes", ["anonymous_id"]);
    if (idProblem) return klaviyoError(400, idProblem[0], "invalid", { pointer: idProblem[1] });
    if (pid && !this.store.has(pid)) return klaviyoError(404, `A profile with id ${pid} does not exist.`, "not_found");

    const now = Date.now();
    let timeMs = now;
    if (a.time !== undefined && a.time !== null) {
      timeMs = typeof a.time === "string" ? Date.parse(a.time) : NaN;
      if (Number.isNaN(timeMs)) return klaviyoError(400, `Invalid datetime: ${String(a.time)}`, "invalid", { pointer: "/data/attributes/time" });
      if (timeMs < Date.UTC(1990, 0, 1) || timeMs > now + 366 * 86_400_000) {
        return klaviyoError(400, "The event time must be after 1990 and at most 1 year in the future.", "invalid", {
          pointer: "/data/attributes/time",
        });
      }
    }
    if (a.unique_id !== undefined && a.unique_id !== null && typeof a.unique_id !== "string") {
      return klaviyoError(400, "'unique_id' must be a string.", "invalid", { pointer: "/data/attributes/unique_id" });
    }
    if (a.value !== undefined && a.value !== null && typeof a.value !== "number") {
      return klaviyoError(400, "'value' must be a number.", "invalid", { pointer: "/data/attributes/value" });
    }

    const { meta, ...profileAttrs } = pattrs as Attrs;
    const { profile } = this.upsert(profileAttrs, meta, pid);
    const time = toSecondIso(timeMs);
    profile.last_event_date = time;
    const metricName = metric.attributes.name as string;
    const uniqueIdSent = typeof a.unique_id === "string" && a.unique_id !== "";
    const uniqueId = uniqueIdSent ? (a.unique_id as string) : time;
    const dedupeKey = `${profile.id}\u0000${metricName}\u0000${uniqueId}`;
    const duplicate = this.eventKeys.has(dedupeKey);
    const properties = structuredClone(a.properties);
    this.posts.push({ metric: metricName, email: profile.email, profileId: profile.id, uniqueId, uniqueIdSent, properties, time, duplicate, at: now });
    if (!duplicate) {
      this.eventKeys.add(dedupeKey);
      const ev: KlaviyoEvent = { id: this.newId(), metric: metricName, profileId: profile.id, email: profile.email, uniqueId, properties, time, receivedAt: now };
      if (typeof a.value === "number") ev.value = a.value;
      this.storedEvents.push(ev);
    }
    return { status: 202 };
  }

  /** Bulk events: checked as a whole (a repeated unique_id rejects all), then recorded one by one like POST /api/events. */
  private bulkCreateEvents(ctx: RequestContext): Reply {
    const split = splitEventBulkCreate(ctx.body, klaviyoError);
    if ("reply" in split) return split.reply;
    for (const body of split.events) {
      const reply = this.createEvent({ ...ctx, body });
      if (reply.status >= 300) return reply;
    }
    return { status: 202 };
  }

  // ------------------------------------------------------------------------------ bulk import jobs

  private jobResource(j: KlaviyoBulkImportJob, origin: string) {
    const base = `${origin}/api/profile-bulk-import-jobs/${j.id}`;
    const { errors: _errors, ...attrs } = j;
    const { id: _id, ...attributes } = attrs;
    return {
      type: "profile-bulk-import-job",
      id: j.id,
      attributes,
      relationships: {
        lists: { data: [], links: { self: `${base}/relationships/lists/`, related: `${base}/lists/` } },
        profiles: { links: { self: `${base}/relationships/profiles/`, related: `${base}/profiles/` } },
        "import-errors": { links: { related: `${base}/import-errors/` } },
      },
      links: { self: `${base}/` },
    };
  }

  private createJob(ctx: RequestContext): Reply {
    const body = ctx.body;
    if (!isRecord(body) || !isRecord(body.data)) return klaviyoError(400, "'data' is a required field.", "invalid", { pointer: "/data" });
    const data = body.data;
    if (data.type !== "profile-bulk-import-job") {
      return klaviyoError(409, `The type '${String(data.type)}' does not match the resource type 'profile-bulk-import-job'.`, "conflict", {
        pointer: "/data/type",
      });
    }
    const list =
      isRecord(data.attributes) && isRecord(data.attributes.profiles) && Array.isArray(data.attributes.profiles.data)
        ? data.attributes.profiles.data
        : undefined;
    if (!list) {
      return klaviyoError(400, "'profiles' is a required field.", "invalid", { pointer: "/data/attributes/profiles/data" });
    }
    if (list.length === 0) {
      return klaviyoError(400, "At least one profile is required.", "invalid", { pointer: "/data/attributes/profiles/data" });
    }
    if (list.length > KLAVIYO_BULK_PROFILES_MAX) {
      return klaviyoError(400, `A maximum of ${KLAVIYO_BULK_PROFILES_MAX} profiles can be imported per job (got ${list.length}).`, "invalid", {
        pointer: "/data/attributes/profiles/data",
      });
    }
    const now = Date.now();
    const jobId = this.newId();
    const accepted: PendingJob["profiles"] = [];
    const errors: KlaviyoImportError[] = [];
    for (const [i, item] of list.entries()) {
      const pointer = `/data/attributes/profiles/data/${i}`;
      if (!isRecord(item) || item.type !== "profile") {
        return klaviyoError(400, "Each profile must be a resource object of type 'profile'.", "invalid", { pointer: `${pointer}/type` });
      }
      const bad = this.checkAttrs(item.attributes, `${pointer}/attributes`, PROFILE_ATTR_KEYS);
      if (bad) return bad;
      const attrs = item.attributes as Attrs;
      const id = typeof item.id === "string" && item.id !== "" ? item.id : undefined;
      let problem = this.checkIdentifiers(attrs, id, `${pointer}/attributes`);
      if (!problem && Buffer.byteLength(JSON.stringify(item)) > KLAVIYO_PROFILE_PAYLOAD_MAX_BYTES) {
        problem = ["Profile payload exceeds the 100 KB limit.", pointer];
      }
      if (problem) {
        errors.push({
          id: this.newId(),
          code: "invalid",
          title: "Invalid input.",
          detail: problem[0],
          source: { pointer: problem[1] },
          original_payload: structuredClone(attrs),
        });
      } else accepted.push({ attrs, meta: item.meta, id });
    }
    const job: KlaviyoBulkImportJob = {
      id: jobId,
      status: "queued",
      created_at: new Date(now).toISOString(),
      started_at: null,
      completed_at: null,
      expires_at: new Date(now + 7 * 86_400_000).toISOString(),
      total_count: list.length,
      completed_count: 0,
      failed_count: 0,
      errors,
    };
    this.jobs.set(jobId, { job, readyAt: now + this.bulkJobDelayMs, profiles: accepted });
    const response = structuredClone(job); // answered as queued, as Klaviyo does
    this.settleJobs();
    return { status: 202, body: { data: this.jobResource(response, ctx.origin), links: { self: `${ctx.origin}/api/profile-bulk-import-jobs/` } } };
  }

  /** Completes jobs whose time has come (lazily: no timers keep the process alive). */
  private settleJobs(): void {
    const now = Date.now();
    for (const pending of this.jobs.values()) {
      const { job } = pending;
      if (job.status === "complete" || job.status === "cancelled") continue;
      if (now < pending.readyAt) {
        if (job.status === "queued") {
          job.status = "processing";
          job.started_at = new Date(now).toISOString();
        }
        continue;
      }
      for (const p of pending.profiles) this.upsert(p.attrs, p.meta, p.id && this.store.has(p.id) ? p.id : undefined);
      job.status = "complete";
      job.started_at ??= new Date(now).toISOString();
      job.completed_at = new Date(now).toISOString();
      job.completed_count = pending.profiles.length;
      job.failed_count = job.errors.length;
      pending.profiles = [];
    }
  }

  private getJob(ctx: RequestContext): Reply {
    this.settleJobs();
    const pending = this.jobs.get(ctx.params.id ?? "");
    if (!pending) return klaviyoError(404, `A profile-bulk-import-job with id ${ctx.params.id ?? ""} does not exist.`, "not_found");
    return { status: 200, body: { data: this.jobResource(pending.job, ctx.origin), links: { self: `${ctx.origin}${ctx.path}` } } };
  }

  private jobErrors(ctx: RequestContext): Reply {
    this.settleJobs();
    const pending = this.jobs.get(ctx.params.id ?? "");
    if (!pending) return klaviyoError(404, `A profile-bulk-import-job with id ${ctx.params.id ?? ""} does not exist.`, "not_found");
    const page = this.pageParams(ctx);
    if ("status" in page) return page;
    const visible = pending.job.status === "complete" ? pending.job.errors : [];
    const data = visible.slice(page.offset, page.offset + page.size).map((e) => {
      const { id, ...attributes } = e;
      return { type: "import-error", id, attributes };
    });
    return { status: 200, body: { data, links: this.links(ctx, page.offset, page.size, visible.length) } };
  }
}

export async function startKlaviyoSandbox(opts: KlaviyoSandboxOptions = {}): Promise<KlaviyoSandbox> {
  return new KlaviyoSandbox(opts).start();
}
