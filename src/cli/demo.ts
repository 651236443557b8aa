import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { loadConfig } from "../config.js";
import { runSync } from "../pipeline/sync.js";
import type { SyncReport } from "../pipeline/types.js";
import { createRuntime } from "../runtime.js";
import { startSandbox, type Sandbox } from "../sandbox/index.js";
import { DEFAULT_MAPPING_PLAN, NOVO_FIELD, TONE_FIELD, propertyName, type MappingPlan } from "../mapping/plan.js";
import type { FieldKey } from "../mapping/fields.js";
import { createLogger } from "../util/log.js";
import { UsageError, parse } from "./args.js";
import { exitCodeFor, printJson, renderReport, renderTable } from "./output.js";
import type { CommandIo } from "./sync.js";

export const OWN_PROFILES_DIR = fileURLToPath(new URL("../../fixtures/profiles", import.meta.url));

interface CrmView {
  email: string;
  hubspot: Record<string, string | null> | undefined;
  klaviyo: Record<string, unknown> | undefined;
  events: number;
}

/**
 * The whole job on a sandbox: local stand-ins of the three APIs on loopback ports, the real pipeline
 * and SDKs over real HTTP, then a read-back of what each CRM holds through their APIs.
 */
export async function demoCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { profiles: { type: "string" }, json: { type: "boolean" } }, "demo");
  if (positionals.length) throw new UsageError(`demo: unexpected argument "${positionals[0]}"`);
  const profilesDir = values.profiles ?? OWN_PROFILES_DIR;
  if (!existsSync(`${profilesDir}/index.json`)) throw new UsageError(`--profiles: no index.json in ${profilesDir}`);

  const sandbox = await startSandbox({ profilesDir });
  try {
    const emails = sandbox.fashionai.loadProfilesFromDir(profilesDir).map((row) => row.email).filter((e): e is string => !!e);
    // Only the sandbox's own settings: real credentials in the caller's environment are never used here.
    // A mapping override file (--config, FASHIONAI_SYNC_CONFIG or ./fashionai-sync.config.json) is honoured,
    // so the demo previews it; without one, the defaults.
    const env = { ...sandbox.env, FASHIONAI_SYNC_RETRY_BASE_MS: "100", LOG_LEVEL: io.env.LOG_LEVEL, FASHIONAI_SYNC_CONFIG: io.env.FASHIONAI_SYNC_CONFIG };
    const mapping = loadConfig(env).mapping ?? DEFAULT_MAPPING_PLAN;
    const say = (s: string) => { if (!values.json) io.stdout(s + "\n"); };
    say(`Sandbox APIs on loopback: Fashion.AI ${sandbox.env.FASHIONAI_BASE_URL}, HubSpot ${sandbox.env.HUBSPOT_BASE_URL}, Klaviyo ${sandbox.env.KLAVIYO_BASE_URL}`);
    say(`Syncing ${emails.length} sample profiles from ${profilesDir} …\n`);

    const first = await syncOnce(env, emails, io);
    say(renderReport(first));
    const view = await readBack(sandbox, emails, mapping);
    say(`\nWhat HubSpot now holds (contacts, group ${mapping.hubspot.group.name}):\n` + hubspotTable(view, mapping));
    say("\nWhat Klaviyo now holds (profile properties):\n" + klaviyoTable(view, mapping));

    const before = counts(sandbox, mapping);
    const second = await syncOnce(env, emails, io);
    const after = counts(sandbox, mapping);
    say(
      `\nRan the same sync again: ${second.summary.synced} synced, ` +
        `${after.contacts - before.contacts} new contacts, ${after.options - before.options} new options, ` +
        `${after.events - before.events} new Klaviyo events (idempotent).`,
    );
    if (values.json) printJson({ report: first, crm: view, rerun: { report: second.summary, before, after } }, io.stdout);
    return Math.max(exitCodeFor(first), exitCodeFor(second));
  } finally {
    await sandbox.close();
  }
}

