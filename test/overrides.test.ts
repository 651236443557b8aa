// Mapping overrides (fashionai-sync.config.json): the file's validation and one-line errors, the field plan
// it resolves to, and what it changes end to end — what `sync` writes and `setup` creates in the HubSpot and
// Klaviyo stand-ins, the dry-run reads, doctor's schema check and the Inngest functions — through the real
// CLI (--config; a child process where the process boundary matters, main() in-process otherwise) and in-process. Without a file, everything stays PRODUCT.md's default.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InngestTestEngine } from "@inngest/test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { envRuntimeProvider, envSegmentsProvider, createInngest } from "../inngest.config.js";
import { mapToHubSpot } from "../connectors/hubspot/mapping.js";
import { hubspotPropertyDefinitions } from "../connectors/hubspot/schema.js";
import { mapToKlaviyo } from "../connectors/klaviyo/mapping.js";
import { NOVO_SEGMENT_NAME, TONE_SEGMENT_PREFIX } from "../connectors/shared/segments.js";
import { ConfigError, loadConfig } from "../src/config.js";
import { parseProfileBody } from "../src/fashionai/schema.js";
import { createSyncProfiles } from "../src/inngest/functions/sync-profiles.js";
import { createSyncSegments } from "../src/inngest/functions/sync-segments.js";
import { FIELD_KEYS } from "../src/mapping/fields.js";
import { DEFAULT_MAPPING_PLAN, buildFieldPlan, ownsHubSpotProperty, type MappingPlan } from "../src/mapping/plan.js";
import { createHubSpotWebhookHandler, signHubSpotV3, type SyncRequestEvent } from "../src/webhooks/hubspot.js";
import { silentLogger } from "../src/util/log.js";
import { loadMappingPlan, parseMappingConfig, relaxJson } from "../src/overrides/load.js";
import { CONFIG_ENV, configJsonSchema } from "../src/overrides/schema.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import type { SetupReport } from "../src/segments/setup.js";
import { CONFIG_SCHEMA_PATH, renderConfigSchema } from "../scripts/config-schema.js";
import { REPO_ROOT, runCli, runMain } from "./helpers/cli.js";
import { specProblems } from "./helpers/openapi.js";

const PROFILES_DIR = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
const EXAMPLE_PATH = join(REPO_ROOT, "fashionai-sync.config.example.jsonc");
const CAMILA = "camila.ferraz@example.com"; // tones: sofisticado, minimalista; novo_comportamento true
const ISABELA = "isabela.moura@example.com"; // tones: romântico, minimalista, sofisticado, acolhedor
const at = new Date("2025-01-31T12:00:00.000Z");

