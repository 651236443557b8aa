// `doctor` against the stand-ins: wrong tokens, missing scopes, a property type conflict, all good —
// in plain words, without a token, reading only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareHubSpotSchema, scopesFromBody } from "../connectors/hubspot/doctor.js";
import { hubspotPropertyDefinitions } from "../connectors/hubspot/schema.js";
import { loadConfig } from "../src/config.js";
import { DOCTOR_PROBE_EMAIL, exitCodeForChecks, runDoctor, type DoctorCheck, type DoctorReport } from "../src/doctor/index.js";
import { runSync } from "../src/pipeline/sync.js";
import { createRuntime } from "../src/runtime.js";
import { startSandbox, type RecordedRequest, type Sandbox } from "../src/sandbox/index.js";
import { silentLogger } from "../src/util/log.js";
import { runCli, runMain } from "./helpers/cli.js";

const NO_SCOPES = { hubspot: "pat-na1-noscopes-0000-4c1d-9e2f-abcdef", klaviyo: "pk_noscopes_7d3e6f0a5b8c2d9e1f7a3b" };
const WRONG = { fashionai: "fai_wrong_token_1234567", hubspot: "pat-na1-wrong-0000-4c1d-9e2f-000000", klaviyo: "pk_wrong_key_1b7d3e6f0a5b8c2d" };

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ hubspot: { missingScopes: [NO_SCOPES.hubspot] }, klaviyo: { forbiddenKeys: [NO_SCOPES.klaviyo] } });
});
afterAll(() => sb.close());

const allTokens = () => [...Object.values(NO_SCOPES), ...Object.values(WRONG), sb.env.FASHIONAI_APP_TOKEN, sb.env.HUBSPOT_ACCESS_TOKEN, sb.env.KLAVIYO_API_KEY];

function doctor(env: Record<string, string | undefined> = {}): Promise<DoctorReport> {
  const merged = { ...sb.env, ...env };
  return runDoctor(loadConfig(merged), merged);
}

function find(report: DoctorReport, service: DoctorCheck["service"], check: string): DoctorCheck {
  const c = report.checks.find((x) => x.service === service && x.check === check);
  if (!c) throw new Error(`no ${service}/${check} check in ${JSON.stringify(report.checks, null, 1)}`);
  return c;
}

/** Every CRM request made during `fn` was a read (GET, or HubSpot's token-info lookup). */
async function readsOnly<T>(fn: () => Promise<T>): Promise<T> {
  const before = { h: sb.hubspot.requests.length, k: sb.klaviyo.requests.length, f: sb.fashionai.requests.length };
  const out = await fn();
  const made: RecordedRequest[] = [
    ...sb.hubspot.requests.slice(before.h), ...sb.klaviyo.requests.slice(before.k), ...sb.fashionai.requests.slice(before.f),
  ];
  const writes = made.filter((r) => r.method !== "GET" && !r.path.endsWith("/access-token-info"));
  expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  return out;
}

