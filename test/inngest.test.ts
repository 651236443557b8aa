// The durable path: sync-profiles run by @inngest/test's engine against the loopback stand-ins, with the
// runtime Inngest gets in production (envRuntimeProvider: in-process retries off, attempts: 1). sync-profiles is
// batched (up to 100 events per run, see test/backfill-inngest.test.ts); here each run carries one event and
// returns a one-record SyncReport.
import { fileURLToPath } from "node:url";
import { InngestTestEngine } from "@inngest/test";
import { Inngest } from "inngest";
import { InngestExecutionEngine } from "inngest/internals";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { APP_ID, createFunctions, createInngest, envRuntimeProvider } from "../inngest.config.js";
import { profileSyncRequested, profileSyncRequestedSchema, describeEventProblems } from "../src/inngest/events.js";
import { createSyncProfiles, type RuntimeProvider } from "../src/inngest/functions/sync-profiles.js";
import type { RecordResult, SyncReport } from "../src/pipeline/types.js";
import type { Runtime } from "../src/runtime.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";

const PROFILES_DIR = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
const EVENT = "fashionai/profile.sync.requested";
const CAMILA = { email: "camila.ferraz@example.com", phone: "5541981230101", userProfileId: "fp_H4C8E2KD" };

/** Exposes one execution's checkpoint: what the SDK would answer Inngest (incl. `retriable`). */
class Engine extends InngestTestEngine {
  async firstCheckpoint(opts: InngestTestEngine.InlineOptions) {
    const { result } = await this.individualExecution(opts);
    return result as typeof result & { retriable?: boolean | string; step?: { id: string; op: string; error?: unknown; data?: unknown } };
  }
}

/** A serialized step/function error as @inngest/test hands it back. */
interface SerializedError {
  name: string;
  message: string;
}

let sb: Sandbox;
let runtime: Runtime | undefined;
let provide: RuntimeProvider;
let t: Engine;

beforeAll(async () => {
  sb = await startSandbox({ profilesDir: PROFILES_DIR });
});
afterAll(async () => {
  await sb?.close();
});

beforeEach(() => {
  sb.reset();
  const inner = envRuntimeProvider(sb.env);
  provide = () => (runtime ??= inner());
  t = new Engine({ function: createSyncProfiles(createInngest({ INNGEST_DEV: "1" }), provide) });
});
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

const events = (data: Record<string, unknown>) => [{ name: EVENT, data }] as [{ name: string; data: Record<string, unknown> }];
const hashed = (id: string) => InngestExecutionEngine._internals.hashId(id);
const stepIds = (ctx: InngestTestEngine.MockContext) => ctx.step.run.mock.calls.map((c) => c[0]);
const upserts = () => sb.hubspot.requests.filter((r) => r.method === "POST" && r.path.endsWith("/contacts/batch/upsert")).length;
/** Klaviyo profile writes: bulk import jobs (one per batch). */
const klaviyoImports = () => sb.klaviyo.requests.filter((r) => r.method === "POST" && r.path === "/api/profile-bulk-import-jobs").length;
/** The one record of a one-event run. */
const only = (result: unknown): RecordResult => {
  const report = result as SyncReport;
  expect(report.results).toHaveLength(1);
  return report.results[0]!;
};
/** Steps of a run that wrote both CRMs (Klaviyo: the import job, its result, then the Novo Comportamento event). */
const ALL_STEPS = ["fetch-profiles", "write-hubspot", "write-klaviyo", "klaviyo-import-result", "klaviyo-events"];
const profileCalls = () => sb.fashionai.lookups().length;

