import type { Client } from "@hubspot/api-client";
import { ConfigError, type RetryPolicy } from "../../src/config.js";
import { SyncError } from "../../src/errors.js";
import { withRetry } from "../../src/util/retry.js";
import type { Logger } from "../../src/util/log.js";
import type { EnumOption } from "../types.js";
import { classifyHubSpotError } from "./errors.js";
import { hubspotSchema, type HubSpotPropertyDefinition, type HubSpotSchema } from "./schema.js";
import { withTimeout } from "../shared/timeout.js";

interface KnownProperty {
  name: string;
  type: string;
  fieldType: string;
  options: Array<{ label: string; value: string; displayOrder?: number; hidden: boolean; description?: string }>;
}

export interface SchemaChanges {
  groupCreated: boolean;
  propertiesCreated: string[];
  /** Property name → option values added by this run. */
  optionsAdded: Record<string, string[]>;
}

export function noSchemaChanges(): SchemaChanges {
  return { groupCreated: false, propertiesCreated: [], optionsAdded: {} };
}

/**
 * Makes sure the group, every property and every enumeration option exist before a write, because
 * HubSpot rejects a whole batch that mentions an unknown property or option. The account's schema is
 * read once per run and cached; only what is missing is created.
 */
export class HubSpotSchemaSync {
  private known: Map<string, KnownProperty> | undefined;
  private optionUpdates: Promise<unknown> = Promise.resolve();
  private readonly definitions: HubSpotPropertyDefinition[];
  private readonly group: { name: string; label: string };

  constructor(
    private readonly client: Client,
    private readonly opts: { retry: RetryPolicy; timeoutMs: number; log: Logger; gate?: { run<T>(fn: () => Promise<T>): Promise<T> } },
    /** The group and properties to keep in place (default: PRODUCT.md's; a field plan may change them). */
    schema: HubSpotSchema = hubspotSchema(),
  ) {
    this.definitions = schema.definitions;
    this.group = schema.group;
  }

