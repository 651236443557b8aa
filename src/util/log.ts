// Structured logs (pino) on stderr, so stdout stays a clean JSON document for `--json`.
//
//   - JSON lines when stderr is not a terminal (log shippers, CI, Inngest hosts); a short human line
//     when it is. LOG_FORMAT=json|pretty overrides the guess.
//   - Every line goes through `redact` before it leaves the process (after pino has serialised it, so
//     nested fields and error stacks are covered too).
//   - Well-known fields: `record` (the requested identifier), `connector` (fashionai, hubspot,
//     klaviyo), `step` (prepare, fetch, map, read, write, plan, summary, …) and `outcome`.
//   - Levels: per-record lines are `debug` (a 10k-record backfill must not print 10k lines by
//     default), failed records and retries `warn`, run summaries and schema changes `info`.
import { pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from "pino";
import { redact } from "./redact.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  /** Lowest level written; default LOG_LEVEL, else info. `silent` writes nothing. */
  level?: LogLevel | "silent";
  /** JSON lines (default when stderr is not a TTY, or LOG_FORMAT=json) or human lines. */
  json?: boolean;
  /** Where each finished line goes (without its newline); default stderr. */
  write?: (line: string) => void;
  /** Fields carried by every line. */
  base?: Record<string, unknown>;
  /** Environment read for LOG_LEVEL / LOG_FORMAT; default process.env. */
  env?: Record<string, string | undefined>;
}

/** Order of the well-known fields in a human line. */
const KNOWN_FIELDS = ["record", "connector", "step", "outcome"] as const;

function levelFrom(raw: string | undefined): LogLevel | "silent" {
  const v = raw?.trim().toLowerCase();
  if (v === "silent" || v === "none" || v === "off") return "silent";
  if (v === "warning") return "warn";
  return (LOG_LEVELS as readonly string[]).includes(v ?? "") ? (v as LogLevel) : "info";
}

function jsonFrom(env: Record<string, string | undefined>): boolean {
  const f = env.LOG_FORMAT?.trim().toLowerCase();
  if (f === "json") return true;
  if (f === "pretty" || f === "human" || f === "text") return false;
  return !process.stderr.isTTY;
}

function shown(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return JSON.stringify(v);
}

/**
 * One pino JSON line as a short human line: `12:03:04 WARN  msg  record=a@b.com connector=hubspot …`.
 * Anything that is not a JSON object is passed through unchanged.
 */
export function formatHuman(jsonLine: string): string {
  let o: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(jsonLine);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return jsonLine;
    o = parsed as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const { level, time, msg, ...rest } = o;
  const clock = typeof time === "string" ? time.slice(11, 19) : "";
  const lvl = String(level ?? "info").toUpperCase().padEnd(5);
  const parts: string[] = [];
  for (const k of KNOWN_FIELDS) {
    if (rest[k] !== undefined) parts.push(`${k}=${shown(rest[k])}`);
    delete rest[k];
  }
  for (const [k, v] of Object.entries(rest)) {
    if (k === "err" && v && typeof v === "object" && typeof (v as { message?: unknown }).message === "string") {
      parts.push(`err=${shown((v as { message: string }).message)}`);
    } else if (v !== undefined) {
      parts.push(`${k}=${shown(v)}`);
    }
  }
  return [clock, lvl, String(msg ?? ""), ...(parts.length ? [" " + parts.join(" ")] : [])].filter((s) => s !== "").join(" ");
}

function wrap(p: PinoLogger): Logger {
  const at = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (fields && Object.keys(fields).length > 0) p[level](fields, msg);
    else p[level](msg);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * Logs to stderr (or `write`). The interface is the project's small `Logger`, so callers never depend on
 * pino; `withFields` adds fields such as { record, connector } to any logger.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const env = opts.env ?? process.env;
  const level = opts.level ?? levelFrom(env.LOG_LEVEL);
  const json = opts.json ?? jsonFrom(env);
  const write = opts.write ?? ((line: string) => void process.stderr.write(line + "\n"));
  const destination: DestinationStream = {
    write(chunk: string) {
      const line = redact(chunk.endsWith("\n") ? chunk.slice(0, -1) : chunk);
      // Formatting may unescape JSON, so the human line is redacted again.
      write(json ? line : redact(formatHuman(line)));
    },
  };
  const p = pino(
    {
      level,
      base: opts.base ?? null,
      messageKey: "msg",
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return wrap(p);
}

/** A logger that adds `bindings` to every line (the call's own fields win). Works with any Logger. */
export function withFields(log: Logger, bindings: Record<string, unknown>): Logger {
  const at = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => log[level](msg, { ...bindings, ...fields });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
