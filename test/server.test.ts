// The HTTP side of the durable path: /healthz, the Inngest serve handler at /api/inngest (dev mode),
// the body limit, the serve-mode guard, and the real `serve` CLI.
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { APP_ID, createFunctions, createInngest, envRuntimeProvider } from "../inngest.config.js";
import { ConfigError } from "../src/config.js";
import type { Runtime } from "../src/runtime.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { MAX_BODY_BYTES, checkServeMode, createAppServer } from "../src/server.js";
import { silentLogger } from "../src/util/log.js";
import { REPO_ROOT, runMain } from "./helpers/cli.js";

const PROFILES_DIR = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));
const EVENT = "fashionai/profile.sync.requested";
const FN_ID = `${APP_ID}-sync-profiles`;
const CAMILA = "camila.ferraz@example.com";

let sb: Sandbox;
let server: http.Server;
let base: string;
let runtime: Runtime | undefined;

async function listen(s: http.Server): Promise<string> {
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  sb = await startSandbox({ profilesDir: PROFILES_DIR });
  const inner = envRuntimeProvider(sb.env);
  const inngest = createInngest({ INNGEST_DEV: "1" });
  server = createAppServer({ inngest, functions: createFunctions(inngest, () => (runtime ??= inner())), log: silentLogger });
  base = await listen(server);
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await runtime?.close();
  await sb?.close();
});
beforeEach(() => sb.reset());

/** The body Inngest sends to execute a function (first attempt, no memoized steps). */
function executionBody(data: Record<string, unknown>) {
  const event = { name: EVENT, data, id: "01TESTEVENT", ts: Date.now() };
  return JSON.stringify({ event, events: [event], steps: {}, ctx: { run_id: "01TESTRUN", attempt: 0, stack: { stack: [], current: 0 } } });
}

function execute(data: Record<string, unknown>) {
  return fetch(`${base}/api/inngest?fnId=${FN_ID}&stepId=step`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: executionBody(data),
    signal: AbortSignal.timeout(5_000),
  });
}