  /** Forget the cache, e.g. after HubSpot rejected an option another process should have created. */
  invalidate(): void {
    this.known = undefined;
  }

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const attempt = async () => {
      try {
        return await withTimeout("hubspot", `HubSpot ${what}`, this.opts.timeoutMs, fn());
      } catch (err) {
        throw classifyHubSpotError(err, what);
      }
    };
    return withRetry(() => (this.opts.gate ? this.opts.gate.run(attempt) : attempt()), this.opts.retry);
  }

  private async load(changes: SchemaChanges): Promise<Map<string, KnownProperty>> {
    if (this.known) return this.known;
    const groups = await this.call("read property groups", () => this.client.crm.properties.groupsApi.getAll("contacts"));
    if (!groups.results.some((g) => g.name === this.group.name)) {
      await this.call("create property group", () =>
        this.client.crm.properties.groupsApi.create("contacts", { name: this.group.name, label: this.group.label, displayOrder: -1 }),
      ).catch((err: unknown) => {
        if (err instanceof SyncError && err.status === 409) return; // created meanwhile by another run
        throw err;
      });
      changes.groupCreated = true;
    }
    const all = await this.call("read contact properties", () => this.client.crm.properties.coreApi.getAll("contacts"));
    const known = new Map<string, KnownProperty>();
    for (const p of all.results) {
      known.set(p.name, {
        name: p.name,
        type: String(p.type),
        fieldType: String(p.fieldType),
        options: knownOptions(p.options),
      });
    }
    this.known = known;
    return known;
  }

  /** Creates what is missing for these options (property name → options needed). */
  async ensure(needed: Record<string, EnumOption[]>, reloaded = false): Promise<SchemaChanges> {
    const changes = noSchemaChanges();
    const known = await this.load(changes);

    const missing: HubSpotPropertyDefinition[] = [];
    for (const def of this.definitions) {
      const existing = known.get(def.name);
      if (!existing) {
        missing.push(def);
      } else if (existing.type !== def.type) {
        throw new ConfigError(
          `HubSpot property ${def.name} exists with type ${existing.type}, but this connector writes ${def.type}; ` +
            `rename or delete it in HubSpot (it is never overwritten)`,
        );
      }
    }
    if (missing.length > 0) {
      const inputs = missing.map((def) => ({
        ...def,
        options: def.type === "enumeration" ? optionInputs(needed[def.name] ?? [], 0) : def.options,
      }));
      const created = await this.call("create contact properties", () =>
        this.client.crm.properties.batchApi.create("contacts", { inputs: inputs as never }),
      );
      for (const p of created.results) {
        known.set(p.name, { name: p.name, type: String(p.type), fieldType: String(p.fieldType), options: (p.options ?? []).map((o) => ({ label: o.label, value: o.value, hidden: o.hidden })) });
        changes.propertiesCreated.push(p.name);
      }
      const errors = (created as { errors?: Array<{ message?: string }> }).errors ?? [];
      if (errors.length > 0) {
        // A second refusal after a reload is not a race: stop instead of asking again forever.
        if (reloaded) {
          throw new ConfigError(`HubSpot could not create contact properties: ${errors.map((e) => e.message).join("; ")}`);
        }
        // Usually "already exists" from a concurrent run: reload and check types next time round.
        this.invalidate();
        this.opts.log.warn("HubSpot did not create every property", { connector: "hubspot", step: "schema", outcome: "retry", errors: errors.map((e) => e.message) });
        return this.mergeChanges(changes, await this.ensure(needed, true));
      }
    }

    for (const [name, options] of Object.entries(needed)) {
      const property = known.get(name);
      if (!property || options.length === 0 || changes.propertiesCreated.includes(name)) continue;
      const have = new Set(property.options.map((o) => o.value));
      if (options.every((o) => have.has(o.value))) continue;
      const added = await this.serialized(() => this.addOptions(property, options));
      if (added.length > 0) changes.optionsAdded[name] = added;
    }
    if (changes.propertiesCreated.length || Object.keys(changes.optionsAdded).length || changes.groupCreated) {
      this.opts.log.info("HubSpot schema updated", { connector: "hubspot", step: "schema", outcome: "updated", ...changes });
    }
    return changes;
  }

  /** One option update at a time in this process, so concurrent writes never replace each other's options. */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.optionUpdates.then(fn);
    this.optionUpdates = run.catch(() => undefined);
    return run;
  }

  /**
   * PATCH replaces the whole option list, so it starts from HubSpot's current list rather than the
   * cached one: options another run added meanwhile (and their order and descriptions) are kept.
   */
  private async addOptions(property: KnownProperty, options: EnumOption[]): Promise<string[]> {
    const name = property.name;
    const current = await this.call(`read ${name}`, () => this.client.crm.properties.coreApi.getByName("contacts", name));
    property.options = knownOptions(current.options);
    const have = new Set(property.options.map((o) => o.value));
    const add = options.filter((o) => !have.has(o.value));
    if (add.length === 0) return [];
    const next = [...property.options, ...optionInputs(add, property.options.length)];
    const updated = await this.call(`add options to ${name}`, () =>
      this.client.crm.properties.coreApi.update("contacts", name, { options: next as never }),
    );
    property.options = knownOptions(updated.options ?? next);
    return add.map((o) => o.value);
  }

  private mergeChanges(a: SchemaChanges, b: SchemaChanges): SchemaChanges {
    return {
      groupCreated: a.groupCreated || b.groupCreated,
      propertiesCreated: [...a.propertiesCreated, ...b.propertiesCreated],
      optionsAdded: { ...a.optionsAdded, ...b.optionsAdded },
    };
  }
}

function knownOptions(
  options: ReadonlyArray<{ label: string; value: string; hidden: boolean; displayOrder?: number; description?: string }> | undefined,
): KnownProperty["options"] {
  return (options ?? []).map((o) => ({
    label: o.label, value: o.value, hidden: o.hidden, ...(o.displayOrder === undefined ? {} : { displayOrder: o.displayOrder }),
    ...(o.description === undefined ? {} : { description: o.description }),
  }));
}

function optionInputs(options: EnumOption[], start: number) {
  return options.map((o, i) => ({ label: o.label, value: o.value, displayOrder: start + i, hidden: false }));
}
