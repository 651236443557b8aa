import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import {
  NOVO_COMPORTAMENTO_METRIC,
  mapToKlaviyo,
  novoComportamentoUniqueId,
} from "../connectors/klaviyo/mapping.js";
import { parseProfileBody } from "../src/fashionai/schema.js";
import { FIELD_KEYS } from "../src/mapping/fields.js";
import type { ParsedProfile } from "../src/profile/types.js";
import { HAS_SHARED, SHARED_DIR, SKIP_SHARED_REASON } from "./helpers/shared.js";
import { ctx, profileWith, nfcKeys } from "./helpers/profiles.js";

const SHARED = pathToFileURL(`${SHARED_DIR}/`);
const OWN_FIXTURES = new URL("../fixtures/profiles/", import.meta.url);

const momento = {
  navegacoes: ["01/02: visualizou Blazer", "02/02: buscou calça"],
  resumo_momento: "Buscando blazer",
  relacao_com_historico: "Novo interesse em alfaiataria",
  novo_comportamento: true,
  oportunidades: ["Mostrar blazers", "Cupom de alfaiataria"],
};

const full = profileWith({
  perfil_cliente: { descricao_geral: "Mulher de 30-40 anos", estilo_geral: "Minimalista" },
  ocasioes_relevantes: [
    { "ocasião": "Trabalho", "persona_na_ocasião": "Profissional serena", sugestao_look: ["Blazer cru", "Calça reta"] },
    { "ocasião": "Fim de semana", "persona_na_ocasião": "Descontraída" },
  ],
  briefing_marketing: {
    tom_de_voz: ["Autêntico", "autentico ", "sofisticado; elegante"],
    direcao_visual: ["Luz natural"],
    orientacao_campanhas: ["Atemporalidade", "Atemporalidade"],
  },
  ganchos_conteudo: ["Guarda-roupa enxuto", "Peças versáteis"],
  momento_compra_atual: momento,
});

