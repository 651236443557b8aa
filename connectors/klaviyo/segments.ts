// Klaviyo segments for the segments of PRODUCT.md, through the klaviyo-api SegmentsApi
// (../shared/specs/klaviyo/segments.json). Segments are found by name before anything is created, so a
// rerun never duplicates one and picks up where a failed run stopped; a segment that exists with another
// definition is reported as a conflict and left as it is. Segment writes are Klaviyo's strictest limit
// (1/s burst, 15/min steady, 100/day): every write goes through a Pacer, and a 429 waits for Retry-After.
import { ApiKeySession, ProfilesApi, RetryWithExponentialBackoff, SegmentEnum, SegmentsApi } from "klaviyo-api";
import type { RetryPolicy } from "../../src/config.js";
import { SyncError } from "../../src/errors.js";
import { toOptions } from "../../src/mapping/text.js";
import type { Logger } from "../../src/util/log.js";
import { Pacer, type RateWindow } from "../../src/util/pacer.js";
import { withRetry } from "../../src/util/retry.js";
import { withTimeout } from "../shared/timeout.js";
import { DEFAULT_SEGMENT_PROPERTIES, type SegmentOutcome, type SegmentPropertyNames, type SegmentSpec } from "../shared/segments.js";
import { classifyKlaviyoError } from "./errors.js";

/** Klaviyo's published limits for POST/PATCH /api/segments (the daily 100 is left to 429s). */
export const KLAVIYO_SEGMENT_WRITE_RATE: readonly RateWindow[] = [
  { count: 1, windowMs: 1_000 },
  { count: 15, windowMs: 60_000 },
];

/** A profile-property condition as the segments API takes it (wire form, snake_case keys). */
export interface ProfilePropertyCondition {
  type: "profile-property";
  property: string;
  filter: { type: string; operator: string; value: unknown };
}

export interface SegmentDefinitionWire {
  condition_groups: Array<{ conditions: Array<ProfilePropertyCondition | Record<string, unknown>> }>;
}

export interface ExistingSegment {
  id: string;
  name: string;
  definition?: SegmentDefinitionWire;
  /** Other segments with the same name (Klaviyo does not enforce unique names). */
  duplicates: number;
}

/**
 * Tone values found on Klaviyo profiles, by option value (slug): the label (cleaned and lower-cased, as a
 * sync writes it; the most frequent), every spelling exactly as stored (most frequent first: segment
 * conditions must match stored values), and how many profiles hold it.
 */
export type KlaviyoToneScan = Map<string, { label: string; spellings: string[]; profiles: number }>;

export const customProperty = (name: string) => `properties['${name}']`;
const CUSTOM_PROPERTY_RX = /^properties\[(?:'([^']+)'|"([^"]+)")\]$/;

function propertyName(property: unknown): string | undefined {
  const m = typeof property === "string" ? CUSTOM_PROPERTY_RX.exec(property) : null;
  return m ? (m[1] ?? m[2]) : undefined;
}

function segmentProperty(spec: SegmentSpec, properties: SegmentPropertyNames): string {
  const property = spec.kind === "novo" ? properties.novo : properties.tone;
  if (property === undefined) throw new Error(`no property for the ${spec.kind} segments in this field plan`);
  return property;
}

/**
 * The segment definition. Tone: the list property (`fashionai_tom_de_voz`, or its name in the field
 * plan) contains the label — one condition per spelling of that option (conditions inside a group are
 * ORed), because Klaviyo holds labels and profiles may carry different spellings of one option. Novo:
 * the boolean property is true.
 */
export function klaviyoSegmentDefinition(
  spec: SegmentSpec, labels: readonly string[] = spec.kind === "tone" ? spec.labels : [],
  properties: SegmentPropertyNames = DEFAULT_SEGMENT_PROPERTIES,
): SegmentDefinitionWire {
  const property = customProperty(segmentProperty(spec, properties));
  if (spec.kind === "novo") {
    return { condition_groups: [{ conditions: [{ type: "profile-property", property, filter: { type: "boolean", operator: "equals", value: true } }] }] };
  }
  const condition = (label: string): ProfilePropertyCondition => ({ type: "profile-property", property, filter: { type: "list", operator: "contains", value: label } });
  return { condition_groups: [{ conditions: (labels.length ? labels : [spec.label]).map(condition) }] };
}

