import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SyncError, parseRetryAfter } from "../src/errors.js";
import { parseProfileBody } from "../src/fashionai/schema.js";
import { HAS_SHARED, SHARED_DIR, SKIP_SHARED_REASON } from "./helpers/shared.js";

const OWN_FIXTURES = join(import.meta.dirname, "../fixtures/profiles");
const FIXTURES = [OWN_FIXTURES, ...(HAS_SHARED ? [join(SHARED_DIR, "fixtures/profiles")] : [])];
const CASES = join(SHARED_DIR, "cases");

function body(profile: unknown, userProfileId: unknown = "fp_1"): string {
  return JSON.stringify({ userProfileId, profile });
}

function expectUnusable(text: string, mentions: string | RegExp): SyncError {
  try {
    parseProfileBody(text);
  } catch (err) {
    expect(err).toBeInstanceOf(SyncError);
    const e = err as SyncError;
    expect(e.kind).toBe("transient");
    expect(e.service).toBe("fashionai");
    expect(e.retryable).toBe(true);
    expect(e.message).toMatch(mentions);
    return e;
  }
  throw new Error("expected parseProfileBody to throw");
}

describe("parseProfileBody: envelope", () => {
  it("parses a well-formed body with no warnings", () => {
    const r = parseProfileBody(
      body({
        perfil_cliente: { descricao_geral: "d", estilo_geral: "e" },
        ocasioes_relevantes: [{ "ocasião": "Trabalho", "persona_na_ocasião": "p", sugestao_look: ["a", "b"] }],
        briefing_marketing: { tom_de_voz: ["x"], direcao_visual: ["y"], orientacao_campanhas: ["z"] },
        ganchos_conteudo: ["g"],
        momento_compra_atual: {
          navegacoes: ["n"],
          resumo_momento: "r",
          relacao_com_historico: "h",
          novo_comportamento: true,
          oportunidades: ["o"],
        },
      }),
    );
    expect(r.warnings).toEqual([]);
    expect(r.profile.userProfileId).toBe("fp_1");
    expect(r.profile.profile.ocasioes_relevantes?.[0]?.["ocasião"]).toBe("Trabalho");
    expect(r.profile.profile.momento_compra_atual?.novo_comportamento).toBe(true);
  });

  it("strips a UTF-8 BOM", () => {
    const r = parseProfileBody(`\uFEFF${body({ ganchos_conteudo: ["g"] })}`);
    expect(r.profile.profile.ganchos_conteudo).toEqual(["g"]);
  });

  it("rejects an HTML page without dumping it", () => {
    const html = `<html><body>Gateway maintenance${" padding".repeat(200)}</body></html>`;
    const e = expectUnusable(html, /not JSON/);
    expect(e.message).toContain("<html><body>Gateway maintenance");
    expect(e.message.length).toBeLessThan(200);
  });

  it("rejects an empty body", () => {
    expectUnusable("", /empty/);
    expectUnusable("\uFEFF  ", /empty/);
  });

  it.each([
    ["[]", /list/],
    ["null", /null/],
    ['"text"', /string/],
    ["42", /number/],
  ])("rejects JSON %s that is not an object", (text, mentions) => {
    expectUnusable(text, mentions);
  });

  it("rejects a body without a profile object", () => {
    expectUnusable(JSON.stringify({ userProfileId: "fp_1" }), /"profile" is missing/);
    expectUnusable(JSON.stringify({ error: "x", message: "y" }), /"profile" is missing/);
    expectUnusable(body("a string"), /"profile" is a string/);
    expectUnusable(body([]), /"profile" is a list/);
    expectUnusable(body(null), /"profile" is null/);
  });

  it("rejects a missing, empty or non-text userProfileId", () => {
    expectUnusable(JSON.stringify({ profile: {} }), /"userProfileId" is missing/);
    expectUnusable(body({}, ""), /"userProfileId" is empty/);
    expectUnusable(body({}, "  "), /"userProfileId" is empty/);
    expectUnusable(body({}, 42), /"userProfileId" is a number/);
  });

  it("accepts an empty profile object", () => {
    expect(parseProfileBody(body({}))).toEqual({ profile: { userProfileId: "fp_1", profile: {} }, warnings: [] });
  });
});

