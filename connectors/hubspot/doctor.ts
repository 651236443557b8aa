// `doctor` for HubSpot: is the private-app token accepted, does it have the scopes a sync and `setup`
// need, and does the account's contact schema match the mapping? Reads only; one attempt per call.
import type { Client } from "@hubspot/api-client";
import type { DoctorCheck, HubSpotSchemaReport, PropertyCheck } from "../../src/doctor/types.js";
import { withTimeout } from "../shared/timeout.js";
import { createHubSpotClient } from "./client.js";
import { classifyHubSpotError } from "./errors.js";
import { HUBSPOT_GROUP, hubspotPropertyDefinitions, type HubSpotPropertyDefinition } from "./schema.js";

/** Scopes of the private app: what `sync` needs, and what `setup` (contact lists) adds. */
export const HUBSPOT_SCOPES = {
  sync: ["crm.objects.contacts.read", "crm.objects.contacts.write", "crm.schemas.contacts.read", "crm.schemas.contacts.write"],
  setup: ["crm.lists.read", "crm.lists.write"],
} as const;

export const HUBSPOT_SCOPE_FIX =
  "in HubSpot: Settings → Integrations → Private apps → your app → Scopes; add the scopes, then copy the new access token into HUBSPOT_ACCESS_TOKEN";

export interface HubSpotDoctorOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  /** The properties this connector writes (defaults to the mapping table). */
  definitions?: HubSpotPropertyDefinition[];
  group?: { name: string; label: string };
}

export interface HubSpotDoctorResult {
  checks: DoctorCheck[];
  schema?: HubSpotSchemaReport;
}

interface RawError {
  code?: number;
  body?: unknown;
}

/** The scopes HubSpot's 403 body names (MISSING_SCOPES errors carry them in errors[].context). */
export function scopesFromBody(body: unknown): string[] {
  const out = new Set<string>();
  const errors = (body as { errors?: Array<{ context?: Record<string, unknown> }> } | undefined)?.errors;
  for (const e of Array.isArray(errors) ? errors : []) {
    for (const key of ["requiredGranularScopes", "requiredScopes", "requiredScope"]) {
      const v = e?.context?.[key];
      for (const s of Array.isArray(v) ? v : []) if (typeof s === "string") out.add(s);
    }
  }
  return [...out];
}

type Probe<T> = { ok: true; value: T } | { ok: false; status?: number; scopes: string[]; message: string; unreachable: boolean };

async function probe<T>(what: string, timeoutMs: number, fn: () => Promise<T>): Promise<Probe<T>> {
  try {
    return { ok: true, value: await withTimeout("hubspot", `HubSpot ${what}`, timeoutMs, fn()) };
  } catch (err) {
    const raw = err as RawError;
    const classified = classifyHubSpotError(err, what);
    const status = typeof raw?.code === "number" ? raw.code : classified.status;
    return {
      ok: false,
      ...(status === undefined ? {} : { status }),
      scopes: status === 403 ? scopesFromBody(raw.body) : [],
      message: classified.message,
      unreachable: classified.kind === "transient" || classified.kind === "rate_limited",
    };
  }
}

/**
 * The private app's scopes, when HubSpot's token-info endpoint tells them (private-app tokens only).
 * Anything else — another kind of token, a proxy, a stand-in without the route — gives undefined and
 * the read probes decide instead.
 */
