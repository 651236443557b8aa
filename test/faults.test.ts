// Fault runs: hundreds of records through the real pipeline while every API misbehaves at random (seeded, so a
// failure reproduces), then the same audience as a local backfill that is SIGKILLed twice mid-run and re-run.
// What must hold every time:
//   - every record is accounted for: the summary adds up to what was requested, each record in exactly one status;
//   - every record that can be synced is synced (the others: no profile → not_found; a CRM rejects it or its
//     profile body is unusable for good → failed, with a reason);
//   - the CRMs end with each contact / profile once, holding the right profile id;
//   - Klaviyo holds exactly one Novo Comportamento event per profile that has one (same unique_id on every
//     resend), and none for the others;
//   - no credential appears anywhere in the output (stdout, stderr, every log line).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { KlaviyoBulkWriter } from "../connectors/klaviyo/bulk.js";
import { mapToKlaviyo } from "../connectors/klaviyo/mapping.js";
import { parseProfileBody } from "../src/fashionai/schema.js";
import { startSandbox, type ChaosKind, type Sandbox, type SandboxOptions } from "../src/sandbox/index.js";
import { silentLogger } from "../src/util/log.js";
import { REPO_ROOT } from "./helpers/cli.js";

const PROFILES = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
const SAMPLES: Array<{ userProfileId: string; profile: Record<string, any> }> = (
  JSON.parse(readFileSync(join(PROFILES, "index.json"), "utf8")) as Array<{ file: string }>
).map((e) => JSON.parse(readFileSync(join(PROFILES, e.file), "utf8")));
const dir = mkdtempSync(join(tmpdir(), "fashionai-faults-"));
const NO_429: ChaosKind[] = ["500", "503", "reset", "slow", "truncated", "non-json"];

const open: Sandbox[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

async function sandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const sb = await startSandbox(opts);
  open.push(sb);
  return sb;
}

type Expect = { email: string; status: "synced" | "not_found" | "failed"; upid?: string; novo: boolean; reason?: RegExp };

/**
 * The audience: one in ten has no Fashion.AI profile (not_found); a few have an address HubSpot and Klaviyo
 * both reject (no dot in the domain; it passes our own check) or a profile body that is unusable for good
 * (failed); everyone else must end synced.
 */
function audience(sb: Sandbox, n: number): Expect[] {
  const out: Expect[] = [];
  for (let i = 0; i < n; i++) {
    const sample = SAMPLES[i % SAMPLES.length]!;
    const novoRaw = sample.profile.momento_compra_atual?.novo_comportamento;
    const novo = novoRaw === true || (typeof novoRaw === "string" && novoRaw.toLowerCase() === "true");
    if (i % 10 === 3) {
      out.push({ email: `c${i}@example.com`, status: "not_found", novo: false });
      continue;
    }
    if (i % 97 === 5) {
      const email = `c${i}@intranet`;
      sb.fashionai.addProfile({ email }, { ...sample, userProfileId: `fp_${i}` });
      out.push({ email, status: "failed", novo: false, reason: /HubSpot rejected|HubSpot answered 400|Klaviyo rejected|Klaviyo answered 400/ });
      continue;
    }
    if (i % 61 === 11) {
      const email = `c${i}@example.com`;
      sb.fashionai.addProfile({ email }, { userProfileId: `fp_${i}`, profile: "not an object" });
      out.push({ email, status: "failed", novo: false, reason: /after 8 attempts$/ }); // retries exhausted
      continue;
    }
    const email = `c${i}@example.com`;
    sb.fashionai.addProfile({ email }, { ...sample, userProfileId: `fp_${i}` });
    out.push({ email, status: "synced", upid: `fp_${i}`, novo });
  }
  return out;
}

