// `setup`: the CRM schema and the segments of PRODUCT.md, created or brought up to date, idempotently.
// 1. Tone values: every option of HubSpot's `fashionai_tom_de_voz` property, plus (when HubSpot is not
//    configured, or when asked) the values found on Klaviyo profiles — see collectTones.
// 2. HubSpot schema: group, properties and options (HubSpotSchemaSync, the same code a sync uses).
// 3. Segments: Novo comportamento plus one per tone value up to the cap, in each CRM, found by name first.
// The CLI runs this in-process (runSetup); the Inngest function `sync-segments` runs the same pieces as steps.
import type { Client } from "@hubspot/api-client";
import { createHubSpotClient } from "../../connectors/hubspot/client.js";
import { HubSpotLists, type HubSpotToneOption } from "../../connectors/hubspot/lists.js";
import { planHubSpotSchema } from "../../connectors/hubspot/schema-plan.js";
import { HubSpotSchemaSync } from "../../connectors/hubspot/schema-sync.js";
import { hubspotSchema } from "../../connectors/hubspot/schema.js";
import { KLAVIYO_SEGMENT_WRITE_RATE, KlaviyoSegments, type KlaviyoToneScan } from "../../connectors/klaviyo/segments.js";
import {
  DEFAULT_SEGMENT_CAP, MAX_SEGMENT_CAP, foldToneCatalog, segmentSpecs,
  type SegmentOutcome, type SegmentSpec, type SegmentStatus, type ToneOption,
} from "../../connectors/shared/segments.js";
import { DEFAULT_MAPPING_PLAN, segmentProperties, type MappingPlan } from "../mapping/plan.js";
import { ConfigError, type AppConfig, type RetryPolicy } from "../config.js";
import { SyncError } from "../errors.js";
import type { ConnectorName } from "../pipeline/types.js";
import type { Logger } from "../util/log.js";
import { parseRate, type RateWindow } from "../util/pacer.js";

/** Klaviyo allows 100 segment creations a day per account. */
export const KLAVIYO_DAILY_SEGMENT_CREATIONS = 100;

export interface SegmentServices {
  hubspot?: { client: Client; schema: HubSpotSchemaSync; lists: HubSpotLists };
  klaviyo?: KlaviyoSegments;
  retry: RetryPolicy;
  timeoutMs: number;
  log: Logger;
  /** The field plan: property names the segments filter on, tone synonyms, caps (default PRODUCT.md's). */
  mapping?: MappingPlan;
}

export interface SegmentServiceOptions {
  log: Logger;
  /** Overrides the configured retry policy (Inngest: attempts 1). */
  retry?: RetryPolicy;
  /** Pacing of Klaviyo segment writes (default Klaviyo's published 1/s, 15/min). */
  klaviyoWriteRate?: readonly RateWindow[];
}

/** Clients for every configured CRM. Needs no Fashion.AI token: setup never reads profiles from Fashion.AI. */
export function createSegmentServices(config: AppConfig, opts: SegmentServiceOptions): SegmentServices {
  const retry = opts.retry ?? config.retry;
  const common = { retry, timeoutMs: config.timeoutMs, log: opts.log };
  const mapping = config.mapping ?? DEFAULT_MAPPING_PLAN;
  const services: SegmentServices = { ...common, mapping };
  if (config.hubspot) {
    const client = createHubSpotClient(config.hubspot);
    services.hubspot = {
      client, schema: new HubSpotSchemaSync(client, common, hubspotSchema(mapping.hubspot)),
      lists: new HubSpotLists(client, { ...common, properties: segmentProperties(mapping.hubspot) }),
    };
  }
  if (config.klaviyo) {
    services.klaviyo = new KlaviyoSegments({
      ...config.klaviyo, ...common, writeRate: opts.klaviyoWriteRate ?? KLAVIYO_SEGMENT_WRITE_RATE, properties: segmentProperties(mapping.klaviyo),
    });
  }
  return services;
}

