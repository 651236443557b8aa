import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createRuntime, type Runtime, type RuntimeOptions } from "../../src/runtime.js";
import type { ConnectorName } from "../../src/pipeline/types.js";
import { silentLogger } from "../../src/util/log.js";
import { startSandbox, type Sandbox, type SandboxOptions } from "../../src/sandbox/index.js";

/** The project's own sample profiles (fixtures/profiles). */
export const FIXTURES = fileURLToPath(new URL("../../fixtures/profiles", import.meta.url));

export function fixture(file: string): unknown {
  return JSON.parse(readFileSync(`${FIXTURES}/${file}`, "utf8"));
}

/**
 * Stand-ins and runtimes for one test file, closed after each test. `to` picks the connectors a runtime
 * writes to by default (a test can still pass its own).
 */
export function useStandIns(defaults: { to?: ConnectorName[] } = {}) {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    while (open.length > 0) await open.pop()!.close();
  });
  return {
    async sandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
      const sb = await startSandbox({ profilesDir: FIXTURES, ...opts });
      open.push(sb);
      return sb;
    },
    runtime(sb: Sandbox, env: Record<string, string | undefined> = {}, opts: Partial<RuntimeOptions> = {}): Runtime {
      const config = loadConfig({ ...sb.env, FASHIONAI_SYNC_RETRY_BASE_MS: "10", ...env });
      const rt = createRuntime(config, { log: silentLogger, ...(defaults.to ? { to: defaults.to } : {}), ...opts });
      open.push(rt);
      return rt;
    },
  };
}
