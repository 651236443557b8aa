// Child processes of `npm run bench`: one per stand-in (Fashion.AI, HubSpot, Klaviyo), each with the benchmark's
// rate limits, so the backfill's memory (RSS) is measured alone and one stand-in's work (Klaviyo applying a
// 2,000-profile import job, say) never stalls another's clock the way it would inside one event loop.
// IPC:  parent → { type: "start", service, config }   child → { type: "ready", env }
//       parent → { type: "stats" }                     child → { type: "stats", stats }
//       parent → { type: "stop" }                      child exits
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FashionAiSandbox, HubSpotSandbox, KlaviyoSandbox, type SandboxServer } from "../src/sandbox/index.js";
import { parseRateWindows } from "../src/util/rate.js";

export type BenchService = "fashionai" | "hubspot" | "klaviyo";

export interface BenchSandboxConfig {
  records: number;
  /** Every n-th email has no Fashion.AI profile (0: all have one). */
  notFoundEvery: number;
  seedHubSpot: boolean;
  fashionaiPerSecond: number;
  hubspot: string;
  klaviyoBulk: string;
  klaviyoEvents: string;
}

export interface ServiceStats {
  /** "METHOD route" → calls (429s included). */
  calls: Record<string, number>;
  /** Calls answered 429. */
  rateLimited: number;
}

const PROFILES = fileURLToPath(new URL("../fixtures/profiles", import.meta.url));

export function benchEmail(i: number): string {
  return `user${i}@bench.example.com`;
}

function loadSamples(): Array<Record<string, unknown>> {
  const index = JSON.parse(readFileSync(join(PROFILES, "index.json"), "utf8")) as Array<{ file: string }>;
  return index.map((e) => JSON.parse(readFileSync(join(PROFILES, e.file), "utf8")) as Record<string, unknown>);
}

async function start(service: BenchService, config: BenchSandboxConfig): Promise<{ server: SandboxServer; env: Record<string, string> }> {
  if (service === "fashionai") {
    const samples = loadSamples();
    const fa = new FashionAiSandbox({
      // Profiles are generated on demand (one of the samples, with its own userProfileId), not stored.
      resolve: (by, value) => {
        const m = by === "email" ? /^user(\d+)@bench\.example\.com$/.exec(value) : null;
        if (!m) return undefined;
        const i = Number(m[1]);
        if (i >= config.records || (config.notFoundEvery > 0 && i % config.notFoundEvery === config.notFoundEvery - 1)) return undefined;
        return { ...samples[i % samples.length], userProfileId: `fp_bench_${i}` };
      },
    });
    await fa.start();
    fa.rateLimit({ limit: config.fashionaiPerSecond, windowMs: 1000 });
    return { server: fa, env: { FASHIONAI_BASE_URL: fa.baseUrl, FASHIONAI_APP_TOKEN: fa.token } };
  }
  if (service === "hubspot") {
    const hs = new HubSpotSandbox();
    await hs.start();
    if (config.seedHubSpot) for (let i = 0; i < config.records; i++) hs.addContact(benchEmail(i));
    for (const w of parseRateWindows(config.hubspot, "hubspot") ?? []) hs.rateLimit({ limit: w.limit, windowMs: w.windowMs });
    return { server: hs, env: { HUBSPOT_BASE_URL: hs.baseUrl, HUBSPOT_ACCESS_TOKEN: hs.accessToken } };
  }
  const kl = new KlaviyoSandbox();
  await kl.start();
  for (const w of parseRateWindows(config.klaviyoBulk, "klaviyo bulk") ?? []) {
    kl.rateLimit({ limit: w.limit, windowMs: w.windowMs, path: "/api/profile-bulk-import-jobs" });
  }
  for (const w of parseRateWindows(config.klaviyoEvents, "klaviyo events") ?? []) {
    kl.rateLimit({ limit: w.limit, windowMs: w.windowMs, path: "/api/event-bulk-create-jobs" });
  }
  return { server: kl, env: { KLAVIYO_BASE_URL: kl.baseUrl, KLAVIYO_API_KEY: kl.apiKey } };
}

/** Calls per route, accumulated while the recorded requests are dropped every second (memory stays flat). */
class Tally {
  private readonly calls: Record<string, number> = {};
  private limited = 0;
  constructor(private readonly server: SandboxServer) {}
  collect(): void {
    // stats() and clearRequests() run in the same tick: no request is handled in between.
    for (const r of this.server.requests) if (r.status === 429) this.limited += 1;
    for (const [k, v] of Object.entries(this.server.stats())) this.calls[k] = (this.calls[k] ?? 0) + v;
    this.server.clearRequests();
  }
  stats(): ServiceStats {
    this.collect();
    return { calls: { ...this.calls }, rateLimited: this.limited };
  }
}

if (process.send) {
  let server: SandboxServer | undefined;
  let tally: Tally | undefined;
  let timer: NodeJS.Timeout | undefined;
  process.on("message", async (msg: { type: string; service?: BenchService; config?: BenchSandboxConfig }) => {
    if (msg.type === "start" && msg.service && msg.config) {
      const started = await start(msg.service, msg.config);
      server = started.server;
      tally = new Tally(server);
      tally.collect(); // seeding is not traffic
      timer = setInterval(() => tally!.collect(), 1000);
      process.send!({ type: "ready", env: started.env });
    } else if (msg.type === "stats") {
      process.send!({ type: "stats", stats: tally!.stats() });
    } else if (msg.type === "stop") {
      if (timer) clearInterval(timer);
      await server?.close();
      process.exit(0);
    }
  });
}
