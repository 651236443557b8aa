import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Vitest's default is one worker per core minus one: a single worker, one file at a time, on a 2-core CI
    // machine. Most files spend much of their time waiting (child processes of the CLI, loopback sockets,
    // Retry-After waits), so three side by side keep both cores busy.
    maxWorkers: Math.max(3, availableParallelism() - 1),
    // Files share a worker's module cache instead of each importing the SDKs again (klaviyo-api alone is
    // ~1.5 s per import). Safe because src keeps no module state between runs (only redact's set of known
    // secrets, which only grows); tests must not mutate process.env or globals without restoring them
    // (vi.stubEnv / vi.stubGlobal are undone after each test below).
    isolate: false,
    unstubEnvs: true,
    unstubGlobals: true,
  },
});
