// Fashion.AI profile → Klaviyo profile properties (+ the Novo Comportamento event). Pure: no I/O, no
// clock; node:crypto's hash is deterministic. Klaviyo takes JSON values, so options are arrays of their
// LABELS, lists stay arrays and booleans stay booleans.
//
// No 65,536-character cut here (that is HubSpot's limit). Klaviyo's own limits — a 100 KB payload per
// profile create/update request, and 100 KB per string in event properties — are left to the connector;
// mapped Fashion.AI profiles are far below them.
import { createHash } from "node:crypto";
import type { KlaviyoEventPlan, KlaviyoMapping, KlaviyoValue, MapToKlaviyo, MappingContext } from "../types.js";
import type { ParsedProfile } from "../../src/profile/types.js";
import type { CanonicalValue } from "../../src/mapping/fields.js";
import { DEFAULT_MAPPING_PLAN, planValues, type FieldPlan, type PlannedField } from "../../src/mapping/plan.js";
import { cleanList, cleanText } from "../../src/mapping/text.js";

export const NOVO_COMPORTAMENTO_METRIC = "Fashion.AI Novo Comportamento";
export const NOVO_COMPORTAMENTO_ID_PREFIX = "fashionai-nc-";

function toKlaviyo(field: PlannedField, v: CanonicalValue): KlaviyoValue {
  switch (v.type) {
    case "options":
      return v.value.map((o) => o.label);
    case "list":
      // A list field chosen as textarea is one text, an item per line; otherwise a JSON array.
      return field.fieldType === "textarea" ? v.value.join("\n") : [...v.value];
    case "text":
    case "datetime":
    case "boolean":
      return v.value;
  }
}

function cleanedString(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  const s = cleanText(v);
  return s === "" ? undefined : s;
}

function cleanedStrings(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const list = cleanList(v.filter((x): x is string => typeof x === "string"));
  return list.length === 0 ? undefined : list;
}

/**
 * The event's unique_id: the same buying moment always gives the same id (so Klaviyo never records it
 * twice, whatever the sync time), a changed moment a new one. Hash of the canonical JSON of the cleaned
 * [userProfileId, resumo_momento, navegacoes, oportunidades, relacao_com_historico], absent parts as null.
 * Cleaning first means whitespace-only differences in the API's text do not count as a new moment.
 */
export function novoComportamentoUniqueId(profile: ParsedProfile): string {
  const m = profile.profile.momento_compra_atual ?? {};
  const canonical = JSON.stringify([
    cleanedString(profile.userProfileId) ?? null,
    cleanedString(m.resumo_momento) ?? null,
    cleanedStrings(m.navegacoes) ?? null,
    cleanedStrings(m.oportunidades) ?? null,
    cleanedString(m.relacao_com_historico) ?? null,
  ]);
  const hex = createHash("sha256").update(canonical, "utf8").digest("hex");
  return NOVO_COMPORTAMENTO_ID_PREFIX + hex.slice(0, 32);
}

function novoComportamentoEvent(profile: ParsedProfile): KlaviyoEventPlan {
  const m = profile.profile.momento_compra_atual ?? {};
  const properties: Record<string, unknown> = {};
  const resumo = cleanedString(m.resumo_momento);
  const oportunidades = cleanedStrings(m.oportunidades);
  const navegacoes = cleanedStrings(m.navegacoes);
  if (resumo !== undefined) properties["resumo"] = resumo;
  if (oportunidades !== undefined) properties["oportunidades"] = oportunidades;
  if (navegacoes !== undefined) properties["navegações"] = navegacoes;
  return { metric: NOVO_COMPORTAMENTO_METRIC, uniqueId: novoComportamentoUniqueId(profile), properties };
}

/**
 * The Klaviyo profile properties of a profile under a field plan (default: PRODUCT.md's schema), plus the
 * Novo Comportamento event. The event is not a property: it follows novo_comportamento even when the
 * plan turns that property off.
 */
export function mapToKlaviyo(profile: ParsedProfile, ctx: MappingContext, plan: FieldPlan = DEFAULT_MAPPING_PLAN.klaviyo): KlaviyoMapping {
  const { values, warnings, novo } = planValues(profile, ctx, plan);
  const properties: Record<string, KlaviyoValue> = {};
  for (const { field, value } of values) properties[field.name] = toKlaviyo(field, value);
  const out: KlaviyoMapping = { properties, warnings: [...warnings] };
  // The event follows the same boolean rules as the property (true, or "true" in any case).
  if (novo === true) out.event = novoComportamentoEvent(profile);
  return out;
}

/** mapToKlaviyo bound to a field plan. */
export function createKlaviyoMapping(plan: FieldPlan): MapToKlaviyo {
  return (profile, ctx) => mapToKlaviyo(profile, ctx, plan);
}
