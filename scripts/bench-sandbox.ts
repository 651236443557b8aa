// Child process of `npm run bench`: the three stand-ins with the benchmark's rate limits and a generated
// audience. Runs apart from the backfill so the backfill's memory (RSS) is measured alone. Talks over IPC:
//   parent → { type: "start", config }   child → { type: "ready", env }
//   parent → { type: "stats" }           child → { type: "stats", stats }
//   parent → { type: "stop" }            child exits
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSandbox, type Sandbox, type SandboxServer } from "../src/sandbox/index.js";
import { parseRateWindows } from "../src/util/rate.js";

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

async function start(config: BenchSandboxConfig): Promise<Sandbox> {
  const samples = loadSamples();
  const sb = await startSandbox({
    fashionai: {
      // Profiles are generated on demand (one of the samples, with its own userProfileId), not stored.
      resolve: (by, value) => {
        const m = by === "email" ? /^user(\d+)@bench\.example\.com$/.exec(value) : null;
        if (!m) return undefined;
        const i = Number(m[1]);
        if (i >= config.records || (config.notFoundEvery > 0 && i % config.notFoundEvery === config.notFoundEvery - 1)) return undefined;
        return { ...samples[i % samples.length], userProfileId: `fp_bench_${i}` };
      },
    },
  });
  if (config.seedHubSpot) for (let i = 0; i < config.records; i++) sb.hubspot.addContact(benchEmail(i));
  sb.fashionai.rateLimit({ limit: config.fashionaiPerSecond, windowMs: 1000 });
  for (const w of parseRateWindows(config.hubspot, "hubspot") ?? []) sb.hubspot.rateLimit({ limit: w.limit, windowMs: w.windowMs });
  for (const w of parseRateWindows(config.klaviyoBulk, "klaviyo bulk") ?? []) {
    sb.klaviyo.rateLimit({ limit: w.limit, windowMs: w.windowMs, path: "/api/profile-bulk-import-jobs" });
  }
  for (const w of parseRateWindows(config.klaviyoEvents, "klaviyo events") ?? []) {
    sb.klaviyo.rateLimit({ limit: w.limit, windowMs: w.windowMs, path: "/api/event-bulk-create-jobs" });
  }
  return sb;
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
  let sb: Sandbox | undefined;
  let tallies: Record<string, Tally> = {};
  let timer: NodeJS.Timeout | undefined;
  process.on("message", async (msg: { type: string; config?: BenchSandboxConfig }) => {
    if (msg.type === "start" && msg.config) {
      sb = await start(msg.config);
      tallies = { fashionai: new Tally(sb.fashionai), hubspot: new Tally(sb.hubspot), klaviyo: new Tally(sb.klaviyo) };
      tallies.hubspot!.collect(); // seeding is not traffic
      timer = setInterval(() => Object.values(tallies).forEach((t) => t.collect()), 1000);
      process.send!({ type: "ready", env: sb.env });
    } else if (msg.type === "stats") {
      process.send!({ type: "stats", stats: Object.fromEntries(Object.entries(tallies).map(([k, t]) => [k, t.stats()])) });
    } else if (msg.type === "stop") {
      if (timer) clearInterval(timer);
      await sb?.close();
      process.exit(0);
    }
  });
}