const dir = mkdtempSync(join(tmpdir(), "fashionai-overrides-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes an override file into the temp dir; returns its path. */
function configFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return path;
}

const plan = (content: unknown): MappingPlan => parseMappingConfig(typeof content === "string" ? content : JSON.stringify(content), "test.json");
const problem = (content: unknown): string => {
  try {
    plan(content);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a configuration error");
};

const profile = (p: Record<string, unknown>) => parseProfileBody(JSON.stringify({ userProfileId: "fp_1", profile: p })).profile;
const FULL = profile({
  perfil_cliente: { descricao_geral: "Advogada", estilo_geral: "Clássico" },
  briefing_marketing: { tom_de_voz: ["Elegante", "sofisticado", "Chique", "minimalista"], direcao_visual: ["Luz natural", "Paleta neutra"] },
  ganchos_conteudo: ["Cápsula", "Lã fria", "cápsula"],
  ocasioes_relevantes: [{ "ocasião": "Trabalho" }],
  momento_compra_atual: { resumo_momento: "Inverno", novo_comportamento: true, oportunidades: ["Casacos", "Lenços"] },
});

// ------------------------------------------------------------------------------------------ the file

describe("the override file", () => {
  it("missing at the default path: the defaults; missing when named explicitly: a configuration error", () => {
    const empty = mkdtempSync(join(dir, "cwd-"));
    expect(loadMappingPlan({}, { cwd: empty })).toBe(DEFAULT_MAPPING_PLAN);
    expect(loadConfig({}, { cwd: empty }).mapping).toBe(DEFAULT_MAPPING_PLAN);
    expect(() => loadMappingPlan({ [CONFIG_ENV]: "nope.json" }, { cwd: empty })).toThrow(/^nope\.json: no such file \(named by --config or FASHIONAI_SYNC_CONFIG\)$/);
    mkdirSync(join(empty, "adir"));
    expect(() => loadMappingPlan({ [CONFIG_ENV]: "adir" }, { cwd: empty })).toThrow(/^adir: is a directory/);
  });

  it("the default file in the working directory is read; FASHIONAI_SYNC_CONFIG names another", () => {
    const cwd = mkdtempSync(join(dir, "cwd-"));
    writeFileSync(join(cwd, "fashionai-sync.config.json"), JSON.stringify({ hubspot: { prefix: "fai_" } }));
    writeFileSync(join(cwd, "other.json"), JSON.stringify({ hubspot: { prefix: "other_" } }));
    expect(loadMappingPlan({}, { cwd }).hubspot.prefix).toBe("fai_");
    expect(loadMappingPlan({}, { cwd }).source).toBe("fashionai-sync.config.json");
    expect(loadMappingPlan({ [CONFIG_ENV]: "other.json" }, { cwd }).hubspot.prefix).toBe("other_");
  });

  it("{} (or a file that only restates the defaults) is exactly PRODUCT.md's schema", () => {
    for (const content of [{}, {
      hubspot: { prefix: "fashionai_", group: { name: "fashionai", label: "Fashion.AI" }, properties: { fashionai_tom_de_voz: { name: "fashionai_tom_de_voz", enabled: true, fieldType: "checkbox" } } },
      klaviyo: { prefix: "fashionai_" },
    }]) {
      const p = plan(content);
      expect(hubspotPropertyDefinitions(p.hubspot)).toEqual(hubspotPropertyDefinitions());
      expect(mapToHubSpot(FULL, { syncedAt: at }, p.hubspot)).toEqual(mapToHubSpot(FULL, { syncedAt: at }));
      expect(mapToKlaviyo(FULL, { syncedAt: at }, p.klaviyo)).toEqual(mapToKlaviyo(FULL, { syncedAt: at }));
    }
    expect(DEFAULT_MAPPING_PLAN.hubspot.fields.map((f) => f.name)).toEqual(FIELD_KEYS);
    expect(DEFAULT_MAPPING_PLAN.klaviyo.fields.map((f) => f.name)).toEqual(FIELD_KEYS);
    expect(buildFieldPlan("hubspot")).toEqual(DEFAULT_MAPPING_PLAN.hubspot);
  });

  it("a bad file is ONE line naming the file, the path inside it and what was expected", () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ hubspot: { properties: { fashionai_tom_de_voz: { name: "Tom de voz" } } } },
        /^test\.json: hubspot\.properties\.fashionai_tom_de_voz\.name: expected a HubSpot property name: lower-case letters a-z, digits and _, starting with a letter \(got "Tom de voz"\)$/],
      [{ hubspot: { properties: { fashionai_tom_de_voz: { name: "email" } } } }, /^test\.json: hubspot\.properties\.fashionai_tom_de_voz\.name: that is a standard HubSpot contact property/],
      [{ hubspot: { properties: { fashionai_tom_de_voz: { name: "hs_tone" } } } }, /hubspot\.properties\.fashionai_tom_de_voz\.name: names starting with hs_ are HubSpot's own/],
      [{ klaviyo: { properties: { fashionai_tom_de_voz: { name: "it's" } } } }, /^test\.json: klaviyo\.properties\.fashionai_tom_de_voz\.name: expected a Klaviyo property name/],
      [{ hubspot: { properties: { fashionai_tom_de_voz: { enabled: "no" } } } }, /hubspot\.properties\.fashionai_tom_de_voz\.enabled: expected true or false \(got "no"\)$/],
      [{ hubspot: { properties: { fashionai_tom: {} } } }, /^test\.json: hubspot\.properties\.fashionai_tom: unknown field; expected a default key such as fashionai_tom_de_voz/],
      [{ hubspot: { propertes: {} } }, /^test\.json: hubspot\.propertes: unknown setting; expected one of prefix, properties, segments, toneSynonyms, group$/],
      [{ klaviyo: { group: { name: "x", label: "X" } } }, /^test\.json: klaviyo\.group: unknown setting/],
      [{ hubspot: { properties: { fashionai_estilo_geral: { fieldType: "checkbox" } } } },
        /^test\.json: hubspot\.properties\.fashionai_estilo_geral\.fieldType: fieldType is only for the list fields/],
      [{ hubspot: { properties: { fashionai_direcao_visual: { fieldType: "list" } } } },
        /hubspot\.properties\.fashionai_direcao_visual\.fieldType: expected "checkbox" or "textarea" \(got "list"\)$/],
      [{ hubspot: { prefix: "Fashion-" } }, /^test\.json: hubspot\.prefix: expected a HubSpot name prefix/],
      [{ hubspot: { group: { name: "fashionai" } } }, /^test\.json: hubspot\.group\.label: expected the label people see, as text \(got nothing\)$/],
      [{ segments: { toneCap: 1000 } }, /^test\.json: segments\.toneCap: expected a whole number from 0 to 500 \(got 1000\)$/],
      [{ klaviyo: { segments: { toneCap: 2.5 } } }, /^test\.json: klaviyo\.segments\.toneCap: expected a whole number from 0 to 500 \(got 2\.5\)$/],
      [{ toneSynonyms: { elegante: 3 } }, /^test\.json: toneSynonyms\.elegante: expected the tone value to fold into, as text \(got 3\)$/],
      [{ toneSynonyms: { "!!": "sofisticado" } }, /^test\.json: toneSynonyms\["!!"\]: the tone value "!!" has no letters or digits to match$/],
      [{ toneSynonyms: { a: "b", B: "a" } }, /^test\.json: toneSynonyms\.\w: the synonyms form a loop/],
      [{ hubspot: { properties: { fashionai_ocasioes: { name: "fashionai_tom_de_voz" } } } },
        /^test\.json: hubspot\.properties\.fashionai_ocasioes\.name: "fashionai_tom_de_voz" is also the property name of fashionai_tom_de_voz; each field needs its own name$/],
      [[], /^test\.json: top level: expected one JSON object/],
      ["{\n  \"hubspot\": {\n    \"prefix\": \"fai_\"\n    \"group\": {} }\n}", /^test\.json: not valid JSON: .* at line 4, column 5$/],
      ["", /^test\.json: not valid JSON: the file is empty/],
    ];
    for (const [content, expected] of cases) {
      const message = problem(content);
      expect(message, JSON.stringify(content)).toMatch(expected);
      expect(message).not.toContain("\n");
    }
    // Several problems: the first, and how many more.
    expect(problem({ hubspot: { prefix: 1, group: 2 } })).toMatch(/^test\.json: hubspot\.prefix: expected text \(got 1\) \(and 1 more problem\)$/);
  });

  it("accepts comments and trailing commas, keeping error positions right", () => {
    const text = "{\n  // a comment\n  \"hubspot\": { /* inline */ \"prefix\": \"fai_\", },\n  \"url\": \"http://x//y\",\n}";
    expect(relaxJson(text)).toHaveLength(text.length);
    expect(problem(text)).toMatch(/^test\.json: url: unknown setting/);
    expect(plan(text.replace(/\n  "url".*\n/, "\n")).hubspot.prefix).toBe("fai_");
  });

  it("the annotated example is valid, and so is the JSON Schema's verdict on it", () => {
    const text = readFileSync(EXAMPLE_PATH, "utf8");
    const p = plan(text);
    expect(p.hubspot.fields.find((f) => f.key === "fashionai_tom_de_voz")?.name).toBe("tom_de_voz_marca");
    expect(p.klaviyo.toneSynonyms.get("chique")).toEqual({ value: "sofisticado", label: "sofisticado" });
    const ajv = new Ajv2020({ allErrors: true });
    const validate = ajv.compile(configJsonSchema());
    expect(validate(JSON.parse(relaxJson(text))), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ hubspot: { properties: { fashionai_tom_de_voz: { name: "Tom de voz" } } } })).toBe(false);
    expect(validate({ hubspot: { properties: { fashionai_estilo_geral: { fieldType: "checkbox" } } } })).toBe(false);
    expect(validate({ klaviyo: { group: { name: "x", label: "y" } } })).toBe(false);
  });

  it("fashionai-sync.config.schema.json is up to date with the zod schema (run `npm run config-schema` when this fails)", () => {
    expect(readFileSync(CONFIG_SCHEMA_PATH, "utf8"), "fashionai-sync.config.schema.json is stale: run `npm run config-schema`").toBe(renderConfigSchema());
  });
});

