// The CRM schema of PRODUCT.md ("CRM schema (defaults)") as one declarative table, and the shared core
// that turns a parsed profile into canonical, cleaned values per field. Each connector mapping only
// formats these values for its API (HubSpot strings, Klaviyo JSON). Pure: time comes in via ctx.
import type { EnumOption, MappingContext } from "../../connectors/types.js";
import type { ParsedProfile } from "../profile/types.js";
import { cleanList, cleanText, toOptions } from "./text.js";

export type FieldKind =
  /** One string, cleaned. */
  | "text"
  /** A list of strings: cleaned, empty items and exact duplicates dropped, order kept. */
  | "textList"
  /** A list of strings turned into enumeration options (see toOptions). */
  | "options"
  /** The first item of a cleaned text list. */
  | "firstItem"
  /** One line per occasion (see occasionLine). */
  | "occasionsDetail"
  /** true/false (or the strings "true"/"false" in any case). */
  | "boolean"
  /** The time of the sync, ctx.syncedAt. */
  | "syncedAt";

export type HubSpotType = "string" | "enumeration" | "bool" | "datetime";
export type HubSpotFieldType = "text" | "textarea" | "checkbox" | "booleancheckbox" | "date";

export interface FieldSpec {
  /** Property name in HubSpot and key in Klaviyo profile properties. */
  key: string;
  /** Where the value comes from, as written in PRODUCT.md (documentation). */
  source: string;
  /** Path of the source value from the root of the API body ({ userProfileId, profile }); empty for syncedAt. */
  path: readonly string[];
  kind: FieldKind;
  /** options: lower-case labels (pt-BR). */
  lowercase?: boolean;
  /** options: the source list holds objects; the option text is this key of each. */
  itemKey?: string;
  hubspot: { type: HubSpotType; fieldType: HubSpotFieldType };
  /** Label shown to people (Portuguese). */
  label: string;
  /** Help text shown to people (Portuguese). */
  description: string;
}

