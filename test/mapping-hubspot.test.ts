import { readFileSync, readdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { joinOptionValues, mapToHubSpot } from "../connectors/hubspot/mapping.js";
import {
  HUBSPOT_BOOL_OPTIONS,
  HUBSPOT_GROUP,
  hubspotOptionInputs,
  hubspotPropertyDefinitions,
} from "../connectors/hubspot/schema.js";
import { parseProfileBody } from "../src/fashionai/schema.js";
import { FIELDS, FIELD_KEYS } from "../src/mapping/fields.js";
import { HUBSPOT_MAX_LENGTH } from "../src/mapping/text.js";
import type { ParsedProfile } from "../src/profile/types.js";
import { HAS_SHARED, SHARED_DIR, SKIP_SHARED_REASON } from "./helpers/shared.js";
import { ctx, profileWith, nfcKeys } from "./helpers/profiles.js";

const SHARED = pathToFileURL(`${SHARED_DIR}/`);
const OWN_FIXTURES = new URL("../fixtures/profiles/", import.meta.url);

interface Case {
  name: string;
  responses: { status: number; body?: unknown; bodyText?: string }[];
  expect: {
    hubspot?: Record<string, string>;
    hubspotAbsent?: string[];
    hubspotMaxLen?: Record<string, number>;
    warnings?: boolean;
  };
}

function loadCases(): [string, Case, ParsedProfile][] {
  if (!HAS_SHARED) return [];
  const dir = new URL("cases/", SHARED);
  const out: [string, Case, ParsedProfile][] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    const c = JSON.parse(readFileSync(new URL(file, dir), "utf8")) as Case;
    const ok = c.responses.find((r) => r.status === 200);
    if (ok === undefined) continue;
    let body: unknown;
    try {
      body = ok.body ?? JSON.parse(ok.bodyText ?? "");
    } catch {
      continue; // not JSON (the HTML page case): never reaches mapping
    }
    out.push([file, c, nfcKeys(body) as ParsedProfile]);
  }
  return out;
}

/** The project's own sample profiles, plus the shared ones when ../shared is present, read by the lenient parser as the app does. */
function loadFixtures(): [string, ParsedProfile][] {
  const dirs = [OWN_FIXTURES, ...(HAS_SHARED ? [new URL("fixtures/profiles/", SHARED)] : [])];
  return dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".json") && f !== "index.json")
      .sort()
      .map((f): [string, ParsedProfile] => [f, parseProfileBody(readFileSync(new URL(f, dir), "utf8")).profile]));
}

const full = profileWith({
  perfil_cliente: { descricao_geral: "Mulher de 30-40 anos", estilo_geral: "Minimalista" },
  ocasioes_relevantes: [
    { "ocasião": "Trabalho", "persona_na_ocasião": "Profissional serena", sugestao_look: ["Blazer cru", "Calça reta"] },
    { "ocasião": "Fim de semana", sugestao_look: ["Jeans"] },
  ],
  briefing_marketing: {
    tom_de_voz: ["Autêntico", "autentico ", "sofisticado; elegante"],
    direcao_visual: ["Luz natural", "Tons neutros"],
    orientacao_campanhas: ["Atemporalidade"],
  },
  ganchos_conteudo: ["Guarda-roupa enxuto", "Peças versáteis"],
  momento_compra_atual: {
    navegacoes: ["01/02: visualizou Blazer", "02/02: buscou calça"],
    resumo_momento: "Buscando blazer",
    relacao_com_historico: "Coerente",
    novo_comportamento: false,
    oportunidades: ["Mostrar blazers"],
  },
});

