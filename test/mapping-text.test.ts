import { readFileSync } from "node:fs";
import { HAS_SHARED, SHARED_DIR, SKIP_SHARED_REASON } from "./helpers/shared.js";
import { describe, expect, it } from "vitest";
import {
  ELLIPSIS,
  HUBSPOT_MAX_LENGTH,
  SLUG_MAX_LENGTH,
  cleanList,
  cleanText,
  slugify,
  toOptions,
  truncateForHubSpot,
} from "../src/mapping/text.js";
import { FIELDS, FIELD_KEYS, extractFields, fieldSpec, occasionLine } from "../src/mapping/fields.js";
import { ctx, profileWith } from "./helpers/profiles.js";


describe("cleanText", () => {
  it("trims and collapses runs of spaces", () => {
    expect(cleanText("  a   b  ")).toBe("a b");
  });
  it("treats tabs and line breaks as whitespace", () => {
    expect(cleanText("a\tb\nc\r\nd\re\u000Bf\u000Cg")).toBe("a b c d e f g");
    expect(cleanText("linha 1\n\n\tlinha 2")).toBe("linha 1 linha 2");
    expect(cleanText("a\u0085b")).toBe("a b"); // NEL is a line break
    expect(cleanText("a\u2028b\u2029c")).toBe("a b c");
  });
  it("treats NBSP and other Unicode spaces as whitespace", () => {
    expect(cleanText("\u00A0a\u00A0\u00A0b\u00A0")).toBe("a b");
    expect(cleanText("a\u2003b\u2009c\u202Fd\u205Fe\u3000f\u1680g")).toBe("a b c d e f g");
  });
  it("removes other control characters without leaving a space", () => {
    expect(cleanText("a\u0000b\u0007c\u001Bd\u007Fe\u0080f\u009Fg")).toBe("abcdefg");
    expect(cleanText("\u0000\u0001 x \u0002")).toBe("x");
    expect(cleanText("a \u0000 b")).toBe("a b");
  });
  it("removes a BOM / zero-width no-break space", () => {
    expect(cleanText("\uFEFFolá\uFEFF")).toBe("olá");
  });
  it("keeps emoji sequences intact (ZWJ, variation selectors)", () => {
    const family = "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}";
    expect(cleanText(` ${family} ✨\uFE0F `)).toBe(`${family} ✨\uFE0F`);
  });
  it("normalises to NFC", () => {
    const decomposed = "Cal\u0063\u0327a de l\u0069\u0302nho";
    expect(cleanText(decomposed)).toBe("Calça de lînho");
    expect(cleanText(decomposed)).toBe(cleanText(decomposed).normalize("NFC"));
  });
  it("is NFC even when a removed control character separated a letter from its mark", () => {
    expect(cleanText("e\u0000\u0301")).toBe("é");
  });
  it("replaces lone surrogates with U+FFFD but keeps pairs", () => {
    expect(cleanText("a\uD800b")).toBe("a\uFFFDb");
    expect(cleanText("a\uDC00")).toBe("a\uFFFD");
    expect(cleanText("😀")).toBe("😀");
  });
  it("returns empty for blank or control-only input", () => {
    expect(cleanText("")).toBe("");
    expect(cleanText(" \t\n\u00A0 ")).toBe("");
    expect(cleanText("\u0000\u0001")).toBe("");
  });
  it("is idempotent", () => {
    for (const s of ["  a\tb ", "Calc\u0327a", "\u00A0x\u0000y", "😀  ✨"]) {
      expect(cleanText(cleanText(s))).toBe(cleanText(s));
    }
  });
});

describe("cleanList", () => {
  it("cleans, drops empty items and exact duplicates, keeps order", () => {
    expect(cleanList([" b ", "a", "", "b", "  ", "a\t", "c"])).toEqual(["b", "a", "c"]);
  });
  it("dedupes after cleaning (NFC and whitespace)", () => {
    expect(cleanList(["Calça", "Calc\u0327a", "Cal\u00E7a  "])).toEqual(["Calça"]);
  });
  it("keeps items that differ only in case (exact duplicates only)", () => {
    expect(cleanList(["Praia", "praia"])).toEqual(["Praia", "praia"]);
  });
  it("keeps emoji-only items (they are text, not options)", () => {
    expect(cleanList(["✨", "✨"])).toEqual(["✨"]);
  });
  it("returns an empty list for all-empty input", () => {
    expect(cleanList(["", " ", "\n"])).toEqual([]);
    expect(cleanList([])).toEqual([]);
  });
});

