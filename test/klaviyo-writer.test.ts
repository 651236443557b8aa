// The Klaviyo writer (profile import + Novo Comportamento event) over real HTTP against the Klaviyo stand-in.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FIXTURES, useStandIns } from "./helpers/stand-ins.js";
import { runSync } from "../src/pipeline/sync.js";
import { parseProfileBody } from "../src/fashionai/schema.js";
import { mapToKlaviyo, novoComportamentoUniqueId } from "../connectors/klaviyo/mapping.js";
import { type RecordedRequest, type Sandbox } from "../src/sandbox/index.js";

const INDEX = JSON.parse(readFileSync(`${FIXTURES}/index.json`, "utf8")) as Array<{ file: string; email: string }>;
const CAMILA = "camila.ferraz@example.com"; // novo_comportamento: true
const BEATRIZ = "beatriz.nogueira@example.com"; // novo_comportamento: "true" (string)
const GUSTAVO = "gustavo.teixeira@example.com"; // novo_comportamento: false
const LUCAS = "lucas.barbosa@example.com"; // novo_comportamento absent
const METRIC = "Fashion.AI Novo Comportamento";

const PROFILE_IMPORT = "POST /api/profile-import";
const EVENTS = "POST /api/events";

const { sandbox, runtime } = useStandIns({ to: ["klaviyo"] });

function fixtureText(email: string): string {
  const entry = INDEX.find((e) => e.email === email)!;
  return readFileSync(`${FIXTURES}/${entry.file}`, "utf8");
}
function fixtureBody(email: string): { userProfileId: string; profile: Record<string, any> } {
  return JSON.parse(fixtureText(email));
}

const calls = (sb: Sandbox, route: string): RecordedRequest[] => sb.klaviyo.requests.filter((r) => r.route === route);

describe("Klaviyo profiles", () => {
  it("writes profile properties by email exactly as the mapping gives", async () => {
    const sb = await sandbox();
    const rt = runtime(sb);
    const at = new Date("2025-03-04T05:06:07.000Z");
    rt.deps.now = () => at;
    const emails = INDEX.map((e) => e.email);
    const report = await runSync(emails.map((identifier) => ({ identifier })), rt.deps);
    expect(report.summary).toMatchObject({ requested: emails.length, synced: emails.length });

    for (const email of emails) {
      const expected = mapToKlaviyo(parseProfileBody(fixtureText(email)).profile, { syncedAt: at }).properties;
      expect(sb.klaviyo.profile(email), email).toEqual(expected);
      const result = report.results.find((r) => r.identifier === email)!;
      expect(result.connectors!.klaviyo).toMatchObject({ status: "written", properties: expected });
    }
    const camila = sb.klaviyo.profile(CAMILA)!;
    expect(camila.fashionai_tom_de_voz).toEqual(["sofisticado", "minimalista"]);
    expect(camila.fashionai_novo_comportamento).toBe(true);
    expect(camila.fashionai_sincronizado_em).toBe("2025-03-04T05:06:07.000Z");
    expect(sb.klaviyo.profile(GUSTAVO)!.fashionai_tom_de_voz).toEqual(["leve; divertido", "ousado"]);

    // One profile-import per record, keyed by email only.
    const imports = calls(sb, PROFILE_IMPORT);
    expect(imports).toHaveLength(emails.length);
    for (const r of imports) {
      const data = (r.body as { data: { type: string; attributes: Record<string, unknown> } }).data;
      expect(data.type).toBe("profile");
      expect(Object.keys(data.attributes).sort()).toEqual(["email", "properties"]);
      expect(r.headers.revision).toMatch(/^\d{4}-\d{2}-\d{2}/);
      expect(r.headers.authorization).toBe(`Klaviyo-API-Key ${sb.env.KLAVIYO_API_KEY}`);
    }
    expect(sb.klaviyo.profiles()).toHaveLength(emails.length);
  });

  it("a lookup by phone writes the profile of the email given", async () => {
    const sb = await sandbox();
    const report = await runSync([{ identifier: "+55 41 98123-0101", by: "phone", email: "Outra@Example.com" }], runtime(sb).deps);
    expect(report.results[0]!.status).toBe("synced");
    expect(sb.klaviyo.profileRecord("outra@example.com")?.email).toBe("outra@example.com");
    expect(sb.klaviyo.profile("outra@example.com")!.fashionai_user_profile_id).toBe("fp_H4C8E2KD");
    expect(sb.klaviyo.profile(CAMILA)).toBeUndefined();
  });
});

