import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OWN_PROFILES_DIR } from "../src/cli/demo.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { HAS_SHARED, SHARED_DIR, SKIP_SHARED_REASON } from "./helpers/shared.js";

let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({ profilesDir: OWN_PROFILES_DIR, klaviyo: { bulkJobDelayMs: 0 } });
});
afterAll(async () => {
  await sb?.close();
});
beforeEach(() => {
  sb.reset();
});

type Json = Record<string, any>;

async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<{ status: number; headers: Headers; body: Json; text: string }> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(url, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  const text = await res.text();
  let parsed: Json = {};
  try {
    parsed = text ? (JSON.parse(text) as Json) : {};
  } catch {
    parsed = {};
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

// ------------------------------------------------------------------------------------- env

describe("startSandbox", () => {
  it("exposes env pointing at loopback stand-ins with fake tokens", () => {
    expect(sb.env.FASHIONAI_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/crm$/);
    expect(sb.env.HUBSPOT_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sb.env.KLAVIYO_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sb.env.FASHIONAI_APP_TOKEN).toBe("sandbox-fashionai-token");
    expect(sb.env.HUBSPOT_ACCESS_TOKEN).toBe("sandbox-hubspot-token");
    expect(sb.env.KLAVIYO_API_KEY).toBe("sandbox-klaviyo-key");
  });
});

// ------------------------------------------------------------------------------- Fashion.AI

describe("Fashion.AI stand-in", () => {
  const fa = (path: string, headers: Record<string, string> = { "X-FashionAI-APP-Token": "sandbox-fashionai-token" }) =>
    call(`${sb.env.FASHIONAI_BASE_URL}${path}`, { headers });

  it("serves the sample profiles by every identifier, decoding the segment", async () => {
    const expected = JSON.parse(readFileSync(join(OWN_PROFILES_DIR, "camila-ferraz.json"), "utf8"));
    for (const path of [
      "/protected/profile/email/camila.ferraz%40example.com",
      "/protected/profile/phone/5541981230101",
      "/protected/profile/document/28461590333",
      "/protected/profile/user-profile-id/fp_H4C8E2KD",
    ]) {
      const r = await fa(path);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/application\/json/);
      expect(r.body).toEqual(expected);
    }
    expect(sb.fashionai.lookups().map((l) => [l.by, l.value])).toEqual([
      ["email", "camila.ferraz@example.com"],
      ["phone", "5541981230101"],
      ["document", "28461590333"],
      ["user-profile-id", "fp_H4C8E2KD"],
    ]);
    expect(sb.fashionai.stats()["GET /api/v1/crm/protected/profile/email/{value}"]).toBe(1);
  });

  it("answers 404 for unknown identifiers (matching is exact: the client normalises)", async () => {
    const r = await fa("/protected/profile/email/Camila.Ferraz%40example.com");
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: "Not Found", message: "Profile not found" });
  });

  it("rejects a missing or wrong token, and any Authorization header", async () => {
    const path = "/protected/profile/email/camila.ferraz%40example.com";
    const variants: Record<string, string>[] = [
      {},
      { "X-FashionAI-APP-Token": "nope" },
      { "X-FashionAI-APP-Token": "sandbox-fashionai-token", Authorization: "Bearer sandbox-fashionai-token" },
    ];
    for (const headers of variants) {
      const r = await fa(path, headers);
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: "Unauthorized", message: "Invalid or missing authentication token" });
    }
  });

  it.skipIf(!HAS_SHARED)(`serves a shared case's scripted responses in turn${HAS_SHARED ? "" : ` (${SKIP_SHARED_REASON})`}`, async () => {
    const kase = JSON.parse(readFileSync(join(SHARED_DIR, "cases", "04-rate-limited-then-ok.json"), "utf8"));
    sb.fashionai.script("email", kase.lookup, kase.responses);
    const path = `/protected/profile/email/${encodeURIComponent(kase.lookup)}`;
    const first = await fa(path);
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("1");
    const second = await fa(path);
    expect(second.status).toBe(200);
    expect(second.body.userProfileId).toBe("fp_case0001");
    expect((await fa(path)).status).toBe(404); // script exhausted, nothing stored
  });

  it("serves scripted responses in turn, with @HTTPDATE retry-after and repeat", async () => {
    sb.fashionai.script("email", "d@x.com", [
      { status: 503, headers: { "retry-after": "@HTTPDATE+2" }, body: { error: "Service Unavailable", message: "x" } },
      { status: 200, headers: { "content-type": "text/html" }, bodyText: "<html>maintenance</html>", repeat: true },
    ]);
    const d = await fa("/protected/profile/email/d%40x.com");
    expect(d.status).toBe(503);
    const at = Date.parse(d.headers.get("retry-after") ?? "");
    expect(at - Date.now()).toBeGreaterThan(1000);
    expect(at - Date.now()).toBeLessThanOrEqual(3000);
    for (let i = 0; i < 3; i++) {
      const h = await fa("/protected/profile/email/d%40x.com");
      expect(h.status).toBe(200);
      expect(h.headers.get("content-type")).toBe("text/html");
      expect(h.text).toBe("<html>maintenance</html>");
    }
  });

  it("decodes an identifier with a slash kept inside one segment", async () => {
    sb.fashionai.addProfile({ document: "12/34" }, { userProfileId: "fp_slash", profile: {} });
    const r = await fa("/protected/profile/document/12%2F34");
    expect(r.status).toBe(200);
    expect(sb.fashionai.lookups()).toMatchObject([{ by: "document", value: "12/34", status: 200 }]);
  });

  it("scripted faults: 429 with Retry-After, then destroySocket, then a delay only", async () => {
    sb.fashionai.fault({ path: "/protected/profile/", status: 429, headers: { "Retry-After": "3" } });
    sb.fashionai.fault({ path: /phone/, destroySocket: true });
    const path = "/protected/profile/email/camila.ferraz%40example.com";
    const r = await fa(path);
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("3");
    expect(r.body).toEqual({ error: "Too Many Requests", message: "Too many requests, please slow down" });
    expect((await fa(path)).status).toBe(200); // times: 1
    await expect(fa("/protected/profile/phone/5541981230101")).rejects.toThrow();
    expect(sb.fashionai.lookups().map((l) => l.status)).toEqual([429, 200, 0]);

    sb.fashionai.fault({ delayMs: 120 });
    const t0 = Date.now();
    expect((await fa(path)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
  });

  it("rate limits with Retry-After", async () => {
    sb.fashionai.rateLimit({ limit: 2, windowMs: 60_000 });
    const path = "/protected/profile/email/camila.ferraz%40example.com";
    expect((await fa(path)).status).toBe(200);
    expect((await fa(path)).status).toBe(200);
    const r = await fa(path);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
  });
});

