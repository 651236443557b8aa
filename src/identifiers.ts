// Identifier normalisation (PRODUCT.md "Identifiers"). Every lookup goes through here before any API
// call, so an unusable identifier becomes an `invalid` record with a reason instead of a wasted request.

import { LOOKUP_KINDS, type LookupBy } from "./pipeline/types.js";

export type Normalized = { ok: true; value: string } | { ok: false; reason: string };

const MIN_PHONE_DIGITS = 8;
const MAX_PHONE_DIGITS = 15;
/** Keeps reasons one readable line even when someone pastes a whole document as an identifier. */
const MAX_QUOTED = 100;

// A lone surrogate cannot be percent-encoded (encodeURIComponent throws) nor stored by a CRM.
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATE_G = /\p{Cs}/gu;
const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f]/;

export function normalizeIdentifier(by: LookupBy, raw: string): Normalized {
  switch (by) {
    case "email":
      return normalizeEmail(raw, "identifier");
    case "phone":
      return normalizePhone(raw);
    case "document":
      return normalizeDocument(raw);
    case "user-profile-id":
      return normalizeUserProfileId(raw);
  }
}

/**
 * Email rule, also used for the CRM key. `label` names the field in the reason
 * (`identifier` for a lookup, `email` for the CRM key of a non-email lookup).
 */
export function normalizeEmail(raw: string, label: string = "email"): Normalized {
  const value = raw.trim().toLowerCase();
  const problem = emailProblem(value);
  return problem === undefined ? { ok: true, value } : invalid(label, raw, "email", problem);
}

function emailProblem(value: string): string | undefined {
  if (value === "") return "empty";
  if (/\s/u.test(value)) return "whitespace inside";
  if (CONTROL_CHAR.test(value)) return "control character inside";
  if (LONE_SURROGATE.test(value)) return "not valid Unicode text";
  const parts = value.split("@");
  if (parts.length !== 2) return parts.length === 1 ? "no @" : "more than one @";
  if (parts[0] === "") return "empty local part before @";
  if (parts[1] === "") return "empty domain after @";
  return undefined;
}

function normalizePhone(raw: string): Normalized {
  const value = raw.replace(/[^0-9]/g, "");
  if (value.length < MIN_PHONE_DIGITS || value.length > MAX_PHONE_DIGITS) {
    const detail = `${value.length} digit${value.length === 1 ? "" : "s"}, needs ${MIN_PHONE_DIGITS} to ${MAX_PHONE_DIGITS}`;
    return invalid("identifier", raw, "phone", detail);
  }
  return { ok: true, value };
}

function normalizeDocument(raw: string): Normalized {
  // NFC first so an accented letter typed decomposed stays one letter instead of losing its mark.
  const value = raw.normalize("NFC").replace(/[^\p{L}\p{Nd}]/gu, "");
  return value === "" ? invalid("identifier", raw, "document", "no letters or digits") : { ok: true, value };
}

function normalizeUserProfileId(raw: string): Normalized {
  const value = raw.trim();
  if (value === "") return invalid("identifier", raw, "user-profile-id", "empty");
  if (LONE_SURROGATE.test(value)) return invalid("identifier", raw, "user-profile-id", "not valid Unicode text");
  return { ok: true, value };
}

function invalid(label: string, raw: string, kind: string, problem: string): Normalized {
  return { ok: false, reason: `${label} ${quote(raw)} is not a valid ${kind}: ${problem}` };
}

function quote(raw: string): string {
  const shown = raw.length > MAX_QUOTED ? `${raw.slice(0, MAX_QUOTED)}…` : raw;
  return JSON.stringify(shown);
}

/** Accepts the `--by` / event `by` spellings; undefined for anything else. */
export function parseLookupBy(s: string): LookupBy | undefined {
  const wanted = s.trim().toLowerCase().replace(/_/g, "-");
  return LOOKUP_KINDS.find((kind) => kind === wanted);
}

/** `/protected/profile/<by>/<value>` with the value as exactly one percent-encoded path segment. */
export function lookupPath(by: LookupBy, value: string): string {
  return `/protected/profile/${by}/${encodeSegment(value)}`;
}

function encodeSegment(value: string): string {
  const encoded = encodeURIComponent(value.replace(LONE_SURROGATE_G, "\uFFFD"));
  // "." and ".." are dot-segments that URL resolution (client, proxy or server) would collapse,
  // changing which resource is asked for; encoding the dots keeps them one literal segment.
  return encoded === "." || encoded === ".." ? encoded.replace(/\./g, "%2E") : encoded;
}
