import http from "node:http";
import { PassThrough } from "node:stream";
import type { Inngest, InngestFunction } from "inngest";
import { serve } from "inngest/node";
import { ConfigError } from "./config.js";
import type { Logger } from "./util/log.js";
import { HUBSPOT_WEBHOOK_PATH, WEBHOOK_MAX_BODY_BYTES, type WebhookReply, type WebhookRequest } from "./webhooks/hubspot.js";

/** Inngest sends step state with each call; batches of 100 events stay far below this. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Every other path takes no body worth the name. */
export const OTHER_MAX_BODY_BYTES = 16 * 1024;

export interface AppServerOptions {
  inngest: Inngest;
  functions: readonly InngestFunction.Like[];
  log: Logger;
  /** POST /webhooks/hubspot (src/webhooks/hubspot.ts); without it the path answers 404. */
  hubspotWebhook?: (req: WebhookRequest) => Promise<WebhookReply>;
}

/**
 * Production (cloud) mode without a signing key would accept unsigned calls or fail every call;
 * neither is safe, so the server refuses to start. Local mode is explicit: INNGEST_DEV=1.
 */
export function checkServeMode(env: Record<string, string | undefined>): "dev" | "cloud" {
  const dev = env.INNGEST_DEV;
  if (dev !== undefined && dev !== "" && dev !== "0") return "dev";
  if (!env.INNGEST_SIGNING_KEY) {
    throw new ConfigError("INNGEST_SIGNING_KEY is not set: set it for production, or INNGEST_DEV=1 to serve a local Inngest Dev Server");
  }
  return "cloud";
}

export function createAppServer(opts: AppServerOptions): http.Server {
  const inngestHandler = serve({ client: opts.inngest, functions: opts.functions, servePath: "/api/inngest" });
  return http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    // A body limit on every path: a declared length past it is refused before anything is read.
    const limit = path === "/api/inngest" ? MAX_BODY_BYTES : path === HUBSPOT_WEBHOOK_PATH ? WEBHOOK_MAX_BODY_BYTES : OTHER_MAX_BODY_BYTES;
    if (Number(req.headers["content-length"] ?? 0) > limit) {
      res.writeHead(413, { "content-type": "application/json", connection: "close" }).end(JSON.stringify({ error: "body too large" }));
      req.resume();
      return;
    }
    if (path === HUBSPOT_WEBHOOK_PATH) {
      handleHubSpotWebhook(req, res, opts);
      return;
    }
    if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok" }));
      return;
    }
    if (path === "/api/inngest") {
      const tooLarge = () => {
        res.writeHead(413, { "content-type": "application/json", connection: "close" }).end(JSON.stringify({ error: "body too large" }));
      };
      if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
        tooLarge();
        req.resume();
        return;
      }
      // The SDK reads the body lazily, after awaiting other work: counting bytes on `req` itself would
      // switch it to flowing mode and lose the body. Read it (bounded) here and hand the SDK a replay.
      readBounded(req, MAX_BODY_BYTES)
        .then((body) => {
          if (body === undefined) return tooLarge();
          return inngestHandler(replayRequest(req, body), res);
        })
        .catch((err: unknown) => {
          opts.log.error("inngest handler failed", { error: (err as Error)?.message });
          if (!res.headersSent) res.writeHead(500).end();
        });
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found" }));
  });
}

function handleHubSpotWebhook(req: http.IncomingMessage, res: http.ServerResponse, opts: AppServerOptions): void {
  const json = (status: number, body: unknown, extra: Record<string, string> = {}): void =>
    void res.writeHead(status, { "content-type": "application/json", ...extra }).end(JSON.stringify(body));
  if (!opts.hubspotWebhook) {
    req.resume();
    return json(404, { error: "HubSpot webhooks are not enabled on this server (set HUBSPOT_CLIENT_SECRET)" });
  }
  if (req.method !== "POST") {
    req.resume();
    return json(405, { error: "use POST" }, { allow: "POST" });
  }
  const handler = opts.hubspotWebhook;
  readBounded(req, WEBHOOK_MAX_BODY_BYTES)
    .then(async (body) => {
      if (body === undefined) return json(413, { error: "body too large" }, { connection: "close" });
      const reply = await handler({ method: req.method ?? "POST", url: req.url ?? HUBSPOT_WEBHOOK_PATH, headers: req.headers, body });
      return json(reply.status, reply.body);
    })
    .catch((err: unknown) => {
      opts.log.error("HubSpot webhook failed", { error: (err as Error)?.message });
      if (!res.headersSent) json(500, { error: "internal error" });
    });
}

/** The whole body, or undefined as soon as it passes `limit` (the rest is drained, not kept). */
function readBounded(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let seen = 0;
    req.on("data", (chunk: Buffer) => {
      if (seen > limit) return;
      seen += chunk.length;
      if (seen <= limit) return void chunks.push(chunk);
      chunks = [];
      resolve(undefined);
    });
    req.on("end", () => resolve(seen > limit ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** A request the SDK can read at its own pace: same method, URL, headers and socket, body replayed. */
function replayRequest(req: http.IncomingMessage, body: Buffer): http.IncomingMessage {
  const replay = new PassThrough();
  replay.end(body);
  return Object.assign(replay, { headers: req.headers, method: req.method, url: req.url, socket: req.socket }) as unknown as http.IncomingMessage;
}
