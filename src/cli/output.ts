import type { RecordResult, SyncReport } from "../pipeline/types.js";
import { redact } from "../util/redact.js";

export function printJson(doc: unknown, write: (s: string) => void = (s) => process.stdout.write(s)): void {
  write(redact(JSON.stringify(doc, null, 2)) + "\n");
}

/** Pads to a display width, counting each code point as one column (good enough for pt-BR text). */
function pad(s: string, width: number): string {
  const len = [...s].length;
  return len >= width ? s : s + " ".repeat(width - len);
}

function clip(s: string, width: number): string {
  const chars = [...s];
  return chars.length <= width ? s : chars.slice(0, width - 1).join("") + "…";
}

export function renderTable(headers: string[], rows: string[][], maxWidth = 48): string {
  const widths = headers.map((h, i) => Math.min(maxWidth, Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? "")].length))));
  // The last column (details, reasons) is never cut: it is where the fix for a failure is written.
  const last = headers.length - 1;
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === last ? c : pad(clip(c, widths[i]!), widths[i]!))).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function connectorCell(r: RecordResult, name: "hubspot" | "klaviyo"): string {
  const c = r.connectors?.[name];
  if (!c) return "-";
  let status: string = c.status;
  // Dry run with the CRM read: how much would change.
  if (c.status === "planned" && c.exists === false) status = "planned: new";
  else if (c.status === "planned" && c.diff) {
    const n = Object.keys(c.diff).length;
    status = n === 0 ? "planned: no change" : `planned: ${n} changed`;
  }
  return c.event ? `${status} +event` : status;
}

const CRM_LABEL = { hubspot: { name: "HubSpot", record: "contact" }, klaviyo: { name: "Klaviyo", record: "profile" } } as const;

function shortValue(v: unknown, width = 60): string {
  return clip(v === null || v === undefined ? "(empty)" : JSON.stringify(v), width);
}

/**
 * The dry run's per-property listing: for each record, per CRM, `property: old → new` for what would
 * change, then how many properties are already up to date. New records get one line.
 */
export function renderDiffs(report: SyncReport): string[] {
  const lines: string[] = [];
  for (const r of report.results) {
    const block: string[] = [];
    for (const name of ["hubspot", "klaviyo"] as const) {
      const c = r.connectors?.[name];
      if (!c || c.status !== "planned") continue;
      const label = name.padEnd(9);
      const indent = " ".repeat(11);
      if (c.diffError) {
        block.push(`  ${label}current values not read: ${c.diffError}`);
      } else if (c.exists === false) {
        const n = Object.keys(c.properties ?? {}).length;
        block.push(`  ${label}new ${CRM_LABEL[name].record}: ${n} propert${n === 1 ? "y" : "ies"} would be set`);
      } else if (c.diff) {
        const changed = Object.entries(c.diff);
        changed.forEach(([key, d], i) => block.push(`${i === 0 ? `  ${label}` : indent}${key}: ${shortValue(d.old)} → ${shortValue(d.new)}`));
        const same = c.unchanged?.length ?? 0;
        block.push(`${changed.length === 0 ? `  ${label}` : indent}${same} unchanged`);
      }
    }
    if (block.length) lines.push(r.identifier, ...block);
  }
  return lines;
}

/** The human summary of a sync: one row per record, then the counts. */
export function renderReport(report: SyncReport): string {
  const rows = report.results.map((r) => [
    r.identifier,
    r.status,
    connectorCell(r, "hubspot"),
    connectorCell(r, "klaviyo"),
    r.reason ?? (r.warnings.length ? `${r.warnings.length} warning(s): ${r.warnings[0]}` : ""),
  ]);
  const s = report.summary;
  const lines = [
    renderTable(["identifier", "status", "hubspot", "klaviyo", "details"], rows, 60),
    "",
    `requested ${s.requested}: ${s.synced} synced, ${s.not_found} not found, ${s.invalid} invalid, ${s.failed} failed`,
  ];
  const planned = report.results.some((r) => Object.values(r.connectors ?? {}).some((c) => c?.status === "planned"));
  if (planned) {
    const diffs = renderDiffs(report);
    // Before the counts, so the summary stays the last line.
    lines.splice(lines.length - 1, 0,
      diffs.length ? "Dry run: nothing was written. What would change (old → new):" : "Dry run: nothing was written.", ...diffs, "");
  }
  // The configuration error itself goes to stderr once (see the commands), not into the table.
  return redact(lines.join("\n"));
}

export function exitCodeFor(report: SyncReport): number {
  if (report.configError) return 2;
  return report.summary.invalid + report.summary.failed > 0 ? 1 : 0;
}