// -------------------------------------------------------------------------------------- the mappings

describe("the field plan in the mappings", () => {
  const ctx = { syncedAt: at };

  it("renames and disables per connector", () => {
    const p = plan({
      hubspot: { properties: { fashionai_tom_de_voz: { name: "tom_marca" }, fashionai_estilo_geral: { enabled: false } } },
      klaviyo: { properties: { fashionai_tom_de_voz: { name: "Tom de voz" }, fashionai_resumo_momento: { enabled: false } } },
    });
    const hs = mapToHubSpot(FULL, ctx, p.hubspot);
    expect(hs.properties.tom_marca).toBe("elegante;sofisticado;chique;minimalista");
    expect(hs.options.tom_marca?.map((o) => o.value)).toEqual(["elegante", "sofisticado", "chique", "minimalista"]);
    expect(hs.properties).not.toHaveProperty("fashionai_tom_de_voz");
    expect(hs.properties).not.toHaveProperty("fashionai_estilo_geral");
    expect(hs.properties.fashionai_resumo_momento).toBe("Inverno");
    const kl = mapToKlaviyo(FULL, ctx, p.klaviyo);
    expect(kl.properties["Tom de voz"]).toEqual(["elegante", "sofisticado", "chique", "minimalista"]);
    expect(kl.properties).not.toHaveProperty("fashionai_resumo_momento");
    expect(kl.properties.fashionai_estilo_geral).toBe("Clássico");
    // The event is not a property: it still follows novo_comportamento when that property is off.
    const off = plan({ klaviyo: { properties: { fashionai_novo_comportamento: { enabled: false } } } });
    const k2 = mapToKlaviyo(FULL, ctx, off.klaviyo);
    expect(k2.properties).not.toHaveProperty("fashionai_novo_comportamento");
    expect(k2.event?.metric).toBe("Fashion.AI Novo Comportamento");
  });

  it("a disabled field's warnings are not reported", () => {
    const bad = profile({ briefing_marketing: { tom_de_voz: ["!!!", "ousado"] } });
    expect(mapToHubSpot(bad, ctx).warnings.join()).toMatch(/^fashionai_tom_de_voz: dropped item "!!!"/);
    expect(mapToHubSpot(bad, ctx, plan({ hubspot: { properties: { fashionai_tom_de_voz: { enabled: false } } } }).hubspot).warnings).toEqual([]);
  });

  it("synonyms fold tone values (matched on the slug) before options are made, in both CRMs", () => {
    const p = plan({ toneSynonyms: { " ELEGANTE ": "Sofisticado", chique: "elegante" } });
    expect(mapToHubSpot(FULL, ctx, p.hubspot).properties.fashionai_tom_de_voz).toBe("sofisticado;minimalista");
    expect(mapToHubSpot(FULL, ctx, p.hubspot).options.fashionai_tom_de_voz).toEqual([
      { value: "sofisticado", label: "sofisticado" }, { value: "minimalista", label: "minimalista" },
    ]);
    expect(mapToKlaviyo(FULL, ctx, p.klaviyo).properties.fashionai_tom_de_voz).toEqual(["sofisticado", "minimalista"]);
    // A connector's own table adds to the shared one (and may cancel an entry by folding a value into itself).
    const own = plan({ toneSynonyms: { elegante: "sofisticado" }, klaviyo: { toneSynonyms: { elegante: "elegante", minimalista: "clean" } } });
    expect(mapToHubSpot(FULL, ctx, own.hubspot).properties.fashionai_tom_de_voz).toBe("sofisticado;chique;minimalista");
    expect(mapToKlaviyo(FULL, ctx, own.klaviyo).properties.fashionai_tom_de_voz).toEqual(["elegante", "sofisticado", "chique", "clean"]);
  });

  it("prefix and group", () => {
    const p = plan({ hubspot: { prefix: "fai_", group: { name: "marca", label: "Marca" }, properties: { fashionai_tom_de_voz: { name: "tom" } } }, klaviyo: { prefix: "FAI." } });
    const defs = hubspotPropertyDefinitions(p.hubspot);
    expect(defs.map((d) => d.name)).toEqual(FIELD_KEYS.map((k) => (k === "fashionai_tom_de_voz" ? "tom" : k.replace(/^fashionai_/, "fai_"))));
    expect(new Set(defs.map((d) => d.groupName))).toEqual(new Set(["marca"]));
    expect(Object.keys(mapToHubSpot(FULL, ctx, p.hubspot).properties)).toContain("fai_estilo_geral");
    expect(Object.keys(mapToKlaviyo(FULL, ctx, p.klaviyo).properties)).toContain("FAI.estilo_geral");
  });

  it("a list field as textarea or checkbox", () => {
    const p = plan({
      hubspot: { properties: { fashionai_tom_de_voz: { fieldType: "textarea" }, fashionai_ganchos_conteudo: { fieldType: "checkbox" } } },
      klaviyo: { properties: { fashionai_oportunidades: { fieldType: "textarea" }, fashionai_ganchos_conteudo: { fieldType: "checkbox" } } },
    });
    const defs = new Map(hubspotPropertyDefinitions(p.hubspot).map((d) => [d.name, d]));
    expect(defs.get("fashionai_tom_de_voz")).toMatchObject({ type: "string", fieldType: "textarea" });
    expect(defs.get("fashionai_tom_de_voz")?.options).toBeUndefined();
    expect(defs.get("fashionai_ganchos_conteudo")).toMatchObject({ type: "enumeration", fieldType: "checkbox", options: [] });
    const hs = mapToHubSpot(FULL, ctx, p.hubspot);
    expect(hs.properties.fashionai_tom_de_voz).toBe("elegante\nsofisticado\nchique\nminimalista");
    expect(hs.options).not.toHaveProperty("fashionai_tom_de_voz");
    // Checkbox options follow the slug rules: "cápsula" and "Cápsula" are one option, labels keep their case.
    expect(hs.properties.fashionai_ganchos_conteudo).toBe("capsula;la_fria");
    expect(hs.options.fashionai_ganchos_conteudo).toEqual([{ value: "capsula", label: "Cápsula" }, { value: "la_fria", label: "Lã fria" }]);
    const kl = mapToKlaviyo(FULL, ctx, p.klaviyo);
    expect(kl.properties.fashionai_oportunidades).toBe("Casacos\nLenços");
    expect(kl.properties.fashionai_ganchos_conteudo).toEqual(["Cápsula", "Lã fria"]);
    // Default Klaviyo text lists stay arrays (exact duplicates only dropped).
    expect(mapToKlaviyo(FULL, ctx).properties.fashionai_ganchos_conteudo).toEqual(["Cápsula", "Lã fria", "cápsula"]);
  });

  it("long free text as checkbox options: values cut to 100 characters, with a warning", () => {
    const long = "Campanha de inverno com foco em peças atemporais de alfaiataria e tecidos nobres para a cliente que compra pouco e bem";
    const p = plan({ hubspot: { properties: { fashionai_orientacao_campanhas: { fieldType: "checkbox" } } } });
    const m = mapToHubSpot(profile({ briefing_marketing: { orientacao_campanhas: [long, long + " — segunda versão", "Curta"] } }), ctx, p.hubspot);
    const opts = m.options.fashionai_orientacao_campanhas!;
    expect(opts.map((o) => o.value.length <= 100)).toEqual([true, true]);
    expect(opts[0]!.label).toBe(long);
    expect(m.warnings.join("\n")).toMatch(/fashionai_orientacao_campanhas: 2 items are too long for a checkbox option value/);
  });
});