async function tokenScopes(opts: HubSpotDoctorOptions): Promise<string[] | undefined> {
  try {
    const res = await fetch(`${opts.baseUrl}/oauth/v2/private-apps/get/access-token-info`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ tokenKey: opts.token }),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const body = (await res.json()) as { scopes?: unknown };
    return Array.isArray(body.scopes) && body.scopes.every((s) => typeof s === "string") ? (body.scopes as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Compares the account's contact properties with the mapping. Pure. */
export function compareHubSpotSchema(
  groups: ReadonlyArray<{ name: string }>,
  properties: ReadonlyArray<{ name: string; type: string; fieldType: string; groupName?: string }>,
  definitions: readonly HubSpotPropertyDefinition[] = hubspotPropertyDefinitions(),
  group: { name: string } = HUBSPOT_GROUP,
): HubSpotSchemaReport {
  const byName = new Map(properties.map((p) => [p.name, p]));
  return {
    group: { name: group.name, exists: groups.some((g) => g.name === group.name) },
    properties: definitions.map((def): PropertyCheck => {
      const expected = { type: def.type, fieldType: def.fieldType };
      const p = byName.get(def.name);
      if (!p) return { name: def.name, status: "missing", expected };
      const actual = { type: String(p.type), fieldType: String(p.fieldType), ...(p.groupName ? { groupName: p.groupName } : {}) };
      const status = actual.type !== def.type ? "type_conflict" : actual.fieldType !== def.fieldType ? "field_type_differs" : "ok";
      return { name: def.name, status, expected, actual };
    }),
  };
}

/** The schema report as doctor checks: missing is fine (a sync creates it), another type is not. */
export function schemaChecks(schema: HubSpotSchemaReport): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const by = (s: PropertyCheck["status"]) => schema.properties.filter((p) => p.status === s);
  const missing = by("missing");
  const conflicts = by("type_conflict");
  const differs = by("field_type_differs");
  const total = schema.properties.length;
  const present = total - missing.length;
  const later = "will be created by the first sync (or `setup`)";
  const parts = present === 0
    ? [`${schema.group.exists ? `group ${schema.group.name} exists; all` : `group ${schema.group.name} and all`} ${total} properties ${later}`]
    : [
        schema.group.exists ? `group ${schema.group.name} exists` : `group ${schema.group.name} ${later}`,
        `${present} of ${total} properties exist`,
        ...(missing.length ? [`${missing.length} ${later}: ${missing.map((p) => p.name).join(", ")}`] : []),
      ];
  checks.push({
    service: "hubspot", check: "schema", status: conflicts.length ? "error" : "ok",
    message: parts.join("; ") +
      (conflicts.length ? `; ${conflicts.length} exist${conflicts.length === 1 ? "s" : ""} with another type: ${conflicts.map((p) => p.name).join(", ")}`
        : present === total ? ", all with the right types" : ""),
    ...(conflicts.length ? { problem: "config" as const } : {}),
  });
  for (const p of conflicts) {
    checks.push({
      service: "hubspot", check: `property ${p.name}`, status: "error", problem: "config",
      message: `${p.name} exists with type ${p.actual!.type} (${p.actual!.fieldType}), but this connector writes ${p.expected.type} (${p.expected.fieldType}); a sync stops rather than overwrite it`,
      fix: `rename or delete ${p.name} in HubSpot (Settings → Properties → Contact properties), then run the sync again`,
    });
  }
  for (const p of differs) {
    const multi = p.expected.fieldType === "checkbox";
    checks.push({
      service: "hubspot", check: `property ${p.name}`, status: "warn",
      message: `${p.name} is shown as ${p.actual!.fieldType} in HubSpot; this connector creates it as ${p.expected.fieldType}` +
        (multi ? " (several values are written joined by ';', which needs a multiple checkboxes field)" : ""),
      fix: `change the field type of ${p.name} to ${p.expected.fieldType} in HubSpot if values look wrong`,
    });
  }
  return checks;
}

function authCheck(
  p: Exclude<Probe<unknown>, { ok: true }>, check: string, scopes: readonly string[], what: string, severity: "error" | "warn", why = "",
): DoctorCheck {
  if (p.status === 401) {
    return {
      service: "hubspot", check: "credential", status: "error", problem: "config",
      message: "HubSpot rejected HUBSPOT_ACCESS_TOKEN (401: wrong, expired or revoked token)",
      fix: "copy the access token of your private app (Settings → Integrations → Private apps → your app → Auth) into HUBSPOT_ACCESS_TOKEN",
    };
  }
  if (p.status === 403) {
    const said = p.scopes.length ? `; HubSpot says the call needs: ${p.scopes.join(", ")}` : "";
    return {
      service: "hubspot", check, status: severity, ...(severity === "error" ? { problem: "config" as const } : {}),
      message: `HUBSPOT_ACCESS_TOKEN is not allowed to ${what} (403: missing scope ${scopes.join(" / ")})${said}${why}`,
      missingScopes: [...scopes],
      fix: HUBSPOT_SCOPE_FIX,
    };
  }
  return {
    service: "hubspot", check, status: "error", problem: p.unreachable ? "unreachable" : "config",
    message: `could not ${what}: ${p.message}`,
  };
}

export async function checkHubSpot(opts: HubSpotDoctorOptions, client: Client = createHubSpotClient(opts)): Promise<HubSpotDoctorResult> {
  const checks: DoctorCheck[] = [];
  const definitions = opts.definitions ?? hubspotPropertyDefinitions();
  const group = opts.group ?? HUBSPOT_GROUP;

  const [granted, groups, contacts, lists] = await Promise.all([
    tokenScopes(opts),
    probe("read property groups", opts.timeoutMs, () => client.crm.properties.groupsApi.getAll("contacts")),
    probe("read contacts", opts.timeoutMs, () => client.crm.contacts.basicApi.getPage(1, undefined, ["email"])),
    // A list that surely does not exist: 404 means the lists scope works.
    probe("read contact lists", opts.timeoutMs, () => client.crm.lists.listsApi.getByName("fashionai-sync doctor probe", "0-1")),
  ]);
  if (!groups.ok && groups.status === 401) return { checks: [authCheck(groups, "credential", [], "", "error")] };

  const accepted = groups.ok || contacts.ok || (!lists.ok && lists.status === 404) || lists.ok;
  if (accepted) checks.push({ service: "hubspot", check: "credential", status: "ok", message: `HUBSPOT_ACCESS_TOKEN accepted by ${opts.baseUrl}` });
  else if ([groups, contacts, lists].some((p) => !p.ok && p.status === 403)) {
    checks.push({
      service: "hubspot", check: "credential", status: "ok",
      message: `HUBSPOT_ACCESS_TOKEN is a valid token (HubSpot answered 403, not 401), but it lacks scopes; a sync needs ${HUBSPOT_SCOPES.sync.join(", ")}`,
    });
  }

  if (granted) {
    const missingSync = HUBSPOT_SCOPES.sync.filter((s) => !granted.includes(s));
    const missingSetup = HUBSPOT_SCOPES.setup.filter((s) => !granted.includes(s));
    if (missingSync.length) {
      checks.push({
        service: "hubspot", check: "scopes", status: "error", problem: "config", missingScopes: missingSync,
        message: `the private app lacks scopes a sync needs: ${missingSync.join(", ")}`, fix: HUBSPOT_SCOPE_FIX,
      });
    } else {
      checks.push({ service: "hubspot", check: "scopes", status: "ok", message: `the private app has every scope a sync needs (${HUBSPOT_SCOPES.sync.join(", ")})` });
    }
    if (missingSetup.length) {
      checks.push({
        service: "hubspot", check: "scopes (setup)", status: "warn", missingScopes: missingSetup,
        message: `\`setup\` and segment syncs need ${missingSetup.join(", ")} to manage the contact lists`, fix: HUBSPOT_SCOPE_FIX,
      });
    }
  }

  if (groups.ok) {
    const properties = await probe("read contact properties", opts.timeoutMs, () => client.crm.properties.coreApi.getAll("contacts"));
    if (properties.ok) {
      const schema = compareHubSpotSchema(
        groups.value.results,
        properties.value.results.map((p) => ({ name: p.name, type: String(p.type), fieldType: String(p.fieldType), groupName: p.groupName })),
        definitions, group,
      );
      checks.push(...schemaChecks(schema));
      if (!contacts.ok) checks.push(authCheck(contacts, "contacts", ["crm.objects.contacts.read"], "read contacts", "error"));
      pushListsCheck(checks, lists);
      if (!granted) checks.push(unverifiedWrites());
      return { checks, schema };
    }
    checks.push(authCheck(properties, "schema", ["crm.schemas.contacts.read"], "read the contact properties", "error"));
  } else {
    checks.push(authCheck(groups, "schema", ["crm.schemas.contacts.read"], "read the contact property groups", "error"));
  }
  if (!contacts.ok) checks.push(authCheck(contacts, "contacts", ["crm.objects.contacts.read"], "read contacts", "error"));
  pushListsCheck(checks, lists);
  if (!granted && accepted) checks.push(unverifiedWrites());
  return { checks };
}

function pushListsCheck(checks: DoctorCheck[], lists: Probe<unknown>): void {
  if (lists.ok || lists.status === 404) {
    checks.push({ service: "hubspot", check: "lists", status: "ok", message: "contact lists can be read (needed by `setup` and segment syncs)" });
  } else if (lists.status === 403) {
    checks.push(authCheck(lists, "lists", ["crm.lists.read"], "read contact lists", "warn", "; `setup` and segment syncs need crm.lists.read/write, a sync does not"));
  } else if (lists.status !== 401) {
    checks.push({ service: "hubspot", check: "lists", status: "warn", message: `could not read contact lists: ${lists.message}` });
  }
}

function unverifiedWrites(): DoctorCheck {
  return {
    service: "hubspot", check: "write scopes", status: "info",
    message: `not checked without writing: make sure the private app also has ${["crm.objects.contacts.write", "crm.schemas.contacts.write", "crm.lists.write"].join(", ")}`,
  };
}
