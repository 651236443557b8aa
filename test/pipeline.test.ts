// The whole pipeline (validate → fetch → map → write) over real HTTP against the local stand-ins.
import { describe, expect, it } from "vitest";
import { fixture, useStandIns } from "./helpers/stand-ins.js";
import { runSync } from "../src/pipeline/sync.js";
import type { SyncReport, SyncRequest } from "../src/pipeline/types.js";
import type { Sandbox } from "../src/sandbox/index.js";

const CAMILA = "camila.ferraz@example.com"; // novo_comportamento: true
const GUSTAVO = "gustavo.teixeira@example.com"; // novo_comportamento: false

const { sandbox, runtime } = useStandIns();

/** Requests that reached HubSpot or Klaviyo (any route). */
function crmTraffic(sb: Sandbox): number {
  return sb.hubspot.requests.length + sb.klaviyo.requests.length;
}

function expectConsistent(report: SyncReport, requested: number): void {
  const s = report.summary;
  expect(s.requested).toBe(requested);
  expect(report.results).toHaveLength(requested);
  expect(s.synced + s.not_found + s.invalid + s.failed).toBe(requested);
  for (const status of ["synced", "not_found", "invalid", "failed"] as const) {
    expect(s[status]).toBe(report.results.filter((r) => r.status === status).length);
  }
  for (const r of report.results) {
    if (r.status !== "synced") expect(r.reason, JSON.stringify(r)).toMatch(/\S/);
  }
}

