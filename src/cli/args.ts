import { parseArgs, type ParseArgsConfig } from "node:util";

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;
import { ConfigError } from "../config.js";
import { parseLookupBy } from "../identifiers.js";
import { CONNECTOR_NAMES, type ConnectorName, type LookupBy } from "../pipeline/types.js";

/** A bad flag or combination: one line with a hint, exit code 2. */
export class UsageError extends ConfigError {
  constructor(message: string, readonly hint = "run `fashionai-sync help` for usage") {
    super(`${message} (${hint})`);
    this.name = "UsageError";
  }
}

export function parse<const O extends OptionsConfig>(argv: string[], options: O, command: string) {
  try {
    return parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>({
      args: argv, options, allowPositionals: true, strict: true,
    });
  } catch (err) {
    // Node's text, first line only, without its advice about `--` (which reads as noise to a CLI user):
    // "Unknown option '--x'. To specify a positional argument starting with a '-', place it …" → "unknown option '--x'".
    const message = (err as Error).message.split("\n")[0]!
      .replace(/\.\s*To specify a positional argument.*$/, "")
      .replace(/^Unknown option/, "unknown option")
      .replace(/^Option '/, "option '")
      .replace(/^option '(--[\w-]+)' argument is ambiguous\.?$/, "option '$1' needs a value (write $1=VALUE if the value starts with '-')");
    throw new UsageError(`${command}: ${message}`, `run \`fashionai-sync help ${command}\``);
  }
}

export function parseTo(value: string | undefined): ConnectorName[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0) throw new UsageError("--to needs hubspot, klaviyo or hubspot,klaviyo");
  for (const n of names) {
    if (!(CONNECTOR_NAMES as readonly string[]).includes(n)) throw new UsageError(`--to: unknown connector "${n}"; use hubspot and/or klaviyo`);
  }
  return [...new Set(names)] as ConnectorName[];
}

export function parseBy(value: string | undefined): LookupBy {
  if (value === undefined) return "email";
  const by = parseLookupBy(value);
  if (!by) throw new UsageError(`--by: unknown lookup "${value}"; use email, phone, document or user-profile-id`);
  return by;
}
