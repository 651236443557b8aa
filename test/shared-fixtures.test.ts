// Acceptance check: the ten sample profiles of ../shared/fixtures/profiles, synced by ONE `sync` call of
// the real CLI against the local stand-ins, land in HubSpot and Klaviyo exactly as PRODUCT.md's
// "CRM schema (defaults)" and "Mapping rules" say — field by field — with one HubSpot batch upsert for
// the ten; a second identical sync changes nothing and records no new Klaviyo event.
//
// The expected values come from the small oracle below, written straight from PRODUCT.md. It imports
// nothing from the product's mapping code on purpose: checking the mapping against itself proves nothing.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type RecordedRequest, type Sandbox } from "../src/sandbox/index.js";
import { runCli, runMain, type CliRun } from "./helpers/cli.js";
import { specProblems } from "./helpers/openapi.js";
import { HAS_SHARED, SHARED_DIR, SKIP_SHARED_REASON } from "./helpers/shared.js";

// ------------------------------------------------------------------------------ oracle (PRODUCT.md)

type Json = unknown;
type KValue = string | string[] | boolean;
interface Option {
  value: string;
  label: string;
}
interface Expected {
  /** HubSpot property values (strings) for the 15 data keys; absent keys must not be written. */
  hubspot: Record<string, string>;
  /** Klaviyo profile properties (typed) for the 15 data keys. */
  klaviyo: Record<string, KValue>;
  /** Options this record needs, per enumeration property. */
  options: Record<string, Option[]>;
  /** The Novo Comportamento event's properties, when novo_comportamento is true. */
  event?: Record<string, KValue>;
}

/** "JSON keys are NFC-normalised before lookup." */
const nfcKeys = (v: Json): Json =>
  Array.isArray(v)
    ? v.map(nfcKeys)
    : v !== null && typeof v === "object"
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.normalize("NFC"), nfcKeys(x)]))
      : v;

/** NFC; whitespace (tabs and line breaks included) → space; other control characters removed; runs of spaces → one; trimmed. */
const clean = (s: string): string =>
  s
    .normalize("NFC")
    .replace(/\p{White_Space}/gu, " ")
    .replace(/\p{Cc}/gu, "")
    .replace(/ +/g, " ")
    .trim();

/** Lists of text: cleaned, empty items and exact duplicates dropped, order kept. Non-strings ignored. */
const list = (v: Json): string[] => (Array.isArray(v) ? [...new Set(v.filter((x) => typeof x === "string").map(clean))].filter((s) => s !== "") : []);
const text = (v: Json): string | undefined => (typeof v === "string" && clean(v) !== "" ? clean(v) : undefined);

/** NFD, combining marks dropped, lower-case, runs outside a-z0-9 → `_`, edge `_` removed, ≤ 100 chars. */
const slug = (label: string): string =>
  label
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 100)
    .replace(/_+$/, ""); // a cut at 100 must not leave a trailing `_` either (PRODUCT.md: edges have no `_`)

/** label = cleaned text (tom_de_voz also lower-cased, pt-BR); value = slug; empty slug dropped; dedupe by slug, first wins. */
function options(items: Json[], lowerCase: boolean): Option[] {
  const out: Option[] = [];
  for (const item of items) {
    if (typeof item !== "string") continue;
    const label = lowerCase ? clean(item).toLocaleLowerCase("pt-BR") : clean(item);
    const value = slug(label);
    if (value !== "" && !out.some((o) => o.value === value)) out.push({ value, label });
  }
  return out;
}

/** `true`/`false`, or the strings "true"/"false" in any case; anything else: left out. */
const bool = (v: Json): boolean | undefined =>
  typeof v === "boolean" ? v : typeof v === "string" && /^(true|false)$/i.test(v.trim()) ? v.trim().toLowerCase() === "true" : undefined;

const obj = (v: Json): Record<string, Json> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, Json>) : {});

/** One line per occasion: `ocasião: persona — look1, look2` (the only form PRODUCT.md spells out). */
function occasionLine(o: Record<string, Json>): string {
  const [ocasiao, persona, looks] = [text(o["ocasião"]), text(o["persona_na_ocasião"]), list(o["sugestao_look"])];
  if (!ocasiao || !persona || looks.length === 0) throw new Error(`oracle: occasion ${JSON.stringify(o)} lacks a part; PRODUCT.md only gives the full form`);
  return `${ocasiao}: ${persona} \u2014 ${looks.join(", ")}`;
}

