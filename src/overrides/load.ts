// Reading the mapping override file and resolving it into a field plan (src/mapping/plan.ts).
//
// Where: `--config <path>` (the CLI passes it on as FASHIONAI_SYNC_CONFIG), else FASHIONAI_SYNC_CONFIG,
// else ./fashionai-sync.config.json. A missing default file means the defaults; a missing file that was
// named explicitly is a configuration error. Every problem is ONE line naming the file, the path inside
// it and what was expected: `fashionai-sync.config.json: hubspot.properties.fashionai_tom_de_voz.name:
// expected a HubSpot property name: … (got "Tom de voz")`.
//
// The file is JSON; `//` and `/* */` comments and trailing commas are tolerated, so the annotated example
// (fashionai-sync.config.example.jsonc) can be copied as it is.
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { z } from "zod";
import { ConfigError } from "../config.js";
import type { EnumOption } from "../../connectors/types.js";
import type { FieldKey } from "../mapping/fields.js";
import {
  DEFAULT_MAPPING_PLAN, LIST_FIELD_KEYS, buildFieldPlan, fieldSuffix, toneOption, toneSlug, type FieldPlan, type MappingPlan,
} from "../mapping/plan.js";
import { CONFIG_ENV, CONFIG_FILE_NAME, configFileSchema, type ConfigFile } from "./schema.js";

type Env = Record<string, string | undefined>;

export interface LoadOptions {
  /** Where a relative path (and the default file) is looked up; default process.cwd(). */
  cwd?: string;
}

/** The file to read: what was named (explicitly), or the default file. */
export function configFilePath(env: Env, opts: LoadOptions = {}): { path: string; shown: string; explicit: boolean } {
  const cwd = opts.cwd ?? process.cwd();
  const given = env[CONFIG_ENV]?.trim();
  if (given) return { path: isAbsolute(given) ? given : resolve(cwd, given), shown: given, explicit: true };
  return { path: resolve(cwd, CONFIG_FILE_NAME), shown: CONFIG_FILE_NAME, explicit: false };
}

/**
 * The field plan for this process: the override file's, or the defaults when there is none. Throws
 * ConfigError (one line: file, path inside it, what was expected).
 */
export function loadMappingPlan(env: Env, opts: LoadOptions = {}): MappingPlan {
  const { path, shown, explicit } = configFilePath(env, opts);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !explicit) return DEFAULT_MAPPING_PLAN;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory, not a file" : `cannot be read (${code ?? (err as Error).message})`;
    throw new ConfigError(`${shown}: ${why} (named by --config or ${CONFIG_ENV})`);
  }
  return parseMappingConfig(text, shown);
}