describe("mapToHubSpot", () => {
  it("maps a complete profile to strings for all 16 properties", () => {
    const m = mapToHubSpot(full, ctx);
    expect(m.properties).toEqual({
      fashionai_user_profile_id: "fp_test",
      fashionai_descricao_geral: "Mulher de 30-40 anos",
      fashionai_estilo_geral: "Minimalista",
      fashionai_tom_de_voz: "autentico;sofisticado_elegante",
      fashionai_direcao_visual: "Luz natural\nTons neutros",
      fashionai_orientacao_campanhas: "Atemporalidade",
      fashionai_ganchos_conteudo: "Guarda-roupa enxuto\nPeças versáteis",
      fashionai_gancho_principal: "Guarda-roupa enxuto",
      fashionai_ocasioes: "trabalho;fim_de_semana",
      fashionai_ocasioes_detalhe: "Trabalho: Profissional serena — Blazer cru, Calça reta\nFim de semana — Jeans",
      fashionai_resumo_momento: "Buscando blazer",
      fashionai_relacao_com_historico: "Coerente",
      fashionai_navegacoes_recentes: "01/02: visualizou Blazer\n02/02: buscou calça",
      fashionai_oportunidades: "Mostrar blazers",
      fashionai_novo_comportamento: "false",
      fashionai_sincronizado_em: "2025-03-04T05:06:07.089Z",
    });
    expect(Object.keys(m.properties)).toEqual(FIELD_KEYS);
    expect(m.warnings).toEqual([]);
  });

  it("PRODUCT.md example: option values joined by ';'", () => {
    const m = mapToHubSpot(profileWith({ briefing_marketing: { tom_de_voz: ["Autêntico", "autentico ", "sofisticado; elegante"] } }), ctx);
    expect(m.properties.fashionai_tom_de_voz).toBe("autentico;sofisticado_elegante");
    expect(m.options.fashionai_tom_de_voz).toEqual([
      { value: "autentico", label: "autêntico" },
      { value: "sofisticado_elegante", label: "sofisticado; elegante" },
    ]);
  });

  it("returns the options each enumeration needs, and only for present enumerations", () => {
    const m = mapToHubSpot(full, ctx);
    expect(Object.keys(m.options).sort()).toEqual(["fashionai_ocasioes", "fashionai_tom_de_voz"]);
    expect(m.options.fashionai_ocasioes).toEqual([
      { value: "trabalho", label: "Trabalho" },
      { value: "fim_de_semana", label: "Fim de semana" },
    ]);
    const empty = mapToHubSpot(profileWith({}), ctx);
    expect(empty.options).toEqual({});
  });

  it("the joined value lists exactly the values of the returned options", () => {
    for (const [, p] of loadFixtures()) {
      const m = mapToHubSpot(p, ctx);
      for (const [key, opts] of Object.entries(m.options)) {
        expect(m.properties[key]).toBe(opts.map((o) => o.value).join(";"));
      }
    }
  });

  it("boolean false is written as \"false\", not left out", () => {
    const m = mapToHubSpot(profileWith({ momento_compra_atual: { novo_comportamento: false } }), ctx);
    expect(m.properties.fashionai_novo_comportamento).toBe("false");
  });

  it("boolean true (or \"TRUE\") is written as \"true\"", () => {
    expect(mapToHubSpot(profileWith({ momento_compra_atual: { novo_comportamento: true } }), ctx).properties.fashionai_novo_comportamento).toBe("true");
    expect(mapToHubSpot(profileWith({ momento_compra_atual: { novo_comportamento: "TRUE" } }), ctx).properties.fashionai_novo_comportamento).toBe("true");
  });

  it("an unreadable boolean is left out with a warning", () => {
    const m = mapToHubSpot(profileWith({ momento_compra_atual: { novo_comportamento: "sim" } }), ctx);
    expect("fashionai_novo_comportamento" in m.properties).toBe(false);
    expect(m.warnings).toHaveLength(1);
  });

  it("missing sections leave their keys out (never empty strings)", () => {
    const m = mapToHubSpot(profileWith({ perfil_cliente: { estilo_geral: "Clássico" } }), ctx);
    expect(Object.keys(m.properties)).toEqual(["fashionai_user_profile_id", "fashionai_estilo_geral", "fashionai_sincronizado_em"]);
    for (const v of Object.values(m.properties)) expect(v).not.toBe("");
  });

  it("empty-after-cleaning values are left out", () => {
    const m = mapToHubSpot(
      profileWith({
        perfil_cliente: { descricao_geral: "\u00A0\t", estilo_geral: "\u0000" },
        briefing_marketing: { tom_de_voz: ["✨", "  "], direcao_visual: [" "] },
        ganchos_conteudo: ["", " "],
        ocasioes_relevantes: [{ "ocasião": "🎉" }],
      }),
      ctx,
    );
    expect(Object.keys(m.properties)).toEqual(["fashionai_user_profile_id", "fashionai_ocasioes_detalhe", "fashionai_sincronizado_em"]);
    // The emoji-only occasion has no option value, but its detail line is still text worth keeping.
    expect(m.properties.fashionai_ocasioes_detalhe).toBe("🎉");
    expect(m.options).toEqual({});
    expect(m.warnings.length).toBeGreaterThan(0);
  });

  it("list items keep inner text but never carry line breaks of their own", () => {
    const m = mapToHubSpot(profileWith({ briefing_marketing: { direcao_visual: ["linha\ncom quebra", "tab\there"] } }), ctx);
    expect(m.properties.fashionai_direcao_visual).toBe("linha com quebra\ntab here");
  });

  it("cuts text longer than 65,536 characters to exactly 65,536, ending in …, with a warning", () => {
    const m = mapToHubSpot(profileWith({ perfil_cliente: { estilo_geral: "Clássico ".repeat(9000) } }), ctx);
    const v = m.properties.fashionai_estilo_geral ?? "";
    expect(v).toHaveLength(HUBSPOT_MAX_LENGTH);
    expect(v.endsWith("…")).toBe(true);
    expect(m.warnings).toHaveLength(1);
    expect(m.warnings[0]).toMatch(/^fashionai_estilo_geral: /);
  });

  it("cuts joined lists too, never splitting a surrogate pair", () => {
    const items = Array.from({ length: 3 }, (_, i) => `${i}${"😀".repeat(15_000)}`);
    const m = mapToHubSpot(profileWith({ ganchos_conteudo: items }), ctx);
    const v = m.properties.fashionai_ganchos_conteudo ?? "";
    expect(v.length).toBeLessThanOrEqual(HUBSPOT_MAX_LENGTH);
    expect(v.endsWith("…")).toBe(true);
    expect(v).not.toMatch(/\p{Cs}/u);
    expect(m.warnings.some((w) => w.startsWith("fashionai_ganchos_conteudo: "))).toBe(true);
    // The principal hook is one item, well under the limit.
    expect(m.properties.fashionai_gancho_principal).toBe(items[0]);
  });

  it("a value of exactly 65,536 characters is kept whole, without a warning", () => {
    const s = "a".repeat(HUBSPOT_MAX_LENGTH);
    const m = mapToHubSpot(profileWith({ momento_compra_atual: { resumo_momento: s } }), ctx);
    expect(m.properties.fashionai_resumo_momento).toBe(s);
    expect(m.warnings).toEqual([]);
  });

  it("an oversized enumeration keeps whole options only", () => {
    const tones = Array.from({ length: 700 }, (_, i) => `${String(i).padStart(3, "0")}${"t".repeat(97)}`);
    const m = mapToHubSpot(profileWith({ briefing_marketing: { tom_de_voz: tones } }), ctx);
    const v = m.properties.fashionai_tom_de_voz ?? "";
    expect(v.length).toBeLessThanOrEqual(HUBSPOT_MAX_LENGTH);
    const kept = v.split(";");
    expect(kept.every((x) => x.length === 100)).toBe(true);
    expect(kept).toHaveLength(Math.floor((HUBSPOT_MAX_LENGTH + 1) / 101));
    expect(m.options.fashionai_tom_de_voz?.map((o) => o.value)).toEqual(kept);
    expect(m.warnings).toEqual([`fashionai_tom_de_voz: ${700 - kept.length} options left out to fit HubSpot's 65536-character limit`]);
  });

  it("writes the sync time from ctx as ISO 8601 UTC", () => {
    const m = mapToHubSpot(profileWith({}), { syncedAt: new Date("2024-12-31T23:59:59-03:00") });
    expect(m.properties.fashionai_sincronizado_em).toBe("2025-01-01T02:59:59.000Z");
  });

  it("is deterministic", () => {
    expect(mapToHubSpot(full, ctx)).toEqual(mapToHubSpot(full, ctx));
  });
});