function expectedFor(body: Json): Expected {
  const root = obj(nfcKeys(body));
  const p = obj(root.profile);
  const briefing = obj(p.briefing_marketing);
  const momento = obj(p.momento_compra_atual);
  const ocasioes = Array.isArray(p.ocasioes_relevantes) ? p.ocasioes_relevantes.map(obj) : [];
  const out: Expected = { hubspot: {}, klaviyo: {}, options: {} };
  const setText = (key: string, v: string | undefined) => {
    if (v !== undefined) [out.hubspot[key], out.klaviyo[key]] = [v, v];
  };
  const setList = (key: string, v: string[]) => {
    if (v.length > 0) [out.hubspot[key], out.klaviyo[key]] = [v.join("\n"), v];
  };
  const setOptions = (key: string, v: Option[]) => {
    if (v.length === 0) return;
    out.hubspot[key] = v.map((o) => o.value).join(";");
    out.klaviyo[key] = v.map((o) => o.label);
    out.options[key] = v;
  };
  setText("fashionai_user_profile_id", text(root.userProfileId));
  setText("fashionai_descricao_geral", text(obj(p.perfil_cliente).descricao_geral));
  setText("fashionai_estilo_geral", text(obj(p.perfil_cliente).estilo_geral));
  setOptions("fashionai_tom_de_voz", options(Array.isArray(briefing.tom_de_voz) ? briefing.tom_de_voz : [], true));
  setList("fashionai_direcao_visual", list(briefing.direcao_visual));
  setList("fashionai_orientacao_campanhas", list(briefing.orientacao_campanhas));
  setList("fashionai_ganchos_conteudo", list(p.ganchos_conteudo));
  setText("fashionai_gancho_principal", list(p.ganchos_conteudo)[0]);
  setOptions("fashionai_ocasioes", options(ocasioes.map((o) => o["ocasião"]), false));
  setList("fashionai_ocasioes_detalhe", list(ocasioes.map(occasionLine)));
  setText("fashionai_resumo_momento", text(momento.resumo_momento));
  setText("fashionai_relacao_com_historico", text(momento.relacao_com_historico));
  setList("fashionai_navegacoes_recentes", list(momento.navegacoes));
  setList("fashionai_oportunidades", list(momento.oportunidades));
  const novo = bool(momento.novo_comportamento);
  if (novo !== undefined) [out.hubspot.fashionai_novo_comportamento, out.klaviyo.fashionai_novo_comportamento] = [String(novo), novo];
  if (novo === true) {
    const event: Record<string, KValue> = {};
    const [resumo, oportunidades, navegacoes] = [text(momento.resumo_momento), list(momento.oportunidades), list(momento.navegacoes)];
    if (resumo !== undefined) event.resumo = resumo;
    if (oportunidades.length > 0) event.oportunidades = oportunidades;
    if (navegacoes.length > 0) event["navegações"] = navegacoes;
    out.event = event;
  }
  return out;
}

// ------------------------------------------------------------------------------ fixtures

const ALL_KEYS = [
  "fashionai_user_profile_id",
  "fashionai_descricao_geral",
  "fashionai_estilo_geral",
  "fashionai_tom_de_voz",
  "fashionai_direcao_visual",
  "fashionai_orientacao_campanhas",
  "fashionai_ganchos_conteudo",
  "fashionai_gancho_principal",
  "fashionai_ocasioes",
  "fashionai_ocasioes_detalhe",
  "fashionai_resumo_momento",
  "fashionai_relacao_com_historico",
  "fashionai_navegacoes_recentes",
  "fashionai_oportunidades",
  "fashionai_novo_comportamento",
  "fashionai_sincronizado_em",
] as const;
const DATA_KEYS = ALL_KEYS.filter((k) => k !== "fashionai_sincronizado_em");

