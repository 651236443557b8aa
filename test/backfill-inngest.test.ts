// The durable backfill and the scheduled refresh, run by @inngest/test's engine. Events sent by step.sendEvent
// reach a recording fetch instead of an Inngest server.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InngestTestEngine } from "@inngest/test";
import { Inngest } from "inngest";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { envRuntimeProvider } from "../inngest.config.js";
import { createSyncProfiles, type RuntimeProvider } from "../src/inngest/functions/sync-profiles.js";
import type { SyncReport } from "../src/pipeline/types.js";
import type { Runtime } from "../src/runtime.js";
import { ConfigError } from "../src/config.js";
import { SyncError } from "../src/errors.js";
import { createBackfill, envBackfillSources, type BackfillSummary, type PageStepOutput } from "../src/inngest/functions/backfill.js";
import { createScheduledRefresh, readRefreshSettings } from "../src/inngest/functions/scheduled-refresh.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import type { BackfillSource, SourcePage, SourceRow } from "../src/sources/types.js";

const REQUESTED = "fashionai/backfill.requested";

interface Sent {
  name: string;
  data: Record<string, any>;
}

/** A dev-mode client whose event sends are recorded (each send is one array of events). */
function recordingClient() {
  const sends: Sent[][] = [];
  const client = new Inngest({
    id: "fashionai-crm-sync",
    isDev: true,
    fetch: (async (_url: unknown, init?: { body?: unknown }) => {
      const body = JSON.parse(String(init?.body));
      const events = (Array.isArray(body) ? body : [body]) as Sent[];
      sends.push(events);
      return new Response(JSON.stringify({ ids: events.map((_, i) => `evt_${sends.length}_${i}`), status: 200 }), {
        status: 200, headers: { "content-type": "application/json" },
      });
    }) as typeof fetch,
  });
  return { client, sends };
}

/** A cursor-paged source of `total` emails (cursor = offset), recording the cursors it was asked for. */
function fakeSource(total: number, pageSize: number, tweak: (row: SourceRow) => SourceRow = (r) => r) {
  const calls: Array<string | undefined> = [];
  const page = async (cursor: string | undefined): Promise<SourcePage> => {
    calls.push(cursor);
    const start = cursor ? Number(cursor) : 0;
    const rows = Array.from({ length: Math.min(pageSize, total - start) }, (_, i) =>
      tweak({ row: start + i + 1, request: { identifier: `u${start + i}@example.com`, by: "email" } }));
    const end = start + rows.length;
    return { rows, ...(end < total ? { next: String(end) } : {}) };
  };
  const source: BackfillSource = { kind: "hubspot", label: "fake", page, pages: async function* () {} };
  return { source, calls };
}

const run = (data: Record<string, unknown>) => ({ events: [{ name: REQUESTED, data }] as [{ name: string; data: Record<string, unknown> }] });
const stepIds = (ctx: InngestTestEngine.MockContext) => ctx.step.run.mock.calls.map((c) => c[0]);