describe("mapToKlaviyo properties", () => {
  it("maps a complete profile to JSON values", () => {
    const m = mapToKlaviyo(full, ctx);
    expect(m.properties).toEqual({
      fashionai_user_profile_id: "fp_test",
      fashionai_descricao_geral: "Mulher de 30-40 anos",
      fashionai_estilo_geral: "Minimalista",
      fashionai_tom_de_voz: ["autêntico", "sofisticado; elegante"],
      fashionai_direcao_visual: ["Luz natural"],
      fashionai_orientacao_campanhas: ["Atemporalidade"],
      fashionai_ganchos_conteudo: ["Guarda-roupa enxuto", "Peças versáteis"],
      fashionai_gancho_principal: "Guarda-roupa enxuto",
      fashionai_ocasioes: ["Trabalho", "Fim de semana"],
      fashionai_ocasioes_detalhe: ["Trabalho: Profissional serena — Blazer cru, Calça reta", "Fim de semana: Descontraída"],
      fashionai_resumo_momento: "Buscando blazer",
      fashionai_relacao_com_historico: "Novo interesse em alfaiataria",
      fashionai_navegacoes_recentes: ["01/02: visualizou Blazer", "02/02: buscou calça"],
      fashionai_oportunidades: ["Mostrar blazers", "Cupom de alfaiataria"],
      fashionai_novo_comportamento: true,
      fashionai_sincronizado_em: "2025-03-04T05:06:07.089Z",
    });
    expect(Object.keys(m.properties)).toEqual(FIELD_KEYS);
    expect(m.warnings).toEqual([]);
  });

  it("PRODUCT.md example: options are arrays of labels", () => {
    const m = mapToKlaviyo(profileWith({ briefing_marketing: { tom_de_voz: ["Autêntico", "autentico ", "sofisticado; elegante"] } }), ctx);
    expect(m.properties.fashionai_tom_de_voz).toEqual(["autêntico", "sofisticado; elegante"]);
  });

  it("case 01: labels of the deduplicated tones", () => {
    const m = mapToKlaviyo(
      profileWith({ briefing_marketing: { tom_de_voz: ["Autêntico", "autentico ", "  SOFISTICADO", "sofisticado; elegante"] } }),
      ctx,
    );
    expect(m.properties.fashionai_tom_de_voz).toEqual(["autêntico", "sofisticado", "sofisticado; elegante"]);
  });

  it("boolean false is written as false, not left out", () => {
    const m = mapToKlaviyo(profileWith({ momento_compra_atual: { novo_comportamento: false } }), ctx);
    expect(m.properties.fashionai_novo_comportamento).toBe(false);
    expect(m.event).toBeUndefined();
  });

  it("case 06: the string \"TRUE\" is the boolean true", () => {
    const m = mapToKlaviyo(profileWith({ momento_compra_atual: { ...momento, novo_comportamento: "TRUE" } }), ctx);
    expect(m.properties.fashionai_novo_comportamento).toBe(true);
    expect(m.event?.metric).toBe(NOVO_COMPORTAMENTO_METRIC);
  });

  it("missing sections leave their keys out", () => {
    const m = mapToKlaviyo(profileWith({ perfil_cliente: { descricao_geral: "x" } }), ctx);
    expect(Object.keys(m.properties)).toEqual(["fashionai_user_profile_id", "fashionai_descricao_geral", "fashionai_sincronizado_em"]);
    expect(m.event).toBeUndefined();
  });

  it("empty-after-cleaning values and lists are left out (never \"\" or [])", () => {
    const m = mapToKlaviyo(
      profileWith({
        perfil_cliente: { descricao_geral: " \u00A0 " },
        briefing_marketing: { tom_de_voz: ["✨"], direcao_visual: ["", "\t"], orientacao_campanhas: [] },
        ganchos_conteudo: [],
        momento_compra_atual: { navegacoes: [" "], oportunidades: [] },
      }),
      ctx,
    );
    expect(Object.keys(m.properties)).toEqual(["fashionai_user_profile_id", "fashionai_sincronizado_em"]);
    expect(m.warnings.length).toBeGreaterThan(0);
  });

  it("case 12: emoji-only and blank tones dropped with warnings; hooks deduplicated", () => {
    const m = mapToKlaviyo(
      profileWith({ briefing_marketing: { tom_de_voz: ["✨", "   ", "acolhedor"] }, ganchos_conteudo: ["", "Looks de inverno", "Looks de inverno"] }),
      ctx,
    );
    expect(m.properties.fashionai_tom_de_voz).toEqual(["acolhedor"]);
    expect(m.properties.fashionai_ganchos_conteudo).toEqual(["Looks de inverno"]);
    expect(m.properties.fashionai_gancho_principal).toBe("Looks de inverno");
    expect(m.warnings.filter((w) => w.startsWith("fashionai_tom_de_voz: "))).toHaveLength(2);
  });

  it("does not cut long text (HubSpot's 65,536 limit is not Klaviyo's)", () => {
    const long = "Clássico ".repeat(9000).trim();
    const m = mapToKlaviyo(profileWith({ perfil_cliente: { estilo_geral: long } }), ctx);
    expect(m.properties.fashionai_estilo_geral).toBe(long);
    expect(m.warnings).toEqual([]);
  });

  it("text values are cleaned", () => {
    const m = mapToKlaviyo(profileWith({ momento_compra_atual: { resumo_momento: "\tBuscando\u0000 \n blazer\u00A0" } }), ctx);
    expect(m.properties.fashionai_resumo_momento).toBe("Buscando blazer");
  });

  it("returned arrays are not shared between calls", () => {
    const a = mapToKlaviyo(full, ctx);
    (a.properties.fashionai_direcao_visual as string[]).push("x");
    expect(mapToKlaviyo(full, ctx).properties.fashionai_direcao_visual).toEqual(["Luz natural"]);
  });
});