describe("Klaviyo Novo Comportamento event", () => {
  it("is sent once per moment, only for profiles with novo_comportamento true", async () => {
    const sb = await sandbox();
    const report = await runSync([CAMILA, BEATRIZ, GUSTAVO, LUCAS].map((identifier) => ({ identifier })), runtime(sb).deps);
    expect(report.summary.synced).toBe(4);

    const posts = sb.klaviyo.eventPosts();
    expect(posts.map((p) => p.email).sort()).toEqual([BEATRIZ, CAMILA]);
    const camila = posts.find((p) => p.email === CAMILA)!;
    const parsed = parseProfileBody(fixtureText(CAMILA)).profile;
    expect(camila).toMatchObject({ metric: METRIC, uniqueIdSent: true, uniqueId: novoComportamentoUniqueId(parsed), duplicate: false });
    expect(camila.properties).toEqual({
      resumo: "Preparando a transição para o outono com uma peça de investimento",
      oportunidades: [
        "Sugerir estampas geométricas discretas que conversem com a base neutra",
        "Convite para pré-venda da coleção de outono",
      ],
      "navegações": [
        "02/04: visualizou Trench coat de gabardine caramelo",
        "03/04: adicionou ao carrinho Lenço de seda estampado geométrico",
      ],
    });
    expect(sb.klaviyo.events()).toHaveLength(2);

    const byEmail = new Map(report.results.map((r) => [r.identifier, r]));
    expect(byEmail.get(CAMILA)!.connectors!.klaviyo!.event).toEqual({ metric: METRIC, uniqueId: camila.uniqueId, status: "sent" });
    expect(byEmail.get(GUSTAVO)!.connectors!.klaviyo!.event).toBeUndefined();
    expect(byEmail.get(LUCAS)!.connectors!.klaviyo!.event).toBeUndefined();
    // The profile is written before its event.
    const imp = calls(sb, PROFILE_IMPORT).find((r) => JSON.stringify(r.body).includes(CAMILA))!;
    const ev = calls(sb, EVENTS).find((r) => JSON.stringify(r.body).includes(CAMILA))!;
    expect(ev.at).toBeGreaterThanOrEqual(imp.at);
  });

  it("a re-sync of the same moment sends the same unique_id and Klaviyo stores one event; a changed moment a new one", async () => {
    const sb = await sandbox();
    const first = runtime(sb);
    first.deps.now = () => new Date("2025-01-01T00:00:00Z");
    await runSync([{ identifier: CAMILA }], first.deps);
    const second = runtime(sb);
    second.deps.now = () => new Date("2025-02-01T00:00:00Z"); // a later sync time does not make a new moment
    await runSync([{ identifier: CAMILA }], second.deps);

    let posts = sb.klaviyo.eventPosts();
    expect(posts).toHaveLength(2);
    expect(posts[1]!.uniqueId).toBe(posts[0]!.uniqueId);
    expect(posts[1]!.duplicate).toBe(true);
    expect(sb.klaviyo.events()).toHaveLength(1);
    expect(sb.klaviyo.profile(CAMILA)!.fashionai_sincronizado_em).toBe("2025-02-01T00:00:00.000Z");

    // Whitespace-only differences are the same moment.
    const spaced = fixtureBody(CAMILA);
    spaced.profile.momento_compra_atual.resumo_momento = `  ${spaced.profile.momento_compra_atual.resumo_momento}\n`;
    sb.fashionai.addProfile({ email: CAMILA }, spaced);
    await runSync([{ identifier: CAMILA }], runtime(sb).deps);
    expect(sb.klaviyo.events()).toHaveLength(1);

    const changed = fixtureBody(CAMILA);
    changed.profile.momento_compra_atual.resumo_momento = "Procurando um casaco para viagem ao frio";
    sb.fashionai.addProfile({ email: CAMILA }, changed);
    await runSync([{ identifier: CAMILA }], runtime(sb).deps);
    posts = sb.klaviyo.eventPosts();
    expect(posts).toHaveLength(4);
    expect(posts[3]!.uniqueId).not.toBe(posts[0]!.uniqueId);
    expect(posts[3]!.duplicate).toBe(false);
    const events = sb.klaviyo.events();
    expect(events).toHaveLength(2);
    expect(events[1]!.properties.resumo).toBe("Procurando um casaco para viagem ao frio");
  });

  it("a profile that stops having novo_comportamento true sends no event", async () => {
    const sb = await sandbox();
    const body = fixtureBody(CAMILA);
    body.profile.momento_compra_atual.novo_comportamento = false;
    sb.fashionai.addProfile({ email: CAMILA }, body);
    const report = await runSync([{ identifier: CAMILA }], runtime(sb).deps);
    expect(report.results[0]!.status).toBe("synced");
    expect(sb.klaviyo.profile(CAMILA)!.fashionai_novo_comportamento).toBe(false);
    expect(calls(sb, EVENTS)).toHaveLength(0);
    expect(sb.klaviyo.eventPosts()).toEqual([]);
  });
});

