// A one-line progress bar for local backfills, redrawn in place on stderr. Only for a terminal: when stderr is
// not a TTY (a log file, CI) or with --json, nothing is drawn and the logs stay clean.
import type { BackfillProgress } from "./local.js";

export interface ProgressBar {
  update(p: BackfillProgress): void;
  /** Clears the line (the summary follows). */
  done(): void;
}

const BAR = 24;

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** The text of the bar for a progress snapshot (exported for tests). */
export function renderProgress(p: BackfillProgress, width = 100): string {
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  const c = p.counts;
  const parts: string[] = [];
  if (p.fraction !== undefined) {
    const filled = Math.round(p.fraction * BAR);
    parts.push(`[${"█".repeat(filled)}${"░".repeat(BAR - filled)}] ${Math.floor(p.fraction * 100)}%`);
  } else {
    parts.push(`${fmt(p.read)} read`);
  }
  parts.push(`${fmt(p.done)} done`, `${fmt(Math.round(rate))}/s`);
  parts.push(`✓ ${fmt(c.synced)}  not found ${fmt(c.not_found)}  invalid ${fmt(c.invalid)}  failed ${fmt(c.failed)}`);
  if (p.fraction !== undefined && p.fraction > 0.02 && !p.finished) {
    parts.push(`ETA ${duration((p.elapsedMs / p.fraction) * (1 - p.fraction))}`);
  } else {
    parts.push(duration(p.elapsedMs));
  }
  const line = parts.join(" · ");
  return [...line].length > width ? [...line].slice(0, width - 1).join("") + "…" : line;
}

export function createProgressBar(opts: { enabled: boolean; write: (s: string) => void; columns?: number }): ProgressBar {
  if (!opts.enabled) return { update() {}, done() {} };
  let shown = false;
  return {
    update(p) {
      opts.write(`\r\x1b[2K${renderProgress(p, Math.max(40, (opts.columns ?? 100) - 1))}`);
      shown = true;
    },
    done() {
      if (shown) opts.write("\r\x1b[2K");
      shown = false;
    },
  };
}
