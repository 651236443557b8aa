// One fault taxonomy: every seeded-random fault of the stand-ins (429 with and without Retry-After, 500, 503,
// connection resets, slow answers past the timeout, truncated and non-JSON bodies), on each of the three APIs
// and through each client (Fashion.AI, HubSpot SDK, Klaviyo SDK, Klaviyo bulk over undici), becomes a SyncError
// kind after exactly one request (no SDK retries), and that kind gets the same treatment from the in-process
// retry loop (withRetry) and from Inngest (toInngestError).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NonRetriableError, RetryAfterError } from "inngest";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HubSpotWriter } from "../connectors/hubspot/writer.js";
import { mapToHubSpot } from "../connectors/hubspot/mapping.js";
import { KlaviyoBulkWriter } from "../connectors/klaviyo/bulk.js";
import { KlaviyoWriter } from "../connectors/klaviyo/writer.js";
import { mapToKlaviyo } from "../connectors/klaviyo/mapping.js";
import { createHubSpotClient } from "../connectors/hubspot/client.js";
import { createKlaviyoApis } from "../connectors/klaviyo/client.js";
import type { RetryPolicy } from "../src/config.js";
import { SyncError, treatmentOf, type FaultKind } from "../src/errors.js";
import { FashionAiClient } from "../src/fashionai/client.js";
import { parseProfileBody } from "../src/fashionai/schema.js";
import { forFault, toInngestError } from "../src/inngest/errors.js";
import { CHAOS_KINDS, startSandbox, type ChaosKind, type Sandbox, type SandboxServer } from "../src/sandbox/index.js";
import { silentLogger } from "../src/util/log.js";
import { withRetry } from "../src/util/retry.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
const CAMILA = "camila.ferraz@example.com";
const body = JSON.parse(readFileSync(`${FIXTURES}/camila-ferraz.json`, "utf8"));
const profile = parseProfileBody(JSON.stringify(body)).profile;
const ONCE: RetryPolicy = { attempts: 1, baseDelayMs: 1, maxDelayMs: 60_000 };
const TIMEOUT_MS = 300;
// undici times out on a coarse (about 1 s) clock: "slow" must be well past the timeout plus that.
const SLOW_MS = 2_500;

type Api = "fashionai" | "hubspot" | "klaviyo" | "klaviyo-bulk";
const APIS: Api[] = ["fashionai", "hubspot", "klaviyo", "klaviyo-bulk"];

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ profilesDir: FIXTURES });
});
afterAll(() => sb?.close());
beforeEach(() => sb.reset());

function server(api: Api): SandboxServer {
  return api === "fashionai" ? sb.fashionai : api === "hubspot" ? sb.hubspot : sb.klaviyo;
}

/** The one request each client makes for one record, with the in-process retries off (attempts: 1). */
const CALLS: Record<Api, { method: string; path: string; call: () => Promise<SyncError | undefined> }> = {
  fashionai: {
    method: "GET", path: "/protected/profile/",
    async call() {
      const client = new FashionAiClient({ baseUrl: sb.env.FASHIONAI_BASE_URL, token: sb.env.FASHIONAI_APP_TOKEN, timeoutMs: TIMEOUT_MS });
      try {
        await client.fetchProfile("email", CAMILA);
        return undefined;
      } catch (err) {
        return err as SyncError;
      } finally {
        await client.close();
      }
    },
  },
  hubspot: {
    method: "POST", path: "/crm/v3/objects/contacts/batch/upsert",
    async call() {
      const writer = new HubSpotWriter({ baseUrl: sb.env.HUBSPOT_BASE_URL, token: sb.env.HUBSPOT_ACCESS_TOKEN, retry: ONCE, timeoutMs: TIMEOUT_MS, log: silentLogger });
      const mapping = mapToHubSpot(profile, { syncedAt: new Date() });
      const outcome = (await writer.write([{ key: 0, email: CAMILA, mapping }])).get(0)!;
      return outcome.status === "failed" ? new SyncError(outcome.fault!, "hubspot", outcome.reason!, outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }) : undefined;
    },
  },
  klaviyo: {
    method: "POST", path: "/api/profile-import",
    async call() {
      const writer = new KlaviyoWriter({ baseUrl: sb.env.KLAVIYO_BASE_URL, apiKey: sb.env.KLAVIYO_API_KEY, retry: ONCE, timeoutMs: TIMEOUT_MS, log: silentLogger });
      const mapping = mapToKlaviyo(profile, { syncedAt: new Date() });
      delete mapping.event; // the profile call alone
      const outcome = (await writer.write([{ key: 0, email: CAMILA, mapping }])).get(0)!;
      return outcome.status === "failed" ? new SyncError(outcome.fault!, "klaviyo", outcome.reason!, outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }) : undefined;
    },
  },
  "klaviyo-bulk": {
    method: "POST", path: "/api/profile-bulk-import-jobs",
    async call() {
      const writer = new KlaviyoBulkWriter({ baseUrl: sb.env.KLAVIYO_BASE_URL, apiKey: sb.env.KLAVIYO_API_KEY, retry: ONCE, timeoutMs: TIMEOUT_MS, log: silentLogger });
      try {
        await writer.submit([{ key: 0, email: CAMILA, mapping: mapToKlaviyo(profile, { syncedAt: new Date() }) }]);
        return undefined;
      } catch (err) {
        return err as SyncError;
      } finally {
        await writer.close();
      }
    },
  },
};

