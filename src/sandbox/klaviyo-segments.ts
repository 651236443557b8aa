// The segments part of the Klaviyo stand-in (../shared/specs/klaviyo/segments.json, revision 2026-07-15):
// list segments (filter on name/id, pages of at most 10, sparse fieldsets), get one, create, update.
// Validation follows Klaviyo's documented behaviour for the definitions this product uses: condition
// groups are ANDed, the conditions inside a group ORed; profile-property conditions name a well-known
// property or `properties['custom name']` with a filter of a known type. Segment names are unique here
// (409 on a duplicate), and membership is evaluated on demand from the stored profiles (members()).

import { Buffer } from "node:buffer";
import type { Reply, RequestContext } from "./http.js";
import { klaviyoError, parseKlaviyoFilter, type KlaviyoProfile } from "./klaviyo.js";

export interface KlaviyoSegment {
  id: string;
  name: string;
  definition: { condition_groups: Array<{ conditions: Array<Record<string, unknown>> }> };
  created: string;
  updated: string;
  is_active: boolean;
  is_processing: boolean;
  is_starred: boolean;
}

/** Segment writes (POST and PATCH /api/segments): Klaviyo publishes 1/s burst, 15/min steady, 100/day. */
export interface SegmentWriteLimits {
  perSecond?: number;
  perMinute?: number;
  perDay?: number;
}

export const KLAVIYO_SEGMENT_PAGE_SIZE_MAX = 10;

type Route = (method: string, template: string, handler: (ctx: RequestContext) => Reply) => void;

