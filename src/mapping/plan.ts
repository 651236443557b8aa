// The field plan: which fields of the table (src/mapping/fields.ts) a connector writes, under which
// property names, in which form, and how tone values fold together. The defaults are PRODUCT.md's CRM
// schema exactly; a mapping override file (src/overrides/) resolves to another plan. Everything that
// names a CRM property — the mappings, HubSpot's schema and lists, Klaviyo's segments, doctor, the
// dry-run reads — asks the plan instead of using a constant. Pure: no I/O.
import type { EnumOption, MappingContext } from "../../connectors/types.js";
import type { ParsedProfile } from "../profile/types.js";
import type { ConnectorName } from "../pipeline/types.js";
import {
  FIELDS, extractFields, type CanonicalValue, type FieldKey, type FieldKind, type FieldSpec, type HubSpotFieldType,
  type HubSpotType,
} from "./fields.js";
import { SLUG_MAX_LENGTH, cleanText, slugify, toOptions } from "./text.js";

/** How a list field is written: enumeration options, or text (one item per line). */
export type ListFieldType = "checkbox" | "textarea";

export const DEFAULT_PREFIX = "fashionai_";
export const DEFAULT_HUBSPOT_GROUP = { name: "fashionai", label: "Fashion.AI" } as const;
/** The field whose values are the tone segments, and the one behind the Novo comportamento segment. */
export const TONE_FIELD: FieldKey = "fashionai_tom_de_voz";
export const NOVO_FIELD: FieldKey = "fashionai_novo_comportamento";

/** Field kinds whose value is a list of items: they can be written as checkbox options or as text. */
const LIST_KINDS: readonly FieldKind[] = ["options", "textList", "occasionsDetail"];

export function isListField(spec: Pick<FieldSpec, "kind">): boolean {
  return LIST_KINDS.includes(spec.kind);
}

/** The default keys of the list fields, in table order. */
export const LIST_FIELD_KEYS: readonly FieldKey[] = (FIELDS as readonly FieldSpec[]).filter(isListField).map((f) => f.key as FieldKey);

/** A default key without the default prefix: `fashionai_tom_de_voz` → `tom_de_voz`. */
export function fieldSuffix(key: FieldKey): string {
  return key.slice(DEFAULT_PREFIX.length);
}

export interface PlannedField {
  /** The default key (PRODUCT.md): the field's identity in the override file, warnings and docs. */
  key: FieldKey;
  /** The property name this connector writes. */
  name: string;
  spec: FieldSpec;
  /**
   * List fields: `checkbox` = enumeration options (HubSpot enumeration/checkbox, values joined by `;`;
   * Klaviyo an array of option labels); `textarea` = text (HubSpot items joined by `\n`; Klaviyo one
   * string, items joined by `\n`). Undefined = the source's own shape (other fields; Klaviyo's text lists,
   * which stay arrays as PRODUCT.md says).
   */
  fieldType?: ListFieldType;
  /** HubSpot property type / field type (follows fieldType for list fields). */
  hubspot: { type: HubSpotType; fieldType: HubSpotFieldType };
}

export interface FieldPlan {
  connector: ConnectorName;
  prefix: string;
  /** The fields written, in table order; disabled fields are absent. */
  fields: readonly PlannedField[];
  /** Default keys of the fields turned off. */
  disabled: readonly FieldKey[];
  /** Tone folding: slug of a tone value → the option it becomes (applied before options and segments are made). */
  toneSynonyms: ReadonlyMap<string, EnumOption>;
  /** Tone segments at most, when the override file sets it (else the environment or the default decides). */
  toneCap?: number;
}

export interface HubSpotPlan extends FieldPlan {
  connector: "hubspot";
  group: { name: string; label: string };
}

export interface MappingPlan {
  hubspot: HubSpotPlan;
  klaviyo: FieldPlan;
  /** The override file the plan came from (undefined: the defaults). */
  source?: string;
}

/** What may be overridden per field (already validated; see src/overrides/schema.ts). */
export interface FieldOverride {
  name?: string;
  enabled?: boolean;
  fieldType?: ListFieldType;
}

export interface FieldPlanInput {
  prefix?: string;
  properties?: Partial<Record<FieldKey, FieldOverride>>;
  toneSynonyms?: ReadonlyMap<string, EnumOption>;
  toneCap?: number;
}

function hubspotTypes(spec: FieldSpec, fieldType: ListFieldType | undefined): PlannedField["hubspot"] {
  if (fieldType === "checkbox") return { type: "enumeration", fieldType: "checkbox" };
  if (fieldType === "textarea") return { type: "string", fieldType: "textarea" };
  return { ...spec.hubspot };
}

function defaultFieldType(connector: ConnectorName, spec: FieldSpec): ListFieldType | undefined {
  if (!isListField(spec)) return undefined;
  if (spec.kind === "options") return "checkbox";
  // HubSpot has no list type: text lists are textareas. Klaviyo keeps them as JSON arrays.
  return connector === "hubspot" ? "textarea" : undefined;
}

