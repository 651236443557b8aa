// The CLI as a user meets it, with only the environment given, against the loopback stand-ins. Every run is
// also checked for leaked credentials. A few runs go through the real entry point in a child process (runCli:
// demo, help, an unknown command, npm run cli, the bin entry, the --json run and the redaction run), where the
// process boundary matters (exit status, every byte on the real stdout/stderr, loading under node + tsx); the
// rest call main() in-process (runMain): the same code, environment and output, at a fraction of the cost.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWN_PROFILES_DIR } from "../src/cli/demo.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { REPO_ROOT, runCli, runMain, type CliRun } from "./helpers/cli.js";

const SAMPLE: string[] = (JSON.parse(readFileSync(join(OWN_PROFILES_DIR, "index.json"), "utf8")) as { email?: string }[])
  .map((row) => row.email)
  .filter((e): e is string => !!e);

// Credentials of the redaction run: shaped like real ones (but plainly fake, so no secret scanner flags them), and echoed back by the stand-ins' scripted faults.
const SECRET = {
  fashionai: "fai_app_7Jq2LmX9pR4sT8vW1yZ3",
  hubspot: "pat-na1-fake-token-for-redaction-tests-0001",
  klaviyo: "pk_fake_key_for_redaction_tests_0001",
};

type Env = Record<string, string | undefined>;

/** Every token any run of this file could have seen. */
const tokens = new Set<string>(Object.values(SECRET));
const sandboxes: Sandbox[] = [];

async function sandbox(opts: Parameters<typeof startSandbox>[0] = {}): Promise<Sandbox> {
  const sb = await startSandbox({ profilesDir: OWN_PROFILES_DIR, ...opts });
  sandboxes.push(sb);
  for (const name of ["FASHIONAI_APP_TOKEN", "HUBSPOT_ACCESS_TOKEN", "KLAVIYO_API_KEY"] as const) tokens.add(sb.env[name]);
  return sb;
}

function expectNoTokens(run: { stdout: string; stderr: string }): void {
  for (const token of tokens) {
    expect(run.stdout, `stdout leaks a token`).not.toContain(token);
    expect(run.stderr, `stderr leaks a token`).not.toContain(token);
  }
}

function context(run: CliRun): string {
  return `exit ${run.code}\nstdout: ${run.stdout.slice(0, 3000)}\nstderr: ${run.stderr.slice(0, 3000)}`;
}

/** runCli (child process), plus the check every run must pass: no credential in its output. */
async function cli(args: string[], env: Env = {}): Promise<CliRun> {
  const run = await runCli(args, { FASHIONAI_SYNC_RETRY_BASE_MS: "20", ...env });
  expectNoTokens(run);
  return run;
}

/** The same, in-process (runMain). */
async function inProcess(args: string[], env: Env = {}): Promise<CliRun> {
  const run = await runMain(args, { FASHIONAI_SYNC_RETRY_BASE_MS: "20", ...env });
  expectNoTokens(run);
  return run;
}

/** A usage or configuration error: exit 2, nothing on stdout, exactly one line on stderr. */
function expectOneLineError(run: CliRun, ...mentions: (string | RegExp)[]): string {
  expect(run.code, context(run)).toBe(2);
  expect(run.stdout, context(run)).toBe("");
  const lines = run.stderr.trim().split("\n");
  expect(lines, context(run)).toHaveLength(1);
  const line = lines[0]!;
  for (const m of mentions) {
    if (typeof m === "string") expect(line).toContain(m);
    else expect(line).toMatch(m);
  }
  return line;
}

/** Spawns a command other than the CLI itself (npm, the bin entry) with a minimal environment. */
function spawnRun(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME } as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

let base: Sandbox; // never written to: usage and configuration errors, which must make no API call
let quiet: Sandbox; // neither CRM configured
let mixed: Sandbox; // the --json run
let human: Sandbox; // the table run
let leaky: Sandbox; // stand-ins that echo the credentials back in their errors
let tmp: string;

