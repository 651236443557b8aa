import { loadConfig } from "../config.js";
import { runSync } from "../pipeline/sync.js";
import type { SyncReport, SyncRequest } from "../pipeline/types.js";
import { createRuntime } from "../runtime.js";
import { createLogger } from "../util/log.js";
import { UsageError, parse, parseBy, parseTo } from "./args.js";
import { exitCodeFor, printJson, renderReport } from "./output.js";

export interface CommandIo {
  env: Record<string, string | undefined>;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export async function syncCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    by: { type: "string" },
    email: { type: "string" },
    to: { type: "string" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
  }, "sync");
  if (positionals.length === 0) throw new UsageError("sync: give at least one identifier", "e.g. `fashionai-sync sync customer@example.com`");
  const by = parseBy(values.by);
  if (values.email !== undefined && positionals.length !== 1) {
    throw new UsageError("--email gives the CRM key of a single lookup; pass one identifier with it");
  }
  const to = parseTo(values.to);
  const dryRun = values["dry-run"] ?? false;
  const config = loadConfig(io.env);
  const log = createLogger({ env: io.env, write: (line) => io.stderr(line + "\n") });
  const runtime = createRuntime(config, { ...(to ? { to } : {}), dryRun, log });
  let report: SyncReport;
  try {
    const requests: SyncRequest[] = positionals.map((identifier) => ({
      identifier, by, ...(values.email !== undefined ? { email: values.email } : {}),
    }));
    report = await runSync(requests, runtime.deps);
  } finally {
    await runtime.close();
  }
  if (report.configError) io.stderr(`configuration error: ${report.configError}\n`);
  if (values.json) printJson(report, io.stdout);
  else io.stdout(renderReport(report) + "\n");
  return exitCodeFor(report);
}