/** A short human form of a definition, for conflict reports. */
export function describeDefinition(def: SegmentDefinitionWire | undefined): string {
  if (!def?.condition_groups?.length) return "no definition";
  return def.condition_groups
    .map((g) => {
      const parts = (g.conditions ?? []).map((c) => {
        const x = c as Partial<ProfilePropertyCondition> & Record<string, unknown>;
        if (x.type !== "profile-property") return String(x.type ?? "condition");
        return `${x.property} ${x.filter?.operator ?? "?"} ${JSON.stringify(x.filter?.value)}`;
      });
      return parts.length > 1 ? `(${parts.join(" OR ")})` : parts[0] ?? "(empty)";
    })
    .join(" AND ");
}

/** The option value (slug) a stored spelling stands for, normalised as a sync does. */
function optionValue(label: string): string | undefined {
  return toOptions([label], { lowercase: true }).options[0]?.value;
}

type Judgement =
  | { status: "unchanged" }
  | { status: "conflict"; reason: string }
  | { status: "update"; labels: string[]; added: string[] };

/** What an existing definition means for a spec: ours as it is, ours missing spellings (update), or someone else's. */
export function judgeDefinition(
  spec: SegmentSpec, def: SegmentDefinitionWire | undefined, properties: SegmentPropertyNames = DEFAULT_SEGMENT_PROPERTIES,
): Judgement {
  const groups = def?.condition_groups ?? [];
  const conditions = groups.length === 1 ? (groups[0]!.conditions ?? []) : [];
  const property = segmentProperty(spec, properties);
  const conflict = (): Judgement => ({
    status: "conflict",
    reason: `the existing segment is defined as ${describeDefinition(def)}; expected ${describeDefinition(klaviyoSegmentDefinition(spec, undefined, properties))} (left as it is)`,
  });
  if (conditions.length === 0) return conflict();
  const all = conditions as Array<Partial<ProfilePropertyCondition>>;
  if (spec.kind === "novo") {
    const c = all[0]!;
    const ok = all.length === 1 && c.type === "profile-property" && propertyName(c.property) === property &&
      c.filter?.type === "boolean" && c.filter.operator === "equals" && c.filter.value === true;
    return ok ? { status: "unchanged" } : conflict();
  }
  const labels: string[] = [];
  for (const c of all) {
    const ok = c.type === "profile-property" && propertyName(c.property) === property && c.filter?.type === "list" &&
      c.filter.operator === "contains" && typeof c.filter.value === "string" && optionValue(c.filter.value) === spec.value;
    if (!ok) return conflict();
    labels.push(c.filter!.value as string);
  }
  const added = spec.labels.filter((l) => !labels.includes(l));
  return added.length === 0 ? { status: "unchanged" } : { status: "update", labels: [...labels, ...added], added };
}

/** The SDK takes and returns the definition with camelCase top-level keys. */
function toSdk(def: SegmentDefinitionWire) {
  return { conditionGroups: def.condition_groups } as never;
}
function fromSdk(def: unknown): SegmentDefinitionWire | undefined {
  if (!def || typeof def !== "object") return undefined;
  const d = def as { conditionGroups?: unknown; condition_groups?: unknown };
  const groups = d.conditionGroups ?? d.condition_groups;
  return Array.isArray(groups) ? { condition_groups: groups as SegmentDefinitionWire["condition_groups"] } : undefined;
}

export interface KlaviyoSegmentsOptions {
  baseUrl: string;
  apiKey: string;
  retry: RetryPolicy;
  timeoutMs: number;
  log: Logger;
  /** Pacing of segment writes (default KLAVIYO_SEGMENT_WRITE_RATE; [] turns it off). */
  writeRate?: readonly RateWindow[];
  /** Profiles per page when scanning for tone values (Klaviyo allows up to 100). */
  scanPageSize?: number;
  /** What the segments filter on (default PRODUCT.md's names; from the field plan). */
  properties?: SegmentPropertyNames;
}