// ---------------------------------------------------------------------------------- end to end (CLI)

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ profilesDir: PROFILES_DIR });
});
afterAll(async () => {
  await sb?.close();
});
beforeEach(() => sb.reset());

const env = (extra: Record<string, string> = {}) => ({ ...sb.env, FASHIONAI_KLAVIYO_SEGMENT_RATE: "off", FASHIONAI_SYNC_RETRY_BASE_MS: "20", ...extra });

/** The file of the "done when": one property renamed, another turned off, in both CRMs. */
const RENAME_AND_DISABLE = {
  hubspot: { properties: { fashionai_tom_de_voz: { name: "tom_de_voz_marca" }, fashionai_estilo_geral: { enabled: false } } },
  klaviyo: { properties: { fashionai_tom_de_voz: { name: "tom_de_voz_marca" }, fashionai_estilo_geral: { enabled: false } } },
};

describe("sync and setup with an override file (CLI, --config)", () => {
  it("sync writes the renamed property, not the default one, and not the disabled one, in both CRMs", async () => {
    const file = configFile("rename.json", RENAME_AND_DISABLE);
    const run = await runCli(["sync", CAMILA, ISABELA, "--json", "--config", file], env()); // the real binary
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.results[0].connectors.hubspot.properties).toHaveProperty("tom_de_voz_marca", "sofisticado;minimalista");

    const hs = sb.hubspot.contact(CAMILA)!.properties;
    expect(hs.tom_de_voz_marca).toBe("sofisticado;minimalista");
    expect(hs).not.toHaveProperty("fashionai_tom_de_voz");
    expect(hs).not.toHaveProperty("fashionai_estilo_geral");
    expect(hs.fashionai_descricao_geral).toBeTruthy();
    expect(sb.hubspot.property("tom_de_voz_marca")).toMatchObject({ type: "enumeration", fieldType: "checkbox", groupName: "fashionai" });
    expect(sb.hubspot.property("fashionai_tom_de_voz")).toBeUndefined();
    expect(sb.hubspot.property("fashionai_estilo_geral")).toBeUndefined();

    const kl = sb.klaviyo.profile(CAMILA)!;
    expect(kl.tom_de_voz_marca).toEqual(["sofisticado", "minimalista"]);
    expect(kl).not.toHaveProperty("fashionai_tom_de_voz");
    expect(kl).not.toHaveProperty("fashionai_estilo_geral");
    expect(await specProblems("hubspot", sb.hubspot.requests)).toEqual([]);

    // A dry run reads the renamed properties back: nothing would change but the sync time.
    const dry = await runMain(["sync", CAMILA, "--dry-run", "--json", "--config", file], env());
    expect(dry.code, dry.stderr).toBe(0);
    for (const crm of ["hubspot", "klaviyo"]) {
      const c = dry.json.results[0].connectors[crm];
      expect(c.exists).toBe(true);
      expect(c.unchanged).toContain("tom_de_voz_marca");
      expect(Object.keys(c.diff)).toEqual(["fashionai_sincronizado_em"]);
    }
  });

  it("setup creates the renamed properties and lists/segments filtered on the renamed property", async () => {
    const file = configFile("rename.json", RENAME_AND_DISABLE);
    expect((await runMain(["sync", CAMILA, ISABELA, "--config", file], env())).code).toBe(0);
    const run = await runMain(["setup", "--json", "--config", file], env());
    expect(run.code, run.stderr).toBe(0);
    const report = run.json as SetupReport;
    expect(report.tones.segmented.map((t) => t.value)).toEqual(["sofisticado", "minimalista", "romantico", "acolhedor"]);
    expect(report.summary).toMatchObject({ created: 10, conflicts: 0, failed: 0 });

    const list = sb.hubspot.list(`${TONE_SEGMENT_PREFIX}sofisticado`)!;
    expect(JSON.stringify(list.filterBranch)).toContain('"property":"tom_de_voz_marca"');
    expect(JSON.stringify(list.filterBranch)).not.toContain("fashionai_tom_de_voz");
    expect(sb.hubspot.listMembers(`${TONE_SEGMENT_PREFIX}minimalista`).sort()).toEqual([CAMILA, ISABELA]);
    const segment = sb.klaviyo.segment(`${TONE_SEGMENT_PREFIX}sofisticado`)!;
    expect(JSON.stringify(segment.definition)).toContain("properties['tom_de_voz_marca']");
    expect(sb.klaviyo.segmentMembers(`${TONE_SEGMENT_PREFIX}minimalista`).sort()).toEqual([CAMILA, ISABELA]);
    expect(await specProblems("hubspot", sb.hubspot.requests)).toEqual([]);
    expect(await specProblems("klaviyo", sb.klaviyo.requests)).toEqual([]);

    // Idempotent under the same file.
    const again = await runMain(["setup", "--json", "--config", file], env());
    expect((again.json as SetupReport).summary).toMatchObject({ created: 0, unchanged: 10 });
  });

  it("setup on a fresh account creates the renamed schema: properties in the plan, not the disabled one", async () => {
    const file = configFile("rename.json", RENAME_AND_DISABLE);
    const run = await runMain(["setup", "--to", "hubspot", "--json", "--config", file], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.schema.hubspot.propertiesCreated).toHaveLength(15);
    expect(run.json.schema.hubspot.propertiesCreated).toContain("tom_de_voz_marca");
    expect(run.json.schema.hubspot.propertiesCreated).not.toContain("fashionai_estilo_geral");
    expect(sb.hubspot.property("tom_de_voz_marca")?.type).toBe("enumeration");
    expect(sb.hubspot.property("fashionai_estilo_geral")).toBeUndefined();
    expect(sb.hubspot.list(NOVO_SEGMENT_NAME)).toBeDefined();
  });

  it("a broken file: one line naming the file and the bad path, exit 2, nothing written", async () => {
    const file = configFile("broken.json", { hubspot: { properties: { fashionai_tom_de_voz: { name: "Tom de voz" } } } });
    const commands = [["sync", CAMILA], ["setup"], ["doctor"], ["sync", CAMILA, "--dry-run"], ["backfill", "--source", "hubspot", "--local"]];
    // The first through the real binary (its exit status and whole stderr), the others in-process.
    const runs = await Promise.all(commands.map((args, i) => (i === 0 ? runCli : runMain)([...args, "--config", file], env())));
    for (const [i, run] of runs.entries()) {
      expect(run.code, commands[i]!.join(" ")).toBe(2);
      const lines = run.stderr.trim().split("\n");
      expect(lines, run.stderr).toHaveLength(1);
      expect(lines[0]).toBe(
        `configuration error: ${file}: hubspot.properties.fashionai_tom_de_voz.name: expected a HubSpot property name: ` +
          `lower-case letters a-z, digits and _, starting with a letter (got "Tom de voz")`,
      );
    }
    const [viaEnv, missing, noValue] = await Promise.all([
      runMain(["sync", CAMILA], env({ FASHIONAI_SYNC_CONFIG: file })),
      runMain(["sync", CAMILA, "--config", join(dir, "missing.json")], env()),
      runMain(["sync", CAMILA, "--config"], env()),
    ]);
    expect(viaEnv.code).toBe(2);
    expect(viaEnv.stderr).toContain("hubspot.properties.fashionai_tom_de_voz.name");
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^configuration error: .*missing\.json: no such file/);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toMatch(/^usage error: --config needs the path/);
    expect(sb.hubspot.contacts()).toEqual([]);
    expect(sb.klaviyo.profiles()).toEqual([]);
  });

  it("--config wins over FASHIONAI_SYNC_CONFIG, and works before the command name too", async () => {
    const good = configFile("prefix.json", { hubspot: { prefix: "fai_" }, klaviyo: { prefix: "fai_" } });
    const broken = configFile("broken2.json", "{ nope");
    const run = await runMain(["--config", good, "sync", CAMILA], env({ FASHIONAI_SYNC_CONFIG: broken }));
    expect(run.code, run.stderr).toBe(0);
    expect(sb.hubspot.contact(CAMILA)!.properties.fai_tom_de_voz).toBe("sofisticado;minimalista");
  });

  it("synonyms fold elegante into sofisticado in both CRMs and in the segments", async () => {
    // Two customers whose tone says elegante (one also chique); the table folds both into sofisticado.
    const body = (tones: string[]) => ({ userProfileId: `fp_${tones.join("")}`, profile: { briefing_marketing: { tom_de_voz: tones } } });
    sb.fashionai.addProfile({ email: "ana@example.com" }, body(["Elegante", "ousado"]));
    sb.fashionai.addProfile({ email: "bia@example.com" }, body(["chique", "elegante "]));
    const file = configFile("synonyms.json", { toneSynonyms: { elegante: "sofisticado", chique: "elegante" } });
    const sync = await runMain(["sync", "ana@example.com", "bia@example.com", CAMILA, "--config", file], env());
    expect(sync.code, sync.stderr).toBe(0);
    expect(sb.hubspot.contact("ana@example.com")!.properties.fashionai_tom_de_voz).toBe("sofisticado;ousado");
    expect(sb.hubspot.contact("bia@example.com")!.properties.fashionai_tom_de_voz).toBe("sofisticado");
    expect(sb.klaviyo.profile("ana@example.com")!.fashionai_tom_de_voz).toEqual(["sofisticado", "ousado"]);
    expect(sb.klaviyo.profile("bia@example.com")!.fashionai_tom_de_voz).toEqual(["sofisticado"]);
    expect(sb.hubspot.property("fashionai_tom_de_voz")!.options.map((o) => o.value).sort()).toEqual(["minimalista", "ousado", "sofisticado"]);

    const setup = await runMain(["setup", "--json", "--config", file], env());
    expect(setup.code, setup.stderr).toBe(0);
    const names = sb.hubspot.lists().map((l) => l.name);
    expect(names).not.toContain(`${TONE_SEGMENT_PREFIX}elegante`);
    expect(names).not.toContain(`${TONE_SEGMENT_PREFIX}chique`);
    expect(sb.hubspot.listMembers(`${TONE_SEGMENT_PREFIX}sofisticado`).sort()).toEqual(["ana@example.com", "bia@example.com", CAMILA]);
    expect(sb.klaviyo.segmentMembers(`${TONE_SEGMENT_PREFIX}sofisticado`).sort()).toEqual(["ana@example.com", "bia@example.com", CAMILA]);
    expect(sb.klaviyo.segments().map((s) => s.name).sort()).toEqual(names.sort());
  });

  it("setup folds tone values already in the CRMs (synced before the table) into their target: no segment of their own", async () => {
    sb.fashionai.addProfile({ email: "ana@example.com" }, { userProfileId: "fp_ana", profile: { briefing_marketing: { tom_de_voz: ["elegante"] } } });
    expect((await runMain(["sync", "ana@example.com", CAMILA], env())).code).toBe(0); // no file: elegante is an option
    const file = configFile("synonyms-late.json", { toneSynonyms: { elegante: "sofisticado" } });
    const setup = await runMain(["setup", "--json", "--config", file], env());
    expect(setup.code, setup.stderr).toBe(0);
    expect((setup.json as SetupReport).tones.segmented.map((t) => t.value)).toEqual(["sofisticado", "minimalista"]);
    expect(sb.hubspot.list(`${TONE_SEGMENT_PREFIX}elegante`)).toBeUndefined();
    expect(sb.klaviyo.segment(`${TONE_SEGMENT_PREFIX}elegante`)).toBeUndefined();
  });

  it("prefix and group change what sync creates", async () => {
    const file = configFile("group.json", { hubspot: { prefix: "fai_", group: { name: "marca_ai", label: "Marca AI" } }, klaviyo: { prefix: "fai_" } });
    const run = await runMain(["sync", CAMILA, "--config", file], env());
    expect(run.code, run.stderr).toBe(0);
    expect(sb.hubspot.group("marca_ai")).toMatchObject({ label: "Marca AI" });
    expect(sb.hubspot.group("fashionai")).toBeUndefined();
    const ours = sb.hubspot.properties().filter((p) => p.groupName === "marca_ai").map((p) => p.name);
    expect(ours.sort()).toEqual(FIELD_KEYS.map((k) => k.replace(/^fashionai_/, "fai_")).sort());
    expect(sb.klaviyo.profile(CAMILA)!.fai_tom_de_voz).toEqual(["sofisticado", "minimalista"]);
    const setup = await runMain(["setup", "--dry-run", "--config", file], env());
    expect(setup.stdout).toContain("HubSpot schema: unchanged");
  });

  it("textarea vs checkbox for list fields, end to end", async () => {
    const file = configFile("forms.json", {
      hubspot: { properties: { fashionai_tom_de_voz: { fieldType: "textarea" }, fashionai_ganchos_conteudo: { fieldType: "checkbox" } } },
      klaviyo: { properties: { fashionai_ganchos_conteudo: { fieldType: "textarea" } } },
    });
    const run = await runMain(["sync", CAMILA, "--config", file], env());
    expect(run.code, run.stderr).toBe(0);
    expect(sb.hubspot.property("fashionai_tom_de_voz")).toMatchObject({ type: "string", fieldType: "textarea" });
    expect(sb.hubspot.contact(CAMILA)!.properties.fashionai_tom_de_voz).toBe("sofisticado\nminimalista");
    const ganchos = sb.hubspot.property("fashionai_ganchos_conteudo")!;
    expect(ganchos).toMatchObject({ type: "enumeration", fieldType: "checkbox" });
    const held = sb.hubspot.contact(CAMILA)!.properties.fashionai_ganchos_conteudo!.split(";");
    expect(held.length).toBeGreaterThan(0);
    expect(ganchos.options.map((o) => o.value)).toEqual(expect.arrayContaining(held));
    expect(typeof sb.klaviyo.profile(CAMILA)!.fashionai_ganchos_conteudo).toBe("string");

    // Tone as text in HubSpot: no HubSpot tone lists (they filter on options), said in the report; Klaviyo keeps its own.
    const setup = await runMain(["setup", "--json", "--config", file], env());
    expect(setup.code, setup.stderr).toBe(0);
    const report = setup.json as SetupReport;
    expect(report.warnings.join("\n")).toMatch(/HubSpot: fashionai_tom_de_voz is written as a textarea/);
    expect(report.segments.filter((s) => s.crm === "hubspot").map((s) => s.key)).toEqual(["novo-comportamento"]);
    expect(report.segments.filter((s) => s.crm === "klaviyo").map((s) => s.key).sort()).toEqual(["novo-comportamento", "tom-de-voz:minimalista", "tom-de-voz:sofisticado"]);
  });

  it("segments.toneCap per CRM; --cap wins over the file", async () => {
    const file = configFile("caps.json", { segments: { toneCap: 3 }, klaviyo: { segments: { toneCap: 1 } } });
    expect((await runMain(["sync", CAMILA, ISABELA, "--config", file], env())).code).toBe(0);
    const run = await runMain(["setup", "--dry-run", "--json", "--config", file], env());
    const report = run.json as SetupReport;
    expect(report.caps).toEqual({ hubspot: 3, klaviyo: 1 });
    expect(report.segments.filter((s) => s.crm === "hubspot")).toHaveLength(4);
    expect(report.segments.filter((s) => s.crm === "klaviyo")).toHaveLength(2);
    expect(report.warnings.join("\n")).toMatch(/^Klaviyo: 3 tone values are past the cap of 1/m);
    const flag = await runMain(["setup", "--dry-run", "--json", "--cap", "2", "--config", file], env());
    expect((flag.json as SetupReport).caps).toBeUndefined();
    expect((flag.json as SetupReport).cap).toBe(2);
  });
});