export const FIELDS = [
  {
    key: "fashionai_user_profile_id",
    source: "userProfileId",
    path: ["userProfileId"],
    kind: "text",
    hubspot: { type: "string", fieldType: "text" },
    label: "ID do perfil Fashion.AI",
    description: "Identificador do perfil do cliente na Fashion.AI (userProfileId).",
  },
  {
    key: "fashionai_descricao_geral",
    source: "perfil_cliente.descricao_geral",
    path: ["profile", "perfil_cliente", "descricao_geral"],
    kind: "text",
    hubspot: { type: "string", fieldType: "textarea" },
    label: "Descrição geral",
    description: "Descrição geral do cliente segundo a Fashion.AI.",
  },
  {
    key: "fashionai_estilo_geral",
    source: "perfil_cliente.estilo_geral",
    path: ["profile", "perfil_cliente", "estilo_geral"],
    kind: "text",
    hubspot: { type: "string", fieldType: "textarea" },
    label: "Estilo geral",
    description: "Estilo geral do cliente segundo a Fashion.AI.",
  },
  {
    key: "fashionai_tom_de_voz",
    source: "briefing_marketing.tom_de_voz",
    path: ["profile", "briefing_marketing", "tom_de_voz"],
    kind: "options",
    lowercase: true,
    hubspot: { type: "enumeration", fieldType: "checkbox" },
    label: "Tom de voz",
    description: "Tons de voz recomendados para falar com o cliente (briefing de marketing da Fashion.AI).",
  },
  {
    key: "fashionai_direcao_visual",
    source: "briefing_marketing.direcao_visual",
    path: ["profile", "briefing_marketing", "direcao_visual"],
    kind: "textList",
    hubspot: { type: "string", fieldType: "textarea" },
    label: "Direção visual",
    description: "Direção visual recomendada para o cliente, um item por linha.",
  },
  {
    key: "fashionai_orientacao_campanhas",
    source: "briefing_marketing.orientacao_campanhas",
    path: ["profile", "briefing_marketing", "orientacao_campanhas"],
    kind: "textList",
    hubspot: { type: "string", fieldType: "textarea" },
    label: "Orientação de campanhas",
    description: "Orientações para campanhas dirigidas ao cliente, uma por linha.",
  },
  {
    key: "fashionai_ganchos_conteudo",
    source: "ganchos_conteudo",
    path: ["profile", "ganchos_conteudo"],
    kind: "textList",
    hubspot: { type: "string", fieldType: "textarea" },
    label: "Ganchos de conteúdo",
    description: "Ganchos de conteúdo que atraem o cliente, um por linha.",
  },
  {
    key: "fashionai_gancho_principal",
    source: "first item of ganchos_conteudo",
    path: ["profile", "ganchos_conteudo"],
    kind: "firstItem",
    hubspot: { type: "string", fieldType: "text" },
    label: "Gancho principal",
    description: "O primeiro gancho de conteúdo do cliente, para personalizar assuntos e chamadas.",
  },
  {
    key: "fashionai_ocasioes",
    source: "ocasioes_relevantes[].ocasião",
    path: ["profile", "ocasioes_relevantes"],
    kind: "options",
    itemKey: "ocasião",
    hubspot: { type: "enumeration", fieldType: "checkbox" },
    label: "Ocasiões",
    description: "Ocasiões relevantes para o cliente.",
  },
  {
    key: "fashionai_ocasioes_detalhe",
    source: "ocasioes_relevantes[]",
    path: ["profile", "ocasioes_relevantes"],
    kind: "occasionsDetail",
    hubspot: { type: "string", fieldType: "textarea" },
    label: "Ocasiões (detalhe)",
    description: "Uma linha por ocasião: «ocasião: persona — look 1, look 2».",
  },
  {
    key: "fashionai_resumo_momento",
    source: "momento_compra_atual.resumo_momento",
    path: ["profile", "momento_compra_atual", "resumo_momento"],
    kind: "text",
    hubspot: { type: "string", fieldType: "textarea" },
    label: "Resumo do momento de compra",
    description: "Resumo do momento de compra atual do cliente.",
  },
  {
    key: "fashionai_relacao_com_historico",
    source: "momento_compra_atual.relacao_com_historico",
    path: ["profile", "momento_compra_atual", "relacao_com_historico"],
    kind: "text",
    hubspot: { type: "string", fieldType: "textarea" },
    label: "Relação com o histórico",
    description: "Como o momento de compra atual se relaciona com o histórico do cliente.",
  },
  {
    key: "fashionai_navegacoes_recentes",
    source: "momento_compra_atual.navegacoes",
    path: ["profile", "momento_compra_atual", "navegacoes"],
    kind: "textList",
    hubspot: { type: "string", fieldType: "textarea" },
    label: "Navegações recentes",
    description: "Navegações recentes do cliente, uma por linha.",
  },
  {
    key: "fashionai_oportunidades",
    source: "momento_compra_atual.oportunidades",
    path: ["profile", "momento_compra_atual", "oportunidades"],
    kind: "textList",
    hubspot: { type: "string", fieldType: "textarea" },
    label: "Oportunidades",
    description: "Oportunidades de venda identificadas no momento atual, uma por linha.",
  },
  {
    key: "fashionai_novo_comportamento",
    source: "momento_compra_atual.novo_comportamento",
    path: ["profile", "momento_compra_atual", "novo_comportamento"],
    kind: "boolean",
    hubspot: { type: "bool", fieldType: "booleancheckbox" },
    label: "Novo comportamento",
    description: "Verdadeiro quando o cliente mostra um comportamento de compra novo em relação ao histórico.",
  },
  {
    key: "fashionai_sincronizado_em",
    source: "time of the sync",
    path: [],
    kind: "syncedAt",
    hubspot: { type: "datetime", fieldType: "date" },
    label: "Sincronizado em",
    description: "Data e hora (UTC) da última sincronização com a Fashion.AI.",
  },
] as const satisfies readonly FieldSpec[];

export type FieldKey = (typeof FIELDS)[number]["key"];

export const FIELD_KEYS: readonly FieldKey[] = FIELDS.map((f) => f.key);