describe("backfill: paging", () => {
  it("reads the source one step per page, each step's output carrying the next cursor", async () => {
    const { client } = recordingClient();
    const { source, calls } = fakeSource(250, 100);
    const t = new InngestTestEngine({ function: createBackfill(client, () => source, { recordsPerStep: 100 }) });
    const { result, error, ctx } = await t.execute(run({ source: "hubspot", backfillId: "bf_1" }));
    expect(error).toBeUndefined();
    expect(stepIds(ctx)).toEqual(["read-page-0", "read-page-1", "read-page-2"]);
    expect(calls).toEqual([undefined, "100", "200"]);
    expect(result).toEqual({ backfillId: "bf_1", source: "hubspot", queued: 250, invalid: 0, invalidRows: [], pages: 3, run: 1 } satisfies BackfillSummary);
  });

  it("a re-executed run resumes from the cursor in the memoized step output, not from the start", async () => {
    const { client } = recordingClient();
    const { source, calls } = fakeSource(250, 100);
    const t = new InngestTestEngine({ function: createBackfill(client, () => source, { recordsPerStep: 100 }) });
    const first: PageStepOutput = { requests: Array.from({ length: 100 }, (_, i) => ({ identifier: `u${i}@example.com`, reason: "backfill", backfillId: "bf_1" })), invalid: [], next: "100" };
    const { result } = await t.execute({
      ...run({ source: "hubspot", backfillId: "bf_1" }),
      steps: [{ id: "read-page-0", handler: () => first }, { id: "queue-page-0", handler: () => ({ ids: [] }) }],
    });
    expect(calls).toEqual(["100", "200"]);
    expect(result).toMatchObject({ queued: 250, pages: 3 });
  });

  it("groups small source pages into one step of up to recordsPerStep records", async () => {
    const { client, sends } = recordingClient();
    const { source, calls } = fakeSource(250, 100);
    const t = new InngestTestEngine({ function: createBackfill(client, () => source, { recordsPerStep: 500 }) });
    const { result, ctx } = await t.execute(run({ source: "hubspot", backfillId: "bf_2" }));
    expect(stepIds(ctx)).toEqual(["read-page-0"]);
    expect(calls).toEqual([undefined, "100", "200"]);
    expect(sends.map((s) => s.length)).toEqual([250]);
    expect(result).toMatchObject({ queued: 250, pages: 1 });
  });

  it("continues a very large source in a new run (same backfillId) before Inngest's step cap", async () => {
    const { client, sends } = recordingClient();
    const { source } = fakeSource(500, 100);
    const fn = createBackfill(client, () => source, { recordsPerStep: 100, maxPagesPerRun: 2 });
    // A fresh engine per run: an engine replays the step state of its earlier executions.
    const exec = (data: Record<string, unknown>) => new InngestTestEngine({ function: fn }).execute(run(data));
    const first = await exec({ source: "hubspot", backfillId: "bf_big" });
    expect(first.result).toMatchObject({ queued: 200, pages: 2, continued: true, run: 1 });
    const next = sends.flat().find((e) => e.name === REQUESTED)!;
    expect(next.data).toEqual({ source: "hubspot", backfillId: "bf_big", continuation: { cursor: "200", queued: 200, invalid: 0, pages: 2, run: 2 } });

    const second = await exec(next.data);
    expect(second.result).toMatchObject({ queued: 400, pages: 4, continued: true, run: 2 });
    const third = await exec(sends.flat().filter((e) => e.name === REQUESTED)[1]!.data);
    expect(third.result).toMatchObject({ queued: 500, pages: 5, run: 3 });
    expect((third.result as BackfillSummary).continued).toBeUndefined();
    expect(sends.flat().filter((e) => e.name === "fashionai/profile.sync.requested")).toHaveLength(500);
  });
});