describe("doctor and the Inngest functions with an override file", () => {
  it("doctor checks the renamed schema and names the file", async () => {
    const file = configFile("rename.json", RENAME_AND_DISABLE);
    sb.hubspot.addProperty({ name: "tom_de_voz_marca", type: "string", fieldType: "text" }); // in the way: another type
    const run = await runMain(["doctor", "--json", "--config", file], env({ INNGEST_DEV: "1" }));
    expect(run.code).toBe(2);
    const names = run.json.schema.hubspot.properties.map((p: { name: string }) => p.name);
    expect(names).toContain("tom_de_voz_marca");
    expect(names).not.toContain("fashionai_tom_de_voz");
    expect(names).not.toContain("fashionai_estilo_geral");
    expect(run.json.checks).toContainEqual(expect.objectContaining({ check: "property tom_de_voz_marca", status: "error" }));
    const mapping = run.json.checks.find((c: { check: string }) => c.check === "mapping");
    expect(mapping.message).toContain(file);
    expect(mapping.message).toContain("fashionai_tom_de_voz → tom_de_voz_marca");
  });

  it("sync-profiles and sync-segments load the file named by FASHIONAI_SYNC_CONFIG at runtime", async () => {
    const file = configFile("rename.json", RENAME_AND_DISABLE);
    const e = env({ FASHIONAI_SYNC_CONFIG: file });
    const inngest = createInngest({ INNGEST_DEV: "1" });
    const sync = new InngestTestEngine({ function: createSyncProfiles(inngest, envRuntimeProvider(e)) });
    const { result, error } = await sync.execute({ events: [{ name: "fashionai/profile.sync.requested", data: { identifier: CAMILA } }] });
    expect(error).toBeUndefined();
    // (The result's shape is sync-profiles' business — one record or a batch; what matters is what the CRMs hold.)
    expect(JSON.stringify(result)).toContain('"status":"synced"');
    expect(sb.hubspot.contact(CAMILA)!.properties.tom_de_voz_marca).toBe("sofisticado;minimalista");
    expect(sb.klaviyo.profile(CAMILA)!.tom_de_voz_marca).toEqual(["sofisticado", "minimalista"]);
    expect(sb.hubspot.contact(CAMILA)!.properties).not.toHaveProperty("fashionai_estilo_geral");

    const segments = new InngestTestEngine({ function: createSyncSegments(inngest, envSegmentsProvider(e), { klaviyoPaceMs: 0 }) });
    const run = await segments.execute({ events: [{ name: "fashionai/segments.sync.requested", data: {} }] });
    expect(run.error).toBeUndefined();
    expect(JSON.stringify(sb.hubspot.list(`${TONE_SEGMENT_PREFIX}sofisticado`)!.filterBranch)).toContain("tom_de_voz_marca");
    expect(JSON.stringify(sb.klaviyo.segment(`${TONE_SEGMENT_PREFIX}sofisticado`)!.definition)).toContain("tom_de_voz_marca");
  });

  it("the HubSpot webhook ignores changes to the renamed properties too (they are this service's own writes)", async () => {
    const owns = ownsHubSpotProperty(plan(RENAME_AND_DISABLE).hubspot);
    expect(["tom_de_voz_marca", "fashionai_descricao_geral", "fashionai_tom_de_voz"].map(owns)).toEqual([true, true, true]);
    expect(["firstname", "email", "tom"].map(owns)).toEqual([false, false, false]);
    const sent: SyncRequestEvent[] = [];
    const secret = "client-secret";
    const url = "https://sync.example.com/webhooks/hubspot";
    const now = 1_790_000_000_000;
    const handler = createHubSpotWebhookHandler({
      secret, publicUrl: url, now: () => now, log: silentLogger, ownProperty: owns,
      send: async (events) => void sent.push(...events),
      lookupEmails: async (ids) => new Map(ids.map((id) => [id, `c${id}@example.com`])),
    });
    const note = (propertyName: string, eventId: number) => ({
      subscriptionType: "contact.propertyChange", objectId: eventId, propertyName, propertyValue: "x", eventId, portalId: 1, occurredAt: now - 10,
    });
    const body = JSON.stringify([note("tom_de_voz_marca", 1), note("firstname", 2)]);
    const ts = String(now);
    const reply = await handler({
      method: "POST", url: "/webhooks/hubspot", body: Buffer.from(body),
      headers: { "x-hubspot-signature-v3": signHubSpotV3(secret, "POST", url, body, ts), "x-hubspot-request-timestamp": ts },
    });
    expect(reply.status).toBe(200);
    expect(sent.map((e) => e.data.identifier)).toEqual(["c2@example.com"]);
  });

  it("the demo without a file keeps the defaults", async () => {
    // The demo honours --config too; with no file it shows PRODUCT.md's names.
    const run = await runMain(["demo"], {});
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("fashionai_tom_de_voz");
    expect(run.stdout).toContain("group fashionai");
  });
});
