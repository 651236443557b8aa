import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { renderProgress } from "../src/backfill/progress.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { RateGate } from "../src/util/rate.js";
import { SyncError } from "../src/errors.js";

const PROFILES = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
const samples: Array<{ userProfileId: string; profile: Record<string, unknown> }> = (
  JSON.parse(readFileSync(join(PROFILES, "index.json"), "utf8")) as Array<{ file: string }>
).map((e) => JSON.parse(readFileSync(join(PROFILES, e.file), "utf8")));

const dir = mkdtempSync(join(tmpdir(), "fashionai-backfill-"));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

async function cli(args: string[], env: Record<string, string | undefined>, opts: { tty?: boolean } = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    env: { FASHIONAI_SYNC_RETRY_BASE_MS: "10", LOG_LEVEL: "warn", ...env },
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    // main() fills these from process.stderr; a test decides.
    ...({ stderrIsTTY: opts.tty ?? false } as object),
  });
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, json };
}

/** A Fashion.AI profile for contact i: one of the samples, with its own userProfileId (so events differ). */
function profileFor(i: number) {
  const s = samples[i % samples.length]!;
  return { ...s, userProfileId: `fp_test_${i}` };
}

describe("backfill --local", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(() => sb.close());
  beforeEach(() => sb.reset());

  it("over 1,000 HubSpot contacts: enriches every contact with a profile, reports the rest not_found, about ten upserts", async () => {
    const withProfile = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const email = `contact${i}@example.com`;
      sb.hubspot.addContact(email, { firstname: `C${i}` });
      if (i % 10 !== 3) {
        sb.fashionai.addProfile({ email }, profileFor(i));
        withProfile.add(email);
      }
    }
    const run = await cli(["backfill", "--source", "hubspot", "--local", "--json"], sb.env);
    expect(run.stderr).not.toMatch(/ERROR/);
    expect(run.code).toBe(0);
    expect(run.json.summary).toEqual({ requested: 1000, synced: 900, not_found: 100, invalid: 0, failed: 0 });
    expect(run.json.results).toHaveLength(1000);
    for (const r of run.json.results) {
      expect(r.status).toBe(withProfile.has(r.identifier) ? "synced" : "not_found");
    }
    // Every contact with a profile is enriched in HubSpot; the others are untouched.
    for (let i = 0; i < 1000; i++) {
      const c = sb.hubspot.contact(`contact${i}@example.com`)!;
      if (i % 10 === 3) expect(c.properties.fashionai_user_profile_id).toBeUndefined();
      else expect(c.properties.fashionai_user_profile_id).toBe(`fp_test_${i}`);
      expect(c.properties.firstname).toBe(`C${i}`);
    }
    const stats = sb.hubspot.stats();
    const upserts = stats["POST /crm/v3/objects/contacts/batch/upsert"] ?? 0;
    expect(upserts).toBeGreaterThanOrEqual(9);
    expect(upserts).toBeLessThanOrEqual(11);
    expect(stats["GET /crm/v3/objects/contacts"]).toBe(10);
    // Klaviyo: bulk import jobs, not one call per profile; events in bulk, one per moment.
    const k = sb.klaviyo.stats();
    expect(k["POST /api/profile-import"]).toBeUndefined();
    expect(k["POST /api/profile-bulk-import-jobs"]).toBeLessThanOrEqual(2);
    expect(sb.klaviyo.profile("contact0@example.com")?.fashionai_user_profile_id).toBe("fp_test_0");
    expect(sb.klaviyo.profile("contact3@example.com")).toBeUndefined();
    const withEvent = [...withProfile].filter((e) => run.json.results.find((r: any) => r.identifier === e)?.connectors?.klaviyo?.event);
    expect(withEvent.length).toBeGreaterThan(0);
    expect(sb.klaviyo.events()).toHaveLength(withEvent.length);
    expect(k["POST /api/event-bulk-create-jobs"]).toBeLessThanOrEqual(2);
  });

  it("a CSV with a malformed row exits 1 with every row accounted for", async () => {
    sb.fashionai.addProfile({ email: "ana@example.com" }, profileFor(1));
    sb.fashionai.addProfile({ email: "bruno@example.com" }, profileFor(2));
    const path = join(dir, "audience.csv");
    writeFileSync(path, [
      "\uFEFFname,email",
      "Ana,ana@example.com",
      'Bruno,"bruno@example.com"',
      'Carla,carla"@example.com',
      "Dora,not-an-email",
      "Eva,eva@example.com",
      "Fabio,",
    ].join("\r\n") + "\r\n");
    const run = await cli(["backfill", "--source", path, "--local", "--json"], sb.env);
    expect(run.code).toBe(1);
    expect(run.json.summary).toEqual({ requested: 6, synced: 2, not_found: 1, invalid: 3, failed: 0 });
    expect(run.json.results.map((r: any) => [r.row, r.status])).toEqual([
      [2, "synced"], [3, "synced"], [4, "invalid"], [5, "invalid"], [6, "not_found"], [7, "invalid"],
    ]);
    expect(run.json.results[2].reason).toMatch(/^row 4: a quote inside an unquoted field/);
    expect(run.json.results[3].reason).toMatch(/^row 5: /);
    expect(run.json.results[5].reason).toBe("row 7: no email");
  });

  it("human output: a summary line and the rows that need attention; no progress bar when stderr is not a terminal", async () => {
    const path = join(dir, "small.ndjson");
    writeFileSync(path, '{"email":"x@example.com"}\n{"email":"bad"}\n');
    const run = await cli(["backfill", "--source", path, "--local", "--to", "hubspot"], sb.env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/requested 2: 0 synced, 1 not found, 1 invalid, 0 failed/);
    expect(run.stdout).toMatch(/row 2: /);
    expect(run.stderr).not.toMatch(/\r/);
  });

  it("draws the progress bar on a terminal (stderr), never on stdout", async () => {
    const path = join(dir, "tty.csv");
    writeFileSync(path, "email\na@example.com\n");
    const run = await cli(["backfill", "--source", path, "--local", "--to", "hubspot"], sb.env, { tty: true });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/\r\x1b\[2K/);
    expect(run.stdout).not.toMatch(/\x1b/);
  });

  it("a dry run plans for both CRMs and writes nothing", async () => {
    for (let i = 0; i < 5; i++) {
      sb.hubspot.addContact(`d${i}@example.com`);
      sb.fashionai.addProfile({ email: `d${i}@example.com` }, profileFor(i));
    }
    const run = await cli(["backfill", "--source", "hubspot", "--local", "--dry-run", "--json"], sb.env);
    expect(run.code).toBe(0);
    expect(run.json.summary.synced).toBe(5);
    expect(run.json.results[0].connectors.hubspot.status).toBe("planned");
    expect(run.json.results[0].connectors.hubspot.properties.fashionai_user_profile_id).toBe("fp_test_0");
    expect(run.json.results[0].connectors.klaviyo.status).toBe("planned");
    expect(sb.hubspot.stats()["POST /crm/v3/objects/contacts/batch/upsert"]).toBeUndefined();
    expect(sb.klaviyo.stats()["POST /api/profile-bulk-import-jobs"]).toBeUndefined();
  });

  it("a wrong Klaviyo key stops the run: exit 2, the credential named, every row still accounted for", async () => {
    const path = join(dir, "auth.csv");
    writeFileSync(path, "email\n" + Array.from({ length: 30 }, (_, i) => `k${i}@example.com`).join("\n") + "\n");
    for (let i = 0; i < 30; i++) sb.fashionai.addProfile({ email: `k${i}@example.com` }, profileFor(i));
    const run = await cli(["backfill", "--source", path, "--local", "--json"], { ...sb.env, KLAVIYO_API_KEY: "wrong-key-123456" });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/KLAVIYO_API_KEY/);
    expect(run.stderr).not.toMatch(/wrong-key-123456/);
    expect(run.json.summary.requested).toBe(30);
    expect(run.json.summary.failed).toBe(30);
  });

  it("429s from Fashion.AI: slows down, honours Retry-After and still syncs everyone", async () => {
    const path = join(dir, "limited.csv");
    const n = 120;
    writeFileSync(path, "email\n" + Array.from({ length: n }, (_, i) => `r${i}@example.com`).join("\n") + "\n");
    for (let i = 0; i < n; i++) sb.fashionai.addProfile({ email: `r${i}@example.com` }, profileFor(i));
    sb.fashionai.rateLimit({ limit: 60, windowMs: 1000 });
    const run = await cli(["backfill", "--source", path, "--local", "--json", "--to", "hubspot"], sb.env);
    expect(run.code).toBe(0);
    expect(run.json.summary.synced).toBe(n);
    const limited = sb.fashionai.requests.filter((r) => r.status === 429).length;
    expect(limited).toBeGreaterThan(0);
    expect(limited).toBeLessThan(n);
  });

  it("usage errors exit 2", async () => {
    expect((await cli(["backfill"], sb.env)).code).toBe(2);
    expect((await cli(["backfill", "--source", join(dir, "nope.csv"), "--local"], sb.env)).stderr).toMatch(/no such file/);
    expect((await cli(["backfill", "--source", "hubspot", "--local", "--modified-since", "yesterday-ish"], sb.env)).code).toBe(2);
    const noKey = await cli(["backfill", "--source", "hubspot"], sb.env);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/INNGEST_EVENT_KEY/);
  });
});

