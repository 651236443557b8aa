import type { ParsedProfile } from "../../src/profile/types.js";

/** A fixed sync time, so mapped timestamps are predictable. */
export const ctx = { syncedAt: new Date("2025-03-04T05:06:07.089Z") };

/** A parsed profile built by hand, for mapping tests that need one field shaped a certain way. */
export function profileWith(profile: Record<string, unknown>, userProfileId = "fp_test"): ParsedProfile {
  return { userProfileId, profile } as ParsedProfile;
}

/** Stands in for the lenient parser's key normalisation (NFC), so raw case bodies can be mapped directly. */
export function nfcKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(nfcKeys);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.normalize("NFC"), nfcKeys(x)]));
  }
  return v;
}
