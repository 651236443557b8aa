import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs); undefined when it is not JSON. */
  json: any;
}

/**
 * Runs the real CLI in a child process, exactly as `npm run cli -- ...` does, with only the
 * environment given (plus PATH/HOME), so a developer's own credentials never leak into a test.
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, opts: { timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: REPO_ROOT,
      env: cliEnv(env) as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, json: parseJson(stdout) });
    });
  });
}

/** The environment a CLI run gets: only what is given, plus PATH/HOME (and LOG_LEVEL=info unless given). */
function cliEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: "info", ...env };
}

function parseJson(stdout: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    return undefined;
  }
}

let piped = 0;
let ownIsTTY: PropertyDescriptor | undefined;

/**
 * The same run as runCli, in-process: `main(argv, io)` of src/cli/main.ts with the same environment and
 * stdout/stderr captured, and stderr seen as a pipe as in a child process (JSON log lines, no progress bar).
 * About a hundred times cheaper than a child process; keep runCli where the process boundary itself is
 * under test (exit status of the binary, bytes on the real stdout/stderr, the bin entry, signals).
 */
export async function runMain(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  // The logger picks its format from process.stderr.isTTY: make it a pipe for the duration of the run
  // (counted, as concurrent tests may overlap).
  if (piped++ === 0) {
    ownIsTTY = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
    Object.defineProperty(process.stderr, "isTTY", { value: undefined, configurable: true, writable: true });
  }
  try {
    const io = {
      env: cliEnv(env),
      stdout: (s: string) => void (stdout += s),
      stderr: (s: string) => void (stderr += s),
      stderrIsTTY: false, // backfill's progress bar, as for a child whose stderr is a pipe
    };
    const code = await main([...args], io);
    return { code, stdout, stderr, json: parseJson(stdout) };
  } finally {
    if (--piped === 0) {
      if (ownIsTTY) Object.defineProperty(process.stderr, "isTTY", ownIsTTY);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
  }
}
