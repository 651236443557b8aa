// npm run config-schema            writes fashionai-sync.config.schema.json from the zod schema of the mapping
//                                  override file (src/overrides/schema.ts)
// npm run config-schema -- --check exits 1 when the file is out of date (test/overrides.test.ts does the same)
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CONFIG_SCHEMA_FILE, configJsonSchema } from "../src/overrides/schema.js";

export const CONFIG_SCHEMA_PATH = fileURLToPath(new URL(`../${CONFIG_SCHEMA_FILE}`, import.meta.url));

/** The file's text: the generated JSON Schema, two-space indented, ending in a newline. */
export function renderConfigSchema(): string {
  return JSON.stringify(configJsonSchema(), null, 2) + "\n";
}

function main(argv: string[]): number {
  const next = renderConfigSchema();
  let current: string | undefined;
  try {
    current = readFileSync(CONFIG_SCHEMA_PATH, "utf8");
  } catch {
    current = undefined;
  }
  if (argv.includes("--check")) {
    if (current === next) return 0;
    process.stderr.write(`${CONFIG_SCHEMA_FILE} is out of date: run \`npm run config-schema\`\n`);
    return 1;
  }
  if (current !== next) writeFileSync(CONFIG_SCHEMA_PATH, next);
  process.stdout.write(current === next ? `${CONFIG_SCHEMA_FILE} is up to date\n` : `${CONFIG_SCHEMA_FILE} regenerated\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
