// `setup`: HubSpot schema, HubSpot lists and Klaviyo segments, run through the real CLI (child process, once)
// and in-process (main) against the loopback stand-ins, after syncing the sample profiles (the project's own,
// plus the ten shared ones of ../shared/fixtures/profiles when present). Every request body is checked
// against the vendors' OpenAPI documents.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HubSpotLists } from "../connectors/hubspot/lists.js";
import { createHubSpotClient } from "../connectors/hubspot/client.js";
import { KlaviyoSegments } from "../connectors/klaviyo/segments.js";
import { NOVO_SEGMENT_NAME, TONE_SEGMENT_PREFIX, segmentSpecs, type SegmentSpec } from "../connectors/shared/segments.js";
import { main } from "../src/cli/main.js";
import { loadConfig } from "../src/config.js";
import { slugify, toOptions } from "../src/mapping/text.js";
import { runSync } from "../src/pipeline/sync.js";
import { createRuntime } from "../src/runtime.js";
import { startSandbox, type RecordedRequest, type Sandbox } from "../src/sandbox/index.js";
import { readSegmentCap, type SetupReport } from "../src/segments/setup.js";
import { silentLogger } from "../src/util/log.js";
import { Pacer, parseRate } from "../src/util/pacer.js";
import { runCli, runMain } from "./helpers/cli.js";
import { specProblems } from "./helpers/openapi.js";
import { HAS_SHARED, SHARED_DIR } from "./helpers/shared.js";

const OWN_DIR = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
const DIRS = [OWN_DIR, ...(HAS_SHARED ? [`${SHARED_DIR}/fixtures/profiles`] : [])];

/** The samples as the tests expect them, read straight from the fixture files. */
interface Sample {
  email: string;
  tones: Map<string, string>; // option value → label
  novo: boolean;
}

function readSamples(): Sample[] {
  return DIRS.flatMap((dir) =>
    (JSON.parse(readFileSync(`${dir}/index.json`, "utf8")) as Array<{ file: string; email: string }>).map((e) => {
      const body = JSON.parse(readFileSync(`${dir}/${e.file}`, "utf8")) as { profile?: Record<string, Record<string, unknown>> };
      const raw = body.profile?.briefing_marketing?.tom_de_voz;
      const novo = body.profile?.momento_compra_atual?.novo_comportamento;
      const options = toOptions(Array.isArray(raw) ? raw.filter((x): x is string => typeof x === "string") : [], { lowercase: true }).options;
      return { email: e.email, tones: new Map(options.map((o) => [o.value, o.label])), novo: novo === true || String(novo).toLowerCase() === "true" };
    }),
  );
}

const SAMPLES = readSamples();
const TONES = new Map<string, string>();
for (const s of SAMPLES) for (const [v, l] of s.tones) if (!TONES.has(v)) TONES.set(v, l);
const toneName = (value: string) => TONE_SEGMENT_PREFIX + TONES.get(value)!;
const withTone = (value: string) => SAMPLES.filter((s) => s.tones.has(value)).map((s) => s.email).sort();
const novoEmails = SAMPLES.filter((s) => s.novo).map((s) => s.email).sort();

let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({ profilesDir: OWN_DIR });
});
afterAll(async () => {
  await sb?.close();
});

const env = (extra: Record<string, string> = {}) => ({ ...sb.env, FASHIONAI_KLAVIYO_SEGMENT_RATE: "off", FASHIONAI_SYNC_RETRY_BASE_MS: "20", ...extra });
const writes = (reqs: readonly RecordedRequest[]) => reqs.filter((r) => r.method !== "GET");
const listCreates = () => sb.hubspot.requests.filter((r) => r.method === "POST" && r.path === "/crm/v3/lists");
const segmentWrites = () => sb.klaviyo.requests.filter((r) => (r.method === "POST" || r.method === "PATCH") && r.path.startsWith("/api/segments"));
const io = (e: Record<string, string | undefined>) => {
  const out = { stdout: "", stderr: "" };
  return { out, io: { env: e, stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) } };
};

/** A clean account, then every sample synced into both CRMs; traffic so far forgotten. */
async function freshSynced(): Promise<void> {
  sb.reset();
  for (const dir of DIRS.slice(1)) sb.fashionai.loadProfilesFromDir(dir);
  const runtime = createRuntime(loadConfig(env()), { log: silentLogger });
  try {
    const report = await runSync(SAMPLES.map((s) => ({ identifier: s.email })), runtime.deps);
    expect(report.summary.synced).toBe(SAMPLES.length);
  } finally {
    await runtime.close();
  }
  sb.hubspot.clearRequests();
  sb.klaviyo.clearRequests();
}