const WELL_KNOWN = new Set([
  "email", "phone_number", "external_id", "first_name", "last_name", "organization", "title", "locale", "image",
  "created", "updated", "last_event_date",
]);
const CUSTOM_PROPERTY_RX = /^properties\[(?:'([^']+)'|"([^"]+)")\]$/;
const SEGMENT_FIELDS = new Set(["name", "definition", "definition.condition_groups", "created", "updated", "is_active", "is_processing", "is_starred", "id"]);
const FILTER_OPERATORS: Record<string, string[]> = {
  boolean: ["equals"],
  list: ["contains", "not-contains", "contains-substring", "not-contains-substring", "contains-all", "contains-any", "not-contains-all", "not-contains-any"],
  string: ["equals", "not-equals", "contains", "not-contains", "starts-with", "ends-with", "in", "not-in"],
  numeric: ["equals", "not-equals", "greater-than", "greater-than-or-equal", "less-than", "less-than-or-equal"],
  existence: ["is-set", "is-not-set"],
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const invalid = (detail: string, pointer: string): Reply => klaviyoError(400, detail, "invalid", { pointer });

export class KlaviyoSegmentStore {
  private byId = new Map<string, KlaviyoSegment>();
  private seq = 0;

  constructor(private readonly profiles: () => KlaviyoProfile[]) {}

  register(route: Route): void {
    route("GET", "/api/segments", (c) => this.list(c));
    route("POST", "/api/segments", (c) => this.create(c));
    route("GET", "/api/segments/{id}", (c) => this.get(c));
    route("PATCH", "/api/segments/{id}", (c) => this.update(c));
  }

  reset(): void {
    this.byId = new Map();
    this.seq = 0;
  }

  // ------------------------------------------------------------------------------ inspectors

  all(): KlaviyoSegment[] {
    return [...this.byId.values()].map((s) => structuredClone(s));
  }

  byName(name: string): KlaviyoSegment | undefined {
    const s = this.find(name);
    return s ? structuredClone(s) : undefined;
  }

  /** Seeds a segment directly, skipping validation (e.g. one edited by hand in Klaviyo). */
  add(segment: Pick<KlaviyoSegment, "name" | "definition"> & Partial<KlaviyoSegment>): KlaviyoSegment {
    const at = new Date().toISOString();
    const s: KlaviyoSegment = { id: this.newId(), created: at, updated: at, is_active: true, is_processing: false, is_starred: false, ...segment };
    this.byId.set(s.id, s);
    return structuredClone(s);
  }

  /** Emails of the profiles the segment's definition selects now. */
  members(name: string): string[] {
    const s = this.find(name);
    if (!s) return [];
    return this.profiles()
      .filter((p) => s.definition.condition_groups.every((g) => g.conditions.some((c) => this.matches(p, c))))
      .map((p) => p.email ?? p.id)
      .sort();
  }

  // ------------------------------------------------------------------------------ handlers

  private newId(): string {
    return `SEG${(++this.seq).toString(36).toUpperCase().padStart(3, "0")}`;
  }

  private find(name: string): KlaviyoSegment | undefined {
    for (const s of this.byId.values()) if (s.name === name) return s;
    return undefined;
  }

  private resource(s: KlaviyoSegment, origin: string, fields?: Set<string>) {
    const all: Record<string, unknown> = {
      name: s.name, definition: s.definition, created: s.created, updated: s.updated,
      is_active: s.is_active, is_processing: s.is_processing, is_starred: s.is_starred,
    };
    const attributes = fields
      ? Object.fromEntries(Object.entries(all).filter(([k]) => fields.has(k) || (k === "definition" && fields.has("definition.condition_groups"))))
      : all;
    const base = `${origin}/api/segments/${s.id}`;
    return {
      type: "segment",
      id: s.id,
      attributes,
      relationships: {
        profiles: { links: { self: `${base}/relationships/profiles/`, related: `${base}/profiles/` } },
        tags: { links: { self: `${base}/relationships/tags/`, related: `${base}/tags/` } },
      },
      links: { self: `${base}/` },
    };
  }

  private fields(ctx: RequestContext): Set<string> | undefined | Reply {
    const raw = ctx.query.get("fields[segment]");
    if (!raw) return undefined;
    const list = raw.split(",").map((f) => f.trim()).filter(Boolean);
    const unknown = list.find((f) => !SEGMENT_FIELDS.has(f));
    if (unknown) return klaviyoError(400, `'${unknown}' is not a valid field for the resource 'segment'.`, "invalid", { parameter: "fields[segment]" });
    return new Set(list);
  }

  private list(ctx: RequestContext): Reply {
    const fields = this.fields(ctx);
    if (fields && "status" in fields) return fields;
    const sizeRaw = ctx.query.get("page[size]");
    const size = sizeRaw === null ? 10 : Number(sizeRaw);
    if (!Number.isInteger(size) || size < 1 || size > KLAVIYO_SEGMENT_PAGE_SIZE_MAX) {
      return klaviyoError(400, `Invalid page size: must be an integer between 1 and ${KLAVIYO_SEGMENT_PAGE_SIZE_MAX}.`, "invalid", { parameter: "page[size]" });
    }
    let offset = 0;
    const cursor = ctx.query.get("page[cursor]");
    if (cursor) {
      const m = /^s:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
      if (!m) return klaviyoError(400, "Invalid page cursor.", "invalid", { parameter: "page[cursor]" });
      offset = Number(m[1]);
    }
    let list = [...this.byId.values()];
    const filter = ctx.query.get("filter");
    if (filter) {
      let terms: ReturnType<typeof parseKlaviyoFilter>;
      try {
        terms = parseKlaviyoFilter(filter);
      } catch (e) {
        return klaviyoError(400, `Invalid filter provided: ${e instanceof Error ? e.message : String(e)}`, "invalid", { parameter: "filter" });
      }
      for (const t of terms) {
        const ok =
          ((t.field === "name" || t.field === "id") && ((t.op === "equals" && typeof t.value === "string") || (t.op === "any" && Array.isArray(t.value)))) ||
          (t.field === "is_active" && t.op === "equals" && typeof t.value === "boolean") ||
          ((t.field === "created" || t.field === "updated") && t.op === "greater-than");
        if (!ok) return klaviyoError(400, `Invalid filter provided: '${t.op}' is not supported for field '${t.field}'`, "invalid", { parameter: "filter" });
      }
      list = list.filter((s) => terms.every((t) => {
        const v = t.field === "name" ? s.name : t.field === "id" ? s.id : t.field === "is_active" ? s.is_active : s[t.field as "created" | "updated"];
        if (t.op === "equals") return v === t.value;
        if (t.op === "any") return (t.value as unknown[]).includes(v);
        return Date.parse(String(v)) > Date.parse(String(t.value));
      }));
    }
    const page = list.slice(offset, offset + size);
    const link = (o: number) => {
      const u = new URL(ctx.path, ctx.origin);
      for (const [k, v] of ctx.query) if (k !== "page[cursor]") u.searchParams.append(k, v);
      if (o > 0) u.searchParams.set("page[cursor]", Buffer.from(`s:${o}`).toString("base64url"));
      return u.toString();
    };
    const links: Record<string, string> = { self: link(offset) };
    if (offset + size < list.length) links.next = link(offset + size);
    return { status: 200, body: { data: page.map((s) => this.resource(s, ctx.origin, fields as Set<string> | undefined)), links } };
  }

  private get(ctx: RequestContext): Reply {
    const fields = this.fields(ctx);
    if (fields && "status" in fields) return fields;
    const s = this.byId.get(ctx.params.id ?? "");
    if (!s) return klaviyoError(404, `A segment with id ${ctx.params.id ?? ""} does not exist.`, "not_found");
    return { status: 200, body: { data: this.resource(s, ctx.origin, fields), links: { self: `${ctx.origin}${ctx.path}` } } };
  }

  private create(ctx: RequestContext): Reply {
    const body = ctx.body;
    if (!isRecord(body) || !isRecord(body.data)) return invalid("'data' is a required field.", "/data");
    const data = body.data;
    if (data.type !== "segment") {
      return klaviyoError(409, `The type '${String(data.type)}' does not match the resource type 'segment'.`, "conflict", { pointer: "/data/type" });
    }
    const a = data.attributes;
    if (!isRecord(a)) return invalid("'attributes' is a required field.", "/data/attributes");
    if (typeof a.name !== "string" || a.name.trim() === "") return invalid("'name' is a required field.", "/data/attributes/name");
    if (a.name.length > 255) return invalid("'name' must be at most 255 characters.", "/data/attributes/name");
    const problem = this.checkDefinition(a.definition, "/data/attributes/definition");
    if (problem) return problem;
    if (a.is_starred !== undefined && a.is_starred !== null && typeof a.is_starred !== "boolean") {
      return invalid("'is_starred' must be a boolean.", "/data/attributes/is_starred");
    }
    if (this.find(a.name)) return klaviyoError(409, `A segment named '${a.name}' already exists.`, "conflict", { pointer: "/data/attributes/name" });
    const s = this.add({
      name: a.name, definition: structuredClone(a.definition) as KlaviyoSegment["definition"], is_starred: a.is_starred === true, is_processing: true,
    });
    const answer = this.resource(s, ctx.origin);
    this.byId.get(s.id)!.is_processing = false;
    return { status: 201, body: { data: answer, links: { self: `${ctx.origin}/api/segments/` } } };
  }

  private update(ctx: RequestContext): Reply {
    const s = this.byId.get(ctx.params.id ?? "");
    const body = ctx.body;
    if (!isRecord(body) || !isRecord(body.data)) return invalid("'data' is a required field.", "/data");
    const data = body.data;
    if (data.type !== "segment") {
      return klaviyoError(409, `The type '${String(data.type)}' does not match the resource type 'segment'.`, "conflict", { pointer: "/data/type" });
    }
    if (data.id !== ctx.params.id) return klaviyoError(409, "The id in the body does not match the id in the URL.", "conflict", { pointer: "/data/id" });
    if (!s) return klaviyoError(404, `A segment with id ${ctx.params.id ?? ""} does not exist.`, "not_found");
    const a = data.attributes;
    if (!isRecord(a)) return invalid("'attributes' is a required field.", "/data/attributes");
    if (a.is_active === false && Object.keys(a).length > 1) {
      return invalid("Deactivation cannot be combined with other updates.", "/data/attributes/is_active");
    }
    if (a.definition !== undefined && a.definition !== null) {
      const problem = this.checkDefinition(a.definition, "/data/attributes/definition");
      if (problem) return problem;
    }
    if (typeof a.name === "string") {
      const other = this.find(a.name);
      if (other && other.id !== s.id) return klaviyoError(409, `A segment named '${a.name}' already exists.`, "conflict", { pointer: "/data/attributes/name" });
      s.name = a.name;
    }
    if (isRecord(a.definition)) s.definition = structuredClone(a.definition) as KlaviyoSegment["definition"];
    if (typeof a.is_starred === "boolean") s.is_starred = a.is_starred;
    if (typeof a.is_active === "boolean") s.is_active = a.is_active;
    s.updated = new Date().toISOString();
    return { status: 200, body: { data: this.resource(s, ctx.origin), links: { self: `${ctx.origin}${ctx.path}` } } };
  }

  // ------------------------------------------------------------------------------ definitions

  private checkDefinition(def: unknown, pointer: string): Reply | undefined {
    if (!isRecord(def)) return invalid("'definition' is a required field.", pointer);
    const groups = def.condition_groups;
    if (!Array.isArray(groups) || groups.length === 0) return invalid("A segment definition needs at least one condition group.", `${pointer}/condition_groups`);
    for (const [gi, g] of groups.entries()) {
      const gp = `${pointer}/condition_groups/${gi}`;
      if (!isRecord(g) || !Array.isArray(g.conditions) || g.conditions.length === 0) return invalid("Each condition group needs at least one condition.", `${gp}/conditions`);
      for (const [ci, c] of g.conditions.entries()) {
        const problem = this.checkCondition(c, `${gp}/conditions/${ci}`);
        if (problem) return problem;
      }
    }
    return undefined;
  }

  private checkCondition(c: unknown, pointer: string): Reply | undefined {
    if (!isRecord(c)) return invalid("A condition must be an object.", pointer);
    if (c.type !== "profile-property") return invalid(`Condition type '${String(c.type)}' is not supported by this stand-in.`, `${pointer}/type`);
    if (typeof c.property !== "string" || !(WELL_KNOWN.has(c.property) || CUSTOM_PROPERTY_RX.test(c.property))) {
      return invalid(`Invalid profile property '${String(c.property)}': use a well-known property or properties['name'].`, `${pointer}/property`);
    }
    const f = c.filter;
    if (!isRecord(f)) return invalid("'filter' is a required field.", `${pointer}/filter`);
    const ops = FILTER_OPERATORS[String(f.type)];
    if (!ops) return invalid(`Invalid filter type '${String(f.type)}'.`, `${pointer}/filter/type`);
    if (!ops.includes(String(f.operator))) return invalid(`Invalid operator '${String(f.operator)}' for a ${String(f.type)} filter.`, `${pointer}/filter/operator`);
    const arrayOps = ["contains-all", "contains-any", "not-contains-all", "not-contains-any", "in", "not-in"];
    if (f.type === "boolean" && typeof f.value !== "boolean") return invalid("A boolean filter needs a boolean value.", `${pointer}/filter/value`);
    if (f.type === "list" || f.type === "string") {
      if (arrayOps.includes(String(f.operator))) {
        if (!Array.isArray(f.value) || f.value.some((v) => typeof v !== "string")) return invalid("This operator needs a list of strings.", `${pointer}/filter/value`);
      } else if (typeof f.value !== "string" && !(f.type === "list" && typeof f.value === "number")) {
        return invalid("This operator needs a string value.", `${pointer}/filter/value`);
      }
    }
    if (f.type === "numeric" && typeof f.value !== "number") return invalid("A numeric filter needs a number.", `${pointer}/filter/value`);
    return undefined;
  }

  private matches(p: KlaviyoProfile, c: Record<string, unknown>): boolean {
    const prop = String(c.property);
    const m = CUSTOM_PROPERTY_RX.exec(prop);
    const v: unknown = m ? p.properties[(m[1] ?? m[2]) as string] : (p as unknown as Record<string, unknown>)[prop];
    const f = c.filter as Record<string, unknown>;
    const list = Array.isArray(v) ? v : [];
    switch (`${String(f.type)} ${String(f.operator)}`) {
      case "boolean equals": return v === f.value;
      case "list contains": return list.includes(f.value);
      case "list not-contains": return !list.includes(f.value);
      case "list contains-any": return (f.value as unknown[]).some((x) => list.includes(x));
      case "list contains-all": return (f.value as unknown[]).every((x) => list.includes(x));
      case "string equals": return v === f.value;
      case "string in": return (f.value as unknown[]).includes(v);
      case "existence is-set": return v !== undefined && v !== null;
      case "existence is-not-set": return v === undefined || v === null;
      default: return false;
    }
  }
}
