// POST /webhooks/hubspot: HubSpot's v3 signature (checked against an independent HMAC of the documented
// string), the five-minute window, the URI decoding, 401 for anything unsigned, stale or tampered, the body
// limit, and contact notifications turned into sync requests — in-process and through the real `serve`.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createInngest } from "../inngest.config.js";
import { profileSyncRequestedSchema } from "../src/inngest/events.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { createAppServer, OTHER_MAX_BODY_BYTES } from "../src/server.js";
import { createHubSpotClient } from "../connectors/hubspot/client.js";
import { silentLogger } from "../src/util/log.js";
import {
  HUBSPOT_WEBHOOK_PATH, MAX_SIGNATURE_AGE_MS, WEBHOOK_MAX_BODY_BYTES, createHubSpotWebhookHandler, hubspotEmailLookup,
  signatureUri, verifyHubSpotV3, type SyncRequestEvent,
} from "../src/webhooks/hubspot.js";
import { REPO_ROOT } from "./helpers/cli.js";

const SECRET = "hubspot-client-secret-0123456789";

/** The documented v3 signature, computed here independently of the module under test. */
function oracle(secret: string, method: string, decodedUri: string, body: string, timestamp: string): string {
  return createHmac("sha256", secret).update(method + decodedUri + body + timestamp, "utf8").digest("base64");
}

describe("verifyHubSpotV3", () => {
  const uri = "https://sync.example.com/webhooks/hubspot";
  const body = '[{"objectId":1,"subscriptionType":"contact.creation"}]';
  const now = 1_790_000_000_000;
  const ts = String(now - 1_000);
  const sig = oracle(SECRET, "POST", uri, body, ts);
  const check = (o: Partial<Parameters<typeof verifyHubSpotV3>[0]>) =>
    verifyHubSpotV3({ secret: SECRET, method: "POST", uri, body, signature: sig, timestamp: ts, now, ...o });

  it("accepts the signature HubSpot computes (HMAC-SHA256 of method + URI + body + timestamp, base64)", () => {
    expect(check({})).toEqual({ ok: true });
  });

  it("rejects an unsigned request, a tampered body, method, URI or timestamp, and another secret", () => {
    expect(check({ signature: undefined })).toEqual({ ok: false, reason: "unsigned" });
    expect(check({ timestamp: undefined })).toEqual({ ok: false, reason: "unsigned" });
    expect(check({ body: body.replace("1", "2") })).toEqual({ ok: false, reason: "bad signature" });
    expect(check({ method: "PUT" })).toEqual({ ok: false, reason: "bad signature" });
    expect(check({ uri: uri.replace("https", "http") })).toEqual({ ok: false, reason: "bad signature" });
    expect(check({ uri: uri + "/" })).toEqual({ ok: false, reason: "bad signature" });
    expect(check({ timestamp: String(now - 2_000) })).toEqual({ ok: false, reason: "bad signature" });
    expect(check({ secret: SECRET + "x" })).toEqual({ ok: false, reason: "bad signature" });
    expect(check({ signature: "garbage" })).toEqual({ ok: false, reason: "bad signature" });
    expect(check({ signature: sig.slice(0, -4) })).toEqual({ ok: false, reason: "bad signature" });
    expect(check({ signature: "" })).toEqual({ ok: false, reason: "unsigned" });
  });

  it("accepts a timestamp up to five minutes old, rejects older (and as far in the future, or not a number)", () => {
    const at = (age: number) => {
      const t = String(now - age);
      return check({ timestamp: t, signature: oracle(SECRET, "POST", uri, body, t) });
    };
    expect(at(MAX_SIGNATURE_AGE_MS - 1)).toEqual({ ok: true });
    expect(at(MAX_SIGNATURE_AGE_MS + 1)).toEqual({ ok: false, reason: "stale" });
    expect(at(60 * 60 * 1000)).toEqual({ ok: false, reason: "stale" });
    expect(at(-(MAX_SIGNATURE_AGE_MS + 1))).toEqual({ ok: false, reason: "stale" });
    expect(check({ timestamp: "1790000000000.5" })).toEqual({ ok: false, reason: "stale" });
    expect(check({ timestamp: "soon" })).toEqual({ ok: false, reason: "stale" });
  });

  it("decodes exactly the characters HubSpot lists in the URI, in either case, and keeps every other encoding", () => {
    expect(signatureUri("https://h.example.com/webhooks/hubspot?a=%3A%2F%3F%40%21%24%27%28%29%2A%2C%3B"))
      .toBe("https://h.example.com/webhooks/hubspot?a=:/?@!$'()*,;");
    expect(signatureUri("https://h.example.com/w?x=%3a%2f%40")).toBe("https://h.example.com/w?x=:/@");
    expect(signatureUri("https://h.example.com/w?x=a%20b%26c%3Dd%25")).toBe("https://h.example.com/w?x=a%20b%26c%3Dd%25");
    // So a request signed over the decoded form verifies when it arrives encoded.
    const encoded = "https://h.example.com/webhooks/hubspot?portal=%40acme%3Bprod&q=a%20b";
    const t = String(now);
    const s = oracle(SECRET, "POST", "https://h.example.com/webhooks/hubspot?portal=@acme;prod&q=a%20b", body, t);
    expect(verifyHubSpotV3({ secret: SECRET, method: "POST", uri: encoded, body, signature: s, timestamp: t, now })).toEqual({ ok: true });
  });
});

