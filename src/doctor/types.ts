// What `doctor` reports: one check per line, in plain words, never a token.

export type DoctorService = "config" | "fashionai" | "hubspot" | "klaviyo" | "inngest";

export type CheckStatus =
  /** Works. */
  | "ok"
  /** Works for `sync`, but something else (setup, segments, serve) would fail or look odd. */
  | "warn"
  /** A sync would fail. */
  | "error"
  /** Nothing to judge (not configured, cannot be checked without writing). */
  | "info";

export interface DoctorCheck {
  service: DoctorService;
  /** Short name of what was checked: credential, scopes, schema, lists, … */
  check: string;
  status: CheckStatus;
  /** What was found, in plain words. */
  message: string;
  /** What to do about it. */
  fix?: string;
  /** For an error: a configuration problem (exit 2) or a service that could not be reached (exit 1). */
  problem?: "config" | "unreachable";
  /** Scopes the credential lacks, when known. */
  missingScopes?: string[];
}

export type PropertyCheckStatus = "ok" | "missing" | "type_conflict" | "field_type_differs";

export interface PropertyCheck {
  name: string;
  status: PropertyCheckStatus;
  expected: { type: string; fieldType: string };
  actual?: { type: string; fieldType: string; groupName?: string };
}

export interface HubSpotSchemaReport {
  group: { name: string; exists: boolean };
  properties: PropertyCheck[];
}

export interface DoctorReport {
  /** True when nothing would make a sync fail. */
  ok: boolean;
  /** 0 fine; 2 a configuration problem (wrong token, missing scope, type conflict); 1 a service could not be reached. */
  exitCode: 0 | 1 | 2;
  checks: DoctorCheck[];
  schema?: { hubspot?: HubSpotSchemaReport };
}

export function exitCodeForChecks(checks: readonly DoctorCheck[]): 0 | 1 | 2 {
  const errors = checks.filter((c) => c.status === "error");
  if (errors.some((c) => c.problem !== "unreachable")) return 2;
  return errors.length > 0 ? 1 : 0;
}
