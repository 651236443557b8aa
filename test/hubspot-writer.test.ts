// The HubSpot writer (schema sync + batch upsert) over real HTTP against the HubSpot stand-in.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FIXTURES, useStandIns } from "./helpers/stand-ins.js";
import { runSync } from "../src/pipeline/sync.js";
import type { SyncRequest } from "../src/pipeline/types.js";
import { parseProfileBody } from "../src/fashionai/schema.js";
import { mapToHubSpot } from "../connectors/hubspot/mapping.js";
import { batchesByUniqueEmail } from "../connectors/shared/writer.js";
import { type RecordedRequest, type Sandbox } from "../src/sandbox/index.js";

const INDEX = JSON.parse(readFileSync(`${FIXTURES}/index.json`, "utf8")) as Array<{ file: string; email: string }>;
const EMAILS = INDEX.map((e) => e.email);
const CAMILA = "camila.ferraz@example.com";
const GUSTAVO = "gustavo.teixeira@example.com";

const UPSERT = "POST /crm/v3/objects/contacts/batch/upsert";
const CREATE_PROPS = "POST /crm/v3/properties/{objectType}/batch/create";
const CREATE_PROP = "POST /crm/v3/properties/{objectType}";
const PATCH_PROP = "PATCH /crm/v3/properties/{objectType}/{propertyName}";
const CREATE_GROUP = "POST /crm/v3/properties/{objectType}/groups";

/** PRODUCT.md "CRM schema (defaults)": key → HubSpot type / fieldType. */
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

const { sandbox, runtime } = useStandIns({ to: ["hubspot"] });

function fixtureBody(file: string): { userProfileId: string; profile: Record<string, any> } {
  return JSON.parse(readFileSync(`${FIXTURES}/${file}`, "utf8"));
}

const calls = (sb: Sandbox, route: string): RecordedRequest[] => sb.hubspot.requests.filter((r) => r.route === route);
const upsertInputs = (r: RecordedRequest) => (r.body as { inputs: Array<{ id: string; idProperty: string; properties: Record<string, string> }> }).inputs;

/** Adds `n` profiles (copies of Camila's with their own id), returning their emails in order. */
function addClients(sb: Sandbox, n: number, prefix = "cliente"): string[] {
  const base = fixtureBody("camila-ferraz.json");
  const emails: string[] = [];
  for (let i = 0; i < n; i++) {
    const email = `${prefix}${i}@example.com`;
    sb.fashionai.addProfile({ email }, { ...base, userProfileId: `fp_${prefix}_${i}` });
    emails.push(email);
  }
  return emails;
}

