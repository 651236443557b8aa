// `sync --dry-run` reads what each CRM holds now and shows, per property, old → new — writing nothing.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { HubSpotReader } from "../connectors/hubspot/reader.js";
import { KlaviyoReader } from "../connectors/klaviyo/reader.js";
import { diffProperties } from "../connectors/shared/current.js";
import { renderReport } from "../src/cli/output.js";
import { loadConfig } from "../src/config.js";
import { runSync } from "../src/pipeline/sync.js";
import type { SyncRequest } from "../src/pipeline/types.js";
import { createRuntime, type RuntimeOptions } from "../src/runtime.js";
import { startSandbox, type RecordedRequest, type Sandbox } from "../src/sandbox/index.js";
import { silentLogger } from "../src/util/log.js";
import { runMain } from "./helpers/cli.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
const CAMILA = "camila.ferraz@example.com";
const GUSTAVO = "gustavo.teixeira@example.com";

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!.close();
});

async function sandbox(): Promise<Sandbox> {
  const sb = await startSandbox({ profilesDir: FIXTURES });
  open.push(sb);
  return sb;
}

async function sync(sb: Sandbox, requests: SyncRequest[], opts: Partial<RuntimeOptions> = {}, env: Record<string, string | undefined> = {}) {
  const rt = createRuntime(loadConfig({ ...sb.env, FASHIONAI_SYNC_RETRY_BASE_MS: "5", ...env }), { log: silentLogger, ...opts });
  try {
    return await runSync(requests, rt.deps);
  } finally {
    await rt.close();
  }
}

/** A request that changes something in a CRM (everything but GETs and HubSpot's batch read). */
function isWrite(r: RecordedRequest): boolean {
  return r.method !== "GET" && !r.path.endsWith("/batch/read");
}

function crmWrites(sb: Sandbox): RecordedRequest[] {
  return [...sb.hubspot.requests, ...sb.klaviyo.requests].filter(isWrite);
}

/** Camila's profile with another tone of voice and a new buying moment. */
function changedCamila(): unknown {
  const body = JSON.parse(readFileSync(`${FIXTURES}/camila-ferraz.json`, "utf8"));
  body.profile.briefing_marketing.tom_de_voz = ["Elegante", "minimalista"];
  body.profile.momento_compra_atual.resumo_momento = "Procurando um casaco para o inverno";
  return body;
}