/** A field's cleaned value, independent of any CRM. Never empty: empty values are left out instead. */
export type CanonicalValue =
  | { type: "text"; value: string }
  | { type: "list"; value: string[] }
  | { type: "options"; value: EnumOption[] }
  | { type: "boolean"; value: boolean }
  /** ISO 8601 UTC, e.g. 2025-01-31T12:00:00.000Z */
  | { type: "datetime"; value: string };

export interface ExtractResult {
  /** Present keys only, in table order. */
  values: Partial<Record<FieldKey, CanonicalValue>>;
  /** Each prefixed with the field key. */
  warnings: string[];
}

/** The cleaned value of one occasion's parts, as used for fashionai_ocasioes_detalhe. */
export interface OccasionParts {
  ocasiao: string;
  persona?: string;
  looks: string[];
}

/**
 * One line of fashionai_ocasioes_detalhe. PRODUCT.md gives the full form `ocasião: persona — look1, look2`;
 * when a part is missing (absent or empty after cleaning) its separator goes with it:
 *   ocasião + persona + looks → `Trabalho: Profissional serena — Blazer cru, Calça reta`
 *   ocasião + persona         → `Trabalho: Profissional serena`
 *   ocasião + looks           → `Trabalho — Blazer cru, Calça reta`
 *   ocasião alone             → `Trabalho`
 * An occasion without ocasião text is skipped (with a warning): a persona or looks without the
 * occasion they belong to would mislead. Every part is cleaned; looks are a cleaned list (empty and
 * duplicate looks dropped).
 */
export function occasionLine(parts: OccasionParts): string {
  let line = parts.ocasiao;
  if (parts.persona !== undefined && parts.persona !== "") line += `: ${parts.persona}`;
  if (parts.looks.length > 0) line += ` \u2014 ${parts.looks.join(", ")}`;
  return line;
}

function getPath(root: unknown, path: readonly string[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== "object" || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/**
 * Reads a list of strings. The lenient parser already guarantees the type; this stays defensive so a
 * caller handing in unparsed data still gets "wrong type → left out with a warning" per item or field.
 */
function readStrings(raw: unknown, key: string, warnings: string[]): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    warnings.push(`${key}: expected a list of text, got ${describe(raw)}; left out`);
    return undefined;
  }
  const out: string[] = [];
  raw.forEach((item: unknown, i) => {
    if (typeof item === "string") out.push(item);
    else warnings.push(`${key}: item ${i + 1} is ${describe(item)}, not text; dropped`);
  });
  return out;
}

function readString(raw: unknown, key: string, warnings: string[]): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "string") {
    warnings.push(`${key}: expected text, got ${describe(raw)}; left out`);
    return undefined;
  }
  return raw;
}

/** A cleaned list, with a warning when items were empty after cleaning (duplicates are dropped silently). */
function cleanedList(raw: readonly string[], key: string, warnings: string[]): string[] {
  const empties = raw.filter((s) => cleanText(s) === "").length;
  if (empties > 0) warnings.push(`${key}: dropped ${empties} empty item${empties === 1 ? "" : "s"}`);
  return cleanList(raw);
}

function readBoolean(raw: unknown, key: string, warnings: string[]): boolean | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "string") {
    const s = cleanText(raw).toLowerCase();
    if (s === "true") return true;
    if (s === "false") return false;
  }
  warnings.push(`${key}: expected true or false, got ${describe(raw)} ${JSON.stringify(raw)}; left out`);
  return undefined;
}