// ---------------------------------------------------------------------------------- HubSpot

describe("HubSpot stand-in", () => {
  const auth = { Authorization: "Bearer sandbox-hubspot-token" };
  const hs = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {}) =>
    call(`${sb.env.HUBSPOT_BASE_URL}${path}`, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });

  async function setupSchema() {
    expect((await hs("/crm/v3/properties/contacts/groups", { body: { name: "fashionai", label: "Fashion.AI" } })).status).toBe(201);
    const tone = await hs("/crm/v3/properties/contacts", {
      body: {
        name: "fashionai_tom_de_voz",
        label: "Tom de voz",
        type: "enumeration",
        fieldType: "checkbox",
        groupName: "fashionai",
        options: [
          { label: "autêntico", value: "autentico", hidden: false, displayOrder: 0 },
          { label: "sofisticado", value: "sofisticado", hidden: false, displayOrder: 1 },
        ],
      },
    });
    expect(tone.status).toBe(201);
    expect(tone.body).toMatchObject({ name: "fashionai_tom_de_voz", type: "enumeration", fieldType: "checkbox", groupName: "fashionai" });
    const batch = await hs("/crm/v3/properties/contacts/batch/create", {
      body: {
        inputs: [
          { name: "fashionai_estilo_geral", label: "Estilo", type: "string", fieldType: "textarea", groupName: "fashionai" },
          {
            name: "fashionai_novo_comportamento",
            label: "Novo comportamento",
            type: "bool",
            fieldType: "booleancheckbox",
            groupName: "fashionai",
            options: [
              { label: "Sim", value: "true", hidden: false },
              { label: "Não", value: "false", hidden: false },
            ],
          },
          { name: "fashionai_sincronizado_em", label: "Sincronizado em", type: "datetime", fieldType: "date", groupName: "fashionai" },
        ],
      },
    });
    expect(batch.status).toBe(201);
    expect(batch.body.results).toHaveLength(3);
  }

  const upsert = (inputs: unknown[]) => hs("/crm/v3/objects/contacts/batch/upsert", { body: { inputs } });
  const input = (email: string, properties: Record<string, unknown>) => ({ id: email, idProperty: "email", properties });

  it("requires a bearer token; a token without scopes gets 403", async () => {
    const none = await call(`${sb.env.HUBSPOT_BASE_URL}/crm/v3/properties/contacts`);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ status: "error", category: "INVALID_AUTHENTICATION" });
    expect(none.body.message).toMatch(/^Authentication credentials not found/);
    const wrong = await hs("/crm/v3/properties/contacts", { headers: { Authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);

    const scoped = await startSandbox({ hubspot: { missingScopes: ["no-scopes-token"] } });
    try {
      const r = await call(`${scoped.env.HUBSPOT_BASE_URL}/crm/v3/properties/contacts`, {
        headers: { Authorization: "Bearer no-scopes-token" },
      });
      expect(r.status).toBe(403);
      expect(r.body.category).toBe("MISSING_SCOPES");
    } finally {
      await scoped.close();
    }
  });

  it("manages property groups and properties with HubSpot's validation", async () => {
    await setupSchema();
    expect((await hs("/crm/v3/properties/contacts/groups/fashionai")).body).toMatchObject({ name: "fashionai", label: "Fashion.AI", archived: false });
    expect((await hs("/crm/v3/properties/contacts/groups/nope")).status).toBe(404);
    expect((await hs("/crm/v3/properties/contacts/groups", { body: { name: "fashionai", label: "x" } })).status).toBe(409);
    const groups = await hs("/crm/v3/properties/contacts/groups");
    expect(groups.body.results.map((g: Json) => g.name)).toContain("fashionai");

    const list = await hs("/crm/v3/properties/contacts");
    expect(list.body.results.map((p: Json) => p.name)).toEqual(expect.arrayContaining(["email", "fashionai_tom_de_voz"]));
    expect((await hs("/crm/v3/properties/contacts/fashionai_estilo_geral")).body.fieldType).toBe("textarea");
    expect((await hs("/crm/v3/properties/contacts/missing_prop")).status).toBe(404);

    const base = { label: "X", groupName: "fashionai" };
    const dup = await hs("/crm/v3/properties/contacts", { body: { ...base, name: "fashionai_estilo_geral", type: "string", fieldType: "text" } });
    expect(dup.status).toBe(409);
    expect(dup.body.category).toBe("OBJECT_ALREADY_EXISTS");
    expect((await hs("/crm/v3/properties/contacts", { body: { ...base, name: "a1", type: "string", fieldType: "checkbox" } })).status).toBe(400);
    expect((await hs("/crm/v3/properties/contacts", { body: { ...base, name: "a2", type: "bool", fieldType: "booleancheckbox" } })).status).toBe(400);
    expect((await hs("/crm/v3/properties/contacts", { body: { ...base, name: "a3", type: "date", fieldType: "date", groupName: "nope" } })).status).toBe(400);

    const patched = await hs("/crm/v3/properties/contacts/fashionai_tom_de_voz", {
      method: "PATCH",
      body: { options: [{ label: "acolhedor", value: "acolhedor", hidden: false }] },
    });
    expect(patched.status).toBe(200);
    expect(sb.hubspot.property("fashionai_tom_de_voz")?.options.map((o) => o.value)).toEqual(["acolhedor"]);
  });

  it("batch upsert creates then merges, never dropping unsent properties", async () => {
    await setupSchema();
    const first = await upsert([input("Ana@Example.com", { fashionai_tom_de_voz: "autentico;sofisticado", fashionai_estilo_geral: "Clássico" })]);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toMatch(/^application\/json/);
    expect(first.body).toMatchObject({ status: "COMPLETE", results: [{ new: true, properties: { fashionai_estilo_geral: "Clássico" } }] });
    expect(first.body.results[0].id).toMatch(/^\d+$/);
    const second = await upsert([
      input("ana@example.com", { fashionai_novo_comportamento: "true", fashionai_sincronizado_em: "2026-01-02T03:04:05Z" }),
    ]);
    expect(second.status).toBe(200);
    expect(second.body.results[0]).toMatchObject({ new: false, id: first.body.results[0].id });
    expect(sb.hubspot.contact("ana@example.com")?.properties).toMatchObject({
      email: "ana@example.com",
      fashionai_tom_de_voz: "autentico;sofisticado",
      fashionai_estilo_geral: "Clássico",
      fashionai_novo_comportamento: "true",
      fashionai_sincronizado_em: "2026-01-02T03:04:05.000Z",
    });
    expect(sb.hubspot.contacts()).toHaveLength(1);
  });

  it("rejects 101 inputs, duplicate ids, unknown properties, invalid options and non-string values as a whole batch", async () => {
    await setupSchema();
    const many = Array.from({ length: 101 }, (_, i) => input(`u${i}@example.com`, { fashionai_estilo_geral: "x" }));
    const tooMany = await upsert(many);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ status: "error", category: "VALIDATION_ERROR" });
    expect(tooMany.body.message).toMatch(/100/);
    expect((await upsert(many.slice(0, 100))).status).toBe(200);
    sb.hubspot.reset();
    await setupSchema();

    const dup = await upsert([input("a@example.com", {}), input("A@example.com", {})]);
    expect(dup.status).toBe(400);
    expect(dup.body.category).toBe("VALIDATION_ERROR");
    expect(dup.body.message).toMatch(/Duplicate IDs/);

    const unknown = await upsert([input("a@example.com", { nope_prop: "x" })]);
    expect(unknown.status).toBe(400);
    expect(unknown.body.category).toBe("VALIDATION_ERROR");
    const inner = JSON.parse(unknown.body.message.replace(/^Property values were not valid: /, ""));
    expect(inner[0]).toMatchObject({ isValid: false, error: "PROPERTY_DOESNT_EXIST", name: "nope_prop", message: 'Property "nope_prop" does not exist' });

    const badOption = await upsert([input("a@example.com", { fashionai_tom_de_voz: "autentico;elegante" })]);
    expect(badOption.status).toBe(400);
    expect(badOption.body.message).toMatch(/INVALID_OPTION/);
    expect(badOption.body.message).toMatch(/elegante was not one of the allowed options/);

    expect((await upsert([input("a@example.com", { fashionai_novo_comportamento: "TRUE" })])).status).toBe(400);
    expect((await upsert([input("a@example.com", { fashionai_novo_comportamento: true })])).status).toBe(400);
    expect((await upsert([input("a@example.com", { fashionai_sincronizado_em: "yesterday" })])).status).toBe(400);
    expect((await upsert([input("a@example.com", { fashionai_estilo_geral: "x".repeat(65_537) })])).status).toBe(400);
    expect((await upsert([input("a@example.com", { fashionai_estilo_geral: "x".repeat(65_536) })])).status).toBe(200);
    expect(sb.hubspot.contacts()).toHaveLength(1);
  });

  it("reports an invalid email per record with 207", async () => {
    await setupSchema();
    const r = await upsert([input("good@example.com", { fashionai_estilo_geral: "x" }), input("not-an-email", { fashionai_estilo_geral: "y" })]);
    expect(r.status).toBe(207);
    expect(r.body.results).toHaveLength(1);
    expect(r.body.numErrors).toBe(1);
    expect(r.body.errors[0]).toMatchObject({ status: "error", category: "VALIDATION_ERROR", context: { ids: ["not-an-email"] } });
    expect(sb.hubspot.contact("good@example.com")).toBeDefined();
  });

  it("batch read by email and paged listing", async () => {
    await setupSchema();
    for (let i = 0; i < 5; i++) sb.hubspot.addContact(`p${i}@example.com`, { fashionai_estilo_geral: `s${i}` });
    const read = await hs("/crm/v3/objects/contacts/batch/read", {
      body: { idProperty: "email", inputs: [{ id: "P1@example.com" }, { id: "zz@example.com" }], properties: ["fashionai_estilo_geral", "fashionai_tom_de_voz"], propertiesWithHistory: [] },
    });
    expect(read.status).toBe(207);
    expect(read.body.results[0].properties).toMatchObject({ fashionai_estilo_geral: "s1", fashionai_tom_de_voz: null });
    expect(read.body.errors[0]).toMatchObject({ category: "OBJECT_NOT_FOUND", context: { ids: ["zz@example.com"] } });

    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const q = new URLSearchParams({ limit: "2", properties: "email,fashionai_estilo_geral" });
      if (after) q.set("after", after);
      const page = await hs(`/crm/v3/objects/contacts?${q}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.results.map((c: Json) => c.properties.email));
      after = page.body.paging?.next?.after;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen).toEqual(["p0@example.com", "p1@example.com", "p2@example.com", "p3@example.com", "p4@example.com"]);
    expect((await hs("/crm/v3/objects/contacts?limit=101")).status).toBe(400);
  });

  it("429 rate-limit mode with policyName and X-HubSpot-RateLimit headers", async () => {
    sb.hubspot.rateLimit({ limit: 1, windowMs: 10_000 });
    const ok = await hs("/crm/v3/properties/contacts/groups");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-hubspot-ratelimit-max")).toBe("1");
    const limited = await hs("/crm/v3/properties/contacts/groups");
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ status: "error", errorType: "RATE_LIMIT", policyName: "TEN_SECONDLY_ROLLING" });
    expect(limited.headers.get("x-hubspot-ratelimit-remaining")).toBe("0");
    expect(limited.headers.get("x-hubspot-ratelimit-interval-milliseconds")).toBe("10000");
  });

  it("scripted 5xx fault, 413 over 5 MB, 415 for non-JSON and 404 for unknown routes", async () => {
    sb.hubspot.fault({ method: "POST", path: "/crm/v3/objects/contacts/batch/upsert", status: 502, times: 2 });
    expect((await upsert([])).status).toBe(502);
    expect((await upsert([])).status).toBe(502);
    expect((await upsert([])).status).toBe(200);
    expect(sb.hubspot.stats()["POST /crm/v3/objects/contacts/batch/upsert"]).toBe(3);
    expect(sb.hubspot.requests.filter((r) => r.injected === "fault")).toHaveLength(2);

    const huge = await hs("/crm/v3/objects/contacts/batch/upsert", {
      rawBody: JSON.stringify({ inputs: [], pad: "x".repeat(5 * 1024 * 1024) }),
      headers: { "content-type": "application/json" },
    });
    expect(huge.status).toBe(413);
    const text = await hs("/crm/v3/objects/contacts/batch/upsert", { rawBody: JSON.stringify({ inputs: [] }), headers: { "content-type": "text/plain" } });
    expect(text.status).toBe(415);
    expect((await hs("/crm/v3/objects/companies/batch/upsert", { body: { inputs: [] } })).status).toBe(404);
  });
});

// ---------------------------------------------------------------------------------- Klaviyo

describe("Klaviyo stand-in", () => {
  const base = { Authorization: "Klaviyo-API-Key sandbox-klaviyo-key", revision: "2026-07-15", accept: "application/vnd.api+json" };
  const kl = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    call(`${sb.env.KLAVIYO_BASE_URL}${path}`, {
      ...init,
      headers: { ...base, ...(init.body !== undefined ? { "content-type": "application/vnd.api+json" } : {}), ...(init.headers ?? {}) },
    });
  const importProfile = (attributes: Json, meta?: Json) =>
    kl("/api/profile-import", { body: { data: { type: "profile", attributes, ...(meta ? { meta } : {}) } } });
  const event = (email: string, uniqueId: string | undefined, props: Json = {}) =>
    kl("/api/events", {
      body: {
        data: {
          type: "event",
          attributes: {
            properties: props,
            metric: { data: { type: "metric", attributes: { name: "Fashion.AI Novo Comportamento" } } },
            profile: { data: { type: "profile", attributes: { email } } },
            ...(uniqueId ? { unique_id: uniqueId } : {}),
          },
        },
      },
    });

  it("requires the private key and the revision header", async () => {
    const none = await kl("/api/profiles", { headers: { Authorization: "" } });
    expect(none.status).toBe(401);
    expect(none.body.errors[0]).toMatchObject({ status: 401, code: "not_authenticated", title: "Authentication credentials were not provided." });
    const wrong = await kl("/api/profiles", { headers: { Authorization: "Klaviyo-API-Key pk_wrong" } });
    expect(wrong.status).toBe(401);
    const bearer = await kl("/api/profiles", { headers: { Authorization: "Bearer sandbox-klaviyo-key" } });
    expect(bearer.status).toBe(401);
    const noRevision = await call(`${sb.env.KLAVIYO_BASE_URL}/api/profiles`, { headers: { Authorization: base.Authorization } });
    expect(noRevision.status).toBe(400);
    expect(noRevision.headers.get("content-type")).toBe("application/vnd.api+json");
    expect(noRevision.body.errors[0]).toMatchObject({ code: "invalid", detail: "Missing revision header" });
  });

  it("profile-import creates (201), then merges properties (200), null removes one", async () => {
    const created = await importProfile({ email: "Bia@Example.com", properties: { a: "1", tones: ["x"] } });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ type: "profile", attributes: { email: "Bia@Example.com", properties: { a: "1", tones: ["x"] } } });
    const id = created.body.data.id;
    const updated = await importProfile({ email: "bia@example.com", properties: { b: true, a: null } });
    expect(updated.status).toBe(200);
    expect(updated.body.data.id).toBe(id);
    expect(sb.klaviyo.profile("bia@example.com")).toEqual({ tones: ["x"], b: true });
    await importProfile({ email: "bia@example.com" }, { patch_properties: { unset: "tones" } });
    expect(sb.klaviyo.profile("bia@example.com")).toEqual({ b: true });

    expect((await importProfile({ email: "not-an-email" })).status).toBe(400);
    expect((await importProfile({ properties: { a: 1 } })).status).toBe(400);
    const unknownField = await importProfile({ email: "c@example.com", fashionai_x: "top-level by mistake" });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.errors[0].source.pointer).toBe("/data/attributes/fashionai_x");
    const big = await importProfile({ email: "c@example.com", properties: { t: "x".repeat(101 * 1024) } });
    expect(big.status).toBe(413);
  });

  it("lists profiles with an email filter and cursor paging", async () => {
    for (let i = 0; i < 5; i++) sb.klaviyo.addProfile(`k${i}@example.com`, { i });
    const one = await kl(`/api/profiles?filter=${encodeURIComponent('equals(email,"K3@example.com")')}`);
    expect(one.status).toBe(200);
    expect(one.body.data.map((p: Json) => p.attributes.email)).toEqual(["k3@example.com"]);

    const seen: string[] = [];
    let next: string | undefined = `${sb.env.KLAVIYO_BASE_URL}/api/profiles?page[size]=2`;
    let pages = 0;
    while (next) {
      const page = await call(next, { headers: base });
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((p: Json) => p.attributes.email));
      next = page.body.links.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5);
    expect((await kl("/api/profiles?page[size]=101")).status).toBe(400);
    expect((await kl(`/api/profiles?filter=${encodeURIComponent("equals(email")}`)).status).toBe(400);
  });

  it("accepts events with 202 and stores a repeated unique_id once", async () => {
    const r1 = await event("ev@example.com", "moment-1", { resumo: "x" });
    expect(r1.status).toBe(202);
    expect(r1.text).toBe("");
    expect((await event("ev@example.com", "moment-1", { resumo: "x" })).status).toBe(202);
    expect((await event("ev@example.com", "moment-2")).status).toBe(202);
    expect(sb.klaviyo.events().map((e) => e.uniqueId)).toEqual(["moment-1", "moment-2"]);
    expect(sb.klaviyo.eventPosts().map((e) => e.duplicate)).toEqual([false, true, false]);
    expect(sb.klaviyo.profileRecord("ev@example.com")).toBeDefined(); // events upsert their profile
    const noMetric = await kl("/api/events", {
      body: { data: { type: "event", attributes: { properties: {}, metric: { data: { type: "metric", attributes: {} } }, profile: { data: { type: "profile", attributes: { email: "a@example.com" } } } } } },
    });
    expect(noMetric.status).toBe(400);
  });

  it("bulk import jobs: counts, import errors and the profiles they write", async () => {
    const profiles = [
      { type: "profile", attributes: { email: "b1@example.com", properties: { p: 1 } } },
      { type: "profile", attributes: { email: "bad-email", properties: { p: 2 } } },
      { type: "profile", attributes: { email: "b3@example.com", properties: { p: 3 } } },
    ];
    const created = await kl("/api/profile-bulk-import-jobs", {
      body: { data: { type: "profile-bulk-import-job", attributes: { profiles: { data: profiles } } } },
    });
    expect(created.status).toBe(202);
    expect(created.body.data).toMatchObject({ type: "profile-bulk-import-job", attributes: { status: "queued", total_count: 3 } });
    const id = created.body.data.id;
    const job = await kl(`/api/profile-bulk-import-jobs/${id}`);
    expect(job.body.data.attributes).toMatchObject({ status: "complete", completed_count: 2, failed_count: 1, total_count: 3 });
    const errs = await kl(`/api/profile-bulk-import-jobs/${id}/import-errors`);
    expect(errs.body.data).toHaveLength(1);
    expect(errs.body.data[0]).toMatchObject({ type: "import-error", attributes: { code: "invalid", source: { pointer: "/data/attributes/profiles/data/1/attributes/email" } } });
    expect(sb.klaviyo.profile("b3@example.com")).toEqual({ p: 3 });
    expect((await kl("/api/profile-bulk-import-jobs/nope")).status).toBe(404);

    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ type: "profile", attributes: { email: `m${i}@e.co` } }));
    const r = await kl("/api/profile-bulk-import-jobs", {
      body: { data: { type: "profile-bulk-import-job", attributes: { profiles: { data: tooMany } } } },
    });
    expect(r.status).toBe(400);
  });

  it("a delayed bulk job is processing until its time", async () => {
    const delayed = await startSandbox({ klaviyo: { bulkJobDelayMs: 150 } });
    try {
      const h = { ...base, "content-type": "application/vnd.api+json" };
      const created = await call(`${delayed.env.KLAVIYO_BASE_URL}/api/profile-bulk-import-jobs`, {
        headers: h,
        body: { data: { type: "profile-bulk-import-job", attributes: { profiles: { data: [{ type: "profile", attributes: { email: "d@example.com" } }] } } } },
      });
      const url = `${delayed.env.KLAVIYO_BASE_URL}/api/profile-bulk-import-jobs/${created.body.data.id}`;
      expect((await call(url, { headers: base })).body.data.attributes.status).toBe("processing");
      expect(delayed.klaviyo.profileRecord("d@example.com")).toBeUndefined();
      await new Promise((r) => setTimeout(r, 170));
      expect((await call(url, { headers: base })).body.data.attributes.status).toBe("complete");
      expect(delayed.klaviyo.profileRecord("d@example.com")).toBeDefined();
    } finally {
      await delayed.close();
    }
  });

  it("429s carry Retry-After (rate limiter and scripted fault)", async () => {
    sb.klaviyo.rateLimit({ limit: 1, windowMs: 1000, path: "/api/profile-import" });
    expect((await importProfile({ email: "r@example.com" })).status).toBe(201);
    const limited = await importProfile({ email: "r@example.com" });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(limited.body.errors[0]).toMatchObject({ status: 429, code: "throttled" });
    expect((await kl("/api/profiles")).status).toBe(200); // other paths are not limited

    sb.klaviyo.clearRateLimits();
    sb.klaviyo.fault({ path: "/api/events", status: 429, headers: { "Retry-After": "7" } });
    const faulted = await event("r@example.com", "u");
    expect(faulted.status).toBe(429);
    expect(faulted.headers.get("retry-after")).toBe("7");
    expect(faulted.body.errors[0].code).toBe("throttled");
  });

  it("destroySocket breaks the connection", async () => {
    sb.klaviyo.fault({ method: "POST", path: "/api/profile-import", destroySocket: true });
    await expect(importProfile({ email: "x@example.com" })).rejects.toThrow();
    expect((await importProfile({ email: "x@example.com" })).status).toBe(201);
  });
});