/** `FASHIONAI_SEGMENT_CAP` (default 50), overridden by `--cap`. */
export function readSegmentCap(env: Record<string, string | undefined>, flag?: string): number {
  const [name, raw] = flag !== undefined ? ["--cap", flag] : ["FASHIONAI_SEGMENT_CAP", env.FASHIONAI_SEGMENT_CAP];
  const value = raw?.trim();
  if (value === undefined || value === "") return DEFAULT_SEGMENT_CAP;
  if (!/^\d+$/.test(value) || Number(value) > MAX_SEGMENT_CAP) {
    throw new ConfigError(`${name} must be a whole number from 0 to ${MAX_SEGMENT_CAP}, got "${raw}"`);
  }
  return Number(value);
}

/**
 * The cap set by `--cap` or FASHIONAI_SEGMENT_CAP, which win over the override file's `segments.toneCap`;
 * undefined when neither is given (then the file, else the default 50, decides per CRM).
 */
export function readSegmentCapOverride(env: Record<string, string | undefined>, flag?: string): number | undefined {
  if (flag !== undefined && flag.trim() !== "") return readSegmentCap(env, flag);
  if (flag === undefined && env.FASHIONAI_SEGMENT_CAP !== undefined && env.FASHIONAI_SEGMENT_CAP.trim() !== "") return readSegmentCap(env);
  return undefined;
}

/** `FASHIONAI_KLAVIYO_SEGMENT_RATE` (default `1/s,15/m`, Klaviyo's published limit; `off` for tests). */
export function readKlaviyoWriteRate(env: Record<string, string | undefined>): readonly RateWindow[] {
  const raw = env.FASHIONAI_KLAVIYO_SEGMENT_RATE;
  return raw === undefined || raw.trim() === "" ? KLAVIYO_SEGMENT_WRITE_RATE : parseRate(raw, "FASHIONAI_KLAVIYO_SEGMENT_RATE");
}

// ------------------------------------------------------------------------------------------- tones

export interface ToneCatalog {
  tones: ToneOption[];
  /** Which sources were read. */
  sources: { hubspot: boolean; klaviyo: boolean };
}

/**
 * HubSpot's options first, in HubSpot's display order (new options are appended, so the values that
 * already have segments keep their place under the cap); then values seen only on Klaviyo profiles,
 * most common first. Identity is the option value (the slug), as everywhere else.
 */
export function mergeTones(hubspot: readonly HubSpotToneOption[], klaviyo: KlaviyoToneScan | undefined): ToneOption[] {
  const out: ToneOption[] = [];
  const byValue = new Map<string, ToneOption>();
  for (const o of hubspot) {
    if (byValue.has(o.value)) continue;
    const t: ToneOption = { value: o.value, label: o.label, labels: [o.label], sources: ["hubspot"] };
    byValue.set(o.value, t);
    out.push(t);
  }
  const klaviyoOnly: ToneOption[] = [];
  for (const [value, seen] of klaviyo ?? []) {
    const t = byValue.get(value);
    if (t) {
      t.sources.push("klaviyo");
      t.profiles = seen.profiles;
      // The spellings the profiles hold (what Klaviyo conditions must match), the usual one first.
      t.labels = [...new Set([...seen.spellings, ...t.labels])];
    } else {
      klaviyoOnly.push({ value, label: seen.label, labels: [...seen.spellings], sources: ["klaviyo"], profiles: seen.profiles });
    }
  }
  klaviyoOnly.sort((a, b) => (b.profiles ?? 0) - (a.profiles ?? 0) || a.label.localeCompare(b.label, "pt-BR"));
  return [...out, ...klaviyoOnly];
}

/**
 * Where tone values come from. HubSpot's property is the registry whenever HubSpot is configured:
 * every sync that writes HubSpot adds its options there first. Without HubSpot (or with scanKlaviyo),
 * the Klaviyo profiles are read — one call per 100 profiles — so values synced only to Klaviyo count
 * too, and the spellings found there all go into the Klaviyo conditions.
 */