describe("joinOptionValues", () => {
  const opts = [
    { value: "aa", label: "A" },
    { value: "bb", label: "B" },
    { value: "cc", label: "C" },
  ];
  it("joins all when they fit", () => {
    expect(joinOptionValues(opts, 8)).toEqual({ value: "aa;bb;cc", kept: opts, dropped: 0 });
  });
  it("drops whole options from the end", () => {
    expect(joinOptionValues(opts, 7)).toEqual({ value: "aa;bb", kept: opts.slice(0, 2), dropped: 1 });
    expect(joinOptionValues(opts, 1)).toEqual({ value: "", kept: [], dropped: 3 });
  });
});

describe.skipIf(!HAS_SHARED)(`shared cases (mapping part)${HAS_SHARED ? "" : ` (${SKIP_SHARED_REASON})`}`, () => {
  const cases = loadCases();
  it("loads the cases with a profile", () => {
    expect(cases.map(([f]) => f)).toContain("01-tone-dedupe-and-semicolon.json");
    expect(cases.map(([f]) => f)).toContain("12-empty-and-symbol-items.json");
  });
  for (const [file, c, profile] of cases) {
    it(`${file}: ${c.name}`, () => {
      const m = mapToHubSpot(profile, ctx);
      for (const [k, v] of Object.entries(c.expect.hubspot ?? {})) expect(m.properties[k], k).toBe(v);
      for (const k of c.expect.hubspotAbsent ?? []) expect(k in m.properties, k).toBe(false);
      for (const [k, n] of Object.entries(c.expect.hubspotMaxLen ?? {})) {
        expect(m.properties[k]).toBeDefined();
        expect((m.properties[k] ?? "").length).toBeLessThanOrEqual(n);
      }
      if (c.expect.warnings === true) expect(m.warnings.length).toBeGreaterThan(0);
    });
  }
});

