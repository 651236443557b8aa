// Child process of `npm run bench`: runs the local backfill alone (the stand-ins live in their own processes), so
// the peak RSS it reports is the backfill's. Started with the V8 flags under test (e.g. --max-old-space-size).
// IPC: parent → { type: "run", job }   child → { type: "done", result }
import { loadConfig } from "../src/config.js";
import { loadVendorLimits } from "../src/backfill/limits.js";
import { createLocalBackfill, type SourceSpec } from "../src/backfill/setup.js";
import type { BackfillReport } from "../src/backfill/local.js";
import { createLogger } from "../src/util/log.js";

export interface BenchJob {
  env: Record<string, string>;
  source: SourceSpec;
  maxInFlight?: number;
  trace: boolean;
  records: number;
}

export interface BenchRun {
  summary: BackfillReport["summary"];
  stats: BackfillReport["stats"];
  configError?: string;
  elapsedMs: number;
  baseRss: number;
  peakRss: number;
}

async function run(job: BenchJob): Promise<BenchRun> {
  const say = (s: string) => process.stderr.write(s + "\n");
  const config = loadConfig(job.env);
  const limits = loadVendorLimits(job.env);
  const log = createLogger({ level: "warn", json: true });
  const baseRss = process.memoryUsage.rss();
  let peakRss = baseRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 100);
  let done = 0;
  const backfill = createLocalBackfill(config, limits, {
    source: job.source, dryRun: false, log, results: "problems",
    ...(job.maxInFlight ? { maxInFlight: job.maxInFlight } : {}),
    onProgress: (p) => {
      done = p.done;
    },
  });
  const trace = job.trace
    ? setInterval(() => {
        const mem = Object.entries(process.memoryUsage()).map(([k, v]) => `${k} ${Math.round(v / 1048576)}`).join(" ");
        say(`trace: done ${done} · fashionai ${JSON.stringify(backfill.gates.fashionai!.stats())} · ${mem}`);
      }, 2000)
    : process.stderr.isTTY
      ? setInterval(() => process.stderr.write(`\r${done.toLocaleString("en-US")} / ${job.records.toLocaleString("en-US")} done`), 500)
      : undefined;
  const started = Date.now();
  let report: BackfillReport;
  try {
    report = await backfill.run();
  } finally {
    await backfill.close();
    clearInterval(sampler);
    if (trace) clearInterval(trace);
    if (!job.trace && process.stderr.isTTY) process.stderr.write("\r\x1b[2K");
  }
  const elapsedMs = Date.now() - started;
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  return {
    summary: report.summary, stats: report.stats, elapsedMs, baseRss, peakRss,
    ...(report.configError ? { configError: report.configError } : {}),
  };
}

if (process.send) {
  process.on("message", async (msg: { type: string; job?: BenchJob }) => {
    if (msg.type === "run" && msg.job) {
      const result = await run(msg.job);
      process.send!({ type: "done", result }, () => process.exit(0));
    }
  });
}
