// Lenient decoding of a Fashion.AI profile body. Only the envelope is strict (a body without a usable
// `userProfileId` and `profile` object is a fault worth retrying); inside `profile` one bad field never
// blocks the rest: it is left out with a warning naming its path. Text is kept raw — mapping cleans it.

import { z } from "zod";
import { SyncError } from "../errors.js";
import type { Occasion, ParseResult, ProfileBody } from "../profile/types.js";

type Json = Record<string, unknown>;

const BOM = "\uFEFF";
const SNIPPET_CHARS = 80;
/** Our schema is four levels deep; deeper data is irrelevant and a hostile depth must not blow the stack. */
const MAX_KEY_DEPTH = 32;

const Text = z.string();
const AnyList = z.array(z.unknown());
const Section = z.looseObject({});
const TRUE_OR_FALSE = z.string().trim().toLowerCase().pipe(z.enum(["true", "false"]));
const Flag = z.union([z.boolean(), TRUE_OR_FALSE.transform((s) => s === "true")]);

export function parseProfileBody(text: string): ParseResult {
  const { userProfileId, profile } = decodeEnvelope(text);
  const warnings: string[] = [];
  return { profile: { userProfileId, profile: readProfile(profile, "profile", warnings) }, warnings };
}

/** A short, single-line, quoted excerpt of a body for error messages (never the whole body). */
export function bodySnippet(text: string, max: number = SNIPPET_CHARS): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return JSON.stringify(oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine);
}

// ---- envelope -------------------------------------------------------------------------------------

function decodeEnvelope(text: string): { userProfileId: string; profile: Json } {
  const body = text.startsWith(BOM) ? text.slice(BOM.length) : text;
  if (body.trim() === "") throw unusable("the body is empty");
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw unusable(`the body is not JSON (starts ${bodySnippet(body)})`);
  }
  const root = nfcKeys(json, 0);
  if (!isObject(root)) throw unusable(`the JSON body is ${withArticle(root)}, expected an object`);
  if (!isObject(root.profile)) {
    const got = root.profile === undefined ? "missing" : withArticle(root.profile);
    throw unusable(`"profile" is ${got}, expected an object`);
  }
  const id = root.userProfileId;
  if (typeof id !== "string" || id.trim() === "") {
    const got = id === undefined ? "missing" : typeof id === "string" ? "empty" : withArticle(id);
    throw unusable(`"userProfileId" is ${got}, expected non-empty text`);
  }
  return { userProfileId: id, profile: root.profile };
}

function unusable(what: string): SyncError {
  return new SyncError("transient", "fashionai", `Fashion.AI returned an unusable profile body: ${what}`);
}

/** NFC every key so `ocasião` sent decomposed (NFD) matches the documented key. */
function nfcKeys(value: unknown, depth: number): unknown {
  if (depth >= MAX_KEY_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => nfcKeys(item, depth + 1));
  if (!isObject(value)) return value;
  // fromEntries defines own properties, so a "__proto__" key stays data instead of a prototype.
  // When both spellings of a key are present the later one wins, as with duplicate keys in JSON.parse.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.normalize("NFC"), nfcKeys(v, depth + 1)]));
}

// ---- profile sections -----------------------------------------------------------------------------

function readProfile(p: Json, path: string, w: string[]): ProfileBody {
  return compact<ProfileBody>({
    perfil_cliente: section(p.perfil_cliente, `${path}.perfil_cliente`, w, (s, sp) =>
      compact({
        descricao_geral: text(s.descricao_geral, `${sp}.descricao_geral`, w),
        estilo_geral: text(s.estilo_geral, `${sp}.estilo_geral`, w),
      }),
    ),
    ocasioes_relevantes: occasions(p.ocasioes_relevantes, `${path}.ocasioes_relevantes`, w),
    briefing_marketing: section(p.briefing_marketing, `${path}.briefing_marketing`, w, (s, sp) =>
      compact({
        tom_de_voz: textList(s.tom_de_voz, `${sp}.tom_de_voz`, w),
        direcao_visual: textList(s.direcao_visual, `${sp}.direcao_visual`, w),
        orientacao_campanhas: textList(s.orientacao_campanhas, `${sp}.orientacao_campanhas`, w),
      }),
    ),
    ganchos_conteudo: textList(p.ganchos_conteudo, `${path}.ganchos_conteudo`, w),
    momento_compra_atual: section(p.momento_compra_atual, `${path}.momento_compra_atual`, w, (s, sp) =>
      compact({
        navegacoes: textList(s.navegacoes, `${sp}.navegacoes`, w),
        resumo_momento: text(s.resumo_momento, `${sp}.resumo_momento`, w),
        relacao_com_historico: text(s.relacao_com_historico, `${sp}.relacao_com_historico`, w),
        novo_comportamento: flag(s.novo_comportamento, `${sp}.novo_comportamento`, w),
        oportunidades: textList(s.oportunidades, `${sp}.oportunidades`, w),
      }),
    ),
  });
}

function occasions(value: unknown, path: string, w: string[]): Occasion[] | undefined {
  const list = field(AnyList, value, path, "a list of occasions", w);
  if (list === undefined) return undefined;
  const out: Occasion[] = [];
  list.forEach((item, i) => {
    const itemPath = `${path}[${i}]`;
    if (item === null || item === undefined) return;
    const o = Section.safeParse(item);
    if (!o.success) {
      w.push(`${itemPath}: expected an object, got ${describe(item)}; item dropped`);
      return;
    }
    out.push(
      compact<Occasion>({
        "ocasião": text(o.data["ocasião"], `${itemPath}.ocasião`, w),
        "persona_na_ocasião": text(o.data["persona_na_ocasião"], `${itemPath}.persona_na_ocasião`, w),
        sugestao_look: textList(o.data.sugestao_look, `${itemPath}.sugestao_look`, w),
      }),
    );
  });
  return out;
}

// ---- field readers: null/absent → undefined silently; wrong type → undefined with a warning --------

function field<T>(schema: z.ZodType<T>, value: unknown, path: string, expected: string, w: string[]): T | undefined {
  if (value === undefined || value === null) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  w.push(`${path}: expected ${expected}, got ${describe(value)}; field skipped`);
  return undefined;
}

function section<T>(value: unknown, path: string, w: string[], build: (s: Json, path: string) => T): T | undefined {
  const s = field(Section, value, path, "an object", w);
  return s === undefined ? undefined : build(s, path);
}

function text(value: unknown, path: string, w: string[]): string | undefined {
  return field(Text, value, path, "text", w);
}

function textList(value: unknown, path: string, w: string[]): string[] | undefined {
  const list = field(AnyList, value, path, "a list of text", w);
  if (list === undefined) return undefined;
  const out: string[] = [];
  list.forEach((item, i) => {
    if (item === null || item === undefined) return;
    const s = Text.safeParse(item);
    if (s.success) out.push(s.data);
    else w.push(`${path}[${i}]: expected text, got ${describe(item)}; item dropped`);
  });
  return out;
}

function flag(value: unknown, path: string, w: string[]): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  const result = Flag.safeParse(value);
  if (result.success) return result.data;
  const got = typeof value === "string" ? `${bodySnippet(value, 40)}` : describe(value);
  w.push(`${path}: expected true or false, got ${got}; field skipped`);
  return undefined;
}

// ---- helpers --------------------------------------------------------------------------------------

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  return typeof value;
}

function withArticle(value: unknown): string {
  const kind = describe(value);
  if (kind === "null" || kind === "undefined") return kind;
  return /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}

/** Drops keys whose value is undefined, so "absent" really is absent (`"key" in obj` is false). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