/** What each CRM holds at the end: each synced record once, with its profile id; nothing for the others. */
function expectFinalState(sb: Sandbox, expected: Expect[]): void {
  const synced = expected.filter((e) => e.status === "synced");
  const contacts = sb.hubspot.contacts();
  const contactEmails = contacts.map((c) => String(c.properties.email ?? "").toLowerCase());
  expect(new Set(contactEmails).size, "no duplicate HubSpot contacts").toBe(contactEmails.length);
  expect(contacts.length).toBe(synced.length);
  const profiles = sb.klaviyo.profiles();
  const profileEmails = profiles.map((p) => String(p.email).toLowerCase());
  expect(new Set(profileEmails).size, "no duplicate Klaviyo profiles").toBe(profileEmails.length);
  expect(profiles.length).toBe(synced.length);
  for (const e of synced) {
    expect(sb.hubspot.contact(e.email)?.properties.fashionai_user_profile_id, e.email).toBe(e.upid);
    expect(sb.klaviyo.profile(e.email)?.fashionai_user_profile_id, e.email).toBe(e.upid);
  }
  for (const e of expected.filter((x) => x.status !== "synced")) {
    expect(sb.hubspot.contact(e.email), e.email).toBeUndefined();
    expect(sb.klaviyo.profile(e.email), e.email).toBeUndefined();
  }
  // Events: stored once per (email, unique_id), exactly one per profile with novo_comportamento, none otherwise.
  const events = sb.klaviyo.events();
  const keys = events.map((ev) => `${ev.email}\u0000${ev.uniqueId}`);
  expect(new Set(keys).size, "no duplicate Klaviyo events").toBe(keys.length);
  const perEmail = new Map<string, number>();
  for (const ev of events) perEmail.set(ev.email ?? "", (perEmail.get(ev.email ?? "") ?? 0) + 1);
  for (const e of expected) expect(perEmail.get(e.email) ?? 0, `events of ${e.email}`).toBe(e.status === "synced" && e.novo ? 1 : 0);
  expect(events.length).toBe(synced.filter((e) => e.novo).length);
  // Every resend of an event (after a lost answer, a retry or a re-run) carried the same unique_id.
  const idsPerEmail = new Map<string, Set<string>>();
  for (const post of sb.klaviyo.eventPosts()) {
    const email = post.email ?? "";
    if (!idsPerEmail.has(email)) idsPerEmail.set(email, new Set());
    idsPerEmail.get(email)!.add(post.uniqueId);
  }
  for (const [email, ids] of idsPerEmail) expect(ids.size, `unique_ids sent for ${email}`).toBe(1);
}

function expectResults(results: Array<{ identifier: string; status: string; reason?: string }>, expected: Expect[]): void {
  const byId = new Map(results.map((r) => [r.identifier, r]));
  expect(results).toHaveLength(expected.length);
  for (const e of expected) {
    const r = byId.get(e.email);
    expect(r?.status, `${e.email}: ${r?.reason ?? ""}`).toBe(e.status);
    if (e.reason) expect(r?.reason, e.email).toMatch(e.reason);
  }
}

function summaryOf(expected: Expect[]) {
  const count = (s: string) => expected.filter((e) => e.status === s).length;
  return { requested: expected.length, synced: count("synced"), not_found: count("not_found"), invalid: 0, failed: count("failed") };
}

/** Vendor error bodies that echo the credential back (as some proxies do): it must still never be printed. */
function echoTokens(sb: Sandbox): void {
  sb.fashionai.fault({ status: 503, body: { error: "Service Unavailable", message: `upstream refused token ${sb.env.FASHIONAI_APP_TOKEN}` }, times: 2 });
  sb.hubspot.fault({ method: "POST", path: "/crm/v3/objects/contacts/batch/upsert", status: 502, body: { status: "error", message: `bad gateway for Bearer ${sb.env.HUBSPOT_ACCESS_TOKEN}` } });
  sb.klaviyo.fault({ method: "POST", status: 503, body: { errors: [{ status: 503, code: "unavailable", title: "Unavailable", detail: `key ${sb.env.KLAVIYO_API_KEY} is being rotated` }] } });
}

function expectNoTokens(sb: Sandbox, output: string): void {
  expect(output.length).toBeGreaterThan(1000);
  for (const name of ["FASHIONAI_APP_TOKEN", "HUBSPOT_ACCESS_TOKEN", "KLAVIYO_API_KEY"] as const) {
    expect(output.includes(sb.env[name]), `${name} printed`).toBe(false);
  }
}

const FAST_RETRIES = {
  FASHIONAI_SYNC_RETRY_ATTEMPTS: "8", // 8 faults in a row at these rates: about 1 in 10^7
  FASHIONAI_SYNC_RETRY_BASE_MS: "5",
  FASHIONAI_SYNC_TIMEOUT_MS: "300", // "slow" answers come 2.5 s late: past it, whatever undici's timer resolution
};

