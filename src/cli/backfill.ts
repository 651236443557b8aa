import { randomUUID } from "node:crypto";
import { loadConfig } from "../config.js";
import { loadVendorLimits } from "../backfill/limits.js";
import type { BackfillReport, BackfillResult, ResultsMode } from "../backfill/local.js";
import { createProgressBar } from "../backfill/progress.js";
import { createLocalBackfill, parseSourceSpec, type SourceSpec } from "../backfill/setup.js";
import type { BackfillRequested } from "../inngest/events.js";
import type { ConnectorName } from "../pipeline/types.js";
import { FileSource } from "../sources/file.js";
import { createLogger } from "../util/log.js";
import { redact } from "../util/redact.js";
import { UsageError, parse, parseTo } from "./args.js";
import { printJson, renderTable } from "./output.js";
import type { CommandIo } from "./sync.js";

export const BACKFILL_USAGE = `fashionai-sync backfill --source hubspot|klaviyo|<file.csv|file.ndjson> [--to hubspot,klaviyo] [--local]
                    [--dry-run] [--json] [--modified-since DATE] [--results all|problems] [--id BACKFILL_ID]`;

/** The CLI's IO, plus whether stderr is a terminal (the progress bar is drawn only there). */
export interface BackfillIo extends CommandIo {
  stderrIsTTY?: boolean;
  stderrColumns?: number;
}

/** Identifiers per `fashionai/backfill.requested` event when a file is sent to Inngest. */
export const IDENTIFIERS_PER_EVENT = 1_000;
/** Results printed by the human summary (all are in --json). */
const TABLE_ROWS = 50;

export async function backfillCommand(argv: string[], io: BackfillIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    source: { type: "string" },
    to: { type: "string" },
    local: { type: "boolean" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    "modified-since": { type: "string" },
    results: { type: "string" },
    id: { type: "string" },
  }, "backfill");
  if (positionals.length) throw new UsageError(`backfill: unexpected argument "${positionals[0]}"`);
  if (!values.source?.trim()) throw new UsageError("backfill: --source is required (hubspot, klaviyo or a .csv/.ndjson file)");
  const source = parseSourceSpec(values.source);
  const to = parseTo(values.to);
  const modifiedSince = parseDate(values["modified-since"]);
  if (modifiedSince && source.kind === "file") throw new UsageError("--modified-since applies to --source hubspot or klaviyo, not to a file");
  const results = parseResults(values.results);
  const json = values.json ?? false;
  const dryRun = values["dry-run"] ?? false;

  if (!values.local) {
    if (values.results !== undefined) throw new UsageError("--results applies to --local runs");
    return sendToInngest(io, { source, to, modifiedSince, dryRun, json, id: values.id });
  }
  if (values.id !== undefined) throw new UsageError("--id names an Inngest backfill; a --local run has none");

  const config = loadConfig(io.env);
  const limits = loadVendorLimits(io.env);
  const bar = createProgressBar({
    enabled: !json && (io.stderrIsTTY ?? false), write: io.stderr, ...(io.stderrColumns ? { columns: io.stderrColumns } : {}),
  });
  // A log line first clears the bar (the next update redraws it below the line).
  const log = createLogger({ env: io.env, write: (line) => { bar.done(); io.stderr(line + "\n"); } });
  const backfill = createLocalBackfill(config, limits, {
    source, dryRun, log, ...(to ? { to } : {}), ...(modifiedSince ? { modifiedSince } : {}), ...(results ? { results } : {}),
    onProgress: (p) => bar.update(p),
  });
  let report: BackfillReport;
  try {
    report = await backfill.run();
  } finally {
    bar.done();
    await backfill.close();
  }
  log.info("backfill finished", {
    source: backfill.deps.source.label, ...report.summary, seconds: Math.round(report.stats.elapsedMs / 100) / 10,
    recordsPerSecond: report.stats.recordsPerSecond, hubspotBatches: report.stats.hubspotUpserts, klaviyoJobs: report.stats.klaviyoJobs,
    rateLimited: Object.fromEntries(report.stats.gates.filter((g) => g.rateLimited > 0).map((g) => [g.name, g.rateLimited])),
  });
  if (report.configError) io.stderr(`configuration error: ${report.configError}\n`);
  if (json) {
    const { stats: _stats, ...doc } = report;
    printJson(doc, io.stdout);
  } else {
    io.stdout(renderBackfill(report, backfill.deps.source.label, dryRun) + "\n");
  }
  if (report.configError) return 2;
  return report.summary.invalid + report.summary.failed > 0 ? 1 : 0;
}