describe("parseProfileBody: keys", () => {
  it("normalises decomposed keys to NFC at every level", () => {
    const text =
      '{"userProfileId":"fp_1","profile":{"ocasioes_relevantes":[' +
      '{"ocasia\u0303o":"Trabalho","persona_na_ocasia\u0303o":"Serena","sugestao_look":["Blazer"]}]}}';
    expect(text).not.toContain("ocasião");
    const r = parseProfileBody(text);
    expect(r.warnings).toEqual([]);
    expect(r.profile.profile.ocasioes_relevantes).toEqual([
      { "ocasião": "Trabalho", "persona_na_ocasião": "Serena", sugestao_look: ["Blazer"] },
    ]);
  });

  it("does not touch the text of values (mapping cleans it)", () => {
    const r = parseProfileBody(body({ perfil_cliente: { estilo_geral: "  Cla\u0301ssico\t " } }));
    expect(r.profile.profile.perfil_cliente?.estilo_geral).toBe("  Cla\u0301ssico\t ");
  });

  it("ignores unknown fields, including __proto__", () => {
    const text =
      '{"userProfileId":"fp_1","extra":1,"profile":{"novo":{"a":1},"__proto__":{"polluted":true},' +
      '"perfil_cliente":{"estilo_geral":"e","cor":"azul"}}}';
    const r = parseProfileBody(text);
    expect(r.warnings).toEqual([]);
    expect(r.profile.profile).toEqual({ perfil_cliente: { estilo_geral: "e" } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("parseProfileBody: wrong types", () => {
  it("skips each wrong-typed field with a warning naming its path, keeping the rest", () => {
    const r = parseProfileBody(
      body({
        perfil_cliente: { descricao_geral: "ok", estilo_geral: 42 },
        briefing_marketing: { tom_de_voz: "x", direcao_visual: ["y"], orientacao_campanhas: { a: 1 } },
        ganchos_conteudo: "just one",
        momento_compra_atual: "soon",
      }),
    );
    expect(r.profile.profile).toEqual({
      perfil_cliente: { descricao_geral: "ok" },
      briefing_marketing: { direcao_visual: ["y"] },
    });
    expect(r.warnings).toEqual([
      "profile.perfil_cliente.estilo_geral: expected text, got number; field skipped",
      "profile.briefing_marketing.tom_de_voz: expected a list of text, got string; field skipped",
      "profile.briefing_marketing.orientacao_campanhas: expected a list of text, got object; field skipped",
      "profile.ganchos_conteudo: expected a list of text, got string; field skipped",
      "profile.momento_compra_atual: expected an object, got string; field skipped",
    ]);
  });

  it("drops non-text items from lists with a warning; null items silently", () => {
    const r = parseProfileBody(body({ ganchos_conteudo: ["a", 1, null, { b: 2 }, ["c"], "", "d"] }));
    expect(r.profile.profile.ganchos_conteudo).toEqual(["a", "", "d"]);
    expect(r.warnings).toEqual([
      "profile.ganchos_conteudo[1]: expected text, got number; item dropped",
      "profile.ganchos_conteudo[3]: expected text, got object; item dropped",
      "profile.ganchos_conteudo[4]: expected text, got list; item dropped",
    ]);
  });

  it("handles bad occasions item by item", () => {
    const r = parseProfileBody(
      body({
        ocasioes_relevantes: ["Trabalho", null, { "ocasião": 7, "persona_na_ocasião": "p", sugestao_look: ["a", false] }],
      }),
    );
    expect(r.profile.profile.ocasioes_relevantes).toEqual([{ "persona_na_ocasião": "p", sugestao_look: ["a"] }]);
    expect(r.warnings).toEqual([
      "profile.ocasioes_relevantes[0]: expected an object, got string; item dropped",
      "profile.ocasioes_relevantes[2].ocasião: expected text, got number; field skipped",
      "profile.ocasioes_relevantes[2].sugestao_look[1]: expected text, got boolean; item dropped",
    ]);
  });

  it("skips an occasions value that is not a list", () => {
    const r = parseProfileBody(body({ ocasioes_relevantes: { "ocasião": "x" } }));
    expect(r.profile.profile.ocasioes_relevantes).toBeUndefined();
    expect(r.warnings).toEqual([
      "profile.ocasioes_relevantes: expected a list of occasions, got object; field skipped",
    ]);
  });

  it("treats null fields and sections as absent, without warnings", () => {
    const r = parseProfileBody(
      body({
        perfil_cliente: null,
        briefing_marketing: { tom_de_voz: null, direcao_visual: ["v"] },
        ganchos_conteudo: null,
        momento_compra_atual: { novo_comportamento: null, resumo_momento: null },
      }),
    );
    expect(r.warnings).toEqual([]);
    expect(r.profile.profile).toEqual({ briefing_marketing: { direcao_visual: ["v"] }, momento_compra_atual: {} });
    expect("tom_de_voz" in (r.profile.profile.briefing_marketing ?? {})).toBe(false);
  });
});

describe("parseProfileBody: novo_comportamento", () => {
  const parse = (v: unknown) => parseProfileBody(body({ momento_compra_atual: { novo_comportamento: v } }));

  it.each([
    [true, true],
    [false, false],
    ["true", true],
    ["TRUE", true],
    [" false ", false],
    ["False", false],
    ["\ttrue\n", true],
  ])("accepts %j as %j", (input, expected) => {
    const r = parse(input);
    expect(r.warnings).toEqual([]);
    expect(r.profile.profile.momento_compra_atual?.novo_comportamento).toBe(expected);
  });

  it.each([["yes"], [1], [0], [""], [["true"]], [{}]])("skips %j with a warning", (input) => {
    const r = parse(input);
    expect(r.profile.profile.momento_compra_atual).toEqual({});
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(
      /^profile\.momento_compra_atual\.novo_comportamento: expected true or false, got .+; field skipped$/,
    );
  });

  it("quotes the offending string", () => {
    expect(parse("yes").warnings).toEqual([
      'profile.momento_compra_atual.novo_comportamento: expected true or false, got "yes"; field skipped',
    ]);
  });
});

describe("parseProfileBody: sample profiles and shared cases", () => {
  it("parses every sample profile (the project's own, and the shared ones when present) without warnings", () => {
    const files = FIXTURES.flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "index.json").map((f) => join(dir, f)));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      const r = parseProfileBody(text);
      expect(r.warnings, f).toEqual([]);
      expect(r.profile.userProfileId, f).toMatch(/^fp_/);
    }
  });

  it.skipIf(!HAS_SHARED)(`handles the 200 bodies of the tricky cases${HAS_SHARED ? "" : ` (${SKIP_SHARED_REASON})`}`, () => {
    for (const f of readdirSync(CASES).filter((name) => name.endsWith(".json"))) {
      const c = JSON.parse(readFileSync(join(CASES, f), "utf8")) as {
        responses: { status: number; body?: unknown; bodyText?: string }[];
      };
      for (const res of c.responses.filter((x) => x.status === 200)) {
        const text = res.bodyText ?? JSON.stringify(res.body);
        if (text.startsWith("<")) {
          expect(() => parseProfileBody(text), f).toThrow(SyncError);
          continue;
        }
        const r = parseProfileBody(text);
        expect(r.warnings, f).toEqual([]);
        if (f.startsWith("06")) expect(r.profile.profile.momento_compra_atual?.novo_comportamento).toBe(true);
        if (f.startsWith("08")) expect(r.profile.profile.ocasioes_relevantes?.[0]?.["ocasião"]).toBe("Trabalho");
      }
    }
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it("reads delta-seconds, including decimals", () => {
    expect(parseRetryAfter("2", now)).toBe(2000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("1.5", now)).toBe(1500);
  });

  it("reads an HTTP date relative to now, never negative", () => {
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now)).toBe(0);
  });

  it("returns undefined for absent or garbage values", () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("5s", now)).toBeUndefined();
  });
});
