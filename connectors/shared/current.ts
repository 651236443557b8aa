// What a CRM holds now, for `sync --dry-run`: each connector can read the current values of the
// properties a sync would write and say whether a value is already the same, so a dry run shows,
// per property, old → new. Reads only: a reader never creates or changes anything.
import type { ConnectorName } from "../../src/pipeline/types.js";

/** Email (normalised, lower-case) → the CRM's current values, for the records that exist there. */
export type CurrentValues = Map<string, Record<string, unknown>>;

export interface CurrentReader {
  readonly name: ConnectorName;
  /** Current values of `properties` for each email that exists in the CRM; absent emails are left out. */
  readCurrent(emails: readonly string[], properties: readonly string[]): Promise<CurrentValues>;
  /** Whether the CRM's current value of `property` already equals the value a sync would write. */
  same(property: string, current: unknown, next: unknown): boolean;
}

export interface PropertyChange {
  /** What the CRM holds now; null when it holds nothing. */
  old: unknown;
  new: unknown;
}

export interface PropertyDiff {
  /** Properties a sync would change, old → new. */
  changed: Record<string, PropertyChange>;
  /** Properties that already hold the value a sync would write. */
  unchanged: string[];
}

/** Null, undefined, "" and [] all mean "the CRM holds nothing here". */
export function isEmptyValue(v: unknown): boolean {
  return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
}

/**
 * Per property of `next` (only what a sync writes: absent keys are never touched, so never diffed),
 * whether the CRM's `current` value would change. A record missing from the CRM has every property changed.
 */
export function diffProperties(
  current: Record<string, unknown> | undefined,
  next: Record<string, unknown>,
  same: (property: string, current: unknown, next: unknown) => boolean,
): PropertyDiff {
  const out: PropertyDiff = { changed: {}, unchanged: [] };
  for (const [key, value] of Object.entries(next)) {
    const old = current?.[key];
    if (!isEmptyValue(old) && same(key, old, value)) out.unchanged.push(key);
    else out.changed[key] = { old: isEmptyValue(old) ? null : old, new: value };
  }
  return out;
}

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Two ISO 8601 datetimes naming the same instant, whatever their precision or offset notation. */
export function sameInstant(a: unknown, b: unknown): boolean {
  if (typeof a !== "string" || typeof b !== "string" || !ISO_DATETIME.test(a) || !ISO_DATETIME.test(b)) return false;
  return Date.parse(a) === Date.parse(b);
}

/** Splits a list into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