function parseDate(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--modified-since: "${value}" is not a date (use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00:00Z)`);
  return new Date(t);
}

function parseResults(value: string | undefined): ResultsMode | undefined {
  if (value === undefined) return undefined;
  if (value === "all" || value === "problems") return value;
  throw new UsageError(`--results: "${value}" is not one of all, problems`);
}

/** Human summary: the counts, then the records that need attention (or every record for a small run). */
export function renderBackfill(report: BackfillReport, label: string, dryRun: boolean): string {
  const s = report.summary;
  const lines: string[] = [];
  const listAll = s.requested <= TABLE_ROWS;
  const shown: BackfillResult[] = (listAll ? report.results : report.results.filter((r) => r.status === "invalid" || r.status === "failed"));
  if (shown.length > 0) {
    const rows = shown.slice(0, TABLE_ROWS).map((r) => [
      String(r.row), r.identifier, r.status, cell(r, "hubspot"), cell(r, "klaviyo"),
      r.reason ?? (r.warnings.length ? `${r.warnings.length} warning(s): ${r.warnings[0]}` : ""),
    ]);
    lines.push(renderTable(["row", "identifier", "status", "hubspot", "klaviyo", "details"], rows, 60));
    if (shown.length > TABLE_ROWS) lines.push(`… and ${shown.length - TABLE_ROWS} more (--json lists them all)`);
    lines.push("");
  }
  const secs = report.stats.elapsedMs / 1000;
  lines.push(
    `${dryRun ? "dry run of " : ""}backfill from ${label}: requested ${s.requested}: ${s.synced} ${dryRun ? "planned" : "synced"}, ` +
      `${s.not_found} not found, ${s.invalid} invalid, ${s.failed} failed (${secs.toFixed(1)} s, ${report.stats.recordsPerSecond}/s)`,
  );
  if (report.configError) lines.push(`configuration error: ${report.configError}`);
  return redact(lines.join("\n"));
}

function cell(r: BackfillResult, name: ConnectorName): string {
  const c = r.connectors?.[name];
  if (!c) return "-";
  return c.event ? `${c.status} +event` : c.status;
}

// ------------------------------------------------------------------------------------------------ Inngest

interface SendOptions {
  source: SourceSpec;
  to: ConnectorName[] | undefined;
  modifiedSince: Date | undefined;
  dryRun: boolean;
  json: boolean;
  id: string | undefined;
}

/**
 * Without --local the backfill runs under Inngest: one `fashionai/backfill.requested` event (a file is read here
 * and sent as `identifiers` events of up to 1,000 records, all with the same backfillId; its malformed rows are
 * reported here). With --dry-run the events are printed, not sent.
 */
async function sendToInngest(io: BackfillIo, opts: SendOptions): Promise<number> {
  const env = io.env;
  const dev = env.INNGEST_DEV !== undefined && env.INNGEST_DEV !== "" && env.INNGEST_DEV !== "0";
  if (!opts.dryRun && !dev && !env.INNGEST_EVENT_KEY) {
    throw new UsageError(
      "backfill: sending to Inngest needs INNGEST_EVENT_KEY (or INNGEST_DEV=1 for a local Dev Server)",
      "or add --local to run the backfill in this process",
    );
  }
  const backfillId = opts.id ?? `bf_${new Date().toISOString().replace(/[-:.TZ]/g, "").slice(0, 14)}_${randomUUID().slice(0, 8)}`;
  const base: Omit<BackfillRequested, "source"> = {
    backfillId, ...(opts.to ? { connectors: opts.to } : {}), ...(opts.modifiedSince ? { modifiedSince: opts.modifiedSince.toISOString() } : {}),
  };
  const events: BackfillRequested[] = [];
  const invalid: Array<{ row: number; identifier: string; reason: string }> = [];
  let queued = 0;
  if (opts.source.kind === "file") {
    const file = new FileSource({ path: opts.source.path });
    let batch: NonNullable<BackfillRequested["identifiers"]> = [];
    for await (const page of file.pages()) {
      for (const row of page.rows) {
        if (row.invalid) {
          invalid.push({ row: row.row, identifier: row.request.identifier, reason: row.invalid });
          continue;
        }
        const r = row.request;
        batch.push(r.by === "email" && !r.email ? r.identifier : { identifier: r.identifier, ...(r.by ? { by: r.by } : {}), ...(r.email ? { email: r.email } : {}) });
        queued += 1;
        if (batch.length >= IDENTIFIERS_PER_EVENT) {
          events.push({ ...base, source: "identifiers", identifiers: batch });
          batch = [];
        }
      }
    }
    if (batch.length > 0) events.push({ ...base, source: "identifiers", identifiers: batch });
  } else {
    events.push({ ...base, source: opts.source.kind });
  }
  // Loaded here: a --local run has no use for the Inngest SDK.
  const { backfillRequestedSchema, describeEventProblems } = await import("../inngest/events.js");
  for (const data of events) {
    const check = backfillRequestedSchema.safeParse(data);
    if (!check.success) throw new UsageError(`backfill: the event would be rejected: ${describeEventProblems(check.error)}`);
  }
  const payloads = events.map((data) => ({ name: "fashionai/backfill.requested" as const, data }));
  let ids: string[] = [];
  if (!opts.dryRun && payloads.length > 0) {
    const { Inngest } = await import("inngest");
    const inngest = new Inngest({
      id: "fashionai-crm-sync", ...(dev ? { isDev: true } : {}), ...(env.INNGEST_EVENT_KEY ? { eventKey: env.INNGEST_EVENT_KEY } : {}),
      ...(env.INNGEST_BASE_URL ? { baseUrl: env.INNGEST_BASE_URL } : {}),
    });
    for (let i = 0; i < payloads.length; i += 50) {
      const res = await inngest.send(payloads.slice(i, i + 50));
      ids = ids.concat(res.ids);
    }
  }
  const doc = {
    backfillId,
    source: opts.source.kind === "file" ? opts.source.path : opts.source.kind,
    sent: !opts.dryRun,
    events: payloads.length,
    ...(opts.source.kind === "file" ? { queued, invalid } : {}),
    ...(ids.length ? { eventIds: ids } : {}),
    ...(opts.dryRun ? { payloads } : {}),
  };
  if (opts.json) printJson(doc, io.stdout);
  else {
    const lines = [opts.dryRun
      ? `dry run: would send ${payloads.length} fashionai/backfill.requested event(s) for backfill ${backfillId} (nothing sent)`
      : `backfill ${backfillId} requested: ${payloads.length} event(s) sent to Inngest`];
    if (opts.source.kind === "file") lines.push(`${queued} record(s) queued from ${opts.source.path}, ${invalid.length} invalid`);
    for (const bad of invalid.slice(0, TABLE_ROWS)) lines.push(`  invalid: ${bad.reason}`);
    if (invalid.length > TABLE_ROWS) lines.push(`  … and ${invalid.length - TABLE_ROWS} more (--json lists them all)`);
    lines.push(`cancel with: inngest.send({ name: "fashionai/backfill.cancelled", data: { backfillId: "${backfillId}" } })`);
    io.stdout(redact(lines.join("\n")) + "\n");
  }
  return invalid.length > 0 ? 1 : 0;
}