describe("doctor", () => {
  it("all good: every credential accepted, missing schema is fine (a sync creates it), exit 0", async () => {
    const report = await readsOnly(() => doctor());
    expect(report.exitCode, JSON.stringify(report.checks, null, 1)).toBe(0);
    expect(report.ok).toBe(true);
    for (const s of ["fashionai", "hubspot", "klaviyo"] as const) expect(find(report, s, "credential").status).toBe("ok");
    const schema = find(report, "hubspot", "schema");
    expect(schema.status).toBe("ok");
    expect(schema.message).toMatch(/will be created by the first sync/);
    expect(report.schema?.hubspot?.properties.every((p) => p.status === "missing")).toBe(true);
    expect(find(report, "klaviyo", "profiles").status).toBe("ok");
    // Fashion.AI was asked about an identifier nobody has: 404 proved the token.
    expect(sb.fashionai.lookups().some((l) => l.value === DOCTOR_PROBE_EMAIL && l.status === 404)).toBe(true);
  });

  it("after a sync the schema matches the mapping: all properties with the right types", async () => {
    const rt = createRuntime(loadConfig(sb.env), { log: silentLogger, to: ["hubspot"] });
    sb.fashionai.addProfile({ email: "doctor.sync@example.com" }, { userProfileId: "fp_DOC", profile: { briefing_marketing: { tom_de_voz: ["Direto"] } } });
    await runSync([{ identifier: "doctor.sync@example.com" }], rt.deps);
    await rt.close();
    const report = await doctor();
    expect(report.exitCode).toBe(0);
    expect(find(report, "hubspot", "schema").message).toMatch(/16 of 16 properties exist, all with the right types/);
    expect(report.schema!.hubspot!.group.exists).toBe(true);
  });

  it("missing scopes: HubSpot and Klaviyo name the scopes needed, exit 2", async () => {
    const report = await readsOnly(() => doctor({ HUBSPOT_ACCESS_TOKEN: NO_SCOPES.hubspot, KLAVIYO_API_KEY: NO_SCOPES.klaviyo }));
    expect(report.exitCode).toBe(2);
    const credential = find(report, "hubspot", "credential");
    expect(credential.status).toBe("ok");
    expect(credential.message).toMatch(/403, not 401/);
    expect(credential.message).toContain("crm.objects.contacts.read, crm.objects.contacts.write, crm.schemas.contacts.read, crm.schemas.contacts.write");
    const schema = find(report, "hubspot", "schema");
    expect(schema).toMatchObject({ status: "error", problem: "config", missingScopes: ["crm.schemas.contacts.read"] });
    expect(schema.message).toMatch(/403: missing scope crm\.schemas\.contacts\.read/);
    expect(schema.message).toContain("HubSpot says the call needs: crm.objects.contacts.write, crm.schemas.contacts.write");
    expect(schema.fix).toMatch(/Private apps/);
    expect(find(report, "hubspot", "contacts").missingScopes).toEqual(["crm.objects.contacts.read"]);
    expect(find(report, "hubspot", "lists")).toMatchObject({ status: "warn", missingScopes: ["crm.lists.read"] });
    expect(find(report, "klaviyo", "profiles")).toMatchObject({ status: "error", missingScopes: ["profiles:read"] });
    expect(find(report, "klaviyo", "profiles").message).toMatch(/profiles:write and events:write/);
    expect(find(report, "klaviyo", "segments")).toMatchObject({ status: "warn", missingScopes: ["segments:read"] });
  });

  it("the private app's granted scopes, when HubSpot tells them, name exactly what is missing", async () => {
    sb.hubspot.fault({
      method: "POST", path: "/oauth/v2/private-apps/get/access-token-info", status: 200, times: 1,
      body: { userId: 1, hubId: 2, appId: 3, scopes: ["crm.objects.contacts.read", "crm.schemas.contacts.read", "crm.schemas.contacts.write", "crm.lists.read"] },
    });
    const report = await doctor({ KLAVIYO_API_KEY: undefined });
    expect(find(report, "hubspot", "scopes")).toMatchObject({ status: "error", missingScopes: ["crm.objects.contacts.write"] });
    expect(find(report, "hubspot", "scopes (setup)")).toMatchObject({ status: "warn", missingScopes: ["crm.lists.write"] });
    expect(report.checks.some((c) => c.check === "write scopes" && c.service === "hubspot")).toBe(false);
    expect(report.exitCode).toBe(2);
    const tokenInfo = sb.hubspot.requests.filter((r) => r.path.endsWith("/access-token-info")).at(-1)!;
    expect(tokenInfo.headers.authorization).toBeUndefined();
  });

  it("missing configuration: no Fashion.AI token and no CRM are errors; unconfigured CRMs are skipped", async () => {
    const report = await runDoctor(loadConfig({}), {});
    expect(report.exitCode).toBe(2);
    expect(find(report, "fashionai", "credential").message).toMatch(/FASHIONAI_APP_TOKEN is not set/);
    expect(find(report, "config", "connectors").message).toMatch(/neither HUBSPOT_ACCESS_TOKEN nor KLAVIYO_API_KEY/);
    expect(find(report, "hubspot", "credential").status).toBe("info");
    expect(find(report, "inngest", "mode").status).toBe("warn");
  });

  it("a service that cannot be reached exits 1, not 2", async () => {
    sb.hubspot.fault({ path: "/crm/v3/properties/contacts/groups", status: 503, times: 1 });
    sb.hubspot.fault({ path: "/crm/v3/objects/contacts", status: 503, times: 1 });
    const report = await doctor({ KLAVIYO_API_KEY: undefined });
    sb.hubspot.clearFaults();
    expect(find(report, "hubspot", "schema")).toMatchObject({ status: "error", problem: "unreachable" });
    expect(report.exitCode).toBe(1);
  });

});