/** HubSpot type / fieldType per key, from the schema table. */
const SCHEMA: Record<string, [string, string]> = {
  fashionai_user_profile_id: ["string", "text"],
  fashionai_descricao_geral: ["string", "textarea"],
  fashionai_estilo_geral: ["string", "textarea"],
  fashionai_tom_de_voz: ["enumeration", "checkbox"],
  fashionai_direcao_visual: ["string", "textarea"],
  fashionai_orientacao_campanhas: ["string", "textarea"],
  fashionai_ganchos_conteudo: ["string", "textarea"],
  fashionai_gancho_principal: ["string", "text"],
  fashionai_ocasioes: ["enumeration", "checkbox"],
  fashionai_ocasioes_detalhe: ["string", "textarea"],
  fashionai_resumo_momento: ["string", "textarea"],
  fashionai_relacao_com_historico: ["string", "textarea"],
  fashionai_navegacoes_recentes: ["string", "textarea"],
  fashionai_oportunidades: ["string", "textarea"],
  fashionai_novo_comportamento: ["bool", "booleancheckbox"],
  fashionai_sincronizado_em: ["datetime", "date"],
};

const EVENT_METRIC = "Fashion.AI Novo Comportamento";
const UPSERT = "/crm/v3/objects/contacts/batch/upsert";
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

interface Fixture {
  email: string;
  file: string;
  expected: Expected;
}

function loadFixtures(): Fixture[] {
  if (!HAS_SHARED) return [];
  const dir = join(SHARED_DIR, "fixtures", "profiles");
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { file: string; email: string }[];
  return index.map(({ file, email }) => ({
    email: email.trim().toLowerCase(),
    file,
    expected: expectedFor(JSON.parse(readFileSync(join(dir, file), "utf8"))),
  }));
}

/** value → label of every option the ten records need, first occurrence winning (as in PRODUCT.md). */
function expectedOptionLabels(fixtures: Fixture[], key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fixtures) for (const o of f.expected.options[key] ?? []) out[o.value] ??= o.label;
  return out;
}

const fashionaiProps = (props: Record<string, unknown> | undefined): Record<string, unknown> =>
  Object.fromEntries(Object.entries(props ?? {}).filter(([k]) => k.startsWith("fashionai_")));

