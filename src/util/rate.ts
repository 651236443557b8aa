// Client-side rate control for long in-process runs (local backfills, the benchmark). One RateGate per API
// (or per endpoint family with its own vendor limit). A call goes through `gate.run(fn)`, which waits until
//   - no Retry-After pause is in force,
//   - fewer than `concurrency` calls are in flight (AIMD: cut by a quarter on a 429, +1 per `concurrency` successes),
//   - every known rolling window (e.g. HubSpot's 100 per 10 s) has room, and
//   - the learned rate allows it (unknown limits, e.g. Fashion.AI's: learned from the first 429 as 95% of the
//     rate that was just accepted, cut a little more when 429s come back within the hold time — a lot more if
//     they come in numbers — probed upwards again after a quiet spell, and dropped once well past where it
//     was cut). See onRateLimited for when everything pauses for Retry-After.
// Grants are FIFO, so no caller starves. Retrying is not done here: the caller's retry loop sleeps the
// Retry-After of the call that got the 429 and calls `run` again.

import { ConfigError } from "../config.js";
import { SyncError } from "../errors.js";
import type { Logger } from "./log.js";

export interface RateWindow {
  /** Calls allowed per window. */
  limit: number;
  windowMs: number;
}

export interface RateGateOptions {
  name: string;
  /** Most calls in flight at once; AIMD moves between `minConcurrency` and this. */
  maxConcurrency: number;
  minConcurrency?: number;
  /** Known (published) limits, kept client-side as rolling windows. */
  windows?: RateWindow[];
  /** Extra time added to each window, so network jitter cannot squeeze 101 calls into a server's 10 s. Default 150 ms. */
  windowSlackMs?: number;
  /** Learn a rate from 429s (default true). */
  adaptive?: boolean;
  /** How long a learned rate is held before probing upwards (default 60 s). */
  holdMs?: number;
  /** Probing speed: relative increase per second once the hold is over (default 0.01). */
  probePerSecond?: number;
  log?: Logger;
  now?: () => number;
}

export interface RateGateStats {
  name: string;
  calls: number;
  rateLimited: number;
  /** Current AIMD concurrency (rounded down). */
  concurrency: number;
  /** Current learned rate in calls/s; undefined when unlimited. */
  ratePerSecond: number | undefined;
  /** Total time spent paused for Retry-After, ms. */
  pausedMs: number;
}

interface Waiter {
  /** Resolved with the grant time. */
  resolve: (grantedAt: number) => void;
}

const SUCCESS_WINDOW_MS = 1000;
const BURST_MS = 30;
/** The learned rate, as a share of the rate accepted just before the first 429. */
const FIRST_CUT = 0.97;
/** Cut for an isolated 429 while the gate kept to its rate (jitter at the server). */
const JITTER_CUT = 0.99;
/** A trim is undone after this long without a 429. */
const TRIM_RECOVERY_MS = 10_000;
/** Cut for a real overload (429s in numbers, or the gate was above its rate). */
const ESCALATED_CUT = 0.75;
/**
 * 429s on calls granted well after a jitter cut (LATE_AFTER_MS) that show the limit really is lower: at least
 * this many, and at least 5% of the rate. A server that stalled and then took a backlog at once rejects the
 * calls of that backlog, not the ones sent half a second after the cut.
 */
const LATE_429S = 3;
const LATE_AFTER_MS = 500;

export class RateGate {
  readonly name: string;
  private readonly opts: Required<Omit<RateGateOptions, "log" | "windows" | "now">> & { windows: RateWindow[] };
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private concurrency: number;
  private inFlight = 0;
  private readonly queue: Waiter[] = [];
  /** Send times per window, oldest first. */
  private readonly sends: number[][];
  private pausedUntil = 0;
  private episodeUntil = 0;
  private rate = Infinity;
  private nextAt = 0;
  private lastCutAt = -Infinity;
  private cutFrom = 0;
  private lastProbeAt = 0;
  private readonly successes: number[] = [];
  /** Grant times in the last second (was the gate keeping to its rate when a 429 came?). */
  private readonly grants: number[] = [];
  private episodeStart = 0;
  /** The pace set by the last real cut (or probing); jitter trims go below it for a while. */
  private base = Infinity;
  private lastTrimAt = -Infinity;
  private late429 = 0;
  private episodeEscalated = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private calls = 0;
  private rateLimited = 0;
  private pausedMs = 0;

  constructor(options: RateGateOptions) {
    this.name = options.name;
    this.opts = {
      name: options.name,
      maxConcurrency: Math.max(1, options.maxConcurrency),
      minConcurrency: Math.max(1, Math.min(options.minConcurrency ?? 1, options.maxConcurrency)),
      windows: (options.windows ?? []).filter((w) => w.limit > 0 && w.windowMs > 0),
      windowSlackMs: options.windowSlackMs ?? 150,
      adaptive: options.adaptive ?? true,
      holdMs: options.holdMs ?? 60_000,
      probePerSecond: options.probePerSecond ?? 0.01,
    };
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.concurrency = this.opts.maxConcurrency;
    this.sends = this.opts.windows.map(() => []);
  }

