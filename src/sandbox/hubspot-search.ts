// POST /crm/v3/objects/contacts/search for the HubSpot stand-in: filterGroups (OR of ANDed filters), one sort,
// `limit` up to 200, `after` paging, and the real API's 10,000-result window (paging past it is a 400).
// Date properties (createdate, lastmodifieddate) compare as instants (epoch milliseconds or ISO strings),
// hs_object_id as a number, everything else as case-insensitive text.
import type { Reply } from "./http.js";

export const HUBSPOT_SEARCH_MAX_LIMIT = 200;
export const HUBSPOT_SEARCH_WINDOW = 10_000;

interface ContactView {
  id: string;
  properties: Record<string, string>;
}

type ErrorReply = (status: number, message: string, category?: string) => Reply;

const DATE_PROPS = new Set(["createdate", "lastmodifieddate"]);
const NUMBER_PROPS = new Set(["hs_object_id"]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function comparable(prop: string, raw: string | undefined): number | string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (DATE_PROPS.has(prop)) {
    const n = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
    return Number.isNaN(n) ? undefined : n;
  }
  if (NUMBER_PROPS.has(prop)) return Number(raw);
  return raw.toLowerCase();
}

function valueOf(c: ContactView, prop: string): string | undefined {
  return prop === "hs_object_id" ? c.id : c.properties[prop];
}

function matches(c: ContactView, f: Record<string, unknown>): boolean {
  const prop = String(f.propertyName);
  const op = String(f.operator);
  const have = comparable(prop, valueOf(c, prop));
  if (op === "HAS_PROPERTY") return have !== undefined;
  if (op === "NOT_HAS_PROPERTY") return have === undefined;
  if (op === "IN" || op === "NOT_IN") {
    const values = Array.isArray(f.values) ? f.values.map((v) => comparable(prop, String(v))) : [];
    const inside = have !== undefined && values.includes(have);
    return op === "IN" ? inside : !inside;
  }
  const want = comparable(prop, f.value === undefined ? undefined : String(f.value));
  if (have === undefined || want === undefined) return op === "NEQ" && have !== want;
  switch (op) {
    case "EQ": return have === want;
    case "NEQ": return have !== want;
    case "LT": return have < want;
    case "LTE": return have <= want;
    case "GT": return have > want;
    case "GTE": return have >= want;
    case "BETWEEN": {
      const high = comparable(prop, f.highValue === undefined ? undefined : String(f.highValue));
      return high !== undefined && have >= want && have <= high;
    }
    default: return false;
  }
}

const OPERATORS = new Set(["EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"]);

export function searchContacts<C extends ContactView>(
  body: unknown,
  contacts: Iterable<C>,
  view: (c: C, requested: string[] | undefined) => unknown,
  error: ErrorReply,
): Reply {
  if (!isRecord(body)) return error(400, "Invalid input JSON: a search request object is required");
  const limit = body.limit === undefined ? 10 : Number(body.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > HUBSPOT_SEARCH_MAX_LIMIT) {
    return error(400, `limit must be between 1 and ${HUBSPOT_SEARCH_MAX_LIMIT} (got ${String(body.limit)})`);
  }
  const afterRaw = body.after === undefined || body.after === null || body.after === "" ? "0" : String(body.after);
  if (!/^\d+$/.test(afterRaw)) return error(400, `Invalid after cursor: ${afterRaw}`);
  const after = Number(afterRaw);
  if (after + limit > HUBSPOT_SEARCH_WINDOW) {
    return error(400, `Search results are limited to ${HUBSPOT_SEARCH_WINDOW} per query (after=${after}, limit=${limit}); narrow the filters, e.g. by date range`);
  }
  const groups = body.filterGroups === undefined ? [] : body.filterGroups;
  if (!Array.isArray(groups) || groups.length > 5) return error(400, "filterGroups must be an array of at most 5 groups");
  for (const g of groups) {
    if (!isRecord(g) || !Array.isArray(g.filters) || g.filters.length > 6) return error(400, "each filter group needs at most 6 filters");
    for (const f of g.filters) {
      if (!isRecord(f) || typeof f.propertyName !== "string" || !OPERATORS.has(String(f.operator))) {
        return error(400, `Invalid filter: ${JSON.stringify(f)}`);
      }
    }
  }
  const sorts = Array.isArray(body.sorts) ? body.sorts : [];
  if (sorts.length > 1) return error(400, "Only one sort is supported");
  let sortProp = "hs_object_id";
  let desc = false;
  const s = sorts[0];
  if (typeof s === "string") {
    desc = s.startsWith("-");
    sortProp = desc ? s.slice(1) : s;
  } else if (isRecord(s) && typeof s.propertyName === "string") {
    sortProp = s.propertyName;
    desc = s.direction === "DESCENDING";
  }
  const requested = Array.isArray(body.properties) ? body.properties.filter((p): p is string => typeof p === "string") : undefined;
  const hits: C[] = [];
  for (const c of contacts) {
    if (groups.length === 0 || groups.some((g) => (g.filters as Record<string, unknown>[]).every((f) => matches(c, f)))) hits.push(c);
  }
  const key = (c: C) => comparable(sortProp, valueOf(c, sortProp));
  hits.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    const cmp = x === y ? Number(a.id) - Number(b.id) : x === undefined ? 1 : y === undefined ? -1 : x < y ? -1 : 1;
    return desc ? -cmp : cmp;
  });
  const page = hits.slice(after, after + limit).map((c) => view(c, requested && requested.length ? requested : undefined));
  const out: Record<string, unknown> = { total: hits.length, results: page };
  if (after + limit < hits.length) out.paging = { next: { after: String(after + limit) } };
  return { status: 200, body: out };
}