// ------------------------------------------------------------------------------------- through the server

let sb: Sandbox;
let server: http.Server;
let base: string;
let sent: SyncRequestEvent[][];
let sendFails = false;

async function listen(s: http.Server): Promise<string> {
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  sb = await startSandbox();
  const inngest = createInngest({ INNGEST_DEV: "1" });
  const hubspotWebhook = createHubSpotWebhookHandler({
    secret: SECRET,
    log: silentLogger,
    send: async (events) => {
      if (sendFails) throw new Error("Inngest unreachable");
      sent.push(events);
    },
    lookupEmails: hubspotEmailLookup(createHubSpotClient({ baseUrl: sb.env.HUBSPOT_BASE_URL, token: sb.env.HUBSPOT_ACCESS_TOKEN })),
  });
  server = createAppServer({ inngest, functions: [], log: silentLogger, hubspotWebhook });
  base = await listen(server);
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await sb?.close();
});
beforeEach(() => {
  sb.reset();
  sent = [];
  sendFails = false;
});

/** A delivery as HubSpot sends it: signed over the URL it calls (here http://127.0.0.1:PORT/webhooks/hubspot). */
function deliver(notifications: unknown, opts: { ts?: number; sign?: (body: string, ts: string) => string | undefined; body?: string; headers?: Record<string, string>; path?: string } = {}) {
  const body = opts.body ?? JSON.stringify(notifications);
  const ts = String(opts.ts ?? Date.now());
  const path = opts.path ?? HUBSPOT_WEBHOOK_PATH;
  const signature = opts.sign ? opts.sign(body, ts) : oracle(SECRET, "POST", signatureUri(`${base}${path}`), body, ts);
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-hubspot-request-timestamp": ts,
      ...(signature !== undefined ? { "x-hubspot-signature-v3": signature } : {}),
      ...opts.headers,
    },
    body,
  });
}

const note = (n: Record<string, unknown>) => ({ eventId: 1, subscriptionId: 7, portalId: 62515, appId: 54321, occurredAt: 1_790_000_000_000, attemptNumber: 0, changeSource: "CRM", ...n });

