import { loadConfig } from "../config.js";
import { runDoctor, type DoctorCheck, type DoctorReport } from "../doctor/index.js";
import { redact } from "../util/redact.js";
import { UsageError, parse } from "./args.js";
import { printJson } from "./output.js";
import type { CommandIo } from "./sync.js";

export const DOCTOR_USAGE = "fashionai-sync doctor [--json]";

/**
 * Checks the configuration and every configured credential with cheap reads, and the HubSpot schema
 * against the mapping. Exit 0 when a sync would work, 2 for a configuration problem (wrong token,
 * missing scope, property type conflict), 1 when a service could not be reached.
 */
export async function doctorCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: "boolean" } }, "doctor");
  if (positionals.length) throw new UsageError(`doctor: unexpected argument "${positionals[0]}"`);
  const config = loadConfig(io.env);
  const report = await runDoctor(config, io.env);
  if (values.json) printJson(report, io.stdout);
  else io.stdout(renderDoctor(report) + "\n");
  return report.exitCode;
}

const SERVICE_LABEL: Record<DoctorCheck["service"], string> = {
  config: "Configuration", fashionai: "Fashion.AI", hubspot: "HubSpot", klaviyo: "Klaviyo", inngest: "Inngest",
};
const MARK: Record<DoctorCheck["status"], string> = { ok: "ok", warn: "WARN", error: "ERROR", info: "info" };

/** Grouped by service: `  ok     credential  FASHIONAI_APP_TOKEN accepted …`, fixes indented below. */
export function renderDoctor(report: DoctorReport): string {
  const lines: string[] = [];
  const width = Math.max(...report.checks.map((c) => c.check.length), 5);
  let service: string | undefined;
  const fixes = new Set<string>();
  for (const c of report.checks) {
    if (c.service !== service) {
      service = c.service;
      lines.push((lines.length ? "\n" : "") + SERVICE_LABEL[c.service]);
    }
    lines.push(`  ${MARK[c.status].padEnd(5)}  ${c.check.padEnd(width)}  ${c.message}`);
    // The same advice once per service, under its first problem.
    if (c.fix && c.status !== "ok" && !fixes.has(`${c.service}\0${c.fix}`)) {
      fixes.add(`${c.service}\0${c.fix}`);
      lines.push(`  ${" ".repeat(5)}  ${" ".repeat(width)}  fix: ${c.fix}`);
    }
  }
  const warnings = report.checks.filter((c) => c.status === "warn").length;
  lines.push("");
  if (report.ok) {
    lines.push(`All set: a sync would work${warnings ? ` (see the warning${warnings === 1 ? "" : "s"} above)` : ""}.`);
  } else if (report.exitCode === 2) {
    lines.push("A sync would fail: fix the ERROR lines above (exit 2, configuration).");
  } else {
    lines.push("A service could not be reached: see the ERROR lines above and try again (exit 1).");
  }
  return redact(lines.join("\n"));
}