describe("partial batch failures", () => {
  it("Klaviyo bulk import: a profile the job rejects is failed with Klaviyo's message; the others land, with their events", async () => {
    const sb = await sandbox();
    const records = ["a@example.com", "bad@intranet", "c@example.com"].map((email, key) => ({
      key, email, mapping: mapToKlaviyo(parseProfileBody(JSON.stringify({ ...SAMPLES[0]!, userProfileId: `fp_${key}` })).profile, { syncedAt: new Date() }),
    }));
    expect(records[0]!.mapping.event).toBeDefined();
    const writer = new KlaviyoBulkWriter({ baseUrl: sb.env.KLAVIYO_BASE_URL, apiKey: sb.env.KLAVIYO_API_KEY, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 10 }, timeoutMs: 5_000, log: silentLogger, pollMs: 5 });
    const outcomes = await writer.write(records);
    await writer.close();
    expect(outcomes.get(0)).toMatchObject({ status: "written", event: { status: "sent" } });
    expect(outcomes.get(2)).toMatchObject({ status: "written", event: { status: "sent" } });
    expect(outcomes.get(1)).toMatchObject({ status: "failed", fault: "permanent" });
    expect(outcomes.get(1)!.reason).toBe("Klaviyo rejected the profile: Invalid email address: bad@intranet");
    expect(sb.klaviyo.profile("a@example.com")?.fashionai_user_profile_id).toBe("fp_0");
    expect(sb.klaviyo.profile("c@example.com")?.fashionai_user_profile_id).toBe("fp_2");
    expect(sb.klaviyo.profile("bad@intranet")).toBeUndefined();
    expect(sb.klaviyo.events().map((e) => e.email).sort()).toEqual(["a@example.com", "c@example.com"]);
    expect(sb.klaviyo.stats()["POST /api/profile-bulk-import-jobs"]).toBe(1);
  });

  it("a local backfill reports the rejected record per connector with the vendor's words, the rest synced", async () => {
    const sb = await sandbox();
    const emails = ["a@example.com", "bad@intranet", "c@example.com"];
    for (const [i, email] of emails.entries()) sb.fashionai.addProfile({ email }, { ...SAMPLES[1]!, userProfileId: `fp_${i}` });
    const file = join(dir, "partial.csv");
    writeFileSync(file, ["email", ...emails].join("\n") + "\n");
    let stdout = "";
    const code = await main(["backfill", "--source", file, "--local", "--json"], {
      env: { ...sb.env, LOG_LEVEL: "silent" }, stdout: (s) => (stdout += s), stderr: () => undefined,
    });
    expect(code).toBe(1);
    const doc = JSON.parse(stdout);
    expect(doc.summary).toEqual({ requested: 3, synced: 2, not_found: 0, invalid: 0, failed: 1 });
    const bad = doc.results.find((r: any) => r.identifier === "bad@intranet");
    expect(bad.connectors.hubspot).toMatchObject({ status: "failed", reason: expect.stringMatching(/HubSpot rejected the contact: .*bad@intranet/) });
    expect(bad.connectors.klaviyo).toMatchObject({ status: "failed", reason: "Klaviyo rejected the profile: Invalid email address: bad@intranet" });
    expect(sb.hubspot.contact("a@example.com")).toBeDefined();
    expect(sb.klaviyo.profile("c@example.com")).toBeDefined();
  });
});