describe("HubSpot schema sync", () => {
  it("a first sync creates the group, all 16 properties with their types and the options records need", async () => {
    const sb = await sandbox();
    const report = await runSync(EMAILS.map((identifier) => ({ identifier })), runtime(sb).deps);
    expect(report.summary.synced).toBe(EMAILS.length);

    expect(sb.hubspot.group("fashionai")).toMatchObject({ name: "fashionai", label: "Fashion.AI" });
    expect(calls(sb, CREATE_GROUP)).toHaveLength(1);
    const ours = sb.hubspot.properties().filter((p) => p.name.startsWith("fashionai_"));
    expect(ours.map((p) => p.name).sort()).toEqual(Object.keys(SCHEMA).sort());
    for (const p of ours) {
      expect([p.type, p.fieldType], p.name).toEqual(SCHEMA[p.name]);
      expect(p.groupName).toBe("fashionai");
      expect(p.label).toMatch(/\S/);
    }
    const tone = sb.hubspot.property("fashionai_tom_de_voz")!;
    const toneValues = tone.options.map((o) => o.value);
    // Every tone of the sample profiles, slugged, once each.
    for (const v of ["sofisticado", "minimalista", "leve_divertido", "ousado", "romantico", "acolhedor", "inspiracional", "objetivo", "divertido"]) {
      expect(toneValues).toContain(v);
    }
    expect(new Set(toneValues).size).toBe(toneValues.length);
    expect(tone.options.find((o) => o.value === "romantico")?.label).toBe("romântico");
    expect(tone.options.find((o) => o.value === "leve_divertido")?.label).toBe("leve; divertido");
    const occasions = sb.hubspot.property("fashionai_ocasioes")!.options.map((o) => o.value);
    expect(occasions).toContain("sustentacao_oral_no_tribunal");
    expect(occasions).toContain("vernissage_e_jantar_com_colegas");
    expect(sb.hubspot.property("fashionai_novo_comportamento")!.options.map((o) => o.value).sort()).toEqual(["false", "true"]);

    // All options exist, so every record's values were accepted.
    expect(sb.hubspot.contact(CAMILA)!.properties.fashionai_tom_de_voz).toBe("sofisticado;minimalista");
    expect(sb.hubspot.contact(GUSTAVO)!.properties.fashionai_tom_de_voz).toBe("leve_divertido;ousado");
  });

  it("a second sync (new runtime, or the same one) creates nothing", async () => {
    const sb = await sandbox();
    const requests: SyncRequest[] = EMAILS.map((identifier) => ({ identifier }));
    await runSync(requests, runtime(sb).deps);
    const schemaWrites = () => calls(sb, CREATE_PROPS).length + calls(sb, CREATE_PROP).length + calls(sb, PATCH_PROP).length + calls(sb, CREATE_GROUP).length;
    const after1 = schemaWrites();
    expect(calls(sb, CREATE_PROPS)).toHaveLength(1);

    const second = await runSync(requests, runtime(sb).deps);
    expect(second.summary.synced).toBe(EMAILS.length);
    expect(schemaWrites()).toBe(after1);

    const same = runtime(sb);
    await runSync(requests, same.deps);
    const reads = calls(sb, "GET /crm/v3/properties/{objectType}").length;
    await runSync(requests, same.deps);
    expect(schemaWrites()).toBe(after1);
    expect(calls(sb, "GET /crm/v3/properties/{objectType}").length).toBe(reads); // cached within a runtime
  });

  it("a new tone value in a later sync adds exactly that option with one PATCH, keeping the existing ones", async () => {
    const sb = await sandbox();
    await runSync([{ identifier: CAMILA }, { identifier: GUSTAVO }], runtime(sb).deps);
    const before = sb.hubspot.property("fashionai_tom_de_voz")!.options;
    expect(before.map((o) => o.value)).toEqual(["sofisticado", "minimalista", "leve_divertido", "ousado"]);
    const patchesBefore = calls(sb, PATCH_PROP).length;

    const body = fixtureBody("camila-ferraz.json");
    body.profile.briefing_marketing.tom_de_voz = ["Sofisticado", "Elegância Discreta"];
    sb.fashionai.addProfile({ email: "nova@example.com" }, body);
    const changes: unknown[] = [];
    const report = await runSync([{ identifier: "nova@example.com" }], runtime(sb, {}, { onSchemaChange: (c) => changes.push(c) }).deps);
    expect(report.results[0]!.status).toBe("synced");

    const patches = calls(sb, PATCH_PROP).slice(patchesBefore);
    expect(patches).toHaveLength(1);
    expect(patches[0]!.path).toMatch(/\/fashionai_tom_de_voz$/);
    const after = sb.hubspot.property("fashionai_tom_de_voz")!.options;
    expect(after.map((o) => o.value)).toEqual(["sofisticado", "minimalista", "leve_divertido", "ousado", "elegancia_discreta"]);
    for (const old of before) expect(after.find((o) => o.value === old.value)).toMatchObject({ label: old.label, value: old.value });
    expect(after.at(-1)!.label).toBe("elegância discreta");
    expect(sb.hubspot.contact("nova@example.com")!.properties.fashionai_tom_de_voz).toBe("sofisticado;elegancia_discreta");
    expect(changes).toEqual([expect.objectContaining({ propertiesCreated: [], optionsAdded: { fashionai_tom_de_voz: ["elegancia_discreta"] } })]);
    expect(calls(sb, CREATE_PROPS)).toHaveLength(1);
  });

  it("a schema read failing with 5xx past the attempts fails the records with a reason; Klaviyo is still written", async () => {
    const sb = await sandbox();
    sb.hubspot.fault({ method: "GET", path: "/crm/v3/properties/contacts/groups", status: 502, times: Infinity });
    const rt = runtime(sb, { FASHIONAI_SYNC_RETRY_ATTEMPTS: "2" }, { to: ["hubspot", "klaviyo"] });
    const report = await runSync([{ identifier: CAMILA }, { identifier: GUSTAVO }, { identifier: "nobody@example.com" }], rt.deps);
    expect(report.configError).toBeUndefined();
    expect(report.summary).toEqual({ requested: 3, synced: 0, not_found: 1, invalid: 0, failed: 2 });
    for (const r of report.results.slice(0, 2)) {
      expect(r.reason).toMatch(/^hubspot: HubSpot answered 502 to read property groups/);
      expect(r.connectors!.hubspot).toMatchObject({ status: "failed", fault: "transient" });
      expect(r.connectors!.klaviyo!.status).toBe("written");
    }
    expect(calls(sb, "GET /crm/v3/properties/{objectType}/groups")).toHaveLength(2);
    expect(calls(sb, UPSERT)).toHaveLength(0);
    expect(sb.klaviyo.profile(CAMILA)).toBeDefined();
  });

  it("a pre-existing property with another type is a configuration error naming it; nothing is written", async () => {
    const sb = await sandbox();
    sb.hubspot.addProperty({ name: "fashionai_novo_comportamento", type: "string", fieldType: "text" });
    const rt = runtime(sb, {}, { to: ["hubspot", "klaviyo"] });
    const report = await runSync([{ identifier: CAMILA }, { identifier: GUSTAVO }], rt.deps);

    expect(report.configError).toMatch(/fashionai_novo_comportamento/);
    expect(report.configError).toMatch(/string/);
    expect(report.summary).toMatchObject({ requested: 2, failed: 2 });
    for (const r of report.results) expect(r.reason).toContain("fashionai_novo_comportamento");
    expect(calls(sb, UPSERT)).toHaveLength(0);
    expect(calls(sb, CREATE_PROPS)).toHaveLength(0);
    expect(calls(sb, PATCH_PROP)).toHaveLength(0);
    expect(sb.hubspot.contacts()).toEqual([]);
    expect(sb.hubspot.property("fashionai_novo_comportamento")).toMatchObject({ type: "string", fieldType: "text" });
    expect(sb.klaviyo.requests).toHaveLength(0);
  });

  it("a property HubSpot refuses to create (archived under that name) stops the run instead of looping", async () => {
    const sb = await sandbox();
    sb.hubspot.addProperty({ name: "fashionai_gancho_principal", type: "string", fieldType: "text", archived: true });
    const report = await runSync([{ identifier: CAMILA }], runtime(sb, {}, { to: ["hubspot", "klaviyo"] }).deps);
    expect(report.configError).toMatch(/fashionai_gancho_principal/);
    expect(report.results[0]).toMatchObject({ status: "failed" });
    expect(calls(sb, CREATE_PROPS)).toHaveLength(2); // the first try, and one more after re-reading the schema
    expect(calls(sb, UPSERT)).toHaveLength(0);
    expect(sb.hubspot.contacts()).toEqual([]);
    expect(sb.klaviyo.requests).toHaveLength(0);
  });

  it("two first syncs at once both end synced with every option (the loser of the create race re-reads)", async () => {
    const sb = await sandbox();
    const [a, b] = await Promise.all([
      runSync([{ identifier: CAMILA }], runtime(sb).deps),
      runSync([{ identifier: GUSTAVO }], runtime(sb).deps),
    ]);
    expect([a.configError, b.configError]).toEqual([undefined, undefined]);
    expect([a.results[0]!.status, b.results[0]!.status]).toEqual(["synced", "synced"]);
    expect(sb.hubspot.property("fashionai_tom_de_voz")!.options.map((o) => o.value).sort()).toEqual(
      ["leve_divertido", "minimalista", "ousado", "sofisticado"],
    );
    expect(sb.hubspot.properties().filter((p) => p.name.startsWith("fashionai_"))).toHaveLength(16);
  });

  it("adding an option never drops one another run added after this runtime read the schema", async () => {
    const sb = await sandbox();
    const longLived = runtime(sb);
    await runSync([{ identifier: CAMILA }], longLived.deps); // caches the schema
    const withTone = (email: string, tone: string[]) => {
      const body = fixtureBody("camila-ferraz.json");
      body.profile.briefing_marketing.tom_de_voz = tone;
      sb.fashionai.addProfile({ email }, body);
    };
    withTone("x@example.com", ["Elegante"]);
    withTone("y@example.com", ["Ousado"]);
    await runSync([{ identifier: "x@example.com" }], runtime(sb).deps); // another process adds "elegante"
    const report = await runSync([{ identifier: "y@example.com" }], longLived.deps);
    expect(report.results[0]!.status).toBe("synced");
    expect(sb.hubspot.property("fashionai_tom_de_voz")!.options.map((o) => o.value)).toEqual(["sofisticado", "minimalista", "elegante", "ousado"]);
    expect(sb.hubspot.contact("x@example.com")!.properties.fashionai_tom_de_voz).toBe("elegante");
  });

  it("concurrent writes in one runtime that each need a new option keep both, with no failed upsert", async () => {
    const sb = await sandbox();
    const rt = runtime(sb);
    await runSync([{ identifier: CAMILA }], rt.deps);
    for (const [email, tone] of [["x@example.com", "Elegante"], ["y@example.com", "Ousado"]] as const) {
      const body = fixtureBody("camila-ferraz.json");
      body.profile.briefing_marketing.tom_de_voz = [tone];
      sb.fashionai.addProfile({ email }, body);
    }
    const upsertsBefore = calls(sb, UPSERT).length;
    const reports = await Promise.all([runSync([{ identifier: "x@example.com" }], rt.deps), runSync([{ identifier: "y@example.com" }], rt.deps)]);
    expect(reports.map((r) => r.results[0]!.status)).toEqual(["synced", "synced"]);
    expect(sb.hubspot.property("fashionai_tom_de_voz")!.options.map((o) => o.value).sort()).toEqual(["elegante", "minimalista", "ousado", "sofisticado"]);
    expect(calls(sb, UPSERT).slice(upsertsBefore).every((u) => u.status === 200)).toBe(true);
    expect(calls(sb, UPSERT).length - upsertsBefore).toBe(2);
  });

  it("existing options keep their labels, order and descriptions across several option updates", async () => {
    const sb = await sandbox();
    sb.hubspot.addGroup("fashionai", "Fashion.AI");
    sb.hubspot.addProperty({
      name: "fashionai_tom_de_voz", type: "enumeration", fieldType: "checkbox", groupName: "fashionai",
      options: [{ label: "Sofisticado (marca)", value: "sofisticado", displayOrder: 0, hidden: false, description: "definido pelo marketing" }],
    });
    const rt = runtime(sb);
    await runSync([{ identifier: CAMILA }], rt.deps); // adds "minimalista"
    await runSync([{ identifier: GUSTAVO }], rt.deps); // adds two more with the cached schema
    const options = sb.hubspot.property("fashionai_tom_de_voz")!.options;
    expect(options.map((o) => o.value)).toEqual(["sofisticado", "minimalista", "leve_divertido", "ousado"]);
    expect(options[0]).toMatchObject({ label: "Sofisticado (marca)", description: "definido pelo marketing" });
    expect(calls(sb, PATCH_PROP).filter((r) => r.path.endsWith("/fashionai_tom_de_voz"))).toHaveLength(2);
  });

  it("pre-existing properties of the right type are kept; only the missing ones are created", async () => {
    const sb = await sandbox();
    sb.hubspot.addGroup("fashionai", "Fashion.AI");
    sb.hubspot.addProperty({
      name: "fashionai_tom_de_voz", type: "enumeration", fieldType: "checkbox", groupName: "fashionai",
      options: [{ label: "antigo", value: "antigo", displayOrder: 0, hidden: false }],
    });
    const report = await runSync([{ identifier: CAMILA }], runtime(sb).deps);
    expect(report.results[0]!.status).toBe("synced");
    expect(calls(sb, CREATE_GROUP)).toHaveLength(0);
    const created = (calls(sb, CREATE_PROPS)[0]!.body as { inputs: Array<{ name: string }> }).inputs.map((i) => i.name);
    expect(created).toHaveLength(15);
    expect(created).not.toContain("fashionai_tom_de_voz");
    expect(sb.hubspot.property("fashionai_tom_de_voz")!.options.map((o) => o.value)).toEqual(["antigo", "sofisticado", "minimalista"]);
  });
});