export function buildFieldPlan(connector: "hubspot", input?: FieldPlanInput & { group?: { name: string; label: string } }): HubSpotPlan;
export function buildFieldPlan(connector: ConnectorName, input?: FieldPlanInput): FieldPlan;
export function buildFieldPlan(
  connector: ConnectorName, input: FieldPlanInput & { group?: { name: string; label: string } } = {},
): FieldPlan | HubSpotPlan {
  const prefix = input.prefix ?? DEFAULT_PREFIX;
  const fields: PlannedField[] = [];
  const disabled: FieldKey[] = [];
  for (const spec of FIELDS as readonly FieldSpec[]) {
    const key = spec.key as FieldKey;
    const o = input.properties?.[key];
    if (o?.enabled === false) {
      disabled.push(key);
      continue;
    }
    const fieldType = isListField(spec) ? (o?.fieldType ?? defaultFieldType(connector, spec)) : undefined;
    fields.push({
      key, spec, name: o?.name ?? prefix + fieldSuffix(key), hubspot: hubspotTypes(spec, fieldType),
      ...(fieldType === undefined ? {} : { fieldType }),
    });
  }
  const plan: FieldPlan = {
    connector, prefix, fields, disabled, toneSynonyms: input.toneSynonyms ?? new Map(),
    ...(input.toneCap === undefined ? {} : { toneCap: input.toneCap }),
  };
  return connector === "hubspot" ? { ...plan, connector, group: { ...(input.group ?? DEFAULT_HUBSPOT_GROUP) } } : plan;
}

/** PRODUCT.md's CRM schema, unchanged. */
export const DEFAULT_MAPPING_PLAN: MappingPlan = Object.freeze({
  hubspot: buildFieldPlan("hubspot"),
  klaviyo: buildFieldPlan("klaviyo"),
});

export function plannedField(plan: FieldPlan, key: FieldKey): PlannedField | undefined {
  return plan.fields.find((f) => f.key === key);
}

/** The property name of a field in this plan; undefined when the field is turned off. */
export function propertyName(plan: FieldPlan, key: FieldKey): string | undefined {
  return plannedField(plan, key)?.name;
}

// ------------------------------------------------------------------------------------------ tones

/** The key a tone value is matched on: its option value (slug of the cleaned, lower-cased label). */
export function toneSlug(text: string): string {
  return slugify(cleanText(text).toLocaleLowerCase("pt-BR"));
}

/** A tone option after the synonym table: the option it folds into, or itself. */
export function foldTone(option: EnumOption, synonyms: ReadonlyMap<string, EnumOption>): EnumOption {
  return synonyms.get(option.value) ?? option;
}

/** Options folded by the synonym table, deduplicated by value again (first occurrence wins, order kept). */
export function foldToneOptions(options: readonly EnumOption[], synonyms: ReadonlyMap<string, EnumOption>): EnumOption[] {
  if (synonyms.size === 0) return [...options];
  const seen = new Set<string>();
  const out: EnumOption[] = [];
  for (const o of options) {
    const f = foldTone(o, synonyms);
    if (seen.has(f.value)) continue;
    seen.add(f.value);
    out.push(f);
  }
  return out;
}

/** The option a synonym table entry points at (the tone's own rules: cleaned, lower-cased, slug value). */
export function toneOption(text: string): EnumOption | undefined {
  return toOptions([text], { lowercase: true }).options[0];
}

// ----------------------------------------------------------------------------------------- values

export interface PlannedValue {
  field: PlannedField;
  value: CanonicalValue;
}

export interface PlannedValues {
  /** The fields that have a value, in table order. */
  values: PlannedValue[];
  warnings: string[];
  /** The profile's novo_comportamento, whether or not the field is written (the Klaviyo event follows it). */
  novo?: boolean;
}

function asOptions(field: PlannedField, v: CanonicalValue, warnings: string[]): CanonicalValue | undefined {
  if (v.type !== "list") return v;
  // A text list as checkbox options: each item is an option, with the slug rules of PRODUCT.md. Long
  // free text makes poor options: values are cut to 100 characters, so items that start alike merge.
  const long = v.value.filter((item) => fullSlug(item).length > SLUG_MAX_LENGTH);
  if (long.length > 0) {
    warnings.push(
      `${field.key}: ${long.length} item${long.length === 1 ? " is" : "s are"} too long for a checkbox option value ` +
        `(cut to ${SLUG_MAX_LENGTH} characters; items that start alike become one option)`,
    );
  }
  const { options, warnings: w } = toOptions(v.value, { lowercase: false });
  for (const m of w) warnings.push(`${field.key}: ${m}`);
  return options.length === 0 ? undefined : { type: "options", value: options };
}

/** The slug before the 100-character cut (only its length matters). */
function fullSlug(text: string): string {
  return text.normalize("NFD").replace(/\p{M}+/gu, "").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
}