describe("backfill: fan-out", () => {
  it("sends each page's records as fashionai/profile.sync.requested events with step.sendEvent, tagged with the backfillId", async () => {
    const { client, sends } = recordingClient();
    const { source } = fakeSource(250, 100);
    const t = new InngestTestEngine({ function: createBackfill(client, () => source, { recordsPerStep: 100 }) });
    const { ctx } = await t.execute(run({ source: "hubspot", backfillId: "bf_3", connectors: ["klaviyo"] }));
    expect(ctx.step.sendEvent.mock.calls.map((c) => [c[0], (c[1] as unknown[]).length])).toEqual([
      ["queue-page-0", 100], ["queue-page-1", 100], ["queue-page-2", 50],
    ]);
    expect(sends.map((s) => s.length)).toEqual([100, 100, 50]);
    expect(sends[0]![0]).toMatchObject({
      name: "fashionai/profile.sync.requested",
      data: { identifier: "u0@example.com", connectors: ["klaviyo"], reason: "backfill", backfillId: "bf_3" },
    });
    const all = sends.flat().map((e) => e.data.identifier);
    expect(new Set(all).size).toBe(250);
  });

  it("rows that cannot be synced are counted, listed with their row number, and not queued", async () => {
    const { client, sends } = recordingClient();
    const { source } = fakeSource(10, 100, (r) =>
      r.row === 3 ? { ...r, invalid: "row 3: HubSpot contact 7 has no email" } : r.row === 5 ? { ...r, request: { identifier: "not-an-email", by: "email" } } : r);
    const t = new InngestTestEngine({ function: createBackfill(client, () => source) });
    const { result } = await t.execute(run({ source: "hubspot", backfillId: "bf_4" }));
    expect(result).toMatchObject({ queued: 8, invalid: 2 });
    expect((result as BackfillSummary).invalidRows).toEqual([
      { row: 3, identifier: "u2@example.com", reason: "row 3: HubSpot contact 7 has no email" },
      { row: 5, identifier: "not-an-email", reason: expect.stringMatching(/^row 5: /) },
    ]);
    expect(sends.flat()).toHaveLength(8);
  });

  it("source faults map to Inngest's retry decisions: 429 waits for Retry-After, a bad credential is final", async () => {
    const { client } = recordingClient();
    const failing = (err: Error): BackfillSource => ({ kind: "hubspot", label: "x", page: async () => { throw err; }, pages: async function* () {} });
    const limited = new InngestTestEngine({ function: createBackfill(client, () => failing(new SyncError("rate_limited", "hubspot", "HubSpot rate limit", { retryAfterMs: 9000 }))) });
    expect((await limited.execute(run({ source: "hubspot" }))).error).toMatchObject({ name: "RetryAfterError" });
    const denied = new InngestTestEngine({ function: createBackfill(client, () => failing(new SyncError("auth", "hubspot", "HubSpot rejected the credential in HUBSPOT_ACCESS_TOKEN"))) });
    expect((await denied.execute(run({ source: "hubspot" }))).error).toMatchObject({ name: "NonRetriableError", message: expect.stringMatching(/HUBSPOT_ACCESS_TOKEN/) });
  });

  it("inline identifiers are paged from the event itself", async () => {
    const { client, sends } = recordingClient();
    const identifiers = [...Array.from({ length: 600 }, (_, i) => `i${i}@example.com`), { identifier: "5511999998888", by: "phone", email: "p@example.com" }];
    const t = new InngestTestEngine({ function: createBackfill(client, envBackfillSources({})) });
    const { result } = await t.execute(run({ source: "identifiers", identifiers, backfillId: "bf_ids" }));
    expect(result).toMatchObject({ queued: 601, pages: 2 });
    expect(sends.flat().at(-1)).toMatchObject({ data: { identifier: "5511999998888", by: "phone", email: "p@example.com", backfillId: "bf_ids" } });
  });

  it('rejects source "identifiers" without identifiers, naming the field', async () => {
    const { client } = recordingClient();
    const t = new InngestTestEngine({ function: createBackfill(client, envBackfillSources({})) });
    const { error } = await t.execute(run({ source: "identifiers" }));
    expect(error).toMatchObject({ name: "EventValidationError", message: expect.stringMatching(/identifiers/) });
  });
});

