// The durable side of segments: sync-segments run by @inngest/test's engine against the loopback
// stand-ins (with the context Inngest gets in production: envSegmentsProvider, in-process retries off),
// and sync-profiles asking for a segment refresh only when a HubSpot write created a new tone option.
import { fileURLToPath } from "node:url";
import { InngestTestEngine } from "@inngest/test";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { APP_ID, createFunctions, createInngest, envRuntimeProvider, envSegmentsProvider } from "../inngest.config.js";
import { NOVO_SEGMENT_NAME, TONE_SEGMENT_PREFIX } from "../connectors/shared/segments.js";
import { createSyncProfiles, type RuntimeProvider } from "../src/inngest/functions/sync-profiles.js";
import { createSyncSegments, type SegmentsProvider } from "../src/inngest/functions/sync-segments.js";
import { loadConfig } from "../src/config.js";
import { runSync } from "../src/pipeline/sync.js";
import { createRuntime, type Runtime } from "../src/runtime.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import type { SetupReport } from "../src/segments/setup.js";
import { silentLogger } from "../src/util/log.js";
import { specProblems } from "./helpers/openapi.js";

const PROFILES_DIR = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
const SEGMENTS_EVENT = "fashionai/segments.sync.requested";
const CAMILA = "camila.ferraz@example.com"; // tones: sofisticado, minimalista
const ISABELA = "isabela.moura@example.com"; // tones: romântico, minimalista, sofisticado, acolhedor

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ profilesDir: PROFILES_DIR });
});
afterAll(async () => {
  await sb?.close();
});

const env = () => ({ ...sb.env, FASHIONAI_KLAVIYO_SEGMENT_RATE: "off" });
const inngest = () => createInngest({ INNGEST_DEV: "1" });
const segmentsEvent = (data: Record<string, unknown> = {}) => [{ name: SEGMENTS_EVENT, data }] as [{ name: string; data: Record<string, unknown> }];
const stepIds = (ctx: InngestTestEngine.MockContext) => ctx.step.run.mock.calls.map((c) => c[0] as string);
const writes = () => [
  ...sb.hubspot.requests.filter((r) => r.method !== "GET"),
  ...sb.klaviyo.requests.filter((r) => r.method !== "GET"),
];

async function syncProfiles(emails: string[]): Promise<void> {
  const runtime = createRuntime(loadConfig(env()), { log: silentLogger });
  try {
    expect((await runSync(emails.map((identifier) => ({ identifier })), runtime.deps)).summary.synced).toBe(emails.length);
  } finally {
    await runtime.close();
  }
}