// The first through the real binary (child process), the others through main() in-process.
describe("doctor through the CLI", () => {
  it.concurrent("wrong tokens: each service says which variable is wrong (401), exit 2, no token printed", async () => {
    const run = await runCli(["doctor", "--json"], {
      ...sb.env, FASHIONAI_APP_TOKEN: WRONG.fashionai, HUBSPOT_ACCESS_TOKEN: WRONG.hubspot, KLAVIYO_API_KEY: WRONG.klaviyo,
    });
    expect(run.code, run.stderr).toBe(2);
    for (const t of allTokens()) expect(run.stdout + run.stderr).not.toContain(t);
    const report = run.json as DoctorReport;
    expect(report.ok).toBe(false);
    expect(find(report, "fashionai", "credential")).toMatchObject({ status: "error", problem: "config" });
    expect(find(report, "fashionai", "credential").message).toMatch(/rejected FASHIONAI_APP_TOKEN \(401/);
    expect(find(report, "hubspot", "credential").message).toMatch(/rejected HUBSPOT_ACCESS_TOKEN \(401: wrong, expired or revoked/);
    expect(find(report, "klaviyo", "credential").message).toMatch(/rejected KLAVIYO_API_KEY \(401/);
    expect(report.checks.filter((c) => c.service === "hubspot")).toHaveLength(1);
  });

  it.concurrent("a property with another type is a configuration error naming it; another field type only warns", async () => {
    const own = await startSandbox();
    try {
      own.hubspot.addGroup("fashionai", "Fashion.AI");
      own.hubspot.addProperty({ name: "fashionai_novo_comportamento", type: "string", fieldType: "text", groupName: "fashionai" });
      own.hubspot.addProperty({ name: "fashionai_ocasioes", type: "enumeration", fieldType: "select", groupName: "fashionai" });
      const run = await runMain(["doctor"], own.env);
      expect(run.code, run.stdout).toBe(2);
      expect(run.stdout).toMatch(/ERROR\s+property fashionai_novo_comportamento\s+fashionai_novo_comportamento exists with type string \(text\), but this connector writes bool \(booleancheckbox\)/);
      expect(run.stdout).toMatch(/fix: rename or delete fashionai_novo_comportamento in HubSpot/);
      expect(run.stdout).toMatch(/WARN\s+property fashionai_ocasioes\s+fashionai_ocasioes is shown as select/);
      expect(run.stdout).toMatch(/A sync would fail/);
      for (const t of [own.env.FASHIONAI_APP_TOKEN, own.env.HUBSPOT_ACCESS_TOKEN, own.env.KLAVIYO_API_KEY]) {
        expect(run.stdout + run.stderr).not.toContain(t);
      }
      expect(own.hubspot.property("fashionai_novo_comportamento")?.type).toBe("string"); // untouched
    } finally {
      await own.close();
    }
  });

  it.concurrent("human output groups checks per service and ends with the verdict", async () => {
    const run = await runMain(["doctor"], { ...sb.env, INNGEST_DEV: "1" });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Fashion\.AI\n  ok\s+credential\s+FASHIONAI_APP_TOKEN accepted/m);
    expect(run.stdout).toMatch(/^HubSpot$/m);
    expect(run.stdout).toMatch(/^Klaviyo$/m);
    expect(run.stdout).toMatch(/All set: a sync would work/);
    for (const t of allTokens()) expect(run.stdout + run.stderr).not.toContain(t);
  });

  it.concurrent("usage: doctor takes no arguments", async () => {
    const run = await runMain(["doctor", "extra"], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/doctor: unexpected argument "extra"/);
  });
});

describe("doctor helpers", () => {
  it("compareHubSpotSchema: ok, missing, type conflict, field type differs", () => {
    const defs = hubspotPropertyDefinitions().filter((d) => ["fashionai_user_profile_id", "fashionai_tom_de_voz", "fashionai_sincronizado_em", "fashionai_ocasioes"].includes(d.name));
    const r = compareHubSpotSchema([{ name: "other" }], [
      { name: "fashionai_user_profile_id", type: "string", fieldType: "text" },
      { name: "fashionai_tom_de_voz", type: "string", fieldType: "textarea" },
      { name: "fashionai_ocasioes", type: "enumeration", fieldType: "radio" },
    ], defs);
    expect(r.group.exists).toBe(false);
    expect(Object.fromEntries(r.properties.map((p) => [p.name, p.status]))).toEqual({
      fashionai_user_profile_id: "ok", fashionai_tom_de_voz: "type_conflict", fashionai_ocasioes: "field_type_differs", fashionai_sincronizado_em: "missing",
    });
  });

  it("scopesFromBody reads HubSpot's MISSING_SCOPES context", () => {
    expect(scopesFromBody({ errors: [{ context: { requiredGranularScopes: ["a", "b"] } }, { context: { requiredScopes: ["b", "c"] } }] })).toEqual(["a", "b", "c"]);
    expect(scopesFromBody("nope")).toEqual([]);
  });

  it("exit codes: configuration beats unreachable; warnings never fail", () => {
    const c = (status: DoctorCheck["status"], problem?: DoctorCheck["problem"]): DoctorCheck => ({ service: "hubspot", check: "x", status, message: "", ...(problem ? { problem } : {}) });
    expect(exitCodeForChecks([c("ok"), c("warn"), c("info")])).toBe(0);
    expect(exitCodeForChecks([c("error", "unreachable")])).toBe(1);
    expect(exitCodeForChecks([c("error", "unreachable"), c("error", "config")])).toBe(2);
  });
});