describe("backfill: against the HubSpot stand-in", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(() => sb.close());

  it("pages the contacts list (or the search API with modifiedSince) and queues every contact", async () => {
    for (let i = 0; i < 230; i++) sb.hubspot.addContact(`h${i}@example.com`);
    const { client, sends } = recordingClient();
    const fn = createBackfill(client, envBackfillSources(sb.env), { recordsPerStep: 100 });
    const { result } = await new InngestTestEngine({ function: fn }).execute(run({ source: "hubspot", backfillId: "bf_hs" }));
    expect(result).toMatchObject({ queued: 230, pages: 3 });

    expect(sb.hubspot.stats()["GET /crm/v3/objects/contacts"]).toBe(3);
    const search = await new InngestTestEngine({ function: fn }).execute(run({ source: "hubspot", backfillId: "bf_hs2", modifiedSince: new Date(Date.now() - 60_000).toISOString() }));
    expect(search.result).toMatchObject({ queued: 230 });
    expect(sb.hubspot.stats()["POST /crm/v3/objects/contacts/search"]).toBeGreaterThanOrEqual(3);
    expect(sends.flat().filter((e) => e.data.backfillId === "bf_hs")).toHaveLength(230);
  });

  it("a source without its credential on the server fails for good", async () => {
    const { client } = recordingClient();
    const { HUBSPOT_ACCESS_TOKEN: _t, ...env } = sb.env;
    const t = new InngestTestEngine({ function: createBackfill(client, envBackfillSources(env)) });
    expect((await t.execute(run({ source: "hubspot" }))).error).toMatchObject({ name: "NonRetriableError", message: expect.stringMatching(/HUBSPOT_ACCESS_TOKEN/) });
  });
});

describe("backfill: cancellation", () => {
  it("is cancelled by fashionai/backfill.cancelled with the same backfillId; one run per backfill at a time", () => {
    const { client } = recordingClient();
    const fn = createBackfill(client, () => fakeSource(1, 1).source);
    const [config] = (fn as unknown as { getConfig(o: { baseUrl: URL; appPrefix: string }): Array<Record<string, any>> })
      .getConfig({ baseUrl: new URL("http://localhost:3000/api/inngest"), appPrefix: "fashionai-crm-sync" });
    expect(config!.triggers).toEqual([{ event: REQUESTED }]);
    expect(config!.cancel).toEqual([{ event: "fashionai/backfill.cancelled", if: "async.data.backfillId == event.data.backfillId" }]);
    expect(config!.concurrency).toEqual(expect.arrayContaining([expect.objectContaining({ key: "event.data.backfillId", limit: 1 })]));
  });
});

describe("scheduled refresh", () => {
  it("is off unless FASHIONAI_REFRESH_CRON is set; reads source, connectors and window from the environment", () => {
    expect(readRefreshSettings({})).toBeUndefined();
    expect(readRefreshSettings({ FASHIONAI_REFRESH_CRON: "0 3 * * *" })).toEqual({ cron: "0 3 * * *", source: "hubspot" });
    expect(readRefreshSettings({
      FASHIONAI_REFRESH_CRON: "TZ=America/Sao_Paulo 0 3 * * 1", FASHIONAI_REFRESH_SOURCE: "klaviyo",
      FASHIONAI_REFRESH_CONNECTORS: "klaviyo", FASHIONAI_REFRESH_MODIFIED_WITHIN: "8d",
    })).toEqual({ cron: "TZ=America/Sao_Paulo 0 3 * * 1", source: "klaviyo", connectors: ["klaviyo"], modifiedWithinMs: 8 * 86_400_000 });
    expect(() => readRefreshSettings({ FASHIONAI_REFRESH_CRON: "every night" })).toThrow(ConfigError);
    expect(() => readRefreshSettings({ FASHIONAI_REFRESH_CRON: "0 3 * * *", FASHIONAI_REFRESH_SOURCE: "file.csv" })).toThrow(/FASHIONAI_REFRESH_SOURCE/);
    expect(() => readRefreshSettings({ FASHIONAI_REFRESH_CRON: "0 3 * * *", FASHIONAI_REFRESH_MODIFIED_WITHIN: "soon" })).toThrow(/FASHIONAI_REFRESH_MODIFIED_WITHIN/);
  });

  it("runs on its cron and requests a backfill of the configured source", async () => {
    const { client, sends } = recordingClient();
    const fn = createScheduledRefresh(client, { cron: "0 3 * * *", source: "hubspot", connectors: ["hubspot"], modifiedWithinMs: 86_400_000 });
    const [config] = (fn as unknown as { getConfig(o: { baseUrl: URL; appPrefix: string }): Array<Record<string, any>> })
      .getConfig({ baseUrl: new URL("http://localhost:3000/api/inngest"), appPrefix: "fashionai-crm-sync" });
    expect(config!.triggers).toEqual([{ cron: "0 3 * * *" }]);
    const t = new InngestTestEngine({ function: fn });
    const { result, error } = await t.execute({ events: [{ name: "inngest/scheduled.timer", data: {} }] as never });
    expect(error).toBeUndefined();
    expect(sends).toHaveLength(1);
    expect(sends[0]![0]).toMatchObject({ name: REQUESTED, data: { source: "hubspot", connectors: ["hubspot"], backfillId: expect.stringMatching(/^refresh_/) } });
    const since = Date.parse(sends[0]![0]!.data.modifiedSince);
    expect(Date.now() - since).toBeGreaterThan(86_000_000);
    expect(result).toEqual(sends[0]![0]!.data);
  });
});

