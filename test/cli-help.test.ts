// In-process runs of the CLI entry (main) for help, version and configuration checks: no child process needed.
import net from "node:net";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { renderTable } from "../src/cli/output.js";

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { env, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

describe("CLI help and version", () => {
  it("shows one command's usage for `<command> --help` and `help <command>`", async () => {
    for (const args of [["sync", "--help"], ["help", "sync"], ["sync", "-h"]]) {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("fashionai-sync sync <identifier...>");
      expect(r.stdout).not.toContain("fashionai-sync setup");
    }
  });
  it("rejects help for an unknown command", async () => {
    const r = await run(["help", "bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "bogus"');
  });
  it("prints the version", async () => {
    const r = await run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^fashionai-sync \d+\.\d+\.\d+/);
  });
});

describe("CLI configuration checks", () => {
  it("rejects a malformed LOG_LEVEL or LOG_FORMAT naming the variable, exit 2", async () => {
    for (const [k, v] of [["LOG_LEVEL", "loud"], ["LOG_FORMAT", "xml"]] as const) {
      const r = await run(["sync", "a@example.com", "--dry-run"], { FASHIONAI_APP_TOKEN: "tok-123456", [k]: v });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(k);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
  it("serve on a busy port is a configuration error naming --port", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "0.0.0.0", resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await run(["serve", "--port", String(port)], { INNGEST_DEV: "1" });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/already in use.*--port/);
    } finally {
      blocker.close();
    }
  });
});

describe("tables", () => {
  it("never cuts the last column, where reasons are", () => {
    const reason = "a phone lookup needs the contact's email to match the CRM record (--email, or the event's \"email\" field)";
    expect(renderTable(["id", "details"], [["x", reason]], 20)).toContain(reason);
  });
});
