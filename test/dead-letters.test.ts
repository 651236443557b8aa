// Dead letters: what failed for good becomes `fashionai/profile.sync.failed` (or `fashionai/backfill.failed`),
// with the identifier, the connector, the reason, the run and the request to send again. Run through
// @inngest/test (which does not run onFailure handlers itself: each handler is run as the function Inngest
// creates for it, triggered by `inngest/function.failed`).
import { InngestTestEngine } from "@inngest/test";
import { NonRetriableError, StepError } from "inngest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { APP_ID, createFunctions, createInngest, envRuntimeProvider } from "../inngest.config.js";
import { createSyncProfiles } from "../src/inngest/functions/sync-profiles.js";
import type { Runtime } from "../src/runtime.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import {
  DEAD_LETTERED, backfillOnFailure, connectorOfStep, deadLetter, deadLettersForResults, profileSyncOnFailure, withDeadLetters,
} from "../src/inngest/dead-letters.js";
import { backfillFailedSchema, backfillRequestedSchema, profileSyncFailedSchema, profileSyncRequestedSchema } from "../src/inngest/events.js";
import type { RecordResult, SyncReport } from "../src/pipeline/types.js";
import { registerSecret } from "../src/util/redact.js";

const inngest = createInngest({ INNGEST_DEV: "1" });
const REQUESTED = "fashionai/profile.sync.requested";
const SAMPLE_BODY = JSON.parse(readFileSync(fileURLToPath(new URL("../fixtures/profiles/helena-cardoso.json", import.meta.url)), "utf8"));

type Sent = { name: string; id?: string; data: Record<string, any> };
const sentBy = (ctx: InngestTestEngine.MockContext): Sent[] =>
  ctx.step.sendEvent.mock.calls.flatMap((c) => (Array.isArray(c[1]) ? c[1] : [c[1]]) as Sent[]);

/** The function Inngest creates for an onFailure handler: triggered by inngest/function.failed. */
function failureFunction(handler: (ctx: any) => Promise<unknown>) {
  return inngest.createFunction({ id: "under-test-failure", triggers: [{ event: "inngest/function.failed" }] }, handler as never);
}

function failureEvent(original: { name: string; data: Record<string, unknown> }, error: Record<string, unknown>) {
  return {
    name: "inngest/function.failed",
    data: { function_id: "fashionai-crm-sync-sync-profiles", run_id: "01RUNFAILED", error: { name: "Error", ...error }, event: original },
  };
}

describe("dead letter contents", () => {
  it("name the request, where it failed, why, and the run; the request replays as is", () => {
    const letter = deadLetter({ identifier: "+55 11 99999-8888", by: "phone", email: "ana@example.com", backfillId: "bf_1" }, {
      reason: "HubSpot answered 503 to batch upsert of contacts", runId: "01RUN", functionId: "sync-profiles", connector: "hubspot", step: "write-hubspot",
    });
    expect(letter).toMatchObject({
      identifier: "+55 11 99999-8888", by: "phone", email: "ana@example.com", connector: "hubspot", step: "write-hubspot",
      reason: "HubSpot answered 503 to batch upsert of contacts", runId: "01RUN", functionId: "sync-profiles",
      request: { identifier: "+55 11 99999-8888", by: "phone", email: "ana@example.com", backfillId: "bf_1" },
    });
    expect(profileSyncFailedSchema.safeParse(letter).success).toBe(true);
    expect(profileSyncRequestedSchema.safeParse(letter.request).success).toBe(true);
    // An email lookup's email is the identifier; malformed data still gives a letter.
    expect(deadLetter({ identifier: " Ana@Example.com " }, { reason: "x", runId: "r", functionId: "f" }).email).toBe("ana@example.com");
    expect(profileSyncFailedSchema.safeParse(deadLetter(undefined, { reason: "x", runId: "r", functionId: "f" })).success).toBe(true);
  });

  it("never carry a credential, even when the error echoed one", () => {
    const token = "pat-na1-secret-token-for-dead-letters";
    registerSecret(token);
    const letter = deadLetter({ identifier: "a@example.com" }, { reason: `HubSpot answered 401 for Bearer ${token}`, runId: "r", functionId: "f" });
    expect(JSON.stringify(letter)).not.toContain(token);
  });

  it("steps map to the API they call", () => {
    expect(["fetch-profiles", "fetch-profiles-retry-2", "write-hubspot", "write-klaviyo", "klaviyo-import-result-3", "klaviyo-events", "request-segments-sync", undefined].map(connectorOfStep))
      .toEqual(["fashionai", "fashionai", "hubspot", "klaviyo", "klaviyo", "klaviyo", undefined, undefined]);
  });

  it("a run's failed records each get one; synced, not found and invalid ones none", () => {
    const events = ["a", "b", "c", "d"].map((x) => ({ name: REQUESTED, data: { identifier: `${x}@example.com` } }));
    const results: RecordResult[] = [
      { identifier: "a@example.com", by: "email", status: "synced", warnings: [] },
      { identifier: "b@example.com", by: "email", status: "failed", reason: "Fashion.AI answered 500 after 4 attempts", warnings: [] },
      { identifier: "c@example.com", by: "email", status: "failed", reason: "klaviyo: Klaviyo rejected the profile: Invalid email", warnings: [],
        connectors: { hubspot: { status: "written" }, klaviyo: { status: "failed", reason: "Klaviyo rejected the profile: Invalid email" } } },
      { identifier: "d@example.com", by: "email", status: "not_found", warnings: [] },
    ];
    const letters = deadLettersForResults(events, results, "01RUN", "sync-profiles");
    expect(letters.map((l) => [l.identifier, l.connector, l.reason])).toEqual([
      ["b@example.com", "fashionai", "Fashion.AI answered 500 after 4 attempts"],
      ["c@example.com", "klaviyo", "klaviyo: Klaviyo rejected the profile: Invalid email"],
    ]);
  });
});