export async function collectTones(svc: SegmentServices, opts: { scanKlaviyo?: boolean } = {}): Promise<ToneCatalog> {
  const mapping = svc.mapping ?? DEFAULT_MAPPING_PLAN;
  // HubSpot is the registry only when its tone field is an enumeration (not turned off or made a textarea).
  const registry = svc.hubspot && segmentProperties(mapping.hubspot).tone !== undefined ? svc.hubspot : undefined;
  const hubspot = registry ? await registry.lists.toneOptions() : [];
  const scan = svc.klaviyo && segmentProperties(mapping.klaviyo).tone !== undefined && (opts.scanKlaviyo || !registry)
    ? await svc.klaviyo.scanTones()
    : undefined;
  return { tones: mergeTones(hubspot, scan), sources: { hubspot: registry !== undefined, klaviyo: scan !== undefined } };
}

/** What one CRM gets: its tone values after its synonym table, its cap, the segments, and why some are missing. */
export interface CrmSegmentPlan {
  crm: ConnectorName;
  cap: number;
  tones: ToneOption[];
  specs: SegmentSpec[];
  pastCap: ToneOption[];
  notes: string[];
}

/**
 * The segments of one CRM under the field plan: tone values folded by that CRM's synonyms, capped by
 * `capOverride` (--cap / FASHIONAI_SEGMENT_CAP), else the override file's toneCap, else 50; no tone
 * segments when the tone field is off or text there, no Novo comportamento segment when its field is off.
 */
export function planSegments(mapping: MappingPlan | undefined, crm: ConnectorName, catalog: ToneCatalog, capOverride?: number): CrmSegmentPlan {
  const plan = (mapping ?? DEFAULT_MAPPING_PLAN)[crm];
  const cap = capOverride ?? plan.toneCap ?? DEFAULT_SEGMENT_CAP;
  const props = segmentProperties(plan);
  const tones = foldToneCatalog(catalog.tones, plan.toneSynonyms);
  const { specs, pastCap } = segmentSpecs(tones, cap, { tone: props.tone !== undefined, novo: props.novo !== undefined });
  return { crm, cap, tones, specs, pastCap, notes: props.notes };
}

// ------------------------------------------------------------------------------------------ schema

export interface SchemaReport {
  status: "created" | "updated" | "unchanged" | "would_create" | "would_update" | "conflict";
  /** The property group's name (from the field plan). */
  group?: string;
  groupCreated: boolean;
  propertiesCreated: string[];
  optionsAdded: Record<string, string[]>;
  conflicts: string[];
}

/** Group, properties and the tone options every known value needs (a dry run only reads). */
export async function provisionHubSpotSchema(svc: SegmentServices, tones: readonly ToneOption[], dryRun: boolean): Promise<SchemaReport> {
  const hs = svc.hubspot;
  if (!hs) throw new ConfigError("HubSpot is not configured: set HUBSPOT_ACCESS_TOKEN");
  const mapping = svc.mapping ?? DEFAULT_MAPPING_PLAN;
  const tone = segmentProperties(mapping.hubspot).tone;
  // The options of the tone values HubSpot will filter on (after its synonym table); none when it has no tone lists.
  const folded = foldToneCatalog(tones, mapping.hubspot.toneSynonyms);
  const needed = tone === undefined ? {} : { [tone]: folded.map((t) => ({ value: t.value, label: t.label })) };
  const changes = dryRun
    ? await planHubSpotSchema(hs.client, needed, svc, hubspotSchema(mapping.hubspot))
    : { ...(await hs.schema.ensure(needed)), conflicts: [] as string[] };
  const changed = changes.groupCreated || changes.propertiesCreated.length > 0 || Object.keys(changes.optionsAdded).length > 0;
  const created = changes.groupCreated || changes.propertiesCreated.length > 0;
  const status: SchemaReport["status"] = changes.conflicts.length > 0 ? "conflict"
    : !changed ? "unchanged"
    : dryRun ? (created ? "would_create" : "would_update")
    : created ? "created" : "updated";
  return { status, ...(mapping.hubspot.group.name === DEFAULT_MAPPING_PLAN.hubspot.group.name ? {} : { group: mapping.hubspot.group.name }), ...changes };
}

// ---------------------------------------------------------------------------------------- segments