const without = <T extends Record<string, unknown>>(o: T, key: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

const isSchemaWrite = (r: RecordedRequest) => r.path.startsWith("/crm/v3/properties") && (r.method === "POST" || r.method === "PATCH");

// ------------------------------------------------------------------------------ the check

const fixtures = loadFixtures();
const emails = fixtures.map((f) => f.email);

describe.skipIf(!HAS_SHARED)(`the ten shared sample profiles in one sync${HAS_SHARED ? "" : ` (${SKIP_SHARED_REASON})`}`, () => {
  let sb: Sandbox;
  const sync = (run: typeof runCli = runCli) => run(["sync", ...emails, "--json"], { ...sb.env, FASHIONAI_SYNC_RETRY_BASE_MS: "10" });
  const context = (run: CliRun) => `stdout: ${run.stdout.slice(0, 3000)}\nstderr: ${run.stderr.slice(0, 3000)}`;

  // Filled by the first run, compared by the second.
  let first: CliRun;
  let window1: [number, number];
  let hubspotRequests1 = 0;
  let klaviyoRequests1 = 0;
  let eventPosts1 = 0;

  beforeAll(async () => {
    sb = await startSandbox({ profilesDir: join(SHARED_DIR, "fixtures", "profiles") });
    window1 = [Date.now(), 0];
    first = await sync();
    window1[1] = Date.now();
    hubspotRequests1 = sb.hubspot.requests.length;
    klaviyoRequests1 = sb.klaviyo.requests.length;
    eventPosts1 = sb.klaviyo.eventPosts().length;
  }, 120_000);
  afterAll(async () => {
    await sb?.close();
  });

  it("the oracle covers ten distinct profiles, with and without novo_comportamento", () => {
    expect(fixtures).toHaveLength(10);
    expect(new Set(emails).size).toBe(10);
    const novo = fixtures.filter((f) => f.expected.event).length;
    expect(novo).toBeGreaterThan(0);
    expect(novo).toBeLessThan(10);
  });

  it("exits 0 and reports the ten as synced to both CRMs", () => {
    expect(first.code, context(first)).toBe(0);
    expect(first.json, context(first)).toBeDefined();
    expect(first.json.summary).toEqual({ requested: 10, synced: 10, not_found: 0, invalid: 0, failed: 0 });
    expect(first.json.results.map((r: { identifier: string }) => r.identifier).sort()).toEqual([...emails].sort());
    for (const r of first.json.results) {
      expect(r.status, r.identifier).toBe("synced");
      expect(r.connectors?.hubspot?.status, r.identifier).toBe("written");
      expect(r.connectors?.klaviyo?.status, r.identifier).toBe("written");
    }
  });

  it("sends ONE HubSpot batch upsert carrying the ten contacts by email", () => {
    const upserts = sb.hubspot.requests.filter((r) => r.method === "POST" && r.path === UPSERT);
    expect(upserts).toHaveLength(1);
    const inputs = (upserts[0]!.body as { inputs: { id: string; idProperty: string }[] }).inputs;
    expect(inputs).toHaveLength(10);
    expect(inputs.map((i) => i.id.toLowerCase()).sort()).toEqual([...emails].sort());
    for (const i of inputs) expect(i.idProperty).toBe("email");
    expect(sb.hubspot.contacts()).toHaveLength(10);
  });

  it.each(fixtures.map((f) => [f.file, f] as const))("HubSpot contact for %s holds exactly the PRODUCT.md values", (_file, f) => {
    const stored = fashionaiProps(sb.hubspot.contact(f.email)?.properties);
    for (const key of DATA_KEYS) {
      expect(stored[key], `${f.file}: HubSpot ${key}`).toBe(f.expected.hubspot[key]);
    }
    const at = stored.fashionai_sincronizado_em;
    expect(at, `${f.file}: HubSpot fashionai_sincronizado_em`).toMatch(ISO_UTC);
    expect(Date.parse(at as string)).toBeGreaterThanOrEqual(window1[0] - 1);
    expect(Date.parse(at as string)).toBeLessThanOrEqual(window1[1]);
    expect(Object.keys(stored).sort(), `${f.file}: no other fashionai_* key`).toEqual(
      [...Object.keys(f.expected.hubspot), "fashionai_sincronizado_em"].sort(),
    );
  });

  it.each(fixtures.map((f) => [f.file, f] as const))("Klaviyo profile for %s holds exactly the PRODUCT.md values, typed", (_file, f) => {
    const stored = fashionaiProps(sb.klaviyo.profile(f.email));
    for (const key of DATA_KEYS) {
      expect(stored[key], `${f.file}: Klaviyo ${key}`).toStrictEqual(f.expected.klaviyo[key]);
    }
    expect(stored.fashionai_sincronizado_em, `${f.file}: same sync time in both CRMs`).toBe(
      sb.hubspot.contact(f.email)?.properties.fashionai_sincronizado_em,
    );
    expect(Object.keys(stored).sort(), `${f.file}: no other fashionai_* key`).toEqual(
      [...Object.keys(f.expected.klaviyo), "fashionai_sincronizado_em"].sort(),
    );
  });

  it("creates the 16 properties in group fashionai with the schema table's types and the oracle's option labels", () => {
    expect(sb.hubspot.group("fashionai")?.label).toBe("Fashion.AI");
    for (const key of ALL_KEYS) {
      const p = sb.hubspot.property(key);
      expect(p, `property ${key}`).toBeDefined();
      expect([p!.type, p!.fieldType, p!.groupName], `property ${key}`).toEqual([...SCHEMA[key]!, "fashionai"]);
    }
    for (const key of ["fashionai_tom_de_voz", "fashionai_ocasioes"]) {
      const stored = Object.fromEntries(sb.hubspot.property(key)!.options.map((o) => [o.value, o.label]));
      expect(stored, `${key} options (value → label)`).toEqual(expectedOptionLabels(fixtures, key));
    }
  });

  it("records the Novo Comportamento event exactly for the profiles whose novo_comportamento is true", () => {
    const events = sb.klaviyo.events().filter((e) => e.metric === EVENT_METRIC);
    const withEvent = fixtures.filter((f) => f.expected.event);
    expect(events.map((e) => e.email).sort()).toEqual(withEvent.map((f) => f.email).sort());
    for (const f of withEvent) {
      const e = events.find((x) => x.email === f.email)!;
      expect(e.properties, `${f.file}: event properties`).toStrictEqual(f.expected.event);
      expect(e.uniqueId, `${f.file}: unique_id is sent, not Klaviyo's default`).not.toBe(e.time);
    }
    expect(sb.klaviyo.eventPosts().every((p) => p.uniqueIdSent)).toBe(true);
    expect(new Set(events.map((e) => e.uniqueId)).size).toBe(events.length);
  });

  it("sends only requests that the vendors' OpenAPI documents accept", async () => {
    expect(await specProblems("hubspot", sb.hubspot.requests)).toEqual([]);
    expect(await specProblems("klaviyo", sb.klaviyo.requests)).toEqual([]);
  });

  it("a second identical sync changes nothing and sends no new event", async () => {
    const contacts1 = sb.hubspot.contacts();
    const properties1 = sb.hubspot.properties();
    const groups1 = sb.hubspot.groupsList();
    const kprofiles1 = new Map(emails.map((e) => [e, sb.klaviyo.profile(e)!]));
    const events1 = sb.klaviyo.events();
    const stamps1 = new Map(emails.map((e) => [e, sb.hubspot.contact(e)!.properties.fashionai_sincronizado_em!]));

    const t0 = Date.now();
    const second = await sync(runMain); // in-process: the product keeps no state between runs but the CRMs
    const t1 = Date.now();
    expect(second.code, context(second)).toBe(0);
    expect(second.json?.summary, context(second)).toEqual({ requested: 10, synced: 10, not_found: 0, invalid: 0, failed: 0 });

    const hubspot2 = sb.hubspot.requests.slice(hubspotRequests1);
    const klaviyo2 = sb.klaviyo.requests.slice(klaviyoRequests1);

    // HubSpot: no new contact, no property/group/option created or changed, one upsert again.
    expect(sb.hubspot.contacts().map((c) => [c.id, c.email]).sort()).toEqual(contacts1.map((c) => [c.id, c.email]).sort());
    expect(hubspot2.filter(isSchemaWrite).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(sb.hubspot.properties()).toEqual(properties1);
    expect(sb.hubspot.groupsList()).toEqual(groups1);
    const upserts2 = hubspot2.filter((r) => r.method === "POST" && r.path === UPSERT);
    expect(upserts2).toHaveLength(1);
    expect((upserts2[0]!.body as { inputs: unknown[] }).inputs).toHaveLength(10);

    for (const c1 of contacts1) {
      const c2 = sb.hubspot.contact(c1.email)!;
      const [before, after] = [fashionaiProps(c1.properties), fashionaiProps(c2.properties)];
      expect(without(after, "fashionai_sincronizado_em"), `${c1.email}: HubSpot values`).toEqual(without(before, "fashionai_sincronizado_em"));
      const at = after.fashionai_sincronizado_em as string;
      expect(at).toMatch(ISO_UTC);
      expect(Date.parse(at)).toBeGreaterThanOrEqual(t0 - 1);
      expect(Date.parse(at)).toBeLessThanOrEqual(t1);
      expect(Date.parse(at)).toBeGreaterThanOrEqual(Date.parse(stamps1.get(c1.email)!));
    }

    // Klaviyo: same profiles, same values (the sync time aside), same events.
    expect(sb.klaviyo.profiles()).toHaveLength(10);
    for (const email of emails) {
      const [before, after] = [fashionaiProps(kprofiles1.get(email)), fashionaiProps(sb.klaviyo.profile(email))];
      expect(without(after, "fashionai_sincronizado_em"), `${email}: Klaviyo values`).toStrictEqual(without(before, "fashionai_sincronizado_em"));
      expect(after.fashionai_sincronizado_em).toBe(sb.hubspot.contact(email)!.properties.fashionai_sincronizado_em);
    }
    const events2 = sb.klaviyo.events();
    expect(events2.map((e) => [e.id, e.metric, e.email, e.uniqueId])).toEqual(events1.map((e) => [e.id, e.metric, e.email, e.uniqueId]));
    const knownIds = new Set(events1.map((e) => e.uniqueId));
    for (const p of sb.klaviyo.eventPosts().slice(eventPosts1)) expect(knownIds.has(p.uniqueId), `${p.email}: re-post with a new unique_id ${p.uniqueId}`).toBe(true);

    expect(await specProblems("hubspot", hubspot2)).toEqual([]);
    expect(await specProblems("klaviyo", klaviyo2)).toEqual([]);
  }, 120_000);
});
