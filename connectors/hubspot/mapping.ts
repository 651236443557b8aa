// Fashion.AI profile → HubSpot contact property values. Pure: no I/O; time comes in via ctx.
// HubSpot property values are strings: multi-checkbox values are option VALUES joined by `;`, lists are
// one item per line, booleans "true"/"false", datetimes ISO 8601 UTC, and nothing longer than 65,536
// characters (longer values are cut to fit, ending in `…`, with a warning).
import type { EnumOption, HubSpotMapping, MapToHubSpot, MappingContext } from "../types.js";
import type { ParsedProfile } from "../../src/profile/types.js";
import { FIELDS, extractFields, type CanonicalValue, type FieldSpec } from "../../src/mapping/fields.js";
import { HUBSPOT_MAX_LENGTH, truncateForHubSpot } from "../../src/mapping/text.js";

/**
 * Option values joined by `;`, keeping whole options only: a cut option value would name an option
 * that does not exist (HubSpot rejects it), so options that do not fit in `max` are dropped from the
 * end instead of cutting the string. Returns the options actually written.
 */
export function joinOptionValues(
  options: readonly EnumOption[],
  max: number = HUBSPOT_MAX_LENGTH,
): { value: string; kept: EnumOption[]; dropped: number } {
  const kept: EnumOption[] = [];
  let length = 0;
  for (const option of options) {
    const next = length + (kept.length > 0 ? 1 : 0) + option.value.length;
    if (next > max) break;
    kept.push(option);
    length = next;
  }
  return { value: kept.map((o) => o.value).join(";"), kept, dropped: options.length - kept.length };
}

function format(spec: FieldSpec, v: CanonicalValue, out: HubSpotMapping): void {
  const key = spec.key;
  let raw: string;
  switch (v.type) {
    case "options": {
      const { value, kept, dropped } = joinOptionValues(v.value);
      if (dropped > 0) {
        out.warnings.push(
          `${key}: ${dropped} option${dropped === 1 ? "" : "s"} left out to fit HubSpot's ${HUBSPOT_MAX_LENGTH}-character limit`,
        );
      }
      if (kept.length === 0) return;
      out.options[key] = kept;
      out.properties[key] = value;
      return;
    }
    case "text":
    case "datetime":
      raw = v.value;
      break;
    case "list":
      raw = v.value.join("\n");
      break;
    case "boolean":
      raw = v.value ? "true" : "false";
      break;
  }
  const { value, warning } = truncateForHubSpot(raw);
  if (warning !== undefined) out.warnings.push(`${key}: ${warning}`);
  out.properties[key] = value;
}

export const mapToHubSpot: MapToHubSpot = (profile: ParsedProfile, ctx: MappingContext): HubSpotMapping => {
  const { values, warnings } = extractFields(profile, ctx);
  const out: HubSpotMapping = { properties: {}, options: {}, warnings: [...warnings] };
  for (const spec of FIELDS as readonly FieldSpec[]) {
    const v = values[spec.key as keyof typeof values];
    if (v !== undefined) format(spec, v, out);
  }
  return out;
};