describe("Novo Comportamento event", () => {
  it("is planned when novo_comportamento is true, with cleaned resumo, oportunidades, navegações", () => {
    const p = profileWith({
      momento_compra_atual: {
        ...momento,
        resumo_momento: "  Buscando\tblazer ",
        navegacoes: ["a", " a", "", "b"],
        oportunidades: ["x\n", "x"],
      },
    });
    const e = mapToKlaviyo(p, ctx).event;
    expect(e).toBeDefined();
    expect(e?.metric).toBe("Fashion.AI Novo Comportamento");
    expect(e?.properties).toEqual({ resumo: "Buscando blazer", oportunidades: ["x"], "navegações": ["a", "b"] });
    expect(Object.keys(e?.properties ?? {})).toEqual(["resumo", "oportunidades", "navegações"]);
    expect(Object.keys(e?.properties ?? {}).every((k) => k === k.normalize("NFC"))).toBe(true);
  });

  it("omits absent or empty parts", () => {
    const e = mapToKlaviyo(profileWith({ momento_compra_atual: { novo_comportamento: true, resumo_momento: " ", navegacoes: ["n"] } }), ctx).event;
    expect(e?.properties).toEqual({ "navegações": ["n"] });
    const bare = mapToKlaviyo(profileWith({ momento_compra_atual: { novo_comportamento: true } }), ctx).event;
    expect(bare?.properties).toEqual({});
  });

  it("is not planned when novo_comportamento is false, absent or unreadable", () => {
    for (const v of [false, "false", undefined, null, "talvez", 1]) {
      const m = mapToKlaviyo(profileWith({ momento_compra_atual: { ...momento, novo_comportamento: v } }), ctx);
      expect(m.event, String(v)).toBeUndefined();
    }
  });

  it("has a unique id of the documented form", () => {
    const id = mapToKlaviyo(full, ctx).event?.uniqueId ?? "";
    expect(id).toMatch(/^fashionai-nc-[0-9a-f]{32}$/);
    const expected = createHash("sha256")
      .update(
        JSON.stringify([
          "fp_test",
          "Buscando blazer",
          ["01/02: visualizou Blazer", "02/02: buscou calça"],
          ["Mostrar blazers", "Cupom de alfaiataria"],
          "Novo interesse em alfaiataria",
        ]),
      )
      .digest("hex")
      .slice(0, 32);
    expect(id).toBe(`fashionai-nc-${expected}`);
  });

  it("the same moment re-synced later gives the same id", () => {
    const a = mapToKlaviyo(full, { syncedAt: new Date("2025-01-01T00:00:00Z") }).event?.uniqueId;
    const b = mapToKlaviyo(full, { syncedAt: new Date("2026-06-30T12:34:56Z") }).event?.uniqueId;
    expect(a).toBeDefined();
    expect(a).toBe(b);
  });

  it("does not depend on the rest of the profile or on whitespace noise", () => {
    const base = mapToKlaviyo(full, ctx).event?.uniqueId;
    const otherProfile = profileWith({ momento_compra_atual: momento, ganchos_conteudo: ["outro"] });
    expect(mapToKlaviyo(otherProfile, ctx).event?.uniqueId).toBe(base);
    const noisy = profileWith({
      momento_compra_atual: {
        ...momento,
        resumo_momento: ` ${momento.resumo_momento}\n`,
        navegacoes: [...momento.navegacoes, ""],
      },
    });
    expect(mapToKlaviyo(noisy, ctx).event?.uniqueId).toBe(base);
    // "TRUE" vs true is the same moment
    const asString = profileWith({ momento_compra_atual: { ...momento, novo_comportamento: "TRUE" } });
    expect(mapToKlaviyo(asString, ctx).event?.uniqueId).toBe(base);
  });

  it("a changed moment gives a different id", () => {
    const base = novoComportamentoUniqueId(profileWith({ momento_compra_atual: momento }));
    const variants: Record<string, unknown>[] = [
      { ...momento, resumo_momento: "Buscando vestido" },
      { ...momento, navegacoes: [...momento.navegacoes, "03/02: visualizou Vestido"] },
      { ...momento, navegacoes: [...momento.navegacoes].reverse() },
      { ...momento, oportunidades: ["Mostrar vestidos"] },
      { ...momento, relacao_com_historico: "Coerente" },
      { ...momento, relacao_com_historico: undefined },
    ];
    const ids = new Set([base]);
    for (const v of variants) ids.add(novoComportamentoUniqueId(profileWith({ momento_compra_atual: v })));
    expect(ids.size).toBe(variants.length + 1);
    // another customer in the same moment is another event
    expect(novoComportamentoUniqueId(profileWith({ momento_compra_atual: momento }, "fp_other"))).not.toBe(base);
  });

  it("parts cannot run into each other (list boundaries count)", () => {
    const a = novoComportamentoUniqueId(profileWith({ momento_compra_atual: { navegacoes: ["a", "b"] } }));
    const b = novoComportamentoUniqueId(profileWith({ momento_compra_atual: { navegacoes: ["a b"] } }));
    const c = novoComportamentoUniqueId(profileWith({ momento_compra_atual: { oportunidades: ["a", "b"] } }));
    expect(new Set([a, b, c]).size).toBe(3);
  });
});