/** One segment in one CRM: found by name, created when missing. Throws SyncError on faults. */
export function ensureSegment(svc: SegmentServices, crm: ConnectorName, spec: SegmentSpec, dryRun: boolean): Promise<SegmentOutcome> {
  if (crm === "hubspot") {
    if (!svc.hubspot) throw new ConfigError("HubSpot is not configured: set HUBSPOT_ACCESS_TOKEN");
    return svc.hubspot.lists.ensure(spec, { dryRun });
  }
  if (!svc.klaviyo) throw new ConfigError("Klaviyo is not configured: set KLAVIYO_API_KEY");
  return svc.klaviyo.ensure(spec, { dryRun });
}

export type SegmentCounts = Record<"created" | "updated" | "unchanged" | "conflicts" | "failed" | "would_create" | "would_update", number>;

export interface SetupReport {
  dryRun: boolean;
  /** The tone-segment cap (of the first target when the CRMs differ; see caps). */
  cap: number;
  /** Per CRM, present only when the mapping overrides give the CRMs different caps. */
  caps?: Partial<Record<ConnectorName, number>>;
  targets: ConnectorName[];
  tones: {
    total: number;
    sources: { hubspot: boolean; klaviyo: boolean };
    /** The values that get a segment, in order. */
    segmented: Array<Pick<ToneOption, "value" | "label">>;
    /** The values past the cap: no segment, listed so nothing is dropped in silence. */
    pastCap: Array<Pick<ToneOption, "value" | "label" | "profiles">>;
  };
  schema?: { hubspot: SchemaReport };
  segments: SegmentOutcome[];
  summary: SegmentCounts & { pastCap: number; byCrm: Partial<Record<ConnectorName, SegmentCounts>> };
  warnings: string[];
  /** Set when a 401/403 stopped the run: names the variable at fault. */
  configError?: string;
}

function counts(outcomes: readonly SegmentOutcome[]): SegmentCounts {
  const c: SegmentCounts = { created: 0, updated: 0, unchanged: 0, conflicts: 0, failed: 0, would_create: 0, would_update: 0 };
  const key: Record<SegmentStatus, keyof SegmentCounts> = {
    created: "created", updated: "updated", unchanged: "unchanged", conflict: "conflicts", failed: "failed",
    would_create: "would_create", would_update: "would_update",
  };
  for (const o of outcomes) c[key[o.status]] += 1;
  return c;
}

export function buildReport(parts: {
  dryRun: boolean;
  /** --cap / FASHIONAI_SEGMENT_CAP; undefined: the override file's cap per CRM, else 50. */
  cap?: number | undefined;
  targets: ConnectorName[]; catalog: ToneCatalog; schema?: SchemaReport;
  segments: SegmentOutcome[]; warnings?: string[]; configError?: string;
  /** The field plan (default PRODUCT.md's). */
  mapping?: MappingPlan | undefined;
}): SetupReport {
  const plans = (parts.targets.length ? parts.targets : (["hubspot"] as ConnectorName[]))
    .map((crm) => planSegments(parts.mapping, crm, parts.catalog, parts.cap));
  const { specs, pastCap, cap, tones } = plans[0]!;
  const warnings = [...(parts.warnings ?? [])];
  const same = (a: CrmSegmentPlan, b: CrmSegmentPlan) => a.cap === b.cap && JSON.stringify(a.pastCap.map((t) => t.value)) === JSON.stringify(b.pastCap.map((t) => t.value));
  const alike = plans.every((p) => same(p, plans[0]!));
  for (const p of alike ? plans.slice(0, 1) : plans) {
    if (p.pastCap.length === 0) continue;
    const crm = alike ? "" : `${p.crm === "hubspot" ? "HubSpot" : "Klaviyo"}: `;
    warnings.push(`${crm}${p.pastCap.length} tone value${p.pastCap.length === 1 ? " is" : "s are"} past the cap of ${p.cap} and got no segment: ` +
      `${p.pastCap.map((t) => JSON.stringify(t.label)).join(", ")} (raise --cap, FASHIONAI_SEGMENT_CAP or segments.toneCap in the configuration file to include them)`);
  }
  for (const p of plans) for (const n of p.notes) if (!warnings.includes(n)) warnings.push(n);
  const byCrm: Partial<Record<ConnectorName, SegmentCounts>> = {};
  for (const crm of parts.targets) byCrm[crm] = counts(parts.segments.filter((s) => s.crm === crm));
  const caps = new Set(plans.map((p) => p.cap));
  return {
    dryRun: parts.dryRun,
    cap,
    ...(caps.size > 1 ? { caps: Object.fromEntries(plans.map((p) => [p.crm, p.cap])) } : {}),
    targets: parts.targets,
    tones: {
      total: tones.length,
      sources: parts.catalog.sources,
      segmented: specs.flatMap((s) => (s.kind === "tone" ? [{ value: s.value, label: s.label }] : [])),
      pastCap: pastCap.map((t) => ({ value: t.value, label: t.label, ...(t.profiles === undefined ? {} : { profiles: t.profiles }) })),
    },
    ...(parts.schema ? { schema: { hubspot: parts.schema } } : {}),
    segments: parts.segments,
    summary: { ...counts(parts.segments), pastCap: pastCap.length, byCrm },
    warnings,
    ...(parts.configError ? { configError: parts.configError } : {}),
  };
}