async function expectRequestsMatchSpecs(): Promise<void> {
  expect(await specProblems("hubspot", sb.hubspot.requests.filter((r) => !r.injected))).toEqual([]);
  expect(await specProblems("klaviyo", sb.klaviyo.requests.filter((r) => !r.injected))).toEqual([]);
}

describe("setup after syncing the samples", () => {
  beforeAll(freshSynced);

  it(`creates exactly one HubSpot list and one Klaviyo segment per distinct tone (${TONES.size}) plus Novo comportamento`, async () => {
    const run = await runCli(["setup", "--json"], env());
    expect(run.stderr).not.toContain(sb.env.HUBSPOT_ACCESS_TOKEN);
    expect(run.code).toBe(0);
    const report = run.json as SetupReport;
    expect(report.summary).toMatchObject({ created: 2 * (TONES.size + 1), conflicts: 0, failed: 0, unchanged: 0, pastCap: 0 });
    expect(report.tones.total).toBe(TONES.size);
    expect(report.tones.pastCap).toEqual([]);

    const names = [NOVO_SEGMENT_NAME, ...[...TONES.keys()].map(toneName)].sort();
    expect(sb.hubspot.lists().map((l) => l.name).sort()).toEqual(names);
    expect(sb.klaviyo.segments().map((s) => s.name).sort()).toEqual(names);
    expect(listCreates()).toHaveLength(TONES.size + 1);
    expect(segmentWrites()).toHaveLength(TONES.size + 1);

    // Each list is DYNAMIC on contacts, filtered on exactly its option; each segment on its label.
    for (const [value, label] of TONES) {
      const list = sb.hubspot.list(toneName(value))!;
      expect(list).toMatchObject({ processingType: "DYNAMIC", objectTypeId: "0-1" });
      const filter = (list.filterBranch as any).filterBranches[0].filters[0];
      expect(filter).toMatchObject({ filterType: "PROPERTY", property: "fashionai_tom_de_voz", operation: { operationType: "ENUMERATION", operator: "IS_ANY_OF", values: [value] } });
      const segment = sb.klaviyo.segment(toneName(value))!;
      expect(segment.definition.condition_groups).toEqual([{ conditions: [
        { type: "profile-property", property: "properties['fashionai_tom_de_voz']", filter: { type: "list", operator: "contains", value: label } },
      ] }]);
      // Same people in both CRMs, and exactly the samples with that tone.
      expect(sb.hubspot.listMembers(toneName(value))).toEqual(withTone(value));
      expect(sb.klaviyo.segmentMembers(toneName(value))).toEqual(withTone(value));
    }
    expect(sb.hubspot.listMembers(NOVO_SEGMENT_NAME)).toEqual(novoEmails);
    expect(sb.klaviyo.segmentMembers(NOVO_SEGMENT_NAME)).toEqual(novoEmails);
    await expectRequestsMatchSpecs();
  });

  it("a second setup creates nothing and says every segment is unchanged", async () => {
    sb.hubspot.clearRequests();
    sb.klaviyo.clearRequests();
    const run = await runMain(["setup"], env());
    expect(run.code).toBe(0);
    expect(listCreates()).toHaveLength(0);
    expect(segmentWrites()).toHaveLength(0);
    expect(writes(sb.hubspot.requests)).toHaveLength(0); // schema already complete: no option added either
    expect(run.stdout).toContain(`hubspot: 0 created, 0 updated, ${TONES.size + 1} unchanged, 0 conflicts, 0 failed`);
    expect(run.stdout).toContain(`klaviyo: 0 created, 0 updated, ${TONES.size + 1} unchanged, 0 conflicts, 0 failed`);
    expect(run.stdout).toContain("HubSpot schema: unchanged");
    expect(sb.hubspot.lists()).toHaveLength(TONES.size + 1);
    expect(sb.klaviyo.segments()).toHaveLength(TONES.size + 1);
  });
});

