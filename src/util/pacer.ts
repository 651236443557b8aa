import { ConfigError } from "../config.js";
import { sleep as realSleep, type Sleep } from "./retry.js";

/** At most `count` calls in any `windowMs`. */
export interface RateWindow {
  count: number;
  windowMs: number;
}

/**
 * Spaces out calls so they stay under every window (a vendor's burst and steady limits), so a run
 * that must make many slow-limited calls (Klaviyo segment writes: 1/s, 15/min) waits on its own
 * instead of collecting 429s. 429s are still handled by the retry loop; this only avoids them.
 */
export class Pacer {
  private readonly stamps: number[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly windows: readonly RateWindow[],
    private readonly opts: { sleep?: Sleep; now?: () => number } = {},
  ) {}

  /** Waits until one more call fits in every window, then counts it. Calls are served in order. */
  take(): Promise<void> {
    const next = this.queue.then(() => this.takeNow());
    this.queue = next.catch(() => {});
    return next;
  }

  private async takeNow(): Promise<void> {
    const now = this.opts.now ?? Date.now;
    const sleep = this.opts.sleep ?? realSleep;
    for (;;) {
      const t = now();
      let wait = 0;
      for (const w of this.windows) {
        const inWindow = this.stamps.filter((s) => t - s < w.windowMs);
        if (inWindow.length >= w.count) wait = Math.max(wait, inWindow[inWindow.length - w.count]! + w.windowMs - t);
      }
      if (wait <= 0) break;
      await sleep(wait);
    }
    this.stamps.push(now());
    const longest = Math.max(0, ...this.windows.map((w) => w.windowMs));
    while (this.stamps.length > 0 && now() - this.stamps[0]! >= longest) this.stamps.shift();
  }
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a rate such as `1/s,15/m` (Klaviyo's published limits for segment writes). `off` (or `0`)
 * disables pacing. Throws ConfigError naming `variable` on anything else.
 */
export function parseRate(value: string, variable: string): RateWindow[] {
  const raw = value.trim().toLowerCase();
  if (raw === "off" || raw === "0" || raw === "none") return [];
  const windows: RateWindow[] = [];
  for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)\s*\/\s*(\d*)\s*([smhd])$/.exec(part);
    if (!m || Number(m[1]) < 1) {
      throw new ConfigError(`${variable} must look like "1/s,15/m" (count per s, m, h or d) or "off", got "${value}"`);
    }
    windows.push({ count: Number(m[1]), windowMs: (m[2] ? Number(m[2]) : 1) * UNIT_MS[m[3]!]! });
  }
  if (windows.length === 0) throw new ConfigError(`${variable} is empty; use e.g. "1/s,15/m" or "off"`);
  return windows;
}