describe("createAppServer (dev mode)", () => {
  it("GET /healthz answers 200 {status: ok}", async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(await res.json()).toEqual({ status: "ok" });
    expect((await fetch(`${base}/healthz?probe=1`, { method: "HEAD" })).status).toBe(200);
  });

  it("GET /api/inngest answers the SDK's introspection: dev mode, three functions and two failure handlers, no keys", async () => {
    const res = await fetch(`${base}/api/inngest`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-inngest-sdk")).toMatch(/^inngest-js:v4\./);
    // v4 lists no function ids here without a signed request, only the count.
    expect(await res.json()).toMatchObject({ mode: "dev", function_count: 5, has_signing_key: false, has_event_key: false });
  });

  it("an unknown path answers 404", async () => {
    const res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "not found" });
    expect((await fetch(`${base}/healthz`, { method: "POST" })).status).toBe(404);
  });

  it("an oversized POST to /api/inngest answers 413 without reaching the SDK", async () => {
    const res = await fetch(`${base}/api/inngest?fnId=${FN_ID}&stepId=step`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "x".repeat(MAX_BODY_BYTES + 1),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: "body too large" });
    expect(sb.fashionai.requests).toHaveLength(0);
  });

  it("an oversized chunked POST (no content-length) answers 413 too", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/api/inngest?fnId=${FN_ID}&stepId=step`, { method: "POST", headers: { "content-type": "application/json" } });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      const chunk = Buffer.alloc(256 * 1024, "x");
      for (let sent = 0; sent <= MAX_BODY_BYTES; sent += chunk.length) req.write(chunk);
      req.end();
    });
    expect(status).toBe(413);
    expect(sb.fashionai.requests).toHaveLength(0);
  });

  // The SDK reads the request body lazily; a server that consumes it first leaves the SDK with no body.
  it("a POST from Inngest runs the function: the first step executes and its output is returned", async () => {
    const res = await execute({ identifier: CAMILA });
    expect(res.status).toBe(206);
    const ops = (await res.json()) as Array<{ op: string; name: string; data: Record<string, unknown> }>;
    expect(ops).toHaveLength(1);
    // sync-profiles is batched: its fetch step holds one outcome per distinct lookup.
    expect(ops[0]).toMatchObject({ op: "StepRun", name: "fetch-profiles", data: { [`email:${CAMILA}`]: { s: "found", parsed: { profile: { userProfileId: "fp_H4C8E2KD" } } } } });
    expect(sb.fashionai.lookups().map((l) => l.value)).toEqual([CAMILA]);
  });

  it("a Fashion.AI 429 is answered to Inngest as a retriable error with its Retry-After", async () => {
    sb.fashionai.fault({ status: 429, headers: { "retry-after": "9" } });
    const res = await execute({ identifier: CAMILA });
    expect(res.status).toBe(206);
    expect(res.headers.get("x-inngest-no-retry")).toBe("false");
    expect(res.headers.get("retry-after")).toBe("9");
    expect(await res.json()).toMatchObject([{ op: "StepError", name: "fetch-profiles", error: { name: "RetryAfterError" } }]);
    expect(sb.fashionai.lookups()).toHaveLength(1);
  });

  it("a Fashion.AI 401 is answered to Inngest as a final step failure", async () => {
    sb.fashionai.fault({ status: 401 });
    const res = await execute({ identifier: CAMILA });
    expect(res.status).toBe(206);
    expect(res.headers.get("x-inngest-no-retry")).toBe("true");
    expect(await res.json()).toMatchObject([
      { op: "StepFailed", name: "fetch-profiles", error: { name: "NonRetriableError", message: expect.stringContaining("FASHIONAI_APP_TOKEN") } },
    ]);
  });

  it("a schema-invalid event ends invalid, naming the field, without failing its batch", async () => {
    // Events are checked one by one (a batch of 100 is never rejected for one bad event).
    const res = await execute({ identifier: CAMILA, by: "fax" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      summary: { requested: 1, invalid: 1 },
      results: [{ status: "invalid", reason: expect.stringMatching(/data\.by: /) }],
    });
    expect(sb.fashionai.requests).toHaveLength(0);
  });
});

describe("checkServeMode", () => {
  it("refuses cloud mode without a signing key, naming INNGEST_SIGNING_KEY", () => {
    for (const env of [{}, { INNGEST_DEV: "0" }, { INNGEST_DEV: "" }, { INNGEST_SIGNING_KEY: "" }]) {
      expect(() => checkServeMode(env), JSON.stringify(env)).toThrow(ConfigError);
      expect(() => checkServeMode(env)).toThrow(/INNGEST_SIGNING_KEY/);
    }
  });

  it('answers "dev" with INNGEST_DEV and "cloud" with a signing key', () => {
    expect(checkServeMode({ INNGEST_DEV: "1" })).toBe("dev");
    expect(checkServeMode({ INNGEST_DEV: "http://127.0.0.1:8288" })).toBe("dev");
    expect(checkServeMode({ INNGEST_SIGNING_KEY: "signkey-prod-abc" })).toBe("cloud");
    expect(checkServeMode({ INNGEST_DEV: "1", INNGEST_SIGNING_KEY: "signkey-prod-abc" })).toBe("dev");
  });
});

describe("the serve CLI", () => {
  it("refuses to start without INNGEST_SIGNING_KEY or INNGEST_DEV (exit 2)", async () => {
    const run = await runMain(["serve", "--port", "0"], { ...sb.env }); // in-process: it stops before listening
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("INNGEST_SIGNING_KEY");
    expect(run.stdout).toBe("");
  });

  it("serves in dev mode: /healthz answers, and a sync registers sync-profiles with the Dev Server", async () => {
    // A stand-in Dev Server that records the register call (INNGEST_DEV=<url> points the SDK at it).
    const registered: unknown[] = [];
    const devServer = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString("utf8")));
      req.on("end", () => {
        if (req.url?.startsWith("/fn/register")) registered.push(JSON.parse(body));
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, modified: true }));
      });
    });
    const devUrl = await listen(devServer);
    const port = await freePort();
    let child: ChildProcess | undefined;
    let stderr = "";
    try {
      child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve"], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...sb.env, INNGEST_DEV: devUrl, PORT: String(port) },
        stdio: ["ignore", "ignore", "pipe"],
      });
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
      const app = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${app}/healthz`)).status === 200, () => stderr);
      expect(stderr).toMatch(/dev mode/);

      const sync = await fetch(`${app}/api/inngest`, { method: "PUT", signal: AbortSignal.timeout(5_000) });
      expect(sync.status).toBe(200);
      expect(registered).toHaveLength(1);
      const reg = registered[0] as { appName: string; functions: Array<{ id: string; triggers: Array<{ event?: string }> }> };
      expect(reg.appName).toBe(APP_ID);
      // Each onFailure handler (dead letters) is a function of its own.
      expect(reg.functions.map((f) => f.id)).toEqual([FN_ID, `${FN_ID}-failure`, `${APP_ID}-sync-segments`, `${APP_ID}-backfill`, `${APP_ID}-backfill-failure`]);
      expect(reg.functions[0]!.triggers).toEqual([expect.objectContaining({ event: EVENT })]);
    } finally {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      devServer.closeAllConnections();
      await new Promise((resolve) => devServer.close(resolve));
    }
  });
});

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function waitFor(check: () => Promise<boolean>, describe: () => string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`server did not become healthy; stderr:\n${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