describe("setup --dry-run", () => {
  beforeEach(freshSynced);

  it("prints the plan and writes nothing", async () => {
    const run = await runMain(["setup", "--dry-run", "--json"], env());
    expect(run.code).toBe(0);
    const report = run.json as SetupReport;
    expect(report.dryRun).toBe(true);
    expect(report.summary).toMatchObject({ would_create: 2 * (TONES.size + 1), created: 0 });
    expect(report.segments.every((s) => s.status === "would_create")).toBe(true);
    expect(writes(sb.hubspot.requests)).toEqual([]);
    expect(writes(sb.klaviyo.requests)).toEqual([]);
    expect(sb.hubspot.lists()).toEqual([]);
    expect(sb.klaviyo.segments()).toEqual([]);
    await expectRequestsMatchSpecs();
  });

  it("on an empty account plans the group and properties too, still without writing", async () => {
    sb.reset();
    const { out, io: cliIo } = io(env());
    expect(await main(["setup", "--dry-run"], cliIo)).toBe(0);
    expect(out.stdout).toMatch(/Dry run — nothing is written/);
    expect(out.stdout).toMatch(/HubSpot schema: group fashionai would be created; 16 properties would be created/);
    expect(out.stdout).toMatch(/hubspot\s+Fashion\.AI - Novo comportamento\s+would create/);
    expect(writes(sb.hubspot.requests)).toEqual([]);
    expect(writes(sb.klaviyo.requests)).toEqual([]);
    expect(sb.hubspot.group("fashionai")).toBeUndefined();
  });
});

describe("the cap on tone segments", () => {
  beforeEach(freshSynced);

  it("--cap N creates N tone segments per CRM and lists every value past the cap", async () => {
    const run = await runMain(["setup", "--cap", "2", "--json"], env());
    expect(run.code).toBe(0);
    const report = run.json as SetupReport;
    expect(report.cap).toBe(2);
    expect(sb.hubspot.lists()).toHaveLength(3);
    expect(sb.klaviyo.segments()).toHaveLength(3);
    expect(report.tones.segmented).toHaveLength(2);
    expect(report.tones.pastCap.map((t) => t.value).sort()).toEqual([...TONES.keys()].filter((v) => !report.tones.segmented.some((s) => s.value === v)).sort());
    expect(report.summary.pastCap).toBe(TONES.size - 2);
    expect(report.warnings.join("\n")).toContain("past the cap of 2");
    // HubSpot's display order decides: the first options created keep their place under the cap.
    const order = sb.hubspot.property("fashionai_tom_de_voz")!.options.sort((a, b) => a.displayOrder - b.displayOrder).map((o) => o.value);
    expect(report.tones.segmented.map((t) => t.value)).toEqual(order.slice(0, 2));
  });

  it("FASHIONAI_SEGMENT_CAP sets it from the environment; the human output names the values left out", async () => {
    const { out, io: cliIo } = io(env({ FASHIONAI_SEGMENT_CAP: "1" }));
    expect(await main(["setup"], cliIo)).toBe(0);
    expect(sb.klaviyo.segments()).toHaveLength(2);
    expect(out.stdout).toContain(`Past the cap of 1`);
    const left = [...TONES.values()].filter((l) => !sb.klaviyo.segments().some((s) => s.name === TONE_SEGMENT_PREFIX + l));
    expect(left).toHaveLength(TONES.size - 1);
    for (const label of left) expect(out.stdout).toContain(`  ${label}`);
  });

  it("a bad cap is a usage or configuration error (exit 2)", async () => {
    expect(readSegmentCap({})).toBe(50);
    expect(readSegmentCap({ FASHIONAI_SEGMENT_CAP: "7" })).toBe(7);
    expect(readSegmentCap({ FASHIONAI_SEGMENT_CAP: "7" }, "3")).toBe(3);
    expect(() => readSegmentCap({ FASHIONAI_SEGMENT_CAP: "lots" })).toThrow(/FASHIONAI_SEGMENT_CAP must be a whole number/);
    const { out, io: cliIo } = io(env());
    expect(await main(["setup", "--cap", "-1"], cliIo)).toBe(2);
    expect(await main(["setup", "--cap", "501"], cliIo)).toBe(2);
    expect(out.stderr).toMatch(/--cap must be a whole number from 0 to 500/);
    expect(writes(sb.hubspot.requests)).toEqual([]);
  });
});