describe("HubSpot batch upsert", () => {
  it("writes exactly the mapped values, keyed by email", async () => {
    const sb = await sandbox();
    const rt = runtime(sb);
    const at = new Date("2025-03-04T05:06:07.000Z");
    rt.deps.now = () => at;
    const report = await runSync([{ identifier: CAMILA }], rt.deps);
    const expected = mapToHubSpot(parseProfileBody(readFileSync(`${FIXTURES}/camila-ferraz.json`, "utf8")).profile, { syncedAt: at }).properties;
    expect(report.results[0]!.connectors!.hubspot).toMatchObject({ status: "written", properties: expected });
    const stored = sb.hubspot.contact(CAMILA)!.properties;
    for (const [k, v] of Object.entries(expected)) expect(stored[k], k).toBe(v);
    expect(Object.keys(expected)).toHaveLength(16);
    expect(stored.fashionai_sincronizado_em).toBe("2025-03-04T05:06:07.000Z");
    const [input] = upsertInputs(calls(sb, UPSERT)[0]!);
    expect(input).toMatchObject({ id: CAMILA, idProperty: "email" });
  });

  it("250 records are written in exactly 3 upsert calls of at most 100 inputs, in request order", async () => {
    const sb = await sandbox();
    const emails = addClients(sb, 250);
    const report = await runSync(emails.map((identifier) => ({ identifier })), runtime(sb).deps);
    expect(report.summary).toMatchObject({ requested: 250, synced: 250 });
    const upserts = calls(sb, UPSERT);
    expect(upserts.map((u) => upsertInputs(u).length)).toEqual([100, 100, 50]);
    expect(upserts.flatMap((u) => upsertInputs(u).map((i) => i.id))).toEqual(emails);
    expect(sb.hubspot.contacts()).toHaveLength(250);
    expect(sb.hubspot.contact("cliente249@example.com")!.properties.fashionai_user_profile_id).toBe("fp_cliente_249");
  }, 15_000);

  it("the same email requested twice never lands in one batch, and both end synced", async () => {
    const sb = await sandbox();
    const requests: SyncRequest[] = [{ identifier: CAMILA }, { identifier: GUSTAVO }, { identifier: ` ${CAMILA.toUpperCase()}` }];
    const report = await runSync(requests, runtime(sb).deps);
    expect(report.results.map((r) => r.status)).toEqual(["synced", "synced", "synced"]);
    const upserts = calls(sb, UPSERT);
    expect(upserts.every((u) => u.status === 200)).toBe(true);
    for (const u of upserts) {
      const ids = upsertInputs(u).map((i) => i.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(upserts.map((u) => upsertInputs(u).map((i) => i.id))).toEqual([[CAMILA, GUSTAVO], [CAMILA]]);
  });

  it("a record HubSpot rejects in a 207 is failed with the vendor message; the others are written", async () => {
    const sb = await sandbox();
    // Passes our email rule (one @, non-empty parts) but HubSpot rejects it: no dot in the domain.
    sb.fashionai.addProfile({ email: "ana@intranet" }, fixtureBody("helena-cardoso.json"));
    const report = await runSync([{ identifier: CAMILA }, { identifier: "ana@intranet" }, { identifier: GUSTAVO }], runtime(sb).deps);
    expect(report.results.map((r) => r.status)).toEqual(["synced", "failed", "synced"]);
    const bad = report.results[1]!;
    expect(bad.connectors!.hubspot).toMatchObject({ status: "failed", fault: "permanent" });
    expect(bad.reason).toMatch(/^hubspot: HubSpot rejected the contact: .*INVALID_EMAIL/);
    expect(bad.reason).toContain("ana@intranet");
    expect(calls(sb, UPSERT)).toHaveLength(1);
    expect(sb.hubspot.contact(CAMILA)).toBeDefined();
    expect(sb.hubspot.contact(GUSTAVO)).toBeDefined();
    expect(sb.hubspot.contact("ana@intranet")).toBeUndefined();
  });

  it("a batch rejected whole (400) because of one record is split so the others still land", async () => {
    const sb = await sandbox();
    // An existing single-choice property of the right type: a multi-occasion value is not one option.
    sb.hubspot.addGroup("fashionai", "Fashion.AI");
    sb.hubspot.addProperty({ name: "fashionai_ocasioes", type: "enumeration", fieldType: "select", groupName: "fashionai" });
    const single = fixtureBody("gustavo-teixeira.json");
    single.profile.ocasioes_relevantes = single.profile.ocasioes_relevantes.slice(0, 1);
    const emails = ["a@example.com", "b@example.com", "multi@example.com", "d@example.com"];
    for (const e of emails) sb.fashionai.addProfile({ email: e }, e === "multi@example.com" ? fixtureBody("camila-ferraz.json") : single);

    const report = await runSync(emails.map((identifier) => ({ identifier })), runtime(sb).deps);
    expect(report.results.map((r) => r.status)).toEqual(["synced", "synced", "failed", "synced"]);
    const bad = report.results[2]!;
    expect(bad.connectors!.hubspot).toMatchObject({ status: "failed", fault: "permanent" });
    expect(bad.reason).toMatch(/HubSpot answered 400/);
    expect(bad.reason).toMatch(/fashionai_ocasioes/);
    expect(bad.reason).toMatch(/not one of the allowed options/);
    for (const e of ["a@example.com", "b@example.com", "d@example.com"]) expect(sb.hubspot.contact(e), e).toBeDefined();
    expect(sb.hubspot.contact("multi@example.com")).toBeUndefined();
    // Whole batch, its retry after a schema refresh, then halves until the bad record is alone.
    const sizes = calls(sb, UPSERT).map((u) => upsertInputs(u).length);
    expect(sizes).toEqual([4, 4, 2, 2, 1, 1]);
  });

  it("a 429 with Retry-After is waited out, then written", async () => {
    const sb = await sandbox();
    sb.hubspot.fault({ method: "POST", path: "/crm/v3/objects/contacts/batch/upsert", status: 429, headers: { "Retry-After": "1" } });
    const started = Date.now();
    const report = await runSync([{ identifier: CAMILA }], runtime(sb).deps);
    expect(report.results[0]!.status).toBe("synced");
    const upserts = calls(sb, UPSERT);
    expect(upserts.map((u) => u.status)).toEqual([429, 200]);
    expect(upserts[1]!.at - upserts[0]!.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sb.hubspot.contact(CAMILA)).toBeDefined();
  });

  it("a 500 repeated beyond the attempts fails that batch's records with a reason; the other batches are written", async () => {
    const sb = await sandbox();
    const emails = addClients(sb, 150);
    sb.hubspot.fault({ method: "POST", path: "/crm/v3/objects/contacts/batch/upsert", status: 500, times: 4 });
    const report = await runSync(emails.map((identifier) => ({ identifier })), runtime(sb, { FASHIONAI_SYNC_RETRY_ATTEMPTS: "4" }).deps);
    expect(report.summary).toMatchObject({ requested: 150, synced: 50, failed: 100 });
    for (const r of report.results.slice(0, 100)) {
      expect(r.status).toBe("failed");
      expect(r.reason).toMatch(/^hubspot: HubSpot answered 500 to batch upsert/);
      expect(r.connectors!.hubspot!.fault).toBe("transient");
    }
    for (const r of report.results.slice(100)) expect(r.status).toBe("synced");
    expect(calls(sb, UPSERT).map((u) => u.status)).toEqual([500, 500, 500, 500, 200]);
    expect(sb.hubspot.contacts()).toHaveLength(50);
  });

  it("an upsert that does not answer in time is retried, and the record written", async () => {
    const sb = await sandbox();
    sb.hubspot.fault({ method: "POST", path: "/crm/v3/objects/contacts/batch/upsert", delayMs: 600 });
    const report = await runSync([{ identifier: CAMILA }], runtime(sb, { FASHIONAI_SYNC_TIMEOUT_MS: "200" }).deps);
    expect(report.results[0]!.status).toBe("synced");
    expect(calls(sb, UPSERT).length).toBeGreaterThanOrEqual(2);
    expect(sb.hubspot.contact(CAMILA)).toBeDefined();
  });

  it("SDK retries are off: one 429 without Retry-After and attempts=1 → exactly one upsert call", async () => {
    const sb = await sandbox();
    sb.hubspot.fault({ method: "POST", path: "/crm/v3/objects/contacts/batch/upsert", status: 429 });
    const started = Date.now();
    const report = await runSync([{ identifier: CAMILA }], runtime(sb, { FASHIONAI_SYNC_RETRY_ATTEMPTS: "1" }).deps);
    expect(calls(sb, UPSERT)).toHaveLength(1);
    expect(report.results[0]!.status).toBe("failed");
    expect(report.results[0]!.connectors!.hubspot).toMatchObject({ status: "failed", fault: "rate_limited" });
    expect(report.results[0]!.reason).toMatch(/rate limit/);
    expect(Date.now() - started).toBeLessThan(3_000);
    // Schema calls were not retried either: each went out once.
    expect(calls(sb, CREATE_PROPS)).toHaveLength(1);
  });

  it("a DAILY 429 is not retried by waiting seconds", async () => {
    const sb = await sandbox();
    sb.hubspot.fault({
      method: "POST", path: "/crm/v3/objects/contacts/batch/upsert", status: 429,
      body: { status: "error", message: "You have reached your daily limit.", errorType: "RATE_LIMIT", policyName: "DAILY" },
    });
    const report = await runSync([{ identifier: CAMILA }], runtime(sb).deps);
    expect(report.results[0]!.status).toBe("failed");
    expect(report.results[0]!.reason).toMatch(/DAILY/);
    expect(calls(sb, UPSERT)).toHaveLength(1);
  });
});

describe("batchesByUniqueEmail", () => {
  const rec = (email: string, n: number) => ({ email, n });
  const shape = (batches: Array<Array<{ email: string; n: number }>>) => batches.map((b) => b.map((r) => r.n));

  it("keeps order and caps the batch size", () => {
    const records = Array.from({ length: 7 }, (_, i) => rec(`e${i}@x.com`, i));
    expect(shape(batchesByUniqueEmail(records, 3))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(shape(batchesByUniqueEmail(records, 100))).toEqual([[0, 1, 2, 3, 4, 5, 6]]);
    expect(shape(batchesByUniqueEmail(records, 1))).toEqual([[0], [1], [2], [3], [4], [5], [6]]);
    expect(batchesByUniqueEmail([], 100)).toEqual([]);
  });

  it("never puts one email twice in a batch, and each later occurrence goes to a later batch", () => {
    const records = [rec("a", 0), rec("b", 1), rec("a", 2), rec("c", 3), rec("a", 4), rec("b", 5)];
    const batches = batchesByUniqueEmail(records, 100);
    expect(shape(batches)).toEqual([[0, 1, 3], [2, 5], [4]]);
    for (const b of batches) expect(new Set(b.map((r) => r.email)).size).toBe(b.length);
  });

  it("loses and duplicates nothing, respects the cap with duplicates, and keeps one email's writes in order", () => {
    const emails = ["a", "b", "c", "d", "e"];
    const records = Array.from({ length: 60 }, (_, i) => rec(emails[(i * 7) % 5]! + (i % 3 === 0 ? "" : String(i % 4)), i));
    for (const size of [1, 2, 5, 10]) {
      const batches = batchesByUniqueEmail(records, size);
      expect(batches.flat().map((r) => r.n).sort((x, y) => x - y)).toEqual(records.map((r) => r.n));
      const batchOf = new Map<number, number>();
      batches.forEach((b, i) => {
        expect(b.length).toBeGreaterThan(0);
        expect(b.length).toBeLessThanOrEqual(size);
        expect(new Set(b.map((r) => r.email)).size).toBe(b.length);
        for (const r of b) batchOf.set(r.n, i);
      });
      for (const email of new Set(records.map((r) => r.email))) {
        const order = records.filter((r) => r.email === email).map((r) => batchOf.get(r.n)!);
        for (let i = 1; i < order.length; i++) expect(order[i]!).toBeGreaterThan(order[i - 1]!);
      }
    }
  });

  it("fills earlier batches with later distinct emails when a duplicate moved ahead", () => {
    const records = [rec("a", 0), rec("a", 1), rec("b", 2), rec("c", 3)];
    expect(shape(batchesByUniqueEmail(records, 2))).toEqual([[0, 2], [1, 3]]);
  });
});
