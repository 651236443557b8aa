// HubSpot contact lists for the segments of PRODUCT.md, through the lists v3 API
// (../shared/specs/hubspot/lists-v3.json) and the SDK's crm.lists. Lists are found by name before
// anything is created, so a rerun never duplicates one and picks up where a failed run stopped; a list
// that exists with another filter is reported as a conflict and left as it is.
import type { Client } from "@hubspot/api-client";
import type { RetryPolicy } from "../../src/config.js";
import { SyncError } from "../../src/errors.js";
import type { Logger } from "../../src/util/log.js";
import { withRetry } from "../../src/util/retry.js";
import { withTimeout } from "../shared/timeout.js";
import { DEFAULT_SEGMENT_PROPERTIES, type SegmentOutcome, type SegmentPropertyNames, type SegmentSpec } from "../shared/segments.js";
import { classifyHubSpotError } from "./errors.js";

/** Contacts, in the lists API's object type ids. */
export const CONTACTS_OBJECT_TYPE_ID = "0-1";

export interface PropertyOperation {
  operationType: string;
  operator: string;
  includeObjectsWithNoValueSet: boolean;
  values?: string[];
  value?: boolean;
}

export interface PropertyFilter {
  filterType: "PROPERTY";
  property: string;
  operation: PropertyOperation;
}

export interface FilterBranch {
  filterBranchType: string;
  filterBranchOperator: string;
  filterBranches: FilterBranch[];
  filters: Array<PropertyFilter | Record<string, unknown>>;
}

export interface ExistingList {
  listId: string;
  name: string;
  processingType: string;
  filterBranch?: FilterBranch;
}

/** A tone option as HubSpot's property holds it. */
export interface HubSpotToneOption {
  value: string;
  label: string;
  displayOrder: number;
  hidden: boolean;
}

function propertyFilter(property: string, operation: PropertyOperation): FilterBranch {
  // HubSpot wants the root to be an OR branch whose children are AND branches.
  return {
    filterBranchType: "OR",
    filterBranchOperator: "OR",
    filters: [],
    filterBranches: [{ filterBranchType: "AND", filterBranchOperator: "AND", filterBranches: [], filters: [{ filterType: "PROPERTY", property, operation }] }],
  };
}

/**
 * The list filter of a segment. Tone: the multi-checkbox enumeration (`fashionai_tom_de_voz`, or its name
 * in the field plan) holds that option (ENUMERATION / IS_ANY_OF with the option's value). Novo
 * comportamento: the bool property is true.
 */
export function hubspotListFilter(spec: SegmentSpec, properties: SegmentPropertyNames = DEFAULT_SEGMENT_PROPERTIES): FilterBranch {
  const property = spec.kind === "novo" ? properties.novo : properties.tone;
  if (property === undefined) throw new Error(`no property for the ${spec.kind} segments in this field plan`);
  if (spec.kind === "novo") {
    return propertyFilter(property, { operationType: "BOOL", operator: "IS_EQUAL_TO", value: true, includeObjectsWithNoValueSet: false });
  }
  return propertyFilter(property, { operationType: "ENUMERATION", operator: "IS_ANY_OF", values: [spec.value], includeObjectsWithNoValueSet: false });
}

