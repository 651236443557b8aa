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
  const line = (cells: string[]) => cells.map((c, i) => pad(clip(c, widths[i]!), widths[i]!)).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function connectorCell(r: RecordResult, name: "hubspot" | "klaviyo"): string {
  const c = r.connectors?.[name];
  if (!c) return "-";
  return c.event ? `${c.status} +event` : c.status;
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
  if (report.configError) lines.push(`configuration error: ${report.configError}`);
  return redact(lines.join("\n"));
}

export function exitCodeFor(report: SyncReport): number {
  if (report.configError) return 2;
  return report.summary.invalid + report.summary.failed > 0 ? 1 : 0;
}
