import { normalizeEmail, normalizeIdentifier } from "../identifiers.js";
import type { LookupBy, RecordResult, SyncRequest } from "./types.js";

/** A request whose identifier and CRM key are both usable: ready for the API. */
export interface PreparedRequest {
  identifier: string;
  by: LookupBy;
  /** Normalised lookup value (what the API sees, before percent-encoding). */
  lookup: string;
  /** Normalised CRM key. */
  email: string;
}

/**
 * Decides, before any API call, whether a request can be synced. A non-email lookup must carry the
 * contact's email: the CRM record is matched by email and is never guessed.
 */
export function prepareRequest(req: SyncRequest): { ok: true; value: PreparedRequest } | { ok: false; result: RecordResult } {
  const by = req.by ?? "email";
  const invalid = (reason: string) => ({
    ok: false as const,
    result: { identifier: req.identifier, by, status: "invalid" as const, reason, warnings: [] },
  });
  if (typeof req.identifier !== "string") return invalid("identifier is missing");
  const lookup = normalizeIdentifier(by, req.identifier);
  if (!lookup.ok) return invalid(lookup.reason);
  let email: string;
  if (by === "email") {
    email = lookup.value;
    if (req.email !== undefined && req.email.trim() !== "") {
      const given = normalizeEmail(req.email, "email");
      if (!given.ok) return invalid(given.reason);
      if (given.value !== email) return invalid(`email ${JSON.stringify(req.email)} differs from the email identifier; give one of them`);
    }
  } else {
    if (req.email === undefined || req.email.trim() === "") {
      return invalid(`a ${by} lookup needs the contact's email to match the CRM record (--email, or the event's "email" field)`);
    }
    const given = normalizeEmail(req.email, "email");
    if (!given.ok) return invalid(given.reason);
    email = given.value;
  }
  return { ok: true, value: { identifier: req.identifier, by, lookup: lookup.value, email } };
}