describe("slugify", () => {
  it("drops accents and lower-cases", () => {
    expect(slugify("Autêntico")).toBe("autentico");
    expect(slugify("Ação Rápida")).toBe("acao_rapida");
    expect(slugify("CAFÉ")).toBe("cafe");
  });
  it("turns every run outside a-z0-9 into one _", () => {
    expect(slugify("sofisticado; elegante")).toBe("sofisticado_elegante");
    expect(slugify("a - b / c")).toBe("a_b_c");
    expect(slugify("Festa 2025!")).toBe("festa_2025");
    expect(slugify("a_b")).toBe("a_b");
    expect(slugify("a__b")).toBe("a_b");
  });
  it("strips leading and trailing _", () => {
    expect(slugify("  (casual)  ")).toBe("casual");
    expect(slugify("_x_")).toBe("x");
  });
  it("gives an empty slug for symbol-only and emoji-only text", () => {
    expect(slugify("✨")).toBe("");
    expect(slugify("🎉🎉")).toBe("");
    expect(slugify("---")).toBe("");
    expect(slugify("")).toBe("");
  });
  it("drops letters with no ASCII decomposition to _", () => {
    expect(slugify("Straße")).toBe("stra_e");
    expect(slugify("øre")).toBe("re");
  });
  it("handles decomposed input the same as composed", () => {
    expect(slugify("Autentico\u0302")).toBe(slugify("Autênticô"));
    expect(slugify("Calc\u0327a")).toBe("calca");
  });
  it("caps at 100 characters", () => {
    expect(slugify("a".repeat(150))).toBe("a".repeat(SLUG_MAX_LENGTH));
    expect(slugify("é".repeat(100))).toBe("e".repeat(100));
    expect(slugify("a".repeat(100))).toHaveLength(100);
  });
  it("strips a _ left at the end by the cap", () => {
    const label = `${"a".repeat(99)} b`;
    expect(slugify(label)).toBe("a".repeat(99));
    expect(slugify(`${"a".repeat(99)} - bcd`)).toBe("a".repeat(99));
    // a _ inside the kept part stays
    expect(slugify(`${"a".repeat(98)} - bcd`)).toBe(`${"a".repeat(98)}_b`);
  });
  it("caps after stripping leading _", () => {
    expect(slugify(`!!!${"b".repeat(100)}`)).toBe("b".repeat(100));
  });
  it("never starts or ends with _", () => {
    for (const s of ["¿qué?", " x ", `${"z".repeat(99)}!y`, "a!"]) {
      expect(slugify(s)).toMatch(/^(?:[a-z0-9]+(?:_[a-z0-9]+)*)?$/);
    }
  });
});