describe("backfill without --local (Inngest)", () => {
  it("--dry-run prints the events it would send; a file becomes identifiers events with one backfillId", async () => {
    const path = join(dir, "send.csv");
    writeFileSync(path, "email\n" + Array.from({ length: 2500 }, (_, i) => `s${i}@example.com`).join("\n") + "\nbro\"ken\n");
    const run = await cli(["backfill", "--source", path, "--dry-run", "--json", "--to", "klaviyo"], {});
    expect(run.code).toBe(1);
    expect(run.json.sent).toBe(false);
    expect(run.json.events).toBe(3);
    expect(run.json.queued).toBe(2500);
    expect(run.json.invalid).toEqual([{ row: 2502, identifier: "row 2502", reason: expect.stringMatching(/^row 2502: /) }]);
    const ids = new Set(run.json.payloads.map((p: any) => p.data.backfillId));
    expect(ids.size).toBe(1);
    expect(run.json.payloads[0].data).toMatchObject({ source: "identifiers", connectors: ["klaviyo"] });
    expect(run.json.payloads[0].data.identifiers).toHaveLength(1000);
  });

  it("sends the event to Inngest and prints the backfillId", async () => {
    const http = await import("node:http");
    const received: any[] = [];
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        received.push({ url: req.url, body: JSON.parse(body) });
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ids: ["evt_1"], status: 200 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const run = await cli(["backfill", "--source", "hubspot", "--modified-since", "2026-01-01", "--id", "bf_test_1"], {
        INNGEST_EVENT_KEY: "test-event-key", INNGEST_BASE_URL: `http://127.0.0.1:${port}`,
      });
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/backfill bf_test_1 requested/);
      expect(received).toHaveLength(1);
      const events = Array.isArray(received[0].body) ? received[0].body : [received[0].body];
      expect(events[0]).toMatchObject({
        name: "fashionai/backfill.requested",
        data: { source: "hubspot", backfillId: "bf_test_1", modifiedSince: "2026-01-01T00:00:00.000Z" },
      });
    } finally {
      server.close();
    }
  });
});