/** What each fault must become. A 429 without Retry-After keeps each vendor's documented default delay. */
function expected(api: Api, kind: ChaosKind): { kind: FaultKind; retryAfterMs: number | undefined } {
  if (kind === "429") return { kind: "rate_limited", retryAfterMs: 1000 };
  if (kind === "429-no-retry-after") {
    return { kind: "rate_limited", retryAfterMs: api === "fashionai" ? undefined : api === "hubspot" ? 10_000 : 1_000 };
  }
  return { kind: "transient", retryAfterMs: undefined };
}

/** The in-process decision: was the call retried, and after how long? */
async function inProcess(err: SyncError): Promise<{ retried: boolean; delayMs?: number }> {
  const waits: number[] = [];
  let calls = 0;
  await withRetry(async () => {
    calls += 1;
    if (calls === 1) throw err;
    return "ok";
  }, { attempts: 2, baseDelayMs: 7, maxDelayMs: 60_000 }, { sleep: async (ms) => void waits.push(ms) }).catch(() => undefined);
  return calls === 2 ? { retried: true, delayMs: waits[0]! } : { retried: false };
}

/** The Inngest decision for the same error. */
function underInngest(err: SyncError): { retried: boolean; delayMs?: number } {
  const e = toInngestError(err);
  if (e instanceof NonRetriableError) return { retried: false };
  if (e instanceof RetryAfterError) return { retried: true, delayMs: Number(e.retryAfter) * 1000 }; // whole seconds
  return { retried: true };
}

describe("the same fault gets the same treatment in-process and under Inngest", () => {
  const kinds: Array<[FaultKind, boolean]> = [
    ["auth", false], ["not_found", false], ["invalid", false], ["permanent", false], ["transient", true], ["rate_limited", true],
  ];
  it.each(kinds)("%s: retried = %s in both", async (kind, retried) => {
    const err = new SyncError(kind, "hubspot", `a ${kind} fault`);
    expect(treatmentOf(err).retry).toBe(retried);
    expect((await inProcess(err)).retried).toBe(retried);
    expect(underInngest(err).retried).toBe(retried);
    // The connector-outcome path of sync-profiles (settle → forFault) agrees as well.
    const viaOutcome = forFault(kind, "x");
    expect(!(viaOutcome instanceof NonRetriableError)).toBe(retried);
  });

  it("a rate limit with a delay waits that delay in both; without one, both fall back to their backoff", async () => {
    const withDelay = new SyncError("rate_limited", "klaviyo", "slow down", { retryAfterMs: 3000 });
    expect(await inProcess(withDelay)).toEqual({ retried: true, delayMs: 3000 });
    const e = toInngestError(withDelay);
    expect(e).toBeInstanceOf(RetryAfterError);
    expect(underInngest(withDelay)).toEqual({ retried: true, delayMs: 3000 });
    expect(e.message).toBe("slow down");
    const noDelay = new SyncError("rate_limited", "fashionai", "slow down");
    const local = await inProcess(noDelay);
    expect(local.retried).toBe(true);
    expect(local.delayMs).toBeLessThan(20); // withRetry's own backoff (base 7 ms, jittered)
    const inngest = toInngestError(noDelay);
    expect(inngest).not.toBeInstanceOf(RetryAfterError); // Inngest's own backoff
    expect(inngest).not.toBeInstanceOf(NonRetriableError);
  });
});

