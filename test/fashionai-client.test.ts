import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setImmediate as tick } from "node:timers/promises";
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SyncError } from "../src/errors.js";
import { FashionAiClient } from "../src/fashionai/client.js";
import { normalizeIdentifier } from "../src/identifiers.js";

const TOKEN = "fai_test_TOKEN_s3cr3t_value";
const PROFILE = {
  userProfileId: "fp_7Q2K9M1A",
  profile: {
    perfil_cliente: { descricao_geral: "Mulher de 30-40 anos", estilo_geral: "Minimalista" },
    briefing_marketing: { tom_de_voz: ["sereno"] },
    momento_compra_atual: { novo_comportamento: "TRUE" },
  },
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let origin: string;
let handler: Handler;
let seen: IncomingMessage[];
let connections: number;
let client: FashionAiClient;
const messages: string[] = [];

function json(status: number, body: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };
}

async function failure(p: Promise<unknown>): Promise<SyncError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SyncError);
    const e = err as SyncError;
    expect(e.service).toBe("fashionai");
    messages.push(e.message, inspect(e, { depth: 5 }));
    return e;
  }
  throw new Error("expected the request to fail");
}

function lookup(c: FashionAiClient = client) {
  return c.fetchProfile("email", "ana@example.com");
}

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  seen = [];
  connections = 0;
  handler = json(200, PROFILE);
  client = new FashionAiClient({ baseUrl: `${origin}/api/v1/crm`, token: TOKEN, timeoutMs: 2000 });
});

afterEach(async () => {
  server.closeAllConnections();
  await client.close();
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  // Every message and inspected error produced in this file, token-free.
  expect(messages.length).toBeGreaterThan(10);
  for (const m of messages) expect(m).not.toContain(TOKEN);
});

describe("request", () => {
  it("sends the exact path and headers, never Authorization", async () => {
    await lookup();
    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    expect(req.method).toBe("GET");
    expect(req.url).toBe("/api/v1/crm/protected/profile/email/ana%40example.com");
    expect(req.headers["x-fashionai-app-token"]).toBe(TOKEN);
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers.accept).toBe("application/json");
    expect(req.headers.authorization).toBeUndefined();
    expect(req.rawHeaders).toContain("X-FashionAI-APP-Token");
  });

  it("percent-encodes the identifier as one path segment", async () => {
    const doc = "a/b?c#d%e f";
    await client.fetchProfile("document", doc);
    const email = normalizeIdentifier("email", "Cliente.Um+promo@Example.COM");
    expect(email.ok).toBe(true);
    if (email.ok) await client.fetchProfile("email", email.value);
    await client.fetchProfile("user-profile-id", "..");
    expect(seen.map((r) => r.url)).toEqual([
      "/api/v1/crm/protected/profile/document/a%2Fb%3Fc%23d%25e%20f",
      "/api/v1/crm/protected/profile/email/cliente.um%2Bpromo%40example.com",
      "/api/v1/crm/protected/profile/user-profile-id/%2E%2E",
    ]);
  });

  it("joins a base URL with a trailing slash or no path", async () => {
    const slash = new FashionAiClient({ baseUrl: `${origin}/api/v1/crm//`, token: TOKEN });
    const bare = new FashionAiClient({ baseUrl: origin, token: TOKEN });
    try {
      await slash.fetchProfile("phone", "5511987654321");
      await bare.fetchProfile("phone", "5511987654321");
    } finally {
      await Promise.all([slash.close(), bare.close()]);
    }
    expect(seen.map((r) => r.url)).toEqual([
      "/api/v1/crm/protected/profile/phone/5511987654321",
      "/protected/profile/phone/5511987654321",
    ]);
  });

  it("rejects a bad base URL or an empty token without echoing the token", () => {
    expect(() => new FashionAiClient({ baseUrl: "ftp://x", token: TOKEN })).toThrow(/FASHIONAI_BASE_URL/);
    expect(() => new FashionAiClient({ baseUrl: "not a url", token: TOKEN })).toThrow(/FASHIONAI_BASE_URL/);
    expect(() => new FashionAiClient({ baseUrl: origin, token: " " })).toThrow(/FASHIONAI_APP_TOKEN/);
    try {
      new FashionAiClient({ baseUrl: origin, token: `${TOKEN}\r\nX-Evil: 1` });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/FASHIONAI_APP_TOKEN/);
      expect((err as Error).message).not.toContain(TOKEN);
    }
  });
});

