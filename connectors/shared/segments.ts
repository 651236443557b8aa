// The segments of PRODUCT.md ("Segments"), shared by the HubSpot lists and the Klaviyo segments: one per
// tone-of-voice option (capped) plus one for customers showing new buying behaviour. Pure: no I/O.
import type { ConnectorName } from "../../src/pipeline/types.js";

/** The default property names (PRODUCT.md); a field plan may rename them (src/mapping/plan.ts segmentProperties). */
export const TONE_PROPERTY = "fashionai_tom_de_voz";
export const NOVO_PROPERTY = "fashionai_novo_comportamento";

/** The properties a CRM's segments filter on; a name is absent when that kind of segment is not made. */
export interface SegmentPropertyNames {
  tone?: string;
  novo?: string;
}
export const DEFAULT_SEGMENT_PROPERTIES: Readonly<Required<SegmentPropertyNames>> = { tone: TONE_PROPERTY, novo: NOVO_PROPERTY };
export const TONE_SEGMENT_PREFIX = "Fashion.AI - Tom de voz: ";
export const NOVO_SEGMENT_NAME = "Fashion.AI - Novo comportamento";
/** Default number of tone segments per CRM (PRODUCT.md: "default 50, configurable"). */
export const DEFAULT_SEGMENT_CAP = 50;
export const MAX_SEGMENT_CAP = 500;
/** Labels longer than this are cut (ending in …) in segment names; names stay well under both vendors' limits. */
export const NAME_LABEL_MAX = 150;

/**
 * A tone-of-voice option: `value` is the slug HubSpot stores, `label` the text shown in segment names,
 * `labels` the spellings Klaviyo profiles hold for it (what Klaviyo conditions match).
 */
export interface ToneOption {
  value: string;
  label: string;
  labels: string[];
  /** Where it was seen: HubSpot's property options, Klaviyo profiles. */
  sources: ConnectorName[];
  /** Klaviyo profiles holding it, when Klaviyo was scanned. */
  profiles?: number;
}

export type SegmentSpec =
  | { key: "novo-comportamento"; kind: "novo"; name: string }
  | { key: `tom-de-voz:${string}`; kind: "tone"; name: string; value: string; label: string; labels: string[] };

export type SegmentStatus =
  | "created"
  | "updated"
  | "unchanged"
  | "conflict"
  | "failed"
  /** Dry run: what a real run would do. */
  | "would_create"
  | "would_update";

export interface SegmentOutcome {
  crm: ConnectorName;
  key: string;
  name: string;
  status: SegmentStatus;
  /** The vendor's id of the list / segment, when it exists. */
  id?: string;
  /** Why: the conflicting definition, the error, what an update adds. */
  reason?: string;
}

export function toneSegmentName(label: string): string {
  const chars = [...label];
  const shown = chars.length > NAME_LABEL_MAX ? chars.slice(0, NAME_LABEL_MAX - 1).join("") + "\u2026" : label;
  return TONE_SEGMENT_PREFIX + shown;
}

/**
 * The segments to provision: Novo comportamento first (always), then one per tone option up to `cap`,
 * in the order given. The options past the cap are returned so they can be reported, never dropped
 * in silence.
 */
export function segmentSpecs(
  tones: readonly ToneOption[], cap: number, opts: { tone?: boolean; novo?: boolean } = {},
): { specs: SegmentSpec[]; pastCap: ToneOption[] } {
  const specs: SegmentSpec[] = opts.novo === false ? [] : [{ key: "novo-comportamento", kind: "novo", name: NOVO_SEGMENT_NAME }];
  // No tone segments at all (the tone field is off or text in this CRM): nothing is "past the cap" either.
  if (opts.tone === false) return { specs, pastCap: [] };
  for (const t of tones.slice(0, Math.max(0, cap))) {
    specs.push({ key: `tom-de-voz:${t.value}`, kind: "tone", name: toneSegmentName(t.label), value: t.value, label: t.label, labels: [...t.labels] });
  }
  return { specs, pastCap: tones.slice(Math.max(0, cap)) };
}

/**
 * Tone values after a synonym table (slug → the option it folds into): a folded value gets no segment of
 * its own; its target takes its place in the order when the target itself is not known yet. Segments
 * match the target only (its own spellings): records synced before the table still hold the old value
 * until they are synced again (a backfill does that).
 */
export function foldToneCatalog(tones: readonly ToneOption[], synonyms: ReadonlyMap<string, { value: string; label: string }>): ToneOption[] {
  if (synonyms.size === 0) return tones.map((t) => ({ ...t }));
  const out: ToneOption[] = [];
  const seen = new Set<string>();
  const known = new Set(tones.map((t) => t.value));
  for (const t of tones) {
    const to = synonyms.get(t.value);
    if (to && to.value !== t.value && known.has(to.value)) continue; // the target has its own place
    const value = to?.value ?? t.value;
    if (seen.has(value)) continue;
    seen.add(value);
    out.push(to && to.value !== t.value ? { value, label: to.label, labels: [to.label], sources: [...t.sources] } : { ...t });
  }
  return out;
}