describe("conflicts", () => {
  beforeEach(freshSynced);

  it("a list or segment that exists with another filter is reported, never replaced; the rest is created", async () => {
    const [firstTone] = [...TONES.keys()];
    const otherFilter = {
      filterBranchType: "OR", filterBranchOperator: "OR", filters: [],
      filterBranches: [{ filterBranchType: "AND", filterBranchOperator: "AND", filterBranches: [], filters: [
        { filterType: "PROPERTY", property: "lifecyclestage", operation: { operationType: "ENUMERATION", operator: "IS_ANY_OF", values: ["customer"], includeObjectsWithNoValueSet: false } },
      ] }],
    };
    sb.hubspot.addList({ name: NOVO_SEGMENT_NAME, filterBranch: otherFilter });
    sb.hubspot.addList({ name: toneName(firstTone!), processingType: "MANUAL" });
    const handMade = { condition_groups: [{ conditions: [
      { type: "profile-property", property: "properties['fashionai_tom_de_voz']", filter: { type: "list", operator: "contains", value: TONES.get(firstTone!) } },
      { type: "profile-property", property: "email", filter: { type: "string", operator: "ends-with", value: "@example.com" } },
    ] }] };
    sb.klaviyo.addSegment({ name: toneName(firstTone!), definition: handMade });

    const run = await runMain(["setup", "--json"], env());
    expect(run.code).toBe(1);
    const report = run.json as SetupReport;
    const conflicts = report.segments.filter((s) => s.status === "conflict");
    expect(conflicts.map((c) => `${c.crm} ${c.name}`).sort()).toEqual(
      [`hubspot ${NOVO_SEGMENT_NAME}`, `hubspot ${toneName(firstTone!)}`, `klaviyo ${toneName(firstTone!)}`].sort());
    expect(conflicts.find((c) => c.crm === "hubspot" && c.name === NOVO_SEGMENT_NAME)!.reason).toMatch(/lifecyclestage IS_ANY_OF \["customer"\].*expected fashionai_novo_comportamento IS_EQUAL_TO true/);
    expect(conflicts.find((c) => c.crm === "hubspot" && c.name !== NOVO_SEGMENT_NAME)!.reason).toMatch(/a MANUAL list already has this name/);
    expect(conflicts.find((c) => c.crm === "klaviyo")!.reason).toMatch(/email ends-with/);
    expect(report.summary).toMatchObject({ conflicts: 3, created: 2 * (TONES.size + 1) - 3, failed: 0 });
    // Left exactly as they were.
    expect(sb.hubspot.list(NOVO_SEGMENT_NAME)!.filterBranch).toEqual(otherFilter);
    expect(sb.klaviyo.segment(toneName(firstTone!))!.definition).toEqual(handMade);
    expect(sb.hubspot.lists()).toHaveLength(TONES.size + 1);
    expect(sb.klaviyo.segments()).toHaveLength(TONES.size + 1);
    expect(segmentWrites().filter((r) => r.method === "PATCH")).toEqual([]);
  });
});

