// Bad input at the edges: every command rejects unknown flags and bad combinations with exit 2, nothing on
// stdout and one line on stderr that says what is wrong and where to look — before any API is called.
import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";

async function run(args: string[]) {
  let stdout = "";
  let stderr = "";
  // No credentials at all: a usage error must be found before configuration is even read.
  const code = await main(args, { env: {}, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

const CASES: Array<[string[], RegExp]> = [
  [["sync", "a@example.com", "--bogus"], /unknown option '--bogus'/],
  [["setup", "--bogus"], /unknown option '--bogus'/],
  [["backfill", "--source", "hubspot", "--bogus"], /unknown option '--bogus'/],
  [["doctor", "--bogus"], /unknown option '--bogus'/],
  [["serve", "--bogus"], /unknown option '--bogus'/],
  [["demo", "--bogus"], /unknown option '--bogus'/],
  [["sandbox", "--bogus"], /unknown option '--bogus'/],
  [["sync"], /at least one identifier/],
  [["sync", "a@example.com", "--by", "fax"], /--by: unknown lookup "fax"/],
  [["sync", "a", "b", "--by", "phone", "--email", "x@example.com"], /--email .* single lookup/],
  [["sync", "a@example.com", "--to", "salesforce"], /--to: unknown connector "salesforce"/],
  [["setup", "--to"], /--to/],
  [["setup", "--cap", "-1"], /--cap/],
  [["setup", "extra"], /unexpected argument "extra"/],
  [["backfill"], /--source is required/],
  [["backfill", "--local"], /--source is required/],
  [["backfill", "--source", "hubspot", "--results", "all"], /--results applies to --local/],
  [["backfill", "--source", "audience.csv", "--local", "--modified-since", "2026-01-01"], /--modified-since applies to --source hubspot or klaviyo/],
  [["backfill", "--source", "hubspot", "--local", "--modified-since", "yesterday-ish"], /--modified-since: "yesterday-ish" is not a date/],
  [["backfill", "--source", "hubspot", "--local", "--id", "bf_1"], /--id names an Inngest backfill/],
  [["backfill", "--source", "hubspot", "extra"], /unexpected argument "extra"/],
  [["doctor", "extra"], /unexpected argument "extra"/],
  [["serve", "extra"], /unexpected argument "extra"/],
  [["frobnicate"], /unknown command "frobnicate"/],
];

describe("usage errors: exit 2, one line with a hint, for every command", () => {
  it.each(CASES.map(([args, why]) => [args.join(" "), args, why] as const))("%s", async (_name, args, why) => {
    const r = await run([...args]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(why);
    expect(lines[0]).toMatch(/fashionai-sync (help|sync )/); // where to look, or an example
  });
});
