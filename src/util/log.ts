import { redact } from "./redact.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Logs go to stderr so stdout stays a clean JSON document for `--json`. One JSON object per line
 * when stderr is not a terminal (for log shippers), a short human line when it is.
 */
export function createLogger(opts: { level?: LogLevel; json?: boolean; write?: (line: string) => void } = {}): Logger {
  const min = ORDER[opts.level ?? ((process.env.LOG_LEVEL as LogLevel | undefined) ?? "info")] ?? ORDER.info;
  const json = opts.json ?? !process.stderr.isTTY;
  const write = opts.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const line = json
      ? JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })
      : `${level === "info" ? "" : level.toUpperCase() + " "}${msg}${fields && Object.keys(fields).length ? " " + JSON.stringify(fields) : ""}`;
    write(redact(line));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