describe("sample profiles", () => {
  for (const [file, profile] of loadFixtures()) {
    it(`${file}: every value is a non-empty string within HubSpot's limit, options are valid slugs`, () => {
      const m = mapToHubSpot(profile, ctx);
      expect(m.properties.fashionai_user_profile_id).toBe(profile.userProfileId);
      for (const [k, v] of Object.entries(m.properties)) {
        expect(FIELD_KEYS as readonly string[]).toContain(k);
        expect(typeof v).toBe("string");
        expect(v).not.toBe("");
        expect(v.length).toBeLessThanOrEqual(HUBSPOT_MAX_LENGTH);
      }
      for (const opts of Object.values(m.options)) {
        for (const o of opts) expect(o.value).toMatch(/^[a-z0-9]+(?:_[a-z0-9]+)*$/);
      }
    });
  }
});

describe("hubspotPropertyDefinitions", () => {
  const defs = hubspotPropertyDefinitions();

  it("defines one property per field, in the fashionai group", () => {
    expect(defs.map((d) => d.name)).toEqual(FIELD_KEYS);
    expect(HUBSPOT_GROUP).toEqual({ name: "fashionai", label: "Fashion.AI" });
    for (const d of defs) expect(d.groupName).toBe("fashionai");
  });

  it("uses the types of the field table, labels and descriptions for people", () => {
    for (const [i, d] of defs.entries()) {
      const f = FIELDS[i];
      expect(f).toBeDefined();
      expect([d.type, d.fieldType]).toEqual([f?.hubspot.type, f?.hubspot.fieldType]);
      expect(d.label).toBe(f?.label);
      expect(d.description).toBe(f?.description);
    }
    expect(defs.find((d) => d.name === "fashionai_tom_de_voz")?.label).toBe("Tom de voz");
  });

  it("gives enumerations an empty option list and the bool the two true/false options", () => {
    for (const d of defs) {
      if (d.type === "enumeration") expect(d.options).toEqual([]);
      else if (d.type === "bool") {
        expect(d.options?.map((o) => o.value)).toEqual(["true", "false"]);
        expect(d.options).toEqual(HUBSPOT_BOOL_OPTIONS);
      } else expect(d.options).toBeUndefined();
    }
  });

  it("returns fresh objects (callers may mutate)", () => {
    const a = hubspotPropertyDefinitions();
    a[0]!.label = "changed";
    a.find((d) => d.type === "bool")!.options!.push({ label: "x", value: "x", hidden: false, displayOrder: 9 });
    const b = hubspotPropertyDefinitions();
    expect(b[0]!.label).not.toBe("changed");
    expect(b.find((d) => d.type === "bool")!.options).toHaveLength(2);
  });

  it.skipIf(!HAS_SHARED)(`matches HubSpot's published PropertyCreate / PropertyGroupCreate schemas${HAS_SHARED ? "" : ` (${SKIP_SHARED_REASON})`}`, async () => {
    // A computed specifier: the shared tool is plain .mjs without type declarations.
    const tool = new URL("tools/openapi-check.mjs", SHARED).href;
    const { createOpenApiChecker } = (await import(tool)) as {
      createOpenApiChecker: (deps: unknown) => (vendor: string, req: { method: string; url: string; body: unknown }) => string[];
    };
    const check = createOpenApiChecker({ Ajv, addFormats });
    // The checker is strict enough to catch a missing required field (OptionInput.hidden).
    const bad = { ...defs[0], options: [{ label: "x", value: "x" }] };
    expect(check("hubspot", { method: "POST", url: "/crm/v3/properties/contacts", body: bad })).not.toEqual([]);
    for (const d of defs) {
      expect(check("hubspot", { method: "POST", url: "/crm/v3/properties/contacts", body: d }), d.name).toEqual([]);
    }
    expect(check("hubspot", { method: "POST", url: "/crm/v3/properties/contacts/batch/create", body: { inputs: defs } })).toEqual([]);
    expect(check("hubspot", { method: "POST", url: "/crm/v3/properties/contacts/groups", body: HUBSPOT_GROUP })).toEqual([]);
    const tone = mapToHubSpot(full, ctx).options.fashionai_tom_de_voz ?? [];
    const patch = { options: hubspotOptionInputs(tone) };
    expect(check("hubspot", { method: "PATCH", url: "/crm/v3/properties/contacts/fashionai_tom_de_voz", body: patch })).toEqual([]);
  });
});

describe("hubspotOptionInputs", () => {
  it("adds hidden:false and a display order", () => {
    expect(hubspotOptionInputs([{ value: "a", label: "A" }, { value: "b", label: "B" }], 5)).toEqual([
      { label: "A", value: "a", hidden: false, displayOrder: 5 },
      { label: "B", value: "b", hidden: false, displayOrder: 6 },
    ]);
  });
});