describe("Klaviyo faults", () => {
  it("a 429 with Retry-After (seconds) on profile import is waited out, then written", async () => {
    const sb = await sandbox();
    sb.klaviyo.fault({ method: "POST", path: "/api/profile-import", status: 429, headers: { "Retry-After": "1" } });
    const report = await runSync([{ identifier: GUSTAVO }], runtime(sb).deps);
    expect(report.results[0]!.status).toBe("synced");
    const imports = calls(sb, PROFILE_IMPORT);
    expect(imports.map((r) => r.status)).toEqual([429, 201]);
    expect(imports[1]!.at - imports[0]!.at).toBeGreaterThanOrEqual(950);
    expect(sb.klaviyo.profile(GUSTAVO)).toBeDefined();
  });

  it("a 429 with Retry-After as an HTTP date on the event is waited out, and the event stored once", async () => {
    const sb = await sandbox();
    sb.klaviyo.fault({ method: "POST", path: "/api/events", status: 429, headers: { "Retry-After": "@HTTPDATE+1" } });
    const report = await runSync([{ identifier: CAMILA }], runtime(sb).deps);
    expect(report.results[0]!.status).toBe("synced");
    const evs = calls(sb, EVENTS);
    expect(evs.map((r) => r.status)).toEqual([429, 202]);
    expect(evs[1]!.at - evs[0]!.at).toBeGreaterThanOrEqual(900);
    expect(calls(sb, PROFILE_IMPORT)).toHaveLength(1); // only the failed call is retried
    expect(sb.klaviyo.events()).toHaveLength(1);
  });

  it("a Klaviyo rate limiter is honoured: every profile ends written", async () => {
    const sb = await sandbox();
    sb.klaviyo.rateLimit({ limit: 5, windowMs: 1000, path: "/api/profile-import", retryAfter: true });
    const emails = INDEX.map((e) => e.email);
    const report = await runSync(emails.map((identifier) => ({ identifier })), runtime(sb).deps);
    expect(report.summary.synced).toBe(emails.length);
    expect(calls(sb, PROFILE_IMPORT).some((r) => r.status === 429)).toBe(true);
    expect(sb.klaviyo.profiles()).toHaveLength(emails.length);
  });

  it("a Klaviyo failure for a record fails that record (reason names klaviyo) while HubSpot was still written", async () => {
    const sb = await sandbox();
    sb.klaviyo.fault({ method: "POST", path: "/api/events", status: 400, body: { errors: [{ status: 400, code: "invalid", title: "Invalid input.", detail: "Metric name is not allowed." }] } });
    const rt = runtime(sb, {}, { to: ["hubspot", "klaviyo"] });
    const report = await runSync([{ identifier: CAMILA }, { identifier: GUSTAVO }], rt.deps);

    expect(report.results.map((r) => r.status)).toEqual(["failed", "synced"]);
    const camila = report.results[0]!;
    expect(camila.reason).toMatch(/^klaviyo: Klaviyo answered 400 to event create: Metric name is not allowed\./);
    expect(camila.connectors!.hubspot!.status).toBe("written");
    expect(camila.connectors!.klaviyo).toMatchObject({ status: "failed", fault: "permanent" });
    expect(sb.hubspot.contact(CAMILA)!.properties.fashionai_user_profile_id).toBe("fp_H4C8E2KD");
    expect(sb.hubspot.contact(GUSTAVO)).toBeDefined();
    expect(sb.klaviyo.profile(GUSTAVO)).toBeDefined();
    expect(calls(sb, EVENTS)).toHaveLength(1); // a 400 is not retried
  });

  it("a 5xx repeated past the attempts fails the record with a reason; HubSpot still written", async () => {
    const sb = await sandbox();
    sb.klaviyo.fault({ method: "POST", path: "/api/profile-import", status: 503, times: Infinity });
    const rt = runtime(sb, { FASHIONAI_SYNC_RETRY_ATTEMPTS: "3" }, { to: ["hubspot", "klaviyo"] });
    const report = await runSync([{ identifier: GUSTAVO }], rt.deps);
    const r = report.results[0]!;
    expect(r.status).toBe("failed");
    expect(r.reason).toMatch(/^klaviyo: Klaviyo answered 503 to profile import/);
    expect(r.connectors!.klaviyo).toMatchObject({ status: "failed", fault: "transient" });
    expect(r.connectors!.hubspot!.status).toBe("written");
    expect(calls(sb, PROFILE_IMPORT)).toHaveLength(3);
    expect(sb.hubspot.contact(GUSTAVO)).toBeDefined();
  });

  it("a profile Klaviyo rejects (invalid email) is failed without retries; the others are written", async () => {
    const sb = await sandbox();
    sb.fashionai.addProfile({ email: "ana@intranet" }, fixtureBody(GUSTAVO));
    const report = await runSync([{ identifier: "ana@intranet" }, { identifier: CAMILA }], runtime(sb).deps);
    expect(report.results.map((r) => r.status)).toEqual(["failed", "synced"]);
    expect(report.results[0]!.reason).toMatch(/Klaviyo answered 400 to profile import: Invalid email address/);
    expect(calls(sb, PROFILE_IMPORT).filter((r) => JSON.stringify(r.body).includes("ana@intranet"))).toHaveLength(1);
    expect(sb.klaviyo.profile(CAMILA)).toBeDefined();
  });

  it("SDK retries are off: a 429 without Retry-After or a 503 with attempts=1 → exactly one call", async () => {
    for (const status of [429, 503]) {
      const sb = await sandbox();
      sb.klaviyo.fault({ method: "POST", path: "/api/profile-import", status });
      const started = Date.now();
      const report = await runSync([{ identifier: GUSTAVO }], runtime(sb, { FASHIONAI_SYNC_RETRY_ATTEMPTS: "1" }).deps);
      expect(report.results[0]!.status, String(status)).toBe("failed");
      expect(calls(sb, PROFILE_IMPORT), String(status)).toHaveLength(1);
      expect(report.results[0]!.connectors!.klaviyo!.fault).toBe(status === 429 ? "rate_limited" : "transient");
      expect(Date.now() - started).toBeLessThan(2_000);
    }
  });
});