describe("sync-segments", () => {
  let provide: SegmentsProvider;

  beforeEach(async () => {
    sb.reset();
    await syncProfiles([CAMILA, ISABELA]); // 4 distinct tones
    sb.hubspot.clearRequests();
    sb.klaviyo.clearRequests();
    provide = envSegmentsProvider(env());
  });

  it("is registered on fashionai/segments.sync.requested, debounced, one run at a time", () => {
    const fns = createFunctions(inngest(), envRuntimeProvider(env()), provide);
    const fn = fns.find((f) => f.id(APP_ID) === `${APP_ID}-sync-segments`)!;
    expect(fn).toBeDefined();
    expect(fn.opts).toMatchObject({
      triggers: [expect.objectContaining({ event: SEGMENTS_EVENT })],
      debounce: { period: "2m", timeout: "10m" },
      concurrency: { limit: 1 },
    });
    expect(provide().services.retry.attempts).toBe(1);
  });

  it("creates the lists and segments, one step per side effect, pacing Klaviyo writes with step.sleep; a rerun creates nothing", async () => {
    const tones = ["sofisticado", "minimalista", "romantico", "acolhedor"];
    const keys = ["novo-comportamento", ...tones.map((v) => `tom-de-voz:${v}`)];
    // @inngest/test 1.0 never finishes a run that sleeps, so the sleeps are mocked as done (and counted).
    const sleeps = keys.slice(0, -1).map((k) => ({ id: `klaviyo-pace:${k}`, handler: () => null }));
    const t = new InngestTestEngine({ function: createSyncSegments(inngest(), provide), steps: sleeps });
    const { result, error, ctx } = await t.execute({ events: segmentsEvent() });
    expect(error).toBeUndefined();
    const report = result as SetupReport;
    expect(report.summary).toMatchObject({ created: 10, failed: 0, conflicts: 0 });
    expect(stepIds(ctx)).toEqual(["collect-tones", "hubspot-schema", ...keys.map((k) => `hubspot-list:${k}`), ...keys.map((k) => `klaviyo-segment:${k}`)]);
    // 15 Klaviyo segment writes a minute: a pause after each write but the last.
    expect(ctx.step.sleep.mock.calls.map((c) => c.slice(0, 2))).toEqual(keys.slice(0, -1).map((k) => [`klaviyo-pace:${k}`, 4000]));
    expect(sb.hubspot.lists().map((l) => l.name).sort()).toEqual(sb.klaviyo.segments().map((s) => s.name).sort());
    expect(sb.klaviyo.segmentMembers(NOVO_SEGMENT_NAME)).toEqual([CAMILA]);
    expect(sb.hubspot.listMembers(`${TONE_SEGMENT_PREFIX}minimalista`)).toEqual([CAMILA, ISABELA]);
    expect(await specProblems("hubspot", sb.hubspot.requests)).toEqual([]);
    expect(await specProblems("klaviyo", sb.klaviyo.requests)).toEqual([]);

    sb.hubspot.clearRequests();
    sb.klaviyo.clearRequests();
    const again = await new InngestTestEngine({ function: createSyncSegments(inngest(), provide) }).execute({ events: segmentsEvent() });
    expect((again.result as SetupReport).summary).toMatchObject({ created: 0, unchanged: 10 });
    expect(again.ctx.step.sleep).not.toHaveBeenCalled();
    expect(writes()).toEqual([]);
  });

  it("honours the event's connectors and the cap", async () => {
    const cap1: SegmentsProvider = () => ({ ...provide(), cap: 1 });
    const t = new InngestTestEngine({ function: createSyncSegments(inngest(), cap1, { klaviyoPaceMs: 0 }) });
    const { result, ctx } = await t.execute({ events: segmentsEvent({ connectors: ["klaviyo"] }) });
    const report = result as SetupReport;
    expect(report.targets).toEqual(["klaviyo"]);
    expect(report.tones.pastCap.map((p) => p.value)).toEqual(["minimalista", "romantico", "acolhedor"]);
    expect(stepIds(ctx)).toEqual(["collect-tones", "klaviyo-segment:novo-comportamento", "klaviyo-segment:tom-de-voz:sofisticado"]);
    expect(sb.hubspot.lists()).toEqual([]);
    expect(sb.klaviyo.segments()).toHaveLength(2);
  });

  it("a 429 fails only that step, with Inngest told to wait for Retry-After; the retried step resumes", async () => {
    sb.klaviyo.fault({ method: "POST", path: "/api/segments", status: 429, headers: { "retry-after": "7" } });
    const t = new InngestTestEngine({ function: createSyncSegments(inngest(), provide, { klaviyoPaceMs: 0 }) });
    const first = await t.execute({ events: segmentsEvent() });
    expect(first.error).toMatchObject({ name: "RetryAfterError" });
    expect(sb.klaviyo.segments()).toEqual([]);
    expect(sb.hubspot.lists()).toHaveLength(5); // the HubSpot steps before it are done (and memoized)
    // Inngest re-runs the function; the failed step is attempted again and the run completes.
    const second = await t.execute({ events: segmentsEvent() });
    expect(second.error).toBeUndefined();
    expect((second.result as SetupReport).summary).toMatchObject({ failed: 0, conflicts: 0 });
    expect(sb.klaviyo.segments()).toHaveLength(5);
    expect(sb.hubspot.lists()).toHaveLength(5);
  });

  it("a conflict or a refused segment is reported in the result, not retried", async () => {
    sb.klaviyo.addSegment({ name: NOVO_SEGMENT_NAME, definition: { condition_groups: [{ conditions: [
      { type: "profile-property", property: "email", filter: { type: "existence", operator: "is-set" } },
    ] }] } });
    sb.hubspot.fault({ method: "POST", path: "/crm/v3/lists", status: 400, body: { status: "error", message: "You have reached the limit of active lists", category: "VALIDATION_ERROR" } });
    const { result, error } = await new InngestTestEngine({ function: createSyncSegments(inngest(), provide, { klaviyoPaceMs: 0 }) }).execute({ events: segmentsEvent() });
    expect(error).toBeUndefined();
    const report = result as SetupReport;
    expect(report.segments.find((s) => s.crm === "klaviyo" && s.name === NOVO_SEGMENT_NAME)).toMatchObject({ status: "conflict" });
    expect(report.segments.find((s) => s.crm === "hubspot" && s.status === "failed")!.reason).toMatch(/limit of active lists/);
    expect(report.summary).toMatchObject({ created: 8, conflicts: 1, failed: 1 });
  });

  it("a wrong credential is final (NonRetriableError naming the variable)", async () => {
    const bad = envSegmentsProvider({ ...env(), KLAVIYO_API_KEY: "wrong-klaviyo-key-123" });
    const { error } = await new InngestTestEngine({ function: createSyncSegments(inngest(), bad) }).execute({ events: segmentsEvent({ connectors: ["klaviyo"] }) });
    expect(error).toMatchObject({ name: "NonRetriableError", message: expect.stringContaining("KLAVIYO_API_KEY") });
  });
});