describe("vendor limits", () => {
  beforeEach(freshSynced);

  it("waits out a 429's Retry-After on list and segment creation", async () => {
    sb.hubspot.fault({ method: "POST", path: "/crm/v3/lists", status: 429, headers: { "retry-after": "1" } });
    sb.klaviyo.fault({ method: "POST", path: "/api/segments", status: 429, headers: { "retry-after": "1" } });
    const { io: cliIo } = io(env());
    expect(await main(["setup", "--cap", "1"], cliIo)).toBe(0);
    for (const reqs of [listCreates(), segmentWrites()]) {
      expect(reqs[0]).toMatchObject({ status: 429, injected: "fault" });
      expect(reqs[1]!.status).toBeLessThan(300);
      expect(reqs[1]!.at - reqs[0]!.at).toBeGreaterThanOrEqual(950);
    }
    expect(sb.hubspot.lists()).toHaveLength(2);
    expect(sb.klaviyo.segments()).toHaveLength(2);
    await expectRequestsMatchSpecs();
  });

  it("a run stopped by rate limits mid-way is resumed by the next run: nothing duplicated, nothing missing", async () => {
    const lift = [
      sb.hubspot.rateLimit({ limit: 3, windowMs: 86_400_000, method: "POST", path: "/crm/v3/lists", policyName: "DAILY" }),
      sb.klaviyo.limitSegmentWrites({ perDay: 4 }),
    ];
    const failedRun = io(env({ FASHIONAI_SYNC_RETRY_ATTEMPTS: "1" }));
    expect(await main(["setup", "--json"], failedRun.io)).toBe(1);
    const first = JSON.parse(failedRun.out.stdout) as SetupReport;
    expect(first.summary.byCrm.hubspot).toMatchObject({ created: 3, failed: TONES.size + 1 - 3 });
    expect(first.summary.byCrm.klaviyo).toMatchObject({ created: 4, failed: TONES.size + 1 - 4 });
    expect(first.segments.filter((s) => s.status === "failed").at(-1)!.reason).toMatch(/not attempted: Klaviyo kept answering 429; rerun setup later to resume/);
    expect(sb.hubspot.lists()).toHaveLength(3);
    expect(sb.klaviyo.segments()).toHaveLength(4);

    for (const l of lift) l();
    const rerun = io(env());
    expect(await main(["setup", "--json"], rerun.io)).toBe(0);
    const second = JSON.parse(rerun.out.stdout) as SetupReport;
    expect(second.summary.byCrm.hubspot).toMatchObject({ created: TONES.size + 1 - 3, unchanged: 3, failed: 0 });
    expect(second.summary.byCrm.klaviyo).toMatchObject({ created: TONES.size + 1 - 4, unchanged: 4, failed: 0 });
    const names = [NOVO_SEGMENT_NAME, ...[...TONES.keys()].map(toneName)].sort();
    expect(sb.hubspot.lists().map((l) => l.name).sort()).toEqual(names);
    expect(sb.klaviyo.segments().map((s) => s.name).sort()).toEqual(names);
  });

  it("a create whose answer was lost is found by name on the retry, not made twice", async () => {
    const config = loadConfig(env());
    const common = { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 10 }, timeoutMs: 5_000, log: silentLogger };
    const specs = segmentSpecs([], 0).specs;
    const spec = specs[0] as SegmentSpec;

    const lists = new HubSpotLists(createHubSpotClient(config.hubspot!), common);
    const listsApi = (lists as unknown as { client: { crm: { lists: { listsApi: { create: (...a: unknown[]) => Promise<unknown> } } } } }).client.crm.lists.listsApi;
    const realCreate = listsApi.create.bind(listsApi);
    let dropped = 0;
    listsApi.create = async (...args: unknown[]) => {
      const res = await realCreate(...args);
      if (dropped++ === 0) throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
      return res;
    };
    await expect(lists.ensure(spec, { dryRun: false })).resolves.toMatchObject({ status: "created", reason: expect.stringMatching(/found on retry/) });
    expect(sb.hubspot.lists()).toHaveLength(1);

    const segments = new KlaviyoSegments({ ...config.klaviyo!, ...common, writeRate: [] });
    const realSegment = segments.segments.createSegment.bind(segments.segments);
    let lost = 0;
    segments.segments.createSegment = (async (...args: Parameters<typeof realSegment>) => {
      const res = await realSegment(...args);
      if (lost++ === 0) throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
      return res;
    }) as typeof realSegment;
    await expect(segments.ensure(spec, { dryRun: false })).resolves.toMatchObject({ status: "created" });
    expect(sb.klaviyo.segments()).toHaveLength(1);
  });

  it("Klaviyo segment writes are paced to 1/s and 15/min by default", async () => {
    expect(parseRate("1/s,15/m", "X")).toEqual([{ count: 1, windowMs: 1000 }, { count: 15, windowMs: 60_000 }]);
    expect(parseRate("off", "X")).toEqual([]);
    expect(() => parseRate("fast", "FASHIONAI_KLAVIYO_SEGMENT_RATE")).toThrow(/FASHIONAI_KLAVIYO_SEGMENT_RATE must look like/);
    let now = 0;
    const waits: number[] = [];
    const pacer = new Pacer(parseRate("1/s,15/m", "X"), { now: () => now, sleep: async (ms) => void (waits.push(ms), (now += ms)) });
    const at: number[] = [];
    for (let i = 0; i < 17; i++) {
      await pacer.take();
      at.push(now);
    }
    expect(at.slice(0, 15)).toEqual(Array.from({ length: 15 }, (_, i) => i * 1000));
    expect(at[15]).toBe(60_000); // the 16th waits for the first to leave the minute
    expect(at[16]).toBe(61_000);
  });
});