describe("progress and rate control units", () => {
  it("renders a bar with a percentage when the size is known, counts otherwise", () => {
    const counts = { requested: 50, synced: 40, not_found: 5, invalid: 3, failed: 2 };
    expect(renderProgress({ read: 60, done: 50, inFlight: 10, counts, elapsedMs: 5000, fraction: 0.5, finished: false }))
      .toMatch(/^\[█{12}░{12}\] 50% · 50 done · 10\/s · ✓ 40 {2}not found 5 {2}invalid 3 {2}failed 2 · ETA 5s$/);
    expect(renderProgress({ read: 60, done: 50, inFlight: 10, counts, elapsedMs: 5000, finished: false })).toMatch(/^60 read · 50 done/);
  });

  it("the gate cuts its concurrency and learns a rate on a 429, pauses for Retry-After, then recovers", async () => {
    let now = 0;
    const gate = new RateGate({ name: "t", maxConcurrency: 8, holdMs: 1000, probePerSecond: 1, now: () => now });
    for (let i = 0; i < 50; i++) await gate.run(async () => 1);
    await expect(gate.run(async () => {
      throw new SyncError("rate_limited", "fashionai", "429", { retryAfterMs: 0 });
    })).rejects.toThrow();
    const cut = gate.stats();
    expect(cut.rateLimited).toBe(1);
    expect(cut.concurrency).toBe(6);
    expect(cut.ratePerSecond).toBeGreaterThan(40);
    expect(cut.ratePerSecond).toBeLessThan(50);
    // After the hold, probing raises the rate, and well past the cut point the limit is dropped.
    now += 5000;
    await gate.run(async () => 1);
    expect(gate.stats().ratePerSecond).toBeUndefined();
    gate.close();
  });

  it("an isolated 429 at the learned rate trims it without pausing the others; 429s that keep coming cut hard and pause", async () => {
    let now = 0;
    const gate = new RateGate({ name: "t", maxConcurrency: 8, holdMs: 60_000, now: () => now });
    const limited = (retryAfterMs = 1000) => gate.run(async () => {
      throw new SyncError("rate_limited", "fashionai", "429", { retryAfterMs });
    }).catch(() => undefined);
    for (let i = 0; i < 100; i++) await gate.run(async () => 1);
    await limited(0); // the first 429: learn 97% of what was just accepted
    const learned = gate.stats().ratePerSecond!;
    expect(learned).toBe(97);
    // Keep to the learned rate for a while, then one isolated 429 (jitter at the server).
    for (let i = 0; i < 50; i++) {
      now += 20;
      await gate.run(async () => 1);
    }
    now += 3000;
    await limited();
    expect(gate.stats()).toMatchObject({ ratePerSecond: 96, pausedMs: 0 });
    // Calls granted well after that cut still get 429s: the limit really is lower.
    for (let i = 0; i < 8; i++) {
      now += 150;
      await limited();
    }
    const hard = gate.stats();
    expect(hard.ratePerSecond).toBeCloseTo(96.03 * 0.75, 0);
    expect(hard.pausedMs).toBeGreaterThan(0);
    gate.close();
  });

  it("a jitter trim is undone after 10 s without a 429", async () => {
    let now = 0;
    const gate = new RateGate({ name: "t", maxConcurrency: 8, holdMs: 60_000, now: () => now });
    const limited = () => gate.run(async () => {
      throw new SyncError("rate_limited", "fashionai", "429", { retryAfterMs: 0 });
    }).catch(() => undefined);
    for (let i = 0; i < 100; i++) await gate.run(async () => 1);
    await limited();
    now += 3000;
    await limited();
    expect(gate.stats().ratePerSecond).toBe(96);
    now += 10_500;
    await gate.run(async () => 1);
    expect(gate.stats().ratePerSecond).toBe(97);
    gate.close();
  });
});