export class KlaviyoSegments {
  readonly segments: SegmentsApi;
  readonly profiles: ProfilesApi;
  private readonly pacer: Pacer;
  private readonly properties: SegmentPropertyNames;

  constructor(private readonly opts: KlaviyoSegmentsOptions) {
    this.properties = opts.properties ?? DEFAULT_SEGMENT_PROPERTIES;
    // The SDK's own retries stay off, like connectors/klaviyo/client.ts: one retry policy decides.
    const session = new ApiKeySession(opts.apiKey, new RetryWithExponentialBackoff({ numRetries: 0 }));
    this.segments = new SegmentsApi(session);
    this.profiles = new ProfilesApi(session);
    this.segments.basePath = opts.baseUrl;
    this.profiles.basePath = opts.baseUrl;
    this.pacer = new Pacer(opts.writeRate ?? KLAVIYO_SEGMENT_WRITE_RATE);
  }

  private call<T>(what: string, fn: () => Promise<T>, opts: { paced?: boolean; policy?: RetryPolicy } = {}): Promise<T> {
    return withRetry(async () => {
      if (opts.paced) await this.pacer.take();
      try {
        return await withTimeout("klaviyo", `Klaviyo ${what}`, this.opts.timeoutMs, fn());
      } catch (err) {
        throw classifyKlaviyoError(err, what);
      }
    }, opts.policy ?? this.opts.retry, {
      onRetry: (err, n, delayMs) => this.opts.log.warn(`Klaviyo ${what}: retrying`, { attempt: n, delayMs, reason: err.message }),
    });
  }

