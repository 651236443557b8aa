// Structured logs: JSON lines on stderr (or human lines on a terminal), with record / connector / step /
// outcome fields, quiet per record by default, and never a token.
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger, formatHuman, withFields } from "../src/util/log.js";
import { clearSecretsForTests, registerSecret } from "../src/util/redact.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { runCli, runMain } from "./helpers/cli.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
const CAMILA = "camila.ferraz@example.com";
const GUSTAVO = "gustavo.teixeira@example.com";

function capture(opts: Parameters<typeof createLogger>[0] = {}) {
  const lines: string[] = [];
  const log = createLogger({ json: true, level: "info", ...opts, write: (l) => lines.push(l) });
  return { log, lines };
}

describe("createLogger", () => {
  afterEach(() => clearSecretsForTests());

  it("writes one JSON object per line with level, time, msg and the fields", () => {
    const { log, lines } = capture();
    log.info("record synced", { record: "a@example.com", connector: "hubspot", step: "write", outcome: "written", n: 2 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    const o = JSON.parse(lines[0]!);
    expect(o).toMatchObject({ level: "info", msg: "record synced", record: "a@example.com", connector: "hubspot", step: "write", outcome: "written", n: 2 });
    expect(Date.parse(o.time)).not.toBeNaN();
    expect(o).not.toHaveProperty("pid");
    expect(o).not.toHaveProperty("hostname");
  });

  it("honours the level (LOG_LEVEL by default) and 'silent'", () => {
    const info = capture();
    info.log.debug("hidden");
    info.log.warn("shown");
    expect(info.lines.map((l) => JSON.parse(l).msg)).toEqual(["shown"]);
    const debug = capture({ level: undefined, env: { LOG_LEVEL: "debug" } });
    debug.log.debug("now shown");
    expect(debug.lines).toHaveLength(1);
    const silent = capture({ level: undefined, env: { LOG_LEVEL: "silent" } });
    silent.log.error("nothing");
    expect(silent.lines).toEqual([]);
  });

  it("redacts registered secrets in the message, fields, nested objects and error stacks", () => {
    const secret = "pat-na1-fake-token-for-logging-tests-0001";
    registerSecret(secret);
    const { log, lines } = capture({ level: "debug" });
    log.info(`token ${secret}`, { token: secret, nested: { deep: [secret] } });
    log.error("boom", { err: new Error(`upstream said ${secret}`) });
    log.warn("header", { header: "Authorization: Bearer abcdefgh12345678" });
    const human = createLogger({ json: false, write: (l) => lines.push(l) });
    human.warn(`human ${secret}`, { token: secret });
    for (const line of lines) expect(line).not.toContain(secret);
    expect(lines.join("\n")).not.toContain("abcdefgh12345678");
    expect(lines.join("\n")).toContain("[redacted]");
    expect(JSON.parse(lines[1]!).err.stack).toContain("[redacted]");
  });

  it("human lines: time, level, message, then record/connector/step/outcome first", () => {
    const line = formatHuman(JSON.stringify({
      level: "warn", time: "2025-01-31T12:03:04.000Z", msg: "record failed", reason: "HubSpot said no", outcome: "failed",
      record: "a@example.com", step: "record",
    }));
    expect(line).toBe('12:03:04 WARN  record failed  record=a@example.com step=record outcome=failed reason="HubSpot said no"');
    expect(formatHuman("not json")).toBe("not json");
    const lines: string[] = [];
    createLogger({ json: false, write: (l) => lines.push(l) }).info("hello", { connector: "klaviyo" });
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d INFO  hello  connector=klaviyo$/);
  });

  it("LOG_FORMAT chooses JSON or human lines whatever stderr is", () => {
    const a: string[] = [];
    createLogger({ env: { LOG_FORMAT: "json" }, write: (l) => a.push(l) }).info("x");
    expect(() => JSON.parse(a[0]!)).not.toThrow();
    const b: string[] = [];
    createLogger({ env: { LOG_FORMAT: "pretty" }, write: (l) => b.push(l) }).info("x");
    expect(() => JSON.parse(b[0]!)).toThrow();
  });

  it("withFields adds fields to every line; the call's own fields win", () => {
    const { log, lines } = capture();
    const child = withFields(log, { record: "r1", connector: "hubspot" });
    child.info("one", { connector: "klaviyo" });
    expect(JSON.parse(lines[0]!)).toMatchObject({ record: "r1", connector: "klaviyo" });
  });
});

describe("the CLI's logs", () => {
  const SECRET = {
    fashionai: "fai_app_LOGTEST_9pR4sT8vW1yZ3",
    hubspot: "pat-na1-logtest-91f4-4a3b-8e6d-2c7f1a9b3e5d",
    klaviyo: "pk_logtest_1b7d3e6f0a5b8c2d9e1f7a3b",
  };
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({
      profilesDir: FIXTURES,
      fashionai: { token: SECRET.fashionai }, hubspot: { accessToken: SECRET.hubspot }, klaviyo: { apiKey: SECRET.klaviyo },
    });
  });
  afterAll(() => sb.close());

  const parse = (stderr: string) => stderr.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

  it("every stderr line is JSON; per-record lines at debug carry record/step/outcome; no token anywhere", async () => {
    // The CRM echoes the token back in an error: the failed record's reason must still not carry it.
    sb.hubspot.fault({
      method: "POST", path: "/crm/v3/objects/contacts/batch/upsert", status: 400, times: Infinity,
      body: { status: "error", category: "VALIDATION_ERROR", correlationId: "c0ffee", message: `bad token ${SECRET.hubspot}` },
    });
    const run = await runCli(["sync", CAMILA, "nobody@example.com", "not-an-email", "--json"], {
      ...sb.env, LOG_LEVEL: "debug", FASHIONAI_SYNC_RETRY_BASE_MS: "5",
    });
    sb.hubspot.clearFaults();
    expect(run.code, run.stderr).toBe(1);
    for (const token of Object.values(SECRET)) {
      expect(run.stderr).not.toContain(token);
      expect(run.stdout).not.toContain(token);
    }
    const lines = parse(run.stderr);
    for (const l of lines) expect(l).toMatchObject({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) });
    const records = lines.filter((l) => l.step === "record");
    expect(records.map((l) => [l.record, l.outcome, l.level])).toEqual([
      [CAMILA, "failed", "warn"],
      ["nobody@example.com", "not_found", "debug"],
      ["not-an-email", "invalid", "debug"],
    ]);
    expect(String(records[0]!.reason)).toContain("[redacted]");
    expect(lines.some((l) => l.connector === "hubspot" && l.step === "write")).toBe(true);
    expect(lines.filter((l) => l.step === "run")).toHaveLength(1);
  });

  it("at the default level a sync logs its counts, not one line per record", async () => {
    const run = await runMain(["sync", CAMILA, GUSTAVO, "--json"], { ...sb.env, LOG_LEVEL: "info" });
    expect(run.code, run.stderr).toBe(0);
    const lines = parse(run.stderr);
    expect(lines.filter((l) => l.step === "record")).toEqual([]);
    const run1 = lines.find((l) => l.step === "run")!;
    expect(run1).toMatchObject({ level: "info", msg: "sync finished", outcome: "done", requested: 2, synced: 2 });
    for (const token of Object.values(SECRET)) expect(run.stderr).not.toContain(token);
  });

  it("LOG_FORMAT=pretty gives human lines", async () => {
    const run = await runMain(["sync", GUSTAVO, "--json"], { ...sb.env, LOG_FORMAT: "pretty" });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^\d\d:\d\d:\d\d INFO  sync finished  step=run outcome=done/m);
  });
});