/**
 * The values a connector writes for a profile: the canonical values of the enabled fields, tone values
 * folded by the synonym table, list fields turned into options or text as the plan says.
 */
export function planValues(profile: ParsedProfile, ctx: MappingContext, plan: FieldPlan): PlannedValues {
  const specs = plan.fields.map((f) => f.spec);
  const novoOn = plan.fields.some((f) => f.key === NOVO_FIELD);
  const { values, warnings } = extractFields(profile, ctx, { specs: novoOn ? specs : [...specs, FIELDS.find((f) => f.key === NOVO_FIELD)!] });
  const out: PlannedValue[] = [];
  for (const field of plan.fields) {
    let v: CanonicalValue | undefined = values[field.key];
    if (v === undefined) continue;
    if (field.key === TONE_FIELD && v.type === "options") v = { type: "options", value: foldToneOptions(v.value, plan.toneSynonyms) };
    if (field.fieldType === "checkbox") v = asOptions(field, v, warnings);
    else if (field.fieldType === "textarea" && v.type === "options") v = { type: "list", value: v.value.map((o) => o.label) };
    if (v !== undefined) out.push({ field, value: v });
  }
  const novo = values[NOVO_FIELD];
  // A disabled novo field still decides the event, but its warnings belong to nobody.
  const shown = novoOn ? warnings : warnings.filter((w) => !w.startsWith(`${NOVO_FIELD}:`));
  return { values: out, warnings: shown, ...(novo?.type === "boolean" ? { novo: novo.value } : {}) };
}

// --------------------------------------------------------------------------------------- segments

export interface SegmentProperties {
  /** The property tone segments filter on; undefined when this connector cannot have tone segments. */
  tone?: string;
  /** The property the Novo comportamento segment filters on; undefined when the field is off. */
  novo?: string;
  /** Why a segment kind is missing, for reports. */
  notes: string[];
}

/**
 * What the segments of a connector filter on. Tone segments need the tone field written as options
 * (HubSpot: the enumeration's values; Klaviyo: the list of labels); Novo comportamento needs its field.
 */
export function segmentProperties(plan: FieldPlan): SegmentProperties {
  const notes: string[] = [];
  const crm = plan.connector === "hubspot" ? "HubSpot" : "Klaviyo";
  const tone = plannedField(plan, TONE_FIELD);
  const novo = plannedField(plan, NOVO_FIELD);
  if (!tone) notes.push(`${crm}: ${TONE_FIELD} is disabled in the mapping overrides, so there are no tone segments`);
  else if (tone.fieldType !== "checkbox") {
    notes.push(`${crm}: ${TONE_FIELD} is written as a textarea (mapping overrides), so there are no tone segments; use "checkbox" to get them`);
  }
  if (!novo) notes.push(`${crm}: ${NOVO_FIELD} is disabled in the mapping overrides, so there is no Novo comportamento segment`);
  return {
    ...(tone && tone.fieldType === "checkbox" ? { tone: tone.name } : {}),
    ...(novo ? { novo: novo.name } : {}),
    notes,
  };
}

// ----------------------------------------------------------------------------------------- summary

/** How a connector's plan differs from PRODUCT.md's defaults, in a few words per change (empty: none). */
export function describePlanChanges(plan: FieldPlan): string[] {
  const base = DEFAULT_MAPPING_PLAN[plan.connector];
  const out: string[] = [];
  if (plan.connector === "hubspot") {
    const g = (plan as HubSpotPlan).group;
    if (g.name !== DEFAULT_HUBSPOT_GROUP.name || g.label !== DEFAULT_HUBSPOT_GROUP.label) out.push(`group ${g.name} ("${g.label}")`);
  }
  const renamed = plan.fields.filter((f) => f.name !== f.key);
  if (renamed.length) out.push(`renamed: ${renamed.map((f) => `${f.key} → ${f.name}`).join(", ")}`);
  if (plan.disabled.length) out.push(`off: ${plan.disabled.join(", ")}`);
  const forms = plan.fields.filter((f) => f.fieldType !== plannedField(base, f.key)?.fieldType);
  if (forms.length) out.push(`${forms.map((f) => `${f.key} as ${f.fieldType}`).join(", ")}`);
  if (plan.toneSynonyms.size) out.push(`tone synonyms: ${[...plan.toneSynonyms].map(([from, to]) => `${from} → ${to.value}`).join(", ")}`);
  if (plan.toneCap !== undefined) out.push(`tone segment cap ${plan.toneCap}`);
  return out;
}

/**
 * Whether a HubSpot property is one this service writes: a name of the plan, or any default-prefixed one
 * (left over from before a rename). The HubSpot webhook ignores changes to them, or every sync would
 * trigger another.
 */
export function ownsHubSpotProperty(plan: FieldPlan = DEFAULT_MAPPING_PLAN.hubspot): (name: string) => boolean {
  const names = new Set(plan.fields.map((f) => f.name));
  return (name) => names.has(name) || name.startsWith(DEFAULT_PREFIX);
}