describe("toOptions", () => {
  it("PRODUCT.md example", () => {
    const { options, warnings } = toOptions(["Autêntico", "autentico ", "sofisticado; elegante"], { lowercase: true });
    expect(options).toEqual([
      { value: "autentico", label: "autêntico" },
      { value: "sofisticado_elegante", label: "sofisticado; elegante" },
    ]);
    expect(warnings).toEqual([]);
  });
  it("case 01: case/accents/spacing collapse; ';' never splits a value", () => {
    const { options } = toOptions(["Autêntico", "autentico ", "  SOFISTICADO", "sofisticado; elegante"], { lowercase: true });
    expect(options.map((o) => o.value)).toEqual(["autentico", "sofisticado", "sofisticado_elegante"]);
    expect(options.map((o) => o.label)).toEqual(["autêntico", "sofisticado", "sofisticado; elegante"]);
  });
  it("keeps the first label when slugs collide", () => {
    const { options } = toOptions(["Praia", "praia", "PRAIA!"], { lowercase: false });
    expect(options).toEqual([{ value: "praia", label: "Praia" }]);
  });
  it("lower-cases with pt-BR rules only when asked", () => {
    expect(toOptions(["ÇÃO"], { lowercase: true }).options).toEqual([{ value: "cao", label: "ção" }]);
    expect(toOptions(["ÇÃO"], { lowercase: false }).options).toEqual([{ value: "cao", label: "ÇÃO" }]);
  });
  it("labels are cleaned text", () => {
    expect(toOptions(["  Festa\tde\n\u00A0fim  de ano "], { lowercase: false }).options).toEqual([
      { value: "festa_de_fim_de_ano", label: "Festa de fim de ano" },
    ]);
  });
  it("drops items with an empty slug with a warning naming the item (case 12)", () => {
    const { options, warnings } = toOptions(["✨", "   ", "acolhedor"], { lowercase: true });
    expect(options).toEqual([{ value: "acolhedor", label: "acolhedor" }]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('"✨"');
    expect(warnings[1]).toContain('"   "');
  });
  it("emoji inside a label stays in the label, not the value", () => {
    expect(toOptions(["festa ✨"], { lowercase: false }).options).toEqual([{ value: "festa", label: "festa ✨" }]);
  });
  it("keeps order", () => {
    expect(toOptions(["c", "a", "b", "a"], { lowercase: false }).options.map((o) => o.value)).toEqual(["c", "a", "b"]);
  });
  it("returns nothing for no items", () => {
    expect(toOptions([], { lowercase: true })).toEqual({ options: [], warnings: [] });
  });
});

describe("truncateForHubSpot", () => {
  it("leaves values up to the limit untouched, without a warning", () => {
    const s = "x".repeat(HUBSPOT_MAX_LENGTH);
    expect(truncateForHubSpot(s)).toEqual({ value: s });
    expect(truncateForHubSpot("")).toEqual({ value: "" });
  });
  it("cuts a longer value to exactly 65,536 characters ending in …, with a warning", () => {
    const s = "x".repeat(HUBSPOT_MAX_LENGTH + 1);
    const r = truncateForHubSpot(s);
    expect(r.value).toHaveLength(HUBSPOT_MAX_LENGTH);
    expect(r.value.endsWith(ELLIPSIS)).toBe(true);
    expect(r.value.slice(0, -1)).toBe("x".repeat(HUBSPOT_MAX_LENGTH - 1));
    expect(r.warning).toMatch(/65537/);
    expect(r.warning).toMatch(/65536/);
  });
  it("case 07: 81,000 characters cut to 65,536", () => {
    const s = "Clássico ".repeat(9000);
    const r = truncateForHubSpot(s);
    expect(r.value).toHaveLength(65_536);
    expect(r.value.endsWith("…")).toBe(true);
    expect(s.startsWith(r.value.slice(0, -1))).toBe(true);
  });
  it("never splits a surrogate pair at the cut", () => {
    // The pair would straddle the cut: code units 65534 and 65535 (0-based) hold the emoji.
    const s = "x".repeat(HUBSPOT_MAX_LENGTH - 2) + "😀" + "tail";
    const r = truncateForHubSpot(s);
    expect(r.value).toBe("x".repeat(HUBSPOT_MAX_LENGTH - 2) + "…");
    expect(r.value).toHaveLength(HUBSPOT_MAX_LENGTH - 1);
    expect(r.value).not.toMatch(/\p{Cs}/u);
  });
  it("keeps a surrogate pair that ends right before the cut", () => {
    const s = "x".repeat(HUBSPOT_MAX_LENGTH - 3) + "😀" + "tail";
    const r = truncateForHubSpot(s);
    expect(r.value).toBe("x".repeat(HUBSPOT_MAX_LENGTH - 3) + "😀…");
    expect(r.value).toHaveLength(HUBSPOT_MAX_LENGTH);
  });
  it("all-emoji text is cut on a pair boundary", () => {
    const r = truncateForHubSpot("😀".repeat(40_000));
    expect(r.value).not.toMatch(/\p{Cs}/u);
    expect(r.value.length).toBeLessThanOrEqual(HUBSPOT_MAX_LENGTH);
    expect(r.value).toBe("😀".repeat(32_767) + "…");
  });
  it("honours a custom max", () => {
    expect(truncateForHubSpot("abcdef", 4).value).toBe("abc…");
    expect(truncateForHubSpot("abcd", 4)).toEqual({ value: "abcd" });
    expect(truncateForHubSpot("abcdef", 1).value).toBe("…");
    expect(truncateForHubSpot("a😀b", 3).value).toBe("a…");
  });
  it("rejects a max below 1", () => {
    expect(() => truncateForHubSpot("abc", 0)).toThrow(RangeError);
  });
});

describe("field table", () => {
  // The schema table of PRODUCT.md is the contract: parse it and compare.
  const product = HAS_SHARED ? readFileSync(`${SHARED_DIR}/PRODUCT.md`, "utf8") : "";
  const needsProduct = HAS_SHARED ? "" : ` (${SKIP_SHARED_REASON})`;
  const rows = product
    .split("\n")
    .filter((l) => l.startsWith("| `fashionai_"))
    .map((l) => l.split("|").map((c) => c.trim()));
  const documented = rows.map((cells) => ({
    key: (cells[1] ?? "").replace(/`/g, ""),
    hubspot: (cells[3] ?? "").split("/").map((s) => s.trim()),
  }));

  it.skipIf(!HAS_SHARED)(`has exactly the 16 keys of PRODUCT.md's schema table, in its order${needsProduct}`, () => {
    expect(documented).toHaveLength(16);
    expect(FIELD_KEYS).toEqual(documented.map((d) => d.key));
    expect(new Set(FIELD_KEYS).size).toBe(16);
  });
  it.skipIf(!HAS_SHARED)(`has the HubSpot type / fieldType listed there${needsProduct}`, () => {
    for (const d of documented) {
      const spec = fieldSpec(d.key as (typeof FIELD_KEYS)[number]);
      expect([spec.hubspot.type, spec.hubspot.fieldType], d.key).toEqual(d.hubspot);
    }
  });
  it("has a Portuguese label and a description for every field", () => {
    for (const f of FIELDS) {
      expect(f.label.trim()).not.toBe("");
      expect(f.description.trim()).not.toBe("");
    }
    expect(fieldSpec("fashionai_tom_de_voz").label).toBe("Tom de voz");
  });
  it("names HubSpot-valid property names", () => {
    for (const k of FIELD_KEYS) expect(k).toMatch(/^fashionai_[a-z_]+$/);
  });
  it("uses NFC keys in source paths", () => {
    for (const f of FIELDS) {
      for (const p of f.path) expect(p).toBe(p.normalize("NFC"));
      if ("itemKey" in f) expect(f.itemKey).toBe("ocasião".normalize("NFC"));
    }
  });
});

describe("occasionLine", () => {
  it("full form", () => {
    expect(occasionLine({ ocasiao: "Trabalho", persona: "Profissional serena", looks: ["Blazer cru", "Calça reta"] })).toBe(
      "Trabalho: Profissional serena — Blazer cru, Calça reta",
    );
  });
  it("missing parts drop their separators", () => {
    expect(occasionLine({ ocasiao: "Trabalho", persona: "Serena", looks: [] })).toBe("Trabalho: Serena");
    expect(occasionLine({ ocasiao: "Trabalho", looks: ["Blazer"] })).toBe("Trabalho — Blazer");
    expect(occasionLine({ ocasiao: "Trabalho", persona: "", looks: ["Blazer"] })).toBe("Trabalho — Blazer");
    expect(occasionLine({ ocasiao: "Trabalho", looks: [] })).toBe("Trabalho");
  });
});

describe("extractFields", () => {
  const full = profileWith({
    perfil_cliente: { descricao_geral: " Mulher\tde 30 anos ", estilo_geral: "Minimalista" },
    ocasioes_relevantes: [
      { "ocasião": "Trabalho", "persona_na_ocasião": "Profissional", sugestao_look: ["Blazer", " Blazer ", ""] },
      { "ocasião": "trabalho ", "persona_na_ocasião": "Outra" },
    ],
    briefing_marketing: { tom_de_voz: ["Sereno"], direcao_visual: ["Luz"], orientacao_campanhas: ["Atemporal"] },
    ganchos_conteudo: ["Gancho"],
    momento_compra_atual: {
      navegacoes: ["nav"],
      resumo_momento: "resumo",
      relacao_com_historico: "rel",
      novo_comportamento: false,
      oportunidades: ["op"],
    },
  });

  it("produces every field for a complete profile, in table order", () => {
    const { values, warnings } = extractFields(full, ctx);
    expect(Object.keys(values)).toEqual(FIELD_KEYS);
    expect(warnings).toEqual([]);
    expect(values.fashionai_user_profile_id).toEqual({ type: "text", value: "fp_test" });
    expect(values.fashionai_descricao_geral).toEqual({ type: "text", value: "Mulher de 30 anos" });
    expect(values.fashionai_tom_de_voz).toEqual({ type: "options", value: [{ value: "sereno", label: "sereno" }] });
    expect(values.fashionai_ocasioes).toEqual({ type: "options", value: [{ value: "trabalho", label: "Trabalho" }] });
    expect(values.fashionai_ocasioes_detalhe).toEqual({
      type: "list",
      value: ["Trabalho: Profissional — Blazer", "trabalho: Outra"],
    });
    expect(values.fashionai_novo_comportamento).toEqual({ type: "boolean", value: false });
    expect(values.fashionai_sincronizado_em).toEqual({ type: "datetime", value: "2025-03-04T05:06:07.089Z" });
  });

  it("occasion options keep their case (not lower-cased)", () => {
    const { values } = extractFields(profileWith({ ocasioes_relevantes: [{ "ocasião": "Festa de Fim de Ano" }] }), ctx);
    expect(values.fashionai_ocasioes).toEqual({ type: "options", value: [{ value: "festa_de_fim_de_ano", label: "Festa de Fim de Ano" }] });
  });

  it("an empty profile leaves out everything but the id and the sync time", () => {
    const { values, warnings } = extractFields(profileWith({}), ctx);
    expect(Object.keys(values)).toEqual(["fashionai_user_profile_id", "fashionai_sincronizado_em"]);
    expect(warnings).toEqual([]);
  });

  it("a blank userProfileId is left out", () => {
    const { values } = extractFields(profileWith({}, "  \t"), ctx);
    expect(values.fashionai_user_profile_id).toBeUndefined();
  });

  it("empty-after-cleaning text and lists are left out, never empty", () => {
    const { values, warnings } = extractFields(
      profileWith({
        perfil_cliente: { descricao_geral: " \n ", estilo_geral: "" },
        briefing_marketing: { tom_de_voz: [], direcao_visual: ["", "  "], orientacao_campanhas: [] },
        ganchos_conteudo: [" "],
        ocasioes_relevantes: [],
        momento_compra_atual: { navegacoes: [], resumo_momento: "\u0000", oportunidades: ["\t"] },
      }),
      ctx,
    );
    for (const key of FIELD_KEYS) {
      if (key === "fashionai_user_profile_id" || key === "fashionai_sincronizado_em") continue;
      expect(values[key], key).toBeUndefined();
    }
    expect(warnings.some((w) => w.startsWith("fashionai_direcao_visual: dropped 2 empty items"))).toBe(true);
  });

  it("case 12: gancho_principal is the first item after empty removal and dedupe", () => {
    const { values, warnings } = extractFields(profileWith({ ganchos_conteudo: ["", "Looks de inverno", "Looks de inverno"] }), ctx);
    expect(values.fashionai_ganchos_conteudo).toEqual({ type: "list", value: ["Looks de inverno"] });
    expect(values.fashionai_gancho_principal).toEqual({ type: "text", value: "Looks de inverno" });
    expect(warnings).toEqual(["fashionai_ganchos_conteudo: dropped 1 empty item"]);
  });

  it("gancho_principal is cleaned", () => {
    const { values } = extractFields(profileWith({ ganchos_conteudo: ["\u00A0 \n", "  Peças\tque   não amassam "] }), ctx);
    expect(values.fashionai_gancho_principal).toEqual({ type: "text", value: "Peças que não amassam" });
  });

  it("occasions: skip those without ocasião (with a warning), clean every part", () => {
    const { values, warnings } = extractFields(
      profileWith({
        ocasioes_relevantes: [
          { "persona_na_ocasião": "sem nome", sugestao_look: ["x"] },
          { "ocasião": "  ", "persona_na_ocasião": "em branco" },
          { "ocasião": " Praia\n", "persona_na_ocasião": "  ", sugestao_look: [" Biquíni ", "", "Saída\tde praia"] },
          { "ocasião": "Jantar", "persona_na_ocasião": " Elegante " },
          { "ocasião": "Casa", sugestao_look: [] },
        ],
      }),
      ctx,
    );
    expect(values.fashionai_ocasioes_detalhe).toEqual({
      type: "list",
      value: ["Praia — Biquíni, Saída de praia", "Jantar: Elegante", "Casa"],
    });
    expect(values.fashionai_ocasioes?.value).toEqual([
      { value: "praia", label: "Praia" },
      { value: "jantar", label: "Jantar" },
      { value: "casa", label: "Casa" },
    ]);
    expect(warnings).toContain("fashionai_ocasioes_detalhe: occasion 1 has no ocasião; skipped");
    expect(warnings).toContain("fashionai_ocasioes_detalhe: occasion 2 has no ocasião; skipped");
    expect(warnings.some((w) => w.startsWith("fashionai_ocasioes: dropped item"))).toBe(true);
  });

  it("occasions: identical lines are written once", () => {
    const { values } = extractFields(
      profileWith({ ocasioes_relevantes: [{ "ocasião": "Praia" }, { "ocasião": " Praia " }] }),
      ctx,
    );
    expect(values.fashionai_ocasioes_detalhe).toEqual({ type: "list", value: ["Praia"] });
  });

  it("booleans: true/false, and the strings in any case (case 06)", () => {
    const get = (v: unknown) =>
      extractFields(profileWith({ momento_compra_atual: { novo_comportamento: v } }), ctx).values.fashionai_novo_comportamento;
    expect(get(true)).toEqual({ type: "boolean", value: true });
    expect(get(false)).toEqual({ type: "boolean", value: false });
    expect(get("TRUE")).toEqual({ type: "boolean", value: true });
    expect(get("False")).toEqual({ type: "boolean", value: false });
    expect(get(" true ")).toEqual({ type: "boolean", value: true });
    expect(get(undefined)).toBeUndefined();
    expect(get(null)).toBeUndefined();
  });

  it("booleans: anything else is left out with a warning", () => {
    for (const v of ["yes", "1", 1, 0, "", {}, []]) {
      const { values, warnings } = extractFields(profileWith({ momento_compra_atual: { novo_comportamento: v } }), ctx);
      expect(values.fashionai_novo_comportamento).toBeUndefined();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^fashionai_novo_comportamento: /);
    }
  });

  it("wrong types are left out with a warning; the rest of the profile still maps", () => {
    const { values, warnings } = extractFields(
      profileWith({
        perfil_cliente: { descricao_geral: 42, estilo_geral: "Clássico" },
        briefing_marketing: { tom_de_voz: "sereno", direcao_visual: ["ok", 7, null] },
        ocasioes_relevantes: { "ocasião": "x" },
      }),
      ctx,
    );
    expect(values.fashionai_descricao_geral).toBeUndefined();
    expect(values.fashionai_estilo_geral).toEqual({ type: "text", value: "Clássico" });
    expect(values.fashionai_tom_de_voz).toBeUndefined();
    expect(values.fashionai_direcao_visual).toEqual({ type: "list", value: ["ok"] });
    expect(values.fashionai_ocasioes).toBeUndefined();
    expect(values.fashionai_ocasioes_detalhe).toBeUndefined();
    expect(warnings).toEqual([
      "fashionai_descricao_geral: expected text, got number; left out",
      "fashionai_tom_de_voz: expected a list of text, got string; left out",
      "fashionai_direcao_visual: item 2 is number, not text; dropped",
      "fashionai_direcao_visual: item 3 is null, not text; dropped",
      "fashionai_ocasioes: expected a list of occasions, got object; left out",
    ]);
  });

  it("a section of the wrong type leaves its fields out", () => {
    const { values } = extractFields(profileWith({ momento_compra_atual: "nada", perfil_cliente: ["x"] }), ctx);
    expect(values.fashionai_resumo_momento).toBeUndefined();
    expect(values.fashionai_descricao_geral).toBeUndefined();
  });

  it("the sync time comes from ctx, in ISO 8601 UTC", () => {
    const at = new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 6));
    expect(extractFields(profileWith({}), { syncedAt: at }).values.fashionai_sincronizado_em).toEqual({
      type: "datetime",
      value: "2030-01-02T03:04:05.006Z",
    });
  });

  it("an invalid sync time is left out with a warning", () => {
    const { values, warnings } = extractFields(profileWith({}), { syncedAt: new Date(Number.NaN) });
    expect(values.fashionai_sincronizado_em).toBeUndefined();
    expect(warnings).toEqual(["fashionai_sincronizado_em: the sync time is not a valid date; left out"]);
  });

  it("does not modify its input", () => {
    const body = { ganchos_conteudo: [" a ", "a"], briefing_marketing: { tom_de_voz: ["X"] } };
    const snapshot = JSON.stringify(body);
    extractFields(profileWith(body), ctx);
    expect(JSON.stringify(body)).toBe(snapshot);
  });
});