describe("seeded-random faults on every API map to one kind after exactly one request", () => {
  for (const api of APIS) {
    it.each(CHAOS_KINDS.map((k) => [k]))(`${api}: %s`, async (kind) => {
      const { method, path, call } = CALLS[api];
      if (api === "hubspot") {
        // The schema (group, properties) first, without faults: only the upsert is under test.
        expect(await call()).toBeUndefined();
        sb.hubspot.clearRequests();
      }
      const target = server(api);
      // Four seeds for the two-way faults (reset before/after the write, HTML 200/502), so both sides show.
      for (const seed of kind === "reset" || kind === "non-json" ? [1, 2, 3, 4] : [1]) {
        const stop = target.chaos({ seed, rate: 1, kinds: [kind], slowMs: SLOW_MS, method, path });
        const before = target.requests.filter((r) => r.method === method && r.path.includes(path)).length;
        const err = await call();
        stop();
        const after = target.requests.filter((r) => r.method === method && r.path.includes(path)).length;
        expect(after - before, "one request: no SDK retry").toBe(1);
        expect(err, `${api} ${kind} seed ${seed}`).toBeInstanceOf(SyncError);
        const want = expected(api, kind);
        expect(err!.kind).toBe(want.kind);
        expect(err!.retryAfterMs).toBe(want.retryAfterMs);
        // Same treatment both ways.
        const local = await inProcess(err!);
        const inngest = underInngest(err!);
        expect(local.retried).toBe(true);
        expect(inngest.retried).toBe(true);
        if (want.retryAfterMs !== undefined) {
          expect(local.delayMs).toBe(want.retryAfterMs);
          expect(inngest.delayMs).toBe(want.retryAfterMs);
        } else {
          expect(toInngestError(err!)).not.toBeInstanceOf(RetryAfterError);
        }
        // Messages never carry a credential.
        for (const token of Object.values(sb.env).filter((v) => !v.startsWith("http"))) expect(err!.message).not.toContain(token);
      }
    }, 20_000);
  }

  it("the chaos sequence is the same for the same seed, and another seed gives another", async () => {
    const sequence = async (seed: number) => {
      sb.fashionai.reset();
      sb.fashionai.chaos({ seed, rate: 0.5, kinds: ["500", "503", "429", "non-json"] });
      for (let i = 0; i < 40; i++) await fetch(`${sb.env.FASHIONAI_BASE_URL}/protected/profile/email/x${i}%40example.com`).then((r) => r.text());
      return sb.fashionai.requests.map((r) => r.chaos ?? "-").join(",");
    };
    const a = await sequence(42);
    expect(await sequence(42)).toBe(a);
    expect(await sequence(43)).not.toBe(a);
    expect(a.split(",").filter((k) => k !== "-").length).toBeGreaterThan(10);
  });
});

describe("final faults are never retried, anywhere", () => {
  it("401 and 404 are auth and not_found: NonRetriableError, not retried; the SDKs never retry a 503 or a 429 themselves", async () => {
    sb.fashionai.fault({ status: 401 });
    const fa = (await CALLS.fashionai.call())!;
    expect(fa.kind).toBe("auth");
    expect(fa.message).toMatch(/FASHIONAI_APP_TOKEN/);
    expect(toInngestError(fa)).toBeInstanceOf(NonRetriableError);
    expect((await inProcess(fa)).retried).toBe(false);

    const missing = new FashionAiClient({ baseUrl: sb.env.FASHIONAI_BASE_URL, token: sb.env.FASHIONAI_APP_TOKEN });
    const nf = await missing.fetchProfile("email", "nobody@example.com").catch((e: SyncError) => e);
    await missing.close();
    expect((nf as SyncError).kind).toBe("not_found");
    expect(toInngestError(nf)).toBeInstanceOf(NonRetriableError);

    // HubSpot and Klaviyo SDKs: one request per call, whatever the answer (numberOfApiCallRetries 0, numRetries 0).
    const hs = createHubSpotClient({ baseUrl: sb.env.HUBSPOT_BASE_URL, token: sb.env.HUBSPOT_ACCESS_TOKEN });
    sb.hubspot.fault({ status: 503 });
    await hs.crm.properties.groupsApi.getAll("contacts").catch(() => undefined);
    expect(sb.hubspot.requests).toHaveLength(1);
    const kl = createKlaviyoApis({ baseUrl: sb.env.KLAVIYO_BASE_URL, apiKey: sb.env.KLAVIYO_API_KEY });
    sb.klaviyo.fault({ status: 503 });
    await kl.profiles.getProfiles().catch(() => undefined);
    sb.klaviyo.fault({ status: 429, headers: { "Retry-After": "1" } });
    await kl.profiles.getProfiles().catch(() => undefined);
    expect(sb.klaviyo.requests).toHaveLength(2);
  });
});