beforeAll(async () => {
  base = await sandbox();
  quiet = await sandbox();
  mixed = await sandbox();
  human = await sandbox();
  leaky = await sandbox({
    fashionai: { token: SECRET.fashionai },
    hubspot: { accessToken: SECRET.hubspot },
    klaviyo: { apiKey: SECRET.klaviyo },
  });
  tmp = mkdtempSync(join(tmpdir(), "fashionai-cli-test-"));
});

afterAll(async () => {
  await Promise.all(sandboxes.map((sb) => sb.close()));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Environment with only the CRM stand-ins' base URLs, no CRM credential. */
const noCrm = (sb: Sandbox): Env => ({
  FASHIONAI_APP_TOKEN: sb.env.FASHIONAI_APP_TOKEN,
  FASHIONAI_BASE_URL: sb.env.FASHIONAI_BASE_URL,
  HUBSPOT_BASE_URL: sb.env.HUBSPOT_BASE_URL,
  KLAVIYO_BASE_URL: sb.env.KLAVIYO_BASE_URL,
});

function expectNoApiCalls(sb: Sandbox): void {
  expect(sb.fashionai.requests, "Fashion.AI was called").toHaveLength(0);
  expect(sb.hubspot.requests, "HubSpot was called").toHaveLength(0);
  expect(sb.klaviyo.requests, "Klaviyo was called").toHaveLength(0);
}

/** The `help` run, shared by the tests that compare against it. */
let helpRun: Promise<CliRun> | undefined;
const help = () => (helpRun ??= cli(["help"]));

// One suite, so that every spawn can run concurrently (vitest runs sibling suites one after another). Each spawn
// loads tsx and the SDKs (~1-2 s of CPU), so a test may wait a while for a free core when the whole suite runs.
describe("fashionai-sync CLI", { timeout: 90_000 }, () => {
  it.concurrent("`demo` exits 0, prints both CRMs' contents and the idempotent re-run", async () => {
    const run = await cli(["demo"]);
    expect(run.code, context(run)).toBe(0);
    expect(run.stdout).toContain(`requested ${SAMPLE.length}: ${SAMPLE.length} synced, 0 not found, 0 invalid, 0 failed`);
    expect(run.stdout).toContain("What HubSpot now holds");
    expect(run.stdout).toContain("What Klaviyo now holds");
    for (const email of SAMPLE) expect(run.stdout.split(email).length - 1, email).toBeGreaterThanOrEqual(3); // sync table + both CRM tables
    expect(run.stdout).toMatch(/Ran the same sync again: \d+ synced, 0 new contacts, 0 new options, 0 new Klaviyo events \(idempotent\)/);
  });

  it.concurrent("`demo --json` prints one JSON document", async () => {
    const run = await inProcess(["demo", "--json"]);
    expect(run.code, context(run)).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.report.summary).toEqual({ requested: SAMPLE.length, synced: SAMPLE.length, not_found: 0, invalid: 0, failed: 0 });
    expect(doc.crm).toHaveLength(SAMPLE.length);
    expect(doc.rerun.after).toEqual(doc.rerun.before);
  });

  it.concurrent("`help` prints the usage and exits 0", async () => {
    const run = await help();
    expect(run.code, context(run)).toBe(0);
    expect(run.stderr).toBe("");
    for (const s of ["Usage:", "fashionai-sync sync <identifier...>", "--by email|phone|document|user-profile-id", "--dry-run", "--json",
      "fashionai-sync serve", "fashionai-sync demo", "Exit codes", "FASHIONAI_APP_TOKEN"]) {
      expect(run.stdout).toContain(s);
    }
  });

  it.concurrent("no command prints the usage and exits 2", async () => {
    const run = await inProcess([]);
    expect(run.code, context(run)).toBe(2);
    expect(run.stdout + run.stderr).toContain("Usage:");
    expect(run.stdout + run.stderr).toContain("fashionai-sync sync <identifier...>");
  });

  it.concurrent("an unknown command exits 2 with a hint", async () => {
    const line = expectOneLineError(await cli(["frobnicate"]), '"frobnicate"', "fashionai-sync help");
    expect(line).toMatch(/unknown command/);
  });

  it.concurrent("an unknown flag exits 2 with a one-line hint", async () => {
    const line = expectOneLineError(await inProcess(["sync", "a@b.com", "--frobnicate"], base.env), "--frobnicate", "fashionai-sync help");
    expect(line).toMatch(/unknown option/);
    // Node's own advice about `--` is noise to a CLI user.
    expect(line).not.toMatch(/positional argument/);
  });

  it.concurrent("`--by fax` exits 2 and lists the lookups", async () => {
    expectOneLineError(await inProcess(["sync", "a@b.com", "--by", "fax"], base.env), '"fax"', "--by", "email, phone, document or user-profile-id");
  });

  it.concurrent("`--to salesforce` exits 2 and names the connectors", async () => {
    expectOneLineError(await inProcess(["sync", "a@b.com", "--to", "salesforce"], base.env), '"salesforce"', "--to", "hubspot", "klaviyo");
  });

  it.concurrent("`--email` with two identifiers exits 2", async () => {
    expectOneLineError(
      await inProcess(["sync", "5511999998888", "5511999997777", "--by", "phone", "--email", "a@b.com"], base.env),
      "--email", /one identifier/,
    );
  });

  it.concurrent("`sync` with no identifier exits 2 with an example", async () => {
    expectOneLineError(await inProcess(["sync"], base.env), "identifier", "fashionai-sync sync customer@example.com");
  });

  it.concurrent("`npm run cli -- help` is the same CLI", async () => {
    const run = await spawnRun("npm", ["run", "--silent", "cli", "--", "help"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Usage:");
    expect(run.stdout).toContain("fashionai-sync sync <identifier...>");
    expect(run.stdout).toBe((await help()).stdout);
  });

  it.concurrent("the installed bin entry (a `fashionai-sync` link, run from elsewhere) runs `help`", async () => {
    const link = join(tmp, "fashionai-sync");
    symlinkSync(join(REPO_ROOT, "bin", "fashionai-sync.mjs"), link);
    const run = await spawnRun(process.execPath, [link, "help"], { cwd: tmp });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Usage:");
    expect(run.stdout).toContain("fashionai-sync sync <identifier...>");
  });

  it.concurrent("missing FASHIONAI_APP_TOKEN exits 2 naming it", async () => {
    expectOneLineError(await inProcess(["sync", "a@b.com"], { ...base.env, FASHIONAI_APP_TOKEN: undefined }), "FASHIONAI_APP_TOKEN");
  });

  it.concurrent("a malformed FASHIONAI_BASE_URL exits 2 naming it", async () => {
    expectOneLineError(await inProcess(["sync", "a@b.com"], { ...base.env, FASHIONAI_BASE_URL: "catalog.api.fashionaiale.com/api" }), "FASHIONAI_BASE_URL");
  });

  it.concurrent("`--to klaviyo` with only HubSpot configured exits 2 naming KLAVIYO_API_KEY", async () => {
    expectOneLineError(await inProcess(["sync", SAMPLE[0]!, "--to", "klaviyo"], { ...base.env, KLAVIYO_API_KEY: undefined }), "KLAVIYO_API_KEY");
  });

  it.concurrent("neither CRM configured exits 2 naming both variables and --dry-run", async () => {
    expectOneLineError(await inProcess(["sync", SAMPLE[0]!], noCrm(quiet)), "HUBSPOT_ACCESS_TOKEN", "KLAVIYO_API_KEY", "--dry-run");
  });

  it.concurrent("neither CRM configured with --dry-run plans for both and writes nothing", async () => {
    const run = await inProcess(["sync", SAMPLE[0]!, "--dry-run", "--json"], noCrm(quiet));
    expect(run.code, context(run)).toBe(0);
    const doc = run.json;
    expect(doc, context(run)).toBeDefined();
    expect(doc.summary).toEqual({ requested: 1, synced: 1, not_found: 0, invalid: 0, failed: 0 });
    const [result] = doc.results;
    expect(result.status).toBe("synced");
    expect(Object.keys(result.connectors).sort()).toEqual(["hubspot", "klaviyo"]);
    const { hubspot, klaviyo } = result.connectors;
    expect(hubspot.status).toBe("planned");
    expect(klaviyo.status).toBe("planned");
    expect(hubspot.properties.fashionai_user_profile_id).toEqual(expect.any(String));
    expect(hubspot.properties.fashionai_tom_de_voz).toEqual(expect.any(String)); // option values joined by ;
    expect(klaviyo.properties.fashionai_tom_de_voz).toEqual(expect.any(Array)); // labels
    expect(Object.keys(hubspot.properties).every((k) => k.startsWith("fashionai_"))).toBe(true);
  });

  // ---------------------------------------------------------------------------------- sync output

  it.concurrent("--json: one document of the documented shape on stdout, logs on stderr, exit 1 when some are invalid", async () => {
    const ids = [...SAMPLE, "nobody@example.com", "not-an-email"];
    const run = await cli(["sync", ...ids, "--json"], mixed.env);
    expect(run.code, context(run)).toBe(1);

    // Exactly one JSON document: the whole of stdout parses; every log line went to stderr.
    const doc = JSON.parse(run.stdout);
    expect(run.stdout.trimStart().startsWith("{")).toBe(true);
    expect(run.stderr).toMatch(/"level":"info"/);
    expect(run.stderr).not.toContain('"summary"');

    expect(Object.keys(doc).sort()).toEqual(["results", "summary"]);
    expect(doc.summary).toEqual({ requested: ids.length, synced: SAMPLE.length, not_found: 1, invalid: 1, failed: 0 });
    const s = doc.summary;
    expect(s.synced + s.not_found + s.invalid + s.failed).toBe(s.requested);

    expect(doc.results.map((r: { identifier: string }) => r.identifier)).toEqual(ids);
    for (const r of doc.results) {
      expect(r).toMatchObject({ identifier: expect.any(String), by: "email", status: expect.any(String), warnings: expect.any(Array) });
    }
    for (const r of doc.results.slice(0, SAMPLE.length)) {
      expect(r.status, JSON.stringify(r).slice(0, 500)).toBe("synced");
      for (const name of ["hubspot", "klaviyo"] as const) {
        expect(r.connectors[name].status).toBe("written");
        expect(r.connectors[name].properties.fashionai_user_profile_id).toEqual(expect.any(String));
      }
      expect(r.connectors.hubspot.properties.fashionai_tom_de_voz).toEqual(expect.any(String));
      expect(r.connectors.klaviyo.properties.fashionai_tom_de_voz).toEqual(expect.any(Array));
      // What the report says was written is what HubSpot holds.
      const contact = mixed.hubspot.contact(r.identifier);
      expect(contact?.properties.fashionai_tom_de_voz).toBe(r.connectors.hubspot.properties.fashionai_tom_de_voz);
    }
    const notFound = doc.results[SAMPLE.length];
    expect(notFound).toMatchObject({ identifier: "nobody@example.com", by: "email", status: "not_found", reason: "no Fashion.AI profile" });
    const invalid = doc.results[SAMPLE.length + 1];
    expect(invalid).toMatchObject({ identifier: "not-an-email", by: "email", status: "invalid", reason: expect.stringMatching(/email/) });

    // not_found leaves the CRM untouched; invalid is decided before any API call.
    expect(mixed.hubspot.contact("nobody@example.com")).toBeUndefined();
    expect(mixed.klaviyo.profile("nobody@example.com")).toBeUndefined();
    expect(mixed.fashionai.lookups().map((l) => l.value)).not.toContain("not-an-email");
    expect(mixed.hubspot.contacts()).toHaveLength(SAMPLE.length);
  });

  it.concurrent("human output: a table and the summary line; all synced exits 0", async () => {
    const ids = SAMPLE.slice(0, 2);
    const run = await inProcess(["sync", ...ids], human.env);
    expect(run.code, context(run)).toBe(0);
    expect(run.json).toBeUndefined();
    const lines = run.stdout.split("\n");
    expect(lines[0]).toMatch(/^identifier\s+status\s+hubspot\s+klaviyo\s+details$/);
    expect(lines[1]).toMatch(/^─+(\s+─+)+$/);
    for (const id of ids) expect(lines.find((l) => l.startsWith(id)), run.stdout).toMatch(/\ssynced\s+written(\s\+event)?\s+written/);
    expect(run.stdout).toContain(`requested ${ids.length}: ${ids.length} synced, 0 not found, 0 invalid, 0 failed`);
    expect(run.stderr).not.toContain("requested ");
    for (const id of ids) expect(human.hubspot.contact(id)).toBeDefined();
  });

  it.concurrent("credentials echoed back by an API are redacted everywhere", async () => {
    const [withFashionAiEcho, withCrmEchoes] = SAMPLE as [string, string];
    leaky.fashionai.fault({
      path: `/protected/profile/email/${encodeURIComponent(withFashionAiEcho)}`, status: 500, times: Infinity,
      body: { error: "Internal Server Error", message: `upstream rejected X-FashionAI-APP-Token ${SECRET.fashionai}` },
    });
    leaky.hubspot.fault({
      method: "POST", path: "/crm/v3/objects/contacts/batch/upsert", status: 400, times: Infinity,
      body: { status: "error", category: "VALIDATION_ERROR", correlationId: "c0ffee",
        message: `Invalid request from token ${SECRET.hubspot} (Authorization: Bearer ${SECRET.hubspot})` },
    });
    leaky.klaviyo.fault({
      method: "POST", path: "/api/profile-import", status: 400, times: Infinity,
      body: { errors: [{ id: "e1", status: 400, code: "invalid", title: "Invalid input.",
        detail: `request signed with Klaviyo-API-Key ${SECRET.klaviyo} was rejected`, source: { pointer: "/data/" } }] },
    });
    const run = await cli(["sync", withFashionAiEcho, withCrmEchoes, "--json"], { ...leaky.env, FASHIONAI_SYNC_RETRY_ATTEMPTS: "2" });
    expect(run.code, context(run)).toBe(1);
    expect(run.json?.summary, context(run)).toMatchObject({ requested: 2, failed: 2 });
    // The echoes did reach the output, as [redacted].
    expect(run.stdout).toContain("[redacted]");
    for (const secret of Object.values(SECRET)) {
      expect(run.stdout).not.toContain(secret);
      expect(run.stderr).not.toContain(secret);
    }
    // The stand-ins did answer with the secret in the body (the test is not vacuous).
    expect(leaky.hubspot.requests.some((r) => r.injected === "fault")).toBe(true);
    expect(leaky.fashionai.requests.some((r) => r.injected === "fault")).toBe(true);
  });
});

describe("afterwards", () => {
  it("usage and configuration errors made no API call", () => {
    expectNoApiCalls(base);
  });

  it("the dry run only read Fashion.AI: nothing was written to either CRM", () => {
    expect(quiet.hubspot.requests).toHaveLength(0);
    expect(quiet.klaviyo.requests).toHaveLength(0);
    expect(quiet.hubspot.contacts()).toHaveLength(0);
    expect(quiet.klaviyo.profiles()).toHaveLength(0);
    expect(quiet.fashionai.lookups().map((l) => l.value)).toEqual([SAMPLE[0]]);
  });
});