describe.skipIf(!HAS_SHARED)(`shared cases${HAS_SHARED ? "" : ` (${SKIP_SHARED_REASON})`}`, () => {
  interface Case {
    responses: { status: number; body?: unknown; bodyText?: string }[];
    expect: { klaviyo?: Record<string, unknown>; klaviyoAbsent?: string[]; klaviyoEvent?: string };
  }
  const casesDir = new URL("cases/", SHARED);
  for (const file of (HAS_SHARED ? readdirSync(casesDir) : []).filter((f) => f.endsWith(".json")).sort()) {
    const c = JSON.parse(readFileSync(new URL(file, casesDir), "utf8")) as Case;
    const ok = c.responses.find((r) => r.status === 200);
    if (ok?.body === undefined) continue;
    it(`${file}: Klaviyo expectations`, () => {
      const m = mapToKlaviyo(nfcKeys(ok.body) as ParsedProfile, ctx);
      for (const [k, v] of Object.entries(c.expect.klaviyo ?? {})) expect(m.properties[k], k).toEqual(v);
      for (const k of c.expect.klaviyoAbsent ?? []) expect(k in m.properties, k).toBe(false);
      if (c.expect.klaviyoEvent !== undefined) expect(m.event?.metric).toBe(c.expect.klaviyoEvent);
    });
  }
});

describe("sample profiles", () => {
  // The project's own samples, plus the shared ones when ../shared is present.
  const fixtureDirs = [OWN_FIXTURES, ...(HAS_SHARED ? [new URL("fixtures/profiles/", SHARED)] : [])];
  for (const fixturesDir of fixtureDirs) for (const file of readdirSync(fixturesDir).filter((f) => f.endsWith(".json") && f !== "index.json").sort()) {
    it(`${file}: values are non-empty; an event exactly when novo_comportamento is true`, () => {
      // Through the lenient parser, as the app reads them (the own samples include a "true" string).
      const raw = parseProfileBody(readFileSync(new URL(file, fixturesDir), "utf8")).profile;
      const m = mapToKlaviyo(raw, ctx);
      for (const v of Object.values(m.properties)) {
        if (typeof v === "string") expect(v).not.toBe("");
        if (Array.isArray(v)) expect(v.length).toBeGreaterThan(0);
      }
      expect(m.event !== undefined).toBe(raw.profile.momento_compra_atual?.novo_comportamento === true);
    });
  }
});
