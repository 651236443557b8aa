import { readFileSync } from "node:fs";
import { ConfigError } from "../config.js";
import { redact } from "../util/redact.js";
import { UsageError } from "./args.js";
// Commands load lazily: help and usage errors must not pay for loading the CRM SDKs.
import type { CommandIo } from "./sync.js";

const USAGE = `fashionai-sync — keeps HubSpot contacts and Klaviyo profiles enriched with Fashion.AI profiles

Usage:
  fashionai-sync sync <identifier...> [--by email|phone|document|user-profile-id] [--email <crm email>]
                      [--to hubspot,klaviyo] [--dry-run] [--json]
  fashionai-sync setup [--to hubspot,klaviyo] [--dry-run] [--json] [--cap N] [--scan-klaviyo]
                                           create or update the HubSpot properties and options, then the
                                           segments (HubSpot lists, Klaviyo segments); --dry-run shows the plan
  fashionai-sync backfill --source hubspot|klaviyo|<file.csv|file.ndjson> [--to ...] [--local] [--dry-run] [--json]
                      [--modified-since DATE] [--results all|problems] [--id ID]
                                           re-sync a whole audience: send it to Inngest, or with --local run it
                                           here (streamed, batched, rate-controlled, progress bar on a terminal)
  fashionai-sync serve [--port N]          serve the Inngest functions at /api/inngest (and GET /healthz)
  fashionai-sync demo                      sync sample profiles into local sandbox APIs and show the result
  fashionai-sync sandbox [--port N]        keep the local sandbox APIs running and print their environment,
                                           to try every command by hand without credentials
  fashionai-sync doctor [--json]           check each credential, its scopes and the HubSpot schema (reads only)
  fashionai-sync help [command]           this text, or one command's (also: <command> --help)
  fashionai-sync --version

Every command takes --config <file>: the mapping override file (default ./fashionai-sync.config.json when it
exists, or FASHIONAI_SYNC_CONFIG); see README.md "Configuration file".

Exit codes: 0 all synced or not found, 1 some invalid or failed, 2 usage or configuration error.
Environment: FASHIONAI_APP_TOKEN, HUBSPOT_ACCESS_TOKEN, KLAVIYO_API_KEY (see README.md).`;

type Command = (argv: string[], io: CommandIo) => Promise<number>;

const COMMANDS = ["sync", "setup", "backfill", "serve", "demo", "sandbox", "doctor"] as const;

/** The lines of USAGE about one command, plus the notes every command shares. */
function commandUsage(name: string): string {
  const lines = USAGE.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`  fashionai-sync ${name}`));
  let end = start + 1;
  while (end < lines.length && lines[end]!.startsWith("    ")) end++;
  const footer = lines.slice(lines.findIndex((l) => l.startsWith("Every command takes")));
  return ["Usage:", ...lines.slice(start, end), "", ...footer].join("\n");
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

async function loadCommand(name: string): Promise<Command | undefined> {
  switch (name) {
    case "sync":
      return (await import("./sync.js")).syncCommand;
    case "setup":
      return (await import("./setup.js")).setupCommand;
    case "serve":
      return (await import("./serve.js")).serveCommand;
    case "demo":
      return (await import("./demo.js")).demoCommand;
    case "doctor":
      return (await import("./doctor.js")).doctorCommand;
    case "sandbox":
      return (await import("./sandbox.js")).sandboxCommand;
    case "backfill": {
      const { backfillCommand } = await import("./backfill.js");
      // The progress bar is drawn only when stderr is a terminal.
      return (args, io) => backfillCommand(args, { stderrIsTTY: process.stderr.isTTY === true, stderrColumns: process.stderr.columns, ...io });
    }
    default:
      return undefined;
  }
}

/**
 * `--config <file>` / `--config=<file>`, accepted anywhere before a `--` by every command: it names the
 * mapping override file and is passed on as FASHIONAI_SYNC_CONFIG (which it overrides).
 */
export function takeConfigFlag(argv: readonly string[]): { argv: string[]; config?: string } {
  const out: string[] = [];
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    if (a === "--config" || a.startsWith("--config=")) {
      const value = a === "--config" ? argv[++i] : a.slice("--config=".length);
      if (value === undefined || value.trim() === "" || (a === "--config" && value.startsWith("-"))) {
        throw new UsageError("--config needs the path of the mapping override file, e.g. --config fashionai-sync.config.json");
      }
      config = value;
      continue;
    }
    out.push(a);
  }
  return config === undefined ? { argv: out } : { argv: out, config };
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  let taken: ReturnType<typeof takeConfigFlag>;
  try {
    taken = takeConfigFlag(argv);
  } catch (err) {
    io.stderr(`usage error: ${(err as Error).message}\n`);
    return 2;
  }
  if (taken.config !== undefined) io = { ...io, env: { ...io.env, FASHIONAI_SYNC_CONFIG: taken.config } };
  const [name, ...rest] = taken.argv;
  if (name === "--version" || name === "-v" || name === "version") {
    io.stdout(`fashionai-sync ${version()}\n`);
    return 0;
  }
  const flags = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  const helpFor = name === "help" ? rest[0] : flags.some((a) => a === "--help" || a === "-h") ? name : undefined;
  if (helpFor !== undefined) {
    if (!(COMMANDS as readonly string[]).includes(helpFor)) {
      io.stderr(`unknown command "${helpFor}" (run \`fashionai-sync help\` for the list)\n`);
      return 2;
    }
    io.stdout(commandUsage(helpFor) + "\n");
    return 0;
  }
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    // Asked-for help is output (stdout, exit 0); help shown because the command was missing is an error.
    (name === undefined ? io.stderr : io.stdout)(USAGE + "\n");
    return name === undefined ? 2 : 0;
  }
  const command = await loadCommand(name);
  if (!command) {
    io.stderr(`unknown command "${name}" (run \`fashionai-sync help\` for the list)\n`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.stderr(redact(`${err instanceof UsageError ? "usage" : "configuration"} error: ${err.message}`) + "\n");
      return 2;
    }
    // An unexpected error: its message for people, the stack only when asked for (LOG_LEVEL=debug).
    const detail = io.env.LOG_LEVEL === "debug" ? (err as Error)?.stack : (err as Error)?.message;
    io.stderr(redact(`error: ${detail ?? String(err)}`) + "\n");
    return 1;
  }
}

const isEntry = process.argv[1] !== undefined && /cli[/\\]main\.[tj]s$|fashionai-sync(\.mjs)?$/.test(process.argv[1]);
if (isEntry) {
  const io: CommandIo = {
    env: process.env,
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  };
  main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