/** The plan for the text of an override file; `shown` names the file in errors. */
export function parseMappingConfig(text: string, shown: string): MappingPlan {
  let raw: unknown;
  try {
    raw = JSON.parse(relaxJson(text.replace(/^\uFEFF/, "")));
  } catch (err) {
    throw new ConfigError(`${shown}: not valid JSON: ${jsonProblem(text, (err as Error).message)}`);
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${shown}: ${describeIssues(parsed.error.issues, raw)}`);
  try {
    return { ...resolveMappingPlan(parsed.data), source: shown };
  } catch (err) {
    if (err instanceof OverrideProblem) throw new ConfigError(`${shown}: ${formatPath(err.path)}: ${err.message}`);
    throw err;
  }
}

// -------------------------------------------------------------------------------------- resolving

/** A problem the schema alone cannot see (two fields with one name, a synonym cycle), at a path in the file. */
export class OverrideProblem extends Error {
  constructor(readonly path: readonly PropertyKey[], message: string) {
    super(message);
    this.name = "OverrideProblem";
  }
}

/**
 * The synonym table as slug → target option, chains followed (`a → b`, `b → c` folds a into c). Keys and
 * targets follow the tone's own rules (cleaned, lower-cased, slug as identity).
 */
function resolveSynonyms(entries: Array<{ from: string; to: string; path: PropertyKey[] }>): Map<string, EnumOption> {
  const direct = new Map<string, { to: EnumOption; path: PropertyKey[]; from: string }>();
  for (const { from, to, path } of entries) {
    const slug = toneSlug(from);
    if (slug === "") throw new OverrideProblem(path, `the tone value ${JSON.stringify(from)} has no letters or digits to match`);
    const target = toneOption(to);
    if (!target) throw new OverrideProblem(path, `expected a tone value with letters or digits to fold into, got ${JSON.stringify(to)}`);
    if (target.value === slug) {
      direct.delete(slug); // folding a value into itself: nothing to do (a connector's entry may cancel a shared one)
      continue;
    }
    direct.set(slug, { to: target, path, from });
  }
  const out = new Map<string, EnumOption>();
  for (const [slug, entry] of direct) {
    let target = entry.to;
    const seen = new Set([slug]);
    while (direct.has(target.value)) {
      if (seen.has(target.value)) {
        throw new OverrideProblem(entry.path, `the synonyms form a loop (${[...seen, target.value].join(" → ")}); one value must be the final one`);
      }
      seen.add(target.value);
      target = direct.get(target.value)!.to;
    }
    out.set(slug, target);
  }
  return out;
}

/** The field plans of both connectors for a validated file. Throws OverrideProblem. */
export function resolveMappingPlan(file: ConfigFile): MappingPlan {
  const shared = Object.entries(file.toneSynonyms ?? {}).map(([from, to]) => ({ from, to, path: ["toneSynonyms", from] as PropertyKey[] }));
  const resolveOne = (crm: "hubspot" | "klaviyo"): FieldPlan => {
    const c = file[crm] ?? {};
    const own = Object.entries(c.toneSynonyms ?? {}).map(([from, to]) => ({ from, to, path: [crm, "toneSynonyms", from] as PropertyKey[] }));
    const toneCap = c.segments?.toneCap ?? file.segments?.toneCap;
    const input = {
      ...(c.prefix === undefined ? {} : { prefix: c.prefix }),
      ...(c.properties === undefined ? {} : { properties: c.properties as Partial<Record<FieldKey, { name?: string; enabled?: boolean; fieldType?: "checkbox" | "textarea" }>> }),
      toneSynonyms: resolveSynonyms([...shared, ...own]),
      ...(toneCap === undefined ? {} : { toneCap }),
    };
    const plan = crm === "hubspot"
      ? buildFieldPlan("hubspot", { ...input, ...("group" in c && c.group ? { group: c.group } : {}) })
      : buildFieldPlan("klaviyo", input);
    checkNames(crm, plan, c.properties as Record<string, { name?: string } | undefined> | undefined);
    return plan;
  };
  return { hubspot: resolveOne("hubspot") as MappingPlan["hubspot"], klaviyo: resolveOne("klaviyo") };
}

/** Two fields may not share a property name in one CRM (one would overwrite the other). */
function checkNames(crm: string, plan: FieldPlan, properties: Record<string, { name?: string } | undefined> | undefined): void {
  const byName = new Map<string, FieldKey>();
  for (const f of plan.fields) {
    const other = byName.get(f.name);
    if (other !== undefined) {
      // Blame the field that was renamed explicitly (else the later one).
      const renamed = properties?.[f.key]?.name !== undefined ? f.key : properties?.[other]?.name !== undefined ? other : f.key;
      const clash = renamed === f.key ? other : f.key;
      throw new OverrideProblem([crm, "properties", renamed, "name"], `${JSON.stringify(f.name)} is also the property name of ${clash}; each field needs its own name`);
    }
    byName.set(f.name, f.key);
  }
}

// --------------------------------------------------------------------------------------- messages

/** `hubspot.properties.fashionai_tom_de_voz.name`; keys that are not identifiers in brackets. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "top level";
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(k))) out += (out ? "." : "") + String(k);
    else out += `[${JSON.stringify(String(k))}]`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const k of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[k as string];
  }
  return node;
}

function shortJson(v: unknown): string {
  const s = v === undefined ? "nothing" : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 59) + "…" : s;
}

/** The keys an object in the schema allows, for "unknown key" messages. */
function allowedKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType | undefined = configFileSchema;
  for (const k of path) {
    schema = unwrap(schema);
    const shape = (schema as { shape?: Record<string, z.ZodType> } | undefined)?.shape;
    schema = shape?.[k as string];
  }
  const shape = (unwrap(schema) as { shape?: Record<string, z.ZodType> } | undefined)?.shape;
  return shape ? Object.keys(shape).filter((k) => k !== "$comment" && k !== "$schema") : [];
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let s = schema as { _zod?: { def?: { type?: string; innerType?: z.ZodType } } } | undefined;
  while (s?._zod?.def?.type === "optional") s = s._zod.def.innerType as typeof s;
  return s as z.ZodType | undefined;
}

const LIST_FIELD_NOTE = LIST_FIELD_KEYS.map(fieldSuffix);

/** The first problem, in one line, with a count of the others. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], raw: unknown): string {
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length === 2 ? "" : "s"})` : "";
  let path: readonly PropertyKey[] = first.path;
  let message: string;
  if (first.code === "unrecognized_keys") {
    const key = first.keys[0]!;
    path = [...first.path, key];
    const parent = first.path[first.path.length - 1];
    if (key === "fieldType" && first.path[first.path.length - 2] === "properties") {
      message = `fieldType is only for the list fields (${LIST_FIELD_NOTE.join(", ")}); ${String(parent)} is not one`;
    } else if (parent === "properties") {
      message = `unknown field; expected a default key such as fashionai_tom_de_voz (one of ${allowedKeys(first.path).join(", ")})`;
    } else {
      const allowed = allowedKeys(first.path);
      message = `unknown setting${allowed.length ? `; expected one of ${allowed.join(", ")}` : ""}`;
    }
  } else if (first.path.length === 0 && first.code === "invalid_type") {
    message = "expected one JSON object ({ … }; {} means the defaults)";
  } else {
    message = first.message.replace(/^Invalid input: /, "");
    const got = valueAt(raw, first.path);
    if (got !== undefined || first.code === "invalid_type") message += ` (got ${shortJson(got)})`;
  }
  return `${formatPath(path)}: ${message}${more}`;
}

/** Node's JSON.parse message without its position jargon, with the line and column instead. */
function jsonProblem(text: string, message: string): string {
  const m = /at position (\d+)/.exec(message);
  const clean = message.replace(/\s*in JSON at position \d+.*$/s, "").replace(/\s*\(line \d+ column \d+\)$/, "").replace(/^JSON\.parse: /, "");
  if (text.trim() === "") return "the file is empty (write {} for the defaults)";
  if (!m) return clean;
  const pos = Number(m[1]);
  const before = text.slice(0, pos).replace(/^\uFEFF/, "");
  const line = before.split("\n").length;
  const column = pos - before.lastIndexOf("\n");
  return `${clean} at line ${line}, column ${column}`;
}

/**
 * JSON with comments and trailing commas → JSON, keeping every character's position (comments and
 * dropped commas become spaces), so JSON.parse's positions still point into the file as written.
 */
export function relaxJson(text: string): string {
  const out = text.split("");
  let i = 0;
  const n = text.length;
  // Pass 1: blank out comments, outside strings.
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      i++;
      while (i < n && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      i++;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") out[i++] = " ";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (; i < stop; i++) if (out[i] !== "\n" && out[i] !== "\r") out[i] = " ";
    } else i++;
  }
  // Pass 2: drop commas that only whitespace separates from a closing bracket, outside strings.
  const blanked = out.join("");
  i = 0;
  while (i < n) {
    const c = blanked[i]!;
    if (c === '"') {
      i++;
      while (i < n && blanked[i] !== '"') i += blanked[i] === "\\" ? 2 : 1;
      i++;
      continue;
    }
    if (c === ",") {
      let j = i + 1;
      while (j < n && /\s/.test(blanked[j]!)) j++;
      if (blanked[j] === "}" || blanked[j] === "]") out[i] = " ";
    }
    i++;
  }
  return out.join("");
}
