import type { SyncError } from "../../src/errors.js";
import type { ConnectorName, ConnectorOutcome } from "../../src/pipeline/types.js";

/** One record handed to a connector: `key` ties the outcome back to the requested record. */
export interface ConnectorRecord<M> {
  key: number;
  email: string;
  mapping: M;
}

export type ConnectorOutcomes = Map<number, ConnectorOutcome>;

/**
 * A CRM destination. `write` returns one outcome per record it was given; it throws only for faults
 * that stop the whole run (a wrong credential, a schema conflict), never for one bad record.
 */
export interface ConnectorWriter<M> {
  readonly name: ConnectorName;
  write(records: ConnectorRecord<M>[]): Promise<ConnectorOutcomes>;
  close?(): Promise<void>;
}

/** Splits records into batches of at most `size`, never putting one email twice in a batch. */
export function batchesByUniqueEmail<R extends { email: string }>(records: readonly R[], size: number): R[][] {
  const batches: Array<{ items: R[]; emails: Set<string> }> = [];
  // Each email's n-th occurrence goes to batch n or later, so writes for one contact stay in order.
  const lastBatchOf = new Map<string, number>();
  let cursor = 0;
  for (const record of records) {
    const after = (lastBatchOf.get(record.email) ?? -1) + 1;
    let i = Math.max(cursor, after);
    while (batches[i] && (batches[i]!.items.length >= size || batches[i]!.emails.has(record.email))) i++;
    batches[i] ??= { items: [], emails: new Set() };
    batches[i]!.items.push(record);
    batches[i]!.emails.add(record.email);
    lastBatchOf.set(record.email, i);
    while (batches[cursor] && batches[cursor]!.items.length >= size) cursor++;
  }
  return batches.filter(Boolean).map((b) => b.items);
}

/** A record a connector could not write, keeping the fault kind for the runtime to act on. */
export function failedOutcome(properties: Record<string, unknown>, err: SyncError): ConnectorOutcome {
  return {
    status: "failed", properties, reason: err.message, fault: err.kind,
    ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
  };
}

