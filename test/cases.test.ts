// Every case in ../shared/cases, run through the real CLI (child process) against the stand-ins.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { normalizeEmail } from "../src/identifiers.js";
import { runCli } from "./helpers/cli.js";
import { specProblems } from "./helpers/openapi.js";
import { HAS_SHARED, SHARED_DIR, SKIP_SHARED_REASON } from "./helpers/shared.js";

interface Case {
  file: string;
  name: string;
  by: "email" | "phone" | "document" | "user-profile-id";
  identifier: string;
  email?: string;
  lookup: string | null;
  responses: unknown[];
  expect: {
    status?: string;
    statusIn?: string[];
    exitCode?: number;
    hubspot?: Record<string, string>;
    klaviyo?: Record<string, unknown>;
    hubspotAbsent?: string[];
    klaviyoAbsent?: string[];
    hubspotMaxLen?: Record<string, number>;
    hubspotCount?: Record<string, number>;
    hubspotEmail?: string;
    klaviyoEvent?: string;
    writes?: number;
    fetches?: number;
    minDelayMs?: number;
    warnings?: boolean;
    stderrMentions?: string;
  };
}

function loadCases(): Case[] {
  if (!HAS_SHARED) return [];
  const dir = join(SHARED_DIR, "cases");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, ...JSON.parse(readFileSync(join(dir, file), "utf8")) }));
}

const cases = loadCases();

// Each case spawns the CLI (loading tsx and both SDKs, ~3 s of CPU): on a small machine they queue for a core.
describe.skipIf(!HAS_SHARED)(`shared cases through the CLI${HAS_SHARED ? "" : ` (${SKIP_SHARED_REASON})`}`, { timeout: 90_000 }, () => {
  const sandboxes = new Map<string, Sandbox>();

  beforeAll(async () => {
    for (const c of cases) sandboxes.set(c.file, await startSandbox());
  });
  afterAll(async () => {
    await Promise.all([...sandboxes.values()].map((s) => s.close()));
  });

  // Skipped on purpose: without ../shared there is no case to list, and this one skipped entry says so in
  // the report instead of the file running no test at all.
  if (cases.length === 0) it.skip("every case of ../shared/cases", () => {});

  it.concurrent.each(cases.map((c) => [c.file, c] as const))("%s", async (_file, c) => {
    const sb = sandboxes.get(c.file)!;
    if (c.lookup !== null) sb.fashionai.script(c.by, c.lookup, c.responses as never);
    const args = ["sync", c.identifier, "--by", c.by, "--json", ...(c.email ? ["--email", c.email] : [])];
    const run = await runCli(args, { ...sb.env, FASHIONAI_SYNC_RETRY_BASE_MS: "50" });
    const ex = c.expect;
    const context = `${c.name}\nstdout: ${run.stdout.slice(0, 2000)}\nstderr: ${run.stderr.slice(0, 2000)}`;

    const expectedStatus = ex.status ?? ex.statusIn?.[0];
    const defaultExit = expectedStatus === "synced" || expectedStatus === "not_found" ? 0 : 1;
    expect(run.code, context).toBe(ex.exitCode ?? defaultExit);

    const report = run.json;
    expect(report, context).toBeDefined();
    const { summary, results } = report;
    expect(results).toHaveLength(1);
    expect(summary.requested).toBe(1);
    expect(summary.synced + summary.not_found + summary.invalid + summary.failed).toBe(1);
    const result = results[0];
    if (ex.status) expect(result.status, context).toBe(ex.status);
    if (ex.statusIn) expect(ex.statusIn, context).toContain(result.status);
    if (result.status !== "synced") expect(typeof result.reason, context).toBe("string");

    const crmEmail = normalizeEmail(c.by === "email" ? c.identifier : (c.email ?? "")).ok
      ? (normalizeEmail(c.by === "email" ? c.identifier : c.email!) as { value: string }).value
      : undefined;
    const contact = crmEmail ? sb.hubspot.contact(crmEmail) : undefined;
    const kprops = crmEmail ? sb.klaviyo.profile(crmEmail) : undefined;

    if (ex.hubspot) for (const [k, v] of Object.entries(ex.hubspot)) expect(contact?.properties[k], `${c.name}: hubspot ${k}`).toBe(v);
    if (ex.klaviyo) for (const [k, v] of Object.entries(ex.klaviyo)) expect(kprops?.[k], `${c.name}: klaviyo ${k}`).toEqual(v);
    for (const k of ex.hubspotAbsent ?? []) expect(contact?.properties[k] ?? null, `${c.name}: hubspot ${k} absent`).toBeNull();
    for (const k of ex.klaviyoAbsent ?? []) expect(kprops?.[k], `${c.name}: klaviyo ${k} absent`).toBeUndefined();
    for (const [k, max] of Object.entries(ex.hubspotMaxLen ?? {})) {
      const value = contact?.properties[k];
      expect(typeof value, `${c.name}: hubspot ${k} written`).toBe("string");
      expect((value as string).length).toBeLessThanOrEqual(max);
    }
    for (const [k, n] of Object.entries(ex.hubspotCount ?? {})) {
      expect(String(contact?.properties[k] ?? "").split(";").filter(Boolean)).toHaveLength(n);
    }
    if (ex.hubspotEmail) expect(sb.hubspot.contact(ex.hubspotEmail), `${c.name}: contact ${ex.hubspotEmail}`).toBeDefined();
    if (ex.klaviyoEvent) {
      expect(sb.klaviyo.events().map((e) => e.metric), `${c.name}: klaviyo event`).toContain(ex.klaviyoEvent);
    }
    if (ex.writes === 0) {
      expect(sb.hubspot.contacts(), `${c.name}: no HubSpot contact`).toHaveLength(0);
      expect(sb.klaviyo.profiles(), `${c.name}: no Klaviyo profile`).toHaveLength(0);
      expect(sb.klaviyo.eventPosts(), `${c.name}: no Klaviyo event`).toHaveLength(0);
    }
    const lookups = sb.fashionai.lookups();
    if (c.lookup === null) expect(lookups, `${c.name}: no profile call`).toHaveLength(0);
    else for (const l of lookups) expect(l.value, `${c.name}: lookup sent`).toBe(c.lookup);
    if (ex.fetches !== undefined) expect(lookups).toHaveLength(ex.fetches);
    if (ex.minDelayMs !== undefined) {
      expect(lookups.length).toBeGreaterThanOrEqual(2);
      expect(lookups.at(-1)!.at - lookups[0]!.at).toBeGreaterThanOrEqual(ex.minDelayMs);
    }
    if (ex.warnings) expect(result.warnings.length, `${c.name}: warnings`).toBeGreaterThan(0);
    if (ex.stderrMentions) expect(run.stderr).toContain(ex.stderrMentions);

    // No token ever printed.
    for (const token of [sb.env.FASHIONAI_APP_TOKEN, sb.env.HUBSPOT_ACCESS_TOKEN, sb.env.KLAVIYO_API_KEY]) {
      expect(run.stdout + run.stderr).not.toContain(token);
    }
    // What we sent is what the vendors publish.
    expect(await specProblems("hubspot", sb.hubspot.requests)).toEqual([]);
    expect(await specProblems("klaviyo", sb.klaviyo.requests)).toEqual([]);
  });
});
