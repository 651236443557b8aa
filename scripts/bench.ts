// npm run bench [-- --records 100000] [--source hubspot|file] [--fashionai-rate 300] [--hubspot 100/10s]
//                  [--klaviyo-bulk 10/s,150/m] [--klaviyo-events 10/s,150/m] [--not-found-every 50]
//                  [--heap-mb 128|0] [--max-in-flight N] [--json]
//
// A local backfill of a generated audience against the stand-ins, each rate-limited like the vendor. Each stand-in
// runs in its own process and so does the backfill (bench-backfill.ts), whose peak RSS is the one reported. The
// backfill knows HubSpot's and Klaviyo's published limits (it is configured with them, as in production) but NOT
// Fashion.AI's: that one it has to find from 429s. Reports records/s, the ratio to the bound the configured limits
// allow, API calls per 1,000 records per service, HubSpot upserts per 100 written records, and peak RSS.
// BENCH_TRACE=1 prints the Fashion.AI gate and memory every 2 s.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync, createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { sustainedRate } from "../src/backfill/limits.js";
import type { SourceSpec } from "../src/backfill/setup.js";
import { parseRateWindows } from "../src/util/rate.js";
import type { BenchJob, BenchRun } from "./bench-backfill.js";
import { KLAVIYO_JOB_MAX_BYTES } from "../connectors/klaviyo/bulk.js";
import { benchEmail, type BenchSandboxConfig, type BenchService, type ServiceStats } from "./bench-sandbox.js";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "10000" },
    source: { type: "string", default: "hubspot" },
    "fashionai-rate": { type: "string", default: "300" },
    hubspot: { type: "string", default: "100/10s" },
    "klaviyo-bulk": { type: "string", default: "10/s,150/m" },
    "klaviyo-events": { type: "string", default: "10/s,150/m" },
    "not-found-every": { type: "string", default: "50" },
    "max-in-flight": { type: "string" },
    "heap-mb": { type: "string", default: "128" },
    json: { type: "boolean", default: false },
  },
});

const records = Number(values.records);
const faRate = Number(values["fashionai-rate"]);
const notFoundEvery = Number(values["not-found-every"]);
if (!(records >= 1) || !(faRate >= 1) || !(notFoundEvery >= 0)) throw new Error("bench: --records, --fashionai-rate and --not-found-every must be numbers");
if (values.source !== "hubspot" && values.source !== "file") throw new Error("bench: --source is hubspot or file");

const say = (s: string) => process.stderr.write(s + "\n");