describe("registration", () => {
  it("createFunctions serves backfill always, scheduled-refresh only when FASHIONAI_REFRESH_CRON is set", async () => {
    const { createFunctions, createInngest, envRuntimeProvider, APP_ID } = await import("../inngest.config.js");
    const client = createInngest({ INNGEST_DEV: "1" });
    const ids = (env: Record<string, string>) => createFunctions(client, envRuntimeProvider(env), undefined, env).map((f) => f.id(APP_ID));
    expect(ids({})).toEqual([`${APP_ID}-sync-profiles`, `${APP_ID}-sync-segments`, `${APP_ID}-backfill`]);
    expect(ids({ FASHIONAI_REFRESH_CRON: "0 3 * * *" })).toContain(`${APP_ID}-scheduled-refresh`);
    expect(() => ids({ FASHIONAI_REFRESH_CRON: "nightly" })).toThrow(/FASHIONAI_REFRESH_CRON/);
  });
});

// ------------------------------------------------------------------------------------------- batched sync-profiles

const PROFILES = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
const samples: Array<Record<string, unknown>> = (JSON.parse(readFileSync(join(PROFILES, "index.json"), "utf8")) as Array<{ file: string }>)
  .map((e) => JSON.parse(readFileSync(join(PROFILES, e.file), "utf8")));
const SYNC = "fashionai/profile.sync.requested";

function configOf(fn: unknown): Record<string, any> {
  return (fn as { getConfig(o: { baseUrl: URL; appPrefix: string }): Array<Record<string, any>> })
    .getConfig({ baseUrl: new URL("http://localhost:3000/api/inngest"), appPrefix: "fashionai-crm-sync" })[0]!;
}