describe("record outcomes", () => {
  it("gives every request exactly one outcome, in request order, and the summary adds up", async () => {
    const sb = await sandbox();
    sb.fashionai.script("email", "broken@example.com", [{ status: 500, body: { error: "Internal Server Error", message: "boom" }, repeat: true }]);
    const rt = runtime(sb);
    const requests: SyncRequest[] = [
      { identifier: `  ${CAMILA.toUpperCase()} ` },
      { identifier: "nobody@example.com" },
      { identifier: "not an email" },
      { identifier: "+55 (41) 98123-0101", by: "phone" }, // phone without the CRM email
      { identifier: "broken@example.com" },
      { identifier: GUSTAVO },
      { identifier: "5541981230101", by: "phone", email: "Camila.Ferraz@example.com" },
      { identifier: "a@@example.com" },
    ];
    const report = await runSync(requests, rt.deps);

    expectConsistent(report, requests.length);
    expect(report.configError).toBeUndefined();
    expect(report.results.map((r) => r.status)).toEqual([
      "synced", "not_found", "invalid", "invalid", "failed", "synced", "synced", "invalid",
    ]);
    expect(report.results.map((r) => r.identifier)).toEqual(requests.map((r) => r.identifier));
    expect(report.summary).toEqual({ requested: 8, synced: 3, not_found: 1, invalid: 3, failed: 1 });

    const [camila, notFound, badEmail, phoneNoEmail, failed, , byPhone] = report.results;
    expect(camila!.email).toBe(CAMILA);
    expect(camila!.userProfileId).toBe("fp_H4C8E2KD");
    expect(camila!.connectors?.hubspot?.status).toBe("written");
    expect(camila!.connectors?.klaviyo?.status).toBe("written");
    expect(notFound!.reason).toBe("no Fashion.AI profile");
    expect(badEmail!.reason).toMatch(/not a valid email/);
    expect(phoneNoEmail!.by).toBe("phone");
    expect(phoneNoEmail!.reason).toMatch(/needs the contact's email/);
    expect(failed!.reason).toMatch(/500/);
    expect(failed!.reason).toMatch(/after 4 attempts/);
    expect(byPhone!.email).toBe(CAMILA);
    expect(byPhone!.by).toBe("phone");

    // Invalid requests never reach the API; the phone lookup went out normalised.
    const lookups = sb.fashionai.lookups();
    expect(lookups.some((l) => l.value.includes("not an email") || l.value.includes("a@@"))).toBe(false);
    expect(lookups.filter((l) => l.by === "phone").map((l) => l.value)).toEqual(["5541981230101"]);
    expect(lookups.filter((l) => l.value === "broken@example.com")).toHaveLength(4);

    // not_found and failed records leave the CRMs untouched.
    expect(sb.hubspot.contact("nobody@example.com")).toBeUndefined();
    expect(sb.hubspot.contact("broken@example.com")).toBeUndefined();
    expect(sb.klaviyo.profile("nobody@example.com")).toBeUndefined();
    expect(sb.klaviyo.profile("broken@example.com")).toBeUndefined();
    expect(sb.hubspot.contact(CAMILA)?.properties.fashionai_user_profile_id).toBe("fp_H4C8E2KD");
    expect(sb.hubspot.contact(GUSTAVO)?.properties.fashionai_user_profile_id).toBe("fp_R7T1G5VN");
    expect(sb.klaviyo.profile(GUSTAVO)?.fashionai_user_profile_id).toBe("fp_R7T1G5VN");
  });

  it("an empty request list is an empty, consistent report with no traffic", async () => {
    const sb = await sandbox();
    const report = await runSync([], runtime(sb).deps);
    expect(report.summary).toEqual({ requested: 0, synced: 0, not_found: 0, invalid: 0, failed: 0 });
    expect(report.results).toEqual([]);
    expect(sb.fashionai.requests.length + crmTraffic(sb)).toBe(0);
  });
});

describe("credentials (401/403) stop the run and name the variable", () => {
  it("Fashion.AI 401: configError names FASHIONAI_APP_TOKEN, nothing written, others failed with that reason", async () => {
    const sb = await sandbox();
    const rt = runtime(sb, { FASHIONAI_APP_TOKEN: "wrong-token" });
    const requests: SyncRequest[] = [{ identifier: CAMILA }, { identifier: "bad email" }, { identifier: GUSTAVO }, { identifier: "x@example.com" }];
    const report = await runSync(requests, rt.deps);

    expectConsistent(report, 4);
    expect(report.configError).toMatch(/FASHIONAI_APP_TOKEN/);
    expect(report.configError).not.toContain("wrong-token");
    expect(report.results[1]!.status).toBe("invalid"); // decided before any API call
    for (const i of [0, 2, 3]) {
      const r = report.results[i]!;
      expect(r.status).toBe("failed");
      expect(r.reason).toContain(report.configError!);
      expect(r.reason).not.toContain("wrong-token");
    }
    expect(crmTraffic(sb)).toBe(0);
    expect(sb.hubspot.contacts()).toEqual([]);
    expect(sb.klaviyo.profiles()).toEqual([]);
    // The run stopped early: not every record was looked up (concurrency bounds the calls in flight).
    expect(sb.fashionai.lookups().length).toBeLessThanOrEqual(3);
  });

  it("a 401 on one lookup stops the run: profiles already fetched are not written", async () => {
    const sb = await sandbox();
    sb.fashionai.script("email", "revoked@example.com", [{ status: 401, body: { error: "Unauthorized", message: "Invalid token" } }]);
    const report = await runSync([{ identifier: CAMILA }, { identifier: "revoked@example.com" }, { identifier: GUSTAVO }], runtime(sb).deps);
    expectConsistent(report, 3);
    expect(report.configError).toMatch(/FASHIONAI_APP_TOKEN/);
    for (const r of report.results) {
      expect(r.status).toBe("failed");
      expect(r.reason).toContain("FASHIONAI_APP_TOKEN");
    }
    expect(crmTraffic(sb)).toBe(0);
    expect(sb.fashionai.lookups().filter((l) => l.value === "revoked@example.com")).toHaveLength(1);
  });

  it("HubSpot 401 (wrong token): configError names HUBSPOT_ACCESS_TOKEN, nothing written anywhere", async () => {
    const sb = await sandbox();
    const rt = runtime(sb, { HUBSPOT_ACCESS_TOKEN: "not-the-token" });
    const report = await runSync([{ identifier: CAMILA }, { identifier: GUSTAVO }, { identifier: "nobody@example.com" }], rt.deps);

    expectConsistent(report, 3);
    expect(report.configError).toMatch(/HUBSPOT_ACCESS_TOKEN/);
    expect(report.configError).toMatch(/401/);
    expect(report.configError).not.toContain("not-the-token");
    expect(report.results.map((r) => r.status)).toEqual(["failed", "failed", "not_found"]);
    for (const r of report.results.slice(0, 2)) {
      expect(r.reason).toContain("HUBSPOT_ACCESS_TOKEN");
      expect(r.connectors?.hubspot?.status).toBe("skipped");
      expect(r.connectors?.klaviyo?.status).toBe("skipped");
    }
    expect(sb.hubspot.contacts()).toEqual([]);
    expect(sb.hubspot.requests.every((r) => r.status === 401)).toBe(true);
    expect(sb.hubspot.requests).toHaveLength(1); // no retries of an auth fault
    expect(sb.klaviyo.requests).toHaveLength(0);
  });

  it("HubSpot 403 (missing scopes): configError names HUBSPOT_ACCESS_TOKEN", async () => {
    const sb = await sandbox({ hubspot: { missingScopes: ["scopeless-token"] } });
    const rt = runtime(sb, { HUBSPOT_ACCESS_TOKEN: "scopeless-token" });
    const report = await runSync([{ identifier: CAMILA }], rt.deps);

    expectConsistent(report, 1);
    expect(report.configError).toMatch(/HUBSPOT_ACCESS_TOKEN/);
    expect(report.configError).toMatch(/403/);
    expect(report.results[0]!.status).toBe("failed");
    expect(report.results[0]!.reason).toContain("HUBSPOT_ACCESS_TOKEN");
    expect(sb.hubspot.contacts()).toEqual([]);
    expect(sb.hubspot.group("fashionai")).toBeUndefined();
    expect(sb.klaviyo.requests).toHaveLength(0);
  });

  it("Klaviyo 401: configError names KLAVIYO_API_KEY, nothing written to Klaviyo", async () => {
    const sb = await sandbox();
    const rt = runtime(sb, { KLAVIYO_API_KEY: "pk_wrong" });
    const report = await runSync([{ identifier: CAMILA }, { identifier: GUSTAVO }], rt.deps);

    expectConsistent(report, 2);
    expect(report.configError).toMatch(/KLAVIYO_API_KEY/);
    expect(report.configError).not.toContain("pk_wrong");
    for (const r of report.results) {
      expect(r.status).toBe("failed");
      expect(r.reason).toContain("KLAVIYO_API_KEY");
      expect(r.connectors?.klaviyo?.status).not.toBe("written");
    }
    expect(sb.klaviyo.profiles()).toEqual([]);
    expect(sb.klaviyo.events()).toEqual([]);
    expect(sb.klaviyo.requests.every((r) => r.status === 401)).toBe(true);
  });

  it("Klaviyo 403 (key without scopes): configError names KLAVIYO_API_KEY", async () => {
    const sb = await sandbox({ klaviyo: { forbiddenKeys: ["pk_noscope"] } });
    const rt = runtime(sb, { KLAVIYO_API_KEY: "pk_noscope" }, { to: ["klaviyo"] });
    const report = await runSync([{ identifier: CAMILA }], rt.deps);
    expect(report.configError).toMatch(/KLAVIYO_API_KEY/);
    expect(report.configError).toMatch(/403/);
    expect(report.results[0]!.status).toBe("failed");
    expect(sb.klaviyo.profiles()).toEqual([]);
    expect(sb.hubspot.requests).toHaveLength(0);
  });
});

describe("dry run", () => {
  it("writes nothing to either CRM and plans both connectors with their properties", async () => {
    const sb = await sandbox();
    const rt = runtime(sb, {}, { dryRun: true });
    const report = await runSync([{ identifier: CAMILA }, { identifier: GUSTAVO }, { identifier: "nobody@example.com" }], rt.deps);

    expectConsistent(report, 3);
    expect(report.results.map((r) => r.status)).toEqual(["synced", "synced", "not_found"]);
    // Only reads (for the old → new diff): a GET, or HubSpot's batch read, which is a POST.
    expect([...sb.hubspot.requests, ...sb.klaviyo.requests].filter((r) => r.method !== "GET" && !r.path.endsWith("/batch/read"))).toEqual([]);
    const [camila, gustavo] = report.results;
    for (const r of [camila!, gustavo!]) {
      expect(r.connectors?.hubspot?.status).toBe("planned");
      expect(r.connectors?.klaviyo?.status).toBe("planned");
    }
    const hs = camila!.connectors!.hubspot!.properties!;
    const kl = camila!.connectors!.klaviyo!.properties!;
    expect(hs.fashionai_user_profile_id).toBe("fp_H4C8E2KD");
    expect(hs.fashionai_tom_de_voz).toBe("sofisticado;minimalista");
    expect(hs.fashionai_novo_comportamento).toBe("true");
    expect(kl.fashionai_tom_de_voz).toEqual(["sofisticado", "minimalista"]);
    expect(kl.fashionai_novo_comportamento).toBe(true);
    expect(camila!.connectors!.klaviyo!.event).toMatchObject({ metric: "Fashion.AI Novo Comportamento", status: "planned" });
    expect(gustavo!.connectors!.klaviyo!.event).toBeUndefined();
  });

  it("with no CRM token configured, a dry run plans for both connectors", async () => {
    const sb = await sandbox();
    const rt = runtime(sb, { HUBSPOT_ACCESS_TOKEN: undefined, KLAVIYO_API_KEY: undefined }, { dryRun: true });
    expect(rt.deps.connectors).toEqual(["hubspot", "klaviyo"]);
    const report = await runSync([{ identifier: CAMILA }], rt.deps);
    expect(report.results[0]!.status).toBe("synced");
    expect(Object.keys(report.results[0]!.connectors!).sort()).toEqual(["hubspot", "klaviyo"]);
    expect(report.results[0]!.connectors!.hubspot!.status).toBe("planned");
    expect(report.results[0]!.connectors!.hubspot!.properties!.fashionai_gancho_principal).toBe("Guarda-roupa cápsula para a advocacia");
    expect(report.results[0]!.connectors!.klaviyo!.status).toBe("planned");
    expect(crmTraffic(sb)).toBe(0);
  });

  it("without --dry-run and no CRM token the runtime refuses to start", async () => {
    const sb = await sandbox();
    expect(() => runtime(sb, { HUBSPOT_ACCESS_TOKEN: undefined, KLAVIYO_API_KEY: undefined })).toThrow(/HUBSPOT_ACCESS_TOKEN/);
  });
});

describe("retries never multiply", () => {
  it("attempts=4 and a 500 on every Fashion.AI call: exactly 4 profile calls per record", async () => {
    const sb = await sandbox();
    sb.fashionai.fault({ method: "GET", path: "/protected/profile/", status: 500, times: Infinity });
    const rt = runtime(sb, { FASHIONAI_SYNC_RETRY_ATTEMPTS: "4" });
    const emails = [CAMILA, GUSTAVO, "nobody@example.com"];
    const report = await runSync(emails.map((identifier) => ({ identifier })), rt.deps);

    expectConsistent(report, 3);
    for (const r of report.results) {
      expect(r.status).toBe("failed");
      expect(r.reason).toMatch(/after 4 attempts/);
    }
    const lookups = sb.fashionai.lookups();
    for (const e of emails) expect(lookups.filter((l) => l.value === e)).toHaveLength(4);
    expect(lookups).toHaveLength(12);
    expect(crmTraffic(sb)).toBe(0);
  });

  it("attempts=1 makes exactly one call per record, and a later success after retries is synced", async () => {
    const sb = await sandbox();
    sb.fashionai.script("email", CAMILA, [{ status: 503 }, { status: 500 }]);
    const rt = runtime(sb, { FASHIONAI_SYNC_RETRY_ATTEMPTS: "3" });
    const report = await runSync([{ identifier: CAMILA }], rt.deps);
    expect(report.results[0]!.status).toBe("synced");
    expect(sb.fashionai.lookups()).toHaveLength(3);

    const sb2 = await sandbox();
    sb2.fashionai.script("email", CAMILA, [{ status: 503 }]);
    const once = await runSync([{ identifier: CAMILA }], runtime(sb2, { FASHIONAI_SYNC_RETRY_ATTEMPTS: "1" }).deps);
    expect(once.results[0]!.status).toBe("failed");
    expect(once.results[0]!.reason).toMatch(/after 1 attempt\b/);
    expect(sb2.fashionai.lookups()).toHaveLength(1);
  });

  it("an unusable body (HTML) is retried, then failed with a reason", async () => {
    const sb = await sandbox();
    sb.fashionai.script("email", CAMILA, [{ status: 200, bodyText: "<html>maintenance</html>", headers: { "content-type": "text/html" }, repeat: true }]);
    const report = await runSync([{ identifier: CAMILA }], runtime(sb, { FASHIONAI_SYNC_RETRY_ATTEMPTS: "2" }).deps);
    expect(report.results[0]!.status).toBe("failed");
    expect(report.results[0]!.reason).toBeTruthy();
    expect(sb.fashionai.lookups()).toHaveLength(2);
    expect(crmTraffic(sb)).toBe(0);
  });
});

describe("connectors and lookups", () => {
  it("--to limits the run to one connector", async () => {
    const sb = await sandbox();
    const report = await runSync([{ identifier: CAMILA }], runtime(sb, {}, { to: ["hubspot"] }).deps);
    expect(report.results[0]!.status).toBe("synced");
    expect(Object.keys(report.results[0]!.connectors!)).toEqual(["hubspot"]);
    expect(sb.hubspot.contact(CAMILA)).toBeDefined();
    expect(sb.klaviyo.requests).toHaveLength(0);
  });

  it("the identifier is percent-encoded as one path segment", async () => {
    const sb = await sandbox();
    const email = "ana/b+c%d?e#f@example.com";
    sb.fashionai.addProfile({ email }, fixture("gustavo-teixeira.json"));
    const report = await runSync([{ identifier: email }], runtime(sb).deps);
    expect(report.results[0]!.status).toBe("synced");
    const [req] = sb.fashionai.profileRequests();
    expect(req!.path).toBe("/api/v1/crm/protected/profile/email/ana%2Fb%2Bc%25d%3Fe%23f%40example.com");
    expect(sb.hubspot.contact(email)?.properties.fashionai_user_profile_id).toBe("fp_R7T1G5VN");
    expect(sb.klaviyo.profile(email)?.fashionai_user_profile_id).toBe("fp_R7T1G5VN");
  });

  it("a lookup by document or user-profile-id writes the CRM record of the given email", async () => {
    const sb = await sandbox();
    sb.fashionai.addProfile({ document: "11122233344" }, fixture("gustavo-teixeira.json"));
    const report = await runSync(
      [
        { identifier: "111.222.333-44", by: "document", email: "Outro.Email@Example.com" },
        { identifier: " fp_H4C8E2KD ", by: "user-profile-id", email: CAMILA },
      ],
      runtime(sb).deps,
    );
    expect(report.results.map((r) => r.status)).toEqual(["synced", "synced"]);
    expect(sb.fashionai.lookups().map((l) => [l.by, l.value])).toEqual(
      expect.arrayContaining([["document", "11122233344"], ["user-profile-id", "fp_H4C8E2KD"]]),
    );
    expect(sb.hubspot.contact("outro.email@example.com")?.properties.fashionai_user_profile_id).toBe("fp_R7T1G5VN");
    expect(sb.klaviyo.profile("outro.email@example.com")?.fashionai_user_profile_id).toBe("fp_R7T1G5VN");
    expect(sb.hubspot.contact(CAMILA)?.properties.fashionai_user_profile_id).toBe("fp_H4C8E2KD");
  });
});