  /**
   * Every tone value on the account's profiles (`fashionai_tom_de_voz`, a list of labels), read page by
   * page (100 profiles per call, Klaviyo's 75/s, 750/min limit). Values are grouped like a sync groups
   * them (cleaned, lower-cased, the slug as identity), keeping each spelling as stored.
   */
  async scanTones(): Promise<KlaviyoToneScan> {
    const tone = this.properties.tone;
    if (tone === undefined) return new Map();
    const found = new Map<string, { labels: Map<string, number>; stored: Map<string, number>; profiles: number }>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await this.call("profile scan for tone values", () =>
        this.profiles.getProfiles({ fieldsProfile: ["properties"], pageSize: this.opts.scanPageSize ?? 100, ...(cursor ? { pageCursor: cursor } : {}) }),
      );
      pages++;
      for (const p of res.body.data ?? []) {
        const raw = (p.attributes as { properties?: Record<string, unknown> } | undefined)?.properties?.[tone];
        const items = Array.isArray(raw) ? raw.filter((x): x is string => typeof x === "string") : typeof raw === "string" ? [raw] : [];
        const counted = new Set<string>();
        for (const item of items) {
          const [option] = toOptions([item], { lowercase: true }).options;
          if (!option) continue;
          const entry = found.get(option.value) ?? { labels: new Map<string, number>(), stored: new Map<string, number>(), profiles: 0 };
          if (!counted.has(option.value)) entry.profiles += 1;
          counted.add(option.value);
          entry.labels.set(option.label, (entry.labels.get(option.label) ?? 0) + 1);
          entry.stored.set(item, (entry.stored.get(item) ?? 0) + 1);
          found.set(option.value, entry);
        }
      }
      const next = res.body.links?.next;
      cursor = next ? (new URL(next).searchParams.get("page[cursor]") ?? undefined) : undefined;
    } while (cursor);
    this.opts.log.debug("Klaviyo profiles scanned for tone values", { pages, values: found.size });
    const byCount = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
    const out: KlaviyoToneScan = new Map();
    for (const [value, e] of found) out.set(value, { label: byCount(e.labels)[0]!, spellings: byCount(e.stored), profiles: e.profiles });
    return out;
  }

  /** The segment with exactly this name, with its definition; undefined when there is none. */
  async findByName(name: string, policy: RetryPolicy = this.opts.retry): Promise<ExistingSegment | undefined> {
    const res = await this.call(`find segment "${name}"`, () =>
      this.segments.getSegments({ filter: `equals(name,${JSON.stringify(name)})`, fieldsSegment: ["name", "definition"] }), { policy });
    const matches = (res.body.data ?? []).filter((s) => s.attributes?.name === name);
    const first = matches[0];
    if (!first) return undefined;
    const definition = fromSdk(first.attributes.definition);
    return { id: first.id, name, duplicates: matches.length - 1, ...(definition ? { definition } : {}) };
  }

  private judge(spec: SegmentSpec, existing: ExistingSegment, dryRun: boolean): Promise<SegmentOutcome> | SegmentOutcome {
    const base = { crm: "klaviyo" as const, key: spec.key, name: spec.name, id: existing.id };
    const note = existing.duplicates > 0 ? ` (${existing.duplicates + 1} segments share this name; the first was checked)` : "";
    const j = judgeDefinition(spec, existing.definition, this.properties);
    if (j.status === "conflict") return { ...base, status: "conflict", reason: j.reason + note };
    if (j.status === "unchanged") return { ...base, status: "unchanged", ...(note ? { reason: note.trim() } : {}) };
    const reason = `adds the spelling${j.added.length === 1 ? "" : "s"} ${j.added.map((l) => JSON.stringify(l)).join(", ")}`;
    if (dryRun) return { ...base, status: "would_update", reason };
    return this.update(spec, existing.id, j.labels).then(() => ({ ...base, status: "updated" as const, reason }));
  }

  private async update(spec: SegmentSpec, id: string, labels: string[]): Promise<void> {
    await this.call(`update segment "${spec.name}"`, () =>
      this.segments.updateSegment(id, {
        data: { type: SegmentEnum.Segment, id, attributes: { definition: toSdk(klaviyoSegmentDefinition(spec, labels, this.properties)) } },
      }), { paced: true });
    this.opts.log.info(`Klaviyo segment updated: ${spec.name}`, { id });
  }

  /**
   * Makes sure the segment exists with this definition. Finds it by name first; creates it only when
   * there is none. Throws SyncError for faults (the caller decides: retry, report as failed, or stop).
   */
  async ensure(spec: SegmentSpec, opts: { dryRun: boolean }): Promise<SegmentOutcome> {
    const existing = await this.findByName(spec.name);
    if (existing) return this.judge(spec, existing, opts.dryRun);
    if (opts.dryRun) return { crm: "klaviyo", key: spec.key, name: spec.name, status: "would_create" };
    const what = `create segment "${spec.name}"`;
    try {
      const result = await withRetry(async (attempt): Promise<{ id: string } | { found: ExistingSegment }> => {
        if (attempt > 1) {
          // A retry after a timeout or 5xx may find the segment the first attempt created after all.
          const found = await this.findByName(spec.name, { ...this.opts.retry, attempts: 1 });
          if (found) return { found };
        }
        await this.pacer.take();
        try {
          const res = await withTimeout("klaviyo", `Klaviyo ${what}`, this.opts.timeoutMs,
            this.segments.createSegment({ data: { type: SegmentEnum.Segment, attributes: { name: spec.name, definition: toSdk(klaviyoSegmentDefinition(spec, undefined, this.properties)) } } }));
          return { id: res.body.data.id };
        } catch (err) {
          throw classifyKlaviyoError(err, what);
        }
      }, this.opts.retry, {
        onRetry: (err, n, delayMs) => this.opts.log.warn(`Klaviyo ${what}: retrying`, { attempt: n, delayMs, reason: err.message }),
      });
      if ("found" in result) {
        const outcome = await this.judge(spec, result.found, false);
        // Found on a retry, as wanted: the attempt whose answer was lost did create it.
        return outcome.status === "unchanged" ? { ...outcome, status: "created", reason: "found on retry: an attempt whose answer was lost had created it" } : outcome;
      }
      this.opts.log.info(`Klaviyo segment created: ${spec.name}`, { id: result.id });
      return { crm: "klaviyo", key: spec.key, name: spec.name, status: "created", id: result.id };
    } catch (err) {
      // Created meanwhile by another run (a 409 for a name taken): judge what is there now.
      if (err instanceof SyncError && (err.status === 409 || (err.status === 400 && /already exists/i.test(err.message)))) {
        const now = await this.findByName(spec.name);
        if (now) return this.judge(spec, now, false);
      }
      throw err;
    }
  }
}