describe("200 bodies", () => {
  it("parses a profile", async () => {
    const r = await lookup();
    expect(r.profile.userProfileId).toBe("fp_7Q2K9M1A");
    expect(r.profile.profile.momento_compra_atual?.novo_comportamento).toBe(true);
    expect(r.warnings).toEqual([]);
  });

  it("accepts BOM-prefixed JSON", async () => {
    handler = json(200, `\uFEFF${JSON.stringify(PROFILE)}`);
    expect((await lookup()).profile.userProfileId).toBe("fp_7Q2K9M1A");
  });

  it("treats an HTML page as transient", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html><body>Gateway maintenance</body></html>");
    };
    const e = await failure(lookup());
    expect(e.kind).toBe("transient");
    expect(e.message).toMatch(/not JSON.*Gateway maintenance/);
  });

  it("treats a JSON array as transient", async () => {
    handler = json(200, [PROFILE]);
    expect((await failure(lookup())).kind).toBe("transient");
  });

  it("treats JSON without a profile as transient", async () => {
    handler = json(200, { userProfileId: "fp_1" });
    const e = await failure(lookup());
    expect(e.kind).toBe("transient");
    expect(e.message).toContain('"profile" is missing');
  });
});

describe("error statuses", () => {
  it("401 is an auth error naming the variable", async () => {
    handler = json(401, { error: "Unauthorized", message: "Invalid or missing authentication token" });
    const e = await failure(lookup());
    expect(e).toMatchObject({ kind: "auth", status: 401, retryable: false });
    expect(e.message).toContain("FASHIONAI_APP_TOKEN");
  });

  it("403 is an auth error", async () => {
    handler = json(403, { error: "Forbidden", message: "nope" });
    const e = await failure(lookup());
    expect(e).toMatchObject({ kind: "auth", status: 403 });
    expect(e.message).toContain("403");
  });

  it("404 is not_found", async () => {
    handler = json(404, { error: "Not Found", message: "Profile not found" });
    const e = await failure(lookup());
    expect(e).toMatchObject({ kind: "not_found", status: 404, message: "no Fashion.AI profile" });
  });

  it("429 carries Retry-After in seconds", async () => {
    handler = json(429, { error: "Too Many Requests", message: "slow down" }, { "retry-after": "2" });
    const e = await failure(lookup());
    expect(e).toMatchObject({ kind: "rate_limited", status: 429, retryAfterMs: 2000, retryable: true });
  });

  it("429 carries Retry-After as an HTTP date", async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    handler = json(429, { error: "Too Many Requests" }, { "retry-after": at });
    const e = await failure(lookup());
    expect(e.kind).toBe("rate_limited");
    expect(e.retryAfterMs).toBeGreaterThanOrEqual(27_000);
    expect(e.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it("429 without Retry-After leaves the wait to the retry loop", async () => {
    handler = json(429, {});
    const e = await failure(lookup());
    expect(e.kind).toBe("rate_limited");
    expect(e.retryAfterMs).toBeUndefined();
  });

  it("500 is transient and quotes the API's message", async () => {
    handler = json(500, { error: "Internal Server Error", message: "database unavailable" });
    const e = await failure(lookup());
    expect(e).toMatchObject({ kind: "transient", status: 500 });
    expect(e.message).toContain("database unavailable");
  });

  it("503 with an HTML body and 408 are transient", async () => {
    handler = (_req, res) => {
      res.writeHead(503, { "content-type": "text/html" });
      res.end(`<html>${"x".repeat(5000)}</html>`);
    };
    const e = await failure(lookup());
    expect(e).toMatchObject({ kind: "transient", status: 503 });
    expect(e.message.length).toBeLessThan(200);
    handler = json(408, {});
    expect((await failure(lookup())).kind).toBe("transient");
  });

  it("other 4xx are permanent", async () => {
    handler = json(400, { error: "Bad Request", message: "invalid email" });
    const e = await failure(lookup());
    expect(e).toMatchObject({ kind: "permanent", status: 400, retryable: false });
    expect(e.message).toContain("invalid email");
  });

  it("never puts the token in a message, even when the server echoes it", async () => {
    handler = json(500, { message: `token ${TOKEN} is over quota` });
    const e = await failure(lookup());
    expect(e.message).toContain("[redacted]");
    expect(e.message).not.toContain(TOKEN);
  });
});

describe("network faults", () => {
  it("a server that stalls past the timeout is transient", async () => {
    handler = () => {}; // never answers
    const fast = new FashionAiClient({ baseUrl: origin, token: TOKEN, timeoutMs: 200 });
    const started = Date.now();
    try {
      const e = await failure(lookup(fast));
      expect(e.kind).toBe("transient");
      expect(e.message).toMatch(/did not answer within 200 ms/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      server.closeAllConnections();
      await fast.close();
    }
  });

  it("a body that stalls past the timeout is transient", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      res.write('{"userProfileId":');
    };
    const fast = new FashionAiClient({ baseUrl: origin, token: TOKEN, timeoutMs: 200 });
    try {
      const e = await failure(lookup(fast));
      expect(e.kind).toBe("transient");
      expect(e.message).toMatch(/stopped sending/);
    } finally {
      server.closeAllConnections();
      await fast.close();
    }
  });

  it("a server that destroys the socket is transient", async () => {
    handler = (req) => req.socket.destroy();
    const e = await failure(lookup());
    expect(e.kind).toBe("transient");
    expect(e.message).toMatch(/connection to Fashion.AI closed/);
  });

  it("a refused connection is transient", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const nowhere = new FashionAiClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN });
    try {
      const e = await failure(lookup(nowhere));
      expect(e.kind).toBe("transient");
      expect(e.message).toMatch(/refused the connection \(ECONNREFUSED\)/);
    } finally {
      await nowhere.close();
    }
  });

  it("a caller's abort is passed through, not turned into a retryable fault", async () => {
    handler = () => {};
    const controller = new AbortController();
    const pending = client.fetchProfile("email", "ana@example.com", controller.signal);
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    await expect(pending).rejects.not.toBeInstanceOf(SyncError);
  });

  it("a closed client fails permanently", async () => {
    await client.close();
    const e = await failure(lookup());
    expect(e.kind).toBe("permanent");
  });
});

