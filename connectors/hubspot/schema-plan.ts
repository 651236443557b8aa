// What HubSpotSchemaSync.ensure would change, read from the account without writing anything: the plan
// `setup --dry-run` prints. Same reads as the schema sync (groups, contact properties).
import type { Client } from "@hubspot/api-client";
import type { RetryPolicy } from "../../src/config.js";
import type { Logger } from "../../src/util/log.js";
import { withRetry } from "../../src/util/retry.js";
import type { EnumOption } from "../types.js";
import { withTimeout } from "../shared/timeout.js";
import { classifyHubSpotError } from "./errors.js";
import { hubspotSchema, type HubSpotSchema } from "./schema.js";
import type { SchemaChanges } from "./schema-sync.js";

export interface SchemaPlan extends SchemaChanges {
  /** Properties that exist with another type: ensure() would stop with a configuration error. */
  conflicts: string[];
}

export async function planHubSpotSchema(
  client: Client,
  needed: Record<string, EnumOption[]>,
  opts: { retry: RetryPolicy; timeoutMs: number; log: Logger },
  schema: HubSpotSchema = hubspotSchema(),
): Promise<SchemaPlan> {
  const { group, definitions } = schema;
  const call = <T>(what: string, fn: () => Promise<T>) =>
    withRetry(async () => {
      try {
        return await withTimeout("hubspot", `HubSpot ${what}`, opts.timeoutMs, fn());
      } catch (err) {
        throw classifyHubSpotError(err, what);
      }
    }, opts.retry);
  const groups = await call("read property groups", () => client.crm.properties.groupsApi.getAll("contacts"));
  const all = await call("read contact properties", () => client.crm.properties.coreApi.getAll("contacts"));
  const byName = new Map(all.results.map((p) => [p.name, p]));
  const plan: SchemaPlan = {
    groupCreated: !groups.results.some((g) => g.name === group.name),
    propertiesCreated: [],
    optionsAdded: {},
    conflicts: [],
  };
  for (const def of definitions) {
    const p = byName.get(def.name);
    if (!p) plan.propertiesCreated.push(def.name);
    else if (String(p.type) !== def.type) {
      plan.conflicts.push(`HubSpot property ${def.name} exists with type ${String(p.type)}, but this connector writes ${def.type}`);
    }
  }
  for (const [name, options] of Object.entries(needed)) {
    const p = byName.get(name);
    if (!p) continue; // created with these options
    const have = new Set((p.options ?? []).map((o) => o.value));
    const add = options.filter((o) => !have.has(o.value)).map((o) => o.value);
    if (add.length > 0) plan.optionsAdded[name] = add;
  }
  return plan;
}