describe("dry-run diff against the stand-ins", () => {
  it("shows old → new for changed properties, lists unchanged ones, and writes nothing", async () => {
    const sb = await sandbox();
    const first = await sync(sb, [{ identifier: CAMILA }]);
    expect(first.summary.synced).toBe(1);
    const before = { hubspot: sb.hubspot.contact(CAMILA)!.properties, klaviyo: sb.klaviyo.profile(CAMILA)! };

    sb.fashionai.addProfile({ email: CAMILA }, changedCamila());
    sb.hubspot.clearRequests();
    sb.klaviyo.clearRequests();
    const report = await sync(sb, [{ identifier: CAMILA }, { identifier: GUSTAVO }], { dryRun: true });

    expect(crmWrites(sb)).toEqual([]);
    expect(sb.hubspot.requests.length + sb.klaviyo.requests.length).toBeGreaterThan(0);
    expect(sb.hubspot.contact(CAMILA)!.properties).toEqual(before.hubspot);
    expect(sb.klaviyo.profile(CAMILA)).toEqual(before.klaviyo);
    expect(sb.hubspot.contact(GUSTAVO)).toBeUndefined();

    const [camila, gustavo] = report.results;
    const hs = camila!.connectors!.hubspot!;
    expect(hs.status).toBe("planned");
    expect(hs.exists).toBe(true);
    expect(hs.diff!.fashionai_tom_de_voz).toEqual({ old: "sofisticado;minimalista", new: "elegante;minimalista" });
    expect(hs.diff!.fashionai_resumo_momento).toEqual({
      old: before.hubspot.fashionai_resumo_momento, new: "Procurando um casaco para o inverno",
    });
    expect(Object.keys(hs.diff!).sort()).toEqual(["fashionai_resumo_momento", "fashionai_sincronizado_em", "fashionai_tom_de_voz"]);
    expect(hs.unchanged).toContain("fashionai_user_profile_id");
    expect(hs.unchanged).toContain("fashionai_novo_comportamento");
    expect(hs.unchanged!.length + Object.keys(hs.diff!).length).toBe(Object.keys(hs.properties!).length);

    const kl = camila!.connectors!.klaviyo!;
    expect(kl.exists).toBe(true);
    expect(kl.diff!.fashionai_tom_de_voz).toEqual({ old: ["sofisticado", "minimalista"], new: ["elegante", "minimalista"] });
    expect(kl.unchanged).toContain("fashionai_ganchos_conteudo");
    expect(kl.unchanged).toContain("fashionai_novo_comportamento");

    // Not in the CRM yet: every property goes from nothing to its value.
    for (const name of ["hubspot", "klaviyo"] as const) {
      const c = gustavo!.connectors![name]!;
      expect(c.exists).toBe(false);
      expect(c.unchanged).toEqual([]);
      expect(Object.keys(c.diff!).sort()).toEqual(Object.keys(c.properties!).sort());
      expect(Object.values(c.diff!).every((d) => d.old === null)).toBe(true);
    }

    const table = renderReport(report);
    expect(table).toMatch(/camila\.ferraz@example\.com\s+synced\s+planned: 3 changed/);
    expect(table).toContain('fashionai_tom_de_voz: "sofisticado;minimalista" → "elegante;minimalista"');
    expect(table).toMatch(/gustavo\.teixeira@example\.com\s+synced\s+planned: new/);
  });

  it("one batch read per 100 contacts and one profile read per 100 emails", async () => {
    const sb = await sandbox();
    await sync(sb, [{ identifier: CAMILA }, { identifier: GUSTAVO }]);
    sb.hubspot.clearRequests();
    sb.klaviyo.clearRequests();
    await sync(sb, [{ identifier: CAMILA }, { identifier: GUSTAVO }], { dryRun: true });
    expect(sb.hubspot.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /crm/v3/objects/contacts/batch/read"]);
    expect(sb.klaviyo.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /api/profiles"]);
    expect(String(sb.klaviyo.requests[0]!.query.filter)).toMatch(/^any\(email,\[/);
  });

  it("without CRM credentials the dry run plans without a diff and makes no CRM call", async () => {
    const sb = await sandbox();
    const report = await sync(sb, [{ identifier: CAMILA }], { dryRun: true }, { HUBSPOT_ACCESS_TOKEN: undefined, KLAVIYO_API_KEY: undefined });
    const c = report.results[0]!.connectors!;
    expect(c.hubspot!.status).toBe("planned");
    expect(c.hubspot!.diff).toBeUndefined();
    expect(c.klaviyo!.diff).toBeUndefined();
    expect(sb.hubspot.requests.length + sb.klaviyo.requests.length).toBe(0);
  });

  it("a CRM that cannot be read leaves the plan without a diff and says why", async () => {
    const sb = await sandbox();
    sb.hubspot.fault({ method: "POST", path: "/crm/v3/objects/contacts/batch/read", status: 503, times: Infinity });
    const report = await sync(sb, [{ identifier: CAMILA }], { dryRun: true }, { FASHIONAI_SYNC_RETRY_ATTEMPTS: "1" });
    expect(report.results[0]!.status).toBe("synced");
    const hs = report.results[0]!.connectors!.hubspot!;
    expect(hs.status).toBe("planned");
    expect(hs.diff).toBeUndefined();
    expect(hs.diffError).toMatch(/503/);
    expect(report.results[0]!.connectors!.klaviyo!.exists).toBe(false);
    expect(crmWrites(sb)).toEqual([]);
  });

  it("a wrong CRM token in a dry run is a configuration error, like in a real sync", async () => {
    const sb = await sandbox();
    const report = await sync(sb, [{ identifier: CAMILA }], { dryRun: true }, { KLAVIYO_API_KEY: "wrong-klaviyo-key-123" });
    expect(report.configError).toMatch(/KLAVIYO_API_KEY/);
    expect(crmWrites(sb)).toEqual([]);
  });

  it("sync --dry-run --json carries the diff beside properties; the table lists changes", async () => {
    const sb = await sandbox();
    await sync(sb, [{ identifier: CAMILA }]);
    sb.fashionai.addProfile({ email: CAMILA }, changedCamila());
    const writesBefore = crmWrites(sb).length;
    const [json, table] = await Promise.all([
      runMain(["sync", CAMILA, "--dry-run", "--json"], sb.env),
      runMain(["sync", CAMILA, "--dry-run"], sb.env),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const hs = json.json.results[0].connectors.hubspot;
    expect(hs.properties.fashionai_tom_de_voz).toBe("elegante;minimalista");
    expect(hs.diff.fashionai_tom_de_voz).toEqual({ old: "sofisticado;minimalista", new: "elegante;minimalista" });
    expect(hs.exists).toBe(true);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain("planned: 3 changed");
    expect(table.stdout).toContain("fashionai_tom_de_voz");
    expect(table.stdout).toMatch(/Dry run: nothing was written/);
    expect(crmWrites(sb)).toHaveLength(writesBefore);
  });
});

describe("comparing values", () => {
  const hubspot = new HubSpotReader({ baseUrl: "http://127.0.0.1:9", token: "unused-token", retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, timeoutMs: 100 });
  const klaviyo = new KlaviyoReader({ baseUrl: "http://127.0.0.1:9", apiKey: "unused-key", retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, timeoutMs: 100 });

  it("HubSpot: option sets ignore order, datetimes compare by instant, booleans by case", () => {
    expect(hubspot.same("fashionai_tom_de_voz", "b;a", "a;b")).toBe(true);
    expect(hubspot.same("fashionai_tom_de_voz", "a", "a;b")).toBe(false);
    expect(hubspot.same("fashionai_sincronizado_em", "2025-01-31T12:00:00Z", "2025-01-31T12:00:00.000Z")).toBe(true);
    expect(hubspot.same("fashionai_sincronizado_em", "2025-01-31T12:00:00Z", "2025-01-31T12:00:01.000Z")).toBe(false);
    expect(hubspot.same("fashionai_novo_comportamento", "TRUE", "true")).toBe(true);
    expect(hubspot.same("fashionai_descricao_geral", "a\r\nb", "a\nb")).toBe(true);
    expect(hubspot.same("fashionai_descricao_geral", "a", "A")).toBe(false);
  });

  it("Klaviyo: structural equality, datetimes by instant", () => {
    expect(klaviyo.same("k", ["a", "b"], ["a", "b"])).toBe(true);
    expect(klaviyo.same("k", ["b", "a"], ["a", "b"])).toBe(false);
    expect(klaviyo.same("k", true, true)).toBe(true);
    expect(klaviyo.same("k", "true", true)).toBe(false);
    expect(klaviyo.same("k", "2025-01-31T12:00:00+00:00", "2025-01-31T12:00:00.000Z")).toBe(true);
  });

  it("diffProperties: only what a sync writes; empty CRM values count as nothing", () => {
    const eq = (_: string, a: unknown, b: unknown) => a === b;
    expect(diffProperties({ a: "1", b: "", c: "x", untouched: "keep" }, { a: "1", b: "2", c: "y" }, eq)).toEqual({
      changed: { b: { old: null, new: "2" }, c: { old: "x", new: "y" } },
      unchanged: ["a"],
    });
    expect(diffProperties(undefined, { a: "1" }, eq)).toEqual({ changed: { a: { old: null, new: "1" } }, unchanged: [] });
  });
});
