import { ConfigError, enabledConnectors, loadConfig } from "../config.js";
import type { ConnectorName } from "../pipeline/types.js";
import {
  createSegmentServices, readKlaviyoWriteRate, readSegmentCapOverride, runSetup, setupExitCode, type SetupReport,
} from "../segments/setup.js";
import { createLogger } from "../util/log.js";
import { redact } from "../util/redact.js";
import { UsageError, parse, parseTo } from "./args.js";
import { printJson, renderTable } from "./output.js";
import type { CommandIo } from "./sync.js";

export const SETUP_USAGE = `fashionai-sync setup [--to hubspot,klaviyo] [--dry-run] [--json] [--cap N] [--scan-klaviyo]`;

const CRM_VARIABLE: Record<ConnectorName, string> = { hubspot: "HUBSPOT_ACCESS_TOKEN", klaviyo: "KLAVIYO_API_KEY" };

/**
 * Creates or updates the HubSpot property group, properties and options, then the segments (HubSpot
 * lists, Klaviyo segments). `--dry-run` reads both CRMs and prints the plan; it writes nothing.
 */
export async function setupCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    to: { type: "string" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    cap: { type: "string" },
    "scan-klaviyo": { type: "boolean" },
  }, "setup");
  if (positionals.length) throw new UsageError(`setup: unexpected argument "${positionals[0]}"`);
  const to = parseTo(values.to);
  const dryRun = values["dry-run"] ?? false;
  // --cap, else FASHIONAI_SEGMENT_CAP, else the override file's segments.toneCap (per CRM), else 50.
  let cap: number | undefined;
  try {
    cap = readSegmentCapOverride(io.env, values.cap);
  } catch (err) {
    if (values.cap !== undefined && err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  const config = loadConfig(io.env);
  const enabled = enabledConnectors(config);
  // Even a dry run reads the CRMs (what exists, which tone values are known), so it needs their tokens.
  if (enabled.length === 0) {
    throw new ConfigError("no CRM is configured: set HUBSPOT_ACCESS_TOKEN and/or KLAVIYO_API_KEY (setup reads the CRM even with --dry-run)");
  }
  for (const name of to ?? []) {
    if (!enabled.includes(name)) throw new ConfigError(`--to ${name} needs ${CRM_VARIABLE[name]} to be set`);
  }
  const targets = to ?? enabled;
  const log = createLogger({ env: io.env, write: (line) => io.stderr(line + "\n") });
  const services = createSegmentServices(config, { log, klaviyoWriteRate: readKlaviyoWriteRate(io.env) });
  const report = await runSetup(services, { targets, dryRun, ...(cap === undefined ? {} : { cap }), ...(values["scan-klaviyo"] ? { scanKlaviyo: true } : {}) });
  if (report.configError) io.stderr(`configuration error: ${report.configError}\n`);
  if (values.json) printJson(report, io.stdout);
  else io.stdout(renderSetup(report) + "\n");
  return setupExitCode(report);
}

const STATUS_TEXT: Record<string, string> = {
  would_create: "would create", would_update: "would update", conflict: "CONFLICT", failed: "FAILED",
};

/** The human summary of a setup run: the tone values, the schema, one row per segment, then the counts. */
export function renderSetup(r: SetupReport): string {
  const lines: string[] = [];
  const from = [r.tones.sources.hubspot ? "HubSpot property options" : "", r.tones.sources.klaviyo ? "Klaviyo profiles" : ""].filter(Boolean).join(" + ");
  lines.push(`${r.dryRun ? "Dry run — nothing is written. " : ""}Tone values: ${r.tones.total} known (from ${from || "nowhere"}); ` +
    `cap ${r.caps ? Object.entries(r.caps).map(([crm, n]) => `${n} in ${crm}`).join(", ") : r.cap}: ` +
    `${r.tones.segmented.length} get a segment, ${r.tones.pastCap.length} past the cap.`);
  const s = r.schema?.hubspot;
  if (s) {
    const verb = r.dryRun ? "would be " : "";
    const parts = [
      s.groupCreated ? `group ${s.group ?? "fashionai"} ${verb}created` : "",
      s.propertiesCreated.length ? `${s.propertiesCreated.length} properties ${verb}created` : "",
      ...Object.entries(s.optionsAdded).map(([p, o]) => `${o.length} option${o.length === 1 ? "" : "s"} ${verb}added to ${p}`),
      ...s.conflicts,
    ].filter(Boolean);
    lines.push(`HubSpot schema: ${parts.length ? parts.join("; ") : "unchanged"}`);
  }
  lines.push("");
  lines.push(renderTable(
    ["crm", "segment", "status", "details"],
    r.segments.map((o) => [o.crm, o.name, STATUS_TEXT[o.status] ?? o.status, [o.id ? `id ${o.id}` : "", o.reason ?? ""].filter(Boolean).join(" — ")]),
    70,
  ));
  if (r.tones.pastCap.length) {
    lines.push("", `Past the cap of ${r.cap} (no segment; raise --cap, FASHIONAI_SEGMENT_CAP or segments.toneCap to include them):`);
    for (const t of r.tones.pastCap) lines.push(`  ${t.label}${t.profiles === undefined ? "" : ` (${t.profiles} profiles)`}`);
  }
  const other = r.warnings.filter((w) => !w.includes("past the cap"));
  if (other.length) lines.push("", ...other.map((w) => `warning: ${w}`));
  lines.push("");
  for (const [crm, c] of Object.entries(r.summary.byCrm)) {
    const planned = r.dryRun ? `${c.would_create} to create, ${c.would_update} to update, ` : `${c.created} created, ${c.updated} updated, `;
    lines.push(`${crm}: ${planned}${c.unchanged} unchanged, ${c.conflicts} conflicts, ${c.failed} failed`);
  }
  if (r.configError) lines.push(`configuration error: ${r.configError}`);
  return redact(lines.join("\n"));
}