describe("fault run: 520 records, seeded faults on all three APIs (in-process sync)", () => {
  it("ends with every record accounted for, every syncable record synced once, one event per moment, no token printed", async () => {
    const sb = await sandbox();
    const expected = audience(sb, 520);
    echoTokens(sb);
    sb.fashionai.chaos({ seed: 11, rate: 0.15, slowMs: 2_500 });
    sb.hubspot.chaos({ seed: 12, rate: 0.3, slowMs: 2_500 });
    sb.klaviyo.chaos({ seed: 13, rate: 0.15, slowMs: 2_500 });
    let stdout = "";
    let stderr = "";
    const code = await main(["sync", ...expected.map((e) => e.email), "--json"], {
      env: { ...sb.env, ...FAST_RETRIES, LOG_LEVEL: "debug" },
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
    });
    const doc = JSON.parse(stdout);
    expect(doc.summary).toEqual(summaryOf(expected));
    expect(code).toBe(1); // the records that cannot be synced
    expectResults(doc.results, expected);
    expectFinalState(sb, expected);
    // The faults really happened, on every API (every kind on the two busy ones).
    for (const s of [sb.fashionai, sb.klaviyo]) expect(Object.keys(s.chaosStats()).sort()).toEqual(["429", "429-no-retry-after", "500", "503", "non-json", "reset", "slow", "truncated"]);
    expect(Object.values(sb.hubspot.chaosStats()).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
    expect(stderr).toMatch(/retrying/);
    expectNoTokens(sb, stdout + stderr);
    expect(stderr).toContain("[redacted]"); // the echoed tokens were there, and were caught
  }, 120_000);
});

// ------------------------------------------------------------------------------------------ kill and re-run

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The real CLI in a child process (as `npm run cli` runs it); `killWhen` is polled and SIGKILLs it when true. */
function backfillChild(sb: Sandbox, file: string, killWhen?: () => boolean): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "backfill", "--source", file, "--local", "--json"], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...sb.env, ...FAST_RETRIES, LOG_LEVEL: "debug" } as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const poll = killWhen
      ? setInterval(() => {
        if (killWhen()) {
          clearInterval(poll);
          child.kill("SIGKILL");
        }
      }, 10)
      : undefined;
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (poll) clearInterval(poll);
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe("killed mid-run, then re-run (backfill --local in a child process)", () => {
  it("SIGKILLed three times mid-write, the fourth run completes: every record synced exactly once, no duplicate contact or event", async () => {
    // Jobs complete 400 ms after submission, so the second kill lands between a job and its events.
    const sb = await sandbox({ klaviyo: { bulkJobDelayMs: 400 } });
    const expected = audience(sb, 520);
    const file = join(dir, "audience.csv");
    writeFileSync(file, ["email", ...expected.map((e) => e.email)].join("\n") + "\n");
    echoTokens(sb);
    // Fewer 429s here than in the in-process run above: the backfill's adaptive gates slow down for a while on
    // each one (tested in backfill.test.ts), and HubSpot's 429 without Retry-After means a 10 s pause. So
    // Fashion.AI gets none, HubSpot only 429s with Retry-After; Klaviyo gets every kind.
    sb.fashionai.chaos({ seed: 21, rate: 0.1, kinds: NO_429, slowMs: 2_500 });
    sb.hubspot.chaos({ seed: 22, rate: 0.25, kinds: ["429", ...NO_429], slowMs: 2_500 });
    sb.klaviyo.chaos({ seed: 23, rate: 0.25, slowMs: 2_500 });
    const upserts = () => sb.hubspot.requests.filter((r) => r.route === "POST /crm/v3/objects/contacts/batch/upsert" && r.status >= 200 && r.status < 300).length;
    const jobs = () => sb.klaviyo.requests.filter((r) => r.route === "POST /api/profile-bulk-import-jobs" && r.status === 202).length;

    // 1. Killed once HubSpot has taken a few batches (Klaviyo has nothing yet: its job goes out when full).
    const first = await backfillChild(sb, file, () => upserts() >= 2);
    expect(first.signal).toBe("SIGKILL");
    const writtenAfterFirst = sb.hubspot.contacts().length;
    expect(writtenAfterFirst).toBeGreaterThan(0);
    expect(writtenAfterFirst).toBeLessThan(summaryOf(expected).synced);

    // 2. Re-run, killed right after Klaviyo accepted a bulk import job (before its events went out).
    const jobsBefore = jobs();
    const second = await backfillChild(sb, file, () => jobs() > jobsBefore);
    expect(second.signal).toBe("SIGKILL");

    // 3. Re-run, killed as soon as Klaviyo took a batch of events (it may also just finish first).
    const eventsBefore = sb.klaviyo.eventPosts().length;
    const third = await backfillChild(sb, file, () => sb.klaviyo.eventPosts().length > eventsBefore);
    expect(sb.klaviyo.eventPosts().length).toBeGreaterThan(eventsBefore);

    // 4. Re-run to completion: it sends every event again, and Klaviyo keeps the first of each unique_id.
    const fourth = await backfillChild(sb, file);
    expect(fourth.signal).toBeNull();
    const doc = JSON.parse(fourth.stdout);
    expect(doc.summary).toEqual(summaryOf(expected));
    expect(fourth.code).toBe(1);
    expectResults(doc.results, expected);
    expectFinalState(sb, expected);
    expect(sb.klaviyo.eventPosts().filter((p) => p.duplicate).length).toBeGreaterThan(0);
    expect(Object.keys(sb.hubspot.chaosStats()).length).toBeGreaterThanOrEqual(3);
    expectNoTokens(sb, [first, second, third, fourth].map((r) => r.stdout + r.stderr).join("\n"));
  }, 90_000);
});