describe("a batched run that fails for good (withDeadLetters)", () => {
  // The SDK throws a StepError into the function once a step has used up its retries (@inngest/test models no
  // retries, so the error is built here as the SDK builds it).
  it("sends one dead letter per event of the batch, naming the step and connector, and fails the run marked", async () => {
    const events = [
      { name: REQUESTED, data: { identifier: "a@example.com" } },
      { name: REQUESTED, data: { identifier: "5511999998888", by: "phone", email: "b@example.com", backfillId: "bf_7" } },
    ];
    const sent: Array<[string, Sent[]]> = [];
    const step = { sendEvent: async (id: string, payload: unknown) => void sent.push([id, payload as Sent[]]) };
    let thrown: unknown;
    try {
      await withDeadLetters({ events, step, runId: "01RUN", attempt: 2, maxAttempts: 5 }, "sync-profiles", async () => {
        throw new StepError("write-hubspot", { name: "Error", message: "HubSpot answered 503 to batch upsert of contacts" });
      });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(NonRetriableError);
    expect((thrown as Error).message).toBe(`${DEAD_LETTERED} HubSpot answered 503 to batch upsert of contacts`);
    expect(sent.map(([id]) => id)).toEqual(["dead-letters-run"]);
    const letters = sent[0]![1];
    expect(letters.map((s) => s.name)).toEqual(["fashionai/profile.sync.failed", "fashionai/profile.sync.failed"]);
    expect(letters.map((s) => [s.data.identifier, s.data.by, s.data.email, s.data.connector, s.data.step, s.data.runId])).toEqual([
      ["a@example.com", "email", "a@example.com", "hubspot", "write-hubspot", "01RUN"],
      ["5511999998888", "phone", "b@example.com", "hubspot", "write-hubspot", "01RUN"],
    ]);
    expect(letters[1]!.data.request).toEqual(events[1]!.data);
    for (const s of letters) expect(profileSyncFailedSchema.safeParse(s.data).success).toBe(true);
    expect(new Set(letters.map((s) => s.id)).size).toBe(2);
  });

  it("a NonRetriableError (a wrong credential) is final at once", async () => {
    const sent: unknown[] = [];
    await withDeadLetters({ events: [{ name: REQUESTED, data: { identifier: "a@example.com" } }], step: { sendEvent: async (_id, p) => void sent.push(p) }, runId: "r", attempt: 0, maxAttempts: 5 }, "f", async () => {
      throw new NonRetriableError("Fashion.AI rejected the credential in FASHIONAI_APP_TOKEN (401: wrong or expired token)");
    }).catch(() => undefined);
    expect((sent[0] as Sent[])[0]!.data).toMatchObject({ reason: expect.stringMatching(/FASHIONAI_APP_TOKEN/) });
  });

  it("leaves an error that Inngest will still retry alone", async () => {
    let thrown: unknown;
    const step = { sendEvent: async () => undefined };
    try {
      await withDeadLetters({ events: [{ name: REQUESTED, data: { identifier: "a@example.com" } }], step, runId: "r", attempt: 0, maxAttempts: 5 }, "f", async () => {
        throw new Error("transient outside a step");
      });
    } catch (err) {
      thrown = err;
    }
    expect((thrown as Error).message).toBe("transient outside a step");
    expect(thrown).not.toBeInstanceOf(NonRetriableError);
    // …but on the last attempt it is final.
    const sent: unknown[] = [];
    await withDeadLetters({ events: [{ name: REQUESTED, data: { identifier: "a@example.com" } }], step: { sendEvent: async (_id, p) => void sent.push(p) }, runId: "r", attempt: 4, maxAttempts: 5 }, "f", async () => {
      throw new Error("still failing");
    }).catch(() => undefined);
    expect(sent).toHaveLength(1);
  });
});

describe("onFailure handlers", () => {
  it("are registered with the functions (Inngest runs each as a function of its own)", () => {
    const ids = createFunctions(inngest, () => { throw new Error("no runtime needed"); }, () => { throw new Error("none"); }, {})
      .flatMap((fn) => (fn as unknown as { getConfig(o: object): Array<{ id: string }> }).getConfig({ baseUrl: new URL("http://localhost/api/inngest"), appPrefix: APP_ID }))
      .map((c) => c.id);
    expect(ids).toContain(`${APP_ID}-backfill-failure`);
  });

  it("sync-profiles: dead letters for the failed run's requests, with the failed step's connector", async () => {
    const t = new InngestTestEngine({ function: failureFunction(profileSyncOnFailure()) });
    const original = { name: REQUESTED, data: { identifier: "ana@example.com", connectors: ["klaviyo"] } };
    const { result, ctx, error } = await t.execute({
      events: [failureEvent(original, { message: "Klaviyo bulk import job 1 was cancelled", stepId: "klaviyo-import-result" })] as never,
      transformCtx: (c: any) => ({ ...c, error: Object.assign(new Error("Klaviyo bulk import job 1 was cancelled"), { stepId: "klaviyo-import-result" }) }),
      steps: [{ id: "dead-letters", handler: () => ({ ids: ["dl-1"] }) }],
    });
    expect(error).toBeUndefined();
    expect(result).toEqual({ deadLetters: 1 });
    const [letter] = sentBy(ctx);
    expect(letter).toMatchObject({
      name: "fashionai/profile.sync.failed",
      data: { identifier: "ana@example.com", by: "email", connector: "klaviyo", runId: "01RUNFAILED", reason: "Klaviyo bulk import job 1 was cancelled", request: original.data },
    });
  });

  it("sync-profiles: sends nothing when the run already sent its dead letters", async () => {
    const t = new InngestTestEngine({ function: failureFunction(profileSyncOnFailure()) });
    const { result, ctx } = await t.execute({
      events: [failureEvent({ name: REQUESTED, data: { identifier: "a@example.com" } }, { message: `${DEAD_LETTERED} boom` })] as never,
      transformCtx: (c: any) => ({ ...c, error: new Error(`${DEAD_LETTERED} boom`) }),
    });
    expect(result).toMatchObject({ deadLetters: 0 });
    expect(ctx.step.sendEvent).not.toHaveBeenCalled();
  });

  it("backfill: one fashionai/backfill.failed with the request to send again", async () => {
    const t = new InngestTestEngine({ function: failureFunction(backfillOnFailure()) });
    const request = { source: "hubspot", backfillId: "bf_42", modifiedSince: "2026-01-01T00:00:00Z" };
    const { ctx } = await t.execute({
      events: [failureEvent({ name: "fashionai/backfill.requested", data: request }, { message: "HUBSPOT_ACCESS_TOKEN rejected (401)" })] as never,
      transformCtx: (c: any) => ({ ...c, error: new Error("HUBSPOT_ACCESS_TOKEN rejected (401)") }),
      steps: [{ id: "dead-letter", handler: () => ({ ids: ["dl-1"] }) }],
    });
    const [letter] = sentBy(ctx);
    expect(letter).toMatchObject({ name: "fashionai/backfill.failed", data: { backfillId: "bf_42", source: "hubspot", runId: "01RUNFAILED", request } });
    expect(backfillFailedSchema.safeParse(letter!.data).success).toBe(true);
    expect(backfillRequestedSchema.safeParse(letter!.data.request).success).toBe(true);
  });
});

describe("sync-profiles with dead letters (stand-ins)", () => {
  const PROFILES_DIR = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
  let sb: Sandbox;
  let runtime: Runtime | undefined;
  beforeAll(async () => {
    sb = await startSandbox({ profilesDir: PROFILES_DIR });
  });
  afterAll(() => sb?.close());
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });
  const provide = () => (runtime ??= envRuntimeProvider(sb.env)());
  const engine = () => new InngestTestEngine({
    function: createSyncProfiles(inngest, provide, { env: sb.env, deadLetters: true }),
    // @inngest/test never finishes a run that sleeps; the dead letters go to a mock instead of an Inngest server.
    steps: [
      ...[1, 2, 3].map((n) => ({ id: `fetch-retry-wait-${n}`, handler: () => null })),
      { id: "dead-letters", handler: () => ({ ids: ["dl"] }) },
    ],
  });

  it("records that end failed each leave one, with the connector and the vendor's reason; a replay of the request syncs", async () => {
    sb.reset();
    const GUSTAVO = "gustavo.teixeira@example.com";
    sb.fashionai.script("email", GUSTAVO, [{ status: 500, body: { error: "Internal Server Error", message: "db down" }, repeat: true }]);
    sb.fashionai.addProfile({ email: "ana@intranet" }, SAMPLE_BODY);
    const events = [
      { name: REQUESTED, data: { identifier: "camila.ferraz@example.com" } },
      { name: REQUESTED, data: { identifier: GUSTAVO, reason: "nightly" } },
      { name: REQUESTED, data: { identifier: "ana@intranet" } },
      { name: REQUESTED, data: { identifier: "nobody@example.com" } },
    ];
    const { result, error, ctx } = await engine().execute({ events: events as [typeof events[0], ...typeof events] });
    expect(error).toBeUndefined();
    expect((result as SyncReport).results.map((r) => r.status)).toEqual(["synced", "failed", "failed", "not_found"]);
    expect(ctx.step.sendEvent.mock.calls.map((c) => c[0])).toEqual(["dead-letters"]);
    const letters = sentBy(ctx);
    expect(letters.map((l) => [l.name, l.data.identifier, l.data.connector])).toEqual([
      ["fashionai/profile.sync.failed", GUSTAVO, "fashionai"],
      ["fashionai/profile.sync.failed", "ana@intranet", "hubspot"],
    ]);
    expect(letters[0]!.data.reason).toMatch(/Fashion\.AI answered 500: "db down" after 4 attempts/);
    expect(letters[1]!.data.reason).toMatch(/HubSpot rejected the contact/);
    expect(letters[0]!.data.request).toEqual({ identifier: GUSTAVO, reason: "nightly" });

    // Replay: the fault is gone; sending the dead letter's request again syncs the record.
    sb.fashionai.reset();
    const replay = await engine().execute({ events: [{ name: REQUESTED, data: letters[0]!.data.request }] as never });
    expect((replay.result as SyncReport).results[0]).toMatchObject({ identifier: GUSTAVO, status: "synced" });
    expect(replay.ctx.step.sendEvent).not.toHaveBeenCalled();
    expect(sb.hubspot.contact(GUSTAVO)).toBeDefined();
  });

  it("createFunctions serves sync-profiles with them on, and its onFailure handler registered", () => {
    const config = (createFunctions(inngest, provide, () => { throw new Error("none"); }, {})[0] as unknown as { getConfig(o: object): Array<{ id: string }> })
      .getConfig({ baseUrl: new URL("http://localhost/api/inngest"), appPrefix: APP_ID });
    expect(config.map((c) => c.id)).toEqual([`${APP_ID}-sync-profiles`, `${APP_ID}-sync-profiles-failure`]);
  });
});