function readOccasions(raw: unknown, key: string, warnings: string[]): unknown[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    warnings.push(`${key}: expected a list of occasions, got ${describe(raw)}; left out`);
    return undefined;
  }
  return raw;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function extractOne(spec: FieldSpec, root: unknown, ctx: MappingContext, warnings: string[]): CanonicalValue | undefined {
  const key = spec.key;
  const raw = getPath(root, spec.path);
  switch (spec.kind) {
    case "text": {
      const s = readString(raw, key, warnings);
      if (s === undefined) return undefined;
      const value = cleanText(s);
      return value === "" ? undefined : { type: "text", value };
    }
    case "textList": {
      const items = readStrings(raw, key, warnings);
      if (items === undefined) return undefined;
      const value = cleanedList(items, key, warnings);
      return value.length === 0 ? undefined : { type: "list", value };
    }
    case "firstItem": {
      // Warnings about the list itself belong to the list field; only the first cleaned item matters here.
      const items = readStrings(raw, key, []);
      const first = items === undefined ? undefined : cleanList(items)[0];
      return first === undefined ? undefined : { type: "text", value: first };
    }
    case "options": {
      let items: string[] | undefined;
      if (spec.itemKey !== undefined) {
        const list = readOccasions(raw, key, warnings);
        // Entries without the item text are reported by the detail field; here they are simply absent.
        items = list?.flatMap((o) => {
          const v = isRecord(o) ? o[spec.itemKey as string] : undefined;
          return typeof v === "string" ? [v] : [];
        });
      } else {
        items = readStrings(raw, key, warnings);
      }
      if (items === undefined) return undefined;
      const { options, warnings: w } = toOptions(items, { lowercase: spec.lowercase === true });
      for (const m of w) warnings.push(`${key}: ${m}`);
      return options.length === 0 ? undefined : { type: "options", value: options };
    }
    case "occasionsDetail": {
      const list = readOccasions(raw, key, []);
      if (list === undefined) return undefined;
      const seen = new Set<string>();
      const lines: string[] = [];
      list.forEach((o, i) => {
        if (!isRecord(o)) {
          warnings.push(`${key}: occasion ${i + 1} is ${describe(o)}, not an object; skipped`);
          return;
        }
        const ocasiao = typeof o["ocasião"] === "string" ? cleanText(o["ocasião"]) : "";
        if (ocasiao === "") {
          warnings.push(`${key}: occasion ${i + 1} has no ocasião; skipped`);
          return;
        }
        const persona = typeof o["persona_na_ocasião"] === "string" ? cleanText(o["persona_na_ocasião"]) : undefined;
        const rawLooks = o["sugestao_look"];
        const looks = Array.isArray(rawLooks) ? cleanList(rawLooks.filter((l): l is string => typeof l === "string")) : [];
        const line = occasionLine(persona === undefined ? { ocasiao, looks } : { ocasiao, persona, looks });
        if (seen.has(line)) return;
        seen.add(line);
        lines.push(line);
      });
      return lines.length === 0 ? undefined : { type: "list", value: lines };
    }
    case "boolean": {
      const b = readBoolean(raw, key, warnings);
      return b === undefined ? undefined : { type: "boolean", value: b };
    }
    case "syncedAt": {
      const t = ctx.syncedAt;
      if (!(t instanceof Date) || Number.isNaN(t.getTime())) {
        warnings.push(`${key}: the sync time is not a valid date; left out`);
        return undefined;
      }
      return { type: "datetime", value: t.toISOString() };
    }
  }
}

/**
 * Canonical cleaned values for every field of the table (or of `opts.specs`). A field that is absent, null, of the wrong
 * type or empty after cleaning is left out (never an empty string or list); one bad field never stops
 * the others.
 */
export function extractFields(
  profile: ParsedProfile, ctx: MappingContext, opts: { specs?: readonly FieldSpec[] } = {},
): ExtractResult {
  const values: Partial<Record<FieldKey, CanonicalValue>> = {};
  const warnings: string[] = [];
  const root: unknown = profile;
  // Only the fields asked for (a field plan leaves out disabled ones, and their warnings with them).
  for (const spec of opts.specs ?? (FIELDS as readonly FieldSpec[])) {
    const v = extractOne(spec, root, ctx, warnings);
    if (v !== undefined) values[spec.key as FieldKey] = v;
  }
  return { values, warnings };
}

/** The field spec for a key. */
export function fieldSpec(key: FieldKey): FieldSpec {
  const spec = (FIELDS as readonly FieldSpec[]).find((f) => f.key === key);
  if (spec === undefined) throw new Error(`unknown field ${key}`);
  return spec;
}