  /** Runs `fn` when the gate allows, and learns from its outcome (a SyncError of kind rate_limited is a 429). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const grantedAt = await this.acquire();
    try {
      const out = await fn();
      this.onSuccess();
      return out;
    } catch (err) {
      if (err instanceof SyncError && err.kind === "rate_limited") this.onRateLimited(err.retryAfterMs, grantedAt);
      throw err;
    } finally {
      this.inFlight -= 1;
      this.pump();
    }
  }

  stats(): RateGateStats {
    return {
      name: this.name, calls: this.calls, rateLimited: this.rateLimited, concurrency: Math.floor(this.concurrency),
      ratePerSecond: Number.isFinite(this.rate) ? Math.round(this.rate * 10) / 10 : undefined, pausedMs: this.pausedMs,
    };
  }

  /** Stops the pump timer (pending waiters stay pending); for the end of a run. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private acquire(): Promise<number> {
    return new Promise((resolve) => {
      this.queue.push({ resolve });
      this.pump();
    });
  }

  /** Grants as many queued calls as the limits allow now; otherwise sleeps until the earliest possible grant. */
  private pump(): void {
    while (this.queue.length > 0) {
      const now = this.now();
      if (this.inFlight >= Math.floor(this.concurrency)) return; // a release will pump again
      const wait = this.waitMs(now);
      if (wait > 0) {
        this.schedule(now + wait);
        return;
      }
      const waiter = this.queue.shift()!;
      this.grant(now);
      waiter.resolve(now);
    }
  }