export interface SetupOptions {
  targets: ConnectorName[];
  dryRun: boolean;
  /** --cap / FASHIONAI_SEGMENT_CAP for every CRM; undefined: the override file's toneCap per CRM, else 50. */
  cap?: number | undefined;
  /** Also read Klaviyo profiles for tone values when HubSpot is configured. */
  scanKlaviyo?: boolean;
}

function authToConfig(err: unknown): never {
  if (err instanceof SyncError && err.kind === "auth") throw new ConfigError(err.message);
  throw err;
}

/**
 * The whole of `setup`, in-process. A segment that fails is reported and the run goes on; after a rate
 * limit that retries could not clear (e.g. Klaviyo's 100 creations a day) the rest of that CRM is left
 * for the next run, which finds what exists by name and resumes there.
 */
export async function runSetup(svc: SegmentServices, opts: SetupOptions): Promise<SetupReport> {
  const catalog = await collectTones(svc, { ...(opts.scanKlaviyo ? { scanKlaviyo: true } : {}) }).catch(authToConfig);
  const warnings: string[] = [];
  let schema: SchemaReport | undefined;
  if (opts.targets.includes("hubspot")) {
    schema = await provisionHubSpotSchema(svc, catalog.tones, opts.dryRun).catch(authToConfig);
  }
  const outcomes: SegmentOutcome[] = [];
  let configError: string | undefined;
  for (const crm of opts.targets) {
    let stopped: string | undefined;
    for (const spec of planSegments(svc.mapping, crm, catalog, opts.cap).specs) {
      if (configError || stopped) {
        outcomes.push({ crm, key: spec.key, name: spec.name, status: "failed", reason: `not attempted: ${configError ?? stopped}` });
        continue;
      }
      try {
        outcomes.push(await ensureSegment(svc, crm, spec, opts.dryRun));
      } catch (err) {
        if (!(err instanceof SyncError)) throw err;
        outcomes.push({ crm, key: spec.key, name: spec.name, status: "failed", reason: err.message });
        if (err.kind === "auth") configError = err.message;
        else if (err.status === 429) stopped = `${crm === "hubspot" ? "HubSpot" : "Klaviyo"} kept answering 429; rerun setup later to resume`;
      }
    }
  }
  if (opts.targets.includes("klaviyo")) {
    const creations = outcomes.filter((o) => o.crm === "klaviyo" && (o.status === "would_create" || o.status === "created")).length;
    if (creations > KLAVIYO_DAILY_SEGMENT_CREATIONS) {
      warnings.push(`Klaviyo allows ${KLAVIYO_DAILY_SEGMENT_CREATIONS} segment creations a day; ${creations} are planned, so the rest wait for a run on a later day`);
    }
  }
  return buildReport({
    dryRun: opts.dryRun, cap: opts.cap, targets: opts.targets, catalog, mapping: svc.mapping, ...(schema ? { schema } : {}),
    segments: outcomes, warnings, ...(configError ? { configError } : {}),
  });
}

export function setupExitCode(report: SetupReport): number {
  if (report.configError) return 2;
  return report.summary.failed + report.summary.conflicts > 0 || report.schema?.hubspot.status === "conflict" ? 1 : 0;
}