describe("sync-profiles requests a segment refresh", () => {
  let runtime: Runtime | undefined;
  let provide: RuntimeProvider;
  beforeEach(() => {
    sb.reset();
    const inner = envRuntimeProvider(sb.env);
    provide = () => (runtime ??= inner());
  });
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });

  const profileEvent = (identifier: string) => [{ name: "fashionai/profile.sync.requested", data: { identifier } }] as [{ name: string; data: Record<string, unknown> }];
  // The send is mocked: @inngest/test would otherwise post to a Dev Server. (A fresh array each time:
  // the engine keeps the run's step state in it.)
  const engine = () => new InngestTestEngine({
    function: createSyncProfiles(inngest(), provide, { requestSegmentsSync: true }),
    steps: [{ id: "request-segments-sync", handler: () => ({ ids: ["evt-1"] }) }],
  });
  const sent = (ctx: InngestTestEngine.MockContext) => ctx.step.sendEvent.mock.calls.map((c) => c.slice(0, 2));

  it("when its HubSpot write created a new tone option, and only then", async () => {
    const first = await engine().execute({ events: profileEvent(CAMILA) });
    expect(first.error).toBeUndefined();
    expect(sent(first.ctx)).toEqual([["request-segments-sync", { name: SEGMENTS_EVENT, data: {} }]]);

    // Same profile again: every option exists, so no event.
    const again = await engine().execute({ events: profileEvent(CAMILA) });
    expect(again.error).toBeUndefined();
    expect(again.ctx.step.sendEvent).not.toHaveBeenCalled();

    // Isabela brings romântico and acolhedor: an event again.
    const isabela = await engine().execute({ events: profileEvent(ISABELA) });
    expect(sent(isabela.ctx)).toEqual([["request-segments-sync", { name: SEGMENTS_EVENT, data: {} }]]);
    expect(sb.hubspot.property("fashionai_tom_de_voz")!.options.map((o) => o.value).sort()).toEqual(["acolhedor", "minimalista", "romantico", "sofisticado"]);
  });

  it("never for a Klaviyo-only write, and not at all unless wired to sync-segments", async () => {
    const klaviyoOnly = await engine().execute({ events: [{ name: "fashionai/profile.sync.requested", data: { identifier: CAMILA, connectors: ["klaviyo"] } }] });
    expect(klaviyoOnly.error).toBeUndefined();
    expect(klaviyoOnly.ctx.step.sendEvent).not.toHaveBeenCalled();

    const unwired = await new InngestTestEngine({ function: createSyncProfiles(inngest(), provide) }).execute({ events: profileEvent(CAMILA) });
    expect(unwired.error).toBeUndefined();
    expect(sb.hubspot.property("fashionai_tom_de_voz")!.options).toHaveLength(2); // options were created…
    expect(unwired.ctx.step.sendEvent).not.toHaveBeenCalled(); // …but nothing is asked of an absent sync-segments
  });
});