describe("sync-profiles: a run", () => {
  it("uses the runtime with in-process retries off", () => {
    expect(provide().deps.retry.attempts).toBe(1);
    expect(createFunctions(createInngest({ INNGEST_DEV: "1" }), provide).map((f) => f.id(APP_ID))).toEqual([`${APP_ID}-sync-profiles`, `${APP_ID}-sync-segments`, `${APP_ID}-backfill`]);
  });

  it("fetches, writes HubSpot then Klaviyo, and returns synced", async () => {
    const { result, error, ctx, state } = await t.execute({ events: events({ identifier: CAMILA.email }) });
    expect(error).toBeUndefined();
    expect(stepIds(ctx)).toEqual(ALL_STEPS);
    const r = only(result);
    expect((result as SyncReport).summary).toEqual({ requested: 1, synced: 1, not_found: 0, invalid: 0, failed: 0 });
    expect(r).toMatchObject({ identifier: CAMILA.email, by: "email", email: CAMILA.email, status: "synced", userProfileId: CAMILA.userProfileId });
    expect(r.connectors?.hubspot?.status).toBe("written");
    expect(r.connectors?.klaviyo).toMatchObject({ status: "written", event: { status: "sent" } });
    await expect(state[hashed("fetch-profiles")]).resolves.toMatchObject({ [`email:${CAMILA.email}`]: { s: "found" } });

    const contact = sb.hubspot.contact(CAMILA.email);
    expect(contact?.properties.fashionai_user_profile_id).toBe(CAMILA.userProfileId);
    expect(contact?.properties.fashionai_descricao_geral).toMatch(/advogada tributarista/);
    expect(sb.klaviyo.profile(CAMILA.email)).toBeDefined();
    expect(JSON.stringify(sb.klaviyo.profile(CAMILA.email))).toContain(CAMILA.userProfileId);
    // The lookup went out once, by email, and each CRM got exactly one record write.
    expect(sb.fashionai.lookups().map((l) => [l.by, l.value, l.status])).toEqual([["email", CAMILA.email, 200]]);
    expect(upserts()).toBe(1);
    expect(klaviyoImports()).toBe(1);
  });

  it("looks up by phone with the contact's email as the CRM key", async () => {
    const { result } = await t.execute({ events: events({ identifier: CAMILA.phone, by: "phone", email: CAMILA.email }) });
    expect(only(result)).toMatchObject({ status: "synced", by: "phone", email: CAMILA.email });
    expect(sb.fashionai.lookups()[0]).toMatchObject({ by: "phone", value: CAMILA.phone });
    expect(sb.hubspot.contact(CAMILA.email)).toBeDefined();
  });

  it("an unknown email ends not_found and writes nothing", async () => {
    const { result, ctx } = await t.execute({ events: events({ identifier: "nobody@example.com" }) });
    expect(only(result)).toMatchObject({ identifier: "nobody@example.com", status: "not_found", reason: expect.stringMatching(/no Fashion\.AI profile/) });
    expect(stepIds(ctx)).toEqual(["fetch-profiles"]);
    expect(profileCalls()).toBe(1);
    expect(sb.hubspot.requests).toHaveLength(0);
    expect(sb.klaviyo.requests).toHaveLength(0);
  });

  it("a phone lookup without an email ends invalid, with a reason, before any API call", async () => {
    const { result, ctx } = await t.execute({ events: events({ identifier: CAMILA.phone, by: "phone" }) });
    expect(only(result)).toMatchObject({ status: "invalid", by: "phone", reason: expect.stringMatching(/needs the contact's email/) });
    expect(ctx.step.run).not.toHaveBeenCalled();
    expect(sb.fashionai.requests).toHaveLength(0);
    expect(sb.hubspot.requests).toHaveLength(0);
    expect(sb.klaviyo.requests).toHaveLength(0);
  });

  it("an unusable email identifier ends invalid without a lookup", async () => {
    const { result } = await t.execute({ events: events({ identifier: "not-an-email" }) });
    expect(only(result)).toMatchObject({ status: "invalid", reason: expect.any(String) });
    expect(sb.fashionai.requests).toHaveLength(0);
  });

  it('connectors: ["klaviyo"] writes Klaviyo only', async () => {
    const { result, ctx } = await t.execute({ events: events({ identifier: CAMILA.email, connectors: ["klaviyo"] }) });
    expect(stepIds(ctx)).toEqual(["fetch-profiles", "write-klaviyo", "klaviyo-import-result", "klaviyo-events"]);
    expect(only(result)).toMatchObject({ status: "synced", connectors: { klaviyo: { status: "written" } } });
    expect(only(result).connectors?.hubspot).toBeUndefined();
    expect(sb.hubspot.requests).toHaveLength(0);
    expect(sb.hubspot.contact(CAMILA.email)).toBeUndefined();
    expect(sb.klaviyo.profile(CAMILA.email)).toBeDefined();
  });
});

describe("sync-profiles: Fashion.AI faults become Inngest's retry decisions", () => {
  it("429 with Retry-After: the fetch step throws RetryAfterError and Inngest is told to wait that long", async () => {
    // (Every profile of the batch hit it, so the whole fetch step is retried; a partial 429 is retried per profile,
    // see test/backfill-inngest.test.ts.)
    sb.fashionai.fault({ status: 429, headers: { "retry-after": "7" } });
    const { error, ctx } = await t.execute({ events: events({ identifier: CAMILA.email }) });
    expect(error).toMatchObject({ name: "RetryAfterError", message: expect.stringMatching(/429/) });
    expect(stepIds(ctx)).toEqual(["fetch-profiles"]);
    expect(profileCalls()).toBe(1);

    sb.fashionai.fault({ status: 429, headers: { "retry-after": "7" } });
    const checkpoint = await t.firstCheckpoint({ events: events({ identifier: CAMILA.email }) });
    expect(checkpoint.type).toBe("step-ran");
    expect(checkpoint.step?.op).toBe("StepError"); // retriable step error, not StepFailed
    expect(checkpoint.retriable).toBe("7"); // sent as the Retry-After header to Inngest
    expect(sb.hubspot.requests).toHaveLength(0);
  });

  it("500: a plain retriable Error, and exactly one profile call per execution (no stacked retries)", async () => {
    sb.fashionai.fault({ status: 500, times: Infinity });
    const { error } = await t.execute({ events: events({ identifier: CAMILA.email }) });
    expect(error).toMatchObject({ name: "Error", message: expect.stringMatching(/500/) });
    expect(profileCalls()).toBe(1);

    const checkpoint = await t.firstCheckpoint({ events: events({ identifier: CAMILA.email }) });
    expect(checkpoint.step?.op).toBe("StepError");
    expect(checkpoint.retriable).toBe(true);
    expect(profileCalls()).toBe(2);
    expect(sb.hubspot.requests).toHaveLength(0);
    expect(sb.klaviyo.requests).toHaveLength(0);
  });

  it("401: NonRetriableError naming FASHIONAI_APP_TOKEN, one call, final", async () => {
    sb.fashionai.fault({ status: 401, times: Infinity });
    const { error } = await t.execute({ events: events({ identifier: CAMILA.email }) });
    expect(error).toMatchObject({ name: "NonRetriableError", message: expect.stringContaining("FASHIONAI_APP_TOKEN") });
    expect((error as SerializedError).message).not.toContain(sb.env.FASHIONAI_APP_TOKEN);
    expect(profileCalls()).toBe(1);

    const checkpoint = await t.firstCheckpoint({ events: events({ identifier: CAMILA.email }) });
    expect(checkpoint.step?.op).toBe("StepFailed");
    expect(checkpoint.retriable).toBe(false);
  });

  it("a missing credential fails the run for good, naming the variable", async () => {
    const { FASHIONAI_APP_TOKEN: _omit, ...env } = sb.env;
    const noToken = new Engine({ function: createSyncProfiles(createInngest({ INNGEST_DEV: "1" }), envRuntimeProvider(env)) });
    const { error } = await noToken.execute({ events: events({ identifier: CAMILA.email }) });
    expect(error).toMatchObject({ name: "NonRetriableError", message: expect.stringContaining("FASHIONAI_APP_TOKEN") });
    expect(sb.fashionai.requests).toHaveLength(0);
  });
});

describe("sync-profiles: a failed Klaviyo write is retried alone", () => {
  it("fails only write-klaviyo, keeps write-hubspot's output, and a re-execution does not call HubSpot again", async () => {
    sb.klaviyo.fault({ method: "POST", path: "/api/profile-bulk-import-jobs", status: 500 });
    const first = await t.execute({ events: events({ identifier: CAMILA.email }) });
    expect(first.error).toMatchObject({ name: "Error", message: expect.stringMatching(/500/) });
    expect(stepIds(first.ctx)).toEqual(["fetch-profiles", "write-hubspot", "write-klaviyo"]);
    expect(klaviyoImports()).toBe(1); // one attempt: the runtime does not retry under Inngest
    expect(upserts()).toBe(1);
    expect(sb.hubspot.contact(CAMILA.email)).toBeDefined();
    expect(sb.klaviyo.profile(CAMILA.email)).toBeUndefined();

    const fetched = await first.state[hashed("fetch-profiles")];
    const hubspot = await first.state[hashed("write-hubspot")];
    expect(hubspot).toMatchObject({ outcomes: { [CAMILA.email]: { status: "written" } } });
    expect(first.state[hashed("write-klaviyo")]).toBeUndefined(); // a failed step leaves no output to memoize

    // Inngest's retry: the memoized steps come back as state, only the Klaviyo steps run again.
    const lookupsBefore = profileCalls();
    const retry = await new Engine({ function: createSyncProfiles(createInngest({ INNGEST_DEV: "1" }), provide) }).execute({
      events: events({ identifier: CAMILA.email }),
      steps: [
        { id: "fetch-profiles", handler: () => fetched },
        { id: "write-hubspot", handler: () => hubspot },
      ],
    });
    expect(retry.error).toBeUndefined();
    expect(only(retry.result)).toMatchObject({
      status: "synced",
      connectors: { hubspot: { status: "written" }, klaviyo: { status: "written" } },
    });
    expect(upserts()).toBe(1);
    expect(profileCalls()).toBe(lookupsBefore);
    expect(klaviyoImports()).toBe(2);
    expect(sb.klaviyo.profile(CAMILA.email)).toBeDefined();
  });

  it("a mocked write-hubspot step alone still keeps HubSpot untouched", async () => {
    const retry = await t.execute({
      events: events({ identifier: CAMILA.email }),
      steps: [{ id: "write-hubspot", handler: () => ({ outcomes: { [CAMILA.email]: { status: "written" } }, warnings: {}, newToneOptions: [] }) }],
    });
    expect(only(retry.result)).toMatchObject({ status: "synced", connectors: { hubspot: { status: "written" }, klaviyo: { status: "written" } } });
    expect(upserts()).toBe(0);
    expect(sb.hubspot.requests).toHaveLength(0);
    expect(profileCalls()).toBe(1);
  });
});

describe("event schema (v4 eventType with zod)", () => {
  it("is checked per event: a bad payload ends invalid, naming the field, before any call (a batch is never rejected whole)", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ identifier: CAMILA.email, by: "fax" }, /data\.by: Invalid option/],
      [{ by: "email" }, /data\.identifier: /],
      [{ identifier: "" }, /data\.identifier: /],
      [{ identifier: CAMILA.email, connectors: ["salesforce"] }, /data\.connectors\.0: /],
      [{ identifier: CAMILA.email, connectors: [] }, /data\.connectors: /],
    ];
    for (const [data, message] of cases) {
      const { error, result, ctx } = await t.execute({ events: events(data) });
      expect(error, JSON.stringify(data)).toBeUndefined();
      expect(only(result), JSON.stringify(data)).toMatchObject({ status: "invalid", reason: expect.stringMatching(message) });
      expect(ctx.step.run).not.toHaveBeenCalled();
    }
    expect(sb.fashionai.requests).toHaveLength(0);
  });

  it("is enforced at send time only for events built with eventType().create()", async () => {
    await expect(profileSyncRequested.create({ identifier: CAMILA.email, by: "fax" } as never).validate()).rejects.toThrow(/^by: Invalid option/);
    await expect(profileSyncRequested.create({ by: "email" } as never).validate()).rejects.toThrow(/^identifier: /);
    await expect(profileSyncRequested.create({ identifier: CAMILA.email, by: "phone", email: "a@b.co" }).validate()).resolves.toBeUndefined();

    // A client whose fetch records what would reach Inngest (dev mode: no event key needed).
    const sent: unknown[] = [];
    const client = new Inngest({
      id: APP_ID,
      isDev: true,
      fetch: (async (_url: unknown, init?: { body?: unknown }) => {
        sent.push(JSON.parse(String(init?.body)));
        return new Response(JSON.stringify({ ids: ["evt"], status: 200 }), { status: 200, headers: { "content-type": "application/json" } });
      }) as typeof fetch,
    });
    await expect(client.send(profileSyncRequested.create({ identifier: CAMILA.email, by: "fax" } as never))).rejects.toThrow(/by: Invalid option/);
    expect(sent).toHaveLength(0);
    // A plain payload is not checked when sent: it is the run that rejects it.
    await client.send({ name: EVENT, data: { identifier: CAMILA.email, by: "fax" } });
    expect(sent).toHaveLength(1);
    expect(JSON.stringify(sent[0])).toContain('"by":"fax"');
  });

  it("describeEventProblems names each bad field as data.<path>", () => {
    const parsed = profileSyncRequestedSchema.safeParse({ by: "fax", connectors: ["x"] });
    expect(parsed.success).toBe(false);
    const text = describeEventProblems(parsed.error!);
    expect(text).toMatch(/data\.identifier: /);
    expect(text).toMatch(/data\.by: /);
    expect(text).toMatch(/data\.connectors\.0: /);
  });
});