describe("Klaviyo without HubSpot", () => {
  beforeEach(freshSynced);

  const klaviyoOnly = () => {
    const { HUBSPOT_ACCESS_TOKEN: _t, HUBSPOT_BASE_URL: _u, ...rest } = env();
    return rest;
  };

  it("reads the tone values from the Klaviyo profiles; every spelling of an option goes into its segment", async () => {
    const [value] = [...TONES.keys()];
    const variant = `${TONES.get(value!)!.toUpperCase()}!`; // same slug, another spelling
    expect(slugify(variant.toLocaleLowerCase("pt-BR"))).toBe(value);
    sb.klaviyo.addProfile("variant@example.com", { fashionai_tom_de_voz: [variant] });
    sb.klaviyo.addProfile("zen@example.com", { fashionai_tom_de_voz: ["Zen"] });

    const first = io(klaviyoOnly());
    expect(await main(["setup", "--json"], first.io)).toBe(0);
    const report = JSON.parse(first.out.stdout) as SetupReport;
    expect(report.tones.sources).toEqual({ hubspot: false, klaviyo: true });
    expect(report.targets).toEqual(["klaviyo"]);
    expect(sb.hubspot.requests).toEqual([]);
    expect(sb.klaviyo.segments()).toHaveLength(TONES.size + 2);
    expect(sb.klaviyo.segmentMembers(TONE_SEGMENT_PREFIX + "zen")).toEqual(["zen@example.com"]);
    const labels = sb.klaviyo.segment(toneName(value!))!.definition.condition_groups[0]!.conditions.map((c) => (c.filter as { value: string }).value);
    expect(labels).toEqual([TONES.get(value!), variant]); // as stored, the usual spelling first
    expect(sb.klaviyo.segmentMembers(toneName(value!))).toEqual([...withTone(value!), "variant@example.com"].sort());

    // A spelling seen later is added to the segment (an update), nothing is created.
    sb.klaviyo.addProfile("later@example.com", { fashionai_tom_de_voz: [`  ${TONES.get(value!)} . `] });
    sb.klaviyo.clearRequests();
    const again = io(klaviyoOnly());
    expect(await main(["setup", "--json"], again.io)).toBe(0);
    const second = JSON.parse(again.out.stdout) as SetupReport;
    expect(second.summary).toMatchObject({ created: 0, updated: 1, unchanged: TONES.size + 1 });
    expect(second.segments.find((s) => s.status === "updated")!.reason).toMatch(/adds the spelling/);
    expect(segmentWrites().map((r) => r.method)).toEqual(["PATCH"]);
    expect(sb.klaviyo.segmentMembers(toneName(value!))).toContain("later@example.com");
    await expectRequestsMatchSpecs();
  });
});

describe("configuration and usage", () => {
  beforeAll(freshSynced);

  it("a wrong HubSpot token stops setup with exit 2 naming the variable, without printing the token", async () => {
    const bad = "pat-na1-wrong-token-123456";
    const { out, io: cliIo } = io(env({ HUBSPOT_ACCESS_TOKEN: bad }));
    expect(await main(["setup"], cliIo)).toBe(2);
    expect(out.stderr).toMatch(/configuration error: HubSpot rejected the credential in HUBSPOT_ACCESS_TOKEN/);
    expect(out.stderr + out.stdout).not.toContain(bad);
  });

  it("needs at least one CRM, even for a dry run, but no Fashion.AI token", async () => {
    const { out, io: cliIo } = io({ FASHIONAI_APP_TOKEN: undefined });
    expect(await main(["setup", "--dry-run"], cliIo)).toBe(2);
    expect(out.stderr).toMatch(/no CRM is configured/);
    const { FASHIONAI_APP_TOKEN: _t, ...noFashionAi } = env();
    const { io: okIo } = io({ ...noFashionAi, KLAVIYO_API_KEY: undefined, KLAVIYO_BASE_URL: undefined });
    expect(await main(["setup", "--dry-run"], okIo)).toBe(0);
    const { out: out2, io: toIo } = io({ ...noFashionAi, KLAVIYO_API_KEY: undefined });
    expect(await main(["setup", "--to", "klaviyo"], toIo)).toBe(2);
    expect(out2.stderr).toMatch(/--to klaviyo needs KLAVIYO_API_KEY/);
  });

  it("is in the help text", async () => {
    const { out, io: cliIo } = io({});
    expect(await main(["help"], cliIo)).toBe(0);
    expect(out.stdout).toMatch(/fashionai-sync setup \[--to hubspot,klaviyo\] \[--dry-run\] \[--json\] \[--cap N\]/);
  });
});