  private schedule(at: number): void {
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(1, Math.ceil(at - this.now())));
  }

  private waitMs(now: number): number {
    let wait = this.pausedUntil - now;
    this.opts.windows.forEach((w, i) => {
      const log = this.sends[i]!;
      const span = w.windowMs + this.opts.windowSlackMs;
      while (log.length > 0 && log[0]! <= now - span) log.shift();
      if (log.length >= w.limit) wait = Math.max(wait, log[log.length - w.limit]! + span - now);
    });
    if (Number.isFinite(this.rate)) {
      this.probe(now);
      const spacing = 1000 / this.rate;
      // A small burst allowance (~30 ms worth, inside the margin below the learned limit) keeps pacing smooth without sleeping for every call.
      wait = Math.max(wait, this.nextAt - now - Math.max(spacing, BURST_MS));
    }
    return wait;
  }

  private grant(now: number): void {
    if (Number.isFinite(this.rate)) {
      this.grants.push(now);
      while (this.grants.length > 0 && this.grants[0]! <= now - SUCCESS_WINDOW_MS) this.grants.shift();
    }
    this.inFlight += 1;
    this.calls += 1;
    for (const log of this.sends) log.push(now);
    if (Number.isFinite(this.rate)) this.nextAt = Math.max(this.nextAt, now - BURST_MS) + 1000 / this.rate;
  }

  private onSuccess(): void {
    const now = this.now();
    this.successes.push(now);
    while (this.successes.length > 0 && this.successes[0]! <= now - SUCCESS_WINDOW_MS) this.successes.shift();
    if (this.concurrency < this.opts.maxConcurrency) {
      this.concurrency = Math.min(this.opts.maxConcurrency, this.concurrency + 1 / this.concurrency);
    }
  }

  /**
   * A 429. The call that got it waits its own Retry-After (the caller's retry loop sleeps it). The gate cuts once
   * per episode (the calls already in flight when the first 429 came back belong to it):
   *  - the first 429 ever, or one after probing upwards: to 97% of the rate just accepted, and everything pauses
   *    until Retry-After (the server's window is full);
   *  - another within the hold time while the gate kept to its rate: a 1% trim, without pausing the others and
   *    undone after 10 s without a 429 — an isolated 429 at a rate that held is most likely arrival jitter;
   *  - but if calls granted well after that cut keep getting 429s, the limit really is lower: a further 25% and
   *    a pause.
   * Concurrency is cut by a quarter each episode.
   */
  private onRateLimited(retryAfterMs: number | undefined, grantedAt: number): void {
    const now = this.now();
    this.rateLimited += 1;
    const pause = Math.max(0, retryAfterMs ?? 1000);
    if (now < this.episodeUntil) {
      // Same episode. Calls granted after the cut that still get 429s mean the cut was not enough.
      if (grantedAt > this.episodeStart + LATE_AFTER_MS) this.late429 += 1;
      if (this.late429 >= Math.max(LATE_429S, this.rate * 0.05) && !this.episodeEscalated && this.opts.adaptive && Number.isFinite(this.rate)) {
        this.episodeEscalated = true;
        this.rate = Math.max(0.2, this.rate * ESCALATED_CUT);
        this.base = this.rate;
        this.lastCutAt = now;
        this.lastProbeAt = now;
        this.pauseFor(now, pause);
        this.episodeUntil = Math.max(this.episodeUntil, now + Math.max(pause, 250));
        this.log?.warn("rate limited again: slowing down further", { api: this.name, ratePerSecond: Math.round(this.rate * 10) / 10 });
      }
      return;
    }
    this.episodeStart = now;
    this.episodeUntil = now + Math.max(pause, 2000);
    this.episodeEscalated = false;
    this.late429 = 0;
    this.concurrency = Math.max(this.opts.minConcurrency, Math.floor(this.concurrency * 0.75));
    if (!this.opts.adaptive) {
      this.pauseFor(now, pause);
      return;
    }
    while (this.successes.length > 0 && this.successes[0]! <= now - SUCCESS_WINDOW_MS) this.successes.shift();
    while (this.grants.length > 0 && this.grants[0]! <= now - SUCCESS_WINDOW_MS) this.grants.shift();
    const measured = this.successes.length * (1000 / SUCCESS_WINDOW_MS);
    const granted = this.grants.length * (1000 / SUCCESS_WINDOW_MS);
    const withinHold = Number.isFinite(this.rate) && now - this.lastCutAt < this.opts.holdMs;
    const before = this.rate;
    let next: number;
    if (withinHold && granted <= this.rate * 1.1) {
      // A trim, not a new limit: undone after a quiet spell (see probe), and the hold keeps running.
      this.rate = Math.max(0.2, this.rate * JITTER_CUT);
      this.lastTrimAt = now;
      this.log?.warn("rate limited: trimming the pace", { api: this.name, ratePerSecond: Math.round(this.rate * 10) / 10 });
      return;
    }
    if (withinHold) next = this.rate * ESCALATED_CUT;
    else if (measured > 0) next = Number.isFinite(this.rate) ? Math.min(measured * FIRST_CUT, this.rate) : measured * FIRST_CUT;
    else next = Number.isFinite(this.rate) ? this.rate * ESCALATED_CUT : 1;
    this.rate = Math.max(0.2, next);
    this.base = this.rate;
    this.pauseFor(now, pause);
    this.cutFrom = Math.max(measured, Number.isFinite(before) ? before : 0);
    this.lastCutAt = now;
    this.lastProbeAt = now;
    this.log?.warn("rate limited: slowing down", {
      api: this.name, retryAfterMs: pause, ratePerSecond: Math.round(this.rate * 10) / 10, concurrency: Math.floor(this.concurrency),
      acceptedLastSecond: measured, sentLastSecond: granted,
    });
  }

  private pauseFor(now: number, pause: number): void {
    const until = now + pause;
    if (until <= this.pausedUntil) return;
    this.pausedMs += Math.max(0, until - Math.max(now, this.pausedUntil));
    this.pausedUntil = until;
    this.nextAt = Math.max(this.nextAt, until);
  }

  /** After a quiet hold, raise the learned rate a little each second; drop it once well past where it was cut. */
  private probe(now: number): void {
    // Jitter trims are undone one by one after quiet spells, back to the learned pace.
    if (this.rate < this.base && now - this.lastTrimAt >= TRIM_RECOVERY_MS) {
      this.rate = Math.min(this.base, this.rate / JITTER_CUT);
      this.lastTrimAt = now;
    }
    if (now - this.lastCutAt < this.opts.holdMs) return;
    const dt = (now - Math.max(this.lastProbeAt, this.lastCutAt + this.opts.holdMs)) / 1000;
    if (dt <= 0) return;
    this.rate *= 1 + this.opts.probePerSecond * dt;
    this.base = Math.max(this.base, this.rate);
    this.lastProbeAt = now;
    if (this.rate > this.cutFrom * 2 + 1) {
      this.rate = Infinity;
      this.log?.info("rate limit cleared: back to full speed", { api: this.name });
    }
  }
}

/** Parses "100/10s", "150/1m", "10/s", "4/1s" into a window. */
export function parseRateWindow(text: string): RateWindow | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|min|h)\s*$/i.exec(text);
  if (!m) return undefined;
  const limit = Number(m[1]);
  const n = m[2] === undefined ? 1 : Number(m[2]);
  const unit = m[3]!.toLowerCase();
  const ms = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "h" ? 3_600_000 : 60_000;
  if (!(limit > 0) || !(n > 0)) return undefined;
  return { limit, windowMs: n * ms };
}

/** A comma-separated list of windows ("10/s,150/m"); "off" or "" gives none. */
export function parseRateWindows(text: string | undefined, variable: string): RateWindow[] | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === "" || t.toLowerCase() === "off" || t === "0") return [];
  const out: RateWindow[] = [];
  for (const part of t.split(",")) {
    const w = parseRateWindow(part);
    if (!w) throw new ConfigError(`${variable} must look like "100/10s" or "10/s,150/m" (or "off"), got "${text}"`);
    out.push(w);
  }
  return out;
}
