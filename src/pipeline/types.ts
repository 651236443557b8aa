export type LookupBy = "email" | "phone" | "document" | "user-profile-id";
export const LOOKUP_KINDS: readonly LookupBy[] = ["email", "phone", "document", "user-profile-id"];

export type ConnectorName = "hubspot" | "klaviyo";
export const CONNECTOR_NAMES: readonly ConnectorName[] = ["hubspot", "klaviyo"];

/** One requested record, as given by a user, an event or a backfill row. */
export interface SyncRequest {
  identifier: string;
  by?: LookupBy;
  /** CRM key for a non-email lookup. */
  email?: string;
}

export type RecordStatus = "synced" | "not_found" | "invalid" | "failed";

export type ConnectorStatus = "written" | "planned" | "failed" | "skipped";

export interface ConnectorOutcome {
  status: ConnectorStatus;
  properties?: Record<string, unknown>;
  reason?: string;
  /** For a failure: its kind in the fault taxonomy, so a durable runtime can decide to retry. */
  fault?: import("../errors.js").FaultKind;
  retryAfterMs?: number;
  /** Klaviyo: whether a Novo Comportamento event was sent (or planned). */
  event?: { metric: string; uniqueId: string; status: "sent" | "planned" };
  /** Dry run with the CRM configured: whether the contact / profile already exists there. */
  exists?: boolean;
  /** Dry run: the properties a sync would change, old → new (old is null when the CRM holds nothing). */
  diff?: Record<string, { old: unknown; new: unknown }>;
  /** Dry run: the properties that already hold the value a sync would write. */
  unchanged?: string[];
  /** Dry run: why the CRM's current values could not be read (the plan itself still stands). */
  diffError?: string;
}

export interface RecordResult {
  identifier: string;
  by: LookupBy;
  status: RecordStatus;
  email?: string;
  userProfileId?: string;
  reason?: string;
  warnings: string[];
  connectors?: Partial<Record<ConnectorName, ConnectorOutcome>>;
}

export interface Summary {
  requested: number;
  synced: number;
  not_found: number;
  invalid: number;
  failed: number;
}

export interface SyncReport {
  summary: Summary;
  results: RecordResult[];
  /** Set when a 401/403 stopped the run early: names the environment variable at fault. */
  configError?: string;
}

export function summarize(results: readonly RecordResult[]): Summary {
  const summary: Summary = { requested: results.length, synced: 0, not_found: 0, invalid: 0, failed: 0 };
  for (const r of results) summary[r.status] += 1;
  return summary;
}