async function syncOnce(env: Record<string, string | undefined>, emails: string[], io: CommandIo): Promise<SyncReport> {
  const log = createLogger({ level: "warn", env: io.env, write: (line) => io.stderr(line + "\n") });
  const runtime = createRuntime(loadConfig(env), { log });
  try {
    return await runSync(emails.map((identifier) => ({ identifier })), runtime.deps);
  } finally {
    await runtime.close();
  }
}

/** Reads the CRMs back through their own APIs (HubSpot batch read, Klaviyo profile filter). */
async function readBack(sandbox: Sandbox, emails: string[], mapping: MappingPlan): Promise<CrmView[]> {
  const { createHubSpotClient } = await import("../../connectors/hubspot/client.js");
  const { createKlaviyoApis } = await import("../../connectors/klaviyo/client.js");
  const hubspot = createHubSpotClient({ baseUrl: sandbox.env.HUBSPOT_BASE_URL, token: sandbox.env.HUBSPOT_ACCESS_TOKEN });
  const klaviyo = createKlaviyoApis({ baseUrl: sandbox.env.KLAVIYO_BASE_URL, apiKey: sandbox.env.KLAVIYO_API_KEY });
  const read = await hubspot.crm.contacts.batchApi.read({
    idProperty: "email", inputs: emails.map((id) => ({ id })), properties: ["email", ...mapping.hubspot.fields.map((f) => f.name)], propertiesWithHistory: [],
  });
  const byEmail = new Map(read.results.map((c) => [String(c.properties.email).toLowerCase(), c.properties]));
  const out: CrmView[] = [];
  for (const email of emails) {
    const profiles = await klaviyo.profiles.getProfiles({ filter: `equals(email,"${email}")` });
    const attrs = profiles.body.data[0]?.attributes as { properties?: Record<string, unknown> } | undefined;
    out.push({
      email,
      hubspot: byEmail.get(email),
      klaviyo: attrs?.properties,
      events: sandbox.klaviyo.events().filter((e) => e.email?.toLowerCase() === email).length,
    });
  }
  return out;
}

function counts(sandbox: Sandbox, mapping: MappingPlan) {
  const ours = new Set(mapping.hubspot.fields.map((f) => f.name));
  const options = sandbox.hubspot.properties()
    .filter((p) => ours.has(p.name))
    .reduce((n, p) => n + (p.type === "enumeration" ? p.options.length : 0), 0);
  return { contacts: sandbox.hubspot.contacts().length, options, events: sandbox.klaviyo.events().length };
}

const shown = (v: unknown) => (v === undefined || v === null || v === "" ? "—" : Array.isArray(v) ? v.join(", ") : String(v));

/** The columns shown: a few fields under their names in the plan (fields turned off are not shown). */
function columns(mapping: MappingPlan, crm: "hubspot" | "klaviyo", keys: FieldKey[]): Array<{ title: string; name: string }> {
  return keys.flatMap((key) => {
    const name = propertyName(mapping[crm], key);
    return name === undefined ? [] : [{ title: key === NOVO_FIELD ? (name === key ? "novo_comportamento" : name) : name, name }];
  });
}

function hubspotTable(view: CrmView[], mapping: MappingPlan): string {
  const cols = columns(mapping, "hubspot", [TONE_FIELD, "fashionai_ocasioes", "fashionai_gancho_principal", NOVO_FIELD]);
  return renderTable(["email", ...cols.map((c) => c.title)], view.map((v) => [v.email, ...cols.map((c) => shown(v.hubspot?.[c.name]))]), 40);
}

function klaviyoTable(view: CrmView[], mapping: MappingPlan): string {
  const cols = columns(mapping, "klaviyo", [TONE_FIELD, "fashionai_resumo_momento", NOVO_FIELD]);
  return renderTable(
    ["email", ...cols.map((c) => c.title), "events"],
    view.map((v) => [v.email, ...cols.map((c) => shown(v.klaviyo?.[c.name])), String(v.events)]),
    40,
  );
}