async function main() {
  const services: BenchService[] = ["fashionai", "hubspot", "klaviyo"];
  const children = Object.fromEntries(services.map((s) => [s, fork(fileURLToPath(new URL("./bench-sandbox.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx", "--max-old-space-size=4096"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  })])) as Record<BenchService, ReturnType<typeof fork>>;
  const ask = <T>(service: BenchService, msg: object, type: string) =>
    new Promise<T>((resolve) => {
      const child = children[service];
      const on = (m: { type: string } & T) => {
        if (m.type === type) {
          child.off("message", on);
          resolve(m);
        }
      };
      child.on("message", on);
      child.send(msg);
    });
  const tmp = mkdtempSync(join(tmpdir(), "fashionai-bench-"));
  try {
    const sandboxConfig: BenchSandboxConfig = {
      records, notFoundEvery, seedHubSpot: values.source === "hubspot", fashionaiPerSecond: faRate,
      hubspot: values.hubspot, klaviyoBulk: values["klaviyo-bulk"], klaviyoEvents: values["klaviyo-events"],
    };
    say(`bench: starting the stand-ins with ${records.toLocaleString("en-US")} records (source ${values.source}) …`);
    const ready = await Promise.all(services.map((service) => ask<{ env: Record<string, string> }>(service, { type: "start", service, config: sandboxConfig }, "ready")));
    const sandboxEnv = Object.assign({}, ...ready.map((s) => s.env)) as Record<string, string>;

    let source: SourceSpec = { kind: "hubspot" };
    if (values.source === "file") {
      const path = join(tmp, "audience.csv");
      const out = createWriteStream(path);
      out.write("email\n");
      for (let i = 0; i < records; i++) out.write(benchEmail(i) + "\n");
      await new Promise<void>((r) => out.end(r));
      source = { kind: "file", path };
    }
    // The backfill is told the published HubSpot and Klaviyo limits, as in production; Fashion.AI's is unknown.
    const env = {
      ...sandboxEnv, LOG_LEVEL: "warn", FASHIONAI_SYNC_RETRY_BASE_MS: "200",
      HUBSPOT_RATE_LIMIT: values.hubspot, KLAVIYO_BULK_RATE_LIMIT: values["klaviyo-bulk"], KLAVIYO_EVENTS_RATE_LIMIT: values["klaviyo-events"],
      FASHIONAI_RATE_LIMIT: "off",
    };
    // The backfill runs in its own process, so its RSS is measured alone, with the V8 heap cap under test.
    const heapMb = Number(values["heap-mb"]);
    const runner = fork(fileURLToPath(new URL("./bench-backfill.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx", ...(heapMb > 0 ? [`--max-old-space-size=${heapMb}`] : [])],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    say(`bench: backfill running (V8 old space ${heapMb > 0 ? `capped at ${heapMb} MB` : "default"}) …`);
    const job: BenchJob = {
      env, source, records, trace: !!process.env.BENCH_TRACE,
      ...(values["max-in-flight"] ? { maxInFlight: Number(values["max-in-flight"]) } : {}),
    };
    const run = await new Promise<BenchRun>((resolve, reject) => {
      runner.once("message", (m: { type: string; result: BenchRun }) => resolve(m.result));
      runner.once("exit", (code) => reject(new Error(`the backfill process exited with code ${code} before reporting`)));
      runner.send({ type: "run", job });
    });
    const elapsed = run.elapsedMs / 1000;
    const stats = Object.fromEntries(await Promise.all(services.map(async (service) =>
      [service, (await ask<{ stats: ServiceStats }>(service, { type: "stats" }, "stats")).stats] as const))) as Record<string, ServiceStats>;
    const result = summarise(run, stats, elapsed, heapMb);
    if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    else process.stdout.write(render(result) + "\n");
    const ok = result.targets.ratio && result.targets.hubspotCalls && result.targets.memory !== false;
    process.exitCode = run.summary.failed > 0 || run.configError ? 1 : ok ? 0 : 1;
  } finally {
    for (const child of Object.values(children)) child.send({ type: "stop" });
    rmSync(tmp, { recursive: true, force: true });
  }
}

function sum(calls: Record<string, number>, match: (route: string) => boolean): number {
  return Object.entries(calls).filter(([k]) => match(k)).reduce((n, [, v]) => n + v, 0);
}

function summarise(report: BenchRun, stats: Record<string, ServiceStats>, elapsed: number, heapMb: number) {
  const { baseRss, peakRss } = report;
  const s = report.summary;
  const written = s.synced;
  const found = s.synced + s.failed; // every record with a profile is written (or failed while writing)
  const foundShare = s.requested > 0 ? found / s.requested : 1;
  const perK = (n: number) => Math.round((n * 1000 * 100) / s.requested) / 100;
  const hs = stats.hubspot!;
  const kl = stats.klaviyo!;
  const fa = stats.fashionai!;
  const hsUpserts = sum(hs.calls, (k) => k.endsWith("/batch/upsert"));
  const hsReads = sum(hs.calls, (k) => k === "GET /crm/v3/objects/contacts" || k.endsWith("/search"));
  const hsAll = sum(hs.calls, () => true);
  const klJobs = sum(kl.calls, (k) => k.startsWith("POST /api/profile-bulk-import-jobs"));
  const klJobCalls = sum(kl.calls, (k) => k.includes("/api/profile-bulk-import-jobs"));
  const klEventCalls = sum(kl.calls, (k) => k.includes("/api/event-bulk-create-jobs"));
  const klAll = sum(kl.calls, () => true);
  const faAll = sum(fa.calls, () => true);

  // The bound the configured limits allow, in records per second (one-off schema calls ignored).
  const hsRate = sustainedRate(parseRateWindows(values.hubspot, "hubspot") ?? []);
  const hsCallsPerRecord = foundShare / 100 + (values.source === "hubspot" ? 1 / 100 : 0);
  const klRate = sustainedRate(parseRateWindows(values["klaviyo-bulk"], "klaviyo") ?? []);
  const profilesPerJob = klJobs > 0 ? written / klJobs : 10_000;
  const klCallsPerRecord = (foundShare * (klJobCalls / Math.max(1, klJobs))) / Math.max(1, profilesPerJob);
  const evRate = sustainedRate(parseRateWindows(values["klaviyo-events"], "events") ?? []);
  const evCallsPerRecord = klEventCalls / Math.max(1, s.requested);
  const bounds = {
    fashionai: faRate,
    hubspot: hsRate / hsCallsPerRecord,
    klaviyoBulkImport: klCallsPerRecord > 0 ? klRate / klCallsPerRecord : Infinity,
    klaviyoEvents: evCallsPerRecord > 0 ? evRate / evCallsPerRecord : Infinity,
  };
  const bound = Math.min(...Object.values(bounds));
  const rate = s.requested / elapsed;
  const upsertsPer100 = written > 0 ? (hsUpserts * 100) / written : 0;
  const peakMb = Math.round(peakRss / 1048576);
  return {
    command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
    records: s.requested,
    summary: s,
    seconds: Math.round(elapsed * 10) / 10,
    recordsPerSecond: Math.round(rate * 10) / 10,
    bound: {
      recordsPerSecond: Math.round(bound * 10) / 10,
      limitedBy: Object.entries(bounds).find(([, v]) => v === bound)![0],
      perService: Object.fromEntries(Object.entries(bounds).map(([k, v]) => [k, Number.isFinite(v) ? Math.round(v) : "unbounded"])),
    },
    ratioToBound: Math.round((rate / bound) * 1000) / 1000,
    callsPer1000Records: {
      fashionai: perK(faAll),
      hubspot: { all: perK(hsAll), upserts: perK(hsUpserts), sourceReads: perK(hsReads), schema: perK(hsAll - hsUpserts - hsReads) },
      klaviyo: { all: perK(klAll), bulkImport: perK(klJobCalls), events: perK(klEventCalls) },
    },
    calls: { fashionai: faAll, hubspot: hsAll, hubspotUpserts: hsUpserts, klaviyo: klAll, klaviyoJobs: klJobs },
    rateLimited429: { fashionai: fa.rateLimited, hubspot: hs.rateLimited, klaviyo: kl.rateLimited },
    hubspotUpsertsPer100Written: Math.round(upsertsPer100 * 1000) / 1000,
    klaviyoProfilesPerJob: Math.round(profilesPerJob),
    learned: report.stats.gates.filter((g) => g.rateLimited > 0 || g.ratePerSecond !== undefined),
    memory: { baselineRssMb: Math.round(baseRss / 1048576), peakRssMb: peakMb, v8OldSpaceCapMb: heapMb > 0 ? heapMb : "default" },
    limits: {
      fashionai: `${faRate}/s (unknown to the backfill)`, hubspot: values.hubspot, klaviyoBulk: values["klaviyo-bulk"],
      klaviyoEvents: values["klaviyo-events"], klaviyoJobMaxBytes: KLAVIYO_JOB_MAX_BYTES,
    },
    targets: {
      ratio: rate / bound >= 0.9,
      hubspotCalls: Math.abs(upsertsPer100 - 1) <= 0.05 || Math.ceil(written / 100) === hsUpserts,
      memory: s.requested >= 100_000 ? peakMb < 200 : undefined,
    },
  };
}

function render(r: ReturnType<typeof summarise>): string {
  const c = r.callsPer1000Records;
  const lines = [
    `records              ${r.records.toLocaleString("en-US")} (${r.summary.synced} synced, ${r.summary.not_found} not found, ${r.summary.invalid} invalid, ${r.summary.failed} failed)`,
    `time                 ${r.seconds} s`,
    `throughput           ${r.recordsPerSecond} records/s`,
    `bound                ${r.bound.recordsPerSecond} records/s, set by ${r.bound.limitedBy} (${Object.entries(r.bound.perService).map(([k, v]) => `${k} ${v}`).join(", ")})`,
    `ratio to bound       ${(r.ratioToBound * 100).toFixed(1)}%   ${r.targets.ratio ? "✓" : "✗"} target ≥ 90%`,
    `calls / 1,000 rec    Fashion.AI ${c.fashionai}; HubSpot ${c.hubspot.all} (upserts ${c.hubspot.upserts}, source reads ${c.hubspot.sourceReads}, schema ${c.hubspot.schema}); Klaviyo ${c.klaviyo.all} (bulk import ${c.klaviyo.bulkImport}, events ${c.klaviyo.events})`,
    `HubSpot upserts      ${r.calls.hubspotUpserts} for ${r.summary.synced} written = ${r.hubspotUpsertsPer100Written} per 100   ${r.targets.hubspotCalls ? "✓" : "✗"} target within 5% of 1`,
    `Klaviyo jobs         ${r.calls.klaviyoJobs} (${r.klaviyoProfilesPerJob} profiles per job)`,
    `429s answered        Fashion.AI ${r.rateLimited429.fashionai}, HubSpot ${r.rateLimited429.hubspot}, Klaviyo ${r.rateLimited429.klaviyo}`,
    `rate control         ${r.learned.length ? r.learned.map((g) => `${g.name}: ${g.rateLimited} 429s seen, paused ${(g.pausedMs / 1000).toFixed(1)} s, rate now ${g.ratePerSecond ?? "unlimited"}/s`).join("; ") : "no 429s"}`,
    `peak RSS             ${r.memory.peakRssMb} MB (baseline ${r.memory.baselineRssMb} MB, V8 old space ${r.memory.v8OldSpaceCapMb === "default" ? "default" : `--max-old-space-size=${r.memory.v8OldSpaceCapMb}`})${r.targets.memory === undefined ? "" : `   ${r.targets.memory ? "✓" : "✗"} target < 200 MB at 100,000 records`}`,
    `limits               Fashion.AI ${r.limits.fashionai}; HubSpot ${r.limits.hubspot}; Klaviyo bulk import ${r.limits.klaviyoBulk}; events ${r.limits.klaviyoEvents}`,
  ];
  return lines.join("\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