describe("connection reuse", () => {
  const statuses = [200, 404, 500, 429, 200, 401, 400, 200];

  async function runAll(c: FashionAiClient, pause: boolean) {
    for (const status of statuses) {
      handler = status === 200 ? json(200, PROFILE) : json(status, { error: "x", message: "y" });
      await lookup(c).catch(() => undefined);
      if (pause) await tick();
    }
    expect(seen).toHaveLength(statuses.length);
  }

  it("sequential requests share one keep-alive connection, whatever the status", async () => {
    await runAll(client, true);
    expect(connections).toBe(1);
  });

  it("back-to-back requests reuse connections too", async () => {
    // undici checks an idle socket for a pending FIN/RST on the next event-loop turn before reusing
    // it, so a request sent in the same turn may open one extra connection; after that both are reused.
    await runAll(client, false);
    expect(connections).toBeLessThanOrEqual(2);
  });

  it("with a single connection allowed, every status leaves the socket reusable", async () => {
    const single = new FashionAiClient({ baseUrl: origin, token: TOKEN, connections: 1 });
    try {
      await runAll(single, false);
    } finally {
      await single.close();
    }
    expect(connections).toBe(1);
  });

  it("concurrent requests stay within the connection limit", async () => {
    const small = new FashionAiClient({ baseUrl: origin, token: TOKEN, connections: 3 });
    handler = (_req, res) => setTimeout(() => json(200, PROFILE)(_req, res), 20);
    try {
      const results = await Promise.all(Array.from({ length: 12 }, () => lookup(small)));
      expect(results).toHaveLength(12);
    } finally {
      await small.close();
    }
    expect(connections).toBeGreaterThan(1);
    expect(connections).toBeLessThanOrEqual(3);
  });
});