describe("sync-profiles: batching", () => {
  let sb: Sandbox;
  let runtime: Runtime | undefined;
  let provide: RuntimeProvider;
  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(() => sb.close());
  beforeEach(() => {
    sb.reset();
    const inner = envRuntimeProvider(sb.env);
    provide = () => (runtime ??= inner());
  });
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });
  // @inngest/test 1.0 never finishes a run that sleeps, so the retry waits are mocked as done (and counted).
  const engine = () => new InngestTestEngine({
    function: createSyncProfiles(recordingClient().client, provide, { env: sb.env }),
    steps: [1, 2, 3].map((n) => ({ id: `fetch-retry-wait-${n}`, handler: () => null })), // fresh mocks per engine: they keep state
  });
  const batch = (datas: Array<Record<string, unknown>>) => ({ events: datas.map((data) => ({ name: SYNC, data })) as [{ name: string; data: Record<string, unknown> }] });
  const profile = (i: number) => ({ ...samples[i % samples.length], userProfileId: `fp_batch_${i}` });

  it("batches up to 100 events per run (5 s timeout), throttled and keyed per CRM from the vendor limits", () => {
    const { client } = recordingClient();
    const config = configOf(createSyncProfiles(client, provide, { env: sb.env }));
    expect(config.batchEvents).toEqual({ maxSize: 100, timeout: "5s" });
    // Klaviyo's bulk import (150/min, ~2 calls a run, 90%) is tighter than HubSpot's 100/10 s (80% → 480 runs/min).
    expect(config.throttle).toEqual({ limit: 67, period: "1m", burst: 6 });
    expect(config.concurrency).toEqual([
      { scope: "account", key: '"hubspot"', limit: 4 },
      { scope: "account", key: '"klaviyo"', limit: 3 },
    ]);
    const { KLAVIYO_API_KEY: _k, ...hubspotOnly } = sb.env;
    expect(configOf(createSyncProfiles(client, provide, { env: { ...hubspotOnly, HUBSPOT_RATE_LIMIT: "190/10s" } })).throttle.limit).toBe(912);
    expect(configOf(createSyncProfiles(client, provide, { env: { ...sb.env, FASHIONAI_SYNC_THROTTLE: "30/1m" } })).throttle).toMatchObject({ limit: 30, period: "60s" });
  });

  it("100 events: one fetch step, one HubSpot upsert, one Klaviyo import job, one events call; every event one outcome, in order", async () => {
    const datas: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 85; i++) {
      const email = `b${i}@example.com`;
      if (i < 75) sb.fashionai.addProfile({ email }, profile(i));
      datas.push({ identifier: email, reason: "test" }); // 75 with a profile, 10 without
    }
    for (let i = 0; i < 5; i++) {
      const phone = `55119000000${i}`;
      sb.fashionai.addProfile({ phone }, profile(100 + i));
      datas.push({ identifier: phone, by: "phone", email: `phone${i}@example.com` });
    }
    datas.push({ identifier: "not-an-email" }, { identifier: "5511900000009", by: "phone" }, { identifier: "b1@example.com", by: "fax" });
    datas.push({ identifier: "b0@example.com" }, { identifier: "B2@Example.com" }); // repeats: fetched and written once
    while (datas.length < 100) datas.push({ identifier: `b${datas.length}@example.com` }); // no profile
    expect(datas).toHaveLength(100);

    const { result, error, ctx } = await engine().execute(batch(datas));
    expect(error).toBeUndefined();
    const report = result as SyncReport;
    expect(report.results).toHaveLength(100);
    expect(report.summary).toEqual({ requested: 100, synced: 82, not_found: 15, invalid: 3, failed: 0 });
    expect(report.results.map((r) => r.identifier)).toEqual(datas.map((d) => d.identifier));
    expect(report.results[90]).toMatchObject({ status: "invalid", reason: expect.any(String) });
    expect(report.results[92]).toMatchObject({ status: "invalid", reason: expect.stringMatching(/data\.by/) });
    expect(report.results[85]).toMatchObject({ status: "synced", by: "phone", email: "phone0@example.com" });
    expect(report.results[94]).toMatchObject({ identifier: "B2@Example.com", status: "synced", email: "b2@example.com" });

    expect(ctx.step.run.mock.calls.map((c) => c[0])).toEqual(["fetch-profiles", "write-hubspot", "write-klaviyo", "klaviyo-import-result", "klaviyo-events"]);
    expect(sb.hubspot.stats()["POST /crm/v3/objects/contacts/batch/upsert"]).toBe(1);
    expect(sb.klaviyo.stats()["POST /api/profile-bulk-import-jobs"]).toBe(1);
    expect(sb.klaviyo.stats()["POST /api/event-bulk-create-jobs"]).toBe(1);
    expect(sb.klaviyo.stats()["POST /api/profile-import"]).toBeUndefined();
    // One lookup per distinct identifier (the repeats of b0 and b2 are not fetched twice).
    expect(sb.fashionai.lookups()).toHaveLength(85 + 5 + 5);
    expect(sb.hubspot.contact("b74@example.com")?.properties.fashionai_user_profile_id).toBe("fp_batch_74");
    expect(sb.hubspot.contact("phone4@example.com")?.properties.fashionai_user_profile_id).toBe("fp_batch_104");
    expect(sb.klaviyo.profile("b3@example.com")?.fashionai_user_profile_id).toBe("fp_batch_3");
    expect(sb.hubspot.contact("b80@example.com")).toBeUndefined();
    const withEvents = report.results.filter((r) => r.connectors?.klaviyo?.event?.status === "sent");
    expect(withEvents.length).toBeGreaterThan(0);
    expect(sb.klaviyo.events()).toHaveLength(new Set(withEvents.map((r) => r.email)).size);
  });

  it("a partial 429: only the profiles that hit it are fetched again, after step.sleep for Retry-After", async () => {
    for (let i = 0; i < 5; i++) sb.fashionai.addProfile({ email: `p${i}@example.com` }, profile(i));
    sb.fashionai.script("email", "p3@example.com", [{ status: 429, headers: { "retry-after": "2" }, body: { error: "Too Many Requests", message: "slow down" } }]);
    const { result, error, ctx } = await engine().execute(batch(Array.from({ length: 5 }, (_, i) => ({ identifier: `p${i}@example.com` }))));
    expect(error).toBeUndefined();
    expect((result as SyncReport).summary).toMatchObject({ synced: 5, failed: 0 });
    expect(ctx.step.sleep).toHaveBeenCalledTimes(1);
    expect(ctx.step.sleep).toHaveBeenCalledWith("fetch-retry-wait-1", 2000);
    expect(ctx.step.run.mock.calls.map((c) => c[0]).slice(0, 2)).toEqual(["fetch-profiles", "fetch-profiles-retry-1"]);
    const lookups = sb.fashionai.lookups().map((l) => l.value);
    expect(lookups.filter((v) => v === "p3@example.com")).toHaveLength(2);
    expect(lookups.filter((v) => v === "p1@example.com")).toHaveLength(1);
    expect(sb.hubspot.stats()["POST /crm/v3/objects/contacts/batch/upsert"]).toBe(1);
  });

  it("a profile that keeps failing fails alone after 4 attempts; the rest of the batch is written", async () => {
    for (let i = 0; i < 3; i++) sb.fashionai.addProfile({ email: `f${i}@example.com` }, profile(i));
    sb.fashionai.script("email", "f1@example.com", [{ status: 503, body: { error: "Service Unavailable", message: "down" }, repeat: true }]);
    const { result } = await engine().execute(batch(Array.from({ length: 3 }, (_, i) => ({ identifier: `f${i}@example.com` }))));
    const report = result as SyncReport;
    expect(report.results.map((r) => r.status)).toEqual(["synced", "failed", "synced"]);
    expect(report.results[1]!.reason).toMatch(/503.*after 4 attempts/);
    expect(sb.fashionai.lookups().filter((l) => l.value === "f1@example.com")).toHaveLength(4);
    expect(sb.hubspot.contact("f1@example.com")).toBeUndefined();
    expect(sb.hubspot.contact("f2@example.com")).toBeDefined();
  });

  it("Klaviyo's per-profile import errors are read back from the job: that record fails, the others are written", async () => {
    sb.fashionai.addProfile({ email: "ok@example.com" }, profile(1));
    sb.fashionai.addProfile({ email: "x@localhost" }, profile(2)); // Klaviyo wants a dotted domain
    const { result } = await engine().execute(batch([
      { identifier: "ok@example.com", connectors: ["klaviyo"] }, { identifier: "x@localhost", connectors: ["klaviyo"] },
    ]));
    const report = result as SyncReport;
    expect(report.results[0]).toMatchObject({ status: "synced", connectors: { klaviyo: { status: "written" } } });
    expect(report.results[1]).toMatchObject({ status: "failed", reason: expect.stringMatching(/^klaviyo: Klaviyo rejected the profile: /) });
    expect(sb.klaviyo.stats()["GET /api/profile-bulk-import-jobs/{id}/import-errors"]).toBe(1);
  });
});