describe("POST /webhooks/hubspot", () => {
  it("turns contact creations and email changes into one sync request per contact; ignores the rest", async () => {
    const ana = sb.hubspot.addContact("ana@example.com");
    const bia = sb.hubspot.addContact("bia@example.com");
    const res = await deliver([
      note({ subscriptionType: "contact.creation", objectId: Number(ana.id), eventId: 11 }),
      note({ subscriptionType: "contact.propertyChange", objectId: Number(bia.id), propertyName: "email", propertyValue: "bia.new@example.com", eventId: 12 }),
      note({ subscriptionType: "contact.propertyChange", objectId: Number(bia.id), propertyName: "fashionai_tom_de_voz", propertyValue: "x", eventId: 13 }),
      note({ subscriptionType: "contact.propertyChange", objectId: Number(ana.id), propertyName: "firstname", propertyValue: "Ana", eventId: 14, occurredAt: 1_790_000_000_500 }),
      note({ subscriptionType: "deal.creation", objectId: 999, eventId: 15 }),
      note({ subscriptionType: "contact.creation", objectId: 424242, eventId: 16 }), // deleted since: no email
    ]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 6, queued: 2, ignored: 3 });
    expect(sent).toHaveLength(1);
    const byEmail = Object.fromEntries(sent[0]!.map((e) => [e.data.identifier, e]));
    expect(Object.keys(byEmail).sort()).toEqual(["ana@example.com", "bia.new@example.com"]);
    expect(byEmail["ana@example.com"]).toEqual({
      id: `hubspot-62515-${ana.id}-1790000000500`, name: "fashionai/profile.sync.requested",
      data: { identifier: "ana@example.com", by: "email", reason: "hubspot contact.propertyChange firstname" },
    });
    expect(byEmail["bia.new@example.com"]!.data.reason).toBe("hubspot contact.propertyChange email");
    for (const e of sent[0]!) expect(profileSyncRequestedSchema.safeParse(e.data).success).toBe(true);
    // The email change needed no read; the others one batch read in all.
    const reads = sb.hubspot.requests.filter((r) => r.path.endsWith("/contacts/batch/read"));
    expect(reads).toHaveLength(1);
    expect((reads[0]!.body as { inputs: Array<{ id: string }> }).inputs.map((i) => i.id).sort()).toEqual([ana.id, "424242"].sort());
  });

  it("a redelivery of the same notifications gives the same event ids (Inngest drops the repeat)", async () => {
    const ana = sb.hubspot.addContact("ana@example.com");
    const body = [note({ subscriptionType: "contact.creation", objectId: Number(ana.id) })];
    await deliver(body);
    await deliver({}, { body: JSON.stringify([{ ...body[0], attemptNumber: 1 }]) });
    expect(sent.map((s) => s.map((e) => e.id))).toEqual([[`hubspot-62515-${ana.id}-1790000000000`], [`hubspot-62515-${ana.id}-1790000000000`]]);
  });

  it("401 for unsigned, stale, future-dated, tampered or wrongly signed requests; nothing is read or sent", async () => {
    const ana = sb.hubspot.addContact("ana@example.com");
    const body = [note({ subscriptionType: "contact.creation", objectId: Number(ana.id) })];
    const cases = [
      await deliver(body, { sign: () => undefined }),
      await deliver(body, { ts: Date.now() - MAX_SIGNATURE_AGE_MS - 5_000 }),
      await deliver(body, { ts: Date.now() + MAX_SIGNATURE_AGE_MS + 5_000 }),
      await deliver(body, { sign: (b, ts) => oracle(SECRET, "POST", `${base}${HUBSPOT_WEBHOOK_PATH}`, b.replace("contact", "kontact"), ts) }),
      await deliver(body, { sign: (b, ts) => oracle("another-secret", "POST", `${base}${HUBSPOT_WEBHOOK_PATH}`, b, ts) }),
      await deliver(body, { sign: (b, ts) => oracle(SECRET, "POST", `https://evil.example.com${HUBSPOT_WEBHOOK_PATH}`, b, ts) }),
      await deliver(body, { sign: (b, ts) => oracle(SECRET, "POST", `${base}${HUBSPOT_WEBHOOK_PATH}`, b, ts).toLowerCase() }),
    ];
    for (const res of cases) {
      expect(res.status).toBe(401);
      expect(JSON.stringify(await res.json())).not.toContain(SECRET);
    }
    expect(sent).toHaveLength(0);
    expect(sb.hubspot.requests).toHaveLength(0);
  });

  it("the signed URL includes the query string as HubSpot called it (decoded per HubSpot's table)", async () => {
    const ana = sb.hubspot.addContact("ana@example.com");
    const path = `${HUBSPOT_WEBHOOK_PATH}?portal=%40acme%3Aprod&x=a%20b`;
    const body = [note({ subscriptionType: "contact.creation", objectId: Number(ana.id) })];
    const ok = await deliver(body, { path, sign: (b, ts) => oracle(SECRET, "POST", `${base}${HUBSPOT_WEBHOOK_PATH}?portal=@acme:prod&x=a%20b`, b, ts) });
    expect(ok.status).toBe(200);
    const undecoded = await deliver(body, { path, sign: (b, ts) => oracle(SECRET, "POST", `${base}${path}`, b, ts) });
    expect(undecoded.status).toBe(401);
  });

  it("behind a proxy: the URL is rebuilt from X-Forwarded-Proto/Host", async () => {
    const ana = sb.hubspot.addContact("ana@example.com");
    const body = [note({ subscriptionType: "contact.creation", objectId: Number(ana.id) })];
    const res = await deliver(body, {
      headers: { "x-forwarded-proto": "https", "x-forwarded-host": "sync.example.com" },
      sign: (b, ts) => oracle(SECRET, "POST", `https://sync.example.com${HUBSPOT_WEBHOOK_PATH}`, b, ts),
    });
    expect(res.status).toBe(200);
  });

  it("400 for a signed body that is not a JSON array; 503 (HubSpot redelivers) when HubSpot or Inngest fails", async () => {
    expect((await deliver({}, { body: '{"not":"an array"}' })).status).toBe(400);
    const ana = sb.hubspot.addContact("ana@example.com");
    const body = [note({ subscriptionType: "contact.creation", objectId: Number(ana.id) })];
    sb.hubspot.fault({ path: "/crm/v3/objects/contacts/batch/read", status: 503 });
    expect((await deliver(body)).status).toBe(503);
    expect(sent).toHaveLength(0);
    sendFails = true;
    expect((await deliver(body)).status).toBe(503);
  });

  it("a body past 1 MB is refused with 413 (declared or chunked); GET is 405", async () => {
    const big = "x".repeat(WEBHOOK_MAX_BODY_BYTES + 10);
    expect((await deliver({}, { body: big })).status).toBe(413);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}${HUBSPOT_WEBHOOK_PATH}`, { method: "POST", headers: { "transfer-encoding": "chunked" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      for (let i = 0; i < 20; i++) req.write("y".repeat(64 * 1024));
      req.end();
    });
    expect(chunked).toBe(413);
    expect((await fetch(`${base}${HUBSPOT_WEBHOOK_PATH}`)).status).toBe(405);
    expect(sent).toHaveLength(0);
  });

  it("every other path has a body limit too (413)", async () => {
    const body = "z".repeat(OTHER_MAX_BODY_BYTES + 1);
    expect((await fetch(`${base}/healthz`, { method: "POST", body })).status).toBe(413);
    expect((await fetch(`${base}/anything`, { method: "PUT", body })).status).toBe(413);
  });
});

describe("without HUBSPOT_CLIENT_SECRET", () => {
  let bare: http.Server;
  afterEach(async () => {
    bare?.closeAllConnections();
    await new Promise((resolve) => bare?.close(resolve));
  });
  it("the webhook path answers 404 and says how to enable it", async () => {
    bare = createAppServer({ inngest: createInngest({ INNGEST_DEV: "1" }), functions: [], log: silentLogger });
    const url = await listen(bare);
    const res = await fetch(`${url}${HUBSPOT_WEBHOOK_PATH}`, { method: "POST", body: "[]" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: expect.stringContaining("HUBSPOT_CLIENT_SECRET") });
  });
});

describe("the serve CLI with HUBSPOT_CLIENT_SECRET", () => {
  it("verifies a signed delivery and sends the sync request to Inngest; refuses an unsigned one", async () => {
    // A stand-in Inngest Dev Server that records sent events (INNGEST_DEV=<url> points the SDK at it).
    const received: Array<{ name: string; id?: string; data: Record<string, unknown> }> = [];
    const devServer = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString("utf8")));
      req.on("end", () => {
        if (req.url?.startsWith("/e/")) {
          const events = JSON.parse(body);
          received.push(...(Array.isArray(events) ? events : [events]));
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ids: received.map((_, i) => `ev${i}`), status: 200 }));
          return;
        }
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true }));
      });
    });
    const devUrl = await listen(devServer);
    const port = await freePort();
    const ana = sb.hubspot.addContact("ana@example.com");
    let child: ChildProcess | undefined;
    let stderr = "";
    try {
      child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve"], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...sb.env, INNGEST_DEV: devUrl, PORT: String(port), HUBSPOT_CLIENT_SECRET: SECRET },
        stdio: ["ignore", "ignore", "pipe"],
      });
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
      const app = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        if (await fetch(`${app}/healthz`).then((r) => r.status === 200, () => false)) break;
        if (i > 150) throw new Error(`serve did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(stderr).toContain(HUBSPOT_WEBHOOK_PATH);
      const body = JSON.stringify([note({ subscriptionType: "contact.creation", objectId: Number(ana.id) })]);
      const ts = String(Date.now());
      const post = (signature?: string) => fetch(`${app}${HUBSPOT_WEBHOOK_PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hubspot-request-timestamp": ts, ...(signature ? { "x-hubspot-signature-v3": signature } : {}) },
        body,
      });
      expect((await post()).status).toBe(401);
      const ok = await post(oracle(SECRET, "POST", `${app}${HUBSPOT_WEBHOOK_PATH}`, body, ts));
      expect(ok.status).toBe(200);
      expect(received).toEqual([expect.objectContaining({ name: "fashionai/profile.sync.requested", data: expect.objectContaining({ identifier: "ana@example.com", by: "email" }) })]);
      expect(stderr).not.toContain(SECRET);
      expect(stderr).not.toContain(sb.env.HUBSPOT_ACCESS_TOKEN);
    } finally {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      devServer.closeAllConnections();
      await new Promise((resolve) => devServer.close(resolve));
    }
  }, 30_000);
});

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}