/** An order-independent form of a filter branch: two lists select the same contacts when these are equal. */
function canonical(branch: unknown): unknown {
  const b = (branch ?? {}) as Partial<FilterBranch>;
  const filters = (b.filters ?? []).map((f) => {
    const { operation, ...rest } = f as Record<string, unknown>;
    const op = { ...(operation as Record<string, unknown> | undefined) };
    op.includeObjectsWithNoValueSet = op.includeObjectsWithNoValueSet === true;
    if (Array.isArray(op.values)) op.values = [...(op.values as string[])].sort();
    return JSON.stringify(sortKeys({ ...rest, operation: op }));
  }).sort();
  const branches = (b.filterBranches ?? []).map((x) => JSON.stringify(canonical(x))).sort();
  return { type: b.filterBranchType, filters, branches };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

export function sameFilter(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** A short human form of a filter branch, for conflict reports. */
export function describeFilter(branch: unknown): string {
  const b = branch as Partial<FilterBranch> | undefined;
  if (!b) return "no filter";
  const parts = [
    ...(b.filters ?? []).map((f) => {
      const x = f as Partial<PropertyFilter> & Record<string, unknown>;
      if (x.filterType !== "PROPERTY") return String(x.filterType ?? "filter");
      const op = x.operation ?? ({} as PropertyOperation);
      const arg = op.values !== undefined ? JSON.stringify(op.values) : op.value !== undefined ? JSON.stringify(op.value) : "";
      return `${x.property} ${op.operator ?? "?"}${arg ? " " + arg : ""}`;
    }),
    ...(b.filterBranches ?? []).map((c) => describeFilter(c)),
  ].filter(Boolean);
  const joined = parts.join(` ${b.filterBranchType ?? "AND"} `);
  return parts.length > 1 ? `(${joined})` : joined || "(empty)";
}

/** Found on a retry, as wanted: the attempt whose answer was lost did create it. */
function createdAfterAll(outcome: SegmentOutcome): SegmentOutcome {
  return outcome.status === "unchanged" ? { ...outcome, status: "created", reason: "found on retry: an attempt whose answer was lost had created it" } : outcome;
}

export class HubSpotLists {
  private readonly properties: SegmentPropertyNames;

  constructor(
    private readonly client: Client,
    private readonly opts: {
      retry: RetryPolicy; timeoutMs: number; log: Logger;
      /** What the lists filter on (default PRODUCT.md's names; from the field plan). */
      properties?: SegmentPropertyNames;
    },
  ) {
    this.properties = opts.properties ?? DEFAULT_SEGMENT_PROPERTIES;
  }

  filterFor(spec: SegmentSpec): FilterBranch {
    return hubspotListFilter(spec, this.properties);
  }

  private call<T>(what: string, fn: () => Promise<T>, policy: RetryPolicy = this.opts.retry): Promise<T> {
    return withRetry(async () => {
      try {
        return await withTimeout("hubspot", `HubSpot ${what}`, this.opts.timeoutMs, fn());
      } catch (err) {
        throw classifyHubSpotError(err, what);
      }
    }, policy, {
      onRetry: (err, n, delayMs) => this.opts.log.warn(`HubSpot ${what}: retrying`, { attempt: n, delayMs, reason: err.message }),
    });
  }

  /** The options of the tone property, in HubSpot's display order; none when the property does not exist yet. */
  async toneOptions(): Promise<HubSpotToneOption[]> {
    const name = this.properties.tone;
    if (name === undefined) return [];
    let property;
    try {
      property = await this.call(`read property ${name}`, () => this.client.crm.properties.coreApi.getByName("contacts", name));
    } catch (err) {
      if (err instanceof SyncError && err.kind === "not_found") return [];
      throw err;
    }
    return (property.options ?? [])
      .map((o, i) => ({ value: o.value, label: o.label, displayOrder: o.displayOrder ?? i, hidden: o.hidden === true, index: i }))
      .sort((a, b) => a.displayOrder - b.displayOrder || a.index - b.index)
      .map(({ index: _i, ...o }) => o);
  }

  /** The contact list with exactly this name, with its filters; undefined when there is none. */
  async findByName(name: string, policy: RetryPolicy = this.opts.retry): Promise<ExistingList | undefined> {
    try {
      const res = await this.call(`find list "${name}"`, () => this.client.crm.lists.listsApi.getByName(name, CONTACTS_OBJECT_TYPE_ID, true), policy);
      const l = res.list;
      return {
        listId: String(l.listId), name: l.name, processingType: String(l.processingType),
        ...(l.filterBranch ? { filterBranch: l.filterBranch as unknown as FilterBranch } : {}),
      };
    } catch (err) {
      if (err instanceof SyncError && err.kind === "not_found") return undefined;
      throw err;
    }
  }

  /** What the list found under the segment's name means for it: unchanged, or a conflict (with why). */
  judge(spec: SegmentSpec, existing: ExistingList): SegmentOutcome {
    const base = { crm: "hubspot" as const, key: spec.key, name: spec.name, id: existing.listId };
    if (existing.processingType !== "DYNAMIC") {
      return { ...base, status: "conflict", reason: `a ${existing.processingType} list already has this name; expected a DYNAMIC list filtered on ${describeFilter(this.filterFor(spec))}` };
    }
    const desired = this.filterFor(spec);
    if (!sameFilter(existing.filterBranch, desired)) {
      return { ...base, status: "conflict", reason: `the existing list filters on ${describeFilter(existing.filterBranch)}; expected ${describeFilter(desired)} (left as it is)` };
    }
    return { ...base, status: "unchanged" };
  }

  /**
   * Makes sure the segment's list exists. Finds it by name first; creates it only when there is none.
   * Throws SyncError for faults (the caller decides: retry, report as failed, or stop).
   */
  async ensure(spec: SegmentSpec, opts: { dryRun: boolean }): Promise<SegmentOutcome> {
    const existing = await this.findByName(spec.name);
    if (existing) return this.judge(spec, existing);
    if (opts.dryRun) return { crm: "hubspot", key: spec.key, name: spec.name, status: "would_create" };
    const body = {
      name: spec.name,
      objectTypeId: CONTACTS_OBJECT_TYPE_ID,
      processingType: "DYNAMIC",
      filterBranch: this.filterFor(spec),
    };
    const what = `create list "${spec.name}"`;
    try {
      const result = await withRetry(async (attempt): Promise<{ listId: string } | { found: ExistingList }> => {
        if (attempt > 1) {
          // A retry after a timeout or 5xx may find the list the first attempt created after all.
          const found = await this.findByName(spec.name, { ...this.opts.retry, attempts: 1 });
          if (found) return { found };
        }
        try {
          const created = await withTimeout("hubspot", `HubSpot ${what}`, this.opts.timeoutMs, this.client.crm.lists.listsApi.create(body as never));
          return { listId: String(created.list.listId) };
        } catch (err) {
          throw classifyHubSpotError(err, what);
        }
      }, this.opts.retry, {
        onRetry: (err, n, delayMs) => this.opts.log.warn(`HubSpot ${what}: retrying`, { attempt: n, delayMs, reason: err.message }),
      });
      if ("found" in result) return createdAfterAll(this.judge(spec, result.found));
      this.opts.log.info(`HubSpot list created: ${spec.name}`, { listId: result.listId });
      return { crm: "hubspot", key: spec.key, name: spec.name, status: "created", id: result.listId };
    } catch (err) {
      // Created meanwhile by another run: judge what is there now.
      if (err instanceof SyncError && (err.status === 409 || (err.status === 400 && /already exists/i.test(err.message)))) {
        const now = await this.findByName(spec.name);
        if (now) return this.judge(spec, now);
      }
      throw err;
    }
  }
}
