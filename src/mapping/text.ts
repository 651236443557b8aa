// Text rules shared by every connector mapping (PRODUCT.md, "Mapping rules"). Pure: no I/O, no clock.
import type { EnumOption } from "../../connectors/types.js";

/** HubSpot's limit for a string property value, in characters (JS length, i.e. UTF-16 code units). */
export const HUBSPOT_MAX_LENGTH = 65_536;

/** Maximum length of an option value (slug). */
export const SLUG_MAX_LENGTH = 100;

/** Ellipsis appended to a value cut by truncateForHubSpot (one UTF-16 code unit). */
export const ELLIPSIS = "\u2026";

// Unicode White_Space: tab, LF, VT, FF, CR, space, NEL, NBSP, U+1680, U+2000–U+200A, U+2028, U+2029,
// U+202F, U+205F, U+3000. Tabs and line breaks (including NEL, itself a control character) are
// whitespace, so they become a single space instead of vanishing.
const WHITESPACE_RUN = /\p{White_Space}+/gu;
// Control characters (Cc) that are not whitespace, plus U+FEFF (BOM / zero-width no-break space),
// which is invisible and only ever arrives as debris. Other format characters (Cf) are kept: ZWJ and
// variation selectors are part of emoji sequences.
const CONTROL = /(?:(?!\p{White_Space})\p{Cc}|\uFEFF)/gu;
// A surrogate that is not half of a pair (only matchable as \p{Cs} in unicode mode). JSON
// encoders and the CRMs cannot carry it; it becomes U+FFFD like String#toWellFormed does.
const LONE_SURROGATE = /\p{Cs}/gu;

/**
 * Cleans one string: control characters removed (tabs and line breaks count as whitespace), every run of
 * whitespace (including NBSP and the other Unicode spaces) collapsed to one space, trimmed, Unicode NFC.
 * Lone surrogates become U+FFFD.
 *
 * NFC is applied last (as well as first) so that removing a control character that sat between a base
 * letter and its combining mark still yields a composed result.
 */
export function cleanText(s: string): string {
  return s
    .normalize("NFC")
    .replace(LONE_SURROGATE, "\uFFFD")
    .replace(CONTROL, "")
    .replace(WHITESPACE_RUN, " ")
    .trim()
    .normalize("NFC");
}

/** Cleans each item, drops the empty ones and exact duplicates (after cleaning), keeps first-seen order. */
export function cleanList(items: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const item of items) {
    const cleaned = cleanText(item);
    if (cleaned === "" || seen.has(cleaned)) continue;
    seen.add(cleaned);
    out.push(cleaned);
  }
  return out;
}

/**
 * Option value for a label: NFD, combining marks dropped, lower-cased, every run of characters outside
 * `a-z0-9` turned into `_`, leading/trailing `_` removed, at most 100 characters.
 *
 * The cap is applied after the edges are stripped, and a `_` left at the end by the cut is stripped
 * too, so a slug never starts or ends with `_` (`"a"×99 + " b"` → `"a"×99`, not `"a"×99 + "_"`).
 * Labels that differ only past the cap share a slug and are then deduplicated by toOptions.
 */
export function slugify(label: string): string {
  const slug = label
    .normalize("NFD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return slug.slice(0, SLUG_MAX_LENGTH).replace(/_+$/, "");
}

export interface ToOptionsResult {
  options: EnumOption[];
  warnings: string[];
}

/**
 * Enumeration options for raw items: label = cleaned text (lower-cased with pt-BR rules when
 * `lowercase`), value = slugify(label). Items whose slug is empty (blank, or only symbols/emoji) are
 * dropped with a warning naming the item; later items with an already-seen slug are dropped silently
 * (first occurrence wins, its label is kept); order is kept.
 */
export function toOptions(items: readonly string[], opts: { lowercase: boolean }): ToOptionsResult {
  const options: EnumOption[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    let label = cleanText(item);
    if (opts.lowercase) label = label.toLocaleLowerCase("pt-BR");
    const value = slugify(label);
    if (value === "") {
      warnings.push(`dropped item ${JSON.stringify(item)}: it has no letters or digits to make an option value`);
      continue;
    }
    if (seen.has(value)) continue;
    seen.add(value);
    options.push({ value, label });
  }
  return { options, warnings };
}

export interface TruncateResult {
  value: string;
  /** Present when the value was cut. */
  warning?: string;
}

/**
 * Fits a value into HubSpot's limit: when longer than `max` (JS length, UTF-16 code units), it is cut
 * and ends in `…`, the result being exactly `max` long — or `max - 1` when the cut would otherwise
 * separate the two halves of a surrogate pair (an emoji, say), which is then dropped whole.
 */
export function truncateForHubSpot(value: string, max: number = HUBSPOT_MAX_LENGTH): TruncateResult {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`);
  if (value.length <= max) return { value };
  let keep = max - ELLIPSIS.length;
  const last = value.charCodeAt(keep - 1);
  if (keep > 0 && last >= 0xd800 && last <= 0xdbff) keep -= 1;
  return {
    value: value.slice(0, keep) + ELLIPSIS,
    warning: `value of ${value.length} characters cut to ${keep + ELLIPSIS.length} (HubSpot allows ${max})`,
  };
}
